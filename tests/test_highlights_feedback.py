"""Highlights (exemplary moments, missed opportunities) on hand-made label matrices: every
branch runs whatever a model would predict (the reports built on them: tests/test_reports.py)."""

from __future__ import annotations

import numpy as np
import pytest

from compassion_nlp.config import ScoringConfig
from compassion_nlp.highlights import cue_kind, highlights, phrase_bank, suggestion_for
from compassion_nlp.linking import link_cues
from compassion_nlp.measures import compassion_score
from compassion_nlp.model import LABELS
from compassion_nlp.pipeline import read_string
from compassion_nlp.scoring import ScoredEncounter

CONSULTATION = """\
Doctor [00:00:01]: Good morning. What brings you in today?
Patient [00:00:05]: I'm really worried it might be cancer.
Doctor [00:00:09]: That sounds really frightening. What worries you most?
Patient [00:00:15]: Since my wife died I haven't been sleeping.
Doctor [00:00:20]: Any fever? Do you smoke?
Patient [00:00:24]: It's been a nightmare at work too.
Doctor [00:00:27]: Okay. Let's get some bloods.
"""


def _encounter(text: str = CONSULTATION, setting: str = "clinical"):
    [enc] = read_string(text, format="text", setting=setting)  # type: ignore[arg-type]
    return enc


def _matrices(enc, marks: dict[str, dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (0.1 by default) and labels (probability ≥ 0.5) from text prefixes."""
    probs = np.full((len(enc.utterances), len(LABELS)), 0.1)
    for i, utt in enumerate(enc.utterances):
        for prefix, labels in marks.items():
            if utt.text.startswith(prefix):
                for label, p in labels.items():
                    probs[i, LABELS.index(label)] = p
    return probs, probs >= 0.5


def _scored(enc, probs, decided, config: ScoringConfig | None = None) -> ScoredEncounter:
    config = config or ScoringConfig()
    links = link_cues(enc, decided, window=config.cue_window)
    return ScoredEncounter(enc, probs, decided, links,
                           compassion_score(enc, decided, links, config=config),
                           highlights(enc, probs, decided, links, top=config.top_exemplary))


MARKS = {
    "I'm really worried": {"CUE": 0.9},
    "That sounds really frightening": {"EMPATHIC": 0.95},
    "What worries you most": {"PURSUING": 0.8},
    "Since my wife died": {"CUE": 0.85},
    "It's been a nightmare": {"CUE": 0.7},
}


def test_exemplary_moments_are_ranked_and_quote_the_cue_they_answered() -> None:
    enc = _encounter()
    probs, decided = _matrices(enc, MARKS)
    scored = _scored(enc, probs, decided)
    exemplary = scored.exemplary
    assert [h.moment.text for h in exemplary] == [
        "That sounds really frightening.", "What worries you most?"]
    assert [h.rank for h in exemplary] == [1, 2]
    assert exemplary[0].labels == ("EMPATHIC",) and exemplary[0].probability == 0.95
    assert exemplary[0].cue is not None and exemplary[0].cue.text.startswith("I'm really worried")
    assert exemplary[0].moment.speaker == "Doctor" and exemplary[0].moment.role == "clinician"
    assert exemplary[0].moment.start == 9.0 and exemplary[0].moment.source_line == 3


def test_missed_opportunities_have_what_followed_a_kind_and_a_suggestion() -> None:
    enc = _encounter()
    probs, decided = _matrices(enc, MARKS)
    missed = _scored(enc, probs, decided).missed_opportunities
    assert [h.moment.text for h in missed] == [
        "Since my wife died I haven't been sleeping.", "It's been a nightmare at work too."]
    assert [h.rank for h in missed] == [1, 2]
    first = missed[0]
    assert first.followed_by is not None and first.followed_by.text == "Any fever?"
    assert first.cue_kind == "loss" and first.labels == ("CUE",)
    assert first.suggestion in next(
        k["suggestions"] for k in phrase_bank()["kinds"] if k["kind"] == "loss")
    # "Okay." is a back-channel: what followed the last cue is the instruction after it
    assert missed[1].followed_by is not None
    assert missed[1].followed_by.text == "Let's get some bloods."


def test_top_exemplary_follows_the_config_and_nothing_when_nothing_is_labelled() -> None:
    enc = _encounter()
    probs, decided = _matrices(enc, MARKS)
    assert len(_scored(enc, probs, decided, ScoringConfig(top_exemplary=1)).exemplary) == 1
    none = _scored(enc, *_matrices(enc, {}))
    assert none.highlights == []


def test_an_episode_of_several_cues_is_one_missed_opportunity_quoting_its_strongest() -> None:
    enc = _encounter("Patient: I'm scared. I can't sleep. It's awful.\nDoctor: Any rash?\n")
    probs, decided = _matrices(enc, {"I'm scared": {"CUE": 0.6}, "I can't sleep": {"CUE": 0.9},
                                     "It's awful": {"CUE": 0.7}})
    [missed] = _scored(enc, probs, decided).missed_opportunities
    assert missed.moment.text == "I can't sleep." and missed.probability == 0.9


@pytest.mark.parametrize(
    ("text", "kind"),
    [("my mum passed away", "loss"), ("I'm terrified of the scan", "worry"),
     ("I feel so low", "low_mood"), ("blah", "general")],
)
def test_cue_kinds(text: str, kind: str) -> None:
    assert cue_kind(text) == kind


def test_suggestions_are_stable_and_meetings_get_team_suggestions() -> None:
    a = suggestion_for("worry", "enc|t2.u1", "clinical")
    assert a == suggestion_for("worry", "enc|t2.u1", "clinical")
    team = next(k["suggestions"] for k in phrase_bank()["kinds"] if k["kind"] == "team_concern")
    assert suggestion_for("worry", "x", "meeting") in team
    loss = next(k["suggestions"] for k in phrase_bank()["kinds"] if k["kind"] == "loss")
    assert suggestion_for("loss", "x", "meeting") in loss
    general = next(k["suggestions"] for k in phrase_bank()["kinds"] if k["kind"] == "general")
    assert suggestion_for("no such kind", "x", "clinical") in general


class _CountingTurns(tuple):  # type: ignore[type-arg]
    """The turns of an encounter, counting every pass over them."""

    passes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountingTurns.passes += 1
        return super().__iter__()


def _passes_over_turns(exchanges: int) -> int:
    import dataclasses

    from compassion_nlp.pipeline import read_string
    from compassion_nlp.scoring import Scorer

    from .helpers import HashClassifier

    text = "".join(
        "Patient: I am so worried about the pain.\n"
        + ("Doctor: That sounds hard. How are you sleeping?\n" if i % 3 else
           "Doctor: Do you smoke?\n")
        for i in range(exchanges))
    [encounter] = read_string(text, format="text")
    encounter = dataclasses.replace(encounter, turns=_CountingTurns(encounter.turns))
    _CountingTurns.passes = 0
    [scored] = Scorer(HashClassifier()).score_encounters([encounter])  # type: ignore[arg-type]
    assert len(scored.highlights) > exchanges // 4  # many moments to quote
    for table in (scored.utterances_df, scored.cues_df, scored.speakers_df,
                  scored.highlights_df, scored.encounter_row):
        table()
    return _CountingTurns.passes


def test_scoring_passes_over_the_turns_a_fixed_number_of_times() -> None:
    """Linking, measures, highlights and tables cost no more per utterance in a long transcript:
    the passes over the turns do not grow with the number of moments (a search per moment made
    a 20 MB transcript quadratic)."""
    assert _passes_over_turns(40) == _passes_over_turns(160)
