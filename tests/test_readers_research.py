"""Research transcript formats: CHAT (CLAN), ELAN, Transcriber, and Otter's Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from compassion_nlp import read
from compassion_nlp.errors import CompassionError
from compassion_nlp.readers.chat import clean_chat

NAK = "\x15"

CHAT = f"""@UTF8
@Begin
@Languages:\teng
@Participants:\tDOC Doctor, PAT Jane_Smith Patient
@ID:\teng|test|DOC|||||Doctor|||
*DOC:\t&-um so how have you been (.) feeling ? {NAK}1000_2500{NAK}
*PAT:\t<I've been> [/] I've been really worried about the xxx results &=sighs . {NAK}2600_5000{NAK}
%com:\tlooks down
%mor:\tpro|I aux|have
*DOC:\tthat sounds hard [: difficult] +...
\ttell me more . {NAK}5100_7000{NAK}
@End
"""

EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2020" FORMAT="3.0" VERSION="3.0">
<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
<TIME_ORDER>
<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>
<TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="1500"/>
<TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="1600"/>
<TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="4000"/>
</TIME_ORDER>
<TIER LINGUISTIC_TYPE_REF="utterance" PARTICIPANT="" TIER_ID="Patient">
<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts3" TIME_SLOT_REF2="ts4">
<ANNOTATION_VALUE>I'm scared of the operation.</ANNOTATION_VALUE>
</ALIGNABLE_ANNOTATION></ANNOTATION>
</TIER>
<TIER LINGUISTIC_TYPE_REF="utterance" PARTICIPANT="Doctor" TIER_ID="DOC">
<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
<ANNOTATION_VALUE></ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
</TIER>
<TIER LINGUISTIC_TYPE_REF="transcription" PARENT_REF="DOC" TIER_ID="DOC-text">
<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a3" ANNOTATION_REF="a1">
<ANNOTATION_VALUE>How can I help?</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
</TIER>
<TIER LINGUISTIC_TYPE_REF="translation" PARENT_REF="Patient" TIER_ID="Patient-tr">
<ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a4" ANNOTATION_REF="a2">
<ANNOTATION_VALUE>(a translation)</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
</TIER>
</ANNOTATION_DOCUMENT>
"""

TRS = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE Trans SYSTEM "trans-14.dtd">
<Trans scribe="x" version="1">
<Speakers>
<Speaker id="spk1" name="Doctor" check="no" dialect="native" accent="" scope="local"/>
<Speaker id="spk2" name="Patient" check="no" dialect="native" accent="" scope="local"/>
</Speakers>
<Episode>
<Section type="report" startTime="0" endTime="12">
<Turn speaker="spk1" startTime="0" endTime="4">
<Sync time="0"/>
How are you feeling today?
<Sync time="2"/>
Any pain?
</Turn>
<Turn speaker="spk1 spk2" startTime="4" endTime="8">
<Sync time="4"/>
<Who nb="1"/>
Go on.
<Who nb="2"/>
I am worried <Event desc="laughter" type="noise" extent="instantaneous"/> about it.
<Comment desc="quiet voice"/>
</Turn>
</Section>
</Episode>
</Trans>
"""


def _turns(path: Path) -> list[tuple[str, str, str, float | None, float | None, int | None]]:
    [encounter] = read(path)
    return [(encounter.speakers[t.speaker].name, encounter.speakers[t.speaker].role, t.text,
             t.start, t.end, t.source_line) for t in encounter.turns]


def test_chat_main_tiers_roles_times_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "consult.cha"
    path.write_text(CHAT)
    assert _turns(path) == [
        ("Doctor", "clinician", "so how have you been feeling?", 1.0, 2.5, 6),
        ("Jane Smith", "patient", "I've been I've been really worried about the results.",
         2.6, 5.0, 7),
        ("Doctor", "clinician", "that sounds hard tell me more.", 5.1, 7.0, 10),
    ]
    [encounter] = read(path)
    assert [dict(t.flags) for t in encounter.turns] == [
        {"filler": 1, "pause": 1}, {"sigh": 1, "retracing": 1, "inaudible": 1},
        {"trailing_off": 1},
    ]


@pytest.mark.parametrize(("raw", "text"), [
    ("I want [//] I need &+ba a bag@c +/.", "I want I need a bag"),
    ("0is it (2.5) ok [?] [>] ?", "it ok?"),
    ("ice_cream yyy www .", "ice cream."),
])
def test_chat_codes_leave_the_text(raw: str, text: str) -> None:
    assert clean_chat(raw)[0] == text


def test_elan_tiers_by_participant_with_text_from_referring_tiers(tmp_path: Path) -> None:
    path = tmp_path / "session.eaf"
    path.write_text(EAF)
    assert _turns(path) == [
        ("Doctor", "clinician", "How can I help?", 0.0, 1.5, 16),
        ("Patient", "patient", "I'm scared of the operation.", 1.6, 4.0, 11),
    ]


def test_transcriber_turns_syncs_two_speaker_turns_and_events(tmp_path: Path) -> None:
    path = tmp_path / "interview.trs"
    path.write_text(TRS, encoding="latin-1")
    [encounter] = read(path)
    assert [(encounter.speakers[t.speaker].name, t.text, t.start, t.end)
            for t in encounter.turns] == [
        ("Doctor", "How are you feeling today? Any pain? Go on.", 0.0, 8.0),
        ("Patient", "I am worried about it.", 4.0, 8.0),
    ]
    assert [(u.start, u.end) for u in encounter.turns[0].utterances] == [
        (0.0, 2.0), (2.0, 4.0), (4.0, 8.0)]
    assert encounter.turns[1].flags == {"laughter": 1}


@pytest.mark.parametrize(("name", "body"), [
    ("bomb.trs", '<?xml version="1.0"?><!DOCTYPE Trans [<!ENTITY a "aaaa">]>'
                 "<Trans><Episode><Section><Turn speaker='s'>&a;</Turn></Section></Episode>"
                 "</Trans>"),
    ("bomb.eaf", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                 "<ANNOTATION_DOCUMENT>&a;</ANNOTATION_DOCUMENT>"),
    ("cut.trs", "<Trans><Episode><Section><Turn speaker='s'>hello"),
    ("cut.eaf", "<ANNOTATION_DOCUMENT><TIER TIER_ID='a'>"),
])
def test_xml_with_entities_or_cut_short_is_e008(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E008" and name in str(info.value)
    assert "aaaa" not in str(info.value) and "hello" not in str(info.value)


def test_otter_markdown_bold_names_with_times(tmp_path: Path) -> None:
    path = tmp_path / "otter.md"
    path.write_text("**Alex Kim** [0:00] Thanks everyone for joining.\n\n"
                    "**Jordan Lee** [0:05] I am worried about the rota.\n\n"
                    "**Alex Kim** [1:02:10] What would help?\n")
    assert [(n, s) for n, _, _, s, _, _ in _turns(path)] == [
        ("Alex Kim", 0.0), ("Jordan Lee", 5.0), ("Alex Kim", 3730.0)]


def test_real_chat_sample_aphasia(fixtures: Path) -> None:
    """TalkBank's AphasiaBank-style test file: investigator and participant, CHAT codes."""
    path = fixtures / "research" / "eng_clinical_aphasia.cha"
    [encounter] = read(path)
    assert {s.name: s.role for s in encounter.speakers.values()} == {
        "Investigator": "clinician", "Participant": "patient"}
    turns = _turns(path)
    assert [(n, line) for n, _, _, _, _, line in turns] == [
        ("Investigator", 7), ("Participant", 8), ("Investigator", 10), ("Participant", 11),
        ("Investigator", 14)]
    assert turns[3][2] == ("and the the girl the woman is washing dishes. the water is running "
                           "I can't remember what else.")
    assert not any(c in "".join(t[2] for t in turns) for c in "[]<>&+*")
    assert encounter.turns[1].flags == {"filler": 1, "trailing_off": 1}


