"""Blind re-annotation of the synthetic dialogues: choose the sample and strip its labels.

Two conversations per setting (different intended skill levels where possible, fixed seed) are
copied to ``data/synthetic/reannotation/items/`` without labels or notes, with an id for every
utterance (``t3.u2``). An annotator who has not seen the originals labels them from the text
alone into ``data/synthetic/reannotation/labels/<id>.B.jsonl`` (one line per utterance:
``{"utterance_id", "labels", "note"}``); ``agreement.py`` compares them with the writers'
labels.

Usage:
    python data/scripts/synthetic_blind.py [--per-setting 2]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

HEADER = ("id", "setting", "kind", "speech")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogues", type=Path, default=Path("data/synthetic/dialogues"))
    parser.add_argument("--out", type=Path, default=Path("data/synthetic/reannotation"))
    parser.add_argument("--per-setting", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--settings", nargs="*", help="only these settings (default: all)")
    args = parser.parse_args()
    by_setting: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(args.dialogues.rglob("*.json")):
        if args.settings and path.parent.name not in args.settings:
            continue
        by_setting[path.parent.name].append(json.loads(path.read_text(encoding="utf-8")))
    items = args.out / "items"
    items.mkdir(parents=True, exist_ok=True)
    chosen = []
    for setting in sorted(by_setting):
        conversations = by_setting[setting][:]
        random.Random(f"{args.seed}-{setting}").shuffle(conversations)  # per setting: stable
        skills: set[str] = set()
        picked = []
        for conv in conversations:  # first pass: a new skill level each time
            if len(picked) < args.per_setting and conv["clinician_skill"] not in skills:
                picked.append(conv)
                skills.add(conv["clinician_skill"])
        for conv in conversations:
            if len(picked) < args.per_setting and conv not in picked:
                picked.append(conv)
        for conv in picked:
            stripped = {k: conv[k] for k in HEADER}
            stripped["turns"] = [
                {"speaker": turn["speaker"], "role": turn["role"], "utterances": [
                    {"utterance_id": f"t{t}.u{u}", "text": utt["text"]}
                    for u, utt in enumerate(turn["utterances"], 1)
                ]}
                for t, turn in enumerate(conv["turns"], 1)
            ]
            (items / f"{conv['id']}.json").write_text(
                json.dumps(stripped, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            chosen.append(conv["id"])
    total = sum(len(v) for v in by_setting.values())
    print(f"{len(chosen)} of {total} conversations ({100 * len(chosen) / total:.0f} %) "
          f"-> {items}")


if __name__ == "__main__":
    main()
