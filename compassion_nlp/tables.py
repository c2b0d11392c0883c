"""Writing tables: the format follows the extension, and files are written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .errors import CompassionError, Errors

TABLE_EXTENSIONS: tuple[str, ...] = (".parquet", ".csv", ".jsonl")


def check_table_path(path: str | Path) -> Path:
    """Raise E011 unless the extension names a table format we write."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_EXTENSIONS:
        raise CompassionError(
            Errors.E011, path, ext=path.suffix or "(none)", exts=", ".join(TABLE_EXTENSIONS)
        )
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as Parquet, CSV or JSON Lines (by extension), atomically.

    The table is written to a temporary file in the same folder and renamed over the target,
    so a reader never sees a half-written file, even if the run is interrupted.
    """
    path = check_table_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        ext = path.suffix.lower()
        if ext == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif ext == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`."""
    path = check_table_path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        return pd.read_parquet(path)
    if ext == ".csv":
        return pd.read_csv(path)
    return pd.read_json(path, orient="records", lines=True)
