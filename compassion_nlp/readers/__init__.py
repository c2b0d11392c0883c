"""Reading transcripts: find the files, detect each format, parse, and build encounters.

>>> from compassion_nlp.readers import read
>>> encounters = read("consultation.vtt")            # one file (or one TextGrid pair)
>>> for result in read_paths(["transcripts/"]):      # a batch: errors do not stop it
...     print(result.source.encounter_id, result.error or len(result.encounters))

Formats (``format=`` / ``--format``): ``text`` (speaker-prefixed plain text, Markdown),
``csv`` (a dialogue per row, or a turn table: decided by the header), ``vtt``, ``srt``,
``json`` (QMSum, speech-to-text outputs, generic turn lists, JSON Lines), ``textgrid``,
``docx``, ``xlsx``. Without ``format`` the extension decides, then the content.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..decoding import DEFAULT_MAX_MB, read_text
from ..errors import CompassionError, Errors
from ..model import Encounter, Role, Setting
from .base import RawTranscript, build

logger = logging.getLogger("compassion_nlp")

FORMATS: tuple[str, ...] = ("text", "csv", "vtt", "srt", "json", "textgrid", "docx", "xlsx")
#: formats read from bytes (not decoded as text)
BINARY_FORMATS: tuple[str, ...] = ("docx", "xlsx")
#: extensions read when a folder is given (case-insensitive)
EXTENSIONS: dict[str, str] = {
    ".txt": "text", ".md": "text", ".text": "text", ".csv": "csv", ".tsv": "csv",
    ".vtt": "vtt", ".srt": "srt", ".json": "json", ".jsonl": "json", ".textgrid": "textgrid",
    ".docx": "docx", ".xlsx": "xlsx",
}


@dataclass(frozen=True)
class Source:
    """One unit to read: usually a file; several for one-file-per-speaker TextGrids.

    Attributes:
        paths: the files.
        encounter_id: the id given to its encounter(s): the path relative to the folder
            given, without the role suffix for TextGrid pairs.
    """

    paths: tuple[Path, ...]
    encounter_id: str


@dataclass
class ReadResult:
    """The outcome of reading one source: encounters, or an error (never both)."""

    source: Source
    encounters: list[Encounter] = field(default_factory=list)
    error: CompassionError | None = None


def _textgrid_group(path: Path) -> tuple[Path, ...]:
    from .textgrid import SUFFIX

    m = SUFFIX.match(path.stem)
    if not m or not path.parent.is_dir():
        return (path,)
    siblings = sorted(
        p for p in path.parent.iterdir()
        if p.suffix.lower() == ".textgrid" and (s := SUFFIX.match(p.stem)) is not None
        and s.group("stem") == m.group("stem")
    )
    return tuple(siblings) or (path,)


def discover(paths: Iterable[str | Path]) -> tuple[list[Source], list[Path]]:
    """Expand files and folders (recursively) into sources.

    Returns:
        The sources to read, and the files found in folders that were not read because their
        extension is not a transcript extension (reported, never silently skipped).
    """
    sources: list[Source] = []
    bases: list[str] = []
    ignored: list[Path] = []
    seen: set[tuple[Path, ...]] = set()

    def add(path: Path, base: Path | None) -> None:
        group = _textgrid_group(path) if path.suffix.lower() == ".textgrid" else (path,)
        if group in seen:
            return
        seen.add(group)
        ident = path.name if base is None else path.relative_to(base).as_posix()
        if len(group) > 1:
            from .textgrid import SUFFIX

            m = SUFFIX.match(path.stem)
            assert m is not None
            ident = ident[: len(ident) - len(path.name)] + m.group("stem")
        sources.append(Source(group, ident))
        bases.append(base.name if base is not None else path.parent.name)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            found = False
            for file in files:
                if any(part.startswith(".") for part in file.relative_to(path).parts):
                    continue
                if file.suffix.lower() in EXTENSIONS:
                    add(file, path)
                    found = True
                else:
                    ignored.append(file)
            if not found:
                sources.append(Source((path,), path.name))
                bases.append(path.parent.name)
        else:
            add(path, None)
    # the same relative path under two folders given: prefix the folder's name to both
    counts = Counter(s.encounter_id for s in sources)
    sources = [
        Source(s.paths, f"{base}/{s.encounter_id}") if counts[s.encounter_id] > 1 else s
        for s, base in zip(sources, bases, strict=True)
    ]
    return sources, ignored


def detect_format(path: Path, text: str | None) -> str:
    """The format of a file: by extension, then by content."""
    ext = path.suffix.lower()
    by_ext = EXTENSIONS.get(ext)
    if by_ext in ("vtt", "srt", "json", "textgrid", "docx", "xlsx", "csv"):
        return by_ext
    if text is None:
        raise CompassionError(Errors.E004, path, detail="no text", formats=", ".join(FORMATS))
    head = text.lstrip()[:2000]
    from .textgrid import looks_like_textgrid

    if head.startswith("WEBVTT"):
        return "vtt"
    if looks_like_textgrid(head):
        return "textgrid"
    if head[:1] in "[{" and _is_json(head, text):
        return "json"
    from .subtitles import looks_like_srt

    if looks_like_srt(head):
        return "srt"
    return "text"


def _is_json(head: str, text: str) -> bool:
    import json

    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        first = text.lstrip().split("\n", 1)[0]
        try:
            json.loads(first)
            return first.lstrip().startswith("{")
        except (ValueError, RecursionError):
            return False


def _parse(fmt: str, source: Source, texts: list[str]) -> list[RawTranscript]:
    path = source.paths[0]
    text = texts[0] if texts else ""
    if fmt == "text":
        from .text import parse_lines

        lines = list(enumerate(text.split("\n"), 1))
        fragments = parse_lines(lines)
        if not any(f.speaker for f in fragments):
            if path.suffix.lower() not in EXTENSIONS:
                raise CompassionError(
                    Errors.E004, path, formats=", ".join(FORMATS),
                    detail=f"unknown extension '{path.suffix or '(none)'}', and the text has "
                    "no speaker labels",
                )
            raise CompassionError(Errors.E005, path, detail="no line starts with a speaker label")
        return [RawTranscript(fragments)]
    if fmt == "csv":
        from .tables import (
            header_of,
            is_dialogue_csv,
            is_turn_table,
            read_dialogue_csv,
            read_turn_table,
        )

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
    if fmt == "json":
        from .jsonfmt import read_json

        return read_json(path, text)
    if fmt == "textgrid":
        from .textgrid import read_textgrids

        return read_textgrids(list(source.paths), texts)
    if fmt in ("vtt", "srt"):
        from .subtitles import read_srt, read_vtt

        return (read_vtt if fmt == "vtt" else read_srt)(path, text)
    if fmt == "docx":
        from .docx import read_docx

        return read_docx(path)
    if fmt == "xlsx":
        from .xlsx import read_xlsx

        return read_xlsx(path)
    raise CompassionError(Errors.E009, name=fmt, formats=", ".join(FORMATS))


Postprocess = Callable[[Encounter], Encounter]


#: other names accepted for ``format``
ALIASES: dict[str, str] = {"txt": "text", "tsv": "csv", "webvtt": "vtt", "jsonl": "json",
                           "praat": "textgrid", "md": "text"}


def _check_format(format: str | None) -> None:
    if format is not None and format not in FORMATS and format not in ALIASES:
        raise CompassionError(Errors.E009, name=format, formats=", ".join(FORMATS))


def read_source(
    source: Source,
    *,
    format: str | None = None,
    max_mb: float = DEFAULT_MAX_MB,
) -> list[Encounter]:
    """Parse one source into encounters (turns only: no roles, no utterances yet).

    In a file of many dialogues (a CSV with a dialogue per row) a dialogue that cannot be
    read is skipped with warning W040; the file fails only when none can be read.
    """
    _check_format(format)
    format = ALIASES.get(format, format) if format else None
    path = source.paths[0]
    if path.is_dir():
        raise CompassionError(Errors.E012, path)
    fmt = format or EXTENSIONS.get(path.suffix.lower())
    if fmt not in BINARY_FORMATS:
        fmt = format
    texts: list[str] = []
    warnings: list[str] = []
    encoding = None
    if fmt not in BINARY_FORMATS:
        for p in source.paths:
            decoded = read_text(p, max_mb=max_mb)
            texts.append(decoded.text)
            warnings.extend(decoded.warnings)
            encoding = encoding or decoded.encoding
        fmt = fmt or detect_format(path, texts[0])
    else:
        from ..decoding import read_bytes

        read_bytes(path, max_mb=max_mb)  # existence, size and emptiness checks
    raws = _parse(fmt, source, texts)
    encounters: list[Encounter] = []
    failed: list[tuple[str, CompassionError]] = []
    for raw in raws:
        raw.warnings[:0] = warnings
        raw.metadata.setdefault("format", fmt)
        if encoding:
            raw.metadata.setdefault("encoding", encoding)
        if raw.setting:
            raw.metadata["setting"] = raw.setting
        try:
            where = f"{path}{raw.suffix}" if len(raws) > 1 else path  # name the row
            encounters.append(build(raw, path=where, encounter_id=source.encounter_id))
        except CompassionError as exc:
            if len(raws) == 1:
                raise
            failed.append((raw.suffix, exc))
    if failed:
        if not encounters:
            raise failed[0][1]
        return _with_skipped(encounters, failed, path, len(raws))
    return encounters


def _with_skipped(
    encounters: list[Encounter], failed: list[tuple[str, CompassionError]], path: Path,
    total: int,
) -> list[Encounter]:
    """Note on every encounter of a many-dialogue file which dialogues could not be read."""
    from dataclasses import replace

    from ..errors import Warnings, warn

    shown = ", ".join(f"{suffix or '?'} {exc.code}" for suffix, exc in failed[:10])
    if len(failed) > 10:
        shown += ", ..."
    message = warn(Warnings.W040, path, n=len(failed), total=total, detail=shown)
    out = []
    for enc in encounters:
        old = enc.metadata.get("warnings")
        metadata = {**enc.metadata, "warnings": [*(old if isinstance(old, list) else []), message]}
        out.append(replace(enc, metadata=metadata))
    return out


def read(
    path: str | Path,
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
) -> list[Encounter]:
    """Read one transcript file into encounters with roles and utterances.

    Args:
        path: a transcript file (a ``_doctor.TextGrid`` brings in its ``_patient`` partner).
        format: one of :data:`FORMATS`; detected when omitted.
        roles: explicit speaker → role mapping, which wins over every other source.
        setting: ``clinical`` or ``meeting``; inferred when omitted.
        max_mb: larger files are refused (E007).

    Raises:
        CompassionError: with a code and the file name, for any bad input.

    Example:
        >>> [enc] = read("day1_consultation01_doctor.TextGrid")
        >>> enc.to_dataframe().head()
    """
    sources, _ = discover([path])
    out: list[Encounter] = []
    for source in sources:
        result = _read_one(source, format=format, roles=roles, setting=setting, max_mb=max_mb)
        if result.error is not None:
            raise result.error
        out.extend(result.encounters)
    return out


def read_string(
    text: str,
    *,
    format: str = "text",
    encounter_id: str = "text",
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
) -> list[Encounter]:
    """Read a transcript held in a string (any text format: text, csv, vtt, srt, json,
    textgrid) into encounters with roles and utterances.

    Example:
        >>> [enc] = read_string("Doctor: How are you?\nPatient: Worried.", format="text")
    """
    from ..decoding import normalise_newlines
    from ..roles import assign_roles
    from ..segment import segment_many

    _check_format(format)
    fmt = ALIASES.get(format, format)
    if fmt in BINARY_FORMATS:
        raise CompassionError(
            Errors.E009, name=format, formats="text, csv, vtt, srt, json, textgrid"
        )
    text = normalise_newlines(text.lstrip("\ufeff"))
    if not text.strip():
        raise CompassionError(Errors.E002, encounter_id)
    source = Source((Path(encounter_id),), encounter_id)
    encounters = []
    for raw in _parse(fmt, source, [text]):
        raw.metadata.setdefault("format", fmt)
        if raw.setting:
            raw.metadata["setting"] = raw.setting
        encounters.append(build(raw, path=encounter_id, encounter_id=encounter_id))
    encounters = [assign_roles(e, mapping=roles, setting=setting) for e in encounters]
    return list(segment_many(encounters))


def _read_one(
    source: Source,
    *,
    format: str | None,
    roles: Mapping[str, Role] | None,
    setting: Setting | None,
    max_mb: float,
) -> ReadResult:
    from ..roles import assign_roles
    from ..segment import segment_many

    try:
        encounters = read_source(source, format=format, max_mb=max_mb)
        encounters = [assign_roles(e, mapping=roles, setting=setting) for e in encounters]
        return ReadResult(source, list(segment_many(encounters)))
    except CompassionError as exc:
        return ReadResult(source, error=exc)
    except Exception as exc:  # noqa: BLE001
        # a bug: report the file and where it failed, never the exception text (it may
        # quote the transcript), and let a batch go on
        return ReadResult(source, error=_internal_error(source.paths[0], exc))


def _internal_error(path: Path, exc: BaseException) -> CompassionError:
    """E041 naming the exception type and the innermost compassion_nlp frame."""
    import traceback

    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if "compassion_nlp" in frame.filename:
            where = f" at {Path(frame.filename).name}:{frame.lineno}"
    logger.debug("internal error reading %s: %s%s", path, type(exc).__name__, where)
    error = CompassionError(Errors.E041, path, detail=f"{type(exc).__name__}{where}")
    error.__cause__ = exc  # kept for debugging; the message itself quotes nothing
    return error


def read_paths(
    paths: Iterable[str | Path],
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    sources: list[Source] | None = None,
) -> Iterator[ReadResult]:
    """Read many files and folders; a bad file yields a result with an error, and the batch
    goes on. Folders are read recursively; ids are paths relative to the folder given.

    Raises:
        CompassionError: E009 for an unknown ``format`` (before anything is read).
    """
    _check_format(format)
    if sources is None:
        sources, ignored = discover(paths)
        for path in ignored:
            logger.info("not a transcript extension, not read: %s", path)
    for source in sources:
        yield _read_one(source, format=format, roles=roles, setting=setting, max_mb=max_mb)


@dataclass
class ReadSummary:
    """What a batch read did: counts, and every failure as (source id, message)."""

    sources: int = 0
    encounters: int = 0
    utterances: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def read_to_table(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReadSummary:
    """Read many transcripts and write one utterance table (``.parquet``, ``.csv``,
    ``.jsonl``); failures are collected, not raised.

    Args:
        progress: called as ``progress(done, total, source_id)`` after each source.
    """
    from ..model import utterances_dataframe
    from ..tables import check_table_path, write_table

    check_table_path(out)
    _check_format(format)
    sources, ignored = discover(paths)
    summary = ReadSummary(sources=len(sources), ignored=ignored)
    encounters: list[Encounter] = []
    for done, result in enumerate(
        read_paths([], format=format, roles=roles, setting=setting, max_mb=max_mb,
                   sources=sources), 1
    ):
        if result.error is not None:
            summary.failures.append((result.source.encounter_id, str(result.error)))
        encounters.extend(result.encounters)
        if progress is not None:
            progress(done, len(sources), result.source.encounter_id)
    frame = utterances_dataframe(encounters)
    summary.encounters = len(encounters)
    summary.utterances = len(frame)
    write_table(frame, out)
    return summary
