"""Transcriber (``.trs``): XML with speakers, turns and synchronisation points.

``<Speakers>`` names each speaker id; ``<Turn speaker="spk1" startTime=… endTime=…>`` holds the
text, cut by ``<Sync time=…/>`` points into timed fragments. A turn of two speakers
(``speaker="spk1 spk2"``) marks who talks with ``<Who nb="1"/>``. ``<Event>`` elements (noise,
laughter, pronunciation notes) become flags in the turn, ``<Comment>`` elements are dropped.
The XML is read by expat with entity declarations refused (nothing is expanded or fetched).
"""

from __future__ import annotations

from pathlib import Path
from xml.parsers import expat

from ..errors import CompassionError, Errors
from .base import Fragment, RawTranscript, ReaderSpec, check_xml


def looks_like_trs(head: str, text: str) -> bool:
    """True for Transcriber XML: a ``Trans`` root with turns."""
    return "<Trans" in text[:3000] and "<Turn" in text


class _Reader:
    """expat callbacks that collect one fragment per stretch between sync points."""

    def __init__(self, parser: expat.XMLParserType):
        self.parser = parser
        self.names: dict[str, str] = {}
        self.fragments: list[Fragment] = []
        self.turn_speakers: list[str] = []
        self.speaker: str | None = None
        self.start: float | None = None
        self.end: float | None = None
        self.line: int | None = None
        self.text: list[str] = []
        self.turns = 0  # the number of the current turn
        self.turn_of: list[int] = []  # the turn of each fragment

    def flush(self) -> None:
        text = " ".join("".join(self.text).split())
        if text and self.speaker is not None:
            self.fragments.append(Fragment(self.names.get(self.speaker, self.speaker), text,
                                           self.line, self.start, self.end))
            self.turn_of.append(self.turns)
        self.text = []
        self.line = None

    def start_element(self, name: str, attrs: dict[str, str]) -> None:
        if name == "Speaker":
            self.names[attrs.get("id", "")] = attrs.get("name") or attrs.get("id", "")
        elif name == "Turn":
            self.flush()
            self.turns += 1
            self.turn_speakers = attrs.get("speaker", "").split()
            self.speaker = self.turn_speakers[0] if self.turn_speakers else None
            self.start, self.end = _time(attrs.get("startTime")), _time(attrs.get("endTime"))
        elif name == "Sync":
            self.flush()
            self.start = _time(attrs.get("time"))
        elif name == "Who":
            self.flush()
            nb = attrs.get("nb", "1")
            if nb.isdigit() and 0 < int(nb) <= len(self.turn_speakers):
                self.speaker = self.turn_speakers[int(nb) - 1]
        elif name == "Event":
            # a note the shared markup cleaner counts: [laughter], [noise]…
            self.text.append(f" [{attrs.get('desc', attrs.get('type', 'event'))}] ")

    def end_element(self, name: str) -> None:
        if name == "Turn":
            self.flush()
            self.speaker = None

    def characters(self, data: str) -> None:
        if self.speaker is None:
            return
        if self.line is None and data.strip():
            self.line = self.parser.CurrentLineNumber
        self.text.append(data)


def _time(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _refuse_entities(*args: object) -> None:
    raise ValueError("entity declaration")


def parse_trs(text: str, path: Path) -> RawTranscript:
    """One Transcriber file: a fragment per synchronised stretch of each turn."""
    check_xml(text, path, "Transcriber")
    parser = expat.ParserCreate()
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start_element
    parser.EndElementHandler = reader.end_element
    parser.CharacterDataHandler = reader.characters
    parser.EntityDeclHandler = _refuse_entities
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(text.lstrip("\ufeff"), True)
    except (expat.ExpatError, ValueError) as exc:
        line = getattr(exc, "lineno", parser.CurrentLineNumber)
        raise CompassionError(Errors.E008, path, format="Transcriber",
                              detail=f"not well-formed XML at line {line}") from None
    reader.flush()
    # a stretch ends where the next one of its turn starts
    frags = reader.fragments
    for i in range(len(frags) - 1):
        nxt = frags[i + 1].start
        if reader.turn_of[i] == reader.turn_of[i + 1] and nxt is not None and (
                frags[i].start is None or nxt > frags[i].start):
            frags[i].end = nxt
    return RawTranscript(reader.fragments, metadata={"speakers": len(reader.names)})


def _parse(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    return [parse_trs(texts[0], paths[0])]


SPEC = ReaderSpec("trs", (".trs",), _parse, sniff=looks_like_trs, sniff_order=1,
                  aliases=("transcriber",))
