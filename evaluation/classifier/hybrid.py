"""Tried, not shipped: the shipped model's probabilities mixed with TF-IDF + LR's.

TF-IDF + logistic regression (``baselines.py``) is level with the transformer on EMPATHIC and
close on CONFIRMING, and the two make different errors. This mixes them per label,
``w · transformer + (1 − w) · TF-IDF``, with the weight (from ``WEIGHTS``; ties keep the
transformer) and the threshold that give the best dev F1, and tests the mix like an arm of
``generalisation.py``: the real test split pooled and per source, the behavioural suite. TF-IDF
is lexical, so its own leave-one-source-out figures (trained without a clinical source, tested
on that source's test encounters) are measured beside its in-domain ones: how far the
word-level half carries to a new clinic.

Writes ``runs/hybrid.json``; ``generalisation.py report`` shows it. About 5 minutes on 2 cores.

Usage:
    python evaluation/classifier/hybrid.py [--model models/compassion-minilm]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import datasets
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from baselines import TfidfBaseline  # noqa: E402
from generalisation import (  # noqa: E402
    CLINICAL,
    RUNS,
    behaviour,
    evaluate_split,
    scored_metrics,
)

from compassion_nlp.classifier import LABELS, ClassifierInput, UtteranceClassifier  # noqa: E402
from compassion_nlp.training import (  # noqa: E402
    best_thresholds,
    label_metrics,
    load_corpus,
    to_inputs,
)

#: the transformer's weight in the mix, per label; the first is the transformer alone
WEIGHTS = (1.0, 0.7, 0.5)


class Hybrid:
    """The mix as a classifier (``predict_proba`` and ``decide``, as ``evaluate_split`` and
    ``behaviour`` call them)."""

    def __init__(self, model: UtteranceClassifier, tfidf: TfidfBaseline,
                 dev: Sequence[ClassifierInput], y_dev: np.ndarray):
        self.model, self.tfidf = model, tfidf
        p, q = model.predict_proba(dev), tfidf.predict_proba(dev)
        self.weights, self.thresholds, self.dev_f1 = [], [], []
        for j, label in enumerate(LABELS):
            y = y_dev[:, j:j + 1]
            best = None
            for w in WEIGHTS:
                mixed = w * p[:, j:j + 1] + (1 - w) * q[:, j:j + 1]
                t = best_thresholds(mixed, y, (label,), "f1_best")[label]
                f1 = label_metrics(mixed >= t, y, labels=(label,))["macro_f1"]
                if best is None or f1 > best[2] + 1e-9:
                    best = (w, t, f1)
            self.weights.append(best[0])
            self.thresholds.append(best[1])
            self.dev_f1.append(best[2])

    def predict_proba(self, items: Sequence[ClassifierInput]) -> np.ndarray:
        w = np.array(self.weights)
        return w * self.model.predict_proba(items) + (1 - w) * self.tfidf.predict_proba(items)

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return probs >= np.array(self.thresholds)


def tfidf_loso(corpus: dict, sources: Sequence[str] = CLINICAL) -> dict:
    """TF-IDF + LR trained without each source (train and dev), on its test encounters, beside
    the same baseline trained on everything."""
    def scored(tfidf: TfidfBaseline, test) -> dict:
        inputs, targets = to_inputs(test)
        return scored_metrics(tfidf.predict(inputs), targets, list(test["encounter_id"]))

    everything = TfidfBaseline().fit(*to_inputs(corpus["train"]), *to_inputs(corpus["dev"]))
    out = {}
    for source in sources:
        keep = {s: corpus[s].filter(lambda row, source=source: row["source"] != source)
                for s in ("train", "dev")}
        held = TfidfBaseline().fit(*to_inputs(keep["train"]), *to_inputs(keep["dev"]))
        test = corpus["test"].filter(lambda row, source=source: row["source"] == source)
        out[source] = {"loso": scored(held, test), "in_domain": scored(everything, test)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--out", type=Path, default=RUNS / "hybrid.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    datasets.disable_progress_bars()
    corpus = load_corpus(str(REPO / "data" / "corpus.jsonl"))
    started = time.perf_counter()
    tfidf = TfidfBaseline().fit(*to_inputs(corpus["train"]), *to_inputs(corpus["dev"]))
    fit_seconds = time.perf_counter() - started
    model = UtteranceClassifier.from_pretrained(args.model, precision="float32", threads=2)
    hybrid = Hybrid(model, tfidf, *to_inputs(corpus["dev"]))
    result = {
        "name": "hybrid",
        "model": str(args.model.resolve().relative_to(REPO)
                     if args.model.resolve().is_relative_to(REPO) else args.model),
        "weights": dict(zip(LABELS, hybrid.weights, strict=True)),
        "thresholds": dict(zip(LABELS, hybrid.thresholds, strict=True)),
        "dev": {"f1": dict(zip(LABELS, hybrid.dev_f1, strict=True)),
                "macro_f1": float(np.mean(hybrid.dev_f1))},
        "tfidf_fit_seconds": round(fit_seconds, 1),
        "test": evaluate_split(hybrid, corpus["test"]),  # type: ignore[arg-type]
        "behaviour": behaviour(hybrid),  # type: ignore[arg-type]
        "transformer_alone": {"test": evaluate_split(model, corpus["test"]),
                              "behaviour": behaviour(model)},
        "tfidf_loso": tfidf_loso(corpus),
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({"weights": result["weights"],
                      "test_macro_f1": result["test"]["pooled"]["macro_f1"],
                      "suite": result["behaviour"]["exact_match"]}, indent=1))


if __name__ == "__main__":
    main()
