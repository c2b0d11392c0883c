"""Assemble the annotated corpus (data/corpus.jsonl) from manifests, labels and adjudication.

Final labels: the first annotation (annotator A), then the pilot review's revisions
(``revisions.jsonl``: the pilot batches re-checked against the rules settled after the
pilot),
then the adjudicated decision for items that were double-annotated and disagreed. Synthetic
utterances (data/synthetic.jsonl)
go to the train split only. Splits are by encounter, stratified so that rare labels reach the
dev and test splits.

Usage:
    python data/scripts/assemble.py
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

LABELS = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")
FRACTIONS = {"train": 0.64, "dev": 0.14, "test": 0.22}


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON Lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_manifest(annotation: Path) -> dict[str, dict]:
    """Every annotated item's manifest row (source, ids, text, context), by key."""
    return {row["key"]: row for path in sorted(annotation.glob("manifest*.jsonl"))
            for row in read_jsonl(path)}


def load_labels(folder: Path, annotator: str) -> dict[str, dict]:
    """key → label row, from every ``*.{annotator}.jsonl`` in ``folder``."""
    out: dict[str, dict] = {}
    for path in sorted(folder.glob(f"*.{annotator}.jsonl")):
        for row in read_jsonl(path):
            out[row["key"]] = row
    return out


def stratified_split(
    rows: list[dict], seed: int, fixed: dict[str, str] | None = None
) -> dict[str, str]:
    """Assign encounters to splits, greedily balancing each label's positives (rarest first).

    Encounters in ``fixed`` keep their split (a released corpus's splits stay stable when items
    are added); only the others are placed.
    """
    fixed = fixed or {}
    rng = random.Random(seed)
    by_enc: dict[str, Counter] = defaultdict(Counter)
    sizes: Counter = Counter()
    for row in rows:
        sizes[row["encounter_id"]] += 1
        for label in row["labels"]:
            by_enc[row["encounter_id"]][label] += 1
    totals = Counter()
    for counts in by_enc.values():
        totals.update(counts)
    n_rows = sum(sizes.values())
    encounters = [enc for enc in sizes if enc not in fixed]
    rng.shuffle(encounters)

    def rarity(enc: str) -> float:
        counts = by_enc.get(enc, Counter())
        return -max((counts[label] / totals[label] for label in counts), default=0.0)

    encounters.sort(key=rarity)
    have = {s: Counter() for s in FRACTIONS}
    have_rows = Counter()
    assignment: dict[str, str] = {}
    for enc, split in fixed.items():
        if enc in sizes:
            assignment[enc] = split
            have[split].update(by_enc.get(enc, Counter()))
            have_rows[split] += sizes[enc]
    for enc in encounters:
        counts = by_enc.get(enc, Counter())

        def need(split: str, counts: Counter = counts) -> float:
            """Relative deficit of this split for the encounter's labels (rare ones weigh more)."""
            label_need = sum(
                (FRACTIONS[split] * totals[label] - have[split][label])
                / (FRACTIONS[split] * totals[label]) / totals[label]
                for label in counts
            )
            target_rows = FRACTIONS[split] * n_rows
            row_need = (target_rows - have_rows[split]) / target_rows / n_rows
            return label_need + row_need

        split = max(FRACTIONS, key=need)
        assignment[enc] = split
        have[split].update(counts)
        have_rows[split] += sizes[enc]
    return assignment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--out", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--keep-splits", type=Path, default=Path("data/corpus.jsonl"),
        help="a corpus whose encounters keep their split (default: the current corpus); "
        "pass a missing path to split from scratch",
    )
    args = parser.parse_args()
    ann = args.annotation
    fixed = {}
    if args.keep_splits.exists():
        fixed = {r["encounter_id"]: r["split"] for r in read_jsonl(args.keep_splits)
                 if r["source"] != "synthetic"}
    manifest = load_manifest(ann)
    first = load_labels(ann / "labels", "A")
    revisions, adjudicated = {}, {}
    if (ann / "revisions.jsonl").exists():
        revisions = {r["key"]: r for r in read_jsonl(ann / "revisions.jsonl")}
    if (ann / "adjudicated.jsonl").exists():
        adjudicated = {r["key"]: r for r in read_jsonl(ann / "adjudicated.jsonl")}
    rows = []
    for key, item in manifest.items():
        if key not in first:
            continue
        label_row = adjudicated.get(key) or revisions.get(key) or first[key]
        annotator = (
            "adjudicated" if key in adjudicated else "A-revised" if key in revisions else "A"
        )
        labels = [label for label in LABELS if label in label_row["labels"]]
        rows.append({
            "id": f"{item['encounter_id']}|{item['utterance_id']}",
            "key": key,
            "encounter_id": item["encounter_id"],
            "source": item["encounter_id"].split("/")[0],
            "setting": item["setting"],
            "turn_id": item["turn_id"],
            "utterance_id": item["utterance_id"],
            "speaker": item["speaker"],
            "role": item["role"],
            "text": item["text"],
            "context_ids": item["context_turn_ids"],
            "previous_text": item["previous_turn"],
            "previous_role": item["previous_role"],
            "labels": labels,
            "annotator": annotator,
            "note": label_row.get("note") or label_row.get("reason") or first[key].get("note", ""),
            "pool": item["pool"],
        })
    assignment = stratified_split(rows, args.seed, fixed)
    for row in rows:
        row["split"] = assignment[row["encounter_id"]]
    synthetic_path = ann.parent / "synthetic.jsonl"
    if synthetic_path.exists():
        for i, row in enumerate(read_jsonl(synthetic_path), 1):
            rows.append({
                "id": f"synthetic/{i:04d}|u1", "key": f"s{i:04d}",
                "encounter_id": f"synthetic/{i:04d}", "source": "synthetic",
                "setting": row["setting"], "turn_id": 1, "utterance_id": "t1.u1",
                "speaker": row["role"], "role": row["role"], "text": row["text"],
                "context_ids": [], "previous_text": row.get("previous_text", ""),
                "previous_role": row.get("previous_role", ""), "labels": row["labels"],
                "annotator": "synthetic", "note": row.get("note", ""), "pool": "synthetic",
                "split": "train",
            })
    for label in LABELS:
        synthetic = sum(label in r["labels"] for r in rows if r["source"] == "synthetic")
        total = sum(label in r["labels"] for r in rows)
        if synthetic * 3 > total:
            raise SystemExit(f"{label}: {synthetic} of {total} positives are synthetic (> 1/3)")
    rows.sort(key=lambda r: (r["split"] != "train", r["split"], r["key"]))
    with args.out.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    table = Counter()
    for row in rows:
        real = "synthetic" if row["source"] == "synthetic" else "real"
        table[(row["split"], "rows", real)] += 1
        for label in row["labels"]:
            table[(row["split"], label, real)] += 1
    print(f"{len(rows)} rows, {len({r['encounter_id'] for r in rows})} encounters -> {args.out}")
    for split in FRACTIONS:
        parts = [f"rows={table[(split, 'rows', 'real')]}"]
        parts += [f"{label}={table[(split, label, 'real')]}" for label in LABELS]
        print(split, " ".join(parts))
    synthetic = Counter(x for r in rows if r["source"] == "synthetic" for x in r["labels"])
    print("synthetic (train only):", dict(synthetic))


if __name__ == "__main__":
    main()
