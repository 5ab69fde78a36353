"""Bounded reading of model files that may come from anyone, and overflow-safe tensor sizes.

Every model reader goes through `read_bounded`: only regular files are opened (a FIFO would block forever, a
character device such as `/dev/zero` never ends, a folder cannot be read), the size is checked against the
reader's limit before a byte is read, and the read itself stops one byte past the limit, so a file that grows
while it is read, or one that reports a size of 0 (`/proc` files), cannot exhaust memory either.

`element_count` and `byte_size` do shape arithmetic on Python ints (which cannot overflow) and refuse negative
dimensions and shapes numpy could not even represent, before numpy allocates or reshapes anything.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Sequence

from ..errors import ModelFormatError, PtocrError

#: Per-kind maximum file sizes. Each is far above the largest published PaddleOCR file of its kind (the
#: largest inference parameter file, v4 server rec, is about 100 MB; the largest program a few MB), and far
#: below what would exhaust a machine's memory while reading.
MAX_PROGRAM_BYTES = 512 * 1024**2  # .pdmodel, fluid `model` / `__model__`
#: PaddlePaddle 3's `inference.json`: parsed JSON takes several times its size in Python objects.
MAX_PIR_PROGRAM_BYTES = 256 * 1024**2
#: PaddleX's `inference.yml`: the largest published (a recogniser's, with its dictionary) is about 170 KB;
#: YAML parses at a few MB a second at best, so the limit also bounds the time a hostile file can take.
MAX_PADDLEX_CONFIG_BYTES = 2 * 1024**2
MAX_PARAMS_BYTES = 4 * 1024**3  # .pdiparams, fluid `params` / `__params__`, one fluid variable file
MAX_INFO_BYTES = 16 * 1024**2  # .pdiparams.info (a pickled name table)
MAX_PDPARAMS_BYTES = 4 * 1024**3  # a trained checkpoint (held twice while unpickled: bytes and arrays)
MAX_ONNX_BYTES = 2 * 1024**3  # protobuf itself cannot parse more than 2 GiB
MAX_SAFETENSORS_BYTES = 4 * 1024**3
MAX_SAFETENSORS_HEADER_BYTES = 16 * 1024**2  # the JSON header (a few KB for any OCR model)

#: No tensor of any OCR model comes near this many elements (v4 server rec's largest: ~10 M); it keeps every
#: shape far from int64 overflow, also for empty tensors whose other dimensions are absurd.
MAX_TENSOR_ELEMENTS = 1 << 31

_CHUNK = 1 << 20


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mib(n: int) -> str:
    return f"{n / 1024**2:.0f} MiB" if n < 1024**3 else f"{n / 1024**3:.0f} GiB"


def regular_file_size(
    path: str | os.PathLike[str], limit: int, what: str, *, error: type[PtocrError] = ModelFormatError
) -> int:
    """The size of `path` (symlinks followed) if it is a regular file of at most `limit` bytes; else `error`
    naming the file and what it is. Opens nothing."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: {_file_kind(info.st_mode)}, not a {what} file; only regular files are read")
    if info.st_size > limit:
        raise error(
            f"{path}: {info.st_size} bytes is larger than any {what} file ptocr reads (limit {_mib(limit)}); "
            "is it the right file?"
        )
    return info.st_size


def read_bounded(
    path: str | os.PathLike[str], limit: int, what: str, *, error: type[PtocrError] = ModelFormatError
) -> bytes:
    """The bytes of the regular file `path`, refusing (with `error`) anything else and more than `limit` bytes.

    `what` names the kind of file in messages ("Paddle program", "ONNX model", …).
    """
    size = regular_file_size(path, limit, what, error=error)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening must not wait for a writer;
        # fstat on the open file then decides.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{path}: {_file_kind(mode)}, not a {what} file; only regular files are read")
        chunks: list[bytes] = []
        total = 0
        # One read of the announced size (+1 to see whether more follows) serves every honest file without a
        # copy; later reads are chunked and stop one byte past the limit.
        want = min(size, limit) + 1
        while total <= limit:
            chunk = os.read(fd, min(want, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            want = _CHUNK
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if total > limit:
        raise error(f"{path}: grew past the {_mib(limit)} limit for a {what} file while it was read")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def element_count(shape: Sequence[int], what: str) -> int:
    """The element count of `shape`, exactly (Python ints); ModelFormatError for a negative dimension or a shape
    beyond `MAX_TENSOR_ELEMENTS` (counting zero dimensions as one, so that an empty tensor with absurd other
    dimensions, which numpy cannot represent, is refused too)."""
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise ModelFormatError(f"{what}: negative dimension in shape {dims}")
    if math.prod(max(d, 1) for d in dims) > MAX_TENSOR_ELEMENTS:
        raise ModelFormatError(f"{what}: shape {dims} is implausibly large (over {MAX_TENSOR_ELEMENTS} elements)")
    return math.prod(dims)


def byte_size(shape: Sequence[int], itemsize: int, available: int, what: str) -> int:
    """The byte size of a tensor of `shape`, checked against the `available` bytes that should hold it."""
    nbytes = element_count(shape, what) * itemsize
    if nbytes > available:
        raise ModelFormatError(
            f"{what}: shape {[int(d) for d in shape]} needs {nbytes} bytes but only {available} remain: "
            "the file is truncated or its shape is wrong"
        )
    return nbytes
