"""WebVTT and SRT reading: real Teams, Zoom, webvtt-py and cdown/srt files, and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.pipeline import read
from compassion_nlp.readers.base import RawTranscript
from compassion_nlp.readers.subtitles import looks_like_srt, read_srt, read_vtt

TEAMS = "vtt_teams/Teams2NVivo_MIT"
WEBVTT_PY = "vtt_srt_webvtt-py_fixtures"


def _raw(path: Path) -> RawTranscript:
    """The raw transcript of a fixture, parsed directly (decoded the way read() does)."""
    from compassion_nlp.decoding import read_text

    text = read_text(path).text
    parse = read_vtt if path.suffix == ".vtt" else read_srt
    [raw] = parse(path, text)
    return raw


def _one(path: Path):
    [enc] = read(path)
    return enc


# ------------------------------------------------------------------ Teams


def test_legacy_teams_unpadded_and_negative_times(fixtures: Path) -> None:
    path = fixtures / TEAMS / "Test teams transcription_2022-11-15-from Teams.vtt"
    raw = _raw(path)
    assert raw.metadata["cues"] == 178
    assert len(raw.fragments) == 178
    assert {f.speaker for f in raw.fragments} == {"Hurst, Peter", "Wright, Steve"}
    first, second, third, fourth = raw.fragments[:4]
    assert (first.line, first.start, first.end) == (4, 0.0, 0.25)  # 0:0:0.0 --> 0:0:0.250
    # 0:0:-6.-820 --> 0:0:8.970: the negative start is clamped, the cue is kept
    assert (second.speaker, second.line) == ("Wright, Steve", 7)
    assert (second.start, second.end) == (0.0, 8.97)
    # legacy Teams wrote milliseconds un-padded: 0:0:10.20 is 10.020 s
    assert third.start == pytest.approx(10.02)
    assert fourth.end == pytest.approx(19.02)  # 0:0:19.20
    assert len(raw.warnings) == 1
    assert raw.warnings[0].startswith("[W001]") and "cue 2 line 6" in raw.warnings[0]
    assert all(f.start is not None and f.end is not None and f.end >= f.start
               for f in raw.fragments)


def test_legacy_teams_through_read(fixtures: Path) -> None:
    enc = _one(fixtures / TEAMS / "Test teams transcription_2022-11-15-from Teams.vtt")
    assert enc.metadata["format"] == "vtt"
    assert enc.metadata["subtitle"] == "vtt"
    warnings = enc.metadata["warnings"]
    assert any(w.startswith("[W001]") and "clamped to 0" in w for w in warnings)
    assert not any("Thing where" in w for w in warnings)  # no transcript text in messages
    assert set(enc.speakers) == {"Hurst, Peter", "Wright, Steve"}
    assert sum(len(t.pieces) for t in enc.turns) == 178
    assert enc.turns[1].speaker == "Wright, Steve"
    assert (enc.turns[1].start, enc.turns[1].end) == (0.0, 8.97)
    first, second = enc.utterances[0], enc.turns[1].utterances[0]
    assert (first.source_line, first.start) == (4, 0.0)
    assert (second.source_line, second.start) == (7, 0.0)
    frame = enc.to_dataframe()
    assert frame["start"].min() == 0.0
    assert frame["source_line"].notna().all()


def test_teams_display_names_with_commas_and_roles(fixtures: Path) -> None:
    raw = _raw(fixtures / TEAMS / "teams_transcript.vtt")
    assert raw.metadata["cues"] == 13
    assert [f.speaker for f in raw.fragments[:3]] == [
        "Speaker, First (Student)", "Speaker, First (Student)", "Interviewer, First",
    ]
    enc = _one(fixtures / TEAMS / "teams_transcript.vtt")
    labels = {s.label for s in enc.speakers.values()}
    assert labels == {"Speaker, First (Student)", "Interviewer, First"}


def test_teams_premium_multiline_voice_payload(fixtures: Path) -> None:
    raw = _raw(fixtures / TEAMS / "TeamsPremium.vtt")
    assert raw.metadata["cues"] == 17 and len(raw.fragments) == 17
    assert {f.speaker for f in raw.fragments} == {"Charles", "Janaki"}
    second = raw.fragments[1]
    # "<v Charles>Hi I'm heading off. OK. Lovely.\nSee you later.</v>"
    assert second.line == 9 and second.text.endswith("See you later.")
    assert "<v" not in second.text and "</v>" not in second.text
    assert second.start == pytest.approx(303.31)
    assert not any("fbbdef90" in f.text for f in raw.fragments)  # cue ids are not text


def test_new_teams_format_without_voice_tags_keeps_every_cue(fixtures: Path) -> None:
    path = fixtures / TEAMS / "New Teams Format.vtt"
    raw = _raw(path)
    assert [f.line for f in raw.fragments] == [5, 9, 14, 18]
    assert all(f.speaker is None for f in raw.fragments)
    assert not any("b05cbc69" in f.text for f in raw.fragments)  # guid/19-0 ids skipped
    enc = _one(path)
    assert list(enc.speakers) == ["UNKNOWN"]
    assert any(w.startswith("[W002]") for w in enc.metadata["warnings"])
    assert sum(len(t.pieces) for t in enc.turns) == 4


def test_onedrive_bom_guid_ids_and_empty_cue(fixtures: Path) -> None:
    raw = _raw(fixtures / TEAMS / "Test OneDrive Transcription 2022-11.vtt")
    assert raw.metadata["cues"] == 271
    assert raw.metadata["empty_cues"] == 1  # the cue at 00:09:14.400 has no text
    assert len(raw.fragments) == 270
    assert raw.fragments[0].line == 5 and raw.fragments[0].start == pytest.approx(8.71)
    assert not any("-0\n" in f.text or f.text.startswith("0a8e2f7c") for f in raw.fragments)


# ------------------------------------------------------------------ Zoom


def test_zoom_name_prefixes(fixtures: Path) -> None:
    raw = _raw(fixtures / "vtt_zoom" / "meeting001_transcript.vtt")
    assert raw.metadata["cues"] == 300 and len(raw.fragments) == 300
    assert raw.metadata["speakers_from"] == "name prefixes"
    names = {f.speaker for f in raw.fragments}
    assert names == {
        "Andrew Knight", "Paul McCartney", "George Harrison", "Ringo Starr", "John Lennon", None,
    }
    first = raw.fragments[0]
    assert (first.speaker, first.line, first.start, first.end) == (
        "Andrew Knight", 5, 4.859, 7.41
    )
    assert not first.text.startswith("Andrew Knight")
    unnamed = [f for f in raw.fragments if f.speaker is None]
    assert [(f.line, f.text) for f in unnamed] == [(137, "And that"), (153, "Yes. Okay.")]


def test_zoom_through_read_keeps_unnamed_cues(fixtures: Path) -> None:
    enc = _one(fixtures / "vtt_zoom" / "meeting001_transcript.vtt")
    assert "UNKNOWN" in enc.speakers
    assert any(w.startswith("[W002] ") and ": 2 fragment(s)" in w for w in enc.metadata["warnings"])
    assert sum(len(t.pieces) for t in enc.turns) == 300
    unknown = [t for t in enc.turns if t.speaker == "UNKNOWN"]
    assert [t.source_line for t in unknown] == [137, 153]


# ------------------------------------------------------------------ webvtt-py fixtures


@pytest.mark.parametrize(
    ("name", "cues", "fragments"),
    [
        ("captions_with_bom.vtt", 4, 4),
        ("comments.vtt", 3, 5),
        ("cue_tags.vtt", 3, 3),
        ("metadata_headers.vtt", 2, 2),
        ("styles.vtt", 1, 1),
        ("using_identifiers.vtt", 6, 6),
        ("youtube_dl.vtt", 4, 4),
        ("sample.srt", 5, 5),
        ("invalid_timeframe.srt", 5, 5),
        ("missing_caption_text.srt", 5, 4),
    ],
)
def test_webvtt_py_fixtures(fixtures: Path, name: str, cues: int, fragments: int) -> None:
    path = fixtures / WEBVTT_PY / name
    raw = _raw(path)
    assert raw.metadata["cues"] == cues
    assert len(raw.fragments) == fragments
    enc = _one(path)
    assert enc.metadata["format"] == path.suffix[1:]
    assert sum(len(t.pieces) for t in enc.turns) == fragments
    assert all(u.start is not None and u.source_line is not None for u in enc.utterances)


def test_header_notes_and_dash_lines(fixtures: Path) -> None:
    raw = _raw(fixtures / WEBVTT_PY / "comments.vtt")
    assert raw.metadata["notes"] == 2
    texts = [f.text for f in raw.fragments]
    assert texts[:2] == ["Ta en kopp varmt te.", "Det är inte varmt."]  # dashes removed
    assert [f.line for f in raw.fragments[:2]] == [9, 10]
    assert raw.fragments[0].start == 135.0 and raw.fragments[1].start == 135.0
    assert not any("Translation" in t or "Kyle" in t or "NOTE" in t for t in texts)


def test_karaoke_timestamps_and_mm_ss(fixtures: Path) -> None:
    raw = _raw(fixtures / WEBVTT_PY / "cue_tags.vtt")
    first = raw.fragments[0]
    assert (first.start, first.end) == (16.5, 18.5)  # 00:16.500 without hours
    assert not any("<00:" in f.text for f in raw.fragments)
    enc = _one(fixtures / WEBVTT_PY / "cue_tags.vtt")
    assert enc.turns[0].text == "When the moon hits your eye Like a big-a pizza pie That's amore"


def test_metadata_headers_styles_and_identifiers(fixtures: Path) -> None:
    meta = _raw(fixtures / WEBVTT_PY / "metadata_headers.vtt")
    assert [f.line for f in meta.fragments] == [6, 9]
    assert not any("Kind" in f.text or "Language" in f.text for f in meta.fragments)
    styles = _raw(fixtures / WEBVTT_PY / "styles.vtt")
    assert styles.metadata["styles"] == 2
    assert [f.text for f in styles.fragments] == ["Hello <b>world</b>."]
    ids = _raw(fixtures / WEBVTT_PY / "using_identifiers.vtt")
    assert [f.text for f in ids.fragments] == [f"Caption text #{i}" for i in range(1, 7)]
    assert [f.line for f in ids.fragments[:4]] == [4, 8, 11, 15]


def test_youtube_header_and_cue_without_blank_line(fixtures: Path) -> None:
    raw = _raw(fixtures / WEBVTT_PY / "youtube_dl.vtt")
    assert [f.start for f in raw.fragments] == [286.07, 286.47, 304.08, 305.069]
    assert "what" in raw.fragments[1].text  # the line before the next timing line is text
    assert not any("::cue" in f.text or "##" in f.text for f in raw.fragments)


def test_srt_comma_millis_and_lenient_timeframe(fixtures: Path) -> None:
    sample = _raw(fixtures / WEBVTT_PY / "sample.srt")
    assert [(f.line, f.start, f.end) for f in sample.fragments[:2]] == [
        (3, 0.5, 7.0), (7, 7.0, 11.89),
    ]
    # cue 2 of invalid_timeframe.srt writes "00:00:11.890" with a dot: read, not dropped
    bad = _raw(fixtures / WEBVTT_PY / "invalid_timeframe.srt")
    assert bad.fragments[1].end == pytest.approx(11.89)
    assert bad.warnings == []


def test_srt_empty_cue_text_is_counted(fixtures: Path) -> None:
    raw = _raw(fixtures / WEBVTT_PY / "missing_caption_text.srt")
    assert raw.metadata["empty_cues"] == 1
    assert [f.text for f in raw.fragments] == [
        "Caption text #1", "Caption text #3", "Caption text #4", "Caption text #5",
    ]
    assert [f.line for f in raw.fragments] == [3, 11, 15, 19]


def test_empty_and_header_only_files(fixtures: Path) -> None:
    with pytest.raises(CompassionError) as empty:
        read(fixtures / WEBVTT_PY / "empty.vtt")
    assert empty.value.code == "E002" and "empty.vtt" in str(empty.value)
    with pytest.raises(CompassionError) as header:
        read(fixtures / WEBVTT_PY / "no_captions.vtt")
    assert header.value.code == "E020" and "no_captions.vtt" in str(header.value)
    with pytest.raises(CompassionError) as direct:
        read_vtt(Path("x.vtt"), "")
    assert direct.value.code == "E002"
    with pytest.raises(CompassionError) as notes:
        read_vtt(Path("x.vtt"), "WEBVTT\n\nNOTE nothing here\n")
    assert notes.value.code == "E020"
    with pytest.raises(CompassionError) as blank:
        read_srt(Path("x.srt"), "1\n00:00:01,000 --> 00:00:02,000\n\n")
    assert blank.value.code == "E020" and "none with text" in str(blank.value)


# ------------------------------------------------------------------ encodings


def test_gb2312_srt_charset_fallback(fixtures: Path) -> None:
    path = fixtures / "srt_encodings" / "cdown_srt_MIT" / "gb2312.srt"
    enc = _one(path)
    assert enc.metadata["format"] == "srt"
    assert str(enc.metadata["encoding"]).lower().startswith("gb")
    assert any(w.startswith("[W003]") for w in enc.metadata["warnings"])
    assert enc.turns[0].pieces[0].raw == "宇宙守护神  保护我们远离邪恶"
    assert [p.start for p in enc.turns[0].pieces] == [27.0, 31.5, 34.1]
    assert [p.line for p in enc.turns[0].pieces] == [3, 7, 11]


def test_ascii_srt_non_consecutive_numbers(fixtures: Path) -> None:
    raw = _raw(fixtures / "srt_encodings" / "cdown_srt_MIT" / "ascii.srt")
    assert [f.text for f in raw.fragments] == ["ascii", "oh look", "ascii everywhere"]
    assert [f.end for f in raw.fragments] == [30.73, 34.1, 36.57]


def test_utf8_bom(fixtures: Path, tmp_path: Path) -> None:
    enc = _one(fixtures / WEBVTT_PY / "captions_with_bom.vtt")
    assert enc.metadata["encoding"] == "utf-8"
    assert enc.turns[0].pieces[0].line == 4
    srt = tmp_path / "bom.srt"
    srt.write_bytes(b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:02,500\r\nDoctor: Hello.\r\n\r\n"
                    b"2\r\n00:00:03,000 --> 00:00:04,000\r\nPatient: Hi.\r\n")
    enc = _one(srt)
    assert enc.metadata["format"] == "srt"
    assert [t.speaker for t in enc.turns] == ["Doctor", "Patient"]
    assert enc.speakers["Doctor"].role == "clinician"
    assert [(t.source_line, t.start, t.end) for t in enc.turns] == [(3, 1.0, 2.5), (7, 3.0, 4.0)]
    # a BOM left in text given directly is ignored too
    [raw] = read_vtt(Path("b.vtt"), "\ufeffWEBVTT\n\n00:01.000 --> 00:02.000\nHi\n")
    assert raw.fragments[0].start == 1.0


# ------------------------------------------------------------------ edge cases in code


def test_negative_and_reversed_times_warn() -> None:
    text = (
        "WEBVTT\n\n"
        "0:0:-6.-820 --> 0:0:1.0\n<v Doctor>Hello.</v>\n\n"
        "00:00:05.000 --> 00:00:04.000\n<v Patient>Hi.</v>\n"
    )
    [raw] = read_vtt(Path("t.vtt"), text)
    first, second = raw.fragments
    assert (first.start, first.end) == (0.0, 1.0)
    assert (second.start, second.end) == (5.0, 5.0)
    codes = [w[:6] for w in raw.warnings]
    assert codes == ["[W001]", "[W005]"]
    assert "cue 1 line 3" in raw.warnings[0]
    assert "Hello" not in " ".join(raw.warnings)


def test_unreadable_timing_line_is_e008() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03,000 --> soon\nsecret words\n"
    with pytest.raises(CompassionError) as exc:
        read_srt(Path("bad.srt"), text)
    message = str(exc.value)
    assert exc.value.code == "E008"
    assert "cue 2 at line 6" in message and "bad.srt" in message
    assert "secret" not in message


def test_several_voices_in_one_cue_and_voice_classes() -> None:
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.000\n"
        "<v Doctor>How are you?</v> <v Patient>Not great.</v>\n\n"
        "00:00:03.000 --> 00:00:05.000\n<v.loud Esme &amp; Co>What?\n"
    )
    [raw] = read_vtt(Path("v.vtt"), text)
    assert [(f.speaker, f.text.strip(), f.line) for f in raw.fragments] == [
        ("Doctor", "How are you?", 4), ("Patient", "Not great.", 4), ("Esme & Co", "What?", 7),
    ]


def test_dash_lines_with_names_split_speakers() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n- Doctor: Any pain?\n- Patient: A little.\n"
    [raw] = read_vtt(Path("d.vtt"), text)
    assert [(f.speaker, f.text, f.line) for f in raw.fragments] == [
        ("Doctor", "Any pain?", 4), ("Patient", "A little.", 5),
    ]


def test_prefix_that_is_not_a_speaker_stays_text() -> None:
    text = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nTake these twice a day.\n\n"
        "00:00:02.000 --> 00:00:03.000\nNote: with food.\n\n"
        "00:00:03.000 --> 00:00:04.000\nOkay.\n"
    )
    [raw] = read_vtt(Path("n.vtt"), text)
    assert [f.speaker for f in raw.fragments] == [None, None, None]
    assert raw.fragments[1].text == "Note: with food."


def test_srt_without_numbers_and_text_after_blank_line() -> None:
    text = (
        "00:00:01,000 --> 00:00:02,000\nDoctor: Hello.\n\nstill the doctor\n\n"
        "00:00:03,000 --> 00:00:04,000\nPatient: Hi.\n"
    )
    [raw] = read_srt(Path("n.srt"), text)
    assert [(f.speaker, f.line) for f in raw.fragments] == [("Doctor", 2), ("Patient", 7)]
    assert raw.fragments[0].text == "Hello.\nstill the doctor"  # never dropped
    assert raw.metadata["loose_text_lines"] == 1


def test_text_before_first_cue_is_kept_without_times() -> None:
    text = "Consultation 12\n\n00:00:01.000 --> 00:00:02.000\nDoctor: Hello.\n"
    [raw] = read_vtt(Path("h.vtt"), text)
    assert (raw.fragments[0].speaker, raw.fragments[0].line, raw.fragments[0].start) == (
        None, 1, None
    )
    assert raw.fragments[1].speaker == "Doctor"


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("00:00:01.500", 1.5),
        ("00:00:01,500", 1.5),
        ("01:02.250", 62.25),
        ("1:02:03.004", 3723.004),
        ("0:0:10.20", 10.02),
        ("0:0:0.0", 0.0),
        ("00:00:01.5", 1.5),
        ("100:00:00.000", 360000.0),
        ("00:00:07", 7.0),
    ],
)
def test_timestamp_forms(stamp: str, seconds: float) -> None:
    [raw] = read_vtt(Path("s.vtt"), f"WEBVTT\n\n{stamp} --> {stamp}\nHi\n")
    assert raw.fragments[0].start == pytest.approx(seconds)


def test_srt_content_in_txt_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "subs.txt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nDoctor: Hello.\n\n"
                    "2\n00:00:02,000 --> 00:00:03,000\nPatient: Hi.\n", encoding="utf-8")
    assert looks_like_srt(path.read_text())
    enc = _one(path)
    assert enc.metadata["format"] == "srt"
    assert [t.speaker for t in enc.turns] == ["Doctor", "Patient"]


_PIECES = ["WEBVTT", "\n", "\n\n", "-->", " --> ", "00:00:01.000", "0:0:-1.-5", "<v A>", "</v>",
           "- ", "NOTE", "STYLE", "1", "Doctor: ", "text", "<00:01.000>", ":", "\ufeff", "99:99"]


def test_any_text_parses_or_raises_a_coded_error() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
    def check(text: str) -> None:
        for parse in (read_vtt, read_srt):
            try:
                [raw] = parse(Path("f.vtt"), text)
            except CompassionError as exc:
                assert exc.code in {"E002", "E008", "E020"}
            else:
                assert raw.fragments
                assert all(f.start is None or f.start >= 0 for f in raw.fragments)
                assert all(f.end is None or f.end >= f.start for f in raw.fragments)

    check()


def test_arrow_inside_cue_text_is_text() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nDoctor: Left\nthen --> right\n"
    [raw] = read_srt(Path("a.srt"), text)
    assert raw.fragments[0].text == "Left\nthen --> right"
