"""Plain-text transcripts with speaker prefixes.

Recognises, per line: ``Doctor: …``, ``D: …``, ``D : …``, ``PATIENT: …``, ``Speaker 1: …``,
``Dr. Smith: …``, ``[doctor] …`` (ACI-Bench), ``**Name**: …`` / ``**Name:** …`` (Markdown),
``Guest_family. …`` (a role word followed by a full stop, an MTS-Dialog typo: accepted only
when the same label is written as a label elsewhere in the file), each with an optional
timestamp before or after the label (``[00:01:23] Doctor: …``, ``00:01:23 Doctor: …``,
``Doctor (00:01:23): …``). Header lines that hold only a speaker and a time start a block whose
text follows on the next lines: Otter (``Name  0:03``), Zoom (``[Name] 11:02:09``),
TranscribeMe (``S1 00:00:01.717``), Markdown (``**Name**``). A line holding only a time
(``[00:01:23]``) times what follows. Lines without a prefix continue the current turn
(multi-line turns); blank lines, byte-order marks and zero-width characters are ignored.

A label must look like a name (at most five words, no sentence punctuation) and either be a
known role word, a generic speaker label, or recur as a label in the file: so that
``Note: take two a day`` inside a turn is not taken for a speaker.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import CompassionError, Errors
from ..lexicon import GENERIC_LABEL, canonical_label, lexicon_role
from .base import Fragment, RawTranscript, ReaderSpec

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
#: a time that starts a chat-export line: ``10:01``, ``[10:00:01]``, ``2024-03-12 10:00:01``,
#: ``12/03/2024, 10:00``, ``10:00 AM``
_LEAD = (
    rf"[\[(]?(?P<date>\d{{4}}-\d{{2}}-\d{{2}}[ T]|\d{{1,2}}/\d{{1,2}}/\d{{2,4}},? )?(?P<ts>{_TS})"
    rf"(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?[\])]?\s+"
)
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
    # **Name** [0:00] text (Otter's Markdown export)
    re.compile(rf"^\*\*(?P<name>[^*\n]{{1,60}}?)\*\*\s+[\[(](?P<ts>{_TS})[\])]\s*(?P<text>.*)$"),
    # Name: text, [00:01:23] Name: text, 10:01<tab>Name: text (chat exports),
    # Name (00:01:23): text, Name [00:01:23] text
    re.compile(
        rf"^(?:{_LEAD})?(?P<name>{_LABEL})\s*"
        rf"(?:[\[(](?P<ts2>{_TS})[\])]\s*:?|:)\s*(?P<text>.*)$"
    ),
)
# "Guest_family. Hello" — only for a known role word
_PERIOD_PATTERN = re.compile(r"^(?P<name>[A-Za-z][\w ]{0,30}?)\.\s+(?P<text>\S.*)$")

_SENTENCE_PUNCT = re.compile(r"[?!;\"]|\.\s|\.$|,\s\w+\s\w+\s\w+")
#: titles whose full stop is not the end of a sentence (``Dr. Smith:``)
_ABBREVIATION = re.compile(r"\b(?:dr|mr|mrs|ms|mx|prof|st|jr|sr|rev|sgt|capt)\.", re.IGNORECASE)
#: a line that holds only a time (``[00:01:23]``, ``00:01:23``): it times the lines after it
_TIME_LINE = re.compile(rf"^[\[(]?(?P<ts>{_TS})[\])]?$")
_INVISIBLE = re.compile(r"[\ufeff\u200b-\u200d\u2060]")


def parse_time(value: str | None) -> float | None:
    """``"01:02:03.5"`` → 3723.5, ``"0:03"`` → 3.0; ``None`` for nothing, garbage or infinity."""
    if not value:
        return None
    parts = value.replace(",", ".").split(":")
    try:
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def _plausible(name: str) -> bool:
    name = name.strip()
    if not name or len(name) > 60 or len(name.split()) > 6:
        return False
    if _SENTENCE_PUNCT.search(_ABBREVIATION.sub("X", name).rstrip(".")):
        return False
    if name.lower().startswith(("http", "www")):
        return False
    return not name[0].isdigit()


@lru_cache(maxsize=4096)
def _known(name: str) -> bool:
    """A generic speaker label (``Speaker 1``, ``A``) or a role word, typos included."""
    name = name.strip()
    # a generic label, or a single letter (``A:``, ``B:``)
    return bool(GENERIC_LABEL.match(name)) or (len(name) == 1 and name.isalpha()) or (
        lexicon_role(name) is not None) or (
        canonical_label(name) is not None
    )


@dataclass
class _Match:
    name: str
    text: str | None  # None: a header line, text follows
    ts: str | None
    period: bool = False  # "Guest_family. Hello": a role word and a full stop
    lead: bool = False  # the line starts with its time: "10:01<tab>Bob: hi" (a chat export)
    clock: str = ""  # "am"/"pm" after the time, or "date" before it: a time of day

    @property
    def key(self) -> str:
        return self.name.strip().casefold()


def _match(line: str) -> _Match | None:
    for pattern in _HEADER_PATTERNS:
        m = pattern.match(line)
        if m and _plausible(m.group("name")):
            return _Match(m.group("name"), None, m.groupdict().get("ts"))
    for pattern in _INLINE_PATTERNS:
        m = pattern.match(line)
        if m and _plausible(m.group("name")):
            groups = m.groupdict()
            ts = groups.get("ts") or groups.get("ts2")
            ampm = (groups.get("ampm") or "").lower()[:1]
            clock = {"a": "am", "p": "pm"}.get(ampm, "date" if groups.get("date") else "")
            return _Match(m.group("name"), m.group("text"), ts, lead=bool(groups.get("ts")),
                          clock=clock)
    m = _PERIOD_PATTERN.match(line)
    if m and len(m.group("name")) >= 3:
        return _Match(m.group("name"), m.group("text"), None, period=True)
    return None


def parse_lines(lines: Iterable[tuple[int, str]]) -> list[Fragment]:
    """Parse numbered lines (1-based line number, text) into fragments.

    A line is a speaker's when its label is a role word or generic label, recurs as a label
    in the file, heads a timed block (Otter, Zoom, TranscribeMe), or follows a leading time in
    a file of such lines (chat exports: ``10:01<tab>Bob: hi``). A ``Label. text`` line
    counts only when ``Label`` is a role word also written as ``Label:`` elsewhere. Lines
    before the first speaker label become fragments with no speaker; a line holding only a
    time sets the start of the lines after it.
    """
    numbered = [(n, _INVISIBLE.sub("", line).strip()) for n, line in lines]
    matches = [_match(line) if line else None for _, line in numbered]
    counts: Counter[str] = Counter(m.key for m in matches if m is not None and not m.period)
    # a chat export: most labelled lines start with their time
    chat = sum(1 for m in matches if m is not None and m.lead) >= max(
        2, sum(1 for m in matches if m is not None) // 2
    )

    def accepted(m: _Match | None) -> bool:
        if m is None:
            return False
        if m.period:
            return counts[m.key] >= 1 and _known(m.name)
        if m.text is None and m.ts is not None and m.name[:1].isupper():
            return True  # a timed header line: "[Name] 11:02:09", "Name  0:03"
        if chat and m.lead:
            return True  # "10:01<tab>Bob: hi" among lines of that shape
        return counts[m.key] >= 2 or _known(m.name)

    fragments: list[Fragment] = []
    speaker: str | None = None
    start: float | None = None
    timed = False  # a time-only line came since the last speaker label
    for (n, line), m in zip(numbered, matches, strict=True):
        if not line:
            continue
        if accepted(m):
            assert m is not None
            speaker = m.name.strip()
            start = _clock(m) if m.ts or not timed else start
            timed = False
            if m.text is not None:
                fragments.append(Fragment(speaker, m.text, n, start))
            continue
        time_only = _TIME_LINE.match(line)
        if time_only:
            start, timed = parse_time(time_only.group("ts")), True
            continue
        fragments.append(Fragment(speaker, line, n, start))
    return fragments


def _clock(m: _Match) -> float | None:
    """The seconds of a match's time. A time of day (after a date, or with AM/PM) written
    ``10:01`` is hours and minutes, and PM moves it to the afternoon; otherwise ``10:01`` is
    minutes and seconds into the recording."""
    seconds = parse_time(m.ts)
    if seconds is None or not m.clock or m.ts is None:
        return seconds
    if m.ts.count(":") == 1:
        seconds *= 60
    if m.clock == "pm" and seconds < 12 * 3600:
        seconds += 12 * 3600
    return seconds


def _parse(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    """A speaker-prefixed text transcript; E005 (E004 for an unknown extension) when no line
    starts with a speaker label."""
    from . import EXTENSIONS, FORMATS

    path = paths[0]
    fragments = parse_lines(list(enumerate(texts[0].split("\n"), 1)))
    if not any(f.speaker for f in fragments):
        if path.suffix.lower() not in EXTENSIONS:
            raise CompassionError(
                Errors.E004, path, formats=", ".join(FORMATS),
                detail=f"unknown extension '{path.suffix or '(none)'}', and the text has "
                "no speaker labels",
            )
        first = texts[0].lstrip().split("\n", 1)[0]
        hint = (": the lines hold tab-separated columns; if it is a table of turns with a "
                "header, read it with --format csv") if first.count("\t") >= 1 else ""
        raise CompassionError(
            Errors.E005, path, detail=f"no line starts with a speaker label{hint}"
        )
    return [RawTranscript(fragments)]


def parse_single_speaker(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    """Text with no speaker label at all as the talk of one ``UNKNOWN`` speaker (asked for with
    ``--single-speaker``: a speakerless dictation or export); text with labels reads as usual."""
    fragments = parse_lines(list(enumerate(texts[0].split("\n"), 1)))
    return [RawTranscript(fragments, metadata={"single_speaker": True})]


SPEC = ReaderSpec("text", (".txt", ".md", ".text"), _parse, extension_decides=False,
                  aliases=("txt", "md"))
