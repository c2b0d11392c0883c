"""Inter-annotator agreement: Cohen's κ per label between the first annotation (after the pilot
review) and the independent second annotation, on the double-annotated sample.

Writes data/agreement.json and prints a table: all real double-annotated items together
(``kappa``…, read by the evaluation report), then by set: rounds 1-4, round 5 (the counselling
sources), the synthetic dialogues (writer vs a blind re-annotation from the text alone) and the
behavioural suite (writer vs a blind second labelling). The rounds 1-4 sample is enriched with
positives (see second_annotation.py), so its κ describes agreement on a sample where each label
is far more frequent than in ordinary talk.

Usage:
    python data/scripts/agreement.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assemble import LABELS, load_labels, read_jsonl
from sklearn.metrics import cohen_kappa_score


def agreement(first: list[list[str]], second: list[list[str]]) -> dict:
    """κ, positives and raw agreement per label between two parallel lists of label lists."""
    result = {"items": len(first), "kappa": {}, "positives_a": {}, "positives_b": {},
              "agreement": {}, "disagreements": 0}
    for label in LABELS:
        a = [label in x for x in first]
        b = [label in x for x in second]
        kappa = cohen_kappa_score(a, b) if any(a) or any(b) else float("nan")
        result["kappa"][label] = round(float(kappa), 3)
        result["positives_a"][label] = sum(a)
        result["positives_b"][label] = sum(b)
        same = sum(x == y for x, y in zip(a, b, strict=True))
        result["agreement"][label] = round(same / len(first), 3)
    result["disagreements"] = sum(set(x) != set(y) for x, y in zip(first, second, strict=True))
    return result


def synthetic_pairs(dialogues: Path, blind: Path) -> tuple[list, list]:
    """(writer labels, blind labels) for every re-annotated synthetic utterance."""
    writer, other = [], []
    for path in sorted(blind.glob("*.B.jsonl")):
        conv_id = path.name.removesuffix(".B.jsonl")
        [conv_path] = dialogues.rglob(f"{conv_id}.json")
        conv = json.loads(conv_path.read_text(encoding="utf-8"))
        labels = {f"t{t}.u{u}": utt["labels"]
                  for t, turn in enumerate(conv["turns"], 1)
                  for u, utt in enumerate(turn["utterances"], 1)}
        rows = {r["utterance_id"]: r["labels"] for r in read_jsonl(path)}
        if set(rows) != set(labels):
            raise SystemExit(f"{path}: utterance ids differ from {conv_path}")
        for uid, gold in labels.items():
            writer.append(gold)
            other.append(rows[uid])
    return writer, other


def suite_pairs(suite: Path, blind: Path, mapping: Path) -> tuple[list, list]:
    """(writer labels, blind labels) for the behavioural suite (blind ids mapped back)."""
    ids = json.loads(mapping.read_text())
    writer = {r["id"]: r["labels"] for r in read_jsonl(suite)}
    second = {ids[r["id"]]: r["labels"] for r in read_jsonl(blind)}
    keys = sorted(writer)
    return [writer[k] for k in keys], [second[k] for k in keys]


def print_table(name: str, result: dict) -> None:
    """One agreement table in Markdown."""
    print(f"\n{name}: {result['items']} items; {result['disagreements']} with any disagreement")
    print("| label | A positives | B positives | raw agreement | Cohen's κ |")
    print("|---|---|---|---|---|")
    for label in LABELS:
        print(f"| {label} | {result['positives_a'][label]} | {result['positives_b'][label]} | "
              f"{result['agreement'][label]:.3f} | {result['kappa'][label]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--synthetic", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--suite", type=Path, default=Path("evaluation/behaviour"))
    parser.add_argument("--out", type=Path, default=Path("data/agreement.json"))
    args = parser.parse_args()
    ann = args.annotation
    first = load_labels(ann / "labels", "A")
    if (ann / "revisions.jsonl").exists():
        for row in read_jsonl(ann / "revisions.jsonl"):
            first[row["key"]] = row
    second = load_labels(ann / "labels", "B")
    rounds = {row["key"]: path.name for path in ann.glob("manifest*.jsonl")
              for row in read_jsonl(path)}
    keys = sorted(k for k in second if k in first)
    result = agreement([first[k]["labels"] for k in keys], [second[k]["labels"] for k in keys])
    by_set = {}
    for name, round5 in (("rounds 1-4", False), ("round 5", True)):
        subset = [k for k in keys if (rounds[k] == "manifest_r5.jsonl") == round5]
        if subset:
            by_set[name] = agreement([first[k]["labels"] for k in subset],
                                     [second[k]["labels"] for k in subset])
    blind = args.synthetic / "reannotation" / "labels"
    if blind.is_dir() and any(blind.glob("*.B.jsonl")):
        by_set["synthetic dialogues"] = agreement(
            *synthetic_pairs(args.synthetic / "dialogues", blind)
        )
    if (args.suite / "blind_B.jsonl").exists():
        by_set["behavioural suite"] = agreement(*suite_pairs(
            args.suite / "suite.jsonl", args.suite / "blind_B.jsonl",
            args.suite / "blind_ids.json",
        ))
    result["by_set"] = by_set
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table("all real double-annotated items", result)
    for name, sub in by_set.items():
        print_table(name, sub)


if __name__ == "__main__":
    main()
