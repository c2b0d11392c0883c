"""Batch scoring to an output folder: the five tables, written atomically, resumable.

``score_to_folder`` reads every transcript, scores it, and writes to ``out``:

- ``utterances.<ext>``: one row per utterance (read columns, ``p_<label>``, ``<label>``);
- ``encounters.<ext>``: one row per encounter (counts, rates, cues, score and components);
- ``speakers.<ext>``: one row per speaker of each encounter;
- ``cues.<ext>``: one row per CUE of an expressing speaker, with its response;
- ``highlights.<ext>``: exemplary moments and missed opportunities with suggestions;
- ``reports/<encounter>.md`` (with ``reports=True``): a feedback report per encounter;
- ``failures.csv``: every source that could not be read, with the coded message;
- ``run.json``: the model, its thresholds and versions, and the counts of the run.

Re-running on the same folder skips encounters already in ``encounters.<ext>`` unless
``force``; the new rows are appended to the existing tables (each table is rewritten whole
through a temporary file, so a reader never sees half a file).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .tables import read_table, write_table

TABLES: tuple[str, ...] = ("utterances", "encounters", "speakers", "cues", "highlights")


@dataclass
class ScoreSummary:
    """What a batch run did."""

    sources: int = 0
    encounters: int = 0
    skipped: int = 0
    utterances: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    out: Path | None = None


def _existing(out: Path, ext: str) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLES:
        path = out / f"{name}{ext}"
        if path.exists():
            tables[name] = read_table(path)
    return tables


def score_to_folder(
    scorer: Any,
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    format: str | None = None,
    ext: str = ".parquet",
    force: bool = False,
    batch_size: int = 64,
    reports: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ScoreSummary:
    """Score transcripts and write the tables into ``out`` (see the module docstring).

    Args:
        scorer: a :class:`compassion_nlp.scoring.Scorer`.
        paths: files and folders (read recursively).
        ext: ``.parquet`` (default), ``.csv`` or ``.jsonl``.
        force: score again encounters that are already in the output.
        reports: also write a Markdown feedback report per encounter into ``out/reports/``.
        progress: called as ``progress(done, total, source_id)`` after each source.
    """
    from .readers import discover, read_paths
    from .tables import check_table_path

    out = Path(out)
    check_table_path(out / f"encounters{ext}")
    out.mkdir(parents=True, exist_ok=True)
    previous = {} if force else _existing(out, ext)
    done_ids: set[str] = set()
    if "encounters" in previous:
        done_ids = set(previous["encounters"]["encounter_id"].astype(str))
    sources, _ = discover(paths)
    summary = ScoreSummary(sources=len(sources), out=out)
    new: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    encounter_rows: list[dict[str, Any]] = []
    pending = []
    finished = 0

    def flush() -> None:
        if not pending:
            return
        for scored in scorer.score_encounters(pending, batch_size=batch_size):
            new["utterances"].append(scored.utterances_df())
            encounter_rows.append(scored.encounter_row())
            new["speakers"].append(scored.speakers_df())
            new["cues"].append(scored.cues_df())
            new["highlights"].append(scored.highlights_df())
            if reports:
                from .feedback import write_report

                write_report(scored, out / "reports")
            summary.encounters += 1
            summary.utterances += len(scored.encounter.utterances)
        pending.clear()

    for result in read_paths([], format=format, roles=scorer.roles, setting=scorer.setting,
                             max_mb=scorer.max_mb, sources=sources):
        finished += 1
        if result.error is not None:
            summary.failures.append((result.source.encounter_id, str(result.error)))
        for enc in result.encounters:
            if enc.id in done_ids:
                summary.skipped += 1
                continue
            pending.append(enc)
        if sum(len(e.utterances) for e in pending) >= batch_size * 16:
            flush()
        if progress is not None:
            progress(finished, len(sources), result.source.encounter_id)
    flush()
    if encounter_rows:
        new["encounters"].append(pd.DataFrame(encounter_rows))
    # the encounters table goes last: an interrupted run leaves those encounters unscored,
    # and the next run scores them again and replaces their rows in the other tables
    for name in ("utterances", "speakers", "cues", "highlights", "encounters"):
        frames = [f for f in new[name] if len(f)]
        if name in previous and not force:
            frames = [previous[name][~previous[name]["encounter_id"].astype(str).isin(
                {str(i) for f in frames for i in f["encounter_id"]})]] + frames
        if frames:
            table = pd.concat(frames, ignore_index=True)
        elif name in previous:
            table = previous[name]
        else:
            table = _empty(name)
        write_table(table, out / f"{name}{ext}")
    _write_failures(out, summary.failures)
    _write_run(out, scorer, summary)
    return summary


def _empty(name: str) -> pd.DataFrame:
    from .model import UTTERANCE_COLUMNS
    from .scoring import CUE_COLUMNS, HIGHLIGHT_COLUMNS, LABEL_COLUMNS, PROBABILITY_COLUMNS

    columns = {
        "utterances": [*UTTERANCE_COLUMNS, *PROBABILITY_COLUMNS, *LABEL_COLUMNS],
        "cues": list(CUE_COLUMNS),
        "highlights": list(HIGHLIGHT_COLUMNS),
        "encounters": ["encounter_id"],
        "speakers": ["encounter_id", "speaker", "role"],
    }[name]
    return pd.DataFrame(columns=columns)


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _write_failures(out: Path, failures: list[tuple[str, str]]) -> None:
    frame = pd.DataFrame(failures, columns=["source", "error"])
    frame.insert(1, "code", frame["error"].str.extract(r"\[(E\d+)\]", expand=False))
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".failures.csv.", suffix=".tmp")
    os.close(fd)
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out / "failures.csv")


def _write_run(out: Path, scorer: Any, summary: ScoreSummary) -> None:
    info = {
        "model": scorer.model_info,
        "sources": summary.sources,
        "encounters_scored": summary.encounters,
        "encounters_skipped": summary.skipped,
        "utterances_scored": summary.utterances,
        "failures": len(summary.failures),
    }
    _atomic_text(out / "run.json", json.dumps(info, indent=2, default=str) + "\n")


