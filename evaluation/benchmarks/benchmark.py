"""Speed and memory benchmarks of the shipped model and of the whole scoring pipeline.

Measures, on real utterances from the shared transcripts (PriMock57, ACI-Bench, MTS-Dialog,
QMSum), on this machine's CPU with a fixed number of torch threads:

- classifier throughput (utterances/s) for float32 and dynamic-int8 weights, and whether the
  int8 model gives the same labels;
- end-to-end scoring throughput (read → segment → roles → classify → link → score) on a
  folder of transcripts;
- peak resident memory of the process.

Writes ``evaluation/benchmarks/results.json`` and prints a table.

Usage:
    python evaluation/benchmarks/benchmark.py --shared ../shared/data --threads 2
"""

from __future__ import annotations

import argparse
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
    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.scoring import Scorer

    items = _utterances(args.shared, args.n, args.seed)
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": args.threads,
                    "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "utterances": len(items),
        "mean_words": round(float(np.mean([len(i.text.split()) for i in items])), 1),
    }
    decided = {}
    for name in ("float32", "bfloat16", "int8"):
        clf = UtteranceClassifier.from_pretrained(args.model, precision=name)
        clf.predict_proba(items[:64])  # warm-up
        start = time.perf_counter()
        probs = clf.predict_proba(items, batch_size=args.batch_size)
        seconds = time.perf_counter() - start
        decided[name] = clf.decide(probs)
        results[f"classifier_{name}"] = {
            "seconds": round(seconds, 2), "utterances_per_second": round(len(items) / seconds, 1),
        }
    for name in ("bfloat16", "int8"):
        results[f"{name}_label_agreement"] = round(
            float((decided["float32"] == decided[name]).all(axis=1).mean()), 4
        )

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
