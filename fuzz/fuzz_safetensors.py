"""Coverage-guided fuzzing of `.safetensors` files (`read_safetensors`' parser on the file's bytes).

`python fuzz/fuzz_safetensors.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.safetensors_file  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("safetensors")
