"""Coverage-guided fuzzing of ptocr's image and PDF decoding: ``load_pages(bytes)`` on mutated files.

Every input must either decode into well-formed pages (H×W×3 uint8, C-contiguous) or fail with a
``ptocr.errors.PtocrError``; any other exception, a hang (``-timeout``) or runaway memory (``-rss_limit_mb``) is
a finding. ptocr's own modules are instrumented (the header reader, the policy, the page logic); OpenCV, Pillow
and pdfium run as they ship.

    python fuzz/fuzz_images.py -atheris_runs=100000 -rss_limit_mb=2048 -timeout=10 [corpus dirs]

Without corpus directories it fuzzes ``fuzz/corpus/images`` (created, git-ignored; new inputs land there),
seeded from ``fuzz/seeds/images`` (`make_image_seeds.py`) and the small real images of the shared test images
(``$PTOCR_SHARED/images`` or /work/shared/images: files under 64 KiB).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["ptocr"]):
    from ptocr.errors import PtocrError
    from ptocr.pipeline.image_io import InputLimits, load_pages

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds" / "images"
CORPUS = HERE / "corpus" / "images"
#: Small limits keep each run fast and memory-light while every refusal path stays reachable.
LIMITS = InputLimits(max_bytes=1 << 20, max_pixels=4_000_000, max_pages=8)
REAL_SEED_MAX_BYTES = 64 * 1024


def check_one(data: bytes) -> None:
    """One fuzz input: decoded pages must be well formed, and the only failure allowed is a PtocrError."""
    try:
        pages = load_pages(data, dpi=72, limits=LIMITS)
    except PtocrError:
        return
    for page in pages:
        image = page.image
        if image.dtype.name != "uint8" or image.ndim != 3 or image.shape[2] != 3 or not image.flags["C_CONTIGUOUS"]:
            raise AssertionError(f"malformed page: {image.dtype} {image.shape}")
        if image.shape[0] * image.shape[1] > LIMITS.max_pixels:
            raise AssertionError(f"a page of {image.shape} passed the pixel limit of {LIMITS.max_pixels}")


def _shared_images() -> Path:
    root = os.environ.get("PTOCR_SHARED")
    return Path(root) / "images" if root else Path("/work/shared/images")


def default_corpus() -> Path:
    """``fuzz/corpus/images``, filled with the seeds and small real images on first use."""
    CORPUS.mkdir(parents=True, exist_ok=True)
    if not any(CORPUS.iterdir()):
        for seed in sorted(SEEDS.iterdir()):
            shutil.copy(seed, CORPUS / seed.name)
        shared = _shared_images()
        if shared.is_dir():
            for real in sorted(shared.rglob("*")):
                if real.suffix.lower() in (".jpg", ".png") and real.stat().st_size <= REAL_SEED_MAX_BYTES:
                    shutil.copy(real, CORPUS / f"real_{real.parent.name}_{real.name}")
    return CORPUS


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        argv.append(str(default_corpus()))
    atheris.Setup(argv, check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
