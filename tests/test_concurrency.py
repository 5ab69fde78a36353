"""One `OCR` shared by many threads: the serial results, and never more than `max_concurrent` calls at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from ptocr import OCR
from ptocr.ocr import DEFAULT_MAX_CONCURRENT
from ptocr.pipeline.threads import BoundedCalls

from .paths import shared_path

THREADS = 8


@pytest.fixture(scope="module")
def ocr() -> OCR:
    return OCR(threads=1)  # a fixed thread count: scores are bit-for-bit repeatable (README "Speed")


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    """Small crops of a dev page, of different sizes, so the calls are quick and their results differ."""
    page = cv2.imread(str(shared_path("images", "imgs", "11.jpg")))  # 500×500, 14 lines
    height, width = page.shape[:2]
    return [page[: height * 2 // parts, : width * 2 // (2 + parts % 2)].copy() for parts in (3, 4, 5, 6)]


def _lines(result: Any) -> list[tuple[str, float, list[list[float]]]]:
    return [(line.text, line.score, np.asarray(line.box).tolist()) for line in result.lines]


def _in_threads(work: Callable[[int], Any], count: int = THREADS) -> list[Any]:
    """`[work(i) for i in range(count)]`, each on its own thread, started together; fails rather than hang."""
    results: list[Any] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def target(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    pool = [threading.Thread(target=target, args=(index,), daemon=True) for index in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread did not finish (deadlock?)"
    assert not errors, errors
    return results


def test_threads_sharing_one_engine_get_the_serial_results(ocr: OCR, images: list[np.ndarray]) -> None:
    serial = [_lines(ocr.run(image)) for image in images]
    assert all(serial) and len({str(lines) for lines in serial}) == len(images)
    concurrent = _in_threads(lambda index: _lines(ocr.run(images[index % len(images)])))
    assert concurrent == [serial[index % len(images)] for index in range(THREADS)]
    # The other entry points too, at the same time as each other.
    calls: list[Callable[[], Any]] = [
        lambda: [_lines(result) for result in ocr.run_many(images[:2], chunk_size=2)],
        lambda: [line.text for line in ocr(images[0])],
        lambda: ocr.detect(images[1]).tolist(),
        lambda: ocr.recognize(ocr.crop(images[2], ocr.detect(images[2]))),
    ]
    expected = [
        calls[0](),
        [text for text, _, _ in serial[0]],
        ocr.detect(images[1]).tolist(),
        ocr.recognize(ocr.crop(images[2], ocr.detect(images[2]))),
    ]
    assert _in_threads(lambda index: calls[index % len(calls)]()) == [expected[i % len(calls)] for i in range(THREADS)]


def _count_concurrent_runs(monkeypatch: pytest.MonkeyPatch, ocr: OCR) -> dict[str, int]:
    """Replaces the engine's system's `run` by an instrument: how many runs are inside at once, at most (each
    lingers a little, so that the threads overlap whenever the bound lets them)."""
    seen = {"now": 0, "most": 0, "runs": 0}
    lock = threading.Lock()
    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            seen["now"] += 1
            seen["runs"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            time.sleep(0.05)
            return args
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(ocr.system, "run", counted)
    return seen


@pytest.mark.parametrize("bound", [1, 2])
def test_no_more_than_max_concurrent_calls_run_at_once(
    monkeypatch: pytest.MonkeyPatch, ocr: OCR, images: list[np.ndarray], bound: int
) -> None:
    monkeypatch.setattr(ocr, "_calls", BoundedCalls(bound))
    seen = _count_concurrent_runs(monkeypatch, ocr)
    _in_threads(lambda index: [ocr.run(images[index % len(images)]) for _ in range(2)])
    assert seen["runs"] == 2 * THREADS
    assert seen["most"] == bound  # reached, never passed


def test_without_a_bound_the_threads_do_overlap(
    monkeypatch: pytest.MonkeyPatch, ocr: OCR, images: list[np.ndarray]
) -> None:
    """The instrument can see more than the bound: unbounded, the 8 threads' runs overlap."""
    monkeypatch.setattr(ocr, "_calls", BoundedCalls(None))
    seen = _count_concurrent_runs(monkeypatch, ocr)
    _in_threads(lambda index: ocr.run(images[index % len(images)]))
    assert seen["most"] > 2


def test_run_many_holds_no_place_while_its_results_are_consumed(ocr: OCR, images: list[np.ndarray]) -> None:
    """With a bound of 1, calling the engine between `run_many`'s results, or from its input iterator, neither
    waits forever nor changes a result."""
    images = images[:3]
    serial = [_lines(result) for result in ocr.run_many(images, chunk_size=2)]
    single = OCR.__new__(OCR)
    single.__dict__.update(ocr.__dict__, _calls=BoundedCalls(1))

    def inputs() -> Iterator[np.ndarray]:
        for image in images:
            single.detect(image)  # on the engine's own call thread: runs in place
            yield image

    def consume(_: int) -> list[Any]:
        out = []
        for result in single.run_many(inputs(), chunk_size=2):
            out.append((_lines(result), len(single(images[0]))))
        return out

    [consumed] = _in_threads(consume, count=1)
    assert [lines for lines, _ in consumed] == serial
    assert {count for _, count in consumed} == {len(serial[0])}


def test_the_bound_is_checked_and_defaults_to_a_small_number() -> None:
    assert DEFAULT_MAX_CONCURRENT == 2
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="max_concurrent must be a positive int or None"):
            OCR(max_concurrent=bad)  # type: ignore[arg-type]


def test_errors_reach_the_caller_from_the_call_threads(ocr: OCR) -> None:
    from ptocr.errors import ImageDecodeError

    with pytest.raises(ImageDecodeError):
        ocr.run(b"not an image")
    assert _in_threads(lambda _: ocr.detect(np.zeros((32, 32, 3), np.uint8)).shape, count=3) == [(0, 4, 2)] * 3


def test_callers_that_never_overlap_are_served_by_one_thread() -> None:
    """Each computing thread keeps its own malloc arena: serial callers must not spread over several."""
    calls = BoundedCalls(2)
    names = {calls.run(lambda: threading.current_thread().name) for _ in range(50)}
    assert len(names) == 1 and calls.thread_count == 1


def test_the_threads_end_with_their_engine() -> None:
    import gc

    calls = BoundedCalls(2)
    _in_threads(lambda _, calls=calls: calls.run(lambda: time.sleep(0.05)), count=4)
    threads = [worker.thread for worker in calls._all]
    assert len(threads) == 2
    del calls
    gc.collect()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
