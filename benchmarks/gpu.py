"""GPU throughput of ptocr's system, and its agreement with the CPU run.

    python benchmarks/gpu.py [FOLDER] [--images N] [--chunks 1 16 64] [--version PP-OCRv4]

Reads every image of FOLDER (default ../shared/images) once on the CPU and once on CUDA, one image at a time,
and counts the images whose texts are identical (boxes within 1 px); then times `OCR.run_many` on CUDA over
the folder's images repeated to N in all, for each chunk size (1 is `OCR.run` per image), and prints images
per second with the seconds per stage (summed over the N images: network stages include the host↔device
copies). Needs a CUDA device; exits with status 2 without one. On a GPU host without network, point PTOCR_HOME at a
copy of a model store that holds the system's three models (`ptocr models pull NAME` elsewhere, then copy the
folder `ptocr models path NAME` prints) and install pyclipper from a wheel.
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images"


def _agreement(cpu: list, gpu: list) -> tuple[int, float, float]:
    """(images with identical texts, largest box difference in px, largest score difference)."""
    same, box, score = 0, 0.0, 0.0
    for a, b in zip(cpu, gpu, strict=True):
        if a.texts != b.texts:
            continue
        same += 1
        for x, y in zip(a.lines, b.lines, strict=True):
            box = max(box, float(np.abs(np.asarray(x.box) - np.asarray(y.box)).max()))
            score = max(score, abs(x.score - y.score))
    return same, box, score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--images", type=int, default=2000, help="images timed per chunk size (default 2000)")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 16, 64], help="images per run_many chunk")
    parser.add_argument("--version", default="PP-OCRv4", help="PP-OCR system (default PP-OCRv4)")
    args = parser.parse_args(argv)

    import cv2
    import torch

    import ptocr
    from ptocr.pipeline import find_images

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to time", file=sys.stderr)
        return 2
    images = [cv2.imread(str(path)) for path in find_images(args.folder)]
    cpu = ptocr.OCR(version=args.version)
    gpu = ptocr.OCR(version=args.version, device="cuda", collect_timings=True)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, {len(images)} images from {args.folder}")

    cpu_results = [cpu.run(image) for image in images]
    gpu_results = [gpu.run(image) for image in images]
    same, box, score = _agreement(cpu_results, gpu_results)
    print(f"CUDA vs CPU, one image at a time: identical texts on {same}/{len(images)} images, "
          f"boxes within {box:.1f} px, scores within {score:.1e}")  # fmt: skip
    batched = list(gpu.run_many(images, chunk_size=max(args.chunks)))
    same, box, score = _agreement(gpu_results, batched)
    print(f"CUDA run_many(chunk {max(args.chunks)}) vs run: identical texts on {same}/{len(images)} images, "
          f"boxes within {box:.1f} px, scores within {score:.1e}")  # fmt: skip

    print(f"\n{'chunk':>6}{'images/s':>10}  seconds per stage over {args.images} images")
    for chunk in args.chunks:
        stream = list(islice(cycle(images), args.images))
        stages: dict[str, float] = {}
        torch.cuda.synchronize()
        start = time.perf_counter()
        results = (gpu.run(image) for image in stream) if chunk == 1 else gpu.run_many(stream, chunk_size=chunk)
        for result in results:
            for stage, seconds in result.timings.items():
                stages[stage] = stages.get(stage, 0.0) + seconds
        torch.cuda.synchronize()
        rate = args.images / (time.perf_counter() - start)
        detail = "  ".join(f"{name} {seconds:.2f}" for name, seconds in stages.items() if name != "total")
        print(f"{chunk:>6}{rate:>10.1f}  {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
