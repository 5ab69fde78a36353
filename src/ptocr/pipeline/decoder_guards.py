"""Process-wide guards around the native image decoders: Pillow's pixel limit raised to ptocr's own for the
length of a call, and file descriptor 2 silenced while libpng, libjpeg, libtiff or OpenCV may write to it.

Both change one value the whole process shares, so both count their users: concurrent calls share one change,
and the last to end puts the original back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

from PIL import Image

# Pillow's own decompression-bomb check (Image.MAX_IMAGE_PIXELS, ~89 MP, an error at twice that) would refuse
# images ptocr's limit allows, with advice that does not apply to ptocr. ptocr has sized the image itself before
# Pillow sees it, so around Pillow's calls the check is raised to at least that size: ptocr's limit decides.
# Image.MAX_IMAGE_PIXELS is one process-wide value: it is only ever raised (never lowered or disabled), while
# any call needs it, and put back when the last such call ends.
_pillow_lock = threading.Lock()
_pillow_users = 0
_pillow_saved: int | None = None


@contextlib.contextmanager
def pillow_allowing(pixels: int) -> Iterator[None]:
    global _pillow_users, _pillow_saved
    with _pillow_lock:
        # Judged against the user's own setting (saved while raised), so that no call relies on a raise that
        # another call undoes when it ends.
        original = _pillow_saved if _pillow_users else Image.MAX_IMAGE_PIXELS
        needed = original is not None and pixels > original
        if needed:
            if _pillow_users == 0:
                _pillow_saved = original
            _pillow_users += 1
            current = Image.MAX_IMAGE_PIXELS
            if current is not None:  # another call may have raised it further already
                Image.MAX_IMAGE_PIXELS = max(current, pixels)
    try:
        yield
    finally:
        if needed:
            with _pillow_lock:
                _pillow_users -= 1
                if _pillow_users == 0:
                    Image.MAX_IMAGE_PIXELS = _pillow_saved


# libpng, libjpeg, libtiff and OpenCV's logger write their complaints straight to file descriptor 2, beside
# ptocr's one-line errors. While any decode runs, fd 2 points at the null device; the first decode to start
# redirects it and the last to end restores it, so concurrent decodes neither wait for each other nor restore
# it under one another. (Whatever else the process writes to fd 2 during a decode is lost the same way.)
_stderr_lock = threading.Lock()
_stderr_users = 0
_stderr_saved: int | None = None


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """File descriptor 2 on the null device while the block runs (nested and concurrent uses share one
    redirection): around native decoders, whose messages would appear beside ptocr's one-line errors."""
    global _stderr_users, _stderr_saved
    with _stderr_lock:
        if _stderr_users == 0:
            try:
                saved = os.dup(2)
            except OSError:  # no fd 2 at all: nothing to protect
                saved = None
            if saved is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    with contextlib.suppress(ValueError, OSError, AttributeError):
                        sys.stderr.flush()  # what Python wrote before the decode still goes out
                    os.dup2(null, 2)
                finally:
                    os.close(null)
            _stderr_saved = saved
        _stderr_users += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _stderr_users -= 1
            if _stderr_users == 0 and _stderr_saved is not None:
                os.dup2(_stderr_saved, 2)
                os.close(_stderr_saved)
                _stderr_saved = None
