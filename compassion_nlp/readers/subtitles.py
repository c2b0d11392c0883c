"""WebVTT and SRT subtitles: Teams, Zoom, Stream/OneDrive, YouTube and hand-made captions.

Both formats go through one lenient line scanner. A *cue* is a timing line
(``START --> END``, optional cue settings after it) and the text lines that follow it up to
the next blank line. What is read:

* ``WEBVTT`` and the header block after it (header text, ``Kind:``/``Language:``/``Style:``
  lines) are skipped; ``NOTE``, ``STYLE`` and ``REGION`` blocks are skipped (counted in the
  metadata); a UTF-8 BOM is ignored.
* Cue identifiers (numbers, GUIDs, ``guid/19-0``, any text line straight before the timing
  line at the start of a block) are skipped; SRT cue numbers may be missing.
* Timestamps: ``HH:MM:SS.mmm``, ``MM:SS.mmm``, ``,`` or ``.`` before the fraction in both
  formats (so ``invalid_timeframe.srt``, whose cue 2 mixes them, reads fine), un-padded legacy
  Teams times (``0:0:10.20``: when a field is un-padded, a fraction of fewer than three digits
  counts milliseconds, as Teams wrote it, so ``10.20`` is 10.020 s). A timestamp with a
  negative field (``0:0:-6.-820``) is clamped to 0 with warning W001; an end before its start
  becomes the start (W005). A timing line whose times cannot be read at all raises E008
  naming the line and cue: the cue boundaries of such a file cannot be trusted (a ``-->``
  inside cue text, below the timing line and not starting with a time, is text).
* Speakers: Teams voice tags ``<v Surname, Given>…</v>`` (several per cue allowed; names are
  kept as written, commas and ``(Student)`` included); otherwise ``Name: text`` prefixes
  (Zoom) when the name is a role word (``Doctor:``, ``Speaker 1:``), or when names that
  start at least two cues make up at least a third of the file's cues (a Zoom file) and
  this one also starts two cues or is one to four capitalised words (``Ringo Starr:``, who
  speaks once). Cues with no speaker are
  kept with speaker ``None`` (:func:`~.base.build` files them under ``UNKNOWN``, W002).
* ``- `` dash lines (two speakers in one cue) become separate fragments, dash removed.
* Inline karaoke timestamps (``<00:17.500>``) are removed; other tags (``<c.class>``, ``<b>``)
  are left to :func:`compassion_nlp.markup.clean`.
* Text lines after a blank line that carry no timing line (a payload split by a blank line)
  are kept with the cue before them, never dropped. Cues without text are counted in the
  metadata (``empty_cues``) and give no fragment.

Each :class:`~.base.Fragment` carries the 1-based line of its first text line and the cue's
start and end in seconds. A file with no cue (header only) raises E020.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CompassionError, Errors, Warnings, warn
from ..lexicon import GENERIC_LABEL, lexicon_role
from .base import Fragment, RawTranscript, ReaderSpec

_SRT_HEAD = re.compile(r"^\s*\d+\s*\n\s*\d{1,2}:\d{1,2}:\d{1,2}[,.]\d+\s*-->", re.MULTILINE)

_TIMING = re.compile(r"^\s*(?P<start>[^\s>]+?)\s*-->\s*(?P<end>[^\s]+)(?:\s.*)?$")
_TIMESTAMP = re.compile(
    r"^(?:(?P<h>-?\d+):)?(?P<m>-?\d+):(?P<s>-?\d+)(?:[.,](?P<f>-?\d+))?$"
)
_TIME_START = re.compile(r"^\s*-?\d+:")
_INLINE_TS = re.compile(r"<\s*\d{1,3}(?::\d{1,2}){1,2}(?:[.,]\d{1,3})?\s*>")
_VOICE = re.compile(r"<v(?:\.[\w.-]*)?(?:\s+(?P<name>[^>]*))?>|</v\s*>", re.IGNORECASE)
_BLOCK_KEYWORD = re.compile(r"^(?:NOTE|STYLE|REGION)(?:\s|$)")
_CUE_ID = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"(?:/\d+-\d+|-\d+)?)$"
)
_DASH = re.compile(r"^[-\u2013\u2014]\s+")
_PREFIX = re.compile(r"^(?P<name>[^\W\d_][^:<>\n]{0,59}?)\s*:(?:\s+(?P<text>.*)|$)")
_NOT_A_NAME = re.compile(r"[?!;\"{}\[\]]|https?|www\.")
_PARTICLES = frozenset({"de", "da", "del", "della", "der", "di", "du", "la", "le", "van", "von",
                        "bin", "binti", "al", "el", "y", "e", "dos", "das", "ter", "ten"})
#: share of text cues that must carry a recurring ``Name:`` prefix for names to be accepted
_PREFIX_SHARE = 1 / 3


def looks_like_srt(head: str) -> bool:
    """True when the text starts like an SRT file (a cue number, then a time range)."""
    return bool(_SRT_HEAD.match(head))


@dataclass
class _Cue:
    """One cue as scanned: its number in the file, times and text lines."""

    number: int
    start: float | None
    end: float | None
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Segment:
    """A piece of one cue spoken by one voice (before ``Name:`` prefixes are resolved)."""

    voice: str | None
    has_voice: bool
    line: int
    parts: list[str]
    start: float | None
    end: float | None


class _Times:
    """Timestamp parsing that records clamped and reversed times for the warnings."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        self.clamped: list[str] = []
        self.reversed: list[str] = []

    def seconds(self, value: str, where: str, line: int, cue: int) -> float:
        m = _TIMESTAMP.match(value.strip())
        if m is None:
            raise CompassionError(
                Errors.E008, self.path, format=self.label,
                detail=f"cue {cue} at line {line}: the {where} time cannot be read",
            )
        fields = [m.group("h"), m.group("m"), m.group("s")]
        frac = m.group("f")
        if any(f is not None and f.startswith("-") for f in [*fields, frac]):
            self.clamped.append(f"cue {cue} line {line}")
            return 0.0
        hours, minutes, secs = (int(f) if f is not None else 0 for f in fields)
        seconds = float(hours * 3600 + minutes * 60 + secs)
        if frac:
            unpadded = any(f is not None and len(f) < 2 for f in fields)
            seconds += int(frac) / 1000 if unpadded and len(frac) < 3 else float("0." + frac)
        return round(seconds, 6)

    def timing(self, text: str, line: int, cue: int) -> tuple[float, float]:
        m = _TIMING.match(text)
        if m is None:
            raise CompassionError(
                Errors.E008, self.path, format=self.label,
                detail=f"cue {cue} at line {line}: expected 'START --> END'",
            )
        start = self.seconds(m.group("start"), "start", line, cue)
        end = self.seconds(m.group("end"), "end", line, cue)
        if end < start:
            self.reversed.append(f"cue {cue} line {line}")
            end = start
        return start, end

    def warnings(self) -> list[str]:
        out: list[str] = []
        if self.clamped:
            out.append(warn(Warnings.W001, self.path, n=len(self.clamped),
                            where=_places(self.clamped)))
        if self.reversed:
            out.append(warn(Warnings.W005, self.path, n=len(self.reversed)))
        return out


