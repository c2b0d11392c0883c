"""Batch runs that write to disk: the scoring tables of a folder of transcripts, and the table
of utterances of a read-only run. Both are resumable or atomic, and list every failure.

``score_to_folder`` scores every transcript (through :meth:`Scorer.pipe`) and writes to
``out``:

- ``utterances.<ext>``: one row per utterance (read columns, ``p_<label>``, ``<label>``);
- ``encounters.<ext>``: one row per encounter (counts, rates, cues, score and components);
- ``speakers.<ext>``: one row per speaker of each encounter;
- ``cues.<ext>``: one row per CUE of an expressing speaker, with its response;
- ``highlights.<ext>``: exemplary moments and missed opportunities with suggestions;
- ``reports/`` (with ``reports=True``): the HTML feedback reports (:mod:`.reports`);
- ``failures.csv``: every source that could not be read, with the coded message;
- ``run.json``: the model, its thresholds and versions, and the counts of the run.

Re-running on the same folder skips encounters already in ``encounters.<ext>`` unless
``force``, provided those rows come from the same model and scoring settings (E047 otherwise:
``run.json`` and the checkpoint record them); the new rows are appended to the existing
tables (each table is rewritten whole through a temporary file, so a reader never sees half a
file). One run at a time writes into a folder, and finished encounters are checkpointed while
the run goes on, so a killed run resumes where it stopped (see :mod:`compassion_nlp.runfolder`).
The run does not keep its rows in memory: the tables are written from the checkpoint and the
rows already in the folder, a chunk at a time.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .decoding import DEFAULT_MAX_MB
from .errors import (
    CompassionError,
    Errors,
    RunInterrupted,
    Warnings,
    check_option,
    unreadable_as,
)
from .model import Encounter, Role, Setting, utterances_dataframe
from .pipeline import read_sources
from .readers import Source, check_format, discover
from .roles import check_mapping_used, speaker_keys
from .rows import Event, SourceRead, score_rows
from .runfolder import Checkpoint, lock_folder
from .scoring import ScorerSpec
from .shards import (
    check_shards,
    inputs_fingerprint,
    remove_shard_info,
    shard_folder,
    shard_of,
    write_shard_info,
)
from .tables import (
    TABLES,
    atomic_write,
    check_table_path,
    check_writable_folder,
    empty_table,
    iter_table,
    table_columns,
    without_encounters,
    write_frames,
    write_table,
    write_text,
)

if TYPE_CHECKING:
    from .scoring import Scorer

#: ``producer(sources, done)``: the events of scoring ``(position, source)`` pairs
Producer = Callable[[list[tuple[int, Source]], Mapping[str, str]], Iterator[Event]]


@dataclass
class RunSummary:
    """What a batch run did: counts, and every failure as (source id, message)."""

    sources: int = 0
    encounters: int = 0
    #: encounters scored with a NaN score: no speaker with a known role, or only one speaker
    unscorable: int = 0
    skipped: int = 0
    #: encounters already in the output that were scored again: their source changed
    changed: int = 0
    utterances: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    out: Path | None = None

    def add_failures(self, errors: Iterable[tuple[str, CompassionError]]) -> None:
        """Record failed sources with their coded messages."""
        self.failures.extend((source, str(error)) for source, error in errors)


def read_to_table(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    roles: dict[str, Role] | None = None,
    setting: Setting | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    progress: Callable[[int, int, str], None] | None = None,
    single_speaker: bool = False,
) -> RunSummary:
    """Read many transcripts and write one utterance table (``.parquet``, ``.csv``,
    ``.jsonl``); failures are collected, not raised.

    Args:
        progress: called as ``progress(done, total, source_id)`` after each source.
    """
    check_table_path(out)
    check_writable_folder(Path(out).parent)
    check_format(format)
    sources, ignored = discover(paths)
    summary = RunSummary(sources=len(sources), ignored=ignored)
    encounters: list[Encounter] = []
    results = read_sources(sources, format=format, roles=roles, setting=setting, max_mb=max_mb,
                           single_speaker=single_speaker)
    for done, result in enumerate(results, 1):
        if result.error is not None:
            summary.add_failures([(result.source.encounter_id, result.error)])
        encounters.extend(result.encounters)
        if progress is not None:
            progress(done, len(sources), result.source.encounter_id)
    _check_roles_used(roles, (e for e in encounters), summary)
    frame = utterances_dataframe(encounters)
    summary.encounters = len(encounters)
    summary.utterances = len(frame)
    write_table(frame, out)
    return summary


def _existing(out: Path, ext: str) -> dict[str, Path]:
    """The tables already in ``out``, checked to be readable before any work is done (E052)."""
    tables = {}
    for name in TABLES:
        path = out / f"{name}{ext}"
        if path.exists():
            with _unreadable_is_e052(path):
                table_columns(path)
            tables[name] = path
    return tables


def _previous_rows(path: Path) -> Iterator[pd.DataFrame]:
    """The rows of a table already in the output folder, a chunk at a time."""
    with _unreadable_is_e052(path):
        yield from iter_table(path)


def _unreadable_is_e052(path: Path) -> contextlib.AbstractContextManager[None]:
    # pyarrow's errors are of these kinds
    return unreadable_as(Errors.E052, path, catch=(OSError, ValueError, TypeError))


def score_to_folder(
    scorer: Scorer | ScorerSpec,
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    ext: str = ".parquet",
    force: bool = False,
    batch_size: int = 64,
    reports: bool = False,
    redact: bool = False,
    pdf: bool = False,
    progress: Callable[[int, int, RunSummary], None] | None = None,
    checkpoint_every_s: float = 10.0,
    num_shards: int | None = None,
    shard_index: int | None = None,
    producer: Producer | None = None,
) -> RunSummary:
    """Score transcripts and write the tables into ``out`` (see the module docstring).

    Only one run at a time may write into ``out`` (E027 for a second one). Finished encounters
    are saved every ``checkpoint_every_s`` seconds, so a killed or interrupted run loses at most
    that much work: the next run into ``out`` resumes from them. On Ctrl-C the finished
    encounters are saved and :class:`~compassion_nlp.errors.RunInterrupted` (a
    ``KeyboardInterrupt`` whose text is W007) is raised.

    Args:
        scorer: a :class:`compassion_nlp.scoring.Scorer`, or the
            :class:`~compassion_nlp.scoring.ScorerSpec` to load one from.
        paths: files and folders (read recursively).
        ext: ``.parquet`` (default), ``.csv`` or ``.jsonl``.
        force: score again encounters that are already in the output (and drop a checkpoint
            left by an interrupted run). Without it, rows already in ``out`` from another
            model or other scoring settings stop the run (E047).
        reports: also write the HTML feedback reports into ``out/reports/``
            (:func:`compassion_nlp.reports.write_reports`, from the tables just written; not
            with shards: run ``compassion-nlp report`` on the merged folder).
        redact: with ``reports``, hide identifiers in quoted text.
        pdf: with ``reports``, also write PDFs of the encounter and person pages.
        progress: called as ``progress(done, total, summary)`` each time a source is finished
            (all its encounters scored, skipped as already done, or the source failed), with
            the run's counts so far in ``summary``.
        num_shards, shard_index: score only the sources of shard ``shard_index`` (0-based) of
            ``num_shards``, into ``out/shards/<i>-of-<N>/`` (see :mod:`compassion_nlp.shards`;
            :func:`~compassion_nlp.shards.merge_shards` merges them).
        producer: where the scoring happens: called as ``producer(sources, done)`` with the
            ``(position, source)`` pairs to score and the encounters already done (id →
            :attr:`~compassion_nlp.model.Encounter.fingerprint`, ``""`` when not recorded), it
            yields the events of
            :func:`compassion_nlp.rows.score_rows` in the order of the sources. Default: this
            process (``score_rows`` with ``scorer``); :mod:`compassion_nlp.distributed` gives
            one that scores on Ray.
    """
    out = Path(out)
    check_table_path(out / f"encounters{ext}")
    check_option("batch_size", batch_size, integer=True)
    shards = check_shards(num_shards, shard_index)
    check_reports_with_shards(reports, shards[0])
    if isinstance(scorer, ScorerSpec):
        scorer = scorer.load() if producer is None else scorer.unloaded()
    if producer is None:
        def producer(sources: list[tuple[int, Source]],
                     done: Mapping[str, str]) -> Iterator[Event]:
            return score_rows(scorer, sources, format=format, batch_size=batch_size, done=done)
    if shards[0] > 1:
        out = shard_folder(out, *shards)
    check_writable_folder(out)
    with lock_folder(out):
        return _score_locked(scorer, paths, out, ext=ext, force=force, reports=reports,
                             redact=redact, pdf=pdf, progress=progress,
                             checkpoint_every_s=checkpoint_every_s, shards=shards,
                             producer=producer)


def _check_same_run(out: Path, scorer: Scorer, about: dict, interrupted: dict | None, *,
                    finished: bool) -> None:
    """E047 when the rows already in ``out`` (an interrupted run's checkpoint, or a finished
    run's tables and its ``run.json``) come from another model or other scoring settings."""
    earlier = [("an interrupted run", interrupted)] if interrupted else []
    if finished:
        # tables without a readable run.json: nothing to compare
        with contextlib.suppress(OSError, ValueError):
            earlier.append(("an earlier run",
                            json.loads((out / "run.json").read_text(encoding="utf-8"))))
    for who, before in earlier:
        model = before.get("model") or {}
        if "id" in model:
            same_model = model["id"] == about["model"]["id"]
        else:  # a run.json written before models had an id
            same_model = all(model.get(k) == scorer.model_info.get(k)
                             for k in ("labels", "thresholds", "framing", "base_model"))
        if not same_model:
            raise CompassionError(Errors.E047, out, earlier=who, differs="another model")
        if before.get("config") != about["config"]:
            raise CompassionError(Errors.E047, out, earlier=who,
                                  differs="other scoring settings")


def check_reports_with_shards(reports: bool, num_shards: int | None) -> None:
    """E042 for ``--reports`` in a sharded run: the reports need the whole run's tables."""
    if reports and (num_shards or 1) > 1:
        raise CompassionError(Errors.E042, detail="--reports needs the whole run: merge the "
                              "shards, then run compassion-nlp report on the merged folder")


def _score_locked(scorer: Scorer, paths: Iterable[str | Path], out: Path, *,
                  ext: str, force: bool, reports: bool, redact: bool, pdf: bool,
                  progress: Callable[[int, int, RunSummary], None] | None,
                  checkpoint_every_s: float, shards: tuple[int, int],
                  producer: Producer) -> RunSummary:
    about = json.loads(json.dumps({"model": {"id": scorer.model_info["id"]},
                                   "config": scorer.config.to_dict()}, default=str))
    checkpoint = Checkpoint(out, TABLES, every_s=checkpoint_every_s, about=about)
    if force:
        checkpoint.clear()
    sharded = shards[0] > 1
    if sharded:
        remove_shard_info(out)
    previous = {} if force else _existing(out, ext)
    if not force:
        _check_same_run(out, scorer, about, checkpoint.about_saved(), finished=bool(previous))
    # encounters done: those in the tables, then those a stopped run saved in the checkpoint
    done = _fingerprints(_previous_rows(previous["encounters"])
                         if "encounters" in previous else [])
    done.update(_fingerprints(checkpoint.frames("encounters")))
    every_source, ignored = discover(paths)
    position = {source: n for n, source in enumerate(every_source)}
    sources = [s for s in every_source
               if not sharded or shard_of(s.encounter_id, shards[0]) == shards[1]]
    summary = RunSummary(sources=len(sources), ignored=ignored, out=out)
    seen: set[str] = set()
    # sources read whose encounters are not all scored yet, in order: [source id, to score]
    unfinished: deque[list[Any]] = deque()
    done_sources = 0
    source_of: dict[str, int] = {}  # encounter id -> position of its source in the whole run

    def finish_sources() -> None:
        nonlocal done_sources
        while unfinished and unfinished[0][1] == 0:
            unfinished.popleft()
            done_sources += 1
            if progress is not None:
                progress(done_sources, len(sources), summary)

    events = producer([(position[s], s) for s in sources], done)
    try:
        for event in events:
            if isinstance(event, SourceRead):
                for encounter_id in event.encounter_ids:
                    source_of.setdefault(encounter_id, event.position)
                seen |= event.speakers
                summary.skipped += event.skipped
                summary.changed += len(event.changed)
                if event.error is not None:
                    summary.failures.append((event.source_id, event.error))
                unfinished.append([event.source_id, event.kept])
                finish_sources()
                continue
            # the rows go to the checkpoint's shards on disk, and the tables are written
            # from there at the end: the memory a run needs does not grow with its rows
            rows = {**event.rows, "encounters": pd.DataFrame(event.encounter_rows)}
            summary.encounters += len(event.encounter_ids)
            summary.unscorable += event.unscorable
            summary.utterances += event.utterances
            checkpoint.add(rows)
            for _ in event.encounter_ids:
                unfinished[0][1] -= 1  # encounters come out in the order their sources were read
                finish_sources()
        if not sharded:  # a shard sees only some speakers: the merge checks the mapping
            _check_roles_used(scorer.roles, (), summary, seen)
        _write_tables(out, ext, checkpoint, previous)
    except KeyboardInterrupt:
        checkpoint.save()
        raise RunInterrupted(
            Warnings.W007.format(path=out, n=checkpoint.saved_encounters())
        ) from None
    except BaseException:
        checkpoint.save()
        raise
    checkpoint.clear()
    _write_failures(out, summary.failures)
    _write_run(out, scorer, summary)
    if sharded:
        ids = [i for f in iter_table(out / f"encounters{ext}")
               for i in f["encounter_id"].astype(str)]
        _write_shard(out, scorer, summary, shards, ext, every_source,
                     {i: source_of.get(i, len(every_source)) for i in ids}, seen)
    if reports:
        from .reports import write_reports

        write_reports(out, out / "reports", redact=redact, pdf=pdf)
    return summary


def _write_tables(out: Path, ext: str, checkpoint: Checkpoint,
                  previous: dict[str, Path]) -> None:
    """Write the five tables: the rows already in ``out`` (less those of encounters scored
    again), then the checkpoint's, one chunk at a time. A table is left as it is when no
    encounter was scored."""
    scored = set(_fingerprints(checkpoint.frames("encounters")))
    # the encounters table goes last: a run killed while writing leaves those encounters
    # unscored, and the next run scores them again and replaces their rows in the other tables
    for name in ("utterances", "speakers", "cues", "highlights", "encounters"):
        old = previous.get(name)
        if old is not None and not scored:
            continue
        # only rows still in memory, one frame of this run's: they keep their own types
        schema = checkpoint.schema(name) if old is not None or checkpoint.shards() else None
        parts: Iterable[pd.DataFrame] = checkpoint.frames(name)
        if old is not None:
            with _unreadable_is_e052(old):  # or of types that do not go with this run's
                schema = _with_columns_of(old, schema)
            parts = chain((without_encounters(f, scored) for f in _previous_rows(old)), parts)
        write_frames(parts, out / f"{name}{ext}", schema=schema, empty=empty_table(name))


def _with_columns_of(path: Path, schema: pa.Schema | None) -> pa.Schema | None:
    """``schema`` with the columns of the table at ``path`` first, as a concatenation of its
    rows and new rows has them (a column of a text table takes the type of the new rows, or
    is left as read)."""
    if path.suffix.lower() == ".parquet":
        old = pq.read_schema(path)
        return old if schema is None else pa.unify_schemas([old, schema],
                                                           promote_options="permissive")
    if schema is None:
        return None
    columns = table_columns(path)
    fields = [schema.field(c) if c in schema.names else pa.field(c, pa.null()) for c in columns]
    fields += [f for f in schema if f.name not in columns]
    return pa.schema(fields, metadata=schema.metadata)


def _fingerprints(frames: Iterable[pd.DataFrame]) -> dict[str, str]:
    """Encounter id → fingerprint from ``encounters`` rows (``""`` for rows written before
    the table had the column: such an encounter is taken as done, as it was then)."""
    done: dict[str, str] = {}
    for frame in frames:
        prints = (frame["fingerprint"].fillna("").astype(str) if "fingerprint" in frame
                  else [""] * len(frame))
        done.update(zip(frame["encounter_id"].astype(str), prints, strict=True))
    return done


def _write_shard(out: Path, scorer: Scorer, summary: RunSummary, shards: tuple[int, int],
                 ext: str, every_source: list[Source], order: dict[str, int],
                 seen: set[str]) -> None:
    """``shard.json`` and the order of the shard's encounters in the whole run (merge)."""
    n, index = shards
    info = {
        "num_shards": n,
        "shard_index": index,
        "sources_total": len(every_source),
        "inputs": inputs_fingerprint([s.encounter_id for s in every_source]),
        "ext": ext,
        "model": json.loads(json.dumps(scorer.model_info, default=str)),
        "config": scorer.config.to_dict(),
        "roles": dict(scorer.roles),
        "roles_seen": sorted(label for label in scorer.roles
                             if label.strip().casefold() in seen),
        "sources": [[p, s.encounter_id] for p, s in enumerate(every_source)
                    if shard_of(s.encounter_id, n) == index],
    }
    write_shard_info(out, info, order)


def _check_roles_used(roles: dict[str, Role] | None, encounters: Iterable[Encounter],
                      summary: RunSummary, seen: set[str] | None = None) -> None:
    """A role mapping that names no speaker of the run is a failure of the run (E025)."""
    if not roles:
        return
    keys = set(seen or ())
    for encounter in encounters:
        keys.update(speaker_keys(encounter))
    try:
        check_mapping_used(roles, keys)
    except CompassionError as exc:
        summary.add_failures([("--role", exc)])


def _write_failures(out: Path, failures: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame(failures, columns=["source", "error"])
    frame.insert(1, "code", frame["error"].str.extract(r"\[(E\d+)\]", expand=False))
    atomic_write(out / "failures.csv", lambda tmp: frame.to_csv(tmp, index=False))


def _write_run(out: Path, scorer: Scorer, summary: RunSummary) -> None:
    info = {
        "model": scorer.model_info,
        "config": scorer.config.to_dict(),
        "sources": summary.sources,
        "encounters_scored": summary.encounters,
        "encounters_skipped": summary.skipped,
        "encounters_changed": summary.changed,
        "encounters_unscorable": summary.unscorable,
        "utterances_scored": summary.utterances,
        "failures": len(summary.failures),
    }
    write_text(out / "run.json", json.dumps(info, indent=2, default=str) + "\n")
