"""Coverage-guided fuzzing of fluid's `__model__` + one file per variable (`read_weights`).

`python fuzz/fuzz_fluid_separate.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats
    import ptocr.formats.files
    import ptocr.formats.paddle  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("fluid_separate")