def _places(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", and {len(items) - limit} more" if len(items) > limit else "")


def _scan(path: Path, text: str, kind: str) -> tuple[list[_Cue], dict[str, int], _Times]:
    """Split subtitle text into cues (header, notes, styles and identifiers skipped)."""
    label = "WebVTT" if kind == "vtt" else "SRT"
    times = _Times(path, label)
    lines = text.lstrip("\ufeff").split("\n")
    counts = {"notes": 0, "styles": 0, "regions": 0, "loose_text_lines": 0}
    i = 0
    if lines and lines[0].lstrip().startswith("WEBVTT"):
        # header: the signature line and what follows it up to the first blank line
        i = 1
        while i < len(lines) and lines[i].strip() and "-->" not in lines[i]:
            i += 1
    # blocks of consecutive non-blank lines, with 1-based line numbers
    blocks: list[list[tuple[int, str]]] = []
    block: list[tuple[int, str]] = []
    for n in range(i, len(lines)):
        line = lines[n].rstrip()
        if line.strip():
            block.append((n + 1, line))
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)

    cues: list[_Cue] = []
    loose: list[tuple[int, str]] = []  # text before the first cue

    def add_text(items: list[tuple[int, str]], payload: bool = False) -> None:
        """Give text lines to the cue before them (``payload``: they follow its timing)."""
        if not items:
            return
        if not payload:
            counts["loose_text_lines"] += len(items)
        if cues:
            cues[-1].lines.extend(items)
        else:
            loose.extend(items)

    for block in blocks:
        # a "-->" line is a timing line at the head of a block or when it starts with a time;
        # an arrow inside cue text further down is text
        timings = [
            k for k, (_, line) in enumerate(block)
            if "-->" in line and (k <= 1 or _TIME_START.match(line))
        ]
        first = block[0][1].strip()
        if kind == "vtt" and _BLOCK_KEYWORD.match(first) and (not timings or timings[0] != 1):
            keyword = first.split(None, 1)[0]
            counts[{"NOTE": "notes", "STYLE": "styles", "REGION": "regions"}[keyword]] += 1
            continue
        if not timings:
            add_text(block)
            continue
        previous = 0
        for index, k in enumerate(timings):
            # the line straight before a timing line is its identifier when it opens the block,
            # or when it looks like one (a number, a GUID); otherwise it is text
            id_line = k >= 1 and (
                (index == 0 and k == 1) or bool(_CUE_ID.match(block[k - 1][1].strip()))
            )
            add_text(block[previous : k - 1 if id_line else k], payload=index > 0)
            line_no, timing_text = block[k]
            number = len(cues) + 1
            start, end = times.timing(timing_text, line_no, number)
            cues.append(_Cue(number, start, end))
            previous = k + 1
        add_text(block[previous:], payload=True)
    if loose:
        cues.insert(0, _Cue(0, None, None, loose))
    return cues, counts, times