def test_real_elan_sample_tiers_and_times(fixtures: Path) -> None:
    """pympi's test file: speaker tiers a and b (and an unassigned tier), times in ms."""
    [encounter] = read(fixtures / "research" / "fto.eaf")
    assert set(encounter.speakers) == {"a", "b", "fto-ab"}
    starts = [t.start for t in encounter.turns]
    assert starts == sorted(starts) and starts[0] == 0.0 and len(encounter.utterances) == 12
    assert all(t.source_line and t.end is not None for t in encounter.turns)


def test_speakerless_text_is_one_unknown_speaker_only_when_asked(tmp_path: Path) -> None:
    """A speakerless export (Descript) stays E005 unless --format text --single-speaker."""
    path = tmp_path / "dictation.txt"
    path.write_text("I have been feeling low for weeks.\nIt is hard to get up in the morning.\n")
    with pytest.raises(CompassionError) as info:
        read(path)
    assert info.value.code == "E005"
    with pytest.raises(CompassionError) as info:
        read(path, single_speaker=True)  # no format given
    assert info.value.code == "E028"
    [encounter] = read(path, format="text", single_speaker=True)
    assert list(encounter.speakers) == ["UNKNOWN"] and len(encounter.utterances) == 2
    labelled = tmp_path / "labelled.txt"
    labelled.write_text("Doctor: How are you?\nPatient: Low.\n")
    [encounter] = read(labelled, format="text", single_speaker=True)
    assert set(encounter.speakers) == {"Doctor", "Patient"}


def test_cli_single_speaker_needs_format_text(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from compassion_nlp.cli import app

    path = tmp_path / "dictation.txt"
    path.write_text("I have been feeling low for weeks.\n")
    out = tmp_path / "u.csv"
    result = CliRunner().invoke(app, ["read", str(path), "--out", str(out), "--single-speaker"])
    assert result.exit_code == 2 and "[E028]" in result.output
    result = CliRunner().invoke(app, ["read", str(path), "--out", str(out), "--single-speaker",
                                      "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "UNKNOWN" in out.read_text()
    result = CliRunner().invoke(app, ["score", str(path), "--out", str(tmp_path / "o"),
                                      "--single-speaker"])
    assert result.exit_code == 2 and "[E028]" in result.output


def test_scorer_passes_single_speaker_on(tiny_model_dir: Path, tmp_path: Path) -> None:
    from compassion_nlp import load

    path = tmp_path / "dictation.txt"
    path.write_text("I have been feeling low for weeks.\nIt is hard to get up.\n")
    scored = load(tiny_model_dir, single_speaker=True)(path, format="text")
    assert list(scored.encounter.speakers) == ["UNKNOWN"]
    assert scored.compassion.unscorable  # no speaker with a known role: NaN, W006
