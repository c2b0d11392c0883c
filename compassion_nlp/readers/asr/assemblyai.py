"""AssemblyAI JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import Fragment, RawTranscript
from .common import Vendor, Word, group_words, label_of, unit_fragments

_AAI_KEYS = frozenset(
    {"audio_url", "acoustic_model", "language_model", "speech_model", "audio_duration",
     "webhook_url", "speaker_labels", "format_text", "punctuate", "dual_channel",
     "multichannel", "speakers_expected"}
)


def looks_assemblyai(data: dict[str, Any]) -> bool:
    if "utterances" not in data and "words" not in data:
        return False
    if len(_AAI_KEYS & data.keys()) >= 2:
        return True
    # structure alone: AssemblyAI words are {text, start, end, confidence} with integer ms
    for key in ("utterances", "words"):
        items = data.get(key)
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            continue
        first = items[0]
        if key == "utterances":
            words = first.get("words")
            if not isinstance(words, list) or not words or not isinstance(words[0], dict):
                continue
            first = words[0]
        if "text" in first and "confidence" in first and all(
            isinstance(first.get(k), int) and not isinstance(first.get(k), bool)
            for k in ("start", "end")
        ):
            return True
    return False


def read_assemblyai(data: dict[str, Any], path: Path) -> RawTranscript:
    """AssemblyAI transcript object (times in milliseconds)."""
    v = Vendor("AssemblyAI", path)
    by_channel = bool(data.get("dual_channel") or data.get("multichannel"))
    meta: dict[str, object] = {"json": "assemblyai"}

    def label(speaker: Any, channel: Any) -> str | None:
        if by_channel:
            name = label_of(channel) or label_of(speaker)
            return None if name is None else f"Channel {name}"
        name = label_of(speaker)
        return None if name is None else f"Speaker {name}"

    def words_of(raw_words: Any, where: str) -> list[Word]:
        words = []
        for j, raw in enumerate(v.array(raw_words, where, optional=True)):
            wwhere = f"{where}[{j}]"
            word = v.obj(raw, wwhere)
            words.append(
                Word(
                    v.text(word.get("text"), f"{wwhere}.text", optional=True),
                    v.time(word.get("start"), f"{wwhere}.start", scale=1000.0),
                    v.time(word.get("end"), f"{wwhere}.end", scale=1000.0),
                    label(word.get("speaker"), word.get("channel")),
                )
            )
        return words

    utterances = v.array(data.get("utterances"), "utterances", optional=True)
    if utterances:
        fragments: list[Fragment] = []
        for i, raw in enumerate(utterances):
            where = f"utterances[{i}]"
            utt = v.obj(raw, where)
            fragments.extend(
                unit_fragments(
                    label(utt.get("speaker"), utt.get("channel")),
                    v.text(utt.get("text"), f"{where}.text", optional=True),
                    v.time(utt.get("start"), f"{where}.start", scale=1000.0),
                    v.time(utt.get("end"), f"{where}.end", scale=1000.0),
                    words_of(utt.get("words"), f"{where}.words"),
                )
            )
        return RawTranscript(fragments, metadata=meta)
    words = words_of(data.get("words"), "words")
    if words:
        return RawTranscript(group_words(words), metadata=meta)
    text = v.text(data.get("text"), "text", optional=True)
    return RawTranscript([Fragment(None, text)] if text else [], metadata=meta)
