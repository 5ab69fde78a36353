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

import torch


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
