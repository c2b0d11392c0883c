"""Plain-text transcripts with speaker prefixes.

Recognises, per line: ``Doctor: …``, ``D: …``, ``D : …``, ``PATIENT: …``, ``Speaker 1: …``,
``[doctor] …`` (ACI-Bench), ``**Name**: …`` / ``**Name:** …`` (Markdown), ``Guest_family. …``
(a known role word followed by a full stop, MTS-Dialog typo), each with an optional timestamp
before or after the label (``[00:01:23] Doctor: …``, ``00:01:23 Doctor: …``,
``Doctor (00:01:23): …``). Header lines that hold only a speaker and a time start a block whose
text follows on the next lines: Otter (``Name  0:03``), Zoom (``[Name] 11:02:09``),
TranscribeMe (``S1 00:00:01.717``), Markdown (``**Name**``). Lines without a prefix continue
the current turn (multi-line turns); blank lines are ignored.

A label must look like a name (at most five words, no sentence punctuation) and either be a
known role word, a generic speaker label, or recur as a label in the file: so that
``Note: take two a day`` inside a turn is not taken for a speaker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .base import Fragment

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_LABEL = r"[A-Za-z\u00c0-\u024f][\w\u00c0-\u024f'’.,()\- ]{0,59}?"

_HEADER_PATTERNS = (
    # Zoom new: [Name] 11:02:09
    re.compile(rf"^\[(?P<name>[^\]\n]{{1,60}})\]\s+(?P<ts>{_TS})\s*$"),
    # Otter: Name  0:03 (two or more spaces), TranscribeMe: S1 00:00:01.717
    re.compile(rf"^(?P<name>{_LABEL})\s{{2,}}(?P<ts>{_TS})\s*$"),
    re.compile(rf"^(?P<name>S\d{{1,2}}|Speaker\s*\d{{1,2}})\s+(?P<ts>{_TS})\s*$", re.I),
    # Markdown: **Name** or **Name:**, alone on its line
    re.compile(r"^\*\*(?P<name>[^*\n]{1,60}?):?\*\*:?\s*$"),
)

_INLINE_PATTERNS = (
    # [doctor] text  (ACI-Bench); optional leading timestamp
    re.compile(
        rf"^(?:[\[(]?(?P<ts>{_TS})[\])]?\s+)?\[(?P<name>[A-Za-z][\w .'-]{{0,40}})\]\s*(?P<text>.*)$"
    ),
    # **Name**: text / **Name:** text
    re.compile(
        rf"^(?:[\[(]?(?P<ts>{_TS})[\])]?\s+)?\*\*(?P<name>[^*\n]{{1,60}}?)(?::\*\*|\*\*\s*:)\s*(?P<text>.*)$"
    ),
    # Name: text, [00:01:23] Name: text, Name (00:01:23): text, Name [00:01:23] text
    re.compile(
        rf"^(?:[\[(]?(?P<ts>{_TS})[\])]?\s+)?(?P<name>{_LABEL})\s*"
        rf"(?:[\[(](?P<ts2>{_TS})[\])]\s*:?|:)\s*(?P<text>.*)$"
    ),
)
# "Guest_family. Hello" — only for a known role word
_PERIOD_PATTERN = re.compile(r"^(?P<name>[A-Za-z][\w ]{0,30}?)\.\s+(?P<text>\S.*)$")

_GENERIC = re.compile(
    r"^(?:speaker|spk|spkr|s|person|participant|caller|agent|customer|interviewer|"
    r"interviewee|respondent|unknown)[\s_-]*\d{0,3}$|^[A-Z]$",
    re.IGNORECASE,
)
_SENTENCE_PUNCT = re.compile(r"[?!;\"]|\.\s|\.$|,\s\w+\s\w+\s\w+")


def parse_time(value: str | None) -> float | None:
    """``"01:02:03.5"`` → 3723.5, ``"0:03"`` → 3.0; ``None`` for nothing or garbage."""
    if not value:
        return None
    parts = value.replace(",", ".").split(":")
    try:
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return seconds


def _plausible(name: str) -> bool:
    name = name.strip()
    if not name or len(name) > 60 or len(name.split()) > 6:
        return False
    if _SENTENCE_PUNCT.search(name.rstrip(".")):
        return False
    if name.lower().startswith(("http", "www")):
        return False
    return not name[0].isdigit()


def _known(name: str) -> bool:
    from ..roles import canonical_label, lexicon_role

    return bool(_GENERIC.match(name.strip())) or lexicon_role(name) is not None or (
        canonical_label(name) is not None
    )


@dataclass
class _Match:
    name: str
    text: str | None  # None: a header line, text follows
    ts: str | None


def _match(line: str, period_ok: bool) -> _Match | None:
    from ..roles import lexicon_role

    for pattern in _HEADER_PATTERNS:
        m = pattern.match(line)
        if m and _plausible(m.group("name")):
            return _Match(m.group("name"), None, m.group("ts") if "ts" in m.groupdict() else None)
    for pattern in _INLINE_PATTERNS:
        m = pattern.match(line)
        if m and _plausible(m.group("name")):
            groups = m.groupdict()
            ts = groups.get("ts") or groups.get("ts2")
            return _Match(m.group("name"), m.group("text"), ts)
    if period_ok:
        m = _PERIOD_PATTERN.match(line)
        if m and len(m.group("name")) >= 3 and lexicon_role(m.group("name")) is not None:
            return _Match(m.group("name"), m.group("text"), None)
    return None


def parse_lines(lines: Iterable[tuple[int, str]]) -> list[Fragment]:
    """Parse numbered lines (1-based line number, text) into fragments.

    Lines before the first speaker label become fragments with no speaker.
    """
    numbered = [(n, line.strip()) for n, line in lines]
    counts: Counter[str] = Counter()
    for _, line in numbered:
        m = _match(line, period_ok=True)
        if m:
            counts[m.name.strip().casefold()] += 1

    def accepted(m: _Match | None) -> bool:
        if m is None:
            return False
        key = m.name.strip().casefold()
        timed_header = m.text is None and m.ts is not None
        return counts[key] >= 2 or _known(m.name) or timed_header

    fragments: list[Fragment] = []
    speaker: str | None = None
    start: float | None = None
    for n, line in numbered:
        if not line:
            continue
        m = _match(line, period_ok=True)
        if accepted(m):
            assert m is not None
            speaker = m.name.strip()
            start = parse_time(m.ts)
            if m.text is not None and m.text.strip():
                fragments.append(Fragment(speaker, m.text, n, start))
            elif m.text is not None:
                fragments.append(Fragment(speaker, "", n, start))
            continue
        fragments.append(Fragment(speaker, line, n, start))
    return fragments


def looks_like_text_transcript(text: str) -> bool:
    """True when at least two lines carry an accepted speaker prefix."""
    lines = list(enumerate(text.splitlines()[:400], 1))
    fragments = parse_lines(lines)
    return sum(1 for f in fragments if f.speaker is not None) >= 2
