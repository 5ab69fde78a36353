"""Coverage-guided fuzzing of ONNX weights (`read_onnx_weights`' parser on the file's bytes).

`python fuzz/fuzz_onnx.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.onnx_reader  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("onnx")
