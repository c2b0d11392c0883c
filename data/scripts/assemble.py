"""Assemble the annotated corpus (data/corpus.jsonl) from manifests, labels and adjudication.

Final labels: the first annotation (annotator A), then the pilot review's revisions
(``revisions.jsonl``: the pilot batches re-checked against the rules settled after the
pilot), then the adjudicated decision for items that were double-annotated and disagreed, then
the consistency review (``consistency.jsonl``: the same phrasing labelled alike, duplicates
dropped; see check_consistency.py). Labels on a role for which they are not scored (CUE on a
clinician, EMPATHIC on a patient…) move to ``unscored_labels``: kept, but out of training and
evaluation. Synthetic
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
import re
from collections import Counter, defaultdict
from pathlib import Path

from check_consistency import normalise, split_scored

LABELS = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")
FRACTIONS = {"train": 0.64, "dev": 0.14, "test": 0.22}
#: round 5 on: encounters annotated whole are split with these fractions, per source; encounters
#: of which only candidates were read go to train (their base rates are not estimable)
WHOLE_FRACTIONS = {"train": 0.3, "dev": 0.2, "test": 0.5}
TRAIN_ONLY_POOLS = ("random5", "model5-")
#: each source's licence (SPDX); rows keep it (see data/README.md)
LICENCES = {
    "primock57": "CC-BY-4.0", "aci_bench": "CC-BY-4.0", "mts_dialog": "CC-BY-4.0",
    "mibot": "CC-BY-SA-4.0", "physical_activity_counseling": "Apache-2.0",
    "counsel_chat": "MIT", "synthetic": "MIT",
}
#: QMSum is MIT; its AMI and ICSI meetings are CC BY 4.0 transcripts
AMI_ICSI = re.compile(r"^(ES|IS|TS|EN|IB|IN|B[a-z]{2})\d", re.IGNORECASE)


def licence_of(encounter_id: str) -> str:
    """The SPDX licence of a row, from its source (and, for QMSum, the meeting)."""
    source = encounter_id.split("/")[0]
    if source == "qmsum":
        return "CC-BY-4.0" if AMI_ICSI.match(Path(encounter_id).name) else "MIT"
    return LICENCES[source]


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
    rows: list[dict], seed: int, fixed: dict[str, str] | None = None,
    fractions: dict[str, float] = FRACTIONS,
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
    have = {s: Counter() for s in fractions}
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
                (fractions[split] * totals[label] - have[split][label])
                / (fractions[split] * totals[label]) / totals[label]
                for label in counts
            )
            target_rows = fractions[split] * n_rows
            row_need = (target_rows - have_rows[split]) / target_rows / n_rows
            return label_need + row_need

        split = max(fractions, key=need)
        assignment[enc] = split
        have[split].update(counts)
        have_rows[split] += sizes[enc]
    return assignment


def assign_splits(rows: list[dict], seed: int, fixed: dict[str, str]) -> dict[str, str]:
    """Each encounter's split: kept where ``fixed``; encounters of which only candidates were
    read (round 5 on) in train; encounters annotated whole split per source with
    :data:`WHOLE_FRACTIONS`; the rest (rounds 1-4) with :data:`FRACTIONS`."""
    pools: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        pools[row["encounter_id"]].add(row["pool"])
    assignment: dict[str, str] = {}
    whole: dict[str, list[dict]] = defaultdict(list)
    rest = []
    for row in rows:
        enc = row["encounter_id"]
        if any(p.startswith(TRAIN_ONLY_POOLS) for p in pools[enc]):
            assignment[enc] = fixed.get(enc, "train")
        elif pools[enc] == {"whole"}:
            whole[row["source"]].append(row)
        else:
            rest.append(row)
    assignment.update(stratified_split(rest, seed, fixed))
    for source_rows in whole.values():
        assignment.update(stratified_split(source_rows, seed, fixed, WHOLE_FRACTIONS))
    return assignment


def synthetic_dialogue_rows(folder: Path) -> list[dict]:
    """Corpus rows (train only) from the synthetic dialogues (data/synthetic/dialogues/)."""
    rows = []
    for path in sorted(folder.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        encounter_id = f"synthetic/{data['setting']}/{data['id']}"
        previous, previous_role = "", ""
        for t, turn in enumerate(data["turns"], 1):
            for u, utt in enumerate(turn["utterances"], 1):
                labels, unscored = split_scored(
                    [label for label in LABELS if label in utt["labels"]], turn["role"]
                )
                rows.append({
                    "id": f"{encounter_id}|t{t}.u{u}", "key": f"{data['id']}|t{t}.u{u}",
                    "encounter_id": encounter_id, "source": "synthetic",
                    "setting": data["kind"], "turn_id": t, "utterance_id": f"t{t}.u{u}",
                    "speaker": turn["speaker"], "role": turn["role"], "text": utt["text"],
                    "context_ids": [t - 1] if t > 1 else [], "previous_text": previous[-600:],
                    "previous_role": previous_role, "labels": labels,
                    "unscored_labels": unscored, "annotator": f"synthetic-{data['writer']}",
                    "note": utt.get("note", ""), "pool": f"synthetic-{data['setting']}",
                    "split": "train", "licence": "MIT",
                })
            previous = " ".join(u["text"] for u in turn["utterances"])
            previous_role = turn["role"]
    return rows


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
    parser.add_argument("--suite", type=Path, default=Path("evaluation/behaviour/suite.jsonl"),
                        help="behavioural-suite items: their words are kept out of train")
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
    consistency = {}
    if (ann / "consistency.jsonl").exists():
        consistency = {r["key"]: r for r in read_jsonl(ann / "consistency.jsonl") if "key" in r}
    rows = []
    for key, item in manifest.items():
        if key not in first or consistency.get(key, {}).get("drop"):
            continue
        label_row = (consistency.get(key) or adjudicated.get(key) or revisions.get(key)
                     or first[key])
        annotator = (
            "consistency" if key in consistency else "adjudicated" if key in adjudicated
            else "A-revised" if key in revisions else "A"
        )
        labels, unscored = split_scored(
            [label for label in LABELS if label in label_row["labels"]], item["role"]
        )
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
            "unscored_labels": unscored,
            "annotator": annotator,
            "note": label_row.get("note") or label_row.get("reason") or first[key].get("note", ""),
            "pool": item["pool"],
        })
    assignment = assign_splits(rows, args.seed, fixed)
    for row in rows:
        row["split"] = assignment[row["encounter_id"]]
        row["licence"] = licence_of(row["encounter_id"])
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
                "unscored_labels": [],
                "annotator": "synthetic", "note": row.get("note", ""), "pool": "synthetic",
                "split": "train", "licence": "MIT",
            })
    rows.extend(synthetic_dialogue_rows(ann.parent / "synthetic" / "dialogues"))
    # the behavioural suite stays out of training: drop train rows that say the same words
    suite_path = args.suite
    if suite_path.exists():
        suite = {normalise(r["text"]) for r in read_jsonl(suite_path)}
        before = len(rows)
        rows = [r for r in rows if r["split"] != "train" or normalise(r["text"]) not in suite]
        print(f"{before - len(rows)} train rows with the words of a behavioural-suite item "
              "dropped")
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
