"""Splitting a scoring run into shards (SLURM arrays, many machines) and merging them back.

A run with ``num_shards=N, shard_index=i`` scores the sources whose id hashes to ``i``
(:func:`shard_of`: SHA-256 of the source id modulo ``N``, so a file's shard depends on its id
alone, not on which other files are there) and writes its tables into
``<out>/shards/<i>-of-<N>/``, a run folder like any other (locked, checkpointed, resumable).
When the run ends it writes ``shard.json`` there: the shard's number, a fingerprint of every
source of the run (all shards must have seen the same inputs), the model and settings, and
``shard-order.parquet``, the position of each of its encounters' source in the whole run.

:func:`merge_shards` checks that every shard of the run is there and finished, then writes the
same tables as one run over all the sources would: the same rows in the same order (rows are
put back in the order of their source in the whole run).

>>> # compassion-nlp score data/ --out results/ --num-shards 4 --shard-index $SLURM_ARRAY_TASK_ID
>>> # compassion-nlp merge results/
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CompassionError, Errors
from .runfolder import CHECKPOINT_NAME, LOCK_NAME, _try_lock, lock_folder
from .tables import (
    CHUNK_ROWS,
    TABLE_EXTENSIONS,
    TABLES,
    atomic_write,
    empty_table,
    iter_table,
    read_table,
    write_frames,
    write_table,
    write_text,
)

SHARDS_FOLDER = "shards"
SHARD_FILE = "shard.json"
ORDER_FILE = "shard-order.parquet"
#: what every shard of one run must agree on (model, settings, inputs, table format)
_SAME = ("num_shards", "inputs", "sources_total", "model", "config", "roles", "ext")


def check_shards(num_shards: int | None, shard_index: int | None) -> tuple[int, int]:
    """``(num_shards, shard_index)`` after checking them (E042); ``(1, 0)`` when neither is
    given."""
    if num_shards is None and shard_index is None:
        return 1, 0
    if num_shards is None:
        raise CompassionError(Errors.E042, detail="--shard-index without --num-shards")
    if isinstance(num_shards, bool) or not float(num_shards).is_integer() or num_shards < 1:
        raise CompassionError(Errors.E042,
                              detail=f"--num-shards must be a positive whole number, not "
                                     f"{num_shards}")
    if shard_index is None:
        if num_shards == 1:
            return 1, 0
        raise CompassionError(Errors.E042, detail=f"--num-shards {num_shards} without "
                                                  "--shard-index")
    if (isinstance(shard_index, bool) or not float(shard_index).is_integer()
            or not 0 <= shard_index < num_shards):
        raise CompassionError(Errors.E042, detail=f"--shard-index {shard_index} is not between "
                                                  f"0 and {int(num_shards) - 1}")
    return int(num_shards), int(shard_index)


def shard_of(source_id: str, num_shards: int) -> int:
    """The shard of a source: a stable hash of its id (the same on every machine and run)."""
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % num_shards


def shard_folder(out: str | Path, num_shards: int, shard_index: int) -> Path:
    """Where shard ``shard_index`` of ``num_shards`` writes: ``<out>/shards/<i>-of-<N>``."""
    width = max(3, len(str(num_shards - 1)))
    return Path(out) / SHARDS_FOLDER / f"{shard_index:0{width}d}-of-{num_shards:0{width}d}"


def inputs_fingerprint(source_ids: Sequence[str]) -> str:
    """A fingerprint of the run's sources, in order (every shard must see the same)."""
    digest = hashlib.sha256()
    for source_id in source_ids:
        digest.update(source_id.encode("utf-8") + b"\0")
    return digest.hexdigest()


def write_shard_info(folder: Path, info: dict[str, Any], order: dict[str, int]) -> None:
    """Write ``shard-order.parquet``, then ``shard.json`` (last: it marks the shard done)."""
    frame = pd.DataFrame({"encounter_id": list(order), "source_position": list(order.values())})
    write_table(frame.astype({"source_position": "int64"}), folder / ORDER_FILE)
    write_text(folder / SHARD_FILE, json.dumps(info, indent=2, default=str) + "\n")


def remove_shard_info(folder: Path) -> None:
    """Mark a shard folder as not finished (at the start of a run into it)."""
    for name in (SHARD_FILE, ORDER_FILE):
        (folder / name).unlink(missing_ok=True)


@dataclass
class MergeSummary:
    """What :func:`merge_shards` wrote."""

    shards: int = 0
    encounters: int = 0
    utterances: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    out: Path | None = None


