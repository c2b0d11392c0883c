"""Cue → response linking and the compassion score on hand-built encounters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from compassion_nlp.classifier import LABELS
from compassion_nlp.lexicon import is_backchannel
from compassion_nlp.linking import link_cues
from compassion_nlp.measures import compassion_score
from compassion_nlp.pipeline import read_string
from compassion_nlp.tables import encounter_row, speaker_rows


def _encounter(text: str, setting: str = "clinical"):
    [enc] = read_string(text, format="text", setting=setting)  # type: ignore[arg-type]
    return enc


def _labels(enc, marks: dict[str, tuple[str, ...]]) -> np.ndarray:
    """A label matrix with the given labels on the utterances whose text starts with a key."""
    decided = np.zeros((len(enc.utterances), len(LABELS)), dtype=bool)
    for i, utt in enumerate(enc.utterances):
        for prefix, labels in marks.items():
            if utt.text.startswith(prefix):
                for label in labels:
                    decided[i, LABELS.index(label)] = True
    return decided


CONSULTATION = """\
Doctor: Good morning. What brings you in today?
Patient: I've had a cough for two weeks. I'm really worried it might be something serious.
Doctor: Mm-hm.
Doctor: That sounds really worrying. What worries you most about it?
Patient: My dad had lung cancer.
Doctor: When did the cough start?
Patient: Since my wife died I haven't been sleeping.
Doctor: Okay. Any fever? Do you smoke?
Patient: No.
"""


def test_responded_and_missed_cues() -> None:
    enc = _encounter(CONSULTATION)
    decided = _labels(enc, {
        "I'm really worried": ("CUE",),
        "That sounds really worrying": ("EMPATHIC",),
        "What worries you most": ("PURSUING",),
        "Since my wife died": ("CUE",),
    })
    links = link_cues(enc, decided)
    assert [link.responded for link in links] == [True, False]
    first, second = links
    # the back-channel "Mm-hm" neither counts as a response nor ends the window
    response = enc.utterances[first.response_index]
    assert response.text == "That sounds really worrying."
    assert first.response_labels == ("EMPATHIC",)
    assert first.latency_turns == 1  # "Mm-hm." and the response are one doctor turn
    assert first.response_utterance_id == "t3.u2"
    # the second cue: "Okay." is a back-channel, then two history questions: missed
    assert enc.utterances[second.followed_by_index].text == "Any fever?"
    assert second.response_index is None
    assert second.episode == 2
    assert second.raised_again is False


def test_window_is_two_substantive_responding_utterances() -> None:
    enc = _encounter(
        "Patient: I'm scared of the operation.\n"
        "Doctor: Right. When is it booked for? Is it at the main hospital? That must be scary.\n"
    )
    decided = _labels(enc, {"I'm scared": ("CUE",), "That must be scary": ("EMPATHIC",)})
    [link] = link_cues(enc, decided)
    assert not link.responded  # the empathic statement is the third substantive utterance


def test_expressing_speaker_moving_on_closes_the_window() -> None:
    enc = _encounter(
        "Patient: I'm scared of the operation.\n"
        "Doctor: Okay.\n"
        "Patient: Anyway, the other thing is my knee.\n"
        "Doctor: That must be frightening.\n"
    )
    decided = _labels(enc, {"I'm scared": ("CUE",), "That must be": ("EMPATHIC",)})
    [link] = link_cues(enc, decided)
    assert not link.responded


def test_cues_of_one_turn_form_one_episode_and_cues_raised_again() -> None:
    enc = _encounter(
        "Patient: I can't cope. It's been a nightmare.\n"
        "Doctor: Let's look at your bloods. The results are normal.\n"
        "Patient: I just can't cope at all.\n"
        "Doctor: I can see this has been wearing you down.\n"
    )
    decided = _labels(enc, {
        "I can't cope": ("CUE",), "It's been a nightmare": ("CUE",),
        "I just can't cope": ("CUE",), "I can see this": ("EMPATHIC",),
    })
    links = link_cues(enc, decided)
    assert [link.episode for link in links] == [1, 1, 2]
    assert [link.responded for link in links] == [False, False, True]
    assert links[2].raised_again is True
    score = compassion_score(enc, decided, links)
    assert score.components["responsiveness"] == pytest.approx(0.5)
    row = encounter_row(enc, decided, links, score)
    assert (row["cues"], row["cue_episodes"], row["missed_opportunities"]) == (3, 2, 1)
    assert row["response_rate"] == pytest.approx(0.5)


def test_any_clinician_may_respond() -> None:
    enc = _encounter(
        "Patient: I'm terrified about the results.\n"
        "Doctor: Let me check the notes.\n"
        "Nurse: That sounds so frightening, I'm sorry.\n"
    )
    decided = _labels(enc, {"I'm terrified": ("CUE",), "That sounds": ("EMPATHIC",)})
    [link] = link_cues(enc, decided)
    assert link.responded
    assert enc.speakers[enc.turns[2].speaker].role == "clinician"


def test_cue_from_a_clinician_is_not_an_opportunity() -> None:
    enc = _encounter("Doctor: I'm worried about your blood pressure.\nPatient: Okay.\n")
    decided = _labels(enc, {"I'm worried": ("CUE",)})
    assert link_cues(enc, decided) == []


def test_score_is_nan_components_without_cues_and_counts_statements() -> None:
    enc = _encounter(
        "Doctor: How can I help?\nPatient: A sore throat.\n"
        "Doctor: How has it been affecting you?\nPatient: Not much.\n"
    )
    decided = _labels(enc, {"How has it been affecting": ("PURSUING",)})
    links = link_cues(enc, decided)
    score = compassion_score(enc, decided, links)
    assert math.isnan(score.components["responsiveness"])
    assert math.isnan(score.components["depth"])
    # 1 compassionate statement in 2 clinician utterances: 5 per 10, capped at full marks
    assert score.components["compassionate_talk"] == 1.0
    assert score.value == 100.0


def test_score_weights_and_depth() -> None:
    enc = _encounter(
        "Patient: I'm worried about my mum.\n"
        "Doctor: I'm sorry to hear that.\n"
        "Doctor: Anything else? Any pain? Any fever? Any cough? Any rash?\n"
        "Patient: My job is so stressful.\n"
        "Doctor: Right. Any allergies? Any medicines?\n"
    )
    decided = _labels(enc, {
        "I'm worried": ("CUE",), "I'm sorry to hear": ("EMPATHIC",), "My job": ("CUE",),
    })
    links = link_cues(enc, decided)
    score = compassion_score(enc, decided, links)
    # one of two episodes answered; the answer only names the feeling: depth 0
    assert score.components["responsiveness"] == 0.5
    assert score.components["depth"] == 0.0
    # 1 compassionate statement in 8 clinician utterances -> 1.25 per 10 of 1.5 for full marks
    talk = 1.25 / 1.5
    assert score.components["compassionate_talk"] == pytest.approx(talk, abs=1e-3)
    assert score.value == pytest.approx(100 * (2 * 0.5 + 0 + talk) / 4, abs=0.1)


def test_meeting_inclusiveness_per_leader() -> None:
    enc = _encounter(
        "Chair: Welcome everyone. What do you all think about the rota?\n"
        "Member: We're completely stretched on nights, it's not safe.\n"
        "Chair: Thanks for flagging that, it's really helpful.\n"
        "Member: Okay.\n"
        "Chair: Next item.\n",
        setting="meeting",
    )
    decided = _labels(enc, {
        "What do you all think": ("INCLUSIVE",), "We're completely": ("CUE",),
        "Thanks for flagging": ("INCLUSIVE",),
    })
    links = link_cues(enc, decided)
    [link] = links
    assert not link.responded  # INCLUSIVE is not a response to a cue
    score = compassion_score(enc, decided, links)
    assert score.components["inclusiveness"] == 1.0  # 2 per 3 leader turns, above 0.2
    [chair] = [r for r in speaker_rows(enc, decided, links) if r["role"] == "leader"]
    assert chair["n_inclusive"] == 2
    assert chair["inclusiveness_score"] == 100.0


@pytest.mark.parametrize(
    "text,expected",
    [("Mm-hm.", True), ("Okay, right.", True), ("Yeah yeah.", True), ("I see.", True),
     ("Okay, and when did it start?", False), ("That sounds hard.", False)],
)
def test_backchannels(text: str, expected: bool) -> None:
    assert is_backchannel(text) is expected
