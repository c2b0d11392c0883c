"""Plain-text transcripts: speaker prefixes, timestamps, headers, multi-line turns, typos."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from compassion_nlp.decoding import read_text
from compassion_nlp.errors import CompassionError
from compassion_nlp.model import Encounter
from compassion_nlp.pipeline import read
from compassion_nlp.readers.text import parse_lines, parse_time


def read_str(tmp_path: Path, text: str, name: str = "t.txt") -> Encounter:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    [enc] = read(path)
    return enc


def turns(enc: Encounter) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in enc.turns]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Doctor: Hello.\nPatient: Hi.\n", [("Doctor", "Hello."), ("Patient", "Hi.")]),
        ("[doctor] hello .\n[patient] hi .\n", [("doctor", "hello."), ("patient", "hi.")]),
        ("D: Hello.\nP: Hi.\n", [("D", "Hello."), ("P", "Hi.")]),
        ("D : Hello.\nP : Hi.\n", [("D", "Hello."), ("P", "Hi.")]),
        ("DOCTOR: Hello.\nPATIENT: Hi.\n", [("DOCTOR", "Hello."), ("PATIENT", "Hi.")]),
        ("Speaker 1: Hello.\nSpeaker 2: Hi.\n", [("Speaker 1", "Hello."), ("Speaker 2", "Hi.")]),
        ("SPEAKER_00: Hello.\nSPEAKER_01: Hi.\n",
         [("SPEAKER 00", "Hello."), ("SPEAKER 01", "Hi.")]),
        ("**Doctor**\nHello.\n\n**Patient**\nHi.\n", [("Doctor", "Hello."), ("Patient", "Hi.")]),
        ("**Doctor:** Hello.\n**Patient**: Hi.\n", [("Doctor", "Hello."), ("Patient", "Hi.")]),
        ("Dr. Smith: Hello.\nMrs. Jones: Hi.\nDr. Smith: Good.\nMrs. Jones: Yes.\n",
         [("Dr. Smith", "Hello."), ("Mrs. Jones", "Hi."), ("Dr. Smith", "Good."),
          ("Mrs. Jones", "Yes.")]),
        ("Doctor:Hello.\nPatient:Hi.\n", [("Doctor", "Hello."), ("Patient", "Hi.")]),
    ],
)
def test_speaker_prefix_styles(tmp_path: Path, text: str, expected: list[tuple[str, str]]) -> None:
    assert turns(read_str(tmp_path, text)) == expected


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("[00:01:23] Doctor: Hello.\n[00:01:30] Patient: Hi.\n", [83.0, 90.0]),
        ("00:01:23 Doctor: Hello.\n00:01:30 Patient: Hi.\n", [83.0, 90.0]),
        ("Doctor (00:01:23): Hello.\nPatient (01:30): Hi.\n", [83.0, 90.0]),
        ("Doctor [1:23.5] Hello.\nPatient [1:30] Hi.\n", [83.5, 90.0]),
        # Otter: "Name  0:03" header, text on the lines after it
        ("Jane Doe  0:03\nHello.\n\nJohn Roe  0:10\nHi.\n", [3.0, 10.0]),
        # Zoom (new): "[Name] 11:02:09"
        ("[Jane Doe] 11:02:09\nHello.\n\n[John Roe] 11:02:13\nHi.\n", [39729.0, 39733.0]),
        # TranscribeMe: "S1 00:00:01.717"
        ("S1 00:00:01.717\nHello.\n\nS2 00:00:03,5\nHi.\n", [1.717, 3.5]),
        # a line holding only a time times the lines after it
        ("[00:00:05]\nDoctor: Hello.\n00:00:09\nPatient: Hi.\n", [5.0, 9.0]),
    ],
)
def test_timestamps_before_after_and_as_headers(
    tmp_path: Path, text: str, starts: list[float]
) -> None:
    enc = read_str(tmp_path, text)
    assert [t.text for t in enc.turns] == ["Hello.", "Hi."]
    assert [t.start for t in enc.turns] == pytest.approx(starts)
    assert enc.utterances[0].start == pytest.approx(starts[0])


def test_multi_line_turns_blank_lines_and_pieces(tmp_path: Path) -> None:
    text = (
        "Doctor: How are you\n"
        "feeling today?\n"
        "\n\n"
        "Patient: Not great.\n"
        "   My back hurts.\n"
        "Patient: And my knee.\n"
        "Doctor: I see.\n"
    )
    enc = read_str(tmp_path, text)
    assert turns(enc) == [
        ("Doctor", "How are you feeling today?"),
        ("Patient", "Not great. My back hurts. And my knee."),
        ("Doctor", "I see."),
    ]
    patient = enc.turns[1]
    assert [p.line for p in patient.pieces] == [5, 6, 7]
    assert [p.raw for p in patient.pieces] == ["Not great.", "My back hurts.", "And my knee."]
    assert [(u.text, u.source_line) for u in patient.utterances] == [
        ("Not great.", 5), ("My back hurts.", 6), ("And my knee.", 7)
    ]


def test_label_like_words_inside_a_turn_are_not_speakers(tmp_path: Path) -> None:
    text = (
        "Doctor: Take these twice a day.\n"
        "Note: with food.\n"
        "Patient: Morning and evening?\n"
        "Doctor: Yes. The plan: rest, then review.\n"
    )
    enc = read_str(tmp_path, text)
    assert [t.speaker for t in enc.turns] == ["Doctor", "Patient", "Doctor"]
    assert enc.turns[0].text == "Take these twice a day. Note: with food."
    assert "The plan: rest" in enc.turns[2].text


def test_recurring_names_are_speakers_even_when_not_role_words(tmp_path: Path) -> None:
    enc = read_str(tmp_path, "Alice: Hi.\nBob: Hello.\nAlice: Bye.\nBob: Bye.\n")
    assert [t.speaker for t in enc.turns] == ["Alice", "Bob", "Alice", "Bob"]


def test_lines_before_the_first_label_are_kept_under_unknown(tmp_path: Path) -> None:
    enc = read_str(tmp_path, "Consultation 12\nDoctor: Hello.\nPatient: Hi.\n")
    assert turns(enc)[0] == ("UNKNOWN", "Consultation 12")
    assert any(w.startswith("[W002]") for w in enc.metadata["warnings"])


def test_typo_labels_merge_but_different_people_do_not(tmp_path: Path) -> None:
    text = (
        "Doctor_2: Hello.\nPatient: Hi.\nDocotr_2: How are you?\nPatient: Fine.\n"
        "Dr Smith: And you?\nDr Jones: Good.\nDoctor A: One.\nDoctor B: Two.\n"
        "Gest_family: Me too.\nPatient: Ok.\nGuest_family: Yes.\nGuest_family: Right.\n"
    )
    enc = read_str(tmp_path, text)
    names = Counter(t.speaker for t in enc.turns)
    assert names["Doctor 2"] == 2 and "Docotr 2" not in names
    assert names["Guest family"] == 2 and "Gest family" not in names
    assert {"Dr Smith", "Dr Jones", "Doctor A", "Doctor B"} <= set(names)
    [warning] = [w for w in enc.metadata["warnings"] if w.startswith("[W004]")]
    assert "'Docotr_2'->'Doctor_2'" in warning and "'Gest_family'->'Guest_family'" in warning
    assert "Smith" not in warning


def test_period_label_needs_a_role_word_written_with_a_colon_elsewhere(tmp_path: Path) -> None:
    enc = read_str(
        tmp_path,
        "Doctor: Hello.\nGuest_family. Hello. I'm his wife.\nGuest_family: Yes.\n"
        "Doctor: Okay. Family. That matters.\nFamily. It does.\n",
    )
    assert [t.speaker for t in enc.turns] == ["Doctor", "Guest family", "Doctor"]
    assert enc.turns[1].text == "Hello. I'm his wife. Yes."
    # "Family." is a role word but never written "Family:": it stays text
    assert enc.turns[2].text.endswith("Family. It does.")


def test_parse_time() -> None:
    assert parse_time("01:02:03.5") == pytest.approx(3723.5)
    assert parse_time("0:03") == 3.0
    assert parse_time("00:00:01,717") == pytest.approx(1.717)
    assert parse_time("") is None and parse_time(None) is None
    assert parse_time("nan") is None and parse_time("inf") is None
    assert parse_time("ab:cd") is None


def test_parse_lines_directly() -> None:
    frags = parse_lines([(1, "\ufeffDoctor: hi"), (2, ""), (3, "P: yo"), (4, "more")])
    assert [(f.speaker, f.text, f.line) for f in frags] == [
        ("Doctor", "hi", 1), ("P", "yo", 3), ("P", "more", 4)
    ]


def test_no_speakers_is_e005_and_unknown_extension_is_e004(tmp_path: Path) -> None:
    prose = "The quick brown fox.\nJumps over the lazy dog.\n"
    for name, code in (("prose.txt", "E005"), ("prose.xyz", "E004"), ("prose", "E004")):
        path = tmp_path / name
        path.write_text(prose)
        with pytest.raises(CompassionError) as info:
            read(path)
        assert info.value.code == code
        assert name in str(info.value) and "fox" not in str(info.value)


def test_a_known_format_with_an_odd_extension_is_read(tmp_path: Path) -> None:
    path = tmp_path / "consult.log"
    path.write_text("Doctor: Hello.\nPatient: Hi.\n")
    assert [t.speaker for t in read(path)[0].turns] == ["Doctor", "Patient"]


# ---------------------------------------------------------------- real files


def _source_line_ok(path: Path, enc: Encounter) -> None:
    """Every utterance's source line holds the start of its text (as an editor shows it)."""
    lines = read_text(path).text.split("\n")
    checked = 0
    for turn in enc.turns:
        for utt in turn.utterances:
            assert utt.source_line is not None
            piece = turn.piece_at(utt.start_char)
            assert piece is not None and piece.line == utt.source_line
            words = re.sub(r"\W+", "", utt.text.split()[0]).lower()
            assert words in re.sub(r"\W+", "", lines[utt.source_line - 1]).lower()
            checked += 1
    assert checked >= len(enc.turns)


