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

from pathlib import Path
from typing import Any

from ..base import RawTranscript
from .assemblyai import looks_assemblyai, read_assemblyai
from .aws import AWS_KEYS, read_aws
from .common import PAUSE_S, Vendor, unit_fragments
from .deepgram import read_deepgram
from .revai import read_revai
from .whisper import looks_whisper, read_whisper, whisper_words

__all__ = ["PAUSE_S", "read_asr_json"]


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
        return read_whisper(data, path) if looks_whisper(data, data) else None
    if not isinstance(data, dict):
        return None
    if "monologues" in data:
        return read_revai(data, path)
    results = data.get("results")
    if isinstance(results, dict):
        if "channels" in results or "utterances" in results:
            meta = data.get("metadata")
            hint = meta.get("channels") if isinstance(meta, dict) else None
            return read_deepgram(results, path, hint)
        if any(key in results for key in AWS_KEYS):
            return read_aws(data, path)
    channels = data.get("channels")
    if (
        isinstance(channels, list) and channels and isinstance(channels[0], dict)
        and "alternatives" in channels[0]
    ):
        return read_deepgram(data, path, None)
    if looks_whisper(data.get("segments"), data):
        return read_whisper(data, path)
    words = data.get("words")
    if (
        "segments" not in data and isinstance(words, list) and words
        and isinstance(words[0], dict) and "word" in words[0] and "text" in data
    ):
        # OpenAI verbose JSON with word timestamps only: the words of the whole text
        v = Vendor("whisper", path)
        text = v.text(data.get("text"), "text", optional=True)
        fragments = unit_fragments(None, text, None, None, whisper_words(v, words, "words"))
        return RawTranscript(fragments, metadata={"json": "whisper"})
    if looks_assemblyai(data):
        return read_assemblyai(data, path)
    return None
