"""Excel ``.xlsx`` workbooks: a table of turns on the first sheet that has one.

The sheet is read like a CSV turn table (:mod:`.tables`): a header row with a speaker (or role)
column and a text column (``Speaker | Utterance``, ``Name | Text | Start``…), one turn or
sentence per row, optionally an ``encounter_id`` column. A row whose speaker cell is empty
continues the speaker above it (spreadsheets often name the speaker once per turn).
``source_line`` is the spreadsheet row number.
Numeric speaker codes (``1``/``2``) stay as speaker names; give their roles with ``--role``
when the content does not tell them.

Needs the optional ``openpyxl`` package (``pip install 'compassion-nlp[xlsx]'``); without it,
E018 names the install line.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from ..errors import CompassionError, Errors
from .base import RawTranscript, ReaderSpec
from .tables import is_turn_table, read_turn_table


def _cell(value: object) -> str:
    """A cell as one line of text (line breaks inside a cell would shift row numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def read_xlsx(path: Path) -> list[RawTranscript]:
    """Encounters from the first worksheet whose header makes it a turn table."""
    try:
        import openpyxl
    except ImportError:
        raise CompassionError(
            Errors.E018, path, package="openpyxl", extra="xlsx", format="Excel .xlsx"
        ) from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise CompassionError(
            Errors.E008, path, format="Excel workbook",
            detail=f"{type(exc).__name__}; save it again as .xlsx",
        ) from None
    try:
        for sheet in workbook.worksheets:
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            header = next((r for r in rows if any(r)), [])
            if not is_turn_table(header):
                continue
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            return read_turn_table(path, buffer.getvalue(), delimiter=",", fill_down=True)
    finally:
        workbook.close()
    raise CompassionError(
        Errors.E004, path,
        detail="no worksheet has a header with a speaker (or role) column and a text column",
        formats="xlsx (a table of turns: Speaker | Text)",
    )


SPEC = ReaderSpec("xlsx", (".xlsx",), lambda paths, texts: read_xlsx(paths[0]), binary=True)
