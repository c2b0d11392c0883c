"""A spaCy pipeline component that labels utterances with the compassion classifier.

Once the package is installed, ``spacy.blank("en").add_pipe("compassion")`` finds it (entry
point ``spacy_factories``). Each ``Doc`` is one utterance, or, with ``sentences=True``, each of
its sentences is (the pipeline then needs a sentencizer or parser before this component).

>>> import spacy
>>> nlp = spacy.blank("en")
>>> nlp.add_pipe("compassion")                   # the shipped model
>>> doc = nlp("That sounds really frightening.")
>>> doc._.compassion["labels"]
['EMPATHIC']

Results go to ``doc._.compassion`` (and ``span._.compassion`` for each sentence): a dict with
``labels`` (those over the model's thresholds) and ``probabilities`` (calibrated, per label).
The model reads the speaker's role as it was trained to: the component's ``role`` setting
(default ``clinician``, for the responding labels; ``patient`` or ``staff`` to find cues), or
per doc ``doc._.compassion_role`` (``clinician``, ``patient``, ``leader``, ``staff``); an
utterance of unknown role gets low probabilities. The previous turn of another speaker goes in
``doc._.compassion_previous`` (its role in ``doc._.compassion_previous_role``), as the model
was trained with them. With ``sentences=True``, ``doc._.compassion`` holds the labels of any
sentence and the list of the sentences' results. :meth:`predict` and
:meth:`set_annotations` are separate, and ``nlp.pipe`` classifies docs in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .classifier import ClassifierInput, UtteranceClassifier
from .scoring import model_path

for _cls in (Doc, Span):
    if not _cls.has_extension("compassion"):
        _cls.set_extension("compassion", default=None)
for _name, _default in (("compassion_role", None), ("compassion_previous", ""),
                        ("compassion_previous_role", "")):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=_default)


class CompassionComponent:
    """Labels each doc (or each sentence) with EMPATHIC, CONFIRMING, PURSUING, INCLUSIVE, CUE."""

    def __init__(self, nlp: Language, name: str, *, model: str | None, sentences: bool,
                 batch_size: int, precision: str, role: str):
        self.name = name
        self.role = role
        self.sentences = sentences
        self.batch_size = batch_size
        self.classifier = UtteranceClassifier.from_pretrained(
            model_path(model), precision=precision)

    def _inputs(self, doc: Doc) -> list[ClassifierInput]:
        role, previous = doc._.compassion_role or self.role, doc._.compassion_previous
        texts = [s.text for s in doc.sents] if self.sentences else [doc.text]
        return [ClassifierInput(t, role, previous, doc._.compassion_previous_role)
                for t in texts]

    def predict(self, docs: Iterable[Doc]) -> list[np.ndarray]:
        """Calibrated probabilities: one row per doc (or per sentence), an array per doc."""
        docs = list(docs)
        inputs = [self._inputs(doc) for doc in docs]
        flat = [i for items in inputs for i in items]
        probs = self.classifier.predict_proba(flat, batch_size=self.batch_size)
        out, start = [], 0
        for items in inputs:
            out.append(probs[start:start + len(items)])
            start += len(items)
        return out

    def _result(self, row: np.ndarray) -> dict[str, Any]:
        on = self.classifier.decide(row[None, :])[0]
        return {
            "labels": [x for x, yes in zip(self.classifier.labels, on, strict=True) if yes],
            "probabilities": {x: round(float(p), 4)
                              for x, p in zip(self.classifier.labels, row, strict=True)},
        }

    def set_annotations(self, docs: Iterable[Doc], scores: list[np.ndarray]) -> None:
        """Write the labels and probabilities onto the docs (and their sentences)."""
        for doc, rows in zip(docs, scores, strict=True):
            if self.sentences:
                results = [self._result(row) for row in rows]
                for sent, result in zip(doc.sents, results, strict=True):
                    sent._.compassion = result
                labels = sorted({x for r in results for x in r["labels"]},
                                key=self.classifier.labels.index)
                doc._.compassion = {"labels": labels, "sentences": results}
            else:
                doc._.compassion = self._result(rows[0])

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int | None = None) -> Iterator[Doc]:
        """Classify docs in batches of ``batch_size`` docs."""
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch


@Language.factory(
    "compassion",
    default_config={"model": None, "sentences": False, "batch_size": 64, "precision": "auto",
                    "role": "clinician"},
)
def make_compassion(nlp: Language, name: str, model: str | None, sentences: bool,
                    batch_size: int, precision: str, role: str) -> CompassionComponent:
    """The ``compassion`` factory: ``model`` is a model folder (default: the shipped model),
    ``role`` the speaker role of docs that do not set ``doc._.compassion_role``."""
    return CompassionComponent(nlp, name, model=model, sentences=sentences,
                               batch_size=batch_size, precision=precision, role=role)
