"""Coverage-guided fuzzing of the restricted unpickler (`safe_loads`, without and with numpy).

`python fuzz/fuzz_unpickler.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats.safe_pickle  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("unpickler")
