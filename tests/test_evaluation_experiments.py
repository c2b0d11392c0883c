"""The classifier experiments of evaluation/classifier: the TF-IDF mix, the model soup and the
threshold rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_the_tried_mix_with_tfidf_takes_per_label_weights_and_thresholds_from_dev() -> None:
    from evaluation.classifier.hybrid import Hybrid

    rng = np.random.default_rng(0)
    y = rng.random((200, 5)) < 0.3
    noise = rng.random((200, 5))

    class Fixed:  # probabilities keyed by the inputs (row numbers)
        def __init__(self, probs: np.ndarray):
            self.probs = probs

        def predict_proba(self, items: list[int]) -> np.ndarray:
            return self.probs[items]

    model = np.where(y, 0.9, 0.1)            # right on every label ...
    model[:, 0] = 0.3 + 0.4 * noise[:, 0]    # ... but the first, where it is noise
    tfidf = np.where(y, 0.8, 0.2)
    tfidf[:, 1:] = noise[:, 1:]              # TF-IDF right on the first label only
    # half and half separates the first label's classes; 0.7 of the model's noise does not
    hybrid = Hybrid(Fixed(model), Fixed(tfidf), list(range(200)), y.astype(float))
    assert hybrid.weights == [0.5, 1.0, 1.0, 1.0, 1.0]  # ties keep the model alone
    assert hybrid.dev_f1 == [1.0] * 5
    decided = hybrid.decide(hybrid.predict_proba(list(range(200))))
    assert (decided == y).all()



def test_a_soup_averages_every_weight_and_refuses_other_architectures(
        tiny_model_dir: Path) -> None:
    import torch

    from compassion_nlp.classifier import UtteranceClassifier
    from evaluation.classifier.soup import soup

    def load() -> UtteranceClassifier:
        return UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")

    first, second = load(), load()
    before = {k: v.clone() for k, v in first.model.state_dict().items()}
    with torch.no_grad():
        for p in second.model.parameters():
            p.add_(1.0)
    mixed = soup(first, second, 0.25).model.state_dict()
    for k, v in before.items():
        expected = v + 0.75 if v.is_floating_point() else v
        assert torch.allclose(mixed[k], expected, atol=1e-6), k
    other = load()
    other.model.classifier = torch.nn.Linear(32, 3)
    with pytest.raises(ValueError, match="architecture"):
        soup(load(), other, 0.5)


def test_calibrating_on_dev_fits_the_calibration_and_thresholds(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.training import calibrate_on_dev, load_corpus, to_inputs
    from tests.helpers import tiny_corpus

    clf = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    clf.config.thresholds = dict.fromkeys(clf.labels, 0.5)
    clf.config.calibration = {label: (1.0, 0.0) for label in clf.labels}
    dev = load_corpus(tiny_corpus(tmp_path / "corpus.jsonl", seed=1))["dev"]
    metrics = calibrate_on_dev(clf, *to_inputs(dev))
    assert set(metrics["labels"]) == set(clf.labels)
    assert clf.config.calibration != {label: (1.0, 0.0) for label in clf.labels}
    assert all(0.05 <= t <= 0.95 for t in clf.config.thresholds.values())


def test_threshold_rules_are_judged_on_held_out_halves_of_the_encounters() -> None:
    from compassion_nlp.model import LABELS
    from evaluation.classifier.thresholds import RULES, held_out, thresholds_by

    rng = np.random.default_rng(1)
    groups = np.repeat([f"e{i}" for i in range(30)], 20)
    targets = (rng.random((len(groups), len(LABELS))) < 0.15).astype(np.float32)
    logits = np.where(targets > 0, 1.0, -1.0) + rng.normal(0, 1.2, targets.shape)
    cv = held_out(logits, targets, groups)
    assert set(cv) == set(RULES)
    assert cv["f1_best"]["ahead_of_f1_best_share"] == 0.0
    for rule in RULES:
        assert 0.3 < cv[rule]["macro_f1"] < 0.9
        assert cv[rule]["macro_f1"] == pytest.approx(np.mean(list(cv[rule]["f1"].values())))
    assert held_out(logits, targets, groups) == cv  # seeded: the same halvings again
    probs = 1 / (1 + np.exp(-logits))
    smoothed = thresholds_by("smoothed", probs, targets, groups, np.random.default_rng(0))
    assert all(0.05 <= t <= 0.95 for t in smoothed.values())


def test_applied_thresholds_replace_only_the_thresholds_and_dev_metrics(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from compassion_nlp.classifier import UtteranceClassifier
    from evaluation.classifier.thresholds import apply

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    before = json.loads((folder / "compassion.json").read_text())
    new = {label: 0.33 for label in before["thresholds"]}
    apply(folder, "half_f1", new, {"macro_f1": 0.5})
    after = json.loads((folder / "compassion.json").read_text())
    assert after["thresholds"] == new and after["metrics"]["dev"] == {"macro_f1": 0.5}
    assert after["calibration"] == before["calibration"]
    assert before["training"]["threshold_rule"] == "f1_best"
    assert after["training"] == {**before["training"], "threshold_rule": "half_f1",
                                 "thresholds_from": "evaluation/classifier/thresholds.py --apply"}
    assert UtteranceClassifier.from_pretrained(folder).config.thresholds == new
