"""The unlabelled pool for distillation: every real utterance of the shared transcripts that the
corpus does not hold, as classifier inputs (see compassion_nlp/distill.py).

Read with the project's readers, from the seven transcript sources whose licences allow
training (the ACI-Bench ASR subset and the broken physical-activity file are left out, as in
the corpus). Left out as well, so that no dev or test text reaches a student:

- every encounter in the corpus's dev or test split, every encounter annotated whole (from
  round 5 on, only those can be placed in dev or test), and every Counsel Chat answer to a
  question that one of those encounters answers (they share the question text);
- utterances already in the corpus (by encounter and text);
- single-word back-channels ("Okay.", "Mm-hmm."), which the codebook gives no label.

Usage:
    python data/scripts/unlabelled_pool.py --out /tmp/pool.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import select_candidates
import select_round5


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def question_of(encounter_id: str) -> str:
    """Counsel Chat answers to one question share this key; other encounters are their own."""
    return encounter_id.split("-a")[0] if encounter_id.startswith("counsel_chat/") else (
        encounter_id
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--annotation", type=Path, default=Path("data/annotation"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    corpus = [json.loads(line) for line in args.corpus.read_text().splitlines() if line.strip()]
    held_out = {question_of(r["encounter_id"]) for r in corpus if r["split"] != "train"}
    for path in args.annotation.glob("manifest*.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["pool"] == "whole":
                held_out.add(question_of(row["encounter_id"]))
    annotated = {(r["encounter_id"], _norm(r["text"])) for r in corpus}
    encounters = select_candidates.load(args.shared) + select_round5.load(args.shared)
    kept = skipped_encounters = 0
    with args.out.open("w", encoding="utf-8") as fh:
        for enc in encounters:
            if question_of(enc.id) in held_out:
                skipped_encounters += 1
                continue
            source = enc.id.split("/")[0]
            previous, previous_role = "", ""
            for turn in enc.turns:
                role = enc.speakers[turn.speaker].role
                for utt in turn.utterances:
                    words = utt.text.split()
                    if (len(words) < 2 and not utt.text.endswith("?")) or (
                        enc.id, _norm(utt.text)) in annotated:
                        continue
                    fh.write(json.dumps({
                        "text": utt.text, "role": role, "previous_text": previous[-600:],
                        "previous_role": previous_role, "source": source,
                        "encounter_id": enc.id,
                    }, ensure_ascii=False) + "\n")
                    kept += 1
                previous, previous_role = turn.text, role
    print(f"{kept} utterances from {len(encounters) - skipped_encounters} encounters -> "
          f"{args.out} ({skipped_encounters} dev/test encounters left out)")


if __name__ == "__main__":
    main()
