"""Deepgram JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..base import Fragment, RawTranscript
from .common import Vendor, Word, group_words, label_of, merge_by_time, unit_fragments


def dg_label(speaker: Any, channel: Any, n_channels: int) -> str | None:
    spk = label_of(speaker)
    if n_channels > 1:
        ch = label_of(channel)
        if ch is None:
            return None if spk is None else f"Speaker {spk}"
        return f"Channel {ch}" if spk is None else f"Channel {ch} Speaker {spk}"
    return None if spk is None else f"Speaker {spk}"


def dg_words(v: Vendor, raw_words: Any, where: str, channel: Any,
              n_channels: int) -> list[Word]:
    words = []
    for j, raw in enumerate(v.array(raw_words, where, optional=True)):
        wwhere = f"{where}[{j}]"
        word = v.obj(raw, wwhere)
        value = word.get("punctuated_word")
        if value is None:
            value = word.get("word")
        words.append(
            Word(
                v.text(value, f"{wwhere}.word", optional=True),
                v.time(word.get("start"), f"{wwhere}.start"),
                v.time(word.get("end"), f"{wwhere}.end"),
                dg_label(word.get("speaker"), word.get("channel", channel), n_channels),
            )
        )
    return words


def read_deepgram(results: dict[str, Any], path: Path, n_hint: Any) -> RawTranscript:
    """Deepgram pre-recorded response (``results`` object)."""
    v = Vendor("Deepgram", path)
    channels = v.array(results.get("channels"), "results.channels", optional=True)
    n_channels = len(channels)
    if isinstance(n_hint, int) and not isinstance(n_hint, bool):
        n_channels = max(n_channels, n_hint)
    meta: dict[str, object] = {"json": "deepgram"}
    if n_channels > 1:
        meta["channels"] = n_channels
    utterances = v.array(results.get("utterances"), "results.utterances", optional=True)
    fragments: list[Fragment] = []
    if utterances:
        for i, raw in enumerate(utterances):
            where = f"results.utterances[{i}]"
            utt = v.obj(raw, where)
            channel = utt.get("channel", 0)
            label = dg_label(utt.get("speaker"), channel, n_channels)
            words = dg_words(v, utt.get("words"), f"{where}.words", channel, n_channels)
            fragments.extend(
                unit_fragments(
                    label,
                    v.text(utt.get("transcript"), f"{where}.transcript", optional=True),
                    v.time(utt.get("start"), f"{where}.start"),
                    v.time(utt.get("end"), f"{where}.end"),
                    words,
                )
            )
        return RawTranscript(fragments, metadata=meta)
    streams: list[list[Word]] = []
    for c, raw in enumerate(channels):
        where = f"results.channels[{c}]"
        channel = v.obj(raw, where)
        alternatives = v.array(channel.get("alternatives"), f"{where}.alternatives")
        if not alternatives:
            continue
        awhere = f"{where}.alternatives[0]"
        alt = v.obj(alternatives[0], awhere)
        words = dg_words(v, alt.get("words"), f"{awhere}.words", c, n_channels)
        if words:
            streams.append(words)
        else:
            text = v.text(alt.get("transcript"), f"{awhere}.transcript", optional=True)
            fragments.append(Fragment(dg_label(None, c, n_channels), text))
    if streams:
        fragments.extend(group_words(merge_by_time(streams)))
    return RawTranscript(fragments, metadata=meta)
