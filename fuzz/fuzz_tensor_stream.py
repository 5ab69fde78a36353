"""Coverage-guided fuzzing of the combined parameter stream (`.pdiparams`), read against a real program's specs.

`python fuzz/fuzz_tensor_stream.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.program
    import ptocr.formats.tensor_stream  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("tensor_stream")
