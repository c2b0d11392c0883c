"""Praat TextGrid: PriMock57 one-file-per-speaker pairs, one tier per speaker, long and short
forms, point tiers, encodings, malformed files."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from compassion_nlp.errors import CompassionError
from compassion_nlp.pipeline import read, read_paths
from compassion_nlp.readers import discover
from compassion_nlp.readers.textgrid import looks_like_textgrid, parse_tiers

PRIMOCK = "textgrid_primock57"

LONG = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 6.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "Doctor"
        xmin = 0
        xmax = 6.5
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 1.5
            text = "Hello, how can I help?"
        intervals [2]:
            xmin = 1.5
            xmax = 4
            text = ""
        intervals [3]:
            xmin = 4
            xmax = 6.5
            text = "I see. She said ""ouch""."
    item [2]:
        class = "IntervalTier"
        name = "Patient"
        xmin = 0
        xmax = 6.5
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 2
            text = ""
        intervals [2]:
            xmin = 2
            xmax = 3.75
            text = "My knee <UNIN/> hurts."
"""

SHORT = """File type = "ooTextFile"
Object class = "TextGrid"

0
6.5
<exists>
2
"IntervalTier"
"Doctor"
0
6.5
3
0
1.5
"Hello, how can I help?"
1.5
4
""
4
6.5
"I see. She said ""ouch""."
"IntervalTier"
"Patient"
0
6.5
2
0
2
""
2
3.75
"My knee <UNIN/> hurts."
"""

EXPECTED = [
    ("Doctor", "Hello, how can I help?", 0.0, 1.5),
    ("Patient", "My knee hurts.", 2.0, 3.75),
    ("Doctor", 'I see. She said "ouch".', 4.0, 6.5),
]


def _turns(path: Path) -> list[tuple[str, str, float | None, float | None]]:
    [enc] = read(path)
    return [(t.speaker, t.text, t.start, t.end) for t in enc.turns]


@pytest.mark.parametrize("text", [LONG, SHORT], ids=["long", "short"])
def test_one_tier_per_speaker_long_and_short_forms(tmp_path: Path, text: str) -> None:
    path = tmp_path / "consult.TextGrid"
    path.write_text(text, encoding="utf-8")
    assert _turns(path) == EXPECTED
    [enc] = read(path)
    assert enc.speakers["Doctor"].role == "clinician"
    assert enc.speakers["Patient"].role == "patient"
    assert enc.turns[1].flags == {"inaudible": 1}


@pytest.mark.parametrize("name", ["*", "#", "--", '"'])
def test_a_tier_named_only_with_punctuation_keeps_its_name(tmp_path: Path, name: str) -> None:
    # found by test_readers_property: such a name trimmed to nothing and crashed (E041)
    path = tmp_path / "consult.TextGrid"
    quoted = name.replace('"', '""')  # Praat doubles quotes inside a string
    path.write_text(LONG.replace('name = "Patient"', f'name = "{quoted}"'), encoding="utf-8")
    [enc] = read(path)
    assert [t.speaker for t in enc.turns] == ["Doctor", name, "Doctor"]


@pytest.mark.parametrize(
    ("codec", "bom"), [("utf-16-be", "\ufeff"), ("utf-16-le", "\ufeff"), ("utf-8", "")]
)
def test_crlf_and_utf16_as_praat_saves_non_ascii(tmp_path: Path, codec: str, bom: str) -> None:
    path = tmp_path / "c.TextGrid"
    text = (bom + LONG.replace("hurts", "hürts")).replace("\n", "\r\n")
    path.write_bytes(text.encode(codec))
    assert _turns(path)[1][1] == "My knee hürts."


def test_source_lines_point_at_the_text_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.TextGrid"
    path.write_text(LONG, encoding="utf-8")
    [enc] = read(path)
    lines = LONG.split("\n")
    for turn in enc.turns:
        assert lines[turn.source_line - 1].strip().startswith("text = ")
    assert [t.source_line for t in enc.turns] == [18, 40, 26]


