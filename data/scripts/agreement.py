"""Inter-annotator agreement: Cohen's κ per label between the first annotation (after the pilot
review) and the independent second annotation, on the double-annotated sample.

Writes data/agreement.json and prints a table. The sample is enriched with positives (see
second_annotation.py), so the κ values describe agreement on a sample where each label is
far more frequent than in ordinary talk.

Usage:
    python data/scripts/agreement.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assemble import LABELS, load_labels, read_jsonl
from sklearn.metrics import cohen_kappa_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--out", type=Path, default=Path("data/agreement.json"))
    args = parser.parse_args()
    ann = args.annotation
    first = load_labels(ann / "labels", "A")
    if (ann / "revisions.jsonl").exists():
        for row in read_jsonl(ann / "revisions.jsonl"):
            first[row["key"]] = row
    second = load_labels(ann / "labels", "B")
    keys = sorted(k for k in second if k in first)
    result = {"items": len(keys), "kappa": {}, "positives_a": {}, "positives_b": {},
              "agreement": {}, "disagreements": 0}
    for label in LABELS:
        a = [label in first[k]["labels"] for k in keys]
        b = [label in second[k]["labels"] for k in keys]
        result["kappa"][label] = round(float(cohen_kappa_score(a, b)), 3)
        result["positives_a"][label] = sum(a)
        result["positives_b"][label] = sum(b)
        same = sum(x == y for x, y in zip(a, b, strict=True))
        result["agreement"][label] = round(same / len(keys), 3)
    result["disagreements"] = sum(
        set(first[k]["labels"]) != set(second[k]["labels"]) for k in keys
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(keys)} items double-annotated; {result['disagreements']} with any disagreement")
    print("| label | A positives | B positives | raw agreement | Cohen's κ |")
    print("|---|---|---|---|---|")
    for label in LABELS:
        print(f"| {label} | {result['positives_a'][label]} | {result['positives_b'][label]} | "
              f"{result['agreement'][label]:.3f} | {result['kappa'][label]:.3f} |")


if __name__ == "__main__":
    main()
