"""End-to-end OCR timing: ptocr against RapidOCR (onnxruntime) on the same three models and settings.

Each engine reads every image of a folder in a process of its own, as a user would run it, the two taking
turns (ptocr, RapidOCR, ptocr, …, `--repeat` rounds) so that machine drift hits both alike. Not in one
process: each engine's worker threads keep spinning for a while after a call and slow whatever runs next
(measured on 2 cores: ptocr 30.9 s interleaved against 24.2 s alone). Each process first reports its time
to first result (start, imports, model loading, first image), then warms up on five images and times a
pass; the parent prints per-image medians, totals, the ratio, peak RSS and time to first result.

    python benchmarks/e2e.py [FOLDER] [--threads N] [--repeat R] [--busy] [--version V ...] [--batch N]

RapidOCR is timed when `rapidocr_onnxruntime` is installed (`pip install -e .[bench]`); it is pointed at
the ONNX files of ptocr's model store (the same published files it ships) and configured like PaddleOCR
2.x: det limit 960 (max side), ImageNet mean/std, box_thresh 0.6, unclip 1.5, no dilation, and none of
its own letterboxing or resizing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images"


def read_folder(folder: Path) -> tuple[list[Path], list[np.ndarray]]:
    """The images under `folder` (as the CLI finds them) and their decoded BGR arrays; SystemExit if there are none."""
    import cv2

    from ptocr.pipeline import find_images

    paths = find_images(folder)
    if not paths:
        raise SystemExit(f"no images under {folder}")
    return paths, [cv2.imread(str(p)) for p in paths]


def make_ptocr(threads: int | None, version: str = "PP-OCRv4") -> tuple[Callable[[np.ndarray], int], dict]:
    """ptocr's system of `version` (PaddleOCR's choice for Chinese) and the models it chose."""
    import ptocr

    ocr = ptocr.OCR(threads=threads, version=version)

    def run(image: np.ndarray) -> int:
        return len(ocr(image))

    run.ocr = ocr  # type: ignore[attr-defined]
    return run, ocr.models


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
    RapidOCR 1.4.4 ignores `limit_side_len` for limit_type "max" (it detects at 960, 1500 or 2000 px by the
    image's longest side), so its detector is made to use the configured 960, as PaddleOCR does: otherwise it
    runs a larger detection than PaddleOCR and ptocr on every image over 960 px, and finds other lines.
    """
    try:
        import onnx
        import yaml
        from rapidocr_onnxruntime import RapidOCR
        from rapidocr_onnxruntime.ch_ppocr_det.text_detect import DetPreProcess, TextDetector
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    except ImportError:
        return None
    TextDetector.get_preprocess = lambda self, _: DetPreProcess(self.limit_side_len, "max", self.mean, self.std)
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


def _child(args: argparse.Namespace) -> int:
    """One engine, one process: time to first result, then a timed pass; one JSON line on stdout."""
    started = time.perf_counter()
    import resource

    import cv2

    from ptocr.pipeline import find_images

    paths = find_images(args.folder)
    first = cv2.imread(str(paths[0]))
    ptocr_threads = None if args.ptocr_threads == "auto" else int(args.ptocr_threads)
    run, models = make_ptocr(ptocr_threads, args.version[0])
    if args.child == "rapidocr_onnxruntime":
        run = make_rapidocr(args.threads, models)
        if run is None:
            return 3
    run(first)
    first_result = time.perf_counter() - started
    images = [cv2.imread(str(p)) for p in paths]  # decoding is not timed: both engines get arrays
    for image in images[:5]:  # warm-up: first calls allocate and pick kernels
        run(image)
    times, lines = [], 0
    if args.child == "ptocr" and args.batch > 1:  # the whole pass, batched across images
        ocr = run.ocr  # type: ignore[attr-defined]
        start = time.perf_counter()
        lines = sum(len(result) for result in ocr.run_many(images, chunk_size=args.batch))
        times = [(time.perf_counter() - start) / len(images)] * len(images)
    else:
        for image in images:
            start = time.perf_counter()
            lines += run(image)
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "lines": lines, "first_result": first_result, "peak_mib": peak}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for onnxruntime (default 2)")
    parser.add_argument(
        "--ptocr-threads", default="auto",
        help="ptocr's threads: auto (its default policy: the CPUs other processes leave free) or a number",
    )  # fmt: skip
    parser.add_argument("--busy", action="store_true", help="run one competing CPU-bound process meanwhile")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of one pass per engine (default 1)")
    parser.add_argument(
        "--batch", type=int, default=8,
        help="ptocr reads the folder with run_many in chunks of N images (default 8, as its command line does; "
        "1: one image per call, as RapidOCR's API and command line read a folder)",
    )  # fmt: skip
    parser.add_argument(
        "--version", nargs="+", default=["PP-OCRv4"], choices=["PP-OCRv4", "PP-OCRv3", "PP-OCRv2"],
        help="PP-OCR systems to time, each against RapidOCR on the same files (default PP-OCRv4)",
    )  # fmt: skip
    parser.add_argument("--child", choices=["ptocr", "rapidocr_onnxruntime"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)

    from ptocr.pipeline import find_images

    count = len(find_images(args.folder))
    if not count:
        print(f"no images under {args.folder}", file=sys.stderr)
        return 2
    common = [str(args.folder), "--threads", str(args.threads), "--ptocr-threads", args.ptocr_threads]
    busy = ", one busy neighbour process" if args.busy else ""
    for version in args.version:
        _, models = make_ptocr(1, version)
        print(f"{version}: {models['det']} + {models['cls']} + {models['rec']}; {count} images × {args.repeat} "
              f"round(s) from {args.folder}; ptocr threads {args.ptocr_threads}, batch {args.batch}; "
              f"onnxruntime threads {args.threads}{busy}")  # fmt: skip
        runs: dict[str, list[dict]] = {"ptocr": [], "rapidocr_onnxruntime": []}
        neighbour = start_busy_neighbour() if args.busy else None
        try:
            for _ in range(args.repeat):
                for engine in runs:
                    argv_child = [*common, "--version", version, "--batch", str(args.batch), "--child", engine]
                    done = subprocess.run(
                        [sys.executable, __file__, *argv_child], capture_output=True, text=True, check=False
                    )
                    if done.returncode == 3:
                        print("rapidocr_onnxruntime is not installed: timing ptocr alone", file=sys.stderr)
                        continue
                    if done.returncode != 0:
                        print(done.stderr, file=sys.stderr)
                        return 1
                    runs[engine].append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            if neighbour is not None:
                neighbour.kill()
        _report({name: results for name, results in runs.items() if results})
    return 0


def _report(runs: dict[str, list[dict]]) -> None:
    print(f"{'engine':<22}{'median/image':>14}{'total':>10}{'lines':>8}{'peak RSS':>11}{'first result':>14}")
    totals = {}
    for name, results in runs.items():
        per_image = [t for result in results for t in result["times"]]
        totals[name] = statistics.median(sum(result["times"]) for result in results)
        peak = max(result["peak_mib"] for result in results)
        first = statistics.median(result["first_result"] for result in results)
        print(f"{name:<22}{statistics.median(per_image) * 1000:>11.1f} ms{totals[name]:>9.2f}s"
              f"{results[0]['lines']:>8}{peak:>7.0f} MiB{first:>12.2f} s")  # fmt: skip
    if len(totals) == 2:
        ratio = totals["ptocr"] / totals["rapidocr_onnxruntime"]
        print(f"ptocr time / rapidocr_onnxruntime time = {ratio:.2f} (median pass; < 1 means ptocr is faster)")


if __name__ == "__main__":
    raise SystemExit(main())
