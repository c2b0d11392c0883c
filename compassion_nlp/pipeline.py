"""The reading half of the pipeline: parse → roles → segment, for files, folders and text.

Readers (:mod:`compassion_nlp.readers`) only parse: they turn a file into encounters of raw
turns. This module gives those encounters their speakers' roles (:mod:`compassion_nlp.roles`)
and their utterances (:mod:`compassion_nlp.segment`), the same way for :func:`read`,
:func:`read_string`, :func:`read_sources` and the :class:`~compassion_nlp.scoring.Scorer`.

>>> from compassion_nlp.pipeline import read, read_sources
>>> from compassion_nlp.readers import discover
>>> encounters = read("consultation.vtt")            # one file (or one TextGrid pair)
>>> sources, ignored = discover(["transcripts/"])      # a batch: errors do not stop it
>>> for result in read_sources(sources):
...     print(result.source.encounter_id, result.error or len(result.encounters))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import DEFAULT_CONFIG, ScoringConfig
from .decoding import DEFAULT_MAX_MB
from .errors import CompassionError, check_option, internal_error
from .model import Encounter, Role, Setting
from .readers import (
    Source,
    check_format,
    check_single_speaker,
    discover,
    parse_string,
    read_source,
)
from .roles import assign_roles
from .segment import segment_many, segmenter


@dataclass
class ReadResult:
    """The outcome of reading one source: encounters, or an error (never both)."""

    source: Source
    encounters: list[Encounter] = field(default_factory=list)
    error: CompassionError | None = None


def prepare(
    encounters: Iterable[Encounter],
    *,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> list[Encounter]:
    """Roles and utterances for parsed encounters (an explicit ``roles`` mapping wins)."""
    with_roles = [assign_roles(e, mapping=roles, setting=setting) for e in encounters]
    return list(segment_many(with_roles, nlp=segmenter(config)))


def prepare_one(
    encounter: Encounter,
    *,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> Encounter:
    """Roles and utterances for an encounter built in code, only where it lacks them."""
    if roles or any(s.role == "unknown" for s in encounter.speakers.values()):
        encounter = assign_roles(encounter, mapping=roles, setting=setting)
    if any(t.text and not t.utterances for t in encounter.turns):
        [encounter] = segment_many([encounter], nlp=segmenter(config))
    return encounter


def read_sources(
    sources: Iterable[Source],
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    config: ScoringConfig = DEFAULT_CONFIG,
    single_speaker: bool = False,
) -> Iterator[ReadResult]:
    """Read, give roles to and segment each source; a bad source yields a result with an
    error and the batch goes on.

    Raises:
        CompassionError: E009 for an unknown ``format``, E028 for ``single_speaker``
            without ``format="text"`` (before anything is read).
    """
    check_format(format)
    check_single_speaker(format, single_speaker)
    check_option("max_mb", max_mb)
    for source in sources:
        try:
            parsed = read_source(source, format=format, max_mb=max_mb,
                                 single_speaker=single_speaker)
            yield ReadResult(source, prepare(parsed, roles=roles, setting=setting,
                                             config=config))
        except CompassionError as exc:
            yield ReadResult(source, error=exc)
        except Exception as exc:  # noqa: BLE001
            # a bug: report the file and where it failed, never the exception text (it may
            # quote the transcript), and let a batch go on
            yield ReadResult(source, error=internal_error(source.paths[0], exc))


def read_paths(
    paths: Iterable[str | Path],
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    config: ScoringConfig = DEFAULT_CONFIG,
    single_speaker: bool = False,
) -> Iterator[ReadResult]:
    """:func:`read_sources` over the sources found in files and folders (read recursively;
    ids are paths relative to the folder given)."""
    check_format(format)
    sources, _ = discover(paths)
    return read_sources(sources, format=format, roles=roles, setting=setting, max_mb=max_mb,
                        config=config, single_speaker=single_speaker)


def read(
    path: str | Path,
    *,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    config: ScoringConfig = DEFAULT_CONFIG,
    single_speaker: bool = False,
) -> list[Encounter]:
    """Read one transcript file into encounters with roles and utterances.

    Args:
        path: a transcript file (a ``_doctor.TextGrid`` brings in its ``_patient`` partner).
        format: one of :data:`compassion_nlp.readers.FORMATS`; detected when omitted.
        roles: explicit speaker → role mapping, which wins over every other source.
        setting: ``clinical`` or ``meeting``; inferred when omitted.
        max_mb: larger files are refused (E007).
        single_speaker: with ``format="text"``, text without speaker labels is one
            ``UNKNOWN`` speaker's talk (else E005).

    Raises:
        CompassionError: with a code and the file name, for any bad input.

    Example:
        >>> [enc] = read("day1_consultation01_doctor.TextGrid")
        >>> enc.to_dataframe().head()
    """
    out: list[Encounter] = []
    for result in read_paths([path], format=format, roles=roles, setting=setting,
                             max_mb=max_mb, config=config, single_speaker=single_speaker):
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
    config: ScoringConfig = DEFAULT_CONFIG,
) -> list[Encounter]:
    """Read a transcript held in a string (any text format: text, csv, vtt, srt, json,
    textgrid) into encounters with roles and utterances.

    Example:
        >>> [enc] = read_string("Doctor: How are you?\\nPatient: Worried.", format="text")
    """
    return prepare(parse_string(text, format=format, encounter_id=encounter_id),
                   roles=roles, setting=setting, config=config)



def read_ahead(
    results: Iterator[ReadResult], *, budget: int = 2048
) -> Iterator[ReadResult]:
    """``results`` produced in a background thread, so that reading and segmenting overlap
    with the classifier (which releases the GIL). The thread reads ahead while the results
    waiting hold fewer than ``budget`` utterances (one source at least, however large: memory
    stays bounded by the largest file). Results come in the same order; an exception of the
    reader is raised here; the thread stops when the consumer stops."""
    import threading
    from collections import deque

    waiting: deque[tuple[ReadResult | None, BaseException | None, int]] = deque()
    held = 0
    stop = False
    changed = threading.Condition()

    def put(result: ReadResult | None, exc: BaseException | None = None) -> bool:
        nonlocal held
        size = sum(len(e.view.utterances) for e in result.encounters) if result else 0
        with changed:
            while not stop and waiting and held + size > budget:
                changed.wait()
            if stop:
                return False
            waiting.append((result, exc, size))
            held += size
            changed.notify_all()
            return True

    def produce() -> None:
        try:
            for result in results:
                if not put(result):
                    return
            put(None)
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer
            put(None, exc)

    thread = threading.Thread(target=produce, name="compassion-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            with changed:
                while not waiting:
                    changed.wait()
                result, exc, size = waiting.popleft()
                held -= size
                changed.notify_all()
            if exc is not None:
                raise exc
            if result is None:
                return
            yield result
    finally:
        with changed:
            stop = True
            changed.notify_all()