@pytest.mark.parametrize(
    ("name", "n_turns", "speakers"),
    [
        ("aci_asr_ACI005.txt", 7, {"doctor": 4, "patient": 3}),
        ("aci_asr_ACI026.txt", 41, {"doctor": 21, "patient": 20}),
        # 81 label lines: consecutive [doctor] lines ("so-" then the question) make one turn
        ("valid_patient_guest_D2N076.txt", 75, {"doctor": 38, "patient guest": 37}),
        ("virtscribe_humantrans_VS015.txt", 59, {"doctor": 30, "patient": 29}),
    ],
)
def test_acibench_text(fixtures: Path, name: str, n_turns: int, speakers: dict[str, int]) -> None:
    path = fixtures / "plaintext_acibench" / name
    [enc] = read(path)
    assert len(enc.turns) == n_turns
    assert dict(Counter(t.speaker for t in enc.turns)) == speakers
    assert enc.turns[0].speaker == "doctor"
    roles = {s.name: s.role for s in enc.speakers.values()}
    assert roles["doctor"] == "clinician"
    assert set(roles.values()) == {"clinician", "patient"}
    _source_line_ok(path, enc)


def test_acibench_patient_guest_label_and_merged_lines(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_acibench" / "valid_patient_guest_D2N076.txt")
    guest = enc.speakers["patient guest"]
    assert (guest.label, guest.role) == ("patient_guest", "patient")
    merged = next(t for t in enc.turns if t.source_line == 9)
    assert merged.speaker == "doctor"
    assert [p.line for p in merged.pieces] == [9, 10]
    assert merged.text.startswith("so- can you start at the beginning?")


def test_acibench_asr_file_has_very_long_lines(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_acibench" / "aci_asr_ACI005.txt")
    assert [t.source_line for t in enc.turns] == [1, 2, 3, 4, 5, 6, 7]
    assert max(len(t.text) for t in enc.turns) > 1000
    assert len(enc.utterances) > len(enc.turns)  # long unpunctuated lines are cut


def test_mtsdialog_doctor2_typo_merge(fixtures: Path) -> None:
    path = fixtures / "plaintext_mtsdialog" / "train_ID1115_doctor2.txt"
    [enc] = read(path)
    assert len(enc.turns) == 94
    assert dict(Counter(t.speaker for t in enc.turns)) == {
        "Doctor": 45, "Patient": 17, "Doctor 2": 32
    }
    assert enc.speakers["Doctor 2"].label == "Doctor_2"
    assert {s.role for s in enc.speakers.values()} == {"clinician", "patient"}
    typo = next(t for t in enc.turns if t.source_line == 69)  # "Docotr_2: It looks like…"
    assert typo.speaker == "Doctor 2"
    assert typo.pieces[0].line == 69
    assert read_text(path).text.split("\n")[68].startswith("Docotr_2:")
    assert any("'Docotr_2'->'Doctor_2'" in w for w in enc.metadata["warnings"])
    _source_line_ok(path, enc)


def test_mtsdialog_period_label(fixtures: Path) -> None:
    path = fixtures / "plaintext_mtsdialog" / "train_ID1156_period_label.txt"
    [enc] = read(path)
    assert len(enc.turns) == 12
    line8 = next(t for t in enc.turns if t.source_line == 8)
    assert line8.speaker == "Guest family"
    assert line8.text == "Hello. I'm his wife."
    assert enc.speakers["Guest family"].role == "patient"
    _source_line_ok(path, enc)


def test_mtsdialog_family_member_speaks_first(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_mtsdialog" / "train_ID695_simple.txt")
    assert [t.speaker for t in enc.turns] == ["Guest family", "Doctor", "Guest family", "Doctor"]
    assert enc.speakers["Doctor"].role == "clinician"


def test_mtsdialog_numbered_family_members_stay_apart(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_mtsdialog" / "train_ID727_guestfamily12.txt")
    assert dict(Counter(t.speaker for t in enc.turns)) == {
        "Doctor": 9, "Guest family 1": 9, "Guest family 2": 1
    }
    assert not any(w.startswith("[W004]") for w in enc.metadata["warnings"])


def test_mtsdialog_guest_clinician(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_mtsdialog" / "train_ID1002_guest_clinician.txt")
    assert len(enc.turns) == 52
    assert enc.speakers["Guest clinician"].role == "clinician"
    assert enc.speakers["Patient"].role == "patient"


@pytest.mark.parametrize(
    ("name", "n_turns", "first", "first_line"),
    [
        ("CAR0003.txt", 123, "D", 1),
        ("DER0001.txt", 82, "P", 1),  # the patient speaks first
        ("GAS0001.txt", 75, "D", 1),
        ("MSK0006.txt", 137, "D", 1),
        ("MSK0012.txt", 123, "D", 2),  # starts with a blank CRLF line
        ("RES0002.txt", 94, "D", 1),  # UTF-16 LE; line 121 is "D:OK." with no space
    ],
)
def test_osce_files(fixtures: Path, name: str, n_turns: int, first: str, first_line: int) -> None:
    path = fixtures / "plaintext_osce_fareez" / name
    [enc] = read(path)
    assert len(enc.turns) == n_turns
    assert set(enc.speakers) == {"D", "P"}
    assert enc.speakers["D"].role == "clinician" and enc.speakers["P"].role == "patient"
    assert (enc.turns[0].speaker, enc.turns[0].source_line) == (first, first_line)
    _source_line_ok(path, enc)


def test_osce_utf16_file(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_osce_fareez" / "RES0002.txt")
    assert enc.metadata["encoding"] == "utf-16-le"
    assert Counter(t.speaker for t in enc.turns) == {"D": 47, "P": 47}
    no_space = next(t for t in enc.turns if t.source_line == 121)
    assert (no_space.speaker, no_space.text[:3]) == ("D", "OK.")


def test_osce_multi_line_turns(fixtures: Path) -> None:
    path = fixtures / "plaintext_osce_fareez" / "GAS0001.txt"
    [enc] = read(path)
    multi = [t for t in enc.turns if len(t.pieces) > 1]
    assert [(t.speaker, [p.line for p in t.pieces]) for t in multi] == [
        ("P", [63, 64]), ("P", [140, 141])
    ]
    assert multi[0].text.endswith("calculate it like to the day.")
    _source_line_ok(path, enc)


def test_osce_long_monologue(fixtures: Path) -> None:
    [enc] = read(fixtures / "plaintext_osce_fareez" / "MSK0006.txt")
    longest = max(enc.turns, key=lambda t: len(t.text))
    assert longest.source_line == 273
    assert len(longest.text) > 1000


def test_zoom_new_headers_and_consecutive_blocks(fixtures: Path) -> None:
    path = fixtures / "txt_zoom_new" / "input_example.txt"
    [enc] = read(path)
    assert [t.speaker for t in enc.turns] == ["Johnny Doe", "Janet Dough"] * 4
    first = enc.turns[0]
    assert (first.source_line, first.start, first.text) == (2, 39729.0, "How you doing?")
    merged = enc.turns[4]  # two "[Johnny Doe]" blocks in a row (lines 13 and 16)
    assert [p.line for p in merged.pieces] == [14, 17]
    assert [p.start for p in merged.pieces] == [39734.0, 39742.0]
    assert merged.text == "Making sure. Okay. That's perfectly fine, and that makes sense."
    assert "\u2026" in enc.turns[3].text  # the Unicode ellipsis survives
    _source_line_ok(path, enc)


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("10:00\tAlice: Hello everyone.\n10:01\tBob: Hi Alice.\n10:02\tSam: We're stretched.\n",
         [600.0, 601.0, 602.0]),  # m:ss offsets
        ("[10:00:01]\tAlice: Hello.\n[10:00:05]\tBob: Hi Alice.\n[10:00:07]\tSam: Hi.\n",
         [36001.0, 36005.0, 36007.0]),
        ("2024-03-12 10:00:01\tAlice: Hello.\n2024-03-12 10:00:05\tBob: Hi.\n"
         "2024-03-12 10:00:09\tSam: Hi.\n", [36001.0, 36005.0, 36009.0]),
        ("12/03/2024, 10:00\tAlice: Hello.\n12/03/2024, 10:01\tBob: Hi.\n"
         "12/03/2024, 10:02\tSam: Hi.\n", [36000.0, 36060.0, 36120.0]),  # a date: hh:mm
        ("10:00 PM\tAlice: Hello.\n10:01 PM\tBob: Hi.\n10:02 PM\tSam: Hi.\n",
         [79200.0, 79260.0, 79320.0]),
    ],
)
def test_tab_separated_chat_exports_keep_every_speaker(text: str, starts: list[float]) -> None:
    """Each line's name is a speaker even when it appears once (no names glued into text)."""
    from compassion_nlp.pipeline import read_string

    [enc] = read_string(text)
    assert [t.speaker for t in enc.turns] == ["Alice", "Bob", "Sam"]
    assert [t.start for t in enc.turns] == starts
    assert not any(":" in t.text for t in enc.turns)


def test_nvivo_tab_separated_transcript_in_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "interview.txt"
    path.write_text("Timespan\tContent\tSpeaker\n"
                    "0:00:01.0 - 0:00:05.0\tHello, thanks for coming.\tAlice\n"
                    "0:00:05.0 - 0:00:09.0\tGlad to be here.\tBob\n", encoding="utf-8")
    [enc] = read(path)
    assert enc.metadata["format"] == "csv"
    assert [(t.speaker, t.start) for t in enc.turns] == [("Alice", 1.0), ("Bob", 5.0)]


def test_unknown_tab_separated_columns_suggest_the_csv_reader(tmp_path: Path) -> None:
    path = tmp_path / "table.txt"
    path.write_text("When\tWhat was said\n0:01\thello there\n0:05\tgood morning\n")
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E005" and "--format csv" in str(info.value)
