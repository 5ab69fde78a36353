"""Soak: many calls on one `OCR`, and whether memory, open files or threads grow with them.

Small inputs keep 10 000 calls feasible on a CPU: crops of the dev images (32×32 to 120×120 px, and one-line
strips up to 40×240), passed as arrays, as encoded PNG/JPEG bytes and as files, with one call in 16 a
`run_many` over three of them and one in 25 a bad input (empty, truncated, not an image) that must fail with
`ImageDecodeError`. RSS is sampled every `--sample-every` calls; after the warm-up (`--warmup`, default the
first 10 %) a least-squares line through the samples gives the growth in MiB per 1000 calls. Open file
descriptors (`/proc/self/fd`) and OS threads (`/proc/self/status`) are counted at the start (after loading
and one call) and at the end.

    python benchmarks/soak.py [--calls 10000] [--json soak.json] [--threads auto|N]

Prints the JSON record on stdout and a summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images" / "imgs"
# (height, width) of the crops: squares and one-line strips, at most a line or two of text each.
SHAPES = ((32, 32), (48, 160), (64, 64), (40, 240), (96, 96), (120, 120))


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mib() -> float:
    return _status("VmRSS") / 1024


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def os_threads() -> int:
    return _status("Threads")


def make_inputs(folder: Path, workdir: Path) -> list[Any]:
    """Crops of the folder's first images in every shape of `SHAPES`: arrays, encoded bytes and files."""
    pages = [cv2.imread(str(p)) for p in sorted(folder.glob("*.jpg"))[:4]]
    inputs: list[Any] = []
    for page_index, page in enumerate(pages):
        for height, width in SHAPES:
            crop = np.ascontiguousarray(page[:height, :width])
            inputs.append(crop)
            ok, png = cv2.imencode(".png", crop)
            ok2, jpg = cv2.imencode(".jpg", crop)
            assert ok and ok2
            inputs.append(png.tobytes())
            path = workdir / f"crop_{page_index}_{height}x{width}.jpg"
            path.write_bytes(jpg.tobytes())
            inputs.append(str(path))
    return inputs


def bad_inputs(workdir: Path, good_png: bytes) -> list[Any]:
    empty = workdir / "empty.png"
    empty.write_bytes(b"")
    return [b"", good_png[: len(good_png) // 2], b"this is not an image", str(empty), np.zeros((0, 0, 3), np.uint8)]


def soak(
    calls: int, warmup: int, sample_every: int, threads: int | None, folder: Path, progress_every: int = 500
) -> dict[str, Any]:
    from ptocr import OCR
    from ptocr.errors import PtocrError

    ocr = OCR(threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        inputs = make_inputs(folder, workdir)
        bad = bad_inputs(workdir, inputs[1])
        ocr.run(inputs[0])
        start = {"rss_mib": round(rss_mib(), 1), "open_fds": open_fds(), "os_threads": os_threads()}
        samples: list[tuple[int, float]] = []
        failures = unexpected = lines = 0
        started = time.perf_counter()
        for call in range(calls):
            try:
                if call % 25 == 24:
                    try:
                        ocr.run(bad[(call // 25) % len(bad)])
                    except PtocrError:
                        failures += 1
                    else:
                        unexpected += 1
                elif call % 16 == 15:
                    chosen = [inputs[(call + k * 7) % len(inputs)] for k in range(3)]
                    lines += sum(len(result.lines) for result in ocr.run_many(chosen, chunk_size=3))
                else:
                    lines += len(ocr.run(inputs[(call * 5) % len(inputs)]).lines)
            except Exception as exc:  # counted: the soak reports it rather than stopping
                unexpected += 1
                print(f"call {call}: {type(exc).__name__}: {exc}", file=sys.stderr)
            if (call + 1) % sample_every == 0:
                samples.append((call + 1, rss_mib()))
            if (call + 1) % progress_every == 0:
                seconds = time.perf_counter() - started
                print(f"{call + 1} calls, {seconds:.0f} s, RSS {rss_mib():.1f} MiB, fds {open_fds()}, "
                      f"threads {os_threads()}", file=sys.stderr, flush=True)  # fmt: skip
        elapsed = time.perf_counter() - started
        end = {"rss_mib": round(rss_mib(), 1), "open_fds": open_fds(), "os_threads": os_threads()}
    kept = [(x, y) for x, y in samples if x > warmup]
    slope = float(np.polyfit([x for x, _ in kept], [y for _, y in kept], 1)[0]) * 1000 if len(kept) >= 2 else None
    return {
        "calls": calls,
        "seconds": round(elapsed, 1),
        "ms_per_call": round(1000 * elapsed / max(calls, 1), 1),
        "warmup_calls": warmup,
        "rss_slope_mib_per_1000_calls": None if slope is None else round(slope, 3),
        "rss_after_warmup_mib": round(kept[0][1], 1) if kept else None,
        "rss_max_mib": round(max(y for _, y in samples), 1) if samples else None,
        "start": start,
        "end": end,
        "expected_failures": failures,
        "unexpected_outcomes": unexpected,
        "lines_read": lines,
        "distinct_inputs": len(inputs),
        "rss_samples": [(x, round(y, 1)) for x, y in samples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=None, help="calls left out of the fit (default 10 %%)")
    parser.add_argument("--sample-every", type=int, default=100)
    parser.add_argument("--threads", default="auto", help="the engine's CPU threads: auto (default) or N")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--json", type=Path, default=None, help="also write the record there")
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else args.calls // 10
    threads = None if args.threads == "auto" else int(args.threads)
    record = soak(args.calls, warmup, args.sample_every, threads, args.folder)
    text = json.dumps(record)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(
        f"{record['calls']} calls in {record['seconds']} s ({record['ms_per_call']} ms each); RSS after warm-up "
        f"{record['rss_after_warmup_mib']} MiB, slope {record['rss_slope_mib_per_1000_calls']} MiB/1000 calls, "
        f"max {record['rss_max_mib']} MiB; fds {record['start']['open_fds']} -> {record['end']['open_fds']}; "
        f"threads {record['start']['os_threads']} -> {record['end']['os_threads']}; "
        f"{record['expected_failures']} refused bad inputs, {record['unexpected_outcomes']} unexpected",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
