"""Coverage-guided fuzzing of trained checkpoints (`read_pdparams` on a `.pdparams` file).

`python fuzz/fuzz_pdparams.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.files
    import ptocr.formats.pdparams
    import ptocr.formats.safe_pickle  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("pdparams")