def _segments(cue: _Cue) -> list[_Segment]:
    """Split a cue's text by voice tags and dash lines."""
    segments: list[_Segment] = []
    voice: str | None = None
    has_voice = False
    current: _Segment | None = None

    def new(line: int) -> _Segment:
        seg = _Segment(voice, has_voice, line, [], cue.start, cue.end)
        segments.append(seg)
        return seg

    for line_no, raw in cue.lines:
        text = _INLINE_TS.sub("", raw).strip()
        dash = _DASH.match(text)
        if dash:
            text = text[dash.end() :]
            current = None
        pos = 0
        for m in _VOICE.finditer(text):
            before = text[pos : m.start()]
            if before.strip():
                current = current or new(line_no)
                current.parts.append(before)
            pos = m.end()
            if m.group(0).startswith("</"):
                voice, current = None, None
            else:
                name = html.unescape(m.group("name") or "").strip()
                voice, has_voice, current = name or None, True, None
        rest = text[pos:]
        if rest.strip():
            current = current or new(line_no)
            current.parts.append(rest)
    return segments


def _known(name: str) -> bool:
    return bool(GENERIC_LABEL.match(name)) or lexicon_role(name) is not None


def _name_like(name: str) -> bool:
    """``Ringo Starr``, ``Mary van Dyke``: one to four capitalised words (particles allowed)."""
    words = name.split()
    return 0 < len(words) <= 4 and all(
        w[0].isupper() or w.casefold() in _PARTICLES for w in words
    )


def _prefix(text: str) -> tuple[str, str] | None:
    """``("Andrew Knight", "Okay, so…")`` for ``"Andrew Knight: Okay, so…"``."""
    m = _PREFIX.match(text.strip())
    if m is None:
        return None
    name = m.group("name").strip()
    if len(name.split()) > 6 or _NOT_A_NAME.search(name):
        return None
    return name, m.group("text") or ""


