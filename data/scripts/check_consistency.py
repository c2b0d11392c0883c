"""Find inconsistencies in the assembled corpus; exit 1 while any is unresolved.

Checks (real rows; synthetic rows are checked by check_synthetic.py):

- ``duplicate``: one utterance annotated twice under two keys: selected in different rounds
  (manifests), in the same encounter and turn, and one text equal to or contained in the
  other (a segmentation change between rounds let a later round select it again). Within one
  round every utterance is selected once, so equal texts there are repeated words.
  Resolved by a ``drop`` entry for all but one of them in ``annotation/consistency.jsonl``.
- ``conflict``: the same words (lowercased, punctuation removed) said by the same kind of role
  (responding: clinician/leader; expressing: patient/staff) with different labels. Resolved by
  relabelling entries, or by a ``context`` entry naming the keys when the context really
  decides (e.g. "That's understandable." after a cue or after a fact).
- ``unscored``: labels on roles for which they are not scored (EMPATHIC…INCLUSIVE on a patient,
  staff or unknown speaker; CUE on a clinician or leader). Resolved by rule: ``assemble.py``
  keeps them in ``unscored_labels``, out of training and evaluation. Reported, not failed.
- ``similar`` (review list, not failed): short utterances of the same kind of role whose wording
  is nearly the same (character n-gram cosine ≥ ``--similar``) but whose labels differ.

``annotation/consistency.jsonl`` rows: ``{"key", "labels", "reason"}`` (relabel),
``{"key", "drop": true, "reason"}`` (a duplicate) or ``{"keys": [...], "context": true,
"reason"}`` (different labels that the context justifies).

Usage:
    python data/scripts/check_consistency.py [--corpus data/corpus.jsonl] [--review N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

LABELS = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")
#: the labels scored for each role (the codebook's "Roles" section)
SCORED: dict[str, set[str]] = {
    "clinician": {"EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE"},
    "leader": {"EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE"},
    "patient": {"CUE"},
    "staff": {"CUE"},
}
GROUP = {"clinician": "responding", "leader": "responding", "patient": "expressing",
         "staff": "expressing"}


def normalise(text: str) -> str:
    """Lowercase words: the key under which the same phrasing is compared."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def split_scored(labels: list[str], role: str) -> tuple[list[str], list[str]]:
    """(labels scored for this role, labels on it that are not scored)."""
    scored = SCORED.get(role, set())
    return [x for x in labels if x in scored], [x for x in labels if x not in scored]


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON Lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def duplicates(rows: list[dict], round_of: dict[str, str]) -> list[list[dict]]:
    """Groups of rows that are one utterance annotated more than once (in different rounds:
    ``round_of`` maps a key to its manifest)."""
    by_turn: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in rows:
        by_turn[(row["encounter_id"], row["turn_id"])].append(row)
    groups = []
    for turn_rows in by_turn.values():
        if len(turn_rows) < 2:
            continue
        parent = {r["key"]: r["key"] for r in turn_rows}

        def find(k: str, parent: dict[str, str] = parent) -> str:
            while parent[k] != k:
                k = parent[k]
            return k

        for i, a in enumerate(turn_rows):
            na = normalise(a["text"])
            for b in turn_rows[i + 1:]:
                if round_of.get(a["key"]) == round_of.get(b["key"]):
                    continue
                nb = normalise(b["text"])
                short, long = sorted((na, nb), key=len)
                if short and (short == long or (len(short.split()) >= 3 and short in long)):
                    parent[find(a["key"])] = find(b["key"])
        members: dict[str, list[dict]] = defaultdict(list)
        for r in turn_rows:
            members[find(r["key"])].append(r)
        groups.extend(g for g in members.values() if len(g) > 1)
    return groups


def conflicts(rows: list[dict], context_sets: list[set[str]]) -> list[list[dict]]:
    """Groups of rows with the same phrasing and role kind but different scored labels."""
    by_text: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        group = GROUP.get(row["role"])
        text = normalise(row["text"])
        if group and text:
            by_text[(group, text)].append(row)
    out = []
    for group_rows in by_text.values():
        variants = {tuple(row["labels"]) for row in group_rows}
        if len(variants) < 2:
            continue
        keys = {r["key"] for r in group_rows}
        if any(keys <= allowed for allowed in context_sets):
            continue
        out.append(group_rows)
    return out


def similar(rows: list[dict], threshold: float, limit: int) -> list[tuple[float, dict, dict]]:
    """Pairs of short, nearly identical utterances of one role kind with different labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    candidates = [r for r in rows if GROUP.get(r["role"]) and 2 <= len(r["text"].split()) <= 15]
    if len(candidates) < 2:
        return []
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1).fit_transform(
        [normalise(r["text"]) for r in candidates]
    )
    neighbours = NearestNeighbors(n_neighbors=min(6, len(candidates)), metric="cosine")
    distances, indices = neighbours.fit(vectors).kneighbors(vectors)
    pairs, seen = [], set()
    for i, (dist_row, idx_row) in enumerate(zip(distances, indices, strict=True)):
        for dist, j in zip(dist_row[1:], idx_row[1:], strict=True):
            a, b = candidates[i], candidates[j]
            pair = tuple(sorted((a["key"], b["key"])))
            score = 1.0 - float(dist)
            if (score >= threshold and pair not in seen and GROUP[a["role"]] == GROUP[b["role"]]
                    and a["labels"] != b["labels"]
                    and normalise(a["text"]) != normalise(b["text"])):
                seen.add(pair)
                pairs.append((score, a, b))
    pairs.sort(key=lambda p: -p[0])
    return pairs[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--similar", type=float, default=0.8)
    parser.add_argument("--review", type=int, default=40, help="similar pairs to list")
    args = parser.parse_args(argv)
    rows = [r for r in read_jsonl(args.corpus) if r["source"] != "synthetic"]
    resolved = args.annotation / "consistency.jsonl"
    resolutions = read_jsonl(resolved) if resolved.exists() else []
    round_of = {row["key"]: path.name for path in sorted(args.annotation.glob("manifest*.jsonl"))
                for row in read_jsonl(path)}
    context_sets = [set(r["keys"]) for r in resolutions if r.get("context")]

    def show(row: dict) -> str:
        extra = f" (+unscored {row['unscored_labels']})" if row.get("unscored_labels") else ""
        return (f"{row['key']} [{row['split']}] {row['role']}: {row['text'][:90]!r} -> "
                f"{row['labels']}{extra}")

    dups = duplicates(rows, round_of)
    found = conflicts(rows, context_sets)
    unscored = [r for r in rows if r.get("unscored_labels") or split_scored(r["labels"],
                                                                              r["role"])[1]]
    print(f"duplicate: {len(dups)} utterance(s) annotated more than once")
    for group in dups:
        for row in group:
            print("  " + show(row))
        print()
    print(f"conflict: {len(found)} phrasing(s) labelled differently")
    for group in found:
        for row in group:
            print("  " + show(row))
        print()
    print(f"unscored: {len(unscored)} row(s) with labels their role is not scored for "
          "(kept in unscored_labels by assemble.py)")
    pairs = similar(rows, args.similar, args.review)
    print(f"similar (review): {len(pairs)} pair(s) listed")
    for score, a, b in pairs:
        print(f"  {score:.2f}\n    {show(a)}\n    {show(b)}")
    return 1 if dups or found else 0


if __name__ == "__main__":
    sys.exit(main())
