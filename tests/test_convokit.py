"""The ConvoKit transformer on a small corpus built in code (with the deterministic stand-in
classifier from tests/helpers.py): labels and probabilities land on every utterance, scores on
every conversation, roles come from speaker metadata, and a conversation that cannot be scored
is marked with its error code while the others go on."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

convokit = pytest.importorskip("convokit")

from compassion_nlp.convokit import CompassionTransformer, conversation_to_encounter  # noqa: E402
from compassion_nlp.model import LABELS  # noqa: E402
from compassion_nlp.scoring import Scorer  # noqa: E402

from .helpers import HashClassifier  # noqa: E402

TALK = [
    ("c1", "dr", "Good morning. What brings you in?"),
    ("c1", "pt", "I'm really worried about the pain. It keeps me awake."),
    ("c1", "dr", "That sounds really hard. How are you sleeping?"),
    ("c1", "pt", "Badly, I'm scared it's serious."),
    ("c1", "dr", "Any fever?"),
    ("c2", "chair", "Thanks all. What do you think about the rota?"),
    ("c2", "nurse", "Honestly we're stressed, it's difficult."),
    ("c2", "chair", "Thank you, that's a good point."),
]
ROLES = {"dr": "doctor", "pt": "patient", "chair": "leader", "nurse": "staff"}


def _corpus() -> object:
    speakers = {s: convokit.Speaker(id=s, meta={"role": r}) for s, r in ROLES.items()}
    utterances, last = [], {}
    for i, (conv, speaker, text) in enumerate(TALK):
        uid = f"u{i}"
        utterances.append(convokit.Utterance(
            id=uid, speaker=speakers[speaker], conversation_id=conv,
            reply_to=last.get(conv), timestamp=100 + 5 * i, text=text))
        last[conv] = uid
    return convokit.Corpus(utterances=utterances)


def test_roles_times_and_sentences_come_through() -> None:
    corpus = _corpus()
    encounter, utterances = conversation_to_encounter(corpus.get_conversation("c1"))
    roles = {s.name: s.role for s in encounter.speakers.values()}
    assert roles == {"dr": "clinician", "pt": "patient"}
    assert [u.id for u in utterances] == ["u0", "u1", "u2", "u3", "u4"]
    view = encounter.view
    assert len(view.utterances) > len(utterances)  # two-sentence turns are split
    assert {u.source_line for u in view.utterances} == {1, 2, 3, 4, 5}
    assert encounter.turns[1].start == 5.0  # seconds from the conversation's first utterance


def test_transform_writes_labels_and_scores_back() -> None:
    scorer = Scorer(HashClassifier())  # type: ignore[arg-type]
    corpus = CompassionTransformer(scorer).fit(_corpus()).transform(_corpus())
    for utt in corpus.iter_utterances():
        meta = utt.meta
        assert set(meta["compassion_probabilities"]) == set(LABELS)
        assert set(meta["compassion_labels"]) <= set(LABELS)
        for sentence in meta["compassion_sentences"]:
            for label in LABELS:  # the utterance keeps the highest of its sentences
                assert sentence["probabilities"][label] <= meta[
                    "compassion_probabilities"][label]
        labelled = {x for s in meta["compassion_sentences"] for x in s["labels"]}
        assert labelled == set(meta["compassion_labels"])
    first = corpus.get_utterance("u1").meta
    assert first["compassion_role"] == "patient" and "CUE" in first["compassion_labels"]
    assert len(first["compassion_sentences"]) == 2
    # the scores equal what the scorer gives the same encounter
    consultation = corpus.get_conversation("c1")
    encounter, _ = conversation_to_encounter(consultation)
    [scored] = scorer.score_encounters([encounter])
    assert consultation.meta["compassion_score"] == pytest.approx(scored.compassion.value)
    assert consultation.meta["compassion_cue_episodes"] == scored.encounter_row()["cue_episodes"]
    meeting = corpus.get_conversation("c2").meta
    assert "inclusiveness" in meeting["compassion_components"]
    assert corpus.get_utterance("u6").meta["compassion_role"] == "staff"
    assert not math.isnan(meeting["compassion_score"])


def test_a_conversation_that_cannot_be_scored_is_marked_and_the_rest_go_on() -> None:
    corpus = _corpus()
    empty = convokit.Utterance(id="e0", speaker=convokit.Speaker(id="x"),
                               conversation_id="e0", text="   ")
    corpus = corpus.add_utterances([empty])
    out = CompassionTransformer(Scorer(HashClassifier())).transform(corpus)  # type: ignore[arg-type]
    assert out.get_conversation("e0").meta["compassion_error"].startswith("E")
    assert not np.isnan(out.get_conversation("c1").meta["compassion_score"])


def test_the_selector_limits_the_conversations() -> None:
    corpus = CompassionTransformer(Scorer(HashClassifier())).transform(  # type: ignore[arg-type]
        _corpus(), selector=lambda c: c.id == "c2")
    assert "compassion_score" in corpus.get_conversation("c2").meta
    assert "compassion_score" not in corpus.get_conversation("c1").meta


def test_a_real_consultation_scores_the_same_through_convokit(
    shared_data: Path, shipped_model: Path
) -> None:
    """A PriMock57 consultation as a ConvoKit corpus (one utterance per turn) gets the score
    the shipped model gives the transcript itself."""
    from compassion_nlp.scoring import load

    folder = shared_data / "transcripts" / "primock57" / "textgrid"
    scorer = load(shipped_model)
    [direct] = scorer.pipe([folder / "day1_consultation01_doctor.TextGrid",
                            folder / "day1_consultation01_patient.TextGrid"])
    speakers = {s.id: convokit.Speaker(id=s.name, meta={"role": s.role})
                for s in direct.encounter.speakers.values()}
    utterances = [convokit.Utterance(id=f"t{t.id}", speaker=speakers[t.speaker],
                                     conversation_id="consultation01", text=t.text,
                                     timestamp=int(t.start or 0))
                  for t in direct.encounter.turns]
    corpus = CompassionTransformer(scorer).transform(convokit.Corpus(utterances=utterances))
    meta = corpus.get_conversation("consultation01").meta
    assert meta["compassion_score"] == pytest.approx(direct.compassion.value, abs=0.5)
    assert meta["compassion_cue_episodes"] == direct.encounter_row()["cue_episodes"]
    assert all("compassion_labels" in u.meta for u in corpus.iter_utterances())