def test_point_tier(tmp_path: Path) -> None:
    text = (
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 5\n'
        "tiers? <exists>\nsize = 1\nitem []:\n    item [1]:\n"
        '        class = "TextTier"\n        name = "Nurse"\n        xmin = 0\n'
        "        xmax = 5\n        points: size = 2\n        points [1]:\n"
        '            number = 1.25\n            mark = "Deep breath."\n'
        '        points [2]:\n            number = 3\n            mark = "Again."\n'
    )
    path = tmp_path / "p.TextGrid"
    path.write_text(text)
    assert _turns(path) == [("Nurse", "Deep breath. Again.", 1.25, 3.0)]


def test_forced_alignment_phone_tiers_are_skipped(tmp_path: Path) -> None:
    text = (
        'File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n2\n<exists>\n2\n'
        '"IntervalTier"\n"Ann - words"\n0\n2\n1\n0\n2\n"hello there"\n'
        '"IntervalTier"\n"Ann - phones"\n0\n2\n1\n0\n2\n"HH"\n'
    )
    path = tmp_path / "mfa.TextGrid"
    path.write_text(text)
    assert _turns(path) == [("Ann", "hello there", 0.0, 2.0)]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('File type = "ooBinaryFile"\nObject class = "TextGrid"\n', "no ooTextFile header"),
        (LONG[: LONG.index("intervals [3]")], "ends too early"),
        (LONG.replace("size = 2\nitem", "size = 1e400\nitem"), "bad count on line 7"),
        (LONG.replace("size = 2\nitem", "size = 2.5\nitem"), "bad count on line 7"),
        (LONG.replace("intervals: size = 3", "intervals: size = 99999"), "bad count on line 14"),
        (LONG.replace('"IntervalTier"', '"Tier"', 1), "unknown tier class on line 10"),
        (LONG.replace("xmin = 4", 'xmin = "four"'), "expected a number on line 24"),
        (LONG.replace('name = "Doctor"', "name = 3"), "expected text on line 11"),
    ],
)
def test_malformed_textgrid_is_e008(tmp_path: Path, text: str, detail: str) -> None:
    path = tmp_path / "bad.TextGrid"
    path.write_text(text)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E008"
    assert detail in str(info.value)
    assert "help" not in str(info.value)  # no transcript text


def test_textgrid_content_is_detected_without_the_extension(tmp_path: Path) -> None:
    assert looks_like_textgrid(LONG)
    path = tmp_path / "consult.txt"
    path.write_text(LONG)
    assert _turns(path) == EXPECTED


# ---------------------------------------------------------------- PriMock57 (real files)


def _count_tags(path: Path) -> tuple[int, int, int]:
    text = path.read_text(encoding="utf-8")
    labels = [t for t in re.findall(r'text = "((?:[^"]|"")*)"', text) if t.strip()]
    inaudible = text.count("<UNIN/>") + text.count("<INAUDIBLE_SPEECH/>")
    return len(labels), text.count("<UNSURE>"), inaudible


