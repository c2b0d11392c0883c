"""Praat TextGrid: long ("ooTextFile") and short forms, interval and point tiers.

Two layouts: one tier per speaker in one file (the tier name is the speaker), or one file per
speaker (PriMock57: ``X_doctor.TextGrid`` + ``X_patient.TextGrid``, where the tier is usually
just called ``Speaker``). Files of one encounter are merged by time; the role comes from the
file-name suffix when there is one. Tiers of phones from a forced aligner are skipped.

Each fragment keeps the line of its label in its own file: in a merged pair, the doctor's
``source_line`` points into the ``_doctor`` file and the patient's into the ``_patient`` file.
A malformed file (no header, a count or class that makes no sense, text cut short) raises
E008 with the line concerned.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CompassionError, Errors
from ..lexicon import ROLE_OF, SUFFIX_WORDS
from ..model import Role
from .base import Fragment, RawTranscript, ReaderSpec

_TOKEN = re.compile(
    r'"(?P<str>(?:[^"]|"")*)"'  # a string; "" is an escaped quote
    r"|\[\s*\d*\s*\]"  # item [1]: / intervals [3]: indices, skipped
    r"|(?P<num>(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))"
    r"|<exists>|<absent>"
)
#: file-name suffixes that name a speaker's role (``_doctor.TextGrid``)
SUFFIX = re.compile(
    rf"^(?P<stem>.+?)[_\-. ](?P<role>{'|'.join(SUFFIX_WORDS)})$", re.IGNORECASE
)
_SUFFIX_ROLES: dict[str, Role] = {word: ROLE_OF[word] for word in SUFFIX_WORDS}


#: forced-alignment tiers that are not speech turns (Montreal Forced Aligner: "Ann - phones")
_ALIGNMENT_TIER = re.compile(r"(?:^|\s-\s*)(?:phones?|phonemes?|syllables?)\s*$", re.IGNORECASE)
#: the word tier of an aligned speaker, named after the speaker ("Ann - words")
_WORDS_TIER = re.compile(r"\s+-\s*words?\s*$", re.IGNORECASE)


def looks_like_textgrid(text: str) -> bool:
    """True for Praat TextGrid text."""
    head = text[:300]
    return "ooTextFile" in head and "TextGrid" in head


def _tokens(text: str) -> list[tuple[str | float, int]]:
    out: list[tuple[str | float, int]] = []
    line, last = 1, 0
    for m in _TOKEN.finditer(text):
        line += text.count("\n", last, m.start())
        last = m.start()
        if m.group("str") is not None:
            out.append((m.group("str").replace('""', '"'), line))
        elif m.group("num") is not None:
            out.append((float(m.group("num")), line))
    return out


def parse_tiers(text: str, path: Path) -> list[tuple[str, list[Fragment]]]:
    """The tiers of one TextGrid as (tier name, fragments with times and lines)."""
    toks = _tokens(text)
    pos = 0

    def take() -> tuple[str | float, int]:
        nonlocal pos
        if pos >= len(toks):
            raise CompassionError(Errors.E008, path, format="TextGrid", detail="ends too early")
        pos += 1
        return toks[pos - 1]

    def number() -> float:
        value, line = take()
        if not isinstance(value, float):
            raise CompassionError(
                Errors.E008, path, format="TextGrid", detail=f"expected a number on line {line}"
            )
        return value

    def count() -> int:
        value, line = take()
        if not isinstance(value, float) or not 0 <= value <= len(toks) or value % 1:
            raise CompassionError(
                Errors.E008, path, format="TextGrid", detail=f"bad count on line {line}"
            )
        return int(value)

    def string() -> tuple[str, int]:
        value, line = take()
        if not isinstance(value, str):
            raise CompassionError(
                Errors.E008, path, format="TextGrid", detail=f"expected text on line {line}"
            )
        return value, line

    if len(toks) < 2 or toks[0][0] != "ooTextFile":
        raise CompassionError(Errors.E008, path, format="TextGrid", detail="no ooTextFile header")
    pos = 2  # "ooTextFile", "TextGrid"
    number(), number()  # xmin, xmax
    n_tiers = count()
    tiers: list[tuple[str, list[Fragment]]] = []
    for _ in range(n_tiers):
        kind, line = string()
        if kind not in ("IntervalTier", "TextTier"):
            raise CompassionError(
                Errors.E008, path, format="TextGrid", detail=f"unknown tier class on line {line}"
            )
        name, _line = string()
        number(), number()
        size = count()
        frags: list[Fragment] = []
        for _ in range(size):
            if kind == "IntervalTier":
                start, end = number(), number()
            else:  # TextTier: a point
                start = end = number()
            label, line = string()
            if label.strip():
                frags.append(Fragment(None, label, line, max(start, 0.0), max(end, 0.0)))
        tiers.append((name, frags))
    return tiers


def read_textgrids(paths: list[Path], texts: list[str]) -> list[RawTranscript]:
    """One encounter from one or more TextGrid files, merged by time."""
    fragments: list[Fragment] = []
    hints: dict[str, tuple[Role, float]] = {}
    for path, text in zip(paths, texts, strict=True):
        tiers = [(name, frags) for name, frags in parse_tiers(text, path)
                 if not _ALIGNMENT_TIER.search(name)]
        suffix = SUFFIX.match(path.stem)
        for tier_name, frags in tiers:
            if suffix and len(tiers) == 1:
                speaker = suffix.group("role").capitalize()
                hints[speaker] = (_SUFFIX_ROLES[suffix.group("role").lower()], 1.0)
            else:
                speaker = _WORDS_TIER.sub("", tier_name).strip() or path.stem
            for frag in frags:
                frag.speaker = speaker
            fragments.extend(frags)
    fragments.sort(key=lambda f: (f.start or 0.0, f.end or 0.0))
    return [
        RawTranscript(
            fragments,
            role_hints=hints,
            metadata={"files": [p.name for p in paths]},
        )
    ]


SPEC = ReaderSpec(
    "textgrid", (".textgrid",), lambda paths, texts: read_textgrids(list(paths), texts),
    sniff=lambda head, text: looks_like_textgrid(head), sniff_order=1, aliases=("praat",),
)
