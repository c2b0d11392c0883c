"""The output folder of a scoring run: one run at a time, and finished work saved as it goes.

- :func:`lock_folder` holds a lock file in the folder for the whole run. A second run into the
  same folder stops at once with E027 instead of overwriting the first run's rows. The operating
  system releases the lock when the process ends, however it ends (``kill -9`` included), so a
  dead run never blocks the next one.
- :class:`Checkpoint` saves the rows of finished encounters in shards under
  ``<out>/.checkpoint/`` every few seconds while the run goes on. Each shard is written into a
  temporary folder and renamed into place, so a shard is whole or absent. The next run into the
  folder takes the shards' encounters as done (it resumes); a run that ends normally writes
  the tables from them, one shard at a time, and removes the checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import CompassionError, Errors
from .tables import write_text

LOCK_NAME = ".compassion-nlp.lock"
CHECKPOINT_NAME = ".checkpoint"
ABOUT_NAME = "about.json"


def _try_lock(handle: IO[str]) -> bool:
    """Take an exclusive lock on ``handle`` without waiting; False when another process has it."""
    try:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            handle.seek(0)  # locks the first byte
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def lock_folder(folder: str | Path) -> Iterator[Path]:
    """Hold ``folder``'s run lock until the block ends (E027 when another run holds it)."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held past this block
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "a process that has not written its id yet"
            handle.close()
            raise CompassionError(Errors.E027, folder, holder=holder)
        # the holder before us may have removed the file between our open and our lock
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}")
        handle.flush()
        yield folder
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        handle.close()


class Checkpoint:
    """Rows of finished encounters, saved in shards under ``<out>/.checkpoint/``.

    Args:
        folder: the run's output folder.
        tables: the table names; ``"encounters"`` must be one of them (it marks an encounter
            as finished).
        every_s: save the rows gathered so far when this many seconds passed since the last save.
    """

    def __init__(self, folder: str | Path, tables: tuple[str, ...], every_s: float = 10.0,
                 about: dict | None = None):
        self.root = Path(folder) / CHECKPOINT_NAME
        self.tables = tables
        self.every_s = every_s
        #: what the rows depend on (model, settings), kept beside the shards (:meth:`about_saved`)
        self.about = about
        self._pending: dict[str, list[pd.DataFrame]] = {name: [] for name in tables}
        self._last = time.monotonic()

    def shards(self) -> list[Path]:
        """The complete shards, oldest first (half-written ones are removed)."""
        if not self.root.is_dir():
            return []
        for partial in self.root.glob(".tmp-*"):
            shutil.rmtree(partial, ignore_errors=True)
        return sorted(p for p in self.root.glob("shard-*") if p.is_dir())

    def about_saved(self) -> dict | None:
        """The ``about`` of the run that saved the shards (None: no shards, or not recorded)."""
        path = self.root / ABOUT_NAME
        if not self.shards() or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def frames(self, name: str) -> Iterator[pd.DataFrame]:
        """The rows of table ``name``, shard by shard, oldest first, then those queued and not
        saved yet; an encounter saved more than once (scored again after its transcript
        changed) keeps its latest rows only. One shard's rows are read at a time."""
        shards = self.shards()
        latest: dict[str, int] = {}  # encounter id -> the last shard that holds it
        for n, shard in enumerate(shards):
            if (shard / "encounters.parquet").exists():
                ids = pd.read_parquet(shard / "encounters.parquet", columns=["encounter_id"])
                latest.update(dict.fromkeys(ids["encounter_id"].astype(str), n))
        for frame in self._queued("encounters"):
            latest.update(dict.fromkeys(frame["encounter_id"].astype(str), len(shards)))
        for n, shard in enumerate(shards):
            if (shard / f"{name}.parquet").exists():
                frame = pd.read_parquet(shard / f"{name}.parquet")
                stale = frame["encounter_id"].astype(str).map(latest).fillna(n) > n
                yield frame[~stale] if stale.any() else frame
        yield from self._queued(name)

    def schema(self, name: str) -> pa.Schema | None:
        """The columns and types of table ``name`` across its rows (None: no rows)."""
        schemas = [pq.read_schema(s / f"{name}.parquet") for s in self.shards()
                   if (s / f"{name}.parquet").exists()]
        schemas += [pa.Schema.from_pandas(f, preserve_index=False) for f in self._queued(name)]
        return pa.unify_schemas(schemas, promote_options="permissive") if schemas else None

    def add(self, rows: dict[str, pd.DataFrame]) -> None:
        """Queue the rows of finished encounters; save a shard when ``every_s`` has passed."""
        for name, frame in rows.items():
            self._pending[name].append(frame)
        if time.monotonic() - self._last >= self.every_s:
            self.save()

    def save(self) -> int:
        """Write the queued rows as one new shard; returns the number of encounters saved."""
        self._last = time.monotonic()
        n = sum(len(f) for f in self._pending["encounters"])
        if not n:
            return 0
        self.root.mkdir(parents=True, exist_ok=True)
        if self.about is not None and not (self.root / ABOUT_NAME).exists():
            write_text(self.root / ABOUT_NAME, json.dumps(self.about, default=str))
        number = len(list(self.root.glob("shard-*"))) + 1
        while (self.root / f"shard-{number:06d}").exists():
            number += 1
        tmp = self.root / f".tmp-{number:06d}-{os.getpid()}"
        tmp.mkdir()
        for name in self.tables:
            for frame in self._queued(name):
                frame.to_parquet(tmp / f"{name}.parquet", index=False)
        tmp.rename(self.root / f"shard-{number:06d}")
        self._pending = {name: [] for name in self.tables}
        return n

    def _queued(self, name: str) -> list[pd.DataFrame]:
        """The rows of ``name`` queued since the last save, as one frame (none when empty)."""
        frames = [f for f in self._pending[name] if len(f)]
        if len(frames) > 1:
            frames = [pd.concat(frames, ignore_index=True)]
        self._pending[name] = frames
        return frames

    def saved_encounters(self) -> int:
        """How many encounters the complete shards hold."""
        return sum(len(pd.read_parquet(s / "encounters.parquet", columns=["encounter_id"]))
                   for s in self.shards() if (s / "encounters.parquet").exists())

    def clear(self) -> None:
        """Remove the checkpoint (after its rows are in the tables)."""
        shutil.rmtree(self.root, ignore_errors=True)
