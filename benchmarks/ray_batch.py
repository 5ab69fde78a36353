"""Images per second: the plain CLI against `ptocr batch` on a local Ray with 1 and 2 workers.

Every run is a whole process as a user starts it (`ptocr FOLDER -o F.jsonl`, `ptocr batch FOLDER -o DIR`), timed
from start to exit, so Ray's start, its workers' start and each worker's model loading are all counted. The folder
holds the dev images `--copies` times under distinct names (copies are distinct inputs to both: nothing is
skipped), which spreads those fixed costs over more pages; `--copies 1` is the dev images as they are. The runs
take turns (CLI, Ray 1, Ray 2, CLI, …, `--rounds` times) so that drift of the machine hits all alike; each batch
run writes into a new folder, so it reads everything. The start cost is measured too: the same commands on one
small image.

    python benchmarks/ray_batch.py [--copies 3] [--rounds 2] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "images"
PTOCR = [sys.executable, "-c", "import sys; from ptocr.cli import main; sys.exit(main(sys.argv[1:]))"]


def copy_images(source: Path, target: Path, copies: int) -> int:
    from ptocr.pipeline import find_images

    images = find_images(source)
    for copy in range(copies):
        for image in images:
            flat = "_".join(image.relative_to(source).parts)
            shutil.copy(image, target / f"c{copy}_{flat}")
    return len(images) * copies


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:])} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def commands(folder: Path, work: Path, num_cpus: int, run: int) -> dict[str, list[str]]:
    ray = ["batch", str(folder), "--format", "jsonl", "-q", "--num-cpus", str(num_cpus), "--object-store-mb", "200"]
    return {
        "plain CLI": [*PTOCR, "-q", str(folder), "-o", str(work / f"plain{run}.jsonl")],
        "Ray, 1 worker": [*PTOCR, *ray, "--workers", "1", "-o", str(work / f"ray1_{run}")],
        "Ray, 2 workers": [*PTOCR, *ray, "--workers", "2", "-o", str(work / f"ray2_{run}")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--copies", type=int, default=3, help="copies of each image (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each command (default 2)")
    parser.add_argument("--num-cpus", type=int, default=2, help="the local Ray's CPUs (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder, one, work = Path(temp, "in"), Path(temp, "one"), Path(temp, "work")
        for path in (folder, one, work):
            path.mkdir()
        count = copy_images(args.folder, folder, args.copies)
        shutil.copy(next(iter(sorted(folder.iterdir()))), one)
        seconds: dict[str, list[float]] = {}
        start: dict[str, list[float]] = {}
        for run in range(args.rounds):
            for name, command in commands(folder, work, args.num_cpus, run).items():
                seconds.setdefault(name, []).append(timed(command))
                print(f"round {run + 1}: {name}: {seconds[name][-1]:.1f} s", file=sys.stderr, flush=True)
            for name, command in commands(one, work, args.num_cpus, run + 100).items():
                start.setdefault(name, []).append(timed(command))
        print(f"\n{count} images ({args.copies} × the dev images), local Ray of {args.num_cpus} CPUs, 1 per worker")
        print(f"{'':<16}{'seconds':>9}{'images/s':>10}{'one image, s':>14}")
        for name, values in seconds.items():
            median = statistics.median(values)
            print(f"{name:<16}{median:>9.1f}{count / median:>10.2f}{statistics.median(start[name]):>14.1f}")


if __name__ == "__main__":
    main()
