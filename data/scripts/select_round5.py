"""Round 5: the three counselling sources added to ../shared/data (MIBot, physical-activity
counselling, Counsel Chat).

Each source is read with the project's readers (MIBot JSON, the .xlsx dialogues; Counsel Chat
as a turn table built from its CSV: the question as the client's turn, one therapist's answer as
the reply). Two kinds of items are written for annotators to read:

- ``whole``: every utterance of randomly chosen encounters (all 43 readable physical-activity
  dialogues, 16 MIBot conversations, 60 Counsel Chat answers to 60 different questions). Only
  these encounters may go to the dev and test splits: they keep each source's base rates
  estimable and its test metrics honest.
- ``random5`` and ``model5-<label>``: from the other encounters (train only), a uniform sample
  per source and role, and candidates for each label ranked by the shipped model; for MIBot,
  half of each counsellor quota comes from the counsellor utterances whose model-made
  ``auto_misc_label`` suggests the act (R reflections → EMPATHIC, Q questions → PURSUING,
  MICO affirmations/support → CONFIRMING). Those codes only choose what is read, never a label.

``motivation2.xlsx`` is left out: its Speaker column holds row numbers instead of speaker
codes (an upstream error), so its turns cannot be attributed.

Usage:
    python data/scripts/select_round5.py --model models/compassion-minilm --out data/annotation
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import random
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from select_candidates import write_batches

SOURCES = ("mibot", "physical_activity_counseling", "counsel_chat")
BROKEN = {"physical_activity_counseling/simulated_dialog/motivation2.xlsx"}
WHOLE = {"mibot": 16, "counsel_chat": 60}  # every readable physical-activity dialogue
RANDOM = {("mibot", "clinician"): 100, ("mibot", "patient"): 100,
          ("counsel_chat", "clinician"): 100, ("counsel_chat", "patient"): 50}
# label -> source -> how many candidates to read
QUOTA = {
    "EMPATHIC": {"mibot": 120, "counsel_chat": 100},
    "CONFIRMING": {"mibot": 100, "counsel_chat": 100},
    "PURSUING": {"mibot": 120, "counsel_chat": 100},
    "INCLUSIVE": {"mibot": 40, "counsel_chat": 20},
    "CUE": {"mibot": 120, "counsel_chat": 60},
}
MISC_HINT = {"EMPATHIC": {"R"}, "PURSUING": {"Q"}, "CONFIRMING": {"MICO"}}
RESPONDING = {"EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE"}


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def counsel_chat_encounters(path: Path) -> list:
    """One encounter per answer: the question (client) and one therapist's answer."""
    from compassion_nlp.pipeline import read_string

    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["encounter_id", "speaker", "role", "text"])
    answers: dict[str, int] = defaultdict(int)
    for row in rows:
        qid = row["questionID"].strip()
        answers[qid] += 1
        group = f"q{int(qid):04d}-a{answers[qid]}"
        question = " ".join(p for p in (row["questionTitle"], row["questionText"]) if p.strip())
        writer.writerow([group, "Client", "patient", " ".join(question.split())])
        writer.writerow([group, "Therapist", "clinician", " ".join(row["answerText"].split())])
    encounters = read_string(buffer.getvalue(), format="csv", encounter_id="counsel_chat")
    return [replace(e, id="counsel_chat/" + e.id.split("#", 1)[1], setting="clinical")
            for e in encounters]


def load(shared: Path) -> list:
    """Every encounter of the three sources, ids prefixed with the source folder."""
    from compassion_nlp.pipeline import read_paths

    logging.disable(logging.WARNING)
    root = shared / "transcripts"
    encounters = []
    for name in ("mibot", "physical_activity_counseling"):
        for result in read_paths([root / name]):
            for enc in result.encounters:
                ident = f"{name}/{enc.id}"
                if ident not in BROKEN:
                    encounters.append(replace(enc, id=ident))
    encounters.extend(counsel_chat_encounters(root / "counsel_chat" / "20200325_counsel_chat.csv"))
    return encounters


