"""Excel turn tables (physical-activity counselling) and MIBot counselling JSON."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.pipeline import read
from compassion_nlp.readers import discover

openpyxl = pytest.importorskip("openpyxl")


def workbook(path: Path, rows: list[list[object]], *, title: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


# ---------------------------------------------------------------- xlsx


def test_physical_activity_dialogue_turns_roles_and_rows(fixtures: Path) -> None:
    path = fixtures / "xlsx_physical_activity" / "relapse1.xlsx"
    [enc] = read(path)
    sheet = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    assert enc.setting == "clinical"
    assert {s.name: s.role for s in enc.speakers.values()} == {"1": "clinician", "2": "patient"}
    # rows with an empty speaker cell continue the turn above: turns alternate speakers
    speakers = [t.speaker for t in enc.turns]
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))
    assert len(enc.turns) == sum(1 for r in sheet[1:] if r[0] not in (None, ""))
    # every utterance points at the spreadsheet row that holds its first word
    for utt in enc.utterances:
        row = sheet[utt.source_line - 1]
        assert utt.text.split()[0].strip(".,?!") in str(row[2]), utt.id


def test_numeric_and_text_speaker_codes_are_one_speaker(fixtures: Path) -> None:
    [enc] = read(fixtures / "xlsx_physical_activity" / "guidelines_paga1.xlsx")
    assert set(enc.speakers) == {"1", "2"}
    assert "UNKNOWN" not in enc.speakers


def test_xlsx_turn_table_on_a_later_sheet_with_times(tmp_path: Path) -> None:
    path = tmp_path / "calls.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Notes about the call"])
    sheet = book.create_sheet("Transcript")
    sheet.append(["Name", "Text", "Start"])
    sheet.append(["Dr Lee", "How are you\nfeeling today?", 1.5])
    sheet.append(["Patient", "I've been really worried.", "00:00:04"])
    book.save(path)
    [enc] = read(path)
    assert [t.speaker for t in enc.turns] == ["Dr Lee", "Patient"]
    assert enc.turns[0].text == "How are you feeling today?"
    assert [t.start for t in enc.turns] == [1.5, 4.0]
    assert enc.speakers["Patient"].role == "patient"
    assert [t.source_line for t in enc.turns] == [2, 3]


@pytest.mark.parametrize(
    ("rows", "code"),
    [
        ([["Notes"], ["nothing here"]], "E004"),
        ([["Speaker", "Text"]], "E016"),
    ],
)
def test_xlsx_without_turns(tmp_path: Path, rows: list[list[object]], code: str) -> None:
    path = workbook(tmp_path / "bad.xlsx", rows)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == code and "bad.xlsx" in str(info.value)


def test_damaged_xlsx_is_e008(tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E008" and "damaged.xlsx" in str(info.value)


def test_missing_openpyxl_names_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "t.xlsx", [["Speaker", "Text"], ["Doctor", "Hello."]])
    real_import = builtins.__import__

    def no_openpyxl(name: str, *args: object, **kwargs: object) -> object:
        if name == "openpyxl":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E018"
    assert "compassion-nlp[xlsx]" in str(info.value) and "t.xlsx" in str(info.value)


# ---------------------------------------------------------------- MIBot JSON


def test_mibot_conversation(fixtures: Path) -> None:
    [path] = (fixtures / "json_mibot").glob("*.json")
    data = json.loads(path.read_text())
    [enc] = read(path)
    assert enc.setting == "clinical"
    assert enc.metadata["json"] == "mibot"
    assert enc.metadata["participant_id"] == data["participant_id"]
    counsellor, client = enc.speakers["counsellor"], enc.speakers["client"]
    assert (counsellor.role, counsellor.role_source) == ("clinician", "format")
    assert (client.role, client.role_source) == ("patient", "format")
    # consecutive utterances of one speaker form one turn
    changes = 1 + sum(
        a["speaker"] != b["speaker"]
        for a, b in zip(data["utterances"], data["utterances"][1:], strict=False)
    )
    assert len(enc.turns) == changes
    words = sum(len(u["text"].split()) for u in data["utterances"])
    assert sum(len(t.text.split()) for t in enc.turns) == words


def test_mibot_labels_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"participant_id": "p1", "utterances": [
        {"speaker": "counsellor", "text": "Hello there.", "auto_misc_label": "Other"},
        {"speaker": "client", "text": "I want to quit.", "auto_misc_label": "C"},
    ]}))
    [enc] = read(path)
    assert "Other" not in json.dumps(enc.metadata, default=str)
    assert [t.speaker for t in enc.turns] == ["counsellor", "client"]


def test_new_shared_sources_are_found(shared_data: Path) -> None:
    root = shared_data / "transcripts"
    sources, ignored = discover([root / "mibot", root / "physical_activity_counseling"])
    ids = [s.encounter_id for s in sources]
    assert len([i for i in ids if i.endswith(".json")]) == 106
    assert len([i for i in ids if i.endswith(".xlsx")]) == 44
    assert {p.name for p in ignored} == {"LICENSE", "Annotation Scheme.pdf"}
