"""CSV and TSV files: a dialogue per row, or a table of turns.

*Dialogue CSVs* (ACI-Bench, MTS-Dialog) hold one whole conversation per row in a column such as
``dialogue``; each row becomes an encounter whose id gets a ``#<row id>`` suffix, and the
dialogue cell is parsed as a speaker-prefixed text transcript (:mod:`.text`), keeping the
file's line numbers.

*Turn tables* hold one turn per row; the header is matched against aliases (``speaker``,
``role``, ``text``/``content``/``utterance``, ``start``/``end``…). An optional ``encounter_id``
(or ``conversation_id``…) column splits one table into several encounters. A role cell
(``clinician``, or a role word such as ``doctor``) becomes the speaker's role; times may be
seconds, ``HH:MM:SS.mmm`` or milliseconds (a ``*_ms`` column). A header with both a speaker
and a text column is a turn table even when it also has a ``transcript``/``conversation``
column.

Line numbers are the file's (blank lines, multi-line cells and mixed line endings counted as
an editor does); a quoted cell that is never closed is an E008 error, not a silently
swallowed file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ..errors import CompassionError, Errors
from ..lexicon import lexicon_role
from ..model import ROLES, Role
from .base import Fragment, RawTranscript, ReaderSpec
from .text import parse_lines, parse_time

DIALOGUE_COLUMNS = ("dialogue", "dialog", "conversation", "transcript", "src", "dialogue_text")
ROW_ID_COLUMNS = ("encounter_id", "id", "dialogue_id", "conversation_id", "file", "filename")
SPEAKER_COLUMNS = ("speaker", "speaker_label", "speaker_name", "name", "participant", "who",
                   "author", "spk")
ROLE_COLUMNS = ("role", "speaker_role", "party")
TEXT_COLUMNS = ("text", "content", "utterance", "transcript", "sentence", "message", "turn",
                "words", "caption", "body")
START_COLUMNS = ("start", "start_time", "begin", "start_sec", "start_seconds", "offset",
                 "timespan",
                 "timestamp", "time", "start_ms")
END_COLUMNS = ("end", "end_time", "stop", "end_sec", "end_seconds", "end_ms")
GROUP_COLUMNS = ("encounter_id", "conversation_id", "dialogue_id", "session_id", "meeting_id",
                 "encounter", "conversation")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _find(header: list[str], aliases: tuple[str, ...]) -> int | None:
    normed = [_norm(h) for h in header]
    for alias in aliases:
        if alias in normed:
            return normed.index(alias)
    return None


def _delimiter(text: str, path: Path) -> str:
    """Tab for .tsv; otherwise the most frequent of , tab ; | in the header line."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return max(",\t;|", key=header.count)


#: largest CSV cell accepted, in characters (a whole dialogue fits many times over)
MAX_CELL = 50_000_000


