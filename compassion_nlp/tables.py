"""One home for the output tables: their columns, the builders of their rows, and writing them.

The five tables of a scoring run (``utterances``, ``encounters``, ``speakers``, ``cues``,
``highlights``; columns in the README), built from an encounter's stored predictions and what
was derived from them, and written as Parquet, CSV or JSON Lines by extension. Every file the
package writes goes through :func:`atomic_write`: a temporary file in the same folder renamed
over the target, so that a reader never sees half a file, even after a crash.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .config import COMPONENT_WEIGHTS, DEFAULT_CONFIG, ScoringConfig
from .errors import CompassionError, Errors
from .highlights import Highlight
from .linking import CueLink
from .measures import NAN, CompassionScore, inclusiveness_score
from .model import (
    EXPRESSING_ROLES,
    LABELS,
    RESPONDING_ROLES,
    ROLES,
    UTTERANCE_COLUMNS,
    Encounter,
    utterance_columns,
    utterances_dataframe,
)

if TYPE_CHECKING:
    from .scoring import ScoredEncounter

TABLE_EXTENSIONS: tuple[str, ...] = (".parquet", ".csv", ".jsonl")
#: the tables of a scoring run, in the order they are written (``encounters`` last)
TABLES: tuple[str, ...] = ("utterances", "encounters", "speakers", "cues", "highlights")
PROBABILITY_COLUMNS = tuple(f"p_{label.lower()}" for label in LABELS)
LABEL_COLUMNS = tuple(label.lower() for label in LABELS)
SCORED_UTTERANCE_COLUMNS = (*UTTERANCE_COLUMNS, *PROBABILITY_COLUMNS, *LABEL_COLUMNS)
CUE_COLUMNS = (
    "encounter_id", "utterance_id", "turn_id", "speaker", "source_line", "start", "p_cue",
    "episode", "responded", "response_utterance_id", "response_labels", "latency_turns",
    "latency_seconds", "raised_again",
)
HIGHLIGHT_COLUMNS = (
    "encounter_id", "kind", "rank", "utterance_id", "turn_id", "speaker", "role", "start", "end",
    "source_line", "text", "labels", "probability", "cue_utterance_id", "cue_text",
    "followed_by_utterance_id", "followed_by_text", "cue_kind", "suggestion",
)
#: the columns of the tables that hold text (CSV cannot tell "007" from a number)
TEXT_COLUMNS: tuple[str, ...] = (
    "encounter_id", "speaker", "role", "role_source", "utterance_id", "text", "setting", "date",
    "unscorable", "fingerprint", "response_utterance_id", "response_labels", "kind", "labels",
    "cue_utterance_id", "cue_text", "followed_by_utterance_id", "followed_by_text", "cue_kind",
    "suggestion",
)
#: the integer columns that may be empty: read back from CSV and JSON Lines as nullable
#: integers (as floats, ``2`` would be written back as ``2.0`` by a resumed run)
NULLABLE_INT_COLUMNS: tuple[str, ...] = ("source_line", "latency_turns")
#: rows read or written at a time when a table is streamed (:func:`iter_table`,
#: :func:`write_frames`)
CHUNK_ROWS = 65_536
#: the dtype pandas gives text: ``str`` from pandas 3, object before
TEXT_DTYPE = pd.Series([""]).dtype
#: the columns of each table when a run has no rows for it (encounters and speakers have
#: more columns, which only rows define)
EMPTY_COLUMNS: dict[str, tuple[str, ...]] = {
    "utterances": SCORED_UTTERANCE_COLUMNS,
    "cues": CUE_COLUMNS,
    "highlights": HIGHLIGHT_COLUMNS,
    "encounters": ("encounter_id",),
    "speakers": ("encounter_id", "speaker", "role"),
}


# ---------------------------------------------------------------- rows and frames


def utterances_frame(scored: Sequence[ScoredEncounter]) -> pd.DataFrame:
    """One row per utterance of the scored encounters: the read columns plus ``p_<label>`` and
    ``<label>``."""
    if not any(len(s.probabilities) for s in scored):
        frame = utterances_dataframe([s.encounter for s in scored])
        for column in (*PROBABILITY_COLUMNS, *LABEL_COLUMNS):
            frame[column] = []
        return frame
    probabilities = np.concatenate([s.probabilities for s in scored])
    decided = np.concatenate([s.decided for s in scored])
    columns = utterance_columns([s.encounter for s in scored])
    columns.update({c: probabilities[:, j].round(4) for j, c in enumerate(PROBABILITY_COLUMNS)})
    columns.update({c: decided[:, j] for j, c in enumerate(LABEL_COLUMNS)})
    return pd.DataFrame(columns)


def cues_frame(scored: Sequence[ScoredEncounter]) -> pd.DataFrame:
    """One row per cue of an expressing speaker, with the response it got (typed columns,
    built in one step for all the scored encounters)."""
    cue = LABELS.index("CUE")
    at, links, ids, speakers, p_cue = [], [], [], [], []
    for s in scored:
        utterances = s.encounter.view.utterances
        for link in s.cues:
            at.append(utterances[link.cue_index])
            links.append(link)
            ids.append(s.encounter.id)
            speakers.append(s.encounter.speakers[link.speaker].name)
            p_cue.append(round(float(s.probabilities[link.cue_index, cue]), 4))

    columns = {
        "encounter_id": _texts(ids),
        "utterance_id": _texts([link.utterance_id for link in links]),
        "turn_id": _typed([link.turn_id for link in links], "int64"),
        "speaker": _texts(speakers),
        "source_line": _typed([u.source_line for u in at], "Int64"),
        "start": _typed([u.start for u in at], "float64"),
        "p_cue": _typed(p_cue, "float64"),
        "episode": _typed([link.episode for link in links], "int64"),
        "responded": _typed([link.responded for link in links], "bool"),
        "response_utterance_id": _texts([link.response_utterance_id for link in links]),
        "response_labels": _texts(["|".join(link.response_labels) for link in links]),
        "latency_turns": _typed([link.latency_turns for link in links], "Int64"),
        "latency_seconds": _typed([link.latency_seconds for link in links], "float64"),
        "raised_again": _typed([link.raised_again for link in links], "bool"),
    }
    return pd.DataFrame(columns)


#: the highlights columns that are not text
HIGHLIGHT_TYPES = {"rank": "int64", "turn_id": "int64", "start": "float64", "end": "float64",
                   "source_line": "Int64", "probability": "float64"}


def highlights_frame(scored: Sequence[ScoredEncounter]) -> pd.DataFrame:
    """One row per highlight (flattened)."""
    rows = [_flat_highlight(s.encounter.id, h) for s in scored for h in s.highlights]
    columns = {}
    for name in HIGHLIGHT_COLUMNS:
        values = [r[name] for r in rows]
        columns[name] = (_typed(values, HIGHLIGHT_TYPES[name]) if name in HIGHLIGHT_TYPES
                         else _texts(values))
    return pd.DataFrame(columns)


def _typed(values: list[Any], dtype: str) -> Any:
    """A column of ``dtype`` (``None`` is NaN in float64 and NA in Int64)."""
    if dtype == "Int64":
        return pd.array(values, dtype="Int64")
    if dtype == "float64":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return np.array(values, dtype=dtype)


def _texts(values: list[str | None]) -> pd.Series:
    """A text column in the dtype pandas gives text (``str`` from pandas 3, else object), the
    same whether or not some or all values are None: a table's columns keep their types
    however its rows are grouped."""
    return pd.Series(values, dtype=TEXT_DTYPE)


def _flat_highlight(encounter_id: str, h: Highlight) -> dict[str, Any]:
    m = h.moment
    return {
        "encounter_id": encounter_id, "kind": h.kind, "rank": h.rank,
        "utterance_id": m.utterance_id, "turn_id": m.turn_id, "speaker": m.speaker,
        "role": m.role, "start": m.start, "end": m.end, "source_line": m.source_line,
        "text": m.text, "labels": "|".join(h.labels), "probability": h.probability,
        "cue_utterance_id": h.cue.utterance_id if h.cue else None,
        "cue_text": h.cue.text if h.cue else None,
        "followed_by_utterance_id": h.followed_by.utterance_id if h.followed_by else None,
        "followed_by_text": h.followed_by.text if h.followed_by else None,
        "cue_kind": h.cue_kind, "suggestion": h.suggestion,
    }


def speakers_frame(scored: Sequence[ScoredEncounter]) -> pd.DataFrame:
    """One row per speaker of the scored encounters (:func:`speaker_rows`)."""
    return pd.DataFrame([row for s in scored for row in speaker_rows(
        s.encounter, s.decided, s.cues, config=s.compassion.config)])


def encounter_row(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink], score: CompassionScore
) -> dict[str, object]:
    """One row of the ``encounters`` table (see the README for the columns)."""
    view = encounter.view
    utterances, roles = view.utterances, view.roles
    words: Counter[str] = Counter()
    for n, role in zip(view.words, roles, strict=True):
        words[role] += n
    total_words = sum(words.values()) or 1
    substantive = np.array(view.substantive, dtype=bool)
    responding = np.array([r in RESPONDING_ROLES for r in roles], dtype=bool)
    expressing = np.array([r in EXPRESSING_ROLES for r in roles], dtype=bool)
    n_resp = int(responding.sum())
    row: dict[str, object] = {
        "encounter_id": encounter.id,
        "setting": encounter.setting,
        "date": str(encounter.metadata.get("date") or ""),
        "turns": len(encounter.turns),
        "utterances": len(utterances),
        "duration_seconds": _duration(encounter),
        "responding_utterances": n_resp,
        "expressing_utterances": int(expressing.sum()),
    }
    for j, label in enumerate(LABELS):
        mask = expressing if label == "CUE" else responding
        count = int(decided[mask, j].sum()) if len(decided) else 0
        denominator = int((mask & substantive).sum())
        row[f"n_{label.lower()}"] = count
        row[f"{label.lower()}_per_10"] = round(count / denominator * 10, 3) if denominator else NAN
    episodes: dict[int, CueLink] = {}
    for link in links:
        episodes.setdefault(link.episode, link)
    responded = sum(1 for e in episodes.values() if e.responded)
    row["cues"] = len(links)
    row["cue_episodes"] = len(episodes)
    row["cues_responded"] = responded
    row["missed_opportunities"] = len(episodes) - responded
    row["response_rate"] = round(responded / len(episodes), 4) if episodes else NAN
    for role in ROLES:
        row[f"talk_share_{role}"] = round(words[role] / total_words, 4)
    asked = np.array(view.questions, dtype=bool)
    row["questions_responding"] = int((asked & responding).sum())
    row["questions_expressing"] = int((asked & expressing).sum())
    row["compassion_score"] = score.value
    row["unscorable"] = score.unscorable or ""
    for name in COMPONENT_WEIGHTS:
        row[f"component_{name}"] = score.components.get(name, NAN)
    row["fingerprint"] = encounter.fingerprint
    return row


def speaker_rows(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink], *,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> list[dict[str, object]]:
    """One row per speaker: talk, questions, label counts and rates, cues raised/answered."""
    view = encounter.view
    total_words = sum(view.words) or 1
    raised = Counter(link.speaker for link in links)
    answered: Counter[str] = Counter()
    seen: set[int] = set()
    for link in links:
        if link.responded and link.episode not in seen and link.response_index is not None:
            seen.add(link.episode)
            answered[view.speakers[link.response_index]] += 1
    of_speaker: dict[str, list[int]] = {}
    for i, speaker in enumerate(view.speakers):
        of_speaker.setdefault(speaker, []).append(i)
    turns_of = Counter(t.speaker for t in encounter.turns)
    rows = []
    for spk in encounter.speakers.values():
        idx = of_speaker.get(spk.id, [])
        if not idx:
            continue
        n = len(idx)
        substantive = sum(1 for i in idx if view.substantive[i])
        turns = turns_of[spk.id]
        row: dict[str, object] = {
            "encounter_id": encounter.id,
            "speaker": spk.name,
            "role": spk.role,
            "role_source": spk.role_source,
            "role_confidence": spk.role_confidence,
            "turns": turns,
            "utterances": n,
            "substantive_utterances": substantive,
            "words": sum(view.words[i] for i in idx),
            "questions": sum(1 for i in idx if view.questions[i]),
        }
        row["talk_share"] = round(row["words"] / total_words, 4)  # type: ignore[operator]
        for j, label in enumerate(LABELS):
            count = int(decided[idx, j].sum())
            row[f"n_{label.lower()}"] = count
            row[f"{label.lower()}_per_10"] = round(count / n * 10, 3)
        row["cues_raised"] = raised.get(spk.id, 0)
        row["cue_episodes_answered"] = answered.get(spk.id, 0)
        row["inclusiveness_score"] = (
            inclusiveness_score(turns, row["n_inclusive"], config=config)  # type: ignore[arg-type]
            if spk.role == "leader" else NAN
        )
        rows.append(row)
    return rows


def _duration(encounter: Encounter) -> float:
    starts = [t.start for t in encounter.turns if t.start is not None]
    ends = [t.end for t in encounter.turns if t.end is not None]
    if not starts or not ends:
        return NAN
    return round(max(ends) - min(starts), 3)


def without_encounters(frame: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """``frame`` less the rows of the encounters ``ids``."""
    return frame[~frame["encounter_id"].astype(str).isin(ids)]


def empty_table(name: str) -> pd.DataFrame:
    """A table with no rows and the columns :data:`EMPTY_COLUMNS` gives it."""
    return pd.DataFrame(columns=list(EMPTY_COLUMNS[name]))


# ---------------------------------------------------------------- files


def check_table_path(path: str | Path) -> Path:
    """Raise E011 unless the extension names a table format we write."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_EXTENSIONS:
        raise CompassionError(
            Errors.E011, path, ext=path.suffix or "(none)", exts=", ".join(TABLE_EXTENSIONS)
        )
    return path


