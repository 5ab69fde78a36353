"""Peak memory and wall time of several threads sharing one `OCR`, with and without its bound on concurrent calls.

Each setting runs in a fresh process (peak RSS is a high-water mark, so settings cannot share one): the models are
loaded, one warm-up image read, then `--threads` threads each read `--per-thread` images of the folder (thread i
starts at image i, so the threads read different images at once) on the one shared engine. Reported per setting:
peak RSS (ru_maxrss), RSS after loading, wall time of the threaded part, and whether every thread's results equal
the serial ones (computed first in the same process, then the peak is measured on a fresh process without them).

    python benchmarks/concurrency.py [FOLDER] [--threads 8] [--per-thread 3] [--settings serial 1 2 none]

`serial`: the same calls one after another on one thread; a number: `OCR(max_concurrent=N)`; `none`: unbounded.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images" / "imgs"


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(folder: Path, setting: str, threads: int, per_thread: int) -> dict[str, object]:
    """One setting in this process: the measurements as a dict."""
    import cv2

    import ptocr

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = [cv2.imread(str(p)) for p in files]
    bound = None if setting in ("none", "serial") else int(setting)
    ocr = ptocr.OCR(max_concurrent=bound)
    ocr(images[0])  # warm-up: first-call allocations are not what is measured
    loaded = _rss_mib()
    jobs = [[images[(start + k * threads) % len(images)] for k in range(per_thread)] for start in range(threads)]
    texts: list[list[list[str]]] = [[] for _ in jobs]
    started = time.perf_counter()
    if setting == "serial":
        for index, job in enumerate(jobs):
            texts[index] = [[line.text for line in ocr(image)] for image in job]
    else:

        def read(index: int) -> None:
            texts[index] = [[line.text for line in ocr(image)] for image in jobs[index]]

        pool = [threading.Thread(target=read, args=(index,)) for index in range(len(jobs))]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"setting": setting, "calls": threads * per_thread, "wall_s": round(wall, 2),
            "rss_loaded_mib": round(loaded), "peak_rss_mib": round(peak), "texts": texts}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=["serial", "1", "2", "none"])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.folder, args.worker, args.threads, args.per_thread)))
        return
    reference = None
    rows = []
    for setting in args.settings:
        command = [sys.executable, __file__, str(args.folder), "--threads", str(args.threads),
                   "--per-thread", str(args.per_thread), "--worker", setting]  # fmt: skip
        row = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        texts = row.pop("texts")
        reference = texts if reference is None else reference
        row["same_results_as_first"] = texts == reference
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'setting':<10}{'calls':>6}{'wall s':>8}{'loaded MiB':>12}{'peak MiB':>10}  same")
    for row in rows:
        print(f"{row['setting']:<10}{row['calls']:>6}{row['wall_s']:>8}{row['rss_loaded_mib']:>12}"
              f"{row['peak_rss_mib']:>10}  {row['same_results_as_first']}")  # fmt: skip


if __name__ == "__main__":
    main()