def find_shards(paths: Iterable[str | Path]) -> list[Path]:
    """The shard folders named by ``paths``: shard folders themselves, or folders holding
    ``shards/`` (every subfolder of it is taken, finished or not)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if (path / SHARD_FILE).is_file():
            found.append(path)
        elif (path / SHARDS_FOLDER).is_dir():
            found.extend(sorted(p for p in (path / SHARDS_FOLDER).iterdir() if p.is_dir()))
        elif not path.exists():
            raise CompassionError(Errors.E001, path)
        else:
            raise CompassionError(Errors.E043, path, detail=f"neither a shard folder (no "
                                  f"{SHARD_FILE}) nor a folder with {SHARDS_FOLDER}/ in it")
    return found


def _is_locked(folder: Path) -> bool:
    path = folder / LOCK_NAME
    if not path.exists():
        return False
    with open(path, "a+", encoding="utf-8") as handle:
        return not _try_lock(handle)


def _load_shards(folders: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    shards: list[tuple[Path, dict[str, Any]]] = []
    for folder in folders:
        if _is_locked(folder):
            raise CompassionError(Errors.E043, folder, detail="a run is still writing into it")
        if (folder / CHECKPOINT_NAME).exists() or not (folder / SHARD_FILE).is_file():
            raise CompassionError(Errors.E043, folder, detail="the shard's run did not finish")
        try:
            info = json.loads((folder / SHARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            detail = f"{SHARD_FILE} unreadable ({type(exc).__name__})"
            raise CompassionError(Errors.E043, folder, detail=detail) from None
        shards.append((folder, info))
    if not shards:
        raise CompassionError(Errors.E043, ", ".join(str(f) for f in folders) or "(none)",
                              detail="no shard folders found")
    first_folder, first = shards[0]
    for folder, info in shards[1:]:
        for key in _SAME:
            if info.get(key) != first.get(key):
                raise CompassionError(Errors.E044, folder,
                                      detail=f"'{key}' is not the same as in {first_folder}")
    n = first["num_shards"]
    indices = [info["shard_index"] for _, info in shards]
    doubled = sorted({i for i in indices if indices.count(i) > 1})
    if doubled:
        raise CompassionError(Errors.E044, first_folder.parent,
                              detail=f"shard(s) {doubled} given more than once")
    missing = sorted(set(range(n)) - set(indices))
    if missing:
        raise CompassionError(Errors.E043, first_folder.parent,
                              detail=f"{len(missing)} of {n} shard(s) missing: index "
                                     + ", ".join(str(i) for i in missing[:20])
                                     + (" …" if len(missing) > 20 else ""))
    return sorted(shards, key=lambda s: s[1]["shard_index"])


def _run_positions(frame: pd.DataFrame, position: dict[str, int], last: int) -> np.ndarray:
    """The position in the whole run of each row's source (``last`` when unknown)."""
    return (frame["encounter_id"].astype(str).map(position).fillna(last)
            .to_numpy(dtype=np.int64))


Keyed = tuple[np.ndarray, pd.DataFrame]


def _in_run_order(parts: list[Keyed]) -> Keyed:
    """Rows sorted by their run position, stably: among equal positions, the earlier part's
    rows first and each part's own order kept."""
    keys = np.concatenate([k for k, _ in parts])
    frame = pd.concat([f for _, f in parts], ignore_index=True)
    order = keys.argsort(kind="stable")
    return keys[order], frame.iloc[order].reset_index(drop=True)


def _shard_rows(path: Path, position: dict[str, int], last: int,
                chunk_rows: int) -> Iterator[Keyed]:
    """A shard's table in run order, ``chunk_rows`` at a time with each row's position: read
    as it streams when the table is in run order already (as a run scoring its sources in one
    go writes it), else sorted in memory (the rows of this shard's table only)."""
    keys = np.concatenate([_run_positions(f, position, last) for f in
                           iter_table(path, chunk_rows, columns=["encounter_id"])]
                          or [np.empty(0, dtype=np.int64)])
    if (np.diff(keys) >= 0).all():
        start = 0
        for chunk in iter_table(path, chunk_rows):
            yield keys[start:start + len(chunk)], chunk
            start += len(chunk)
        return
    keys, frame = _in_run_order([(keys, read_table(path))])
    for start in range(0, len(frame), chunk_rows):
        yield keys[start:start + chunk_rows], frame.iloc[start:start + chunk_rows]


def _merged(streams: list[Iterator[Keyed]]) -> Iterator[pd.DataFrame]:
    """The rows of ``streams`` (each in run order) merged in run order, a chunk at a time:
    among equal positions, the earlier stream's rows first."""
    nothing = np.empty(0, dtype=np.int64)
    held: list[tuple[np.ndarray, pd.DataFrame | None]] = [(nothing, None)] * len(streams)
    live = set(range(len(streams)))

    def more(s: int) -> None:  # stream s's next rows after those it holds, or its end
        chunk = next(streams[s], None)
        keys, frame = held[s]
        if chunk is None:
            live.discard(s)
        elif frame is None or not len(keys):
            held[s] = chunk
        else:
            held[s] = (np.concatenate([keys, chunk[0]]), pd.concat([frame, chunk[1]]))

    for s in range(len(streams)):
        while s in live and not len(held[s][0]):
            more(s)
    while live:
        # a live stream's rows still to come are at or after the last position it holds
        bound = min(held[s][0][-1] for s in live)
        parts = []
        for s, (keys, frame) in enumerate(held):
            cut = int(np.searchsorted(keys, bound, side="left"))
            if cut and frame is not None:
                parts.append((keys[:cut], frame.iloc[:cut]))
                held[s] = (keys[cut:], frame.iloc[cut:])
        if parts:
            yield _in_run_order(parts)[1]
        for s in [s for s in live if held[s][0][-1] == bound]:
            more(s)
    rest = [(k, f) for k, f in held if f is not None and len(k)]
    if rest:
        yield _in_run_order(rest)[1]