def check_writable_folder(folder: str | Path) -> Path:
    """E026 unless ``folder`` is (or can be made) a folder this process can write files into:
    not an existing file, not read-only. Checked before any work is done."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CompassionError(Errors.E026, folder, detail="a file of that name exists")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CompassionError(
            Errors.E026, folder, detail=f"cannot write here ({exc.strerror or type(exc).__name__})"
        ) from None
    return folder


def atomic_write(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as Parquet, CSV or JSON Lines (by extension), atomically."""
    path = check_table_path(path)
    return atomic_write(path, lambda tmp: _write_frame(frame, tmp, path.suffix.lower()))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`: text columns come back as text (a speaker
    ``007``, a fingerprint ``12e4…`` or a date are not turned into numbers or timestamps, which
    a resumed run or a merge would then write back changed), and an integer column with empty
    cells as nullable integers."""
    path = check_table_path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        return pd.read_parquet(path)
    if ext == ".csv":
        return pd.read_csv(path, dtype=_CSV_TYPES)
    # JSON keeps its own types: numbers and strings are read as written
    return _nullable_ints(pd.read_json(path, orient="records", lines=True, dtype=False,
                                       convert_dates=False))


_CSV_TYPES = {**dict.fromkeys(TEXT_COLUMNS, str), **dict.fromkeys(NULLABLE_INT_COLUMNS, "Int64")}


def _nullable_ints(frame: pd.DataFrame) -> pd.DataFrame:
    present = [c for c in NULLABLE_INT_COLUMNS if c in frame.columns]
    return frame.astype(dict.fromkeys(present, "Int64")) if present else frame


def iter_table(path: str | Path, chunk_rows: int = CHUNK_ROWS, *,
               columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of a table written by :func:`write_table`, ``chunk_rows`` at a time, read as
    :func:`read_table` reads them (JSON Lines: each chunk's types from its own values), so a
    table of any size is read in bounded memory; only ``columns`` when given."""
    path = check_table_path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns):
            yield pa.Table.from_batches([batch]).to_pandas()
        return
    if ext == ".csv":
        with pd.read_csv(path, dtype=_CSV_TYPES, chunksize=chunk_rows,
                         usecols=columns) as reader:
            yield from reader
        return
    with pd.read_json(path, orient="records", lines=True, dtype=False, convert_dates=False,
                      chunksize=chunk_rows) as reader:
        for chunk in reader:
            yield _nullable_ints(chunk if columns is None else chunk[columns])


def table_columns(path: str | Path) -> list[str]:
    """The column names of a table file, from its schema, header or first row."""
    path = check_table_path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        return list(pq.read_schema(path).names)
    if ext == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    return list(next(iter_table(path, chunk_rows=1), pd.DataFrame()).columns)


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path, *,
                 schema: pa.Schema | None = None,
                 empty: pd.DataFrame | None = None) -> int:
    """Write ``frames`` one after another as one table (Parquet, CSV or JSON Lines by
    extension), atomically, holding one frame at a time; returns the number of rows.

    The table is what :func:`write_table` writes for the frames' concatenation. Every frame is
    given ``schema``'s columns and types (a column a frame lacks is empty); without a schema,
    the first frame's. With no rows at all, ``schema``'s empty table is written, or else
    ``empty``.
    """
    path = check_table_path(path)
    ext = path.suffix.lower()
    template = schema.empty_table().to_pandas() if schema is not None else None
    rows = 0

    def conformed() -> Iterator[pd.DataFrame]:
        nonlocal rows, template
        for frame in frames:
            if len(frame):
                if template is None:
                    template = frame.iloc[:0]
                rows += len(frame)
                yield _conform(frame, template)

    def write(tmp: str) -> None:
        if ext == ".parquet":
            _write_parquet(conformed(), tmp, schema)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                for frame in conformed():
                    if ext == ".csv":
                        frame.to_csv(handle, index=False, header=handle.tell() == 0)
                    else:
                        frame.to_json(handle, orient="records", lines=True, force_ascii=False)
        if not rows:
            nothing = template if template is not None else empty
            _write_frame(nothing if nothing is not None else pd.DataFrame(), tmp, ext)

    atomic_write(path, write)
    return rows


def _write_parquet(frames: Iterable[pd.DataFrame], tmp: str, schema: pa.Schema | None) -> None:
    """Parquet row groups of about :data:`CHUNK_ROWS` rows from ``frames``."""
    writer: pq.ParquetWriter | None = None
    buffered: list[pa.Table] = []
    for frame in frames:
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        schema = table.schema
        buffered.append(table)
        if sum(len(t) for t in buffered) >= CHUNK_ROWS:
            writer = writer or pq.ParquetWriter(tmp, schema)
            writer.write_table(pa.concat_tables(buffered))
            buffered = []
    if buffered:
        writer = writer or pq.ParquetWriter(tmp, schema)
        writer.write_table(pa.concat_tables(buffered))
    if writer is not None:
        writer.close()


def _conform(frame: pd.DataFrame, template: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``template``'s columns, in its order, and types (a column the template
    holds as ``object``, of no known type, is left as it is)."""
    if not frame.columns.equals(template.columns):
        frame = frame.reindex(columns=template.columns)
    changed = {c: t for (c, t), now in zip(template.dtypes.items(), frame.dtypes, strict=True)
               if t != now and not pd.api.types.is_object_dtype(t)}
    return frame.astype(changed) if changed else frame


def _write_frame(frame: pd.DataFrame, tmp: str, ext: str) -> None:
    if ext == ".parquet":
        frame.to_parquet(tmp, index=False)
    elif ext == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
