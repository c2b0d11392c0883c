"""CSV/TSV (a dialogue per row, or a turn table) and JSON turn lists (QMSum, generic)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from compassion_nlp.decoding import read_text
from compassion_nlp.errors import CompassionError
from compassion_nlp.model import Encounter
from compassion_nlp.pipeline import read


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def check_source_lines(path: Path, encounters: list[Encounter]) -> int:
    """Each utterance's source line, read in the file, holds the utterance's first word."""
    lines = read_text(path).text.split("\n")
    checked = 0
    for enc in encounters:
        for turn in enc.turns:
            for utt in turn.utterances:
                assert utt.source_line is not None
                word = re.sub(r"\W+", "", utt.text.split()[0]).lower()
                assert word in re.sub(r"\W+", "", lines[utt.source_line - 1]).lower(), utt.id
                checked += 1
    return checked


# ---------------------------------------------------------------- dialogue CSVs


def test_acibench_csv_one_encounter_per_row(fixtures: Path) -> None:
    path = fixtures / "csv_dialogues" / "aci_bench_valid_head3.csv"
    encs = read(path)
    assert [e.id for e in encs] == [
        "aci_bench_valid_head3.csv#D2N068",
        "aci_bench_valid_head3.csv#D2N069",
        "aci_bench_valid_head3.csv#D2N070",
    ]
    assert [len(e.turns) for e in encs] == [73, 49, 77]
    for enc in encs:
        assert {s.name: s.role for s in enc.speakers.values()} == {
            "doctor": "clinician", "patient": "patient"
        }
        assert enc.metadata["columns"]["dataset"] == "virtassist"
    # the dialogue cells start on lines 2, 129 and 213 of the file
    assert [e.turns[0].source_line for e in encs] == [2, 129, 213]
    assert encs[0].turns[0].text == "hi, brian. how are you?"
    assert check_source_lines(path, encs) > 300


def test_mtsdialog_csv_with_mixed_line_endings(fixtures: Path) -> None:
    path = fixtures / "csv_dialogues" / "mts_dialog_validation_head6.csv"
    raw = path.read_bytes()
    assert b"\r\n" in raw and raw.count(b"\n") > raw.count(b"\r\n")  # CRLF rows, LF in cells
    encs = read(path)
    assert [e.id.split("#")[1] for e in encs] == ["0", "1", "2", "3", "4", "5"]
    assert [len(e.turns) for e in encs] == [20, 14, 4, 6, 2, 4]
    assert [e.turns[0].source_line for e in encs] == [2, 22, 36, 40, 46, 49]
    assert Counter(t.speaker for t in encs[5].turns) == {"Doctor": 2, "Guest family": 2}
    # a label with a leading space (" Patient:", line 5) is still a label
    assert next(t for t in encs[0].turns if t.source_line == 5).speaker == "Patient"
    assert check_source_lines(path, encs) > 50


def test_dialogue_cell_after_multi_line_cells_keeps_file_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.csv",
        'id,summary,dialogue\r\n'
        'A1,"two\r\nlines","Doctor: Hi.\nPatient: Hello.\n\nDoctor: Bye."\r\n'
        'A2,short,"[doctor] one\n[patient] two"\r\n',
    )
    a1, a2 = read(path)
    assert (a1.id, a2.id) == ("d.csv#A1", "d.csv#A2")
    assert [t.source_line for t in a1.turns] == [3, 4, 6]
    assert [t.source_line for t in a2.turns] == [7, 8]


def test_dialogue_rows_without_id_are_numbered_and_duplicates_kept_apart(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.csv",
        'dialogue\n"Doctor: a\nPatient: b"\n"Doctor: c\nPatient: d"\n',
    )
    assert [e.id for e in read(path)] == ["d.csv#1", "d.csv#2"]
    path = write(tmp_path, "e.csv", 'id,dialogue\n7,"Doctor: a\nPatient: b"\n7,"Doctor: c"\n')
    assert [e.id for e in read(path)] == ["e.csv#7", "e.csv#7-2"]


def test_a_warning_about_one_dialogue_names_its_row(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.csv",
        'id,dialogue\n1,"Doctor: a\nPatient: b"\n'
        'D2,"Doctor_2: hello\nPatient: hi\nDocotr_2: how are you\nPatient: fine"\n',
    )
    first, second = read(path)
    assert not [w for w in first.metadata["warnings"] if w.startswith("[W004]")]
    [warning] = [w for w in second.metadata["warnings"] if w.startswith("[W004]")]
    assert warning.startswith(f"[W004] {path}#D2:")


def test_a_bad_row_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.csv",
        'id,dialogue\n1,"Doctor: hi\nPatient: hello"\n2,"   "\n3,"no labels in this secret row"\n',
    )
    [enc] = read(path)
    assert enc.id == "d.csv#1"
    [warning] = [w for w in enc.metadata["warnings"] if w.startswith("[W040]")]
    assert "2 of 3" in warning and "#2 E016" in warning and "#3 E005" in warning
    assert "secret" not in warning


def test_all_rows_bad_fails_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", 'id,dialogue\n1,"secret prose"\n2,"more secret prose"\n')
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E005"
    assert "secret" not in str(info.value)


# ---------------------------------------------------------------- turn tables


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.csv", "speaker,text\nDoctor,Hello.\nPatient,Hi.\n"),
        ("b.csv", "Speaker Name,Content\nDoctor,Hello.\nPatient,Hi.\n"),
        ("c.csv", "who;utterance\nDoctor;Hello.\nPatient;Hi.\n"),
        ("d.tsv", "speaker\tsentence\nDoctor\tHello.\nPatient\tHi.\n"),
        ("e.csv", "SPEAKER|MESSAGE\nDoctor|Hello.\nPatient|Hi.\n"),
        ("f.csv", "\n\nspeaker,text\n\nDoctor,Hello.\n\nPatient,Hi.\n"),  # blank lines
        ("g.csv", "speaker,transcript\nDoctor,Hello.\nPatient,Hi.\n"),  # not a dialogue CSV
    ],
)
def test_turn_table_header_aliases(tmp_path: Path, name: str, text: str) -> None:
    [enc] = read(write(tmp_path, name, text))
    assert [(t.speaker, t.text) for t in enc.turns] == [("Doctor", "Hello."), ("Patient", "Hi.")]
    assert enc.metadata["format"] == "csv"


def test_turn_table_times_roles_and_lines(tmp_path: Path) -> None:
    text = (
        "name,role,text,start,end\n"
        "Jane,doctor,Hello.,00:00:01.5,2\n"
        'Bob,patient,"Hi,\nthere.",3,4.25\n'
        "Bob,patient,More.,5,6\n"
        "Jane,clinician,Bye.,-1,nan\n"
    )
    [enc] = read(write(tmp_path, "t.csv", text))
    assert [(t.speaker, t.text, t.start, t.end) for t in enc.turns] == [
        ("Jane", "Hello.", 1.5, 2.0),
        ("Bob", "Hi, there. More.", 3.0, 6.0),
        ("Jane", "Bye.", 0.0, None),  # negative clamped to 0, nan dropped
    ]
    assert [t.source_line for t in enc.turns] == [2, 3, 6]
    assert enc.speakers["Jane"].role == "clinician"
    assert enc.speakers["Jane"].role_source == "format"
    assert enc.speakers["Bob"].role == "patient"


def test_turn_table_role_column_only_and_milliseconds(tmp_path: Path) -> None:
    text = (
        "role\tcontent\tstart_ms\tend_ms\n"
        "clinician\tHello.\t1500\t2500\npatient\tHi.\t3000\t4000\n"
    )
    [enc] = read(write(tmp_path, "t.tsv", text))
    assert [(t.speaker, t.start, t.end) for t in enc.turns] == [
        ("clinician", 1.5, 2.5), ("patient", 3.0, 4.0)
    ]
    assert {s.role for s in enc.speakers.values()} == {"clinician", "patient"}


def test_turn_table_grouped_into_encounters(tmp_path: Path) -> None:
    text = "conversation_id,speaker,text\nc1,Doctor,Hello.\nc1,Patient,Hi.\nc2,Doctor,Next.\n"
    encs = read(write(tmp_path, "t.csv", text))
    assert [(e.id, len(e.turns)) for e in encs] == [("t.csv#c1", 2), ("t.csv#c2", 1)]


def test_turn_table_cells_over_the_csv_default_limit(tmp_path: Path) -> None:
    long = "word " * 40_000  # 200 kB, over the csv module's 128 kB default
    [enc] = read(write(tmp_path, "t.csv", f'speaker,text\nDoctor,"{long}"\nPatient,Hi.\n'))
    assert len(enc.turns[0].text) == len(long.strip())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("speaker,text\n,secret one\n,secret two\n", "E005"),  # no speakers
        ("a,b,c\n1,secret,3\n", "E004"),  # neither layout
        ('speaker,text\nDoctor,"secret never closed\nPatient,Hi.\n', "E008"),
        ("id,x,dialogue\n1\n", "E008"),  # a row too short to have the dialogue cell
    ],
)
def test_csv_errors(tmp_path: Path, text: str, code: str) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == code
    assert "bad.csv" in str(info.value) and "secret" not in str(info.value)


def test_metadata_csv_of_the_corpus_is_not_a_transcript(shared_data: Path) -> None:
    with pytest.raises(CompassionError) as info:
        read(shared_data / "transcripts" / "aci_bench" / "valid_metadata.csv")
    assert info.value.code == "E004"


# ---------------------------------------------------------------- JSON


def test_qmsum_meeting(fixtures: Path) -> None:
    path = fixtures / "json_qmsum" / "TS3010a.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    [enc] = read(path)
    assert enc.setting == "meeting"
    assert enc.metadata["json"] == "qmsum"
    assert len(enc.turns) == len(data["meeting_transcripts"]) == 168
    assert Counter(t.speaker for t in enc.turns) == {
        "Project Manager": 56, "Industrial Designer": 48, "Marketing": 40, "User Interface": 24
    }
    assert enc.speakers["Project Manager"].role == "leader"
    assert enc.speakers["Marketing"].role == "staff"
    flags: Counter[str] = Counter()
    for turn in enc.turns:
        flags.update(turn.flags)
        assert "{" not in turn.text and "}" not in turn.text
    assert (flags["vocalsound"], flags["disfluency"], flags["gap"]) == (80, 35, 12)
    assert enc.turns[0].text.startswith("So welcome. The first kick-off meeting.")
    assert enc.turns[1].text == "" and enc.turns[1].flags == {"vocalsound": 1}
    assert enc.turns[0].source_line is None


def test_qmsum_without_speakers_is_e005(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", '{"meeting_transcripts": [{"content": "secret"}]}')
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E005"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.json", '[{"speaker": "Doctor", "text": "Hello.", "start": 1.5, "end": 2},'
                   ' {"speaker": "Patient", "text": "Hi.", "start": "00:00:03", "end": 4}]'),
        ("b.jsonl", '{"speaker": "Doctor", "text": "Hello.", "start": 1.5, "end": 2}\n\n'
                    '{"speaker": "Patient", "text": "Hi.", "start": 3, "end": 4}\n'),
        ("c.json", '{"turns": [{"Speaker": "Doctor", "Content": "Hello.", "begin": 1.5,'
                   ' "stop": 2}, {"Speaker": "Patient", "Content": "Hi.", "begin": 3,'
                   ' "stop": 4}]}'),
    ],
)
def test_generic_json_turn_lists(tmp_path: Path, name: str, text: str) -> None:
    [enc] = read(write(tmp_path, name, text))
    assert [(t.speaker, t.text, t.start, t.end) for t in enc.turns] == [
        ("Doctor", "Hello.", 1.5, 2.0), ("Patient", "Hi.", 3.0, 4.0)
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"meeting_transcripts": [{"speaker": "A", "content": "secret"}', "E008"),
        ('{"speaker": "A", "text": "secret"}\n{"speaker": oops}\n', "E008"),
        ("[" * 50_000 + "]" * 50_000, "E008"),  # nested too deeply for the parser
        ('{"n": ' + "9" * 5000 + ', "secret": 1}', "E008"),  # an integer too long
        ('{"something": "secret"}', "E004"),
        ("[1, 2, 3]", "E004"),
        ('[{"speaker": ["A"], "text": {"x": "secret"}}]', "E016"),
    ],
)
def test_json_errors(tmp_path: Path, text: str, code: str) -> None:
    path = write(tmp_path, "bad.json", text)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == code
    assert "bad.json" in str(info.value) and "secret" not in str(info.value)
