"""Coverage-guided fuzzing of PaddleX's `inference.yml` (`parse_paddlex_config`).

`python fuzz/fuzz_paddlex_config.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("paddlex_config")
