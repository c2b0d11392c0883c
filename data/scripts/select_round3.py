"""Round 3: a first model chooses more candidates for the rare labels.

A TF-IDF + logistic-regression model trained on the corpus so far ranks every unannotated
utterance of the four corpora; its top candidates for each rare label are re-ranked by the
first fine-tuned transformer, and the best are written as new batches for annotators to read.
Retrieval only decides what is read.

Usage:
    python data/scripts/select_round3.py --model /tmp/model_first --out data/annotation
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from select_candidates import load, write_batches

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "evaluation" / "classifier"))

QUOTA = {"CONFIRMING": 450, "PURSUING": 450, "EMPATHIC": 250}
SHORTLIST = 2500


def unannotated(corpus_path: Path, shared: Path, annotation: Path):
    """A TF-IDF model fitted on the corpus, and every unannotated utterance as classifier input.

    Returns ``(tfidf, encounters, keys, inputs, last_key, last_batch)``: ``keys`` are
    ``(encounter, turn, utterance)`` indices; the last key and batch number already used.
    """
    from baselines import TfidfBaseline

    from compassion_nlp.classifier import ClassifierInput
    from compassion_nlp.training import load_corpus, to_inputs

    corpus = load_corpus(corpus_path)
    train_x, train_y = to_inputs(corpus["train"])
    dev_x, dev_y = to_inputs(corpus["dev"])
    tfidf = TfidfBaseline().fit(train_x, train_y, dev_x, dev_y)

    encounters = load(shared)
    done: set[tuple[str, str]] = set()
    last_key = last_batch = 0
    for path in sorted(annotation.glob("manifest*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done.add((row["encounter_id"], row["text"]))
            last_key = max(last_key, int(row["key"][1:]))
            last_batch = max(last_batch, int(row["batch"]))
    keys, inputs = [], []
    for e_i, enc in enumerate(encounters):
        previous, previous_role, last = "", "", None
        for t_i, turn in enumerate(enc.turns):
            role = enc.speakers[turn.speaker].role
            for u_i, utt in enumerate(turn.utterances):
                if (enc.id, utt.text) not in done and len(utt.text.split()) >= 3:
                    keys.append((e_i, t_i, u_i))
                    inputs.append(ClassifierInput(utt.text, role, previous, previous_role))
            if turn.speaker != last:
                previous, previous_role, last = turn.text, role, turn.speaker
    return tfidf, encounters, keys, inputs, last_key, last_batch


def take_best(clf, inputs, keys, shortlist, column, quota, pool, chosen) -> int:
    """Re-rank ``shortlist`` by the model's probability for ``column``; add the top ``quota``
    not yet chosen to ``chosen`` under ``pool``. Returns how many were taken."""
    probs = clf.predict_proba([inputs[i] for i in shortlist])[:, column]
    taken = 0
    for r in np.argsort(-probs):
        key = keys[shortlist[r]]
        if key in chosen:
            continue
        chosen[key] = pool
        taken += 1
        if taken >= quota:
            break
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/annotation"))
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    from compassion_nlp.classifier import LABELS, UtteranceClassifier

    rng = random.Random(args.seed)
    tfidf, encounters, keys, inputs, last_key, last_batch = unannotated(
        args.corpus, args.shared, args.out
    )
    print(f"{len(inputs)} unannotated utterances ranked by TF-IDF")
    tf_probs = tfidf.predict_proba(inputs)
    clf = UtteranceClassifier.from_pretrained(args.model)
    chosen: dict[tuple[int, int, int], str] = {}
    for label, quota in QUOTA.items():
        j = LABELS.index(label)
        shortlist = [i for i in np.argsort(-tf_probs[:, j])[:SHORTLIST]
                     if keys[i] not in chosen]
        take_best(clf, inputs, keys, shortlist, j, quota, f"model-{label.lower()}", chosen)
    write_batches(
        encounters, chosen, args.out, 200, rng,
        first_batch=last_batch + 1, first_key=last_key + 1, manifest_name="manifest_r3.jsonl",
    )


if __name__ == "__main__":
    main()
