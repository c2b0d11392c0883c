"""Do the faster backends give the torch float32 model's labels? Measured on the corpus test split.

For each backend and precision (torch bfloat16 and int8, ONNX Runtime float32 and int8) against
torch float32 on every utterance of the test split (``data/corpus.jsonl``, split ``test``, as
``evaluate.py`` loads it): the share of utterances whose five labels are all the same (target
≥ 99.5 %), the agreement per label, the largest, mean and 99th-percentile difference of a
calibrated probability, and macro-F1 against the gold labels. Not a timing: speed is in
``evaluation/benchmarks/scale.py``.

Writes ``evaluation/classifier/backends.json`` (``--results``: another file, e.g.
``backends-fast.json`` for ``--model models/compassion-minilm-fast``).

Usage:
    python evaluation/classifier/backends.py [--model models/compassion-minilm] [--results F]
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: the configurations compared with torch float32: (name, backend, precision, ONNX options)
CONFIGURATIONS = (
    ("torch bfloat16", "torch", "bfloat16", {}),
    ("torch int8", "torch", "int8", {}),
    ("onnx float32", "onnx", "float32", {}),
    ("onnx int8, no recheck", "onnx", "int8", {"recheck_margin": 0.0}),
    ("onnx int8", "onnx", "int8", {}),
)
TARGET = 0.995
#: the rule for the int8 recheck margin: the smallest margin (steps of 0.1) with at least this
#: share of dev utterances labelled as torch float32 labels them
DEV_RULE = 0.999


def recheck_sweep(model: Path, corpus: Path) -> dict[str, object]:
    """On the dev split: how many utterances each int8 recheck margin sends to float32, and the
    share then labelled as torch float32 labels them; the margin the rule picks."""
    from compassion_nlp.backends import RECHECK_MARGIN, OnnxClassifier, load_classifier
    from compassion_nlp.training import load_corpus, to_inputs

    dev_x, _ = to_inputs(load_corpus(corpus)["dev"])
    reference = load_classifier(model, precision="float32")
    ref_d = reference.decide(reference.predict_proba(dev_x))
    full = OnnxClassifier.from_pretrained(model, precision="float32")
    plain = OnnxClassifier.from_pretrained(model, precision="int8", recheck_margin=0.0)
    zf, zp = full.logits(dev_x), plain.logits(dev_x)
    rows = []
    for margin in [round(0.1 * k, 1) for k in range(11)]:
        near = plain.near_threshold(zp, margin)
        z = np.where(near[:, None], zf, zp)
        same = (plain.decide(plain.calibrate(z)) == ref_d).all(axis=1)
        rows.append({"margin": margin, "rechecked": round(float(near.mean()), 4),
                     "label_agreement": round(float(same.mean()), 4)})
    chosen = next((r["margin"] for r in rows if r["label_agreement"] >= DEV_RULE), None)
    return {"utterances": len(dev_x), "rule": f"smallest margin with dev label agreement "
            f">= {DEV_RULE}", "margins": rows, "chosen": chosen, "shipped": RECHECK_MARGIN}


def compare(model: Path, corpus: Path) -> dict[str, object]:
    """The agreement of every configuration with torch float32 on the test split."""
    from compassion_nlp.backends import OnnxClassifier, load_classifier
    from compassion_nlp.classifier import LABELS
    from compassion_nlp.training import label_metrics, load_corpus, to_inputs

    test_x, test_y = to_inputs(load_corpus(corpus)["test"])
    reference = load_classifier(model, precision="float32")
    ref_p = reference.predict_proba(test_x)
    ref_d = reference.decide(ref_p)
    results: dict[str, object] = {
        "model": str(model.relative_to(REPO) if model.is_relative_to(REPO) else model),
        "utterances": len(test_x),
        "target_label_agreement": TARGET,
        "torch_float32_macro_f1": round(label_metrics(ref_d, test_y)["macro_f1"], 4),
        "int8_recheck_dev": recheck_sweep(model, corpus),
        "configurations": {},
    }
    for name, backend, precision, options in CONFIGURATIONS:
        clf = (OnnxClassifier.from_pretrained(model, precision=precision, **options)
               if backend == "onnx" else load_classifier(model, precision=precision))
        p = clf.predict_proba(test_x)
        d = clf.decide(p)
        diff = np.abs(p - ref_p)
        same = (d == ref_d).all(axis=1)
        results["configurations"][name] = {  # type: ignore[index]
            "label_agreement": round(float(same.mean()), 4),
            "utterances_changed": int((~same).sum()),
            "rechecked": round(float(clf.near_threshold(clf._forward(
                clf.session, test_x, 64)).mean()), 4) if getattr(clf, "recheck", None) else 0.0,
            "label_agreement_per_label": {
                label: round(float((d[:, j] == ref_d[:, j]).mean()), 4)
                for j, label in enumerate(LABELS)},
            "max_probability_difference": round(float(diff.max()), 6),
            "mean_probability_difference": round(float(diff.mean()), 6),
            "p99_probability_difference": round(float(np.quantile(diff, 0.99)), 6),
            "macro_f1": round(label_metrics(d, test_y)["macro_f1"], 4),
            "target_met": bool(same.mean() >= TARGET),
        }
        print(name, results["configurations"][name], flush=True)  # type: ignore[index]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", type=Path, default=HERE / "backends.json")
    args = parser.parse_args()
    import torch

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    results = compare(args.model.resolve(), args.corpus)
    args.results.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
