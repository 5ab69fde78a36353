"""Coverage-guided fuzzing of PaddlePaddle 3 folders (`read_weights` on `inference.json` + `inference.pdiparams`).

`python fuzz/fuzz_pir.py [-atheris_runs=N] [libFuzzer flags] [corpus folders]`; see fuzz/README.md.
"""

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    import ptocr.formats  # noqa: F401

from _harness import main

if __name__ == "__main__":
    main("pir")
