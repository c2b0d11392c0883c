"""Compare model folders on one split of the corpus (dev by default): macro-F1, mAP, F1 per label.

Used to decide whether a retrained model replaces the shipped one (rule: higher dev macro-F1).

Usage:
    python evaluation/classifier/compare_models.py models/compassion-minilm /tmp/work/r4 \\
        --out evaluation/classifier/retrain_r4.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from sklearn.metrics import average_precision_score

    from compassion_nlp.classifier import LABELS, ClassifierConfig, UtteranceClassifier
    from compassion_nlp.training import label_metrics, load_corpus, to_inputs

    x, y = to_inputs(load_corpus(args.corpus)[args.split])
    rows = []
    for folder in args.models:
        clf = UtteranceClassifier.from_pretrained(folder, precision="float32")
        probs = clf.predict_proba(x)
        metrics = label_metrics(clf.decide(probs), y, probs)
        training = ClassifierConfig.load(folder).training
        rows.append({
            "model": str(folder),
            "train_rows": training.get("train_rows"),
            "macro_f1": round(metrics["macro_f1"], 4),
            "map": round(float(np.mean([average_precision_score(y[:, j], probs[:, j])
                                        for j in range(len(LABELS))])), 4),
            "f1": {label: round(metrics["labels"][label]["f1"], 4) for label in LABELS},
        })
        print(f"{folder}: macro-F1 {rows[-1]['macro_f1']:.3f}, mAP {rows[-1]['map']:.3f}, "
              + ", ".join(f"{k} {v:.2f}" for k, v in rows[-1]["f1"].items()))
    result = {"corpus": str(args.corpus.relative_to(REPO) if args.corpus.is_relative_to(REPO)
                            else args.corpus),
              "split": args.split, "utterances": len(x), "models": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
