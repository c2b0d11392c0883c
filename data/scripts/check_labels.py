"""Check an annotation file against its batch: every target labelled once, valid labels.

Usage:
    python data/scripts/check_labels.py data/annotation/labels/batch_001.A.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LABELS = {"EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE"}


def check(path: Path) -> list[str]:
    """Problems found in one label file (empty when it is complete and valid)."""
    m = re.match(r"(batch_s?\d+)\.", path.name)
    if not m:
        return [f"{path.name}: name must be batch_NNN or batch_sNN.<annotator>.jsonl"]
    batch = path.parent.parent / "batches" / f"{m.group(1)}.md"
    if not batch.exists():
        batch = path.parent.parent / "second" / f"{m.group(1)}.md"
    keys = re.findall(r">> \[(i\d{5})\]", batch.read_text())
    problems: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not JSON ({exc.msg})")
            continue
        key = row.get("key")
        if key not in keys:
            problems.append(f"line {n}: key {key!r} is not a target of {batch.name}")
        if key in seen:
            problems.append(f"line {n}: key {key} already labelled on line {seen[key]}")
        seen[key] = n
        labels = row.get("labels")
        if not isinstance(labels, list) or not set(labels) <= LABELS:
            problems.append(f"line {n}: labels must be a list drawn from {sorted(LABELS)}")
        if not isinstance(row.get("note", ""), str):
            problems.append(f"line {n}: note must be a string")
    missing = [k for k in keys if k not in seen]
    if missing:
        problems.append(f"{len(missing)} target(s) not labelled: {', '.join(missing[:20])}")
    return problems


if __name__ == "__main__":
    bad = 0
    for arg in sys.argv[1:]:
        problems = check(Path(arg))
        print(f"{arg}: {'OK' if not problems else str(len(problems)) + ' problem(s)'}")
        for p in problems:
            print("  " + p)
        bad += bool(problems)
    sys.exit(1 if bad else 0)
