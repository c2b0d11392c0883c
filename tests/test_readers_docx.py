"""Reading .docx transcripts; the Word files are built in code (no binary fixtures)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.pipeline import read
from compassion_nlp.readers import docx as docx_reader
from compassion_nlp.readers.docx import read_docx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def para(*runs: str) -> str:
    """A paragraph of plain runs; ``"\\n"`` inside a run becomes a soft line break."""
    out = []
    for run in runs:
        pieces = [f'<w:t xml:space="preserve">{escape(p)}</w:t>' for p in run.split("\n")]
        out.append("<w:r>" + "<w:br/>".join(pieces) + "</w:r>")
    return "<w:p>" + "".join(out) + "</w:p>"


def table(rows: list[list[str]]) -> str:
    cells = "".join(
        "<w:tr>" + "".join(f"<w:tc>{para(c) if c else '<w:p/>'}</w:tc>" for c in row) + "</w:tr>"
        for row in rows
    )
    return f"<w:tbl>{cells}</w:tbl>"


def document(*blocks: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_NS}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        f"<w:body>{''.join(blocks)}<w:sectPr/></w:body></w:document>"
    )


def make_docx(path: Path, xml: str | bytes, *, part: str = "word/document.xml") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(part, xml)
    return path


def test_speaker_paragraphs_with_times(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "consult.docx",
        document(
            "<w:p/>",  # an empty paragraph still counts
            para("Doctor: Hello, what brings you in today?"),
            para("Patient (00:00:05): I have had ", "a cough for a week."),
            para("Doctor (00:01:23): I am sorry to hear that."),
            para("It must be tiring."),  # continues the doctor's turn
        ),
    )
    [raw] = read_docx(path)
    assert [(f.speaker, f.line) for f in raw.fragments] == [
        ("Doctor", 2), ("Patient", 3), ("Doctor", 4), ("Doctor", 5),
    ]
    assert raw.fragments[1].text == "I have had a cough for a week."  # runs joined
    assert raw.fragments[1].start == 5.0 and raw.fragments[2].start == 83.0
    assert raw.metadata["paragraphs"] == 5

    [enc] = read(path)
    assert enc.metadata["format"] == "docx"
    assert [t.speaker for t in enc.turns] == ["Doctor", "Patient", "Doctor"]
    assert enc.speakers["Doctor"].role == "clinician"
    assert enc.speakers["Patient"].role == "patient"
    assert enc.turns[2].source_line == 4
    assert [u.source_line for u in enc.turns[2].utterances] == [4, 5]
    assert enc.turns[2].start == 83.0


def test_soft_breaks_tracked_changes_and_text_boxes(tmp_path: Path) -> None:
    deleted = (
        "<w:p><w:r><w:t>Doctor: Take it </w:t></w:r>"
        "<w:del><w:r><w:delText>twice</w:delText></w:r></w:del>"
        "<w:ins><w:r><w:t>once</w:t></w:r></w:ins>"
        "<w:r><w:t xml:space=\"preserve\"> a day.</w:t></w:r>"
        "<w:r><w:instrText>PAGE</w:instrText></w:r></w:p>"
    )
    boxed = (
        "<w:p><w:r><mc:AlternateContent><mc:Choice><w:t>Patient: Okay.</w:t></mc:Choice>"
        "<mc:Fallback><w:t>Patient: Okay.</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )
    path = make_docx(
        tmp_path / "edits.docx",
        document(para("Doctor: Morning.\nPatient: Morning, doctor."), deleted, boxed),
    )
    [raw] = read_docx(path)
    assert [(f.speaker, f.text, f.line) for f in raw.fragments] == [
        ("Doctor", "Morning.", 1),
        ("Patient", "Morning, doctor.", 1),  # soft break: same paragraph number
        ("Doctor", "Take it once a day.", 2),
        ("Patient", "Okay.", 3),  # the fallback copy is not read twice
    ]


def test_table_of_turns(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "table.docx",
        document(
            para("Transcript of a clinic visit"),
            table([
                ["Speaker", "Time", "Text"],
                ["Doctor", "00:00:01", "How are you feeling?"],
                ["Patient", "00:00:04", "Tired, mostly."],
                ["", "", "And a bit low."],
                ["Doctor", "00:00:09", "That sounds hard."],
            ]),
        ),
    )
    [raw] = read_docx(path)
    assert raw.metadata["turn_tables"] == 1
    named = [f for f in raw.fragments if f.speaker]
    assert [(f.speaker, f.start) for f in named] == [
        ("Doctor", 1.0), ("Patient", 4.0), ("Patient", 4.0), ("Doctor", 9.0),
    ]
    assert named[2].text == "And a bit low."
    # paragraphs: title 1, header row 2-4, row 1 5-7, row 2 8-10, row 3 11-13, row 4 14-16
    assert [f.line for f in named] == [5, 8, 11, 14]
    assert raw.fragments[0].speaker is None  # the title is kept, under no speaker

    [enc] = read(path)
    assert [t.speaker for t in enc.turns] == ["UNKNOWN", "Doctor", "Patient", "Doctor"]
    assert any(w.startswith("[W002]") for w in enc.metadata["warnings"])


def test_two_column_table_without_header(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "two.docx",
        document(table([["Dr Jones", "Hello there."], ["Mrs Patel", "Hello."],
                         ["Dr Jones", "Any pain?"], ["Mrs Patel", "Some."]])),
    )
    [enc] = read(path)
    assert [t.speaker for t in enc.turns] == ["Dr Jones", "Mrs Patel", "Dr Jones", "Mrs Patel"]


def test_other_tables_are_read_as_paragraphs(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "grid.docx",
        document(
            table([["Clinic", "Ward 3", "Monday", "AM"]]),
            para("Doctor: Hello."),
            para("Patient: Hi."),
        ),
    )
    [raw] = read_docx(path)
    assert raw.metadata["turn_tables"] == 0
    assert [f.text for f in raw.fragments[:4]] == ["Clinic", "Ward 3", "Monday", "AM"]
    assert [f.speaker for f in raw.fragments[4:]] == ["Doctor", "Patient"]


def test_header_lines_with_text_below(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "otter.docx",
        document(para("Speaker 1  0:03"), para("Hello there."),
                 para("Speaker 2  0:07"), para("Hi.")),
    )
    [raw] = read_docx(path)
    spoken = [(f.speaker, f.text, f.start, f.line) for f in raw.fragments if f.text]
    assert spoken == [("Speaker 1", "Hello there.", 3.0, 2), ("Speaker 2", "Hi.", 7.0, 4)]


# ------------------------------------------------------------------ bad files


def test_not_a_zip_is_e015(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"this is not a Word document at all")
    with pytest.raises(CompassionError) as exc:
        read(path)
    assert exc.value.code == "E015" and "broken.docx" in str(exc.value)


def test_truncated_zip_is_e015(tmp_path: Path) -> None:
    good = make_docx(tmp_path / "good.docx", document(para("Doctor: Hello."),
                                                       para("Patient: Hi.")))
    data = good.read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CompassionError) as exc:
        read_docx(cut)
    assert exc.value.code == "E015" and "cut.docx" in str(exc.value)


def test_zip_without_document_is_e015(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "other.docx", "<x/>", part="xl/workbook.xml")
    with pytest.raises(CompassionError) as exc:
        read_docx(path)
    assert exc.value.code == "E015" and "word/document.xml" in str(exc.value)


def test_oversized_document_part_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(docx_reader, "MAX_XML_BYTES", 10_000)
    big = document(*[para("Doctor: " + "a" * 500) for _ in range(100)])
    path = make_docx(tmp_path / "big.docx", big)
    with pytest.raises(CompassionError) as exc:
        read_docx(path)
    assert exc.value.code == "E015" and "MB" in str(exc.value)


def test_dtd_and_invalid_xml_are_e015(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>Doctor: &b;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    with pytest.raises(CompassionError) as exc:
        read_docx(make_docx(tmp_path / "dtd.docx", bomb))
    assert exc.value.code == "E015" and "DTD" in str(exc.value)
    with pytest.raises(CompassionError) as bad:
        read_docx(make_docx(tmp_path / "bad.docx", "<w:document><w:body>"))
    assert bad.value.code == "E015" and "not valid XML" in str(bad.value)


def test_empty_and_speakerless_documents(tmp_path: Path) -> None:
    with pytest.raises(CompassionError) as empty:
        read_docx(make_docx(tmp_path / "empty.docx", document("<w:p/>")))
    assert empty.value.code == "E002"
    with pytest.raises(CompassionError) as nobody:
        read(make_docx(tmp_path / "prose.docx", document(para("Just some notes."))))
    assert nobody.value.code == "E005"
    assert "Just some" not in str(nobody.value)
