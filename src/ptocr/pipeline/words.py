"""Word and character boxes from the CTC time steps of a recognised line.

Each output step of a CTC recogniser sees a fixed slice of the recogniser's input: with T steps over an input
``W`` columns wide (the batch width, the crop right-padded to it), step ``t`` covers columns ``[t, t + 1) · W/T``.
A character is centred on the steps of its run; its extent reaches halfway to its neighbours' centres and at
most half the line's typical character pitch from its own. Those columns are scaled back to the crop (the crop
was resized to ``resized_width`` columns before padding) and mapped through the crop's transform back into the
image (:func:`ptocr.pipeline.crop.crop_to_image`), so each box lies inside its line's quadrilateral.

Scripts written without spaces (Han, kana, hangul, CJK punctuation and full-width forms) give one box per
character; other text one box per run of characters between spaces.
"""

from __future__ import annotations

import numpy as np

from ptocr.pipeline.crop import crop_shape, crop_to_image
from ptocr.pipeline.ctc import CharSteps, _reverse_right_to_left
from ptocr.pipeline.preprocess import resized_crop_width
from ptocr.pipeline.results import Word

# Code point ranges whose characters are each a word of their own.
_UNSPACED_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # Half-width and full-width forms
    (0x20000, 0x3FFFF),  # CJK Extensions B and beyond
)


def is_unspaced(character: str) -> bool:
    """Whether ``character`` belongs to a script written without spaces between words (one box each)."""
    code = ord(character[0]) if character else 0
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


def group_words(characters: tuple[str, ...] | list[str]) -> list[list[int]]:
    """Indices of ``characters`` per word: spaces separate words and are in none; an unspaced-script character
    is a word of its own."""
    groups: list[list[int]] = []
    current: list[int] = []
    for index, character in enumerate(characters):
        if character.isspace() or is_unspaced(character):
            if current:
                groups.append(current)
                current = []
            if not character.isspace():
                groups.append([index])
            continue
        current.append(index)
    if current:
        groups.append(current)
    return groups


def character_extents(steps: CharSteps, input_width: float, step_width: float) -> np.ndarray:
    """Each character's [start, end) in recogniser input columns (float64 N×2), within [0, input_width]."""
    if not steps.characters:
        return np.zeros((0, 2))
    first = np.asarray(steps.first_steps, dtype=np.float64)
    last = np.asarray(steps.last_steps, dtype=np.float64)
    centres = (first + last + 1.0) / 2.0 * step_width
    pitch = float(np.median(np.diff(centres))) if len(centres) > 1 else float(input_width)
    half = max(pitch, step_width) / 2.0
    between = (centres[1:] + centres[:-1]) / 2.0
    starts = np.maximum(np.concatenate([[-np.inf], between]), centres - half)
    ends = np.minimum(np.concatenate([between, [np.inf]]), centres + half)
    # A run longer than the pitch still covers its own steps.
    starts = np.minimum(starts, first * step_width)
    ends = np.maximum(ends, (last + 1.0) * step_width)
    return np.clip(np.stack([starts, ends], axis=1), 0.0, input_width)


def line_words(
    steps: CharSteps,
    box: np.ndarray,
    batch_width: int,
    target_height: int,
    turned: bool = False,
    reverse: bool = False,
    resized_width: int | None = None,
) -> tuple[Word, ...]:
    """The words of one recognised line, in reading order, with boxes in image coordinates.

    ``box`` is the quadrilateral the crop was warped from (the detected box, or its minimum-area rectangle:
    `crop.crop_quad`), ``batch_width`` × ``target_height`` the recogniser input the crop was padded into,
    ``resized_width`` the columns of it the crop was resized to (None: PaddleOCR 2.x's, ``min(ceil(H · w/h),
    batch_width)``), ``turned`` whether the angle classifier turned the crop 180°, ``reverse`` whether the
    decoder reverses the text (right-to-left scripts: each word's text is reversed alike, and the words are
    listed right to left).
    """
    if not steps.characters:
        return ()
    crop_height, crop_width = crop_shape(box)
    if resized_width is None:
        resized_width = resized_crop_width(crop_height, crop_width, target_height, batch_width)
    extents = character_extents(steps, resized_width, batch_width / steps.steps)
    to_crop = crop_width / resized_width
    words = []
    for members in group_words(steps.characters):
        left, right = extents[members[0], 0] * to_crop, extents[members[-1], 1] * to_crop
        if right <= left:  # a character squeezed to nothing by its neighbours: a hairline at its place
            right = left = min(max(left, 0.0), float(crop_width))
        corners = np.array([[left, 0], [right, 0], [right, crop_height], [left, crop_height]], dtype=np.float64)
        text = "".join(steps.characters[index] for index in members)
        probabilities = np.asarray([steps.probabilities[index] for index in members], dtype=np.float32)
        words.append(
            Word(
                box=crop_to_image(corners, box, turned),
                text=_reverse_right_to_left(text) if reverse else text,
                score=float(np.mean(probabilities)),
            )
        )
    return tuple(reversed(words)) if reverse else tuple(words)
