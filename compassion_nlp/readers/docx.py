"""Word ``.docx`` transcripts, read with :mod:`zipfile` and :mod:`xml.etree` only.

The body of ``word/document.xml`` is read in document order. Each paragraph becomes a line
(soft line breaks inside a paragraph become separate lines with the same number) and the lines
are parsed like a plain-text transcript (:func:`.text.parse_lines`): ``Name: text``,
``Name (00:01:23): text``, ``[00:01:23] Name: text``, Otter/Teams ``Name  0:03`` headers with
the text in the next paragraph, and so on.

Tables of turns (each row: a speaker cell and a text cell, optionally a time cell, an optional
``Speaker | Text`` header row) are read as ``Speaker (time): text`` lines; other tables are read
cell by cell as ordinary paragraphs.

``source_line`` is the 1-based number of the paragraph in the document, counting body
paragraphs and table-cell paragraphs in document order (a table row counts from its first
paragraph). Deleted tracked changes, field codes and the fallback copies of text boxes are left
out; headers, footers, footnotes and comments are not read.

Safety: the file must be a zip holding ``word/document.xml``; at most
:data:`MAX_XML_BYTES` of that part are decompressed, and XML with a DTD is refused (no entity
expansion). Anything else wrong raises E015 naming the file.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree as ET

from ..errors import CompassionError, Errors
from .base import RawTranscript, ReaderSpec
from .text import parse_lines

#: The most bytes of ``word/document.xml`` decompressed (a zip bomb stops here).
MAX_XML_BYTES = 50_000_000

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_TIME = re.compile(r"^\[?\(?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?\)?\]?$")
_HEADER_WORDS = frozenset({
    "speaker", "name", "who", "participant", "role", "text", "utterance", "transcript",
    "content", "dialogue", "time", "timestamp", "start", "said", "speech",
})


def _load_xml(path: Path) -> bytes:
    """The bytes of ``word/document.xml``, checked and capped."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo("word/document.xml")
            except KeyError:
                raise CompassionError(
                    Errors.E015, path, detail="no word/document.xml: not a Word document"
                ) from None
            if info.file_size > MAX_XML_BYTES:
                raise CompassionError(
                    Errors.E015, path,
                    detail=f"word/document.xml is over {MAX_XML_BYTES // 1_000_000} MB",
                )
            with archive.open(info) as handle:
                data = handle.read(MAX_XML_BYTES + 1)
    except CompassionError:
        raise
    except zipfile.BadZipFile:
        raise CompassionError(
            Errors.E015, path, detail="not a valid zip archive; save it again as .docx"
        ) from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, unknown compression
        raise CompassionError(Errors.E015, path, detail=type(exc).__name__) from None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise CompassionError(
            Errors.E015, path, detail=f"damaged archive ({type(exc).__name__})"
        ) from None
    if len(data) > MAX_XML_BYTES:
        raise CompassionError(
            Errors.E015, path, detail=f"word/document.xml is over {MAX_XML_BYTES // 1_000_000} MB"
        )
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise CompassionError(Errors.E015, path, detail="word/document.xml declares a DTD")
    return data


def _paragraph_lines(paragraph: ET.Element) -> list[str]:
    """The text of a paragraph, split at soft line breaks."""
    lines = [""]

    def walk(node: ET.Element) -> None:
        for child in node:
            tag = child.tag
            if tag == _MC_FALLBACK:
                continue
            if tag == f"{_W}t":
                lines[-1] += child.text or ""
            elif tag == f"{_W}tab":
                lines[-1] += "\t"
            elif tag in (f"{_W}br", f"{_W}cr"):
                lines.append("")
            elif tag == f"{_W}noBreakHyphen":
                lines[-1] += "-"
            elif tag == f"{_W}p":  # a paragraph inside a text box
                lines.append("")
                walk(child)
                lines.append("")
            else:
                walk(child)

    walk(paragraph)
    return lines


