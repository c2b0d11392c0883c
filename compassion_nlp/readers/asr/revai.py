"""Rev.ai JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import Fragment, RawTranscript
from .common import PAUSE_S, Vendor, ends_sentence, label_of


def rev_monologue(v: Vendor, mono: dict[str, Any], where: str,
                   label: str | None) -> list[Fragment]:
    """Fragments of one Rev.ai monologue: its element values joined as they are, cut after
    sentence-final punctuation and at long pauses."""
    fragments: list[Fragment] = []
    parts: list[str] = []
    start: float | None = None
    end: float | None = None
    for e, raw in enumerate(v.array(mono.get("elements"), f"{where}.elements")):
        ewhere = f"{where}.elements[{e}]"
        el = v.obj(raw, ewhere)
        value = v.text(el.get("value"), f"{ewhere}.value", optional=True)
        ts = v.time(el.get("ts"), f"{ewhere}.ts")
        end_ts = v.time(el.get("end_ts"), f"{ewhere}.end_ts")
        if parts and ts is not None and end is not None and ts - end > PAUSE_S:
            fragments.append(Fragment(label, "".join(parts), None, start, end))
            parts, start, end = [], None, None
        if not parts and not value.strip():
            continue  # the space between two fragments
        parts.append(value)
        if start is None and ts is not None:
            start = ts
        if end_ts is not None:
            end = end_ts
        if el.get("type") == "punct" and value.strip() and ends_sentence(value.strip()):
            fragments.append(Fragment(label, "".join(parts), None, start, end))
            parts, start, end = [], None, None
    if parts and "".join(parts).strip():
        fragments.append(Fragment(label, "".join(parts), None, start, end))
    return fragments


def read_revai(data: dict[str, Any], path: Path) -> RawTranscript:
    """Rev.ai transcript (``application/vnd.rev.transcript.v1.0+json``)."""
    v = Vendor("Rev.ai", path)
    fragments: list[Fragment] = []
    for m, raw in enumerate(v.array(data.get("monologues"), "monologues")):
        where = f"monologues[{m}]"
        mono = v.obj(raw, where)
        info = mono.get("speaker_info")
        name = None
        if isinstance(info, dict):
            name = label_of(info.get("display_name")) or label_of(info.get("name"))
        speaker = label_of(mono.get("speaker"))
        label = name or (None if speaker is None else f"Speaker {speaker}")
        fragments.extend(rev_monologue(v, mono, where, label))
    return RawTranscript(fragments, metadata={"json": "revai"})
