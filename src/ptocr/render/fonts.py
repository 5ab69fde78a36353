"""Finding a font that can draw CJK text on this system (for ``--vis`` and the PDF text layer)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

# Searched in this order; the first existing file wins. Patterns are globbed (`**` recursively).
CJK_FONT_PATTERNS = (
    "/usr/share/fonts/**/NotoSansCJK*.tt[cf]",
    "/usr/share/fonts/**/NotoSerifCJK*.tt[cf]",
    "/usr/share/fonts/**/wqy-microhei.ttc",
    "/usr/share/fonts/**/wqy-zenhei.ttc",
    "/usr/share/fonts/**/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/**/DroidSansFallback.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
)
# Without a CJK font, one for Latin, Greek and Cyrillic text.
FALLBACK_FONT_PATTERNS = (
    "/usr/share/fonts/**/DejaVuSans.ttf",
    "/usr/share/fonts/**/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
# An explicit choice, e.g. PTOCR_FONT=/path/to/font.ttf, is tried first.
FONT_VARIABLE = "PTOCR_FONT"


def font_candidates(patterns: tuple[str, ...]) -> list[Path]:
    """Existing files matching ``patterns``, in order (PTOCR_FONT first when it names a file)."""
    found: list[Path] = []
    chosen = os.environ.get(FONT_VARIABLE)
    if chosen and Path(chosen).is_file():
        found.append(Path(chosen))
    for pattern in patterns:
        for match in sorted(glob.glob(pattern, recursive=True)):
            path = Path(match)
            if path.is_file() and path not in found:
                found.append(path)
    return found
