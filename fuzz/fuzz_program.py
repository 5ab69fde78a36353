"""Coverage-guided fuzzing of the Paddle program protobuf reader (`parse_program`).

`python fuzz/fuzz_program.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.program  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("program")
