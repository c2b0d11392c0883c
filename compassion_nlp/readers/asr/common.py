"""What the speech-to-text readers share: words, grouping into fragments, checked fields."""


from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import CompassionError, Errors
from ..base import Fragment

#: a silence longer than this (seconds) between two words starts a new fragment
PAUSE_S = 2.0

SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")
#: languages written without spaces between words (whisper word lists are joined with "")
NO_SPACE_LANGUAGES = frozenset(
    {"zh", "ja", "th", "lo", "my", "km", "bo", "yue", "chinese", "japanese", "thai",
     "lao", "burmese", "khmer", "tibetan", "cantonese"}
)


@dataclass
class Word:
    """One timed word (punctuation attached) of a given speaker."""

    text: str
    start: float | None
    end: float | None
    speaker: str | None


class Vendor:
    """Raises E008 for one vendor's JSON, naming the place."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path

    def fail(self, where: str, problem: str) -> CompassionError:
        """The coded error for a broken place (``where``) of the file."""
        return CompassionError(
            Errors.E008, self.path, format=f"{self.name} JSON", detail=f"{where}: {problem}"
        )

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` as a JSON object, or E008."""
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def array(self, value: Any, where: str, *, optional: bool = False) -> list[Any]:
        """``value`` as a JSON array (``None`` → ``[]`` when ``optional``), or E008."""
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "expected an array")
        return value

    def text(self, value: Any, where: str, *, optional: bool = False) -> str:
        """``value`` as text (numbers are written out), or E008."""
        if value is None and optional:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.fail(where, "expected text")

    def time(self, value: Any, where: str, *, scale: float = 1.0) -> float | None:
        """A time in seconds from a number or numeric string (``None`` when absent)."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self.fail(where, "expected a time in seconds")
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = float(value)
            except ValueError:
                from ..text import parse_time

                parsed = parse_time(value.strip())
                if parsed is None:
                    raise self.fail(where, "expected a time in seconds") from None
                seconds = parsed
        else:
            raise self.fail(where, "expected a time in seconds")
        if not math.isfinite(seconds):
            return None
        return seconds / scale


def label_of(value: Any) -> str | None:
    """A speaker value as text; ``None`` for nothing."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def ends_sentence(text: str) -> bool:
    return bool(SENTENCE_END.search(text))


def group_words(words: Iterable[Word], joiner: str = " ") -> list[Fragment]:
    """Cut timed words into fragments: at speaker changes, sentence ends and long pauses."""
    fragments: list[Fragment] = []
    run: list[Word] = []

    def flush() -> None:
        if not run:
            return
        text = joiner.join(w.text.strip() for w in run if w.text.strip())
        starts = [w.start for w in run if w.start is not None]
        ends = [w.end for w in run if w.end is not None]
        fragments.append(
            Fragment(run[0].speaker, text, None, starts[0] if starts else None,
                     ends[-1] if ends else None)
        )
        run.clear()

    for word in words:
        if run:
            prev = run[-1]
            pause = (
                word.start - prev.end
                if word.start is not None and prev.end is not None
                else 0.0
            )
            if word.speaker != prev.speaker or pause > PAUSE_S or ends_sentence(prev.text):
                flush()
        run.append(word)
    flush()
    return fragments


def spelled(text: str, words: list[Word], joiner: str) -> bool:
    """Whether the words, joined, spell exactly ``text`` (whitespace aside)."""
    if joiner:
        return " ".join(text.split()) == joiner.join(
            w.text.strip() for w in words if w.text.strip()
        )
    return "".join(text.split()) == "".join("".join(w.text.split()) for w in words)


def unit_fragments(
    speaker: str | None,
    text: str,
    start: float | None,
    end: float | None,
    words: list[Word],
    joiner: str = " ",
) -> list[Fragment]:
    """Fragments of one segment/utterance: sentence-cut by its words when they spell its
    text, else the whole text as one fragment."""
    if words and spelled(text, words, joiner):
        for word in words:
            word.speaker = speaker
        fragments = group_words(words, joiner)
        if fragments[0].start is None:
            fragments[0].start = start
        if fragments[-1].end is None:
            fragments[-1].end = end
        return fragments
    return [Fragment(speaker, text, None, start, end)]


def merge_by_time(streams: list[list[Word]]) -> list[Word]:
    """Words of several channels in time order (stable: a channel's order is kept)."""
    if len(streams) == 1:
        return streams[0]
    keyed: list[tuple[float, int, int, Word]] = []
    for index, stream in enumerate(streams):
        last = 0.0
        for position, word in enumerate(stream):
            if word.start is not None:
                last = word.start
            keyed.append((last, index, position, word))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]
