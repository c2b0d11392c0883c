"""The installed version of compassion-nlp (from the package metadata, one source of truth)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("compassion-nlp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
