"""AWS Transcribe JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base import Fragment, RawTranscript
from .common import Vendor, Word, group_words, label_of, merge_by_time

#: keys of ``results`` that only AWS Transcribe writes
AWS_KEYS = ("items", "transcripts", "audio_segments", "speaker_labels", "channel_labels")


def aws_words(
    v: Vendor,
    items: list[Any],
    where: str,
    speaker_of: Callable[[dict[str, Any], float | None], str | None],
) -> list[Word]:
    """Words of AWS ``items``: punctuation glued to the word before it."""
    words: list[Word] = []
    pending = ""
    for i, raw in enumerate(items):
        iwhere = f"{where}[{i}]"
        item = v.obj(raw, iwhere)
        alternatives = v.array(item.get("alternatives"), f"{iwhere}.alternatives")
        if not alternatives:
            raise v.fail(f"{iwhere}.alternatives", "empty")
        best = v.obj(alternatives[0], f"{iwhere}.alternatives[0]")
        content = v.text(best.get("content"), f"{iwhere}.alternatives[0].content")
        if item.get("type") == "punctuation":
            if words:
                words[-1].text += content
            else:
                pending += content
            continue
        start = v.time(item.get("start_time"), f"{iwhere}.start_time")
        end = v.time(item.get("end_time"), f"{iwhere}.end_time")
        speaker = speaker_of(item, start)
        if speaker is None and words:
            speaker = words[-1].speaker
        words.append(Word(pending + content, start, end, speaker))
        pending = ""
    if pending and words:
        words[-1].text += pending
    return words


def read_aws(data: dict[str, Any], path: Path) -> RawTranscript:
    """AWS Transcribe job output (legacy items, speaker labels, channels, audio segments)."""
    v = Vendor("AWS Transcribe", path)
    results = v.obj(data.get("results"), "results")
    meta: dict[str, object] = {"json": "aws_transcribe"}

    segments = v.array(results.get("audio_segments"), "results.audio_segments", optional=True)
    items = v.array(results.get("items"), "results.items", optional=True)
    labelled_items = any(
        isinstance(i, dict) and (i.get("speaker_label") or i.get("channel_label")) for i in items
    )
    segment_labels = any(
        isinstance(s, dict) and (s.get("speaker_label") or s.get("channel_label"))
        for s in segments
    )
    if segments and (segment_labels or not labelled_items):
        fragments = []
        for i, raw in enumerate(segments):
            where = f"results.audio_segments[{i}]"
            seg = v.obj(raw, where)
            fragments.append(
                Fragment(
                    label_of(seg.get("speaker_label")) or label_of(seg.get("channel_label")),
                    v.text(seg.get("transcript"), f"{where}.transcript", optional=True),
                    None,
                    v.time(seg.get("start_time"), f"{where}.start_time"),
                    v.time(seg.get("end_time"), f"{where}.end_time"),
                )
            )
        return RawTranscript(fragments, metadata=meta)

    channel_labels = results.get("channel_labels")
    if channel_labels is not None:
        cl = v.obj(channel_labels, "results.channel_labels")
        channels = v.array(cl.get("channels"), "results.channel_labels.channels")
        if channels:
            streams: list[list[Word]] = []
            for c, raw in enumerate(channels):
                where = f"results.channel_labels.channels[{c}]"
                channel = v.obj(raw, where)
                name = label_of(channel.get("channel_label")) or f"ch_{c}"

                def channel_of(_item: dict[str, Any], _start: float | None,
                               name: str = name) -> str | None:
                    return name

                streams.append(
                    aws_words(
                        v, v.array(channel.get("items"), f"{where}.items"), f"{where}.items",
                        channel_of,
                    )
                )
            meta["channels"] = len(channels)
            return RawTranscript(group_words(merge_by_time(streams)), metadata=meta)

    by_time: dict[float, str] = {}
    spans: list[tuple[float, float, str]] = []
    speaker_labels = results.get("speaker_labels")
    if speaker_labels is not None:
        sl = v.obj(speaker_labels, "results.speaker_labels")
        for s, raw in enumerate(v.array(sl.get("segments"), "results.speaker_labels.segments")):
            where = f"results.speaker_labels.segments[{s}]"
            seg = v.obj(raw, where)
            label = label_of(seg.get("speaker_label"))
            seg_start = v.time(seg.get("start_time"), f"{where}.start_time")
            seg_end = v.time(seg.get("end_time"), f"{where}.end_time")
            if label and seg_start is not None and seg_end is not None:
                spans.append((seg_start, seg_end, label))
            for k, raw_item in enumerate(v.array(seg.get("items"), f"{where}.items",
                                                 optional=True)):
                iwhere = f"{where}.items[{k}]"
                item = v.obj(raw_item, iwhere)
                item_start = v.time(item.get("start_time"), f"{iwhere}.start_time")
                item_label = label_of(item.get("speaker_label")) or label
                if item_start is not None and item_label:
                    by_time.setdefault(round(item_start, 3), item_label)

    def speaker_of(item: dict[str, Any], start: float | None) -> str | None:
        label = label_of(item.get("speaker_label")) or label_of(item.get("channel_label"))
        if label or start is None:
            return label
        found = by_time.get(round(start, 3))
        if found:
            return found
        for span_start, span_end, span_label in spans:
            if span_start <= start <= span_end:
                return span_label
        return None

    if items:
        return RawTranscript(group_words(aws_words(v, items, "results.items", speaker_of)),
                             metadata=meta)
    fragments = []
    for t, raw in enumerate(
        v.array(results.get("transcripts"), "results.transcripts", optional=True)
    ):
        entry = v.obj(raw, f"results.transcripts[{t}]")
        text = v.text(entry.get("transcript"), f"results.transcripts[{t}].transcript",
                      optional=True)
        fragments.append(Fragment(None, text))
    return RawTranscript(fragments, metadata=meta)
