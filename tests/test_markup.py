"""Markup cleaning, and how flags and raw pieces land on the turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from compassion_nlp.markup import clean
from compassion_nlp.readers.base import Fragment, RawTranscript, build


@pytest.mark.parametrize(
    ("raw", "text", "flags"),
    [
        # PriMock57
        ("<UNSURE>Hello how</UNSURE> um.", "Hello how um.", {"unsure": 1}),
        ("<UNIN/> Sorry to hear that.", "Sorry to hear that.", {"inaudible": 1}),
        ("Yes <INAUDIBLE_SPEECH/> two", "Yes two", {"inaudible": 1}),
        ("<UNIN/>", "", {"inaudible": 1}),
        # AMI / ICSI via QMSum
        ("So {disfmarker} we {vocalsound} go .", "So we go.", {"disfluency": 1, "vocalsound": 1}),
        ("{gap} and {pause}", "and", {"gap": 1, "pause": 1}),
        # bracketed and parenthesised notes
        ("I [inaudible] know", "I know", {"inaudible": 1}),
        ("Well [laughter] yes [LAUGHS]", "Well yes", {"laughter": 2}),
        ("[inaudible 00:01:23] okay", "okay", {"inaudible": 1}),
        ("Sorry (crosstalk) go on", "Sorry go on", {"crosstalk": 1}),
        ("(Cross talk) right", "right", {"crosstalk": 1}),
        ("it hurts (coughs) here", "it hurts here", {"cough": 1}),
        ("<laugh> funny", "funny", {"laughter": 1}),
        # formatting tags are removed without a count
        ("<i>really</i> <b>sure</b>", "really sure", {}),
        ("<v Dr Smith>Hello</v>", "Hello", {}),
    ],
)
def test_markup_becomes_counts_and_leaves_the_text(
    raw: str, text: str, flags: dict[str, int]
) -> None:
    cleaned, counts = clean(raw)
    assert cleaned == text
    assert dict(counts) == flags


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Tom &amp; Jerry &lt;3 &quot;hi&quot;", 'Tom & Jerry <3 "hi"'),
        ("fish&nbsp;and\u00a0chips", "fish and chips"),
        ("zero\u200bwidth\ufeff here", "zerowidth here"),
        ("tabs\tand\nnew\r\nlines", "tabs and new lines"),
        ("  spaced   out  ", "spaced out"),
        ("hi , there . ok ?", "hi, there. ok?"),  # ACI-Bench tokenised punctuation
        ("a < b and c > d", "a < b and c > d"),  # comparison signs are not a tag
        ("BP <140/90 is fine", "BP <140/90 is fine"),
        ("at [00:01:23] then (12:03) now", "at then now"),  # bare times, not counted
        ("bell\x07 and nul\x00 gone", "bell and nul gone"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
    ],
)
def test_entities_spaces_and_stray_characters(raw: str, text: str) -> None:
    cleaned, counts = clean(raw)
    assert cleaned == text
    assert not counts


def test_escaped_tags_are_unescaped_then_counted() -> None:
    assert clean("&lt;UNIN/&gt; ok") == ("ok", {"inaudible": 1})


def test_unsure_keeps_its_words_and_an_unclosed_tag_is_still_counted() -> None:
    text, flags = clean("<UNSURE>maybe this</UNSURE> and <UNSURE>open")
    assert text == "maybe this and open"
    assert flags["unsure"] == 2


def test_flags_and_pieces_on_merged_turns() -> None:
    raw = RawTranscript(
        [
            Fragment("Doctor", "Hello <UNIN/> there.", 1, 0.0, 1.0),
            Fragment("Doctor", "{vocalsound}", 2, 1.0, 1.5),
            Fragment("Doctor", "How are you [laughter]?", 3, 1.5, 3.0),
            Fragment("Patient", "Fine (crosstalk) thanks.", 4, 3.0, 4.0),
        ]
    )
    enc = build(raw, path=Path("x.txt"), encounter_id="x")
    doctor, patient = enc.turns
    assert doctor.text == "Hello there. How are you?"
    assert dict(doctor.flags) == {"inaudible": 1, "vocalsound": 1, "laughter": 1}
    assert [p.raw for p in doctor.pieces] == [
        "Hello <UNIN/> there.", "{vocalsound}", "How are you [laughter]?"
    ]
    assert [p.line for p in doctor.pieces] == [1, 2, 3]
    assert (doctor.start, doctor.end, doctor.source_line) == (0.0, 3.0, 1)
    # offsets point into the clean text; a markup-only piece does not take space
    how = doctor.text.index("How")
    assert doctor.piece_at(how) is doctor.pieces[2]
    assert doctor.piece_at(0) is doctor.pieces[0]
    assert dict(patient.flags) == {"crosstalk": 1}
    assert patient.text == "Fine thanks."