@pytest.mark.parametrize(
    ("stem", "n_turns", "doctor", "patient", "tier"),
    [
        ("day1_consultation01", 89, 45, 44, "Doctor"),
        ("day1_consultation02", 91, 46, 45, "Speaker"),
        ("day3_consultation06", 45, 23, 22, "Speaker"),
    ],
)
def test_primock57_pairs(
    fixtures: Path, stem: str, n_turns: int, doctor: int, patient: int, tier: str
) -> None:
    folder = fixtures / PRIMOCK
    doc, pat = folder / f"{stem}_doctor.TextGrid", folder / f"{stem}_patient.TextGrid"
    assert parse_tiers(doc.read_text(encoding="utf-8"), doc)[0][0] == tier
    [enc] = read(doc)  # the _patient partner comes along
    assert enc.id == stem
    assert enc.metadata["files"] == [doc.name, pat.name]
    assert len(enc.turns) == n_turns
    assert Counter(t.speaker for t in enc.turns) == {"Doctor": doctor, "Patient": patient}
    for name, role in (("Doctor", "clinician"), ("Patient", "patient")):
        speaker = enc.speakers[name]
        assert (speaker.role, speaker.role_source, speaker.role_confidence) == (role, "format", 1.0)
    # merged by time: turn starts never go backwards
    starts = [t.start for t in enc.turns]
    assert None not in starts and starts == sorted(starts)  # type: ignore[type-var]
    # every non-empty interval is one piece; the tags became flags, not text
    (n_doc, unsure_doc, inaud_doc), (n_pat, unsure_pat, inaud_pat) = map(_count_tags, (doc, pat))
    assert sum(len(t.pieces) for t in enc.turns) == n_doc + n_pat
    flags: Counter[str] = Counter()
    for turn in enc.turns:
        flags.update(turn.flags)
        assert "<" not in turn.text and ">" not in turn.text
    assert flags == {"unsure": unsure_doc + unsure_pat, "inaudible": inaud_doc + inaud_pat}


def test_primock57_flags_and_lines_of_the_first_consultation(fixtures: Path) -> None:
    doc = fixtures / PRIMOCK / "day1_consultation01_doctor.TextGrid"
    pat = fixtures / PRIMOCK / "day1_consultation01_patient.TextGrid"
    [enc] = read(doc)
    first = enc.turns[0]
    assert (first.speaker, first.start, first.end) == ("Doctor", 2.5334561157322537,
                                                        12.499861706065632)
    assert first.flags == {"unsure": 1}
    assert first.pieces[0].raw.startswith("Hello? Hi. Um, should we start? Yeah, okay. <UNSURE>")
    assert "Hello how um." in first.text  # the unsure words are kept
    assert first.source_line == 22
    # each piece's line is a "text = ..." line of its own speaker's file
    files = {"Doctor": doc, "Patient": pat}
    lines = {k: p.read_text(encoding="utf-8").splitlines() for k, p in files.items()}
    for turn in enc.turns:
        for piece in turn.pieces:
            assert piece.line is not None
            line = lines[turn.speaker][piece.line - 1].strip()
            assert line.startswith("text = ")
            assert piece.raw[:20].replace('"', '""') in line
    flags = Counter()
    for turn in enc.turns:
        flags.update(turn.flags)
    assert flags == {"unsure": 60, "inaudible": 31}


def test_primock57_folder_reads_pairs_as_one_encounter_each(
    fixtures: Path, tmp_path: Path
) -> None:
    target = tmp_path / "primock" / "textgrid"
    target.mkdir(parents=True)
    for path in (fixtures / PRIMOCK).glob("*.TextGrid"):
        shutil.copy(path, target)
    sources, ignored = discover([tmp_path / "primock"])
    assert ignored == []
    assert sorted(s.encounter_id for s in sources) == [
        "textgrid/day1_consultation01", "textgrid/day1_consultation02",
        "textgrid/day3_consultation06",
    ]
    assert all(len(s.paths) == 2 for s in sources)
    results = list(read_paths([tmp_path / "primock"]))
    assert [r.error for r in results] == [None, None, None]
    # the two files given one by one are still one encounter
    both = [target / "day3_consultation06_doctor.TextGrid",
            target / "day3_consultation06_patient.TextGrid"]
    [result] = list(read_paths(both))
    assert result.source.encounter_id == "day3_consultation06"
    assert len(result.encounters[0].turns) == 45


def test_a_lone_role_file_reads_alone(fixtures: Path, tmp_path: Path) -> None:
    src = fixtures / PRIMOCK / "day3_consultation06_patient.TextGrid"
    shutil.copy(src, tmp_path)
    [enc] = read(tmp_path / src.name)
    assert enc.id == src.name
    assert set(enc.speakers) == {"Patient"}
    assert enc.speakers["Patient"].role == "patient"
