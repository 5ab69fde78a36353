"""The CPU thread policy: fixed counts, and the automatic one that yields to other busy processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import torch

from ptocr.pipeline import threads as threads_mod
from ptocr.pipeline.threads import ThreadPolicy, available_cpus, other_runnable_tasks


def test_fixed_counts_are_used_as_given() -> None:
    before = torch.get_num_threads()
    try:
        assert ThreadPolicy(1).apply() == 1 and torch.get_num_threads() == 1
        assert ThreadPolicy(3).threads_now() == 3
    finally:
        torch.set_num_threads(before)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive int or None"):
            ThreadPolicy(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("others", "cpus", "expected"), [(0, 4, 4), (1, 4, 3), (3, 4, 1), (9, 4, 1), (None, 4, 4)])
def test_automatic_count_leaves_busy_cpus_alone(
    monkeypatch: pytest.MonkeyPatch, others: int | None, cpus: int, expected: int
) -> None:
    monkeypatch.setattr(threads_mod, "other_runnable_tasks", lambda: others)
    policy = ThreadPolicy()
    policy.cpus = cpus
    assert policy.threads_now() == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")
def test_a_busy_neighbour_process_is_seen() -> None:
    assert available_cpus() >= 1
    quiet = other_runnable_tasks()
    assert quiet is not None and quiet >= 0
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        seen = 0
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not seen:
            seen = other_runnable_tasks() or 0
            time.sleep(0.01)
        assert seen >= 1
    finally:
        neighbour.kill()
        neighbour.wait()


def test_onednn_cache_is_bounded_unless_the_user_chose() -> None:
    """`import ptocr` caps oneDNN's primitive cache (peak memory) but keeps a capacity the user set."""
    import os
    import subprocess
    import sys

    code = "import os, ptocr; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    theirs = subprocess.run(
        [sys.executable, "-c", code], env={**env, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1000"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert (ours.stdout.strip(), theirs.stdout.strip()) == ("256", "1000")


def test_balanced_bins_split_the_cost_evenly_and_keep_every_index_once() -> None:
    costs = [5.0, 1.0, 4.0, 2.0, 3.0, 3.0]
    bins = threads_mod.balanced_bins(costs, 2)
    assert sorted(i for share in bins for i in share) == list(range(len(costs)))
    assert sorted(sum(costs[i] for i in share) for share in bins) == [9.0, 9.0]
    assert all(share == sorted(share) for share in bins)
    assert threads_mod.balanced_bins([1.0], 3) == [[0]]  # no empty shares


def test_side_by_side_gives_the_serial_results_on_several_threads() -> None:
    side_by_side = threads_mod.SideBySide()
    seen: dict[int, tuple[str, int]] = {}

    def work(item: int) -> int:
        seen[item] = (threading.current_thread().name, torch.get_num_threads())
        time.sleep(0.01)
        return item * item

    before = torch.get_num_threads()
    items = list(range(7))
    assert side_by_side.map(work, items, [1.0] * len(items), threads=2) == [i * i for i in items]
    assert len({name for name, _ in seen.values()}) == 2
    assert {count for _, count in seen.values()} == {1}  # one intra-op thread per call
    assert torch.get_num_threads() == before  # the caller's count is restored
    seen.clear()
    assert side_by_side.map(work, items, [1.0] * len(items), threads=1) == [i * i for i in items]
    assert {name for name, _ in seen.values()} == {threading.current_thread().name}


def test_side_by_side_raises_the_first_error_after_every_share_ended() -> None:
    side_by_side = threads_mod.SideBySide()
    finished: list[int] = []

    def work(item: int) -> int:
        if item == 0:
            raise ValueError("bad batch")
        time.sleep(0.05)
        finished.append(item)
        return item

    with pytest.raises(ValueError, match="bad batch"):
        side_by_side.map(work, [0, 1, 2, 3], [4.0, 3.0, 2.0, 1.0], threads=2)
    # The shares are [0, 3] (this thread: stops at 0) and [1, 2] (a helper: ran to its end before the raise).
    assert sorted(finished) == [1, 2]
