"""Coverage-guided fuzzing of PaddleOCR 1.x's fluid `model` + `params` folder (`read_weights`).

`python fuzz/fuzz_fluid_combined.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats
    import ptocr.formats.files
    import ptocr.formats.paddle
    import ptocr.formats.quantisation  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("fluid_combined")
