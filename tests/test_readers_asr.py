"""Speech-to-text JSON outputs (compassion_nlp.readers.asr).

Real samples (MIT) are in tests/fixtures/json_*; WhisperX and the newer AWS / multichannel
layouts are built in the tests.
"""

from __future__ import annotations

import json
import re
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.pipeline import read
from compassion_nlp.readers.asr import PAUSE_S, read_asr_json

AWS = "json_aws_transcribe"
DG = "json_deepgram_assemblyai_whisper"
REV = "json_revai"
SPACE_BEFORE_PUNCT = re.compile(r"\s[,.?!;:](\s|$)")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: Any, name: str = "asr.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- AWS Transcribe


def test_aws_speaker_identification(fixtures: Path) -> None:
    path = fixtures / AWS / "03-speaker-identification.json"
    data = _load(path)
    [enc] = read(path)
    assert enc.metadata["json"] == "aws_transcribe"
    assert sorted(s.label for s in enc.speakers.values()) == ["spk_0", "spk_1", "spk_2"]
    segments = data["results"]["speaker_labels"]["segments"]
    expected = [k for k, _ in groupby(s["speaker_label"] for s in segments)]
    assert [enc.speakers[t.speaker].label for t in enc.turns] == expected
    # times are seconds (floats), taken from the string times of the items
    assert enc.turns[0].start == pytest.approx(0.49)
    assert enc.turns[-1].end == pytest.approx(float(segments[-1]["end_time"]))
    assert all(isinstance(u.start, float) for u in enc.utterances)
    # punctuation items glued to the word before them: the text is AWS's own transcript
    joined = " ".join(t.text for t in enc.turns)
    assert joined == data["results"]["transcripts"][0]["transcript"]
    assert not any(SPACE_BEFORE_PUNCT.search(t.text) for t in enc.turns)


def test_aws_channel_identification(fixtures: Path) -> None:
    path = fixtures / AWS / "02-channel-identification.json"
    data = _load(path)
    raw = read_asr_json(data, path)
    assert raw is not None
    assert raw.metadata == {"json": "aws_transcribe", "channels": 2}
    assert {f.speaker for f in raw.fragments} == {"ch_0", "ch_1"}
    starts = [f.start for f in raw.fragments]
    assert starts == sorted(starts)  # channels interleaved in time order
    assert raw.fragments[0].speaker == "ch_1" and raw.fragments[0].start == pytest.approx(0.49)
    [enc] = read(path)
    assert sorted(s.label for s in enc.speakers.values()) == ["ch_0", "ch_1"]
    turns = [enc.speakers[t.speaker].label for t in enc.turns]
    assert all(a != b for a, b in zip(turns, turns[1:], strict=False))
    assert " ".join(t.text for t in enc.turns) == data["results"]["transcripts"][0]["transcript"]


def _aws_item(content: str, start: float | None = None, end: float | None = None,
              **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "alternatives": [{"confidence": "0.99", "content": content}],
        "type": "pronunciation" if start is not None else "punctuation",
    }
    if start is not None:
        item["start_time"], item["end_time"] = f"{start}", f"{end}"
    item.update(extra)
    return item


def test_aws_items_with_speaker_label(tmp_path: Path) -> None:
    items = [
        _aws_item("How", 0.5, 0.7, speaker_label="spk_0"),
        _aws_item("are", 0.7, 0.8, speaker_label="spk_0"),
        _aws_item("you", 0.8, 1.0, speaker_label="spk_0"),
        _aws_item("?", speaker_label="spk_0"),
        _aws_item("Not", 1.5, 1.7, speaker_label="spk_1"),
        _aws_item("great", 1.7, 2.0, speaker_label="spk_1"),
        _aws_item(",", speaker_label="spk_1"),
        _aws_item("doctor", 2.0, 2.4, speaker_label="spk_1"),
        _aws_item(".", speaker_label="spk_1"),
    ]
    data = {"jobName": "j", "results": {"transcripts": [{"transcript": "x"}], "items": items}}
    raw = read_asr_json(data, tmp_path / "a.json")
    assert raw is not None
    assert [(f.speaker, f.text, f.start, f.end) for f in raw.fragments] == [
        ("spk_0", "How are you?", 0.5, 1.0),
        ("spk_1", "Not great, doctor.", 1.5, 2.4),
    ]


