"""The spaCy component: found by name once installed, labels docs and sentences like the API."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import spacy

from compassion_nlp.classifier import ClassifierInput, UtteranceClassifier

from .helpers import SHIPPED_MODEL

TEXTS = ["That sounds really frightening.", "Do you smoke?",
         "I have not slept since my wife died. What happens next?"]


def test_the_factory_is_an_installed_entry_point() -> None:
    found = {e.name: e.value for e in entry_points(group="spacy_factories")}
    assert found.get("compassion") == "compassion_nlp.spacy_component:make_compassion"


@pytest.fixture
def nlp(tiny_model_dir: Path) -> spacy.language.Language:
    import compassion_nlp.spacy_component  # noqa: F401  (as the entry point would)

    nlp = spacy.blank("en")
    nlp.add_pipe("compassion", config={"model": str(tiny_model_dir)})
    return nlp


def test_docs_get_the_classifier_probabilities_and_labels(
    nlp: spacy.language.Language, tiny_model_dir: Path
) -> None:
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir)
    expected = clf.predict(TEXTS, role="clinician")  # the component's default role
    one_by_one = [nlp(t)._.compassion for t in TEXTS]
    batched = [d._.compassion for d in nlp.pipe(TEXTS, batch_size=2)]
    for got in (one_by_one, batched):
        for result, want in zip(got, expected, strict=True):
            assert result["labels"] == want["labels"]
            assert result["probabilities"] == pytest.approx(want["probabilities"], abs=1e-3)


def test_role_and_previous_turn_are_used(nlp: spacy.language.Language,
                                         tiny_model_dir: Path) -> None:
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir)
    doc = nlp.make_doc("That must be hard.")
    doc._.compassion_role, doc._.compassion_previous = "clinician", "I am scared."
    doc._.compassion_previous_role = "patient"
    component = nlp.get_pipe("compassion")
    [scores] = component.predict([doc])  # predict and set_annotations are separate
    assert doc._.compassion is None
    want = clf.predict_proba([ClassifierInput("That must be hard.", "clinician", "I am scared.",
                                              "patient")])
    np.testing.assert_allclose(scores, want, atol=1e-5)
    component.set_annotations([doc], [scores])
    assert set(doc._.compassion) == {"labels", "probabilities"}


def test_each_sentence_is_labelled(tiny_model_dir: Path) -> None:
    import compassion_nlp.spacy_component  # noqa: F401

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("compassion", config={"model": str(tiny_model_dir), "sentences": True})
    doc = nlp(TEXTS[2])
    sents = list(doc.sents)
    assert len(sents) == 2
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir)
    for sent, want in zip(sents, clf.predict([s.text for s in sents], role="clinician"),
                          strict=True):
        assert sent._.compassion["labels"] == want["labels"]
    assert doc._.compassion["sentences"] == [s._.compassion for s in sents]


def test_the_shipped_model_as_in_the_docstring() -> None:
    import compassion_nlp.spacy_component  # noqa: F401

    if not (SHIPPED_MODEL / "config.json").exists():
        pytest.skip("the shipped model is not in this checkout")
    nlp = spacy.blank("en")
    nlp.add_pipe("compassion")
    assert nlp("That sounds really frightening.")._.compassion["labels"] == ["EMPATHIC"]
    doc = nlp.make_doc("I am so scared it might be cancer.")
    doc._.compassion_role = "patient"
    assert nlp.get_pipe("compassion")(doc)._.compassion["labels"] == ["CUE"]
