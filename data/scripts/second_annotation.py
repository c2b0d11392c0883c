"""Draw the sample for the second, independent annotation and write its batches.

The sample is enriched with positives so that agreement on the rare labels can be measured:
up to 65 items per label of the first annotation (all of them for rarer labels), plus 400
items the first annotator left unlabelled (half from the random pool, half from the keyword
and embedding pools, i.e. hard negatives). The second annotator sees the same context and the
same keys, never the first labels.

Usage:
    python data/scripts/second_annotation.py
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from assemble import LABELS, load_labels, load_manifest, read_jsonl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--seed", type=int, default=41)
    parser.add_argument("--per-label", type=int, default=65)
    parser.add_argument("--negatives", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=170)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ann = args.annotation
    manifest = load_manifest(ann)
    first = load_labels(ann / "labels", "A")
    revisions = {}
    if (ann / "revisions.jsonl").exists():
        revisions = {r["key"]: r for r in read_jsonl(ann / "revisions.jsonl")}
    final = {k: (revisions.get(k) or v)["labels"] for k, v in first.items()}
    keys = sorted(final)
    chosen: set[str] = set()
    for label in LABELS:
        pos = [k for k in keys if label in final[k] and k not in chosen]
        chosen.update(rng.sample(pos, min(args.per_label, len(pos))))
    negatives = [k for k in keys if not final[k] and k not in chosen]
    rand = [k for k in negatives if manifest[k]["pool"] == "random"]
    hard = [k for k in negatives if manifest[k]["pool"] != "random"]
    chosen.update(rng.sample(rand, args.negatives // 2))
    chosen.update(rng.sample(hard, args.negatives - args.negatives // 2))

    # the same context the first annotator saw: the encounter sections of the first batches,
    # with only the sampled targets still marked
    sections: list[tuple[str, list[str]]] = []
    for path in sorted((ann / "batches").glob("batch_*.md")):
        for block in path.read_text().split("\n=== ENCOUNTER ")[1:]:
            header, *body = block.split("\n")
            marked = [k for k in re.findall(r">> \[(i\d{5})\]", block) if k in chosen]
            if not marked:
                continue
            lines = []
            for line in body:
                m = re.match(r"  >> \[(i\d{5})\] (.*)$", line)
                if m and m.group(1) not in chosen:
                    line = "     " + m.group(2)
                lines.append(line)
            sections.append((f"\n=== ENCOUNTER {header}", lines, len(marked)))
    rng.shuffle(sections)
    out = ann / "second"
    out.mkdir(exist_ok=True)
    batch, text, size, written = 1, [], 0, 0
    for header, lines, n in sections:
        text.append(header)
        text.extend(lines)
        size += n
        if size >= args.batch_size:
            (out / f"batch_s{batch:02d}.md").write_text("\n".join(text).rstrip() + "\n")
            written += size
            batch, text, size = batch + 1, [], 0
    if text:
        (out / f"batch_s{batch:02d}.md").write_text("\n".join(text).rstrip() + "\n")
        written += size
    (out / "sample.json").write_text(json.dumps(sorted(chosen)) + "\n")
    print(f"{written} items in {batch} batches -> {out}")


if __name__ == "__main__":
    main()