def test_aws_audio_segments(tmp_path: Path) -> None:
    data = {
        "jobName": "j",
        "results": {
            "transcripts": [{"transcript": "Hello. Hi there."}],
            "audio_segments": [
                {"id": 0, "transcript": "Hello.", "start_time": "0.1", "end_time": "0.9",
                 "speaker_label": "spk_0", "items": [0, 1]},
                {"id": 1, "transcript": "Hi there.", "start_time": "1.2", "end_time": "2.0",
                 "speaker_label": "spk_1", "items": [2, 3, 4]},
            ],
            "items": [],
        },
    }
    [enc] = read(_write(tmp_path, data))
    assert [(enc.speakers[t.speaker].label, t.text) for t in enc.turns] == [
        ("spk_0", "Hello."), ("spk_1", "Hi there."),
    ]
    assert enc.turns[1].start == pytest.approx(1.2) and enc.turns[1].end == pytest.approx(2.0)


def test_aws_speaker_join_falls_back_to_segment_span(tmp_path: Path) -> None:
    items = [_aws_item("Yes", 0.5, 0.7), _aws_item("indeed", 0.71, 1.0), _aws_item("."),
             _aws_item("Good", 2.0, 2.3)]
    segments = [
        {"start_time": "0.5", "end_time": "1.0", "speaker_label": "spk_0",
         "items": [{"start_time": "0.5", "end_time": "0.7", "speaker_label": "spk_0"}]},
        {"start_time": "2.0", "end_time": "2.3", "speaker_label": "spk_1", "items": []},
    ]
    data = {"results": {"items": items, "speaker_labels": {"speakers": 2, "segments": segments}}}
    raw = read_asr_json(data, tmp_path / "a.json")
    assert raw is not None
    assert [(f.speaker, f.text) for f in raw.fragments] == [("spk_0", "Yes indeed."),
                                                           ("spk_1", "Good")]


# --------------------------------------------------------------------------- Deepgram


def test_deepgram_utterances(fixtures: Path) -> None:
    path = fixtures / DG / "dg_speakers.json"
    data = _load(path)
    raw = read_asr_json(data, path)
    assert raw is not None and raw.metadata == {"json": "deepgram"}
    assert {f.speaker for f in raw.fragments} == {"Speaker 0", "Speaker 1", "Speaker 2"}
    [enc] = read(path)
    assert set(enc.speakers) == {"Speaker 0", "Speaker 1", "Speaker 2"}
    utterances = data["results"]["utterances"]
    expected = [k for k, _ in groupby(u["speaker"] for u in utterances)]
    assert [t.speaker for t in enc.turns] == [f"Speaker {s}" for s in expected]
    assert enc.turns[0].start == pytest.approx(3.04)
    assert enc.turns[-1].end == pytest.approx(utterances[-1]["end"])


def test_deepgram_without_utterances_groups_words(fixtures: Path) -> None:
    path = fixtures / DG / "dg_speakers_no_utterances.json"
    data = _load(path)
    alt = data["results"]["channels"][0]["alternatives"][0]
    [enc] = read(path)
    assert set(enc.speakers) == {"Speaker 0", "Speaker 1", "Speaker 2"}
    expected = [k for k, _ in groupby(w["speaker"] for w in alt["words"])]
    assert [t.speaker for t in enc.turns] == [f"Speaker {s}" for s in expected]
    assert " ".join(t.text for t in enc.turns) == alt["transcript"]
    # utterances get their own times from the sentence-sized fragments
    first = enc.turns[0].utterances
    assert len(first) > 1 and first[0].end < enc.turns[0].end