def _rows(
    text: str, path: Path, delimiter: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the 1-based line on which each starts; blank records are skipped.

    Raises:
        CompassionError: E008 for a CSV error, or a quoted cell that is never closed (it
            would swallow the rest of the file).
    """
    lines = text.split("\n")
    reader = csv.reader(
        (line + "\n" for line in lines), delimiter=delimiter or _delimiter(text, path)
    )
    last = start = 0
    # the csv module's cell limit is process-wide: raised while these rows are read (the
    # default, 128 kB, is too small for dialogues), then put back
    previous = csv.field_size_limit(max(MAX_CELL, csv.field_size_limit()))
    try:
        for row in reader:
            start = last + 1
            if any(cell.strip() for cell in row):
                yield start, row
            last = reader.line_num
    except csv.Error as exc:
        raise CompassionError(
            Errors.E008, path, format="CSV", detail=f"{exc} near line {reader.line_num}"
        ) from None
    finally:
        csv.field_size_limit(previous)
    if last > start and "\n".join(lines[start - 1 : last]).count('"') % 2:
        raise CompassionError(
            Errors.E008, path, format="CSV",
            detail=f"a quoted cell opened on line {start} is never closed",
        )


def header_of(text: str, path: Path) -> list[str]:
    """The header row of a CSV/TSV text: its first non-blank record (empty when none)."""
    for _, row in _rows(text, path):
        return row
    return []


def _cell_line(line: int, row: list[str], col: int) -> int:
    """The line on which cell ``col`` of a record starting on ``line`` begins."""
    return line + sum(cell.count("\n") for cell in row[:col])


def is_dialogue_csv(header: list[str]) -> bool:
    """True when a column holds whole dialogues (and the table is not a turn table)."""
    return _find(header, DIALOGUE_COLUMNS) is not None and not is_turn_table(header)


def is_turn_table(header: list[str]) -> bool:
    """True when the header has a speaker (or role) column and a text column."""
    has_who = _find(header, SPEAKER_COLUMNS) is not None or _find(header, ROLE_COLUMNS) is not None
    return has_who and _find(header, TEXT_COLUMNS) is not None


def _header_and_rows(
    text: str, path: Path, delimiter: str | None = None
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header row and an iterator over the remaining (line, row) records."""
    rows = _rows(text, path, delimiter)
    try:
        _, header = next(rows)
    except StopIteration:
        raise CompassionError(Errors.E002, path) from None
    return header, rows


def read_dialogue_csv(path: Path, text: str) -> list[RawTranscript]:
    """One encounter per row of a CSV whose dialogue column holds a whole conversation."""
    header, rows = _header_and_rows(text, path)
    col = _find(header, DIALOGUE_COLUMNS)
    if col is None:
        raise CompassionError(Errors.E008, path, format="dialogue CSV", detail="no dialogue column")
    id_col = _find(header, ROW_ID_COLUMNS)
    out: list[RawTranscript] = []
    seen: set[str] = set()
    for number, (line, row) in enumerate(rows, 1):
        if col >= len(row):
            raise CompassionError(
                Errors.E008, path, format="dialogue CSV", detail=f"row at line {line} is short"
            )
        cell_line = _cell_line(line, row, col)
        lines = [(cell_line + i, part) for i, part in enumerate(row[col].split("\n"))]
        row_id = row[id_col].strip() if id_col is not None and id_col < len(row) else ""
        row_id = row_id or str(number)
        if row_id in seen:
            row_id = f"{row_id}-{number}"
        seen.add(row_id)
        meta = {
            _norm(h): row[i] for i, h in enumerate(header)
            if i != col and i < len(row) and len(row[i]) < 200
        }
        out.append(
            RawTranscript(
                parse_lines(lines),
                suffix=f"#{row_id}",
                metadata={"row": number, "columns": meta, "speakerless_ok": False},
            )
        )
    return out


def _seconds(value: str, millis: bool) -> float | None:
    """A time cell in seconds (``None`` when empty or unreadable; negatives become 0). A span
    (``0:00:01.0 - 0:00:05.0``, NVivo) gives its start."""
    value = value.strip()
    if not value:
        return None
    if " - " in value:
        value = value.split(" - ", 1)[0].strip()
    seconds = parse_time(value)
    if seconds is not None and millis and ":" not in value:
        seconds /= 1000
    return None if seconds is None else max(seconds, 0.0)


@lru_cache(maxsize=1024)
def _role_hint(value: str) -> tuple[Role, float] | None:
    """The role a role cell names: a role (``patient``) or a role word (``doctor``)."""
    role = value.strip().lower()
    if role in ROLES:
        return role, 1.0  # type: ignore[return-value]
    return lexicon_role(role) if role else None


def read_turn_table(
    path: Path, text: str, *, delimiter: str | None = None, fill_down: bool = False
) -> list[RawTranscript]:
    """Encounters from a table of turns (one turn per row).

    Args:
        delimiter: detected when omitted.
        fill_down: a row with an empty speaker (and role) cell continues the previous row's
            speaker, as in spreadsheets that name the speaker once per turn; otherwise such
            a row has no speaker.
    """
    header, rows = _header_and_rows(text, path, delimiter)
    spk = _find(header, SPEAKER_COLUMNS)
    role_col = _find(header, ROLE_COLUMNS)
    txt = _find(header, TEXT_COLUMNS)
    if txt is None or (spk is None and role_col is None):
        raise CompassionError(
            Errors.E008, path, format="turn table",
            detail="the header needs a speaker or role column and a text column",
        )
    start_col, end_col = _find(header, START_COLUMNS), _find(header, END_COLUMNS)
    group_col = _find(header, GROUP_COLUMNS)
    normed = [_norm(h) for h in header]
    millis = bool(start_col is not None and normed[start_col].endswith("ms"))
    groups: dict[str, RawTranscript] = {}
    for line, row in rows:

        def cell(i: int | None, row: list[str] = row) -> str:
            return row[i] if i is not None and i < len(row) else ""

        group = cell(group_col).strip()
        raw = groups.setdefault(
            group,
            RawTranscript(
                [],
                suffix=f"#{group}" if group_col is not None else "",
                metadata={"speakerless_ok": False},
            ),
        )
        role = cell(role_col).strip()
        speaker = cell(spk).strip() or role
        if not speaker and fill_down and raw.fragments:
            speaker = raw.fragments[-1].speaker or ""
        hint = _role_hint(role)
        if hint is not None and speaker:
            raw.role_hints[speaker] = hint
        raw.fragments.append(
            Fragment(
                speaker or None,
                cell(txt),
                _cell_line(line, row, txt),
                _seconds(cell(start_col), millis),
                _seconds(cell(end_col), millis),
            )
        )
    if not groups:
        raise CompassionError(Errors.E016, path, n=0)
    return list(groups.values())


def _parse(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    """A CSV/TSV of dialogues or of turns, decided by its header."""
    from . import FORMATS

    path, text = paths[0], texts[0]
    header = header_of(text, path)
    if is_dialogue_csv(header):
        return read_dialogue_csv(path, text)
    if is_turn_table(header):
        return read_turn_table(path, text)
    raise CompassionError(
        Errors.E004, path,
        detail="a CSV/TSV without a dialogue column or speaker and text columns",
        formats=", ".join(FORMATS),
    )


def looks_like_turn_table(head: str, text: str) -> bool:
    """A tab-separated table of turns in a text file: a header line with tabs naming a
    speaker (or role) column and a text column (NVivo's ``Timespan / Content / Speaker``)."""
    first = head.split("\n", 1)[0]
    return "\t" in first and is_turn_table(first.split("\t"))


SPEC = ReaderSpec("csv", (".csv", ".tsv"), _parse, sniff=looks_like_turn_table, sniff_order=4,
                  aliases=("tsv",))
