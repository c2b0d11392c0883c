"""Reading transcripts: find the files, detect each format, parse them into encounters.

Readers only parse: an encounter comes out with its raw turns, speaker labels and times, and
roles only where the format itself says them. Roles and utterances come next, in
:mod:`compassion_nlp.pipeline` (``compassion_nlp.read`` does both).

>>> from compassion_nlp.readers import discover, read_source
>>> sources, ignored = discover(["transcripts/"])
>>> raw = read_source(sources[0])                     # turns only

Formats (``format=`` / ``--format``): ``text`` (speaker-prefixed plain text, Markdown),
``csv`` (a dialogue per row, or a turn table: decided by the header), ``vtt``, ``srt``,
``json`` (QMSum, speech-to-text outputs, generic turn lists, JSON Lines), ``textgrid``,
``docx``, ``xlsx``, ``chat`` (CHAT/CLAN ``.cha``),
``eaf`` (ELAN), ``trs`` (Transcriber). Without ``format`` the extension decides, then the content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..decoding import DEFAULT_MAX_MB, read_text
from ..errors import CompassionError, Errors
from ..model import Encounter
from . import chat, docx, eaf, jsonfmt, subtitles, tables, text, textgrid, trs, xlsx  # noqa: E402
from .base import RawTranscript, ReaderSpec, build

#: every format, by name: each reader module declares its own (:class:`ReaderSpec`)
REGISTRY: dict[str, ReaderSpec] = {
    spec.name: spec
    for spec in (text.SPEC, tables.SPEC, subtitles.VTT_SPEC, subtitles.SRT_SPEC, jsonfmt.SPEC,
                 textgrid.SPEC, docx.SPEC, xlsx.SPEC, chat.SPEC, eaf.SPEC,
                 trs.SPEC)
}
FORMATS: tuple[str, ...] = tuple(REGISTRY)
#: formats read from bytes (not decoded as text)
BINARY_FORMATS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.binary)
#: extensions read when a folder is given (case-insensitive)
EXTENSIONS: dict[str, str] = {ext: n for n, s in REGISTRY.items() for ext in s.extensions}
#: other names accepted for ``format``
ALIASES: dict[str, str] = {alias: n for n, s in REGISTRY.items() for alias in s.aliases}
_SNIFFERS = sorted((s for s in REGISTRY.values() if s.sniff), key=lambda s: s.sniff_order)


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
    by_ext = EXTENSIONS.get(path.suffix.lower())
    if by_ext is not None and REGISTRY[by_ext].extension_decides:
        return by_ext
    if text is None:
        raise CompassionError(Errors.E004, path, detail="no text", formats=", ".join(FORMATS))
    head = text.lstrip()[:2000]
    for spec in _SNIFFERS:
        if spec.sniff(head, text):  # type: ignore[misc]
            return spec.name
    return "text"


def _parse(fmt: str, source: Source, texts: list[str]) -> list[RawTranscript]:
    spec = REGISTRY.get(fmt)
    if spec is None:
        raise CompassionError(Errors.E009, name=fmt, formats=", ".join(FORMATS))
    return spec.parse(source.paths, texts)


def check_format(format: str | None) -> None:
    """Raise E009 for a ``format`` that is neither a format name nor an alias."""
    if format is not None and format not in FORMATS and format not in ALIASES:
        raise CompassionError(Errors.E009, name=format, formats=", ".join(FORMATS))


def check_single_speaker(format: str | None, single_speaker: bool) -> None:
    """E028 when ``single_speaker`` is asked for without ``format="text"``."""
    if single_speaker and ALIASES.get(format or "", format) != "text":
        raise CompassionError(Errors.E028, format=format or "no --format")


def read_source(
    source: Source,
    *,
    format: str | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    single_speaker: bool = False,
) -> list[Encounter]:
    """Parse one source into encounters (turns only: no roles, no utterances yet).

    In a file of many dialogues (a CSV with a dialogue per row) a dialogue that cannot be
    read is skipped with warning W040; the file fails only when none can be read. With
    ``single_speaker`` (and ``format="text"``), text without any speaker label is one
    ``UNKNOWN`` speaker's talk instead of E005.
    """
    check_format(format)
    check_single_speaker(format, single_speaker)
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
    raws = (text.parse_single_speaker(source.paths, texts) if single_speaker
            else _parse(fmt, source, texts))
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


def parse_string(
    text: str, *, format: str = "text", encounter_id: str = "text"
) -> list[Encounter]:
    """Parse a transcript held in a string (any text format) into encounters of raw turns."""
    from ..decoding import normalise_newlines

    check_format(format)
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
    return encounters