class _Lines:
    """Numbered lines collected in document order."""

    def __init__(self) -> None:
        self.paragraphs = 0
        self.tables = 0
        self.turn_tables = 0
        self.lines: list[tuple[int, str]] = []

    def paragraph(self, paragraph: ET.Element) -> tuple[int, str]:
        self.paragraphs += 1
        number = self.paragraphs
        texts = _paragraph_lines(paragraph)
        return number, "\n".join(texts)

    def add_paragraph(self, paragraph: ET.Element) -> None:
        number, text = self.paragraph(paragraph)
        self.lines.extend((number, part) for part in text.split("\n"))

    def add_container(self, node: ET.Element) -> None:
        """Paragraphs and tables of the body, in order (content controls opened)."""
        for child in node:
            if child.tag == f"{_W}p":
                self.add_paragraph(child)
            elif child.tag == f"{_W}tbl":
                self.add_table(child)
            elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"):
                self.add_container(child)

    def add_table(self, table: ET.Element) -> None:
        self.tables += 1
        rows: list[list[tuple[int, str]]] = []
        for row in table.findall(f"{_W}tr"):
            cells: list[tuple[int, str]] = []
            for cell in row.findall(f"{_W}tc"):
                numbered = [self.paragraph(p) for p in _cell_paragraphs(cell)]
                text = " ".join(t.replace("\n", " ").strip() for _, t in numbered).strip()
                cells.append((numbered[0][0] if numbered else self.paragraphs, text))
            rows.append(cells)
        turns = _turn_rows(rows)
        if turns is not None:
            self.turn_tables += 1
            self.lines.extend(turns)
            return
        for cells in rows:
            for number, text in cells:
                if text:
                    self.lines.append((number, text))


def _cell_paragraphs(node: ET.Element) -> list[ET.Element]:
    """The paragraphs of a table cell in order, nested tables included."""
    found: list[ET.Element] = []
    for child in node:
        if child.tag == f"{_W}p":
            found.append(child)
        elif child.tag in (f"{_W}tbl", f"{_W}tr", f"{_W}tc", f"{_W}sdt", f"{_W}sdtContent"):
            found.extend(_cell_paragraphs(child))
    return found


def _is_time(text: str) -> bool:
    return bool(_TIME.match(text.strip()))


def _turn_rows(rows: list[list[tuple[int, str]]]) -> list[tuple[int, str]] | None:
    """``Speaker (time): text`` lines when a table is a simple table of turns, else ``None``.

    A table of turns has rows of two or three cells: a speaker cell, a text cell and
    optionally a column of times, with an optional header row (``Speaker | Text``).
    """
    body = [r for r in rows if any(text for _, text in r)]
    if body and all(
        text.strip().casefold() in _HEADER_WORDS for _, text in body[0] if text.strip()
    ):
        body = body[1:]
    if not body or len({len(r) for r in body}) != 1 or not 2 <= len(body[0]) <= 3:
        return None
    columns = range(len(body[0]))
    times = [
        c for c in columns
        if any(row[c][1] for row in body)
        and all(not row[c][1] or _is_time(row[c][1]) for row in body)
    ]
    others = [c for c in columns if c not in times]
    if len(times) > 1 or len(others) != 2:
        return None
    who, what = others
    out: list[tuple[int, str]] = []
    for row in body:
        speaker = row[who][1].strip().rstrip(":").strip()
        text = row[what][1]
        if len(speaker) > 60 or len(speaker.split()) > 6:
            return None
        if not speaker:
            out.append((row[0][0], text))  # a row that continues the turn above
            continue
        stamp = row[times[0]][1].strip("[]() ") if times else ""
        stamp = f" ({stamp})" if stamp else ""
        out.append((row[0][0], f"{speaker}{stamp}: {text}"))
    return out


def read_docx(path: Path) -> list[RawTranscript]:
    """Parse a ``.docx`` transcript into one raw transcript.

    ``source_line`` of each fragment is the paragraph number (see the module docstring).

    Raises:
        CompassionError: E015 for a file that is not a readable Word document (corrupt, not a
            zip, no ``word/document.xml``, too large once decompressed, invalid XML), E002 when
            it holds no text, E005 when no paragraph starts with a speaker label.
    """
    data = _load_xml(path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CompassionError(
            Errors.E015, path, detail=f"word/document.xml is not valid XML (line {exc.position[0]})"
        ) from None
    body = root.find(f"{_W}body")
    collected = _Lines()
    if body is not None:
        collected.add_container(body)
    lines = [(n, text) for n, text in collected.lines if text.strip()]
    if not lines:
        raise CompassionError(Errors.E002, path)
    fragments = parse_lines(lines)
    if not any(f.speaker for f in fragments):
        raise CompassionError(Errors.E005, path, detail="no paragraph starts with a speaker label")
    metadata: dict[str, object] = {
        "paragraphs": collected.paragraphs,
        "tables": collected.tables,
        "turn_tables": collected.turn_tables,
    }
    return [RawTranscript(fragments, metadata=metadata)]


SPEC = ReaderSpec("docx", (".docx",), lambda paths, texts: read_docx(paths[0]), binary=True)
