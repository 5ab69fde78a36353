"""Coverage-guided fuzzing of the program interpreter: a fuzzed program built and run on a small image.

`python fuzz/fuzz_interpreter.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.program
    import ptocr.interpreter
    import ptocr.interpreter.graph
    import ptocr.interpreter.kernels
    import ptocr.interpreter.ops  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("interpreter")
