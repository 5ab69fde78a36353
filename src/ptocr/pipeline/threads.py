"""How many CPU threads the networks use: a fixed number, or the CPUs other work leaves free right now.

torch runs each operator on an OpenMP team whose threads spin at every barrier. When another process is
busy on the same cores, a team as large as the machine keeps waiting for a thread the kernel has not
scheduled, and a pass takes several times longer than with one thread (measured on 2 cores with one
CPU-bound neighbour: 106 s at 2 threads against 20.5 s at 1, onnxruntime 48.6 s). The automatic policy
therefore looks, before each image, at how many tasks outside this process are runnable (Linux
`/proc/loadavg` minus this process's own running threads, about 0.5 ms) and uses the CPUs left free, at
least one and at most the CPUs this process may run on. Where /proc is unavailable it uses all of those.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def other_runnable_tasks() -> int | None:
    """Runnable tasks of other processes at this instant; None where /proc cannot tell."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            running = int(handle.read().split()[3].split("/")[0])
        ours = 0
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as handle:
                    stat = handle.read()
            except OSError:  # the thread ended while we looked
                continue
            state = stat[stat.rfind(")") + 2 : stat.rfind(")") + 3]
            ours += state == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - ours)


class ThreadPolicy:
    """`threads=None`: the automatic policy above; an int: exactly that many threads."""

    def __init__(self, threads: int | None = None) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive int or None (automatic), got {threads!r}")
        self.fixed = threads
        self.cpus = available_cpus()

    def threads_now(self) -> int:
        if self.fixed is not None:
            return self.fixed
        others = other_runnable_tasks()
        if others is None:
            return self.cpus
        return max(1, min(self.cpus, self.cpus - others))

    def apply(self) -> int:
        """Sets torch's intra-op thread count for what runs next; the count."""
        count = self.threads_now()
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)
        return count


def balanced_bins(costs: Sequence[float], bins: int) -> list[list[int]]:
    """Indices of `costs` split into `bins` groups of near-equal total cost (largest first, each to the group
    with the least so far); each group in ascending index order, empty groups dropped."""
    groups: list[list[int]] = [[] for _ in range(bins)]
    totals = [0.0] * bins
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(index)
        totals[lightest] += costs[index]
    return [sorted(group) for group in groups if group]


class SideBySide:
    """Runs independent network calls on several Python threads at once, each with one intra-op thread.

    On few cores torch parallelises one call poorly: every operator ends at a barrier of its OpenMP team,
    and the many small operators of these networks leave the team waiting. Two calls side by side keep both
    cores busy instead (PP-OCRv4 recognition on 2 cores: 7.1 s against 8.4 s for the same batches). Each call
    computes exactly what it computes alone. The calling thread runs one share itself; the helper threads
    (at most one fewer than the CPUs) are started as first needed and kept, shared by concurrent callers.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _helpers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max(1, available_cpus() - 1), thread_name_prefix="ptocr-net")
            return self._executor

    def map(self, work: Callable[[T], R], items: Sequence[T], costs: Sequence[float], threads: int) -> list[R]:
        """`[work(item) for item in items]`, computed by up to `threads` threads, the shares balanced by `costs`."""
        if threads < 2 or len(items) < 2:
            return [work(item) for item in items]
        bins = balanced_bins(costs, min(threads, len(items)))
        executor = self._helpers()
        futures = [executor.submit(_run_share, work, items, share) for share in bins[1:]]
        try:
            outputs = [_run_share(work, items, bins[0])]
        finally:
            wait(futures)
        outputs += [future.result() for future in futures]
        results: list[R] = [None] * len(items)  # type: ignore[list-item]
        for share, share_outputs in zip(bins, outputs, strict=True):
            for index, output in zip(share, share_outputs, strict=True):
                results[index] = output
        return results


def _run_share(work: Callable[[T], R], items: Sequence[T], share: list[int]) -> list[R]:
    """`work` on the items of `share`, with one intra-op thread in this thread (restored afterwards)."""
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        return [work(items[index]) for index in share]
    finally:
        if previous != 1:
            torch.set_num_threads(previous)




class BoundedCalls:
    """Runs at most `limit` calls at once, each on one of at most `limit` threads kept for this purpose (None:
    every call on its caller's thread, no bound); the others wait their turn.

    Each call of the engine holds its image, the detector input and the activations of its network calls (about
    half a GiB for a page on PP-OCRv4), so N threads calling one engine at once hold about N times that. Bounding
    the calls alone is not enough: glibc gives each thread that allocates its own malloc arena and keeps what a
    call freed there for that thread, so 8 threads taking turns one at a time still peaked at twice the serial
    RSS (1364 against 708 MiB on 2 cores). Computing on a few threads of our own keeps the memory those threads
    reuse; the callers only wait. An idle thread is reused most-recent first, so callers that never overlap are
    all served by one thread (and one arena). A call made from one of these threads (an input iterator of
    `run_many` that itself calls the engine) runs in place rather than waiting for a thread it holds. The
    threads are daemons, ended when this object is collected.
    """

    def __init__(self, limit: int | None) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"max_concurrent must be a positive int or None (no bound), got {limit!r}")
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit) if limit is not None else None
        self._lock = threading.Lock()
        self._inside = threading.local()
        self._idle: list[_CallThread] = []  # a stack: the most recently used on top
        self._all: list[_CallThread] = []
        weakref.finalize(self, _stop_threads, self._all)

    def run(self, work: Callable[[], R]) -> R:
        """`work()`, computed on one of the bounded threads once one is free; its result or its exception."""
        if self._slots is None or getattr(self._inside, "active", False):
            return work()
        with self._slots:
            with self._lock:
                if self._idle:
                    worker = self._idle.pop()
                else:
                    worker = _CallThread(self._inside, f"ptocr-call-{len(self._all)}")
                    self._all.append(worker)
            try:
                return worker.call(work)
            finally:
                with self._lock:
                    self._idle.append(worker)

    @property
    def thread_count(self) -> int:
        """Threads started so far (at most `limit`)."""
        return len(self._all)


class _CallThread:
    """One thread of `BoundedCalls`: runs the calls handed to it, one at a time."""

    def __init__(self, inside: threading.local, name: str) -> None:
        self._inbox: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, args=(inside,), name=name, daemon=True)
        self.thread.start()

    def call(self, work: Callable[[], R]) -> R:
        future: Future[R] = Future()
        self._inbox.put((work, future))
        return future.result()

    def stop(self) -> None:
        self._inbox.put(None)

    def _serve(self, inside: threading.local) -> None:
        inside.active = True
        while (task := self._inbox.get()) is not None:
            work, future = task
            try:
                result = work()
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)
            else:
                future.set_result(result)
            del work, future, task  # hold nothing of a finished call while waiting for the next


def _stop_threads(threads: list[_CallThread]) -> None:
    for worker in threads:
        worker.stop()