def _fragments(cues: list[_Cue]) -> tuple[list[Fragment], int, str]:
    """Fragments of all cues; the number of cues without text; where speakers came from."""
    segmented = [(cue, _segments(cue)) for cue in cues]
    empty = sum(1 for cue, segs in segmented if cue.number and not segs)
    # Name: prefixes, counted over the segments without a voice tag
    counts: dict[str, int] = {}
    named = 0
    plain = 0
    for _, segs in segmented:
        for seg in segs:
            if seg.has_voice:
                continue
            plain += 1
            found = _prefix(seg.parts[0])
            if found:
                key = found[0].casefold()
                counts[key] = counts.get(key, 0) + 1
    for _, segs in segmented:
        for seg in segs:
            found = None if seg.has_voice else _prefix(seg.parts[0])
            if found and counts[found[0].casefold()] >= 2:
                named += 1
    share_ok = plain > 0 and named / plain >= _PREFIX_SHARE

    def accepted(name: str) -> bool:
        if _known(name):
            return True
        return share_ok and (counts.get(name.casefold(), 0) >= 2 or _name_like(name))

    fragments: list[Fragment] = []
    sources: set[str] = set()
    for _, segs in segmented:
        for seg in segs:
            speaker = seg.voice
            parts = list(seg.parts)
            if seg.has_voice:
                if speaker:
                    sources.add("voice tags")
            else:
                found = _prefix(parts[0])
                if found and accepted(found[0]):
                    speaker, parts[0] = found[0], found[1]
                    sources.add("name prefixes")
            fragments.append(Fragment(speaker, "\n".join(parts), seg.line, seg.start, seg.end))
    return fragments, empty, " and ".join(sorted(sources)) or "none"


def _read(path: Path, text: str, kind: str) -> list[RawTranscript]:
    label = "WebVTT" if kind == "vtt" else "SRT"
    if not text.lstrip("\ufeff").strip():
        raise CompassionError(Errors.E002, path)
    cues, counts, times = _scan(path, text, kind)
    timed = [cue for cue in cues if cue.number]
    if not timed:
        detail = "only a WEBVTT header" if text.lstrip("\ufeff").startswith("WEBVTT") else (
            "no 'START --> END' timing line"
        )
        raise CompassionError(Errors.E020, path, format=label, detail=detail)
    fragments, empty, speakers = _fragments(cues)
    if not fragments:
        raise CompassionError(
            Errors.E020, path, format=label, detail=f"{len(timed)} cue(s), none with text"
        )
    metadata: dict[str, object] = {
        "subtitle": kind,
        "cues": len(timed),
        "empty_cues": empty,
        "speakers_from": speakers,
    }
    metadata.update({k: v for k, v in counts.items() if v})
    return [RawTranscript(fragments, metadata=metadata, warnings=times.warnings())]


def read_vtt(path: Path, text: str) -> list[RawTranscript]:
    """Parse a WebVTT file (Teams, Zoom, Stream, YouTube…) into one raw transcript.

    Args:
        path: the file (named in messages).
        text: its decoded text (``\\n`` line endings).

    Raises:
        CompassionError: E002 for no text, E020 when there is no cue with text, E008 for a
            timing line whose times cannot be read.
    """
    return _read(path, text, "vtt")


def read_srt(path: Path, text: str) -> list[RawTranscript]:
    """Parse an SRT file into one raw transcript (same rules as :func:`read_vtt`).

    Raises:
        CompassionError: E002 for no text, E020 when there is no cue with text, E008 for a
            timing line whose times cannot be read.
    """
    return _read(path, text, "srt")


VTT_SPEC = ReaderSpec(
    "vtt", (".vtt",), lambda paths, texts: read_vtt(paths[0], texts[0]),
    sniff=lambda head, text: head.startswith("WEBVTT"), sniff_order=0, aliases=("webvtt",),
)
SRT_SPEC = ReaderSpec(
    "srt", (".srt",), lambda paths, texts: read_srt(paths[0], texts[0]),
    sniff=lambda head, text: looks_like_srt(head), sniff_order=3,
)
