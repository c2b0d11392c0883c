"""Check the synthetic dialogues (data/synthetic/dialogues/) and count their labels.

Each file is one conversation (format in data/synthetic/WRITING.md). Reports every problem with
the file and turn, and prints label counts per setting.

Usage:
    python data/scripts/check_synthetic.py data/synthetic/dialogues [--quiet]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

LABELS = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")
ROLES = {"clinician", "patient", "leader", "staff", "other"}
KINDS = {"clinical", "meeting"}
SKILLS = {"excellent", "average", "hurried", "dismissive"}
STYLES = {"reticent", "angry", "anxious", "hinting", "talkative", "matter-of-fact"}
SPEECH = {"clean", "disfluent", "asr"}
HEADER = ("id", "setting", "kind", "writer", "persona", "clinician_skill", "patient_style",
          "speech", "turns")
MIN_TURNS, MAX_TURNS = 20, 80


def normalise(text: str) -> str:
    """Lowercase words only: the key used to find repeated utterances."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def check_file(path: Path) -> tuple[list[str], dict]:
    """Problems in one conversation file, and the parsed conversation (``{}`` if unreadable)."""
    where = path.as_posix()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"{where}: not valid UTF-8 JSON ({exc})"], {}
    if not isinstance(data, dict):
        return [f"{where}: the top level must be an object"], {}
    problems = [f"{where}: missing key {k!r}" for k in HEADER if k not in data]
    if problems:
        return problems, {}
    if data["id"] != path.stem:
        problems.append(f"{where}: id {data['id']!r} differs from the file name")
    if data["setting"] != path.parent.name:
        problems.append(f"{where}: setting {data['setting']!r} differs from the folder name")
    for key, allowed in (("kind", KINDS), ("clinician_skill", SKILLS),
                         ("patient_style", STYLES), ("speech", SPEECH)):
        if data[key] not in allowed:
            problems.append(f"{where}: {key} must be one of {sorted(allowed)}")
    turns = data["turns"]
    if not isinstance(turns, list) or not MIN_TURNS <= len(turns) <= MAX_TURNS:
        n = len(turns) if isinstance(turns, list) else "?"
        problems.append(f"{where}: {n} turns; write {MIN_TURNS} to {MAX_TURNS}")
        if not isinstance(turns, list):
            return problems, {}
    previous_speaker = None
    for t, turn in enumerate(turns, 1):
        at = f"{where}: turn {t}"
        if not isinstance(turn, dict) or not {"speaker", "role", "utterances"} <= set(turn):
            problems.append(f"{at}: needs speaker, role and utterances")
            continue
        if turn["role"] not in ROLES:
            problems.append(f"{at}: role {turn['role']!r} is not one of {sorted(ROLES)}")
        if turn["speaker"] == previous_speaker:
            problems.append(f"{at}: the same speaker as the turn before (merge the two turns)")
        previous_speaker = turn["speaker"]
        utterances = turn["utterances"]
        if not isinstance(utterances, list) or not utterances:
            problems.append(f"{at}: utterances must be a non-empty list")
            continue
        for u, utt in enumerate(utterances, 1):
            if not isinstance(utt, dict) or not isinstance(utt.get("text"), str):
                problems.append(f"{at}, utterance {u}: needs a text")
                continue
            if not utt["text"].strip():
                problems.append(f"{at}, utterance {u}: empty text")
            labels = utt.get("labels")
            if not isinstance(labels, list) or not set(labels) <= set(LABELS):
                problems.append(f"{at}, utterance {u}: labels must be a list drawn from {LABELS}")
            elif len(set(labels)) != len(labels):
                problems.append(f"{at}, utterance {u}: a label is repeated")
            if data["speech"] == "asr" and re.search(r"[A-Z.?!,;]", utt["text"]):
                problems.append(f"{at}, utterance {u}: asr speech has no capitals or punctuation")
    return problems, data


def iter_utterances(data: dict):
    """(turn index, turn, utterance) for every utterance of a parsed conversation."""
    for t, turn in enumerate(data.get("turns", []), 1):
        for utt in turn.get("utterances", []):
            yield t, turn, utt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quiet", action="store_true", help="print problems only")
    args = parser.parse_args(argv)
    files = sorted(args.folder.rglob("*.json"))
    problems: list[str] = []
    counts: dict[str, Counter] = defaultdict(Counter)
    seen: dict[str, str] = {}
    repeated = 0
    for path in files:
        found, data = check_file(path)
        problems.extend(found)
        if not data:
            continue
        setting = data["setting"]
        counts[setting]["conversations"] += 1
        counts[setting]["turns"] += len(data["turns"])
        for _, _turn, utt in iter_utterances(data):
            counts[setting]["utterances"] += 1
            for label in utt.get("labels") or []:
                counts[setting][label] += 1
            key = normalise(utt.get("text", ""))
            if len(key.split()) >= 8:  # long sentences repeated across files read as copies
                if key in seen and seen[key] != path.name:
                    repeated += 1
                seen.setdefault(key, path.name)
    for p in problems:
        print(p)
    if not args.quiet:
        header = ["setting", "conversations", "turns", "utterances", *LABELS]
        print("\t".join(header))
        total: Counter = Counter()
        for setting in sorted(counts):
            total.update(counts[setting])
            print("\t".join([setting, *(str(counts[setting][h]) for h in header[1:])]))
        print("\t".join(["TOTAL", *(str(total[h]) for h in header[1:])]))
        print(f"{len(files)} files, {len(problems)} problem(s), "
              f"{repeated} long sentence(s) repeated from another file")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
