"""Speed and memory benchmarks of the shipped model and of the whole scoring pipeline.

Measures, on real utterances from the shared transcripts (PriMock57, ACI-Bench, MTS-Dialog,
QMSum), on this machine's CPU with a fixed number of torch threads:

- classifier throughput (utterances/s) for float32, bfloat16 and dynamic-int8 weights and for
  ONNX Runtime int8 (with its float32 recheck; when ``compassion-nlp[onnx]`` is installed), and
  whether each gives float32's labels;
- the same utterances without the previous turn (the model reads each utterance with its role
  and up to 300 characters of the previous turn): torch float32 and ONNX int8 throughput and the
  mean tokens per input with and without it, so that speeds measured on short sentences alone
  can be compared with this model's inputs;
- end-to-end scoring throughput (read → segment → roles → classify → link → score) on a
  folder of transcripts;
- peak resident memory of the process.

Writes ``evaluation/benchmarks/results.json`` and prints a table.

Usage:
    python evaluation/benchmarks/benchmark.py --shared ../shared/data --threads 2
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import random
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _utterances(shared: Path, n: int, seed: int) -> list:
    from compassion_nlp.pipeline import read_paths
    from compassion_nlp.scoring import classifier_inputs

    roots = [shared / "transcripts" / "primock57", shared / "transcripts" / "mts_dialog",
             shared / "transcripts" / "aci_bench" / "valid.csv",
             shared / "transcripts" / "qmsum" / "val"]
    items = []
    for result in read_paths(roots):
        for enc in result.encounters:
            items.extend(classifier_inputs(enc))
    rng = random.Random(seed)
    return rng.sample(items, min(n, len(items)))


def _has_onnx() -> bool:
    return all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))


def _mean_tokens(clf, items: list) -> float:
    return sum(len(ids) for ids in clf._tokenise(items)["input_ids"]) / len(items)


def _timed(clf, items: list, batch_size: int) -> tuple:
    """``clf``'s labels of ``items`` and its throughput (after a warm-up batch)."""
    clf.predict_proba(items[:64])
    start = time.perf_counter()
    probs = clf.predict_proba(items, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return clf.decide(probs), {"seconds": round(seconds, 2),
                               "utterances_per_second": round(len(items) / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=5000, help="utterances for the classifier runs")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--precision", default="auto", help="for the end-to-end run")
    args = parser.parse_args()
    import logging
    import warnings

    import numpy as np
    import torch

    warnings.filterwarnings("ignore", category=UserWarning)  # torch's quantisation notice

    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    from scale import cpu

    from compassion_nlp.backends import load_classifier
    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.scoring import Scorer

    items = _utterances(args.shared, args.n, args.seed)
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": args.threads,
                    "processor": platform.processor() or platform.machine(), "cpu": cpu(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "utterances": len(items),
        "mean_words": round(float(np.mean([len(i.text.split()) for i in items])), 1),
    }
    bare = [dataclasses.replace(i, previous="", previous_role="") for i in items]
    names = ("float32", "bfloat16", "int8") + (("onnx_int8",) if _has_onnx() else ())
    without: dict[str, object] = {"mean_tokens_per_input": None}
    decided = {}
    for name in names:
        clf = (load_classifier(args.model, backend="onnx", precision="int8", threads=args.threads)
               if name == "onnx_int8"
               else UtteranceClassifier.from_pretrained(args.model, precision=name))
        decided[name], results[f"classifier_{name}"] = _timed(clf, items, args.batch_size)
        if name != "float32":
            results[f"{name}_label_agreement"] = round(
                float((decided["float32"] == decided[name]).all(axis=1).mean()), 4)
        if name in ("float32", "onnx_int8"):
            without[name] = _timed(clf, bare, args.batch_size)[1]
        if name == "float32":
            without["mean_tokens_per_input"] = round(_mean_tokens(clf, items), 1)
            without["mean_tokens_per_input_without"] = round(_mean_tokens(clf, bare), 1)
    results["without_previous_turn"] = without

    folder = args.shared / "transcripts" / "primock57" / "textgrid"
    scorer = Scorer(UtteranceClassifier.from_pretrained(args.model, precision=args.precision))
    start = time.perf_counter()
    n_enc = n_utt = 0
    for scored in scorer.pipe([folder], batch_size=args.batch_size):
        n_enc += 1
        n_utt += len(scored.encounter.utterances)
    seconds = time.perf_counter() - start
    results["end_to_end_primock57"] = {
        "precision": scorer.classifier.precision,
        "encounters": n_enc, "utterances": n_utt, "seconds": round(seconds, 1),
        "utterances_per_second": round(n_utt / seconds, 1),
    }
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
