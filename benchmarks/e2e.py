"""End-to-end OCR timing: ptocr against RapidOCR (onnxruntime) on the same three models and settings.

Both engines run back to back in one process over every image of a folder, alternating per image so
that machine drift hits both alike, after a warm-up pass. Prints per-image medians, totals and the ratio.

    python benchmarks/e2e.py [FOLDER] [--threads N] [--repeat R]

RapidOCR is timed when `rapidocr_onnxruntime` is installed (`pip install -e .[bench]`); it is pointed at
the ONNX files of ptocr's model store (the same published files it ships) and configured like PaddleOCR
2.x: det limit 960 (max side), ImageNet mean/std, box_thresh 0.6, unclip 1.5, no dilation, and none of
its own letterboxing or resizing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images"


def make_ptocr(threads: int | None, version: str = "PP-OCRv4") -> tuple[Callable[[np.ndarray], int], dict]:
    """ptocr's system of `version` (PaddleOCR's choice for Chinese) and the models it chose."""
    import ptocr

    ocr = ptocr.OCR(threads=threads, version=version)
    return (lambda image: len(ocr(image))), ocr.models


def start_busy_neighbour() -> subprocess.Popen:
    """One CPU-bound process beside the engines, as on a shared server."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def rapidocr_engine(
    threads: int, models: tuple[str, str, str] = ("ch_PP-OCRv4_det", "ch_ppocr_mobile_v2.0_cls", "ch_PP-OCRv4_rec")
) -> Callable[[np.ndarray], list] | None:
    """RapidOCR on the ONNX files of ptocr's model store for the (det, cls, rec) zoo models, configured like
    PaddleOCR 2.x; None when rapidocr_onnxruntime is not installed. Returns `image → [(box, text, score)]`.

    ONNX exports that leave `nearest_mode` unset on their Resize nodes (old paddle2onnx) are given Paddle's
    floor rounding, so onnxruntime computes what Paddle does (tests/test_published_onnx.py explains why).
    """
    try:
        import onnx
        import yaml
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    except ImportError:
        return None
    from importlib import resources

    from ptocr.store import ModelStore
    from ptocr.zoo import get_record

    store = ModelStore()
    det, cls, rec = models
    scratch = Path(tempfile.mkdtemp(prefix="rapidocr-"))
    graph = onnx.load_model(str(store.path(det, "onnx")))
    for node in graph.graph.node:
        if node.op_type == "Resize" and all(a.name != "nearest_mode" for a in node.attribute):
            node.attribute.append(onnx.helper.make_attribute("nearest_mode", "floor"))
    onnx.save_model(graph, str(scratch / "det.onnx"))
    rec_record = get_record(rec)
    height = rec_record.preprocessing.image_shape[1]  # type: ignore[union-attr]
    keys = resources.files("ptocr.dicts").joinpath(rec_record.dictionary or "")
    threads_cfg = {"intra_op_num_threads": threads, "inter_op_num_threads": 1}
    config = yaml.safe_load(Path(DEFAULT_CFG_PATH).read_text())
    config["Global"].update(
        text_score=0.5, min_height=0, width_height_ratio=-1, max_side_len=10**9, min_side_len=0, **threads_cfg
    )
    config["Det"].update(
        model_path=str(scratch / "det.onnx"), limit_side_len=960, limit_type="max",
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], thresh=0.3, box_thresh=0.6,
        unclip_ratio=1.5, use_dilation=False, score_mode="fast", **threads_cfg,
    )  # fmt: skip
    config["Cls"].update(model_path=str(store.path(cls, "onnx")), **threads_cfg)
    config["Rec"].update(
        model_path=str(store.path(rec, "onnx")), rec_img_shape=[3, height, 320], rec_keys_path=str(keys),
        **threads_cfg,
    )  # fmt: skip
    (scratch / "config.yaml").write_text(yaml.safe_dump(config))
    # RapidOCR resolves model paths relative to its package; ours are absolute, so undo that step.
    import rapidocr_onnxruntime.main as rapid_main

    rapid_main.update_model_path = lambda cfg: cfg
    engine = RapidOCR(config_path=str(scratch / "config.yaml"))

    def run(image: np.ndarray) -> list:
        result, _ = engine(image, box_thresh=0.6, unclip_ratio=1.5, text_score=0.5)
        return list(result or [])

    return run


def make_rapidocr(threads: int, models: dict) -> Callable[[np.ndarray], int] | None:
    engine = rapidocr_engine(threads, (models["det"], models["cls"], models["rec"]))
    return None if engine is None else (lambda image: len(engine(image)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for onnxruntime (default 2)")
    parser.add_argument(
        "--ptocr-threads", default="auto",
        help="ptocr's threads: auto (its default policy: the CPUs other processes leave free) or a number",
    )  # fmt: skip
    parser.add_argument("--busy", action="store_true", help="run one competing CPU-bound process meanwhile")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the folder (default 1)")
    parser.add_argument(
        "--version", nargs="+", default=["PP-OCRv4"], choices=["PP-OCRv4", "PP-OCRv3", "PP-OCRv2"],
        help="PP-OCR systems to time, each against RapidOCR on the same files (default PP-OCRv4)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    import cv2

    from ptocr.pipeline import find_images

    paths = find_images(args.folder)
    if not paths:
        print(f"no images under {args.folder}", file=sys.stderr)
        return 2
    images = [cv2.imread(str(p)) for p in paths]  # decoding is not timed: both engines get arrays
    ptocr_threads = None if args.ptocr_threads == "auto" else int(args.ptocr_threads)
    for version in args.version:
        ours, models = make_ptocr(ptocr_threads, version)
        engines = {"ptocr": ours}
        rapid = make_rapidocr(args.threads, models)
        if rapid is not None:
            engines["rapidocr_onnxruntime"] = rapid
        else:
            print("rapidocr_onnxruntime is not installed: timing ptocr alone", file=sys.stderr)
        print(f"{version}: {models['det']} + {models['cls']} + {models['rec']}")
        neighbour = start_busy_neighbour() if args.busy else None
        try:
            _timed(engines, images, args, rapid is not None)
        finally:
            if neighbour is not None:
                neighbour.kill()
    return 0


def _timed(engines: dict, images: list[np.ndarray], args: argparse.Namespace, with_rapid: bool) -> None:
    for run in engines.values():  # warm-up: first calls allocate and pick kernels
        for image in images[:5]:
            run(image)
    per_image: dict[str, list[float]] = {name: [] for name in engines}
    lines: dict[str, int] = dict.fromkeys(engines, 0)
    for _ in range(args.repeat):
        for image in images:
            for name, run in engines.items():
                start = time.perf_counter()
                lines[name] += run(image)
                per_image[name].append(time.perf_counter() - start)

    busy = ", one busy neighbour process" if args.busy else ""
    print(f"{len(images)} images × {args.repeat} pass(es) from {args.folder}; ptocr threads {args.ptocr_threads}, "
          f"onnxruntime threads {args.threads}{busy}")
    print(f"{'engine':<22}{'median/image':>14}{'total':>10}{'lines':>8}")
    for name, times in per_image.items():
        print(f"{name:<22}{statistics.median(times) * 1000:>11.1f} ms{sum(times):>9.2f}s{lines[name]:>8}")
    if with_rapid:
        ratio = sum(per_image["rapidocr_onnxruntime"]) / sum(per_image["ptocr"])
        print(f"total time ratio rapidocr_onnxruntime / ptocr = {ratio:.2f} (>1 means ptocr is faster)")


if __name__ == "__main__":
    raise SystemExit(main())
