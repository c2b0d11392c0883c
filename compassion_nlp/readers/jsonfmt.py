"""JSON and JSON Lines transcripts.

Recognised by their keys:

- QMSum meetings: ``{"meeting_transcripts": [{"speaker", "content"}]}`` (setting: meeting);
- generic turn lists: ``[{"speaker", "text", "start", "end"}]`` as a JSON array, as JSON Lines,
  or under a key such as ``"turns"``/``"segments"``/``"utterances"``;
- speech-to-text outputs (WhisperX, AWS Transcribe, Deepgram, AssemblyAI, Rev.ai, whisper
  timestamped): see :mod:`.asr`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import CompassionError, Errors
from .base import Fragment, RawTranscript
from .tables import SPEAKER_COLUMNS, START_COLUMNS, END_COLUMNS, TEXT_COLUMNS

_LIST_KEYS = ("turns", "utterances", "segments", "transcript", "dialogue", "conversation",
              "messages", "data", "items")


def load_json(path: Path, text: str) -> Any:
    """Parse JSON, or JSON Lines (one object per line), with a coded error on failure."""
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as first:
        lines = [line for line in stripped.split("\n") if line.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            items = []
            for number, line in enumerate(stripped.split("\n"), 1):
                if not line.strip():
                    continue
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CompassionError(
                        Errors.E008, path, format="JSON Lines",
                        detail=f"line {number}, column {exc.colno}: {exc.msg}",
                    ) from None
            return items
        raise CompassionError(
            Errors.E008, path, format="JSON",
            detail=f"line {first.lineno}, column {first.colno}: {first.msg}",
        ) from None


def _field(item: dict[str, Any], aliases: tuple[str, ...]) -> Any:
    lowered = {k.lower(): v for k, v in item.items()}
    for alias in aliases:
        if alias in lowered and lowered[alias] is not None:
            return lowered[alias]
    return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        from .text import parse_time

        return parse_time(str(value))


def _generic(items: list[Any], path: Path) -> RawTranscript | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if _field(items[0], TEXT_COLUMNS) is None:
        return None
    fragments = []
    for item in items:
        text = _field(item, TEXT_COLUMNS)
        speaker = _field(item, SPEAKER_COLUMNS + ("role",))
        fragments.append(
            Fragment(
                None if speaker is None else str(speaker),
                "" if text is None else str(text),
                None,
                _num(_field(item, START_COLUMNS)),
                _num(_field(item, END_COLUMNS)),
            )
        )
    return RawTranscript(fragments, metadata={"json": "generic"})


def read_json(path: Path, text: str) -> list[RawTranscript]:
    """Read any supported JSON transcript layout (see the module docstring)."""
    from . import asr

    data = load_json(path, text)
    if isinstance(data, dict) and isinstance(data.get("meeting_transcripts"), list):
        fragments = [
            Fragment(str(t.get("speaker") or "") or None, str(t.get("content") or ""))
            for t in data["meeting_transcripts"]
            if isinstance(t, dict)
        ]
        return [RawTranscript(fragments, setting="meeting", metadata={"json": "qmsum"})]
    found = asr.read_asr_json(data, path)
    if found is not None:
        return [found]
    if isinstance(data, list):
        raw = _generic(data, path)
        if raw is not None:
            return [raw]
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                raw = _generic(value, path)
                if raw is not None:
                    return [raw]
    raise CompassionError(
        Errors.E004, path, detail="JSON with no known transcript layout",
        formats="json (QMSum, WhisperX, AWS Transcribe, Deepgram, AssemblyAI, Rev.ai, "
        "[{speaker, text, start, end}])",
    )
