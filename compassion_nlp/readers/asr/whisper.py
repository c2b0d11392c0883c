"""whisper(X) JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import Fragment, RawTranscript
from .common import NO_SPACE_LANGUAGES, Vendor, Word, group_words, label_of, unit_fragments


def looks_whisper(segments: Any, data: Any) -> bool:
    if not isinstance(segments, list) or not segments:
        return False
    if isinstance(data, dict) and "language" in data and any(
        isinstance(s, dict) for s in segments
    ):
        return True
    if not all(isinstance(s, dict) for s in segments):
        return False
    for seg in segments:
        if not isinstance(seg.get("text"), str):
            return False
        for key in ("start", "end"):
            value = seg.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                return False
    if isinstance(data, list):
        return any(isinstance(s.get("words"), list) for s in segments)
    return True


def whisper_words(v: Vendor, raw_words: Any, where: str) -> list[Word]:
    """WhisperX (``word``) or whisper-timestamped (``text``) word entries."""
    words: list[Word] = []
    for j, raw in enumerate(v.array(raw_words, where, optional=True)):
        wwhere = f"{where}[{j}]"
        item = v.obj(raw, wwhere)
        value = item.get("word", item.get("text"))
        words.append(
            Word(
                v.text(value, f"{wwhere}.word", optional=True),
                v.time(item.get("start"), f"{wwhere}.start"),
                v.time(item.get("end"), f"{wwhere}.end"),
                label_of(item.get("speaker")),
            )
        )
    return words


def read_whisper(data: Any, path: Path) -> RawTranscript:
    """WhisperX (speakers per segment or per word) and plain whisper outputs."""
    segments = data["segments"] if isinstance(data, dict) else data
    root = "segments" if isinstance(data, dict) else ""
    language = str(data.get("language") or "").lower() if isinstance(data, dict) else ""
    joiner = "" if language in NO_SPACE_LANGUAGES else " "
    v = Vendor("WhisperX/whisper", path)
    fragments: list[Fragment] = []
    speakers = False
    for i, raw in enumerate(segments):
        where = f"{root}[{i}]"
        seg = v.obj(raw, where)
        text = v.text(seg.get("text"), f"{where}.text", optional=True)
        start = v.time(seg.get("start"), f"{where}.start")
        end = v.time(seg.get("end"), f"{where}.end")
        speaker = label_of(seg.get("speaker"))
        words = whisper_words(v, seg.get("words"), f"{where}.words")
        word_speakers = {w.speaker for w in words if w.speaker is not None}
        if len(word_speakers) > 1:
            current = speaker or next(w.speaker for w in words if w.speaker is not None)
            for w in words:
                current = w.speaker or current
                w.speaker = current
            parts = group_words(words, joiner)
            if parts and parts[0].start is None:
                parts[0].start = start
            if parts and parts[-1].end is None:
                parts[-1].end = end
            fragments.extend(parts)
            speakers = True
            continue
        speaker = speaker or (next(iter(word_speakers)) if word_speakers else None)
        speakers = speakers or speaker is not None
        fragments.extend(unit_fragments(speaker, text, start, end, words, joiner))
    return RawTranscript(fragments, metadata={"json": "whisperx" if speakers else "whisper"})