def mibot_hints(shared: Path, enc) -> dict[tuple[int, int], str]:
    """(turn, utterance) index → the MIBot ``auto_misc_label`` of the JSON utterance holding it."""
    path = shared / "transcripts" / enc.id
    items = json.loads(path.read_text())["utterances"]
    out = {}
    cursor = 0
    for t_i, turn in enumerate(enc.turns):
        for u_i, utt in enumerate(turn.utterances):
            target = _norm(utt.text)
            for j in range(cursor, min(cursor + 6, len(items))):
                if target and target in _norm(items[j]["text"]):
                    out[(t_i, u_i)] = str(items[j].get("auto_misc_label", ""))
                    cursor = j
                    break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/annotation"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=150)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    from compassion_nlp.classifier import LABELS, ClassifierInput, UtteranceClassifier

    rng = random.Random(args.seed)
    encounters = load(args.shared)
    source_of = [e.id.split("/")[0] for e in encounters]
    last_key = last_batch = 0
    for path in sorted(args.out.glob("manifest*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            last_key = max(last_key, int(row["key"][1:]))
            last_batch = max(last_batch, int(row["batch"]))

    # whole encounters (Counsel Chat: answers to different questions)
    whole: set[int] = set()
    by_source: dict[str, list[int]] = defaultdict(list)
    for e_i, source in enumerate(source_of):
        by_source[source].append(e_i)
    whole.update(by_source["physical_activity_counseling"])
    whole.update(rng.sample(by_source["mibot"], WHOLE["mibot"]))
    questions: dict[str, list[int]] = defaultdict(list)
    for e_i in by_source["counsel_chat"]:
        questions[encounters[e_i].id.split("-a")[0]].append(e_i)
    whole_questions = rng.sample(sorted(questions), WHOLE["counsel_chat"])
    whole.update(rng.choice(questions[q]) for q in whole_questions)
    # the other answers to those questions share the question text: kept out entirely
    excluded = {e_i for q in whole_questions for e_i in questions[q]} - whole

    chosen: dict[tuple[int, int, int], str] = {}
    for e_i in sorted(whole):
        for t_i, turn in enumerate(encounters[e_i].turns):
            for u_i in range(len(turn.utterances)):
                chosen[(e_i, t_i, u_i)] = "whole"

    # the rest: candidates (the question of a Counsel Chat answer once per question)
    keys, inputs, groups, hints = [], [], [], []
    seen_questions: set[str] = set()
    for e_i, enc in enumerate(encounters):
        if e_i in whole or e_i in excluded:
            continue
        hint = mibot_hints(args.shared, enc) if source_of[e_i] == "mibot" else {}
        question = enc.id.split("-a")[0]
        previous, previous_role = "", ""
        for t_i, turn in enumerate(enc.turns):
            role = enc.speakers[turn.speaker].role
            skip = source_of[e_i] == "counsel_chat" and role == "patient" and (
                question in seen_questions
            )
            for u_i, utt in enumerate(turn.utterances):
                if not skip and len(utt.text.split()) >= 3:
                    keys.append((e_i, t_i, u_i))
                    inputs.append(ClassifierInput(utt.text, role, previous, previous_role))
                    groups.append((source_of[e_i], role))
                    hints.append(hint.get((t_i, u_i), ""))
            previous, previous_role = turn.text, role
        seen_questions.add(question)
    print(f"{len(chosen)} utterances in {len(whole)} whole encounters; "
          f"{len(inputs)} candidate utterances in the others")

    by_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        by_group[group].append(i)

    def take(indices: list[int], n: int, pool: str) -> int:
        fresh = [i for i in indices if keys[i] not in chosen][:n]
        for i in fresh:
            chosen[keys[i]] = pool
        return len(fresh)

    for group, n in RANDOM.items():
        pool = list(by_group[group])
        rng.shuffle(pool)
        take(pool, n, "random5")

    clf = UtteranceClassifier.from_pretrained(args.model, threads=2)
    probs = clf.predict_proba(inputs)
    for label, quotas in QUOTA.items():
        j = LABELS.index(label)
        roles = {"clinician"} if label in RESPONDING else {"patient"}
        for source, quota in quotas.items():
            eligible = [i for g in ((source, r) for r in roles) for i in by_group[g]]
            ranked = sorted(eligible, key=lambda i: -probs[i, j])
            pool = f"model5-{label.lower()}"
            hinted = [i for i in eligible if hints[i] in MISC_HINT.get(label, ())]
            got = 0
            if hinted:
                rng.shuffle(hinted)
                got += take(hinted, quota // 2, pool)
            got += take(ranked, quota - got, pool)
            print(f"{label} / {source}: {got} candidates")

    write_batches(
        encounters, chosen, args.out, args.batch_size, rng,
        first_batch=last_batch + 1, first_key=last_key + 1, manifest_name="manifest_r5.jsonl",
    )


if __name__ == "__main__":
    main()
