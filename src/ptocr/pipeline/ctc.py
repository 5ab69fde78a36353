"""Greedy CTC decoding with PaddleOCR's character layout (CTCLabelDecode).

Class 0 is the CTC blank, classes 1..N are the dictionary's lines in file order, and with
``use_space_char`` a final class is the space character.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BLANK_INDEX = 0
# Runs of these characters are kept in reading order when an Arabic (right-to-left) result is reversed.
_LEFT_TO_RIGHT_RUN = re.compile(r"[a-zA-Z0-9 :*./%+-]")


@dataclass(frozen=True)
class CharSteps:
    """Where each character of a decoded line was read: the time steps of its run in the recogniser's output.

    ``characters`` are in the order they were read (left to right in the crop, before any right-to-left
    reversal of the text); ``first_steps``/``last_steps`` are the first and last step of each character's run of
    identical arg-maxes, ``probabilities`` the probability of its first step (the one the line score counts),
    and ``steps`` the output's length T.
    """

    characters: tuple[str, ...]
    first_steps: tuple[int, ...]
    last_steps: tuple[int, ...]
    probabilities: tuple[float, ...]
    steps: int


class CTCDecoder:
    """Greedy (best-path) CTC decoder: argmax per step, collapse repeats, drop blanks.

    The score of a line is (by default, see `decode`) the float32 mean of the kept steps' maximum
    probabilities, and 0.0 for an empty line, exactly as PaddleOCR reports it.
    """

    def __init__(self, characters: Sequence[str], reverse: bool = False, blank_last: bool = False) -> None:
        """``characters`` are the classes after the blank, in order. ``reverse`` turns the decoded
        text around for right-to-left scripts, keeping runs of Latin letters and digits intact
        (PaddleOCR does this when its dictionary path contains "arabic"). ``blank_last``: the blank is the
        last class instead of the first, as in PaddleOCR 1.x's recognisers (the characters come first)."""
        if isinstance(characters, str):
            raise TypeError("characters must be a sequence of strings, not one string")
        self.characters: tuple[str, ...] = tuple(characters)
        if not self.characters:
            raise ValueError("the character list is empty")
        self.reverse = reverse
        self.blank_index = len(self.characters) if blank_last else BLANK_INDEX
        # Index → text, with the blank's slot unused (it is never emitted).
        self._classes: tuple[str, ...] = (*self.characters, "") if blank_last else ("", *self.characters)

    @property
    def num_classes(self) -> int:
        """What the recogniser's last dimension must be: blank + characters."""
        return len(self._classes)

    @classmethod
    def from_dictionary_file(
        cls,
        path: str | os.PathLike[str],
        use_space_char: bool = True,
        reverse: bool | None = None,
        blank_last: bool = False,
    ) -> CTCDecoder:
        """Reads a PaddleOCR dictionary: one character per line, UTF-8. Only line breaks are stripped
        (a line holding a space stays a space). ``reverse`` defaults to PaddleOCR's rule: on when the
        path contains "arabic"."""
        with open(path, "rb") as handle:
            lines = handle.readlines()  # split at b"\n" only, as PaddleOCR reads it
        characters = [line.decode("utf-8").strip("\n").strip("\r\n") for line in lines]
        if use_space_char:
            characters.append(" ")
        if reverse is None:
            reverse = "arabic" in os.fspath(path)
        return cls(characters, reverse=reverse, blank_last=blank_last)

    def decode(self, probs: np.ndarray, score: str = "collapsed") -> list[tuple[str, float]]:
        """Decodes N×T×C per-step class probabilities into N (text, score) pairs.

        ``score`` (RecSettings.ctc_score): "collapsed" averages the maximum probabilities of the steps kept
        in the text (PaddleOCR 2.x); "non_blank_steps" those of every step whose arg-max is not the blank,
        repeated characters' steps included (PaddleOCR 1.x's predict_rec.py). A line with no character is
        ("", 0.0) either way.
        """
        if score not in ("collapsed", "non_blank_steps"):
            raise ValueError(f"unknown CTC score rule {score!r}; expected 'collapsed' or 'non_blank_steps'")
        probs = np.asarray(probs)
        if probs.ndim != 3:
            raise ValueError(f"expected N×T×C probabilities, got shape {probs.shape}")
        if probs.shape[2] != self.num_classes:
            raise ValueError(
                f"the recogniser gives {probs.shape[2]} classes but the dictionary has "
                f"{self.num_classes} (blank + {len(self.characters)} characters): wrong dictionary "
                "or use_space_char setting?"
            )
        best = probs.argmax(axis=2)
        best_prob = probs.max(axis=2)
        non_blank = best != self.blank_index
        keep = non_blank.copy()
        keep[:, 1:] &= best[:, 1:] != best[:, :-1]  # a repeat only counts after a change
        scored = keep if score == "collapsed" else non_blank
        return [self._line(best[row][keep[row]], best_prob[row][scored[row]]) for row in range(len(probs))]

    def decode_with_steps(
        self, probs: np.ndarray, score: str = "collapsed"
    ) -> list[tuple[str, float, CharSteps]]:
        """Like :meth:`decode`, with each line's :class:`CharSteps` (for word boxes); same texts and scores."""
        decoded = self.decode(probs, score)
        probs = np.asarray(probs)
        best = probs.argmax(axis=2)
        best_prob = probs.max(axis=2)
        lines = []
        for row, (text, line_score) in enumerate(decoded):
            indices = best[row]
            changes = np.flatnonzero(np.diff(indices)) + 1
            starts = np.concatenate([[0], changes])
            ends = np.concatenate([changes, [len(indices)]]) - 1
            kept = indices[starts] != self.blank_index
            starts, ends = starts[kept], ends[kept]
            steps = CharSteps(
                characters=tuple(self._classes[index] for index in indices[starts].tolist()),
                first_steps=tuple(starts.tolist()),
                last_steps=tuple(ends.tolist()),
                probabilities=tuple(best_prob[row][starts].astype(np.float64).tolist()),
                steps=int(indices.shape[0]),
            )
            lines.append((text, line_score, steps))
        return lines

    def _line(self, indices: np.ndarray, step_probs: np.ndarray) -> tuple[str, float]:
        text = "".join(self._classes[index] for index in indices.tolist())
        if self.reverse:
            text = _reverse_right_to_left(text)
        # np.mean of the float32 values, so the score has PaddleOCR's float32 rounding.
        score = float(np.mean(step_probs)) if step_probs.size and indices.size else 0.0
        return text, score

    def __call__(self, probs: np.ndarray, score: str = "collapsed") -> list[tuple[str, float]]:
        return self.decode(probs, score)


def _reverse_right_to_left(text: str) -> str:
    """Reverses ``text`` but keeps each run of left-to-right characters in its own order."""
    pieces: list[str] = []
    run = ""
    for char in text:
        if _LEFT_TO_RIGHT_RUN.search(char):
            run += char
            continue
        if run:
            pieces.append(run)
            run = ""
        pieces.append(char)
    if run:
        pieces.append(run)
    return "".join(reversed(pieces))
