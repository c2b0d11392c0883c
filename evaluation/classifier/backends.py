"""Do the faster backends give the torch float32 model's labels? Measured on the corpus test split.

For each backend and precision (torch bfloat16 and int8, ONNX Runtime float32 and int8) against
torch float32 on every utterance of the test split (``data/corpus.jsonl``, split ``test``, as
``evaluate.py`` loads it): the share of utterances whose five labels are all the same (target
≥ 99.5 %), the agreement per label, the largest, mean and 99th-percentile difference of a
calibrated probability, and macro-F1 against the gold labels. Not a timing: speed is in
``evaluation/benchmarks/scale.py``.

Writes ``evaluation/classifier/backends.json``.

Usage:
    python evaluation/classifier/backends.py [--model models/compassion-minilm]
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
#: the configurations compared with torch float32
CONFIGURATIONS = (("torch", "bfloat16"), ("torch", "int8"), ("onnx", "float32"), ("onnx", "int8"))
TARGET = 0.995


def compare(model: Path, corpus: Path) -> dict[str, object]:
    """The agreement of every configuration with torch float32 on the test split."""
    from compassion_nlp.backends import load_classifier
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
        "configurations": {},
    }
    for backend, precision in CONFIGURATIONS:
        clf = load_classifier(model, backend=backend, precision=precision)
        p = clf.predict_proba(test_x)
        d = clf.decide(p)
        diff = np.abs(p - ref_p)
        same = (d == ref_d).all(axis=1)
        results["configurations"][f"{backend} {precision}"] = {  # type: ignore[index]
            "label_agreement": round(float(same.mean()), 4),
            "utterances_changed": int((~same).sum()),
            "label_agreement_per_label": {
                label: round(float((d[:, j] == ref_d[:, j]).mean()), 4)
                for j, label in enumerate(LABELS)},
            "max_probability_difference": round(float(diff.max()), 6),
            "mean_probability_difference": round(float(diff.mean()), 6),
            "p99_probability_difference": round(float(np.quantile(diff, 0.99)), 6),
            "macro_f1": round(label_metrics(d, test_y)["macro_f1"], 4),
            "target_met": bool(same.mean() >= TARGET),
        }
        print(backend, precision, results["configurations"][f"{backend} {precision}"],  # type: ignore[index]
              flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    results = compare(args.model.resolve(), args.corpus)
    (HERE / "backends.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