def _schema(paths: list[Path]) -> pa.Schema | None:
    """The columns and types of the shards' tables together, as a concatenation of all
    their rows has them (text tables: from every chunk's types)."""
    if paths[0].suffix.lower() == ".parquet":
        schemas = [pq.read_schema(p) for p in paths]
    else:
        schemas = [pa.Schema.from_pandas(chunk, preserve_index=False)
                   for p in paths for chunk in iter_table(p)]
    return pa.unify_schemas(schemas, promote_options="permissive") if schemas else None


def merge_shards(paths: Iterable[str | Path], out: str | Path | None = None) -> MergeSummary:
    """Merge the shard folders of one run into the tables of a single run, written to ``out``
    (default: the folder holding ``shards/``, when one folder is given).

    Raises:
        CompassionError: E043 when a shard is missing or unfinished, E044 when the shards are
            not of one run.
    """
    paths = [Path(p) for p in paths]
    if out is None:
        if len(paths) != 1 or (paths[0] / SHARD_FILE).is_file():
            raise CompassionError(Errors.E043, paths[0] if paths else "(none)",
                                  detail="give --out for the merged tables")
        out = paths[0]
    out = Path(out)
    shards = _load_shards(find_shards(paths))
    first = shards[0][1]
    ext = first["ext"]
    if ext not in TABLE_EXTENSIONS:
        raise CompassionError(Errors.E043, shards[0][0], detail=f"unknown table format {ext}")
    position: dict[str, int] = {}
    source_position: dict[str, int] = {}
    for folder, info in shards:
        order = pd.read_parquet(folder / ORDER_FILE)
        for encounter_id, pos in zip(order["encounter_id"], order["source_position"],
                                     strict=True):
            if encounter_id in position:
                raise CompassionError(Errors.E044, folder,
                                      detail=f"encounter {encounter_id} is in two shards")
            position[str(encounter_id)] = int(pos)
        source_position.update({str(s): int(p) for p, s in info["sources"]})
    last = int(first["sources_total"])
    summary = MergeSummary(shards=len(shards), out=out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_folder(out):
        # one table at a time, streamed: memory does not grow with the run's rows
        chunk_rows = max(CHUNK_ROWS // len(shards), 4096)
        for name in TABLES:
            paths = [folder / f"{name}{ext}" for folder, _ in shards]
            streams = [_shard_rows(p, position, last, chunk_rows) for p in paths]
            rows = write_frames(_merged(streams), out / f"{name}{ext}", schema=_schema(paths),
                                empty=empty_table(name))
            if name == "encounters":
                summary.encounters = rows
            elif name == "utterances":
                summary.utterances = rows
        failures = pd.concat([pd.read_csv(folder / "failures.csv", dtype=str,
                                          keep_default_na=False)
                              for folder, _ in shards], ignore_index=True)
        if len(failures):
            keys = failures["source"].map(source_position).fillna(last)
            failures = failures.iloc[keys.argsort(kind="stable").to_numpy()]
        unused = _unused_roles(shards)
        if unused is not None:
            failures = pd.concat([failures, pd.DataFrame(
                [{"source": "--role", "code": unused.code, "error": str(unused)}])],
                ignore_index=True)
        summary.failures = list(zip(failures["source"], failures["error"], strict=True))
        atomic_write(out / "failures.csv", lambda tmp: failures.to_csv(tmp, index=False))
        runs = [json.loads((folder / "run.json").read_text(encoding="utf-8"))
                for folder, _ in shards]
        counts = ("sources", "encounters_scored", "encounters_skipped", "encounters_changed",
                  "encounters_unscorable", "utterances_scored")
        run = {"model": runs[0]["model"], "config": runs[0]["config"],
               **{key: sum(r.get(key, 0) for r in runs) for key in counts},
               "failures": len(summary.failures), "shards": len(shards)}
        write_text(out / "run.json", json.dumps(run, indent=2, default=str) + "\n")
    return summary


def _unused_roles(shards: list[tuple[Path, dict[str, Any]]]) -> CompassionError | None:
    """E025 for the labels of the role mapping that no shard found (each shard saw only its
    own speakers)."""
    from .roles import check_mapping_used

    roles = shards[0][1].get("roles") or {}
    seen = {label.strip().casefold() for _, info in shards for label in info["roles_seen"]}
    try:
        check_mapping_used(roles, seen)
    except CompassionError as exc:
        return exc
    return None
