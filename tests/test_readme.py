"""The README's model table is the catalogue's (tools/models_table.py prints it)."""

from __future__ import annotations

import runpy

from .paths import REPO


def test_readme_model_table_matches_the_catalogue() -> None:
    table = runpy.run_path(str(REPO / "tools" / "models_table.py"))["models_table"]()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert table in readme, "README.md's model table is stale: paste `python tools/models_table.py` into it"
