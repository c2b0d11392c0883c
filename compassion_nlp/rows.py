"""The rows of a batch run as a stream of events, in the order of the sources.

:func:`score_rows` turns sources into events: a :class:`SourceRead` when a source has been
read (its encounters, the ones skipped as already done, its error), an
:class:`EncountersScored` with the table rows of each group of encounters classified together.
``score_to_folder`` writes them (one process, the model on all cores); the Ray path
(:mod:`compassion_nlp.distributed`) runs it on chunks of sources (:func:`chunks`) in each actor.

Several worker processes on one machine were tried and dropped: on 2 cores, two one-thread
workers scored more slowly than one process whose model uses both cores (see the README).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .readers import Source
from .roles import speaker_keys
from .tables import cues_frame, highlights_frame, speakers_frame, utterances_frame

if TYPE_CHECKING:
    import pandas as pd

    from .model import Encounter
    from .scoring import ScoredEncounter, Scorer

#: sources of one chunk: until their files hold this many bytes, or this many sources
CHUNK_BYTES = 256 * 1024
CHUNK_SOURCES = 64


@dataclass
class SourceRead:
    """A source was read: the ids of its encounters, how many will be scored and how many are
    skipped (already done), its error (a coded message), its speakers' keys, and the encounters
    scored again because they changed since they were done."""

    source_id: str
    position: int
    encounter_ids: list[str]
    kept: int
    skipped: int
    error: str | None = None
    speakers: set[str] = field(default_factory=set)
    changed: list[str] = field(default_factory=list)


@dataclass
class EncountersScored:
    """The table rows of consecutive scored encounters (one group classified together):
    one frame per table for the whole group, and the ``encounters`` rows as dicts."""

    encounter_ids: list[str]
    rows: dict[str, pd.DataFrame]
    encounter_rows: list[dict[str, Any]]
    unscorable: int
    utterances: int


Event = SourceRead | EncountersScored


def group_rows(scored: list[ScoredEncounter]) -> EncountersScored:
    """The table rows of a group of :class:`~compassion_nlp.scoring.ScoredEncounter`: each
    table's frame is built once for the group (a frame per encounter cost a tenth of a batch
    run's time)."""
    return EncountersScored(
        encounter_ids=[s.id for s in scored],
        rows={"utterances": utterances_frame(scored), "speakers": speakers_frame(scored),
              "cues": cues_frame(scored), "highlights": highlights_frame(scored)},
        encounter_rows=[s.encounter_row() for s in scored],
        unscorable=sum(s.compassion.unscorable is not None for s in scored),
        utterances=sum(len(s.encounter.view.utterances) for s in scored),
    )


def score_rows(
    scorer: Scorer, sources: Iterable[tuple[int, Source]], *, format: str | None,
    batch_size: int, done: Mapping[str, str],
) -> Iterator[Event]:
    """Read and score ``(position, source)`` pairs in one process; an encounter in ``done``
    (id → :attr:`~compassion_nlp.model.Encounter.fingerprint` when it was scored, ``""``
    when not recorded) is read but not scored, unless its fingerprint changed."""
    positions: dict[Source, int] = {}
    ordered: list[Source] = []
    for position, source in sources:
        positions[source] = position
        ordered.append(source)
    errors: list[tuple[str, Any]] = []
    reported = 0
    counts = {"kept": 0, "skipped": 0}
    changed: list[str] = []
    reads: list[SourceRead] = []

    def keep(encounter: Encounter) -> bool:
        before = done.get(encounter.id)
        if before is not None and before not in ("", encounter.fingerprint):
            changed.append(encounter.id)
            before = None
        key = "kept" if before is None else "skipped"
        counts[key] += 1
        return key == "kept"

    def on_read(source: Source, encounters: list[Encounter]) -> None:
        nonlocal reported
        error = None
        if len(errors) > reported:
            error = str(errors[-1][1])
            reported = len(errors)
        seen: set[str] = set()
        for encounter in encounters:
            seen |= speaker_keys(encounter)
        reads.append(SourceRead(source.encounter_id, positions[source],
                                [e.id for e in encounters], counts["kept"], counts["skipped"],
                                error, seen, list(changed)))
        counts["kept"] = counts["skipped"] = 0
        changed.clear()

    for group in scorer.pipe_groups(ordered, format=format, batch_size=batch_size,
                                    errors=errors, keep=keep, on_read=on_read):
        yield from reads
        reads.clear()
        yield group_rows(group)
    yield from reads


def chunks(sources: list[tuple[int, Source]], max_bytes: int = CHUNK_BYTES,
           max_sources: int = CHUNK_SOURCES) -> list[list[tuple[int, Source]]]:
    """Consecutive sources grouped until their files hold ``max_bytes`` (or ``max_sources``)."""
    out: list[list[tuple[int, Source]]] = []
    current: list[tuple[int, Source]] = []
    size = 0
    for item in sources:
        current.append(item)
        for path in item[1].paths:
            with contextlib.suppress(OSError):  # reading it reports the error
                size += os.path.getsize(path)
        if size >= max_bytes or len(current) >= max_sources:
            out.append(current)
            current, size = [], 0
    if current:
        out.append(current)
    return out
