"""The atheris side of every `fuzz/fuzz_<target>.py`: default corpus folders and limits, then libFuzzer.

Run a harness as `python fuzz/fuzz_<target>.py [libFuzzer flags] [corpus folders]`. Without folders it reads
the seeds in `fuzz/corpus/<target>/` and writes what it discovers to `fuzz/work/<target>/` (git-ignored).
Defaults, each overridable on the command line: `-rss_limit_mb=2048` (bounded memory), `-timeout=10` (a
hang is any input taking over 10 s), `-max_len=1048576`, `-artifact_prefix=fuzz/work/<target>/` (where a
crashing, hanging or memory-exhausting input is saved).
"""

from __future__ import annotations

import sys

import atheris
import targets

_DEFAULTS = {"-rss_limit_mb": "2048", "-timeout": "10", "-max_len": str(1 << 20)}
#: Targets that never import torch get a hard address-space cap too (torch reserves address space up front).
_ADDRESS_SPACE_MB = {"interpreter": None}
_DEFAULT_ADDRESS_SPACE_MB = 4096


def main(target: str) -> None:
    args = sys.argv[1:]
    flags = [a for a in args if a.startswith("-")]
    folders = [a for a in args if not a.startswith("-")]
    for flag, value in _DEFAULTS.items():
        if not any(a.startswith(flag + "=") for a in flags):
            flags.append(f"{flag}={value}")
    work = targets.FUZZ_DIR / "work" / target
    work.mkdir(parents=True, exist_ok=True)
    if not any(a.startswith("-artifact_prefix=") for a in flags):
        flags.append(f"-artifact_prefix={work}/")  # crash-*, timeout-*, oom-* inputs land beside the corpus
    if not folders:
        folders = [str(work), str(targets.CORPUS_DIR / target)]
    address_space = _ADDRESS_SPACE_MB.get(target, _DEFAULT_ADDRESS_SPACE_MB)
    if address_space is not None:
        targets.limit_memory(address_space)

    def test_one_input(data: bytes) -> None:
        targets.run_one(target, data)

    atheris.Setup([sys.argv[0], *flags, *folders], test_one_input)
    atheris.Fuzz()


__all__ = ["main"]
