"""Speech-to-text JSON: WhisperX, whisper, AWS Transcribe, Deepgram, AssemblyAI, Rev.ai.

:func:`read_asr_json` recognises each vendor's layout by its keys and turns it into
:class:`~.base.Fragment` objects (speaker label, raw text, times in seconds):

- **WhisperX** ``{"segments": [{start, end, text, speaker?, words: [{word, start, end,
  speaker?}]}]}``: a segment whose words carry several speakers is split where the word
  speaker changes (a word without one keeps the speaker before it).
- **whisper / whisper-timestamped / OpenAI verbose JSON** (segments, or only ``words``): the
  same without speakers; the fragments have no speaker (:func:`~.base.build` keeps them
  under ``UNKNOWN``, warning W002).
- **AWS Transcribe**: ``results.audio_segments`` when present (one fragment each), else the
  word ``results.items`` (times and confidences are strings; a punctuation item, which has no
  time, is glued to the word before it). The speaker of a word comes from
  ``items[].speaker_label``, else from ``results.speaker_labels.segments[].items`` joined on
  the start time, else from the segment whose time span holds the word. With channel
  identification, ``results.channel_labels.channels[]`` are read one by one and the channel
  label (``"ch_0"``) is the speaker.
- **Deepgram**: ``results.utterances`` (``speaker`` 0 → ``"Speaker 0"``), else the words of
  ``results.channels[*].alternatives[0]`` grouped by speaker. With several channels the
  channel names the speaker (``"Channel 1"``, or ``"Channel 1 Speaker 0"`` when diarised).
- **AssemblyAI**: ``utterances`` (``"A"`` → ``"Speaker A"``, or ``"Channel 1"`` for a
  ``dual_channel``/``multichannel`` job; times in milliseconds), else the ``words`` (grouped
  by their speaker when they have one), else ``text``.
- **Rev.ai**: ``monologues[{speaker, speaker_info?, elements}]``; the text is the values of
  the elements joined as they are, ``<inaudible>``-like ``unknown`` elements included so that
  markup cleaning counts them.

Word-level input is cut into fragments at sentence ends (``.``, ``?``, ``!``) and at pauses
over :data:`PAUSE_S` seconds, so that utterances get precise times; consecutive fragments of
one speaker are merged into one turn by :func:`~.base.build`, so a pause never splits a turn.
Utterance-level input (segments, utterances) is cut the same way when its words spell exactly
its text, else kept whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CompassionError, Errors
from .base import Fragment, RawTranscript

#: a silence longer than this (seconds) between two words starts a new fragment
PAUSE_S = 2.0

_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")
#: languages written without spaces between words (whisper word lists are joined with "")
_NO_SPACE_LANGUAGES = frozenset(
    {"zh", "ja", "th", "lo", "my", "km", "bo", "yue", "chinese", "japanese", "thai",
     "lao", "burmese", "khmer", "tibetan", "cantonese"}
)
_AAI_KEYS = frozenset(
    {"audio_url", "acoustic_model", "language_model", "speech_model", "audio_duration",
     "webhook_url", "speaker_labels", "format_text", "punctuate", "dual_channel",
     "multichannel", "speakers_expected"}
)
_AWS_KEYS = ("items", "transcripts", "audio_segments", "speaker_labels", "channel_labels")


@dataclass
class _Word:
    """One timed word (punctuation attached) of a given speaker."""

    text: str
    start: float | None
    end: float | None
    speaker: str | None


class _Vendor:
    """Raises E008 for one vendor's JSON, naming the place."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path

    def fail(self, where: str, problem: str) -> CompassionError:
        """The coded error for a broken place (``where``) of the file."""
        return CompassionError(
            Errors.E008, self.path, format=f"{self.name} JSON", detail=f"{where}: {problem}"
        )

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` as a JSON object, or E008."""
        if not isinstance(value, dict):
            raise self.fail(where, "expected an object")
        return value

    def array(self, value: Any, where: str, *, optional: bool = False) -> list[Any]:
        """``value`` as a JSON array (``None`` → ``[]`` when ``optional``), or E008."""
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise self.fail(where, "expected an array")
        return value

    def text(self, value: Any, where: str, *, optional: bool = False) -> str:
        """``value`` as text (numbers are written out), or E008."""
        if value is None and optional:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.fail(where, "expected text")

    def time(self, value: Any, where: str, *, scale: float = 1.0) -> float | None:
        """A time in seconds from a number or numeric string (``None`` when absent)."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self.fail(where, "expected a time in seconds")
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = float(value)
            except ValueError:
                from .text import parse_time

                parsed = parse_time(value.strip())
                if parsed is None:
                    raise self.fail(where, "expected a time in seconds") from None
                seconds = parsed
        else:
            raise self.fail(where, "expected a time in seconds")
        if not math.isfinite(seconds):
            return None
        return seconds / scale


def _label(value: Any) -> str | None:
    """A speaker value as text; ``None`` for nothing."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text))


def _group(words: Iterable[_Word], joiner: str = " ") -> list[Fragment]:
    """Cut timed words into fragments: at speaker changes, sentence ends and long pauses."""
    fragments: list[Fragment] = []
    run: list[_Word] = []

    def flush() -> None:
        if not run:
            return
        text = joiner.join(w.text.strip() for w in run if w.text.strip())
        starts = [w.start for w in run if w.start is not None]
        ends = [w.end for w in run if w.end is not None]
        fragments.append(
            Fragment(run[0].speaker, text, None, starts[0] if starts else None,
                     ends[-1] if ends else None)
        )
        run.clear()

    for word in words:
        if run:
            prev = run[-1]
            pause = (
                word.start - prev.end
                if word.start is not None and prev.end is not None
                else 0.0
            )
            if word.speaker != prev.speaker or pause > PAUSE_S or _ends_sentence(prev.text):
                flush()
        run.append(word)
    flush()
    return fragments


def _spelled(text: str, words: list[_Word], joiner: str) -> bool:
    """Whether the words, joined, spell exactly ``text`` (whitespace aside)."""
    if joiner:
        return " ".join(text.split()) == joiner.join(
            w.text.strip() for w in words if w.text.strip()
        )
    return "".join(text.split()) == "".join("".join(w.text.split()) for w in words)


def _unit(
    speaker: str | None,
    text: str,
    start: float | None,
    end: float | None,
    words: list[_Word],
    joiner: str = " ",
) -> list[Fragment]:
    """Fragments of one segment/utterance: sentence-cut by its words when they spell its
    text, else the whole text as one fragment."""
    if words and _spelled(text, words, joiner):
        for word in words:
            word.speaker = speaker
        fragments = _group(words, joiner)
        if fragments[0].start is None:
            fragments[0].start = start
        if fragments[-1].end is None:
            fragments[-1].end = end
        return fragments
    return [Fragment(speaker, text, None, start, end)]


def _merge_by_time(streams: list[list[_Word]]) -> list[_Word]:
    """Words of several channels in time order (stable: a channel's order is kept)."""
    if len(streams) == 1:
        return streams[0]
    keyed: list[tuple[float, int, int, _Word]] = []
    for index, stream in enumerate(streams):
        last = 0.0
        for position, word in enumerate(stream):
            if word.start is not None:
                last = word.start
            keyed.append((last, index, position, word))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


# --------------------------------------------------------------------------- whisper(X)


def _looks_whisper(segments: Any, data: Any) -> bool:
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


def _whisper_words(v: _Vendor, raw_words: Any, where: str) -> list[_Word]:
    """WhisperX (``word``) or whisper-timestamped (``text``) word entries."""
    words: list[_Word] = []
    for j, raw in enumerate(v.array(raw_words, where, optional=True)):
        wwhere = f"{where}[{j}]"
        item = v.obj(raw, wwhere)
        value = item.get("word", item.get("text"))
        words.append(
            _Word(
                v.text(value, f"{wwhere}.word", optional=True),
                v.time(item.get("start"), f"{wwhere}.start"),
                v.time(item.get("end"), f"{wwhere}.end"),
                _label(item.get("speaker")),
            )
        )
    return words


def _whisper(data: Any, path: Path) -> RawTranscript:
    """WhisperX (speakers per segment or per word) and plain whisper outputs."""
    segments = data["segments"] if isinstance(data, dict) else data
    root = "segments" if isinstance(data, dict) else ""
    language = str(data.get("language") or "").lower() if isinstance(data, dict) else ""
    joiner = "" if language in _NO_SPACE_LANGUAGES else " "
    v = _Vendor("WhisperX/whisper", path)
    fragments: list[Fragment] = []
    speakers = False
    for i, raw in enumerate(segments):
        where = f"{root}[{i}]"
        seg = v.obj(raw, where)
        text = v.text(seg.get("text"), f"{where}.text", optional=True)
        start = v.time(seg.get("start"), f"{where}.start")
        end = v.time(seg.get("end"), f"{where}.end")
        speaker = _label(seg.get("speaker"))
        words = _whisper_words(v, seg.get("words"), f"{where}.words")
        word_speakers = {w.speaker for w in words if w.speaker is not None}
        if len(word_speakers) > 1:
            current = speaker or next(w.speaker for w in words if w.speaker is not None)
            for w in words:
                current = w.speaker or current
                w.speaker = current
            parts = _group(words, joiner)
            if parts and parts[0].start is None:
                parts[0].start = start
            if parts and parts[-1].end is None:
                parts[-1].end = end
            fragments.extend(parts)
            speakers = True
            continue
        speaker = speaker or (next(iter(word_speakers)) if word_speakers else None)
        speakers = speakers or speaker is not None
        fragments.extend(_unit(speaker, text, start, end, words, joiner))
    return RawTranscript(fragments, metadata={"json": "whisperx" if speakers else "whisper"})


# --------------------------------------------------------------------------- AWS Transcribe


def _aws_words(
    v: _Vendor,
    items: list[Any],
    where: str,
    speaker_of: Callable[[dict[str, Any], float | None], str | None],
) -> list[_Word]:
    """Words of AWS ``items``: punctuation glued to the word before it."""
    words: list[_Word] = []
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
        words.append(_Word(pending + content, start, end, speaker))
        pending = ""
    if pending and words:
        words[-1].text += pending
    return words


def _aws(data: dict[str, Any], path: Path) -> RawTranscript:
    """AWS Transcribe job output (legacy items, speaker labels, channels, audio segments)."""
    v = _Vendor("AWS Transcribe", path)
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
                    _label(seg.get("speaker_label")) or _label(seg.get("channel_label")),
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
            streams: list[list[_Word]] = []
            for c, raw in enumerate(channels):
                where = f"results.channel_labels.channels[{c}]"
                channel = v.obj(raw, where)
                name = _label(channel.get("channel_label")) or f"ch_{c}"

                def channel_of(_item: dict[str, Any], _start: float | None,
                               name: str = name) -> str | None:
                    return name

                streams.append(
                    _aws_words(
                        v, v.array(channel.get("items"), f"{where}.items"), f"{where}.items",
                        channel_of,
                    )
                )
            meta["channels"] = len(channels)
            return RawTranscript(_group(_merge_by_time(streams)), metadata=meta)

    by_time: dict[float, str] = {}
    spans: list[tuple[float, float, str]] = []
    speaker_labels = results.get("speaker_labels")
    if speaker_labels is not None:
        sl = v.obj(speaker_labels, "results.speaker_labels")
        for s, raw in enumerate(v.array(sl.get("segments"), "results.speaker_labels.segments")):
            where = f"results.speaker_labels.segments[{s}]"
            seg = v.obj(raw, where)
            label = _label(seg.get("speaker_label"))
            seg_start = v.time(seg.get("start_time"), f"{where}.start_time")
            seg_end = v.time(seg.get("end_time"), f"{where}.end_time")
            if label and seg_start is not None and seg_end is not None:
                spans.append((seg_start, seg_end, label))
            for k, raw_item in enumerate(v.array(seg.get("items"), f"{where}.items",
                                                 optional=True)):
                iwhere = f"{where}.items[{k}]"
                item = v.obj(raw_item, iwhere)
                item_start = v.time(item.get("start_time"), f"{iwhere}.start_time")
                item_label = _label(item.get("speaker_label")) or label
                if item_start is not None and item_label:
                    by_time.setdefault(round(item_start, 3), item_label)

    def speaker_of(item: dict[str, Any], start: float | None) -> str | None:
        label = _label(item.get("speaker_label")) or _label(item.get("channel_label"))
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
        return RawTranscript(_group(_aws_words(v, items, "results.items", speaker_of)),
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


# --------------------------------------------------------------------------- Deepgram


def _dg_label(speaker: Any, channel: Any, n_channels: int) -> str | None:
    spk = _label(speaker)
    if n_channels > 1:
        ch = _label(channel)
        if ch is None:
            return None if spk is None else f"Speaker {spk}"
        return f"Channel {ch}" if spk is None else f"Channel {ch} Speaker {spk}"
    return None if spk is None else f"Speaker {spk}"


def _dg_words(v: _Vendor, raw_words: Any, where: str, channel: Any,
              n_channels: int) -> list[_Word]:
    words = []
    for j, raw in enumerate(v.array(raw_words, where, optional=True)):
        wwhere = f"{where}[{j}]"
        word = v.obj(raw, wwhere)
        value = word.get("punctuated_word")
        if value is None:
            value = word.get("word")
        words.append(
            _Word(
                v.text(value, f"{wwhere}.word", optional=True),
                v.time(word.get("start"), f"{wwhere}.start"),
                v.time(word.get("end"), f"{wwhere}.end"),
                _dg_label(word.get("speaker"), word.get("channel", channel), n_channels),
            )
        )
    return words


def _deepgram(results: dict[str, Any], path: Path, n_hint: Any) -> RawTranscript:
    """Deepgram pre-recorded response (``results`` object)."""
    v = _Vendor("Deepgram", path)
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
            label = _dg_label(utt.get("speaker"), channel, n_channels)
            words = _dg_words(v, utt.get("words"), f"{where}.words", channel, n_channels)
            fragments.extend(
                _unit(
                    label,
                    v.text(utt.get("transcript"), f"{where}.transcript", optional=True),
                    v.time(utt.get("start"), f"{where}.start"),
                    v.time(utt.get("end"), f"{where}.end"),
                    words,
                )
            )
        return RawTranscript(fragments, metadata=meta)
    streams: list[list[_Word]] = []
    for c, raw in enumerate(channels):
        where = f"results.channels[{c}]"
        channel = v.obj(raw, where)
        alternatives = v.array(channel.get("alternatives"), f"{where}.alternatives")
        if not alternatives:
            continue
        awhere = f"{where}.alternatives[0]"
        alt = v.obj(alternatives[0], awhere)
        words = _dg_words(v, alt.get("words"), f"{awhere}.words", c, n_channels)
        if words:
            streams.append(words)
        else:
            text = v.text(alt.get("transcript"), f"{awhere}.transcript", optional=True)
            fragments.append(Fragment(_dg_label(None, c, n_channels), text))
    if streams:
        fragments.extend(_group(_merge_by_time(streams)))
    return RawTranscript(fragments, metadata=meta)


# --------------------------------------------------------------------------- AssemblyAI


def _looks_assemblyai(data: dict[str, Any]) -> bool:
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


def _assemblyai(data: dict[str, Any], path: Path) -> RawTranscript:
    """AssemblyAI transcript object (times in milliseconds)."""
    v = _Vendor("AssemblyAI", path)
    by_channel = bool(data.get("dual_channel") or data.get("multichannel"))
    meta: dict[str, object] = {"json": "assemblyai"}

    def label(speaker: Any, channel: Any) -> str | None:
        if by_channel:
            name = _label(channel) or _label(speaker)
            return None if name is None else f"Channel {name}"
        name = _label(speaker)
        return None if name is None else f"Speaker {name}"

    def words_of(raw_words: Any, where: str) -> list[_Word]:
        words = []
        for j, raw in enumerate(v.array(raw_words, where, optional=True)):
            wwhere = f"{where}[{j}]"
            word = v.obj(raw, wwhere)
            words.append(
                _Word(
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
                _unit(
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
        return RawTranscript(_group(words), metadata=meta)
    text = v.text(data.get("text"), "text", optional=True)
    return RawTranscript([Fragment(None, text)] if text else [], metadata=meta)


# --------------------------------------------------------------------------- Rev.ai


def _rev_monologue(v: _Vendor, mono: dict[str, Any], where: str,
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
        if el.get("type") == "punct" and value.strip() and _ends_sentence(value.strip()):
            fragments.append(Fragment(label, "".join(parts), None, start, end))
            parts, start, end = [], None, None
    if parts and "".join(parts).strip():
        fragments.append(Fragment(label, "".join(parts), None, start, end))
    return fragments


def _revai(data: dict[str, Any], path: Path) -> RawTranscript:
    """Rev.ai transcript (``application/vnd.rev.transcript.v1.0+json``)."""
    v = _Vendor("Rev.ai", path)
    fragments: list[Fragment] = []
    for m, raw in enumerate(v.array(data.get("monologues"), "monologues")):
        where = f"monologues[{m}]"
        mono = v.obj(raw, where)
        info = mono.get("speaker_info")
        name = None
        if isinstance(info, dict):
            name = _label(info.get("display_name")) or _label(info.get("name"))
        speaker = _label(mono.get("speaker"))
        label = name or (None if speaker is None else f"Speaker {speaker}")
        fragments.extend(_rev_monologue(v, mono, where, label))
    return RawTranscript(fragments, metadata={"json": "revai"})


# --------------------------------------------------------------------------- dispatch


def read_asr_json(data: Any, path: Path) -> RawTranscript | None:
    """A transcript from a speech-to-text JSON output, or ``None`` if the layout is not one.

    Args:
        data: the parsed JSON.
        path: the file, named in errors.

    Returns:
        The fragments (speaker label, text, times in seconds), with ``metadata["json"]``
        naming the vendor (``whisperx``, ``whisper``, ``aws_transcribe``, ``deepgram``,
        ``assemblyai``, ``revai``); ``None`` when ``data`` is no speech-to-text layout.

    Raises:
        CompassionError: E008 when the layout is clearly one vendor's but broken.
    """
    if isinstance(data, list):
        return _whisper(data, path) if _looks_whisper(data, data) else None
    if not isinstance(data, dict):
        return None
    if "monologues" in data:
        return _revai(data, path)
    results = data.get("results")
    if isinstance(results, dict):
        if "channels" in results or "utterances" in results:
            meta = data.get("metadata")
            hint = meta.get("channels") if isinstance(meta, dict) else None
            return _deepgram(results, path, hint)
        if any(key in results for key in _AWS_KEYS):
            return _aws(data, path)
    channels = data.get("channels")
    if (
        isinstance(channels, list) and channels and isinstance(channels[0], dict)
        and "alternatives" in channels[0]
    ):
        return _deepgram(data, path, None)
    if _looks_whisper(data.get("segments"), data):
        return _whisper(data, path)
    words = data.get("words")
    if (
        "segments" not in data and isinstance(words, list) and words
        and isinstance(words[0], dict) and "word" in words[0] and "text" in data
    ):
        # OpenAI verbose JSON with word timestamps only: the words of the whole text
        v = _Vendor("whisper", path)
        text = v.text(data.get("text"), "text", optional=True)
        fragments = _unit(None, text, None, None, _whisper_words(v, words, "words"))
        return RawTranscript(fragments, metadata={"json": "whisper"})
    if _looks_assemblyai(data):
        return _assemblyai(data, path)
    return None
