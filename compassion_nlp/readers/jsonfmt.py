"""JSON and JSON Lines transcripts.

Recognised by their keys:

- QMSum meetings: ``{"meeting_transcripts": [{"speaker", "content"}]}`` (setting: meeting);
- MIBot counselling conversations: ``{"participant_id", "utterances": [{"speaker":
  "counsellor"|"client", "text"}]}`` (counsellor: clinician, client: patient; the model-made
  ``auto_misc_label`` codes are not read);
- generic turn lists: ``[{"speaker", "text", "start", "end"}]`` as a JSON array, as JSON Lines,
  or under a key such as ``"turns"``/``"segments"``/``"utterances"``;
- speech-to-text outputs (WhisperX, AWS Transcribe, Deepgram, AssemblyAI, Rev.ai, whisper
  timestamped): see :mod:`.asr`.

A QMSum meeting or a generic turn list in which no item has a speaker is an E005 error. Speaker
and text values that are lists or objects are ignored; times that are not finite numbers are
dropped. JSON that cannot be parsed (bad syntax, nesting too deep, a giant number) is E008.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..errors import CompassionError, Errors
from ..model import Role
from .base import Fragment, RawTranscript, ReaderSpec
from .tables import END_COLUMNS, SPEAKER_COLUMNS, START_COLUMNS, TEXT_COLUMNS

#: MIBot speaker names and their roles (as sure as a format hint can be)
MIBOT_ROLES: dict[str, tuple[Role, float]] = {
    "counsellor": ("clinician", 1.0), "client": ("patient", 1.0),
}
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
                except (ValueError, RecursionError) as exc:
                    raise _unreadable(path, exc, f"line {number}") from None
            return items
        raise CompassionError(
            Errors.E008, path, format="JSON",
            detail=f"line {first.lineno}, column {first.colno}: {first.msg}",
        ) from None
    except (ValueError, RecursionError) as exc:
        raise _unreadable(path, exc, "") from None


def _unreadable(path: Path, exc: Exception, where: str) -> CompassionError:
    """E008 for JSON that parses but cannot be loaded (too deep, a giant number)."""
    why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
    return CompassionError(
        Errors.E008, path, format="JSON", detail=f"{where + ': ' if where else ''}{why}"
    )


def _field(item: dict[str, Any], aliases: tuple[str, ...]) -> Any:
    lowered = {k.lower(): v for k, v in item.items()}
    for alias in aliases:
        if alias in lowered and lowered[alias] is not None:
            return lowered[alias]
    return None


def _num(value: Any) -> float | None:
    """A time in seconds from a number or a ``"00:01:02.5"`` string; ``None`` if unreadable."""
    from .text import parse_time

    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        seconds = float(value) if abs(value) < 1e12 else None
    else:
        seconds = parse_time(str(value)) if isinstance(value, str) else None
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _scalar(value: Any) -> str | None:
    """A string from a JSON string or number; ``None`` for null, lists and objects."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return None
    return str(value)


def _generic(items: list[Any], path: Path) -> RawTranscript | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if _field(items[0], TEXT_COLUMNS) is None:
        return None
    fragments = []
    for item in items:
        fragments.append(
            Fragment(
                _scalar(_field(item, SPEAKER_COLUMNS + ("role",))),
                _scalar(_field(item, TEXT_COLUMNS)) or "",
                None,
                _num(_field(item, START_COLUMNS)),
                _num(_field(item, END_COLUMNS)),
            )
        )
    return RawTranscript(fragments, metadata={"json": "generic", "speakerless_ok": False})


def read_json(path: Path, text: str) -> list[RawTranscript]:
    """Read any supported JSON transcript layout (see the module docstring)."""
    from . import asr

    data = load_json(path, text)
    if isinstance(data, dict) and isinstance(data.get("meeting_transcripts"), list):
        fragments = [
            Fragment(_scalar(t.get("speaker")), _scalar(t.get("content")) or "")
            for t in data["meeting_transcripts"]
            if isinstance(t, dict)
        ]
        return [
            RawTranscript(
                fragments, setting="meeting",
                metadata={"json": "qmsum", "speakerless_ok": False},
            )
        ]
    if (
        isinstance(data, dict) and "participant_id" in data
        and isinstance(data.get("utterances"), list)
    ):
        raw = _generic(data["utterances"], path)
        if raw is not None:
            raw.setting = "clinical"
            raw.role_hints = dict(MIBOT_ROLES)
            raw.metadata.update(json="mibot", participant_id=_scalar(data["participant_id"]))
            return [raw]
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


def looks_like_json(head: str, text: str) -> bool:
    """True for a JSON document, or JSON Lines whose first line is an object."""
    if head[:1] not in "[{":
        return False
    try:
        json.loads(text)
        return True
    except (ValueError, RecursionError):
        first = text.lstrip().split("\n", 1)[0]
        try:
            json.loads(first)
            return first.lstrip().startswith("{")
        except (ValueError, RecursionError):
            return False


SPEC = ReaderSpec(
    "json", (".json", ".jsonl"), lambda paths, texts: read_json(paths[0], texts[0]),
    sniff=looks_like_json, sniff_order=2, aliases=("jsonl",),
)