def _dg_word(word: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {"word": word.lower().strip(".,?"), "punctuated_word": word, "start": start,
            "end": end, "confidence": 0.9, **extra}


def test_deepgram_multichannel_without_diarisation(tmp_path: Path) -> None:
    data = {
        "metadata": {"channels": 2},
        "results": {
            "channels": [
                {"alternatives": [{"transcript": "How are you? Good.", "words": [
                    _dg_word("How", 0.0, 0.2), _dg_word("are", 0.2, 0.4),
                    _dg_word("you?", 0.4, 0.6), _dg_word("Good.", 3.0, 3.4)]}]},
                {"alternatives": [{"transcript": "Fine, thanks.", "words": [
                    _dg_word("Fine,", 1.0, 1.3), _dg_word("thanks.", 1.3, 1.8)]}]},
            ]
        },
    }
    [enc] = read(_write(tmp_path, data))
    assert [(t.speaker, t.text) for t in enc.turns] == [
        ("Channel 0", "How are you?"), ("Channel 1", "Fine, thanks."), ("Channel 0", "Good."),
    ]
    assert enc.metadata["channels"] == 2


# --------------------------------------------------------------------------- AssemblyAI


def test_assemblyai_utterances_in_milliseconds(fixtures: Path) -> None:
    path = fixtures / DG / "assemblyai_utterances.json"
    data = _load(path)
    [enc] = read(path)
    assert enc.metadata["json"] == "assemblyai"
    assert list(enc.speakers) == ["Speaker A"]
    assert enc.turns[0].start == pytest.approx(data["utterances"][0]["start"] / 1000)
    assert enc.turns[0].end == pytest.approx(data["utterances"][0]["end"] / 1000)
    assert enc.turns[0].text == data["utterances"][0]["text"]
    assert enc.utterances[0].end == pytest.approx(0.718)  # word times, in seconds


def test_assemblyai_null_utterances(fixtures: Path) -> None:
    path = fixtures / DG / "assemblyai_transcription.json"
    data = _load(path)
    assert data["utterances"] is None
    [enc] = read(path)
    assert list(enc.speakers) == ["Speaker A"]  # the words still carry a speaker
    assert enc.turns[0].text == data["text"]
    assert enc.turns[0].start == pytest.approx(0.17)
    # speaker_labels off: words without speakers
    for word in data["words"]:
        word.pop("speaker")
    data["speaker_labels"] = False
    raw = read_asr_json(data, path)
    assert raw is not None and {f.speaker for f in raw.fragments} == {None}
    assert " ".join(f.text for f in raw.fragments) == data["text"]
    # no words either: the text alone
    del data["words"]
    raw = read_asr_json(data, path)
    assert raw is not None
    assert [(f.speaker, f.text) for f in raw.fragments] == [(None, data["text"])]


# --------------------------------------------------------------------------- whisper(X)


def test_whisper_timestamped_without_speakers(fixtures: Path) -> None:
    path = fixtures / DG / "whisper_timestamped.json"
    data = _load(path)
    raw = read_asr_json(data, path)
    assert raw is not None and raw.metadata == {"json": "whisper"}
    assert {f.speaker for f in raw.fragments} == {None}
    assert raw.fragments[0].start == pytest.approx(0.12)
    [enc] = read(path)
    assert list(enc.speakers) == ["UNKNOWN"]
    assert any("[W002]" in w for w in enc.metadata["warnings"])
    assert enc.turns[0].text == data["text"].strip()


WHISPERX = {
    "segments": [
        {"start": 0.03, "end": 2.1, "text": " Hello, how are you feeling today?",
         "speaker": "SPEAKER_00", "words": [
             {"word": "Hello,", "start": 0.03, "end": 0.4, "score": 0.9, "speaker": "SPEAKER_00"},
             {"word": "how", "start": 0.5, "end": 0.7, "score": 0.9, "speaker": "SPEAKER_00"},
             {"word": "are", "start": 0.7, "end": 0.8, "score": 0.9, "speaker": "SPEAKER_00"},
             {"word": "you", "start": 0.8, "end": 0.9, "score": 0.9, "speaker": "SPEAKER_00"},
             {"word": "feeling", "start": 0.9, "end": 1.3, "score": 0.9, "speaker": "SPEAKER_00"},
             {"word": "today?", "start": 1.3, "end": 2.1, "score": 0.9, "speaker": "SPEAKER_00"},
         ]},
        # one segment, two speakers: split where the word speaker changes
        {"start": 2.5, "end": 6.0, "text": " Not great. I see. Since when?",
         "speaker": "SPEAKER_01", "words": [
             {"word": "Not", "start": 2.5, "end": 2.7, "score": 0.8, "speaker": "SPEAKER_01"},
             {"word": "great.", "start": 2.7, "end": 3.1, "score": 0.8, "speaker": "SPEAKER_01"},
             {"word": "I", "start": 3.9, "end": 4.0, "score": 0.8, "speaker": "SPEAKER_00"},
             {"word": "see.", "start": 4.0, "end": 4.3, "score": 0.8},
             {"word": "Since", "start": 4.6, "end": 5.0, "score": 0.8, "speaker": "SPEAKER_00"},
             {"word": "when?", "start": 5.0, "end": 6.0, "score": 0.8, "speaker": "SPEAKER_00"},
         ]},
        {"start": 6.5, "end": 9.0, "text": " Since Monday, 2 weeks.", "speaker": "SPEAKER_01",
         "words": [
             {"word": "Since", "start": 6.5, "end": 6.9, "score": 0.9, "speaker": "SPEAKER_01"},
             {"word": "Monday,", "start": 6.9, "end": 7.5, "score": 0.9, "speaker": "SPEAKER_01"},
             {"word": "2"},  # numbers are not aligned by WhisperX: no times
             {"word": "weeks.", "start": 8.2, "end": 9.0, "score": 0.9, "speaker": "SPEAKER_01"},
         ]},
    ],
    "word_segments": [],
    "language": "en",
}


def test_whisperx_speakers_per_segment_and_word(tmp_path: Path) -> None:
    raw = read_asr_json(WHISPERX, tmp_path / "x.json")
    assert raw is not None and raw.metadata == {"json": "whisperx"}
    assert [(f.speaker, f.text) for f in raw.fragments] == [
        ("SPEAKER_00", "Hello, how are you feeling today?"),
        ("SPEAKER_01", "Not great."),
        ("SPEAKER_00", "I see."),
        ("SPEAKER_00", "Since when?"),
        ("SPEAKER_01", "Since Monday, 2 weeks."),
    ]
    assert raw.fragments[2].start == pytest.approx(3.9)
    assert raw.fragments[3].end == pytest.approx(6.0)
    [enc] = read(_write(tmp_path, WHISPERX))
    assert [t.speaker for t in enc.turns] == ["SPEAKER 00", "SPEAKER 01", "SPEAKER 00",
                                             "SPEAKER 01"]
    assert enc.turns[2].text == "I see. Since when?"
    assert [(u.start, u.end) for u in enc.turns[2].utterances] == [(3.9, 4.3), (4.6, 6.0)]


def test_whisperx_without_speaker(tmp_path: Path) -> None:
    data = {"segments": [{"start": 0.0, "end": 1.0, "text": "Hello.",
                          "words": [{"word": "Hello.", "start": 0.0, "end": 1.0}]}],
            "language": "en"}
    raw = read_asr_json(data, tmp_path / "x.json")
    assert raw is not None and raw.metadata == {"json": "whisper"}
    assert [(f.speaker, f.text) for f in raw.fragments] == [(None, "Hello.")]


def test_assemblyai_dual_channel(tmp_path: Path) -> None:
    data = {"audio_url": "u", "dual_channel": True, "text": "Hi. Hello.", "utterances": [
        {"speaker": "1", "channel": "1", "start": 100, "end": 600, "text": "Hi.", "words": []},
        {"speaker": "2", "channel": "2", "start": 900, "end": 1500, "text": "Hello.",
         "words": []},
    ]}
    [enc] = read(_write(tmp_path, data))
    assert [(t.speaker, t.start, t.end) for t in enc.turns] == [
        ("Channel 1", 0.1, 0.6), ("Channel 2", 0.9, 1.5)]


def test_openai_verbose_json_words_only(tmp_path: Path) -> None:
    data = {"task": "transcribe", "language": "english", "duration": 3.0,
            "text": "Hi there. Bye.", "words": [
                {"word": "Hi", "start": 0.0, "end": 0.3},
                {"word": "there.", "start": 0.3, "end": 0.8},
                {"word": "Bye.", "start": 2.0, "end": 2.4}]}
    raw = read_asr_json(data, tmp_path / "o.json")
    assert raw is not None and raw.metadata == {"json": "whisper"}
    assert [(f.speaker, f.text, f.start, f.end) for f in raw.fragments] == [
        (None, "Hi there.", 0.0, 0.8), (None, "Bye.", 2.0, 2.4)]


# --------------------------------------------------------------------------- Rev.ai


def test_revai(fixtures: Path) -> None:
    path = fixtures / REV / "transcript.json"
    data = _load(path)
    [enc] = read(path)
    assert enc.metadata["json"] == "revai"
    assert list(enc.speakers) == ["Speaker 0"]
    assert len(enc.turns) == 1  # both monologues are speaker 0
    text = " ".join("".join(e["value"] for e in m["elements"]).strip()
                    for m in data["monologues"])
    assert enc.turns[0].text == text
    assert enc.turns[0].start == pytest.approx(0.3)
    assert enc.utterances[0].text == "Hi, my name's Jack resinger."
    assert enc.utterances[0].end == pytest.approx(1.6)


def test_revai_unknown_elements_and_speaker_names(tmp_path: Path) -> None:
    def el(kind: str, value: str, ts: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind, "value": value}
        if ts is not None:
            out.update(ts=ts, end_ts=ts + 0.3, confidence=0.9)
        return out

    data = {"monologues": [
        {"speaker": 0, "speaker_info": {"id": "a", "display_name": "Dr Lee"}, "elements": [
            el("text", "Any", 0.1), el("punct", " "), el("text", "pain", 0.5), el("punct", "?"),
        ]},
        {"speaker": 1, "elements": [
            el("text", "Yes", 1.2), el("punct", " "), el("unknown", "<inaudible>", 1.6),
            el("punct", " "), el("text", "here", 2.0), el("punct", "."),
        ]},
    ]}
    [enc] = read(_write(tmp_path, data))
    assert [(t.speaker, t.text) for t in enc.turns] == [("Dr Lee", "Any pain?"),
                                                       ("Speaker 1", "Yes here.")]
    assert enc.turns[1].flags == {"inaudible": 1}
    assert enc.turns[1].start == pytest.approx(1.2) and enc.turns[1].end == pytest.approx(2.3)


def test_long_pause_cuts_fragments_not_turns(tmp_path: Path) -> None:
    words = [{"text": "So", "start": 0, "end": 300, "confidence": 0.9, "speaker": "A"},
             {"text": "then", "start": 300, "end": 600, "confidence": 0.9, "speaker": "A"},
             {"text": "later", "start": 600 + int(PAUSE_S * 1000) + 500, "end": 3500,
              "confidence": 0.9, "speaker": "A"}]
    data = {"audio_url": "x", "audio_duration": 4, "text": "So then later", "words": words,
            "utterances": None}
    raw = read_asr_json(data, tmp_path / "p.json")
    assert raw is not None
    assert [(f.text, f.start, f.end) for f in raw.fragments] == [
        ("So then", 0.0, 0.6), ("later", 3.1, 3.5)]
    [enc] = read(_write(tmp_path, data))
    assert len(enc.turns) == 1 and enc.turns[0].text == "So then later"


# --------------------------------------------------------------------------- not ASR / broken


@pytest.mark.parametrize(
    "data",
    [
        [{"speaker": "Doctor", "text": "Hello."}],
        {"meeting_transcripts": [{"speaker": "A", "content": "hi"}]},
        {"segments": [{"speaker": "Doctor", "text": "Hi.", "start": "00:00:01"}]},
        {"utterances": [{"speaker": "Doctor", "text": "Hi.", "start": 1, "end": 2}]},
        {"turns": []},
        "text",
        42,
    ],
)
def test_not_asr_layouts(data: Any, tmp_path: Path) -> None:
    assert read_asr_json(data, tmp_path / "g.json") is None


def test_generic_utterances_keep_seconds(tmp_path: Path) -> None:
    data = {"utterances": [{"speaker": "Doctor", "text": "Hi.", "start": 1, "end": 2},
                           {"speaker": "Patient", "text": "Hello.", "start": 2, "end": 3}]}
    [enc] = read(_write(tmp_path, data))
    assert enc.metadata["json"] == "generic"
    assert enc.turns[1].start == 2.0


SECRET = "Zanzibarwordx"


@pytest.mark.parametrize(
    ("data", "vendor", "place"),
    [
        ({"jobName": "j", "results": {"items": [{"type": "pronunciation", "content": SECRET}]}},
         "AWS Transcribe JSON", "results.items[0].alternatives"),
        ({"results": {"items": [_aws_item(SECRET, 1.0, 2.0), _aws_item("x", 0, 0)
                                | {"start_time": SECRET}]}},
         "AWS Transcribe JSON", "results.items[1].start_time"),
        ({"monologues": [{"speaker": 0, "elements": SECRET}]},
         "Rev.ai JSON", "monologues[0].elements"),
        ({"results": {"utterances": [{"speaker": 0, "transcript": SECRET, "start": "soon"}]}},
         "Deepgram JSON", "results.utterances[0].start"),
        ({"audio_url": "u", "audio_duration": 3, "utterances": [SECRET]},
         "AssemblyAI JSON", "utterances[0]"),
        ({"language": "en", "segments": [{"text": SECRET, "start": 0, "end": 1}, SECRET]},
         "WhisperX/whisper JSON", "segments[1]"),
    ],
)
def test_broken_vendor_json_is_e008(data: Any, vendor: str, place: str, tmp_path: Path) -> None:
    with pytest.raises(CompassionError) as info:
        read_asr_json(data, tmp_path / "bad.json")
    assert info.value.code == "E008"
    message = str(info.value)
    assert vendor in message and place in message
    assert SECRET not in message
    # and through read(): the same coded error
    with pytest.raises(CompassionError) as again:
        read(_write(tmp_path, data, "bad2.json"))
    assert again.value.code == "E008"
