"""Choose which real utterances to annotate, and write annotation batches.

Retrieval only decides what annotators READ; labels come from reading (see data/README.md).
Pools (each sampled with a fixed seed):

- random: utterances drawn uniformly per corpus and role, so that label rates stay honest;
- cue: patient/staff utterances that mention a feeling, worry or hardship (keyword retrieval);
- response: the next two responding-role utterances after each cue candidate;
- clinician: clinician utterances with empathy/validation/exploration/support wording;
- leader: meeting-leader utterances with invitation/appreciation wording;
- plus hard negatives that the same keywords pull in (courtesy "sorry", history questions).

Usage:
    python data/scripts/select_candidates.py --shared ../shared/data --out data/annotation
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
from collections import defaultdict
from pathlib import Path

from compassion_nlp.pipeline import read_paths

CUE_WORDS = re.compile(
    r"\b(worr|scar|afraid|fright|anxi|nervous|stress|upset|depress|down\b|low\b|cope|coping|"
    r"struggl|difficult|hard\b|tough|frustrat|annoy|angry|embarrass|ashamed|lonel|alone|cry|"
    r"crying|tears|died|passed away|death|funeral|divorce|lost my|job|money|can'?t sleep|"
    r"not sleeping|exhaust|tired|nightmare|terrible|awful|horrible|concern|panic|overwhelm|"
    r"fed up|sick of|miserable|hopeless|pressure|burden|burn ?out|too much|not safe|"
    r"understaff|stretched|unfair|disappoint|fear|dread|guilt|sad|grief|bereave|"
    r"can'?t (?:do|walk|work|cope|manage)|stopped me|affect(?:ing|ed)? my|mood|unhappy|"
    r"problem for me|bother(?:s|ing)? me|killing me|drives me|getting me)",
    re.IGNORECASE,
)
CLINICIAN_WORDS = re.compile(
    r"\b(sorry|must be|sounds (?:like|really|very|quite|so|difficult|hard|tough|awful|"
    r"frightening|stressful|worrying|scary|horrible|terrible|painful)|understand|"
    r"understandable|makes sense|make sense|normal|natural|right thing|good question|"
    r"fair enough|not surprising|no wonder|can imagine|i can see|i hear you|"
    r"how (?:are|have) you (?:been )?(?:feeling|coping|managing|doing with)|affect|impact|"
    r"anything else|concern|worr|together|support|i'?m here|help you|how do you feel|"
    r"how are you feeling|would you (?:be happy|like|prefer)|what do you think|"
    r"does that sound|how does that sound|your thoughts|what would you|mood|stress|"
    r"tell me more|bless|poor you|that'?s (?:tough|hard|awful|rough|horrible)|glad|"
    r"well done|reassur|don'?t worry|we'?ll|let'?s|plan|prefer|happy with|"
    r"what matters|expect|hoping|frighten|scary|upset|emotional|difficult)",
    re.IGNORECASE,
)
LEADER_WORDS = re.compile(
    r"\b(what do you (?:all |guys )?think|thoughts|ideas?|opinion|views?|anyone|anybody|"
    r"any (?:comments|questions|other)|thank|thanks|good (?:point|idea|catch|question)|"
    r"great (?:point|idea|work|job)|interesting|helpful|valuable|agree|would you like to|"
    r"do you want to|what'?s your|how about you|your (?:view|experience|perspective)|"
    r"hear from|input|suggest|feel about|concern|worr|what would you|do you have any|"
    r"appreciate|well done|nice|excellent|brilliant|welcome)",
    re.IGNORECASE,
)
EXCLUDED_DATASETS = {"aci"}  # ACI-Bench ASR subset: swapped speaker tags, no punctuation


def corpus_of(encounter_id: str) -> str:
    """The corpus an encounter comes from, by its path."""
    return encounter_id.split("/")[0]


def load(shared: Path) -> list:
    """Every encounter of the four CC BY / MIT corpora (ACI-Bench ASR subset excluded)."""
    logging.disable(logging.WARNING)
    roots = [shared / "transcripts" / c for c in ("primock57", "aci_bench", "mts_dialog", "qmsum")]
    encounters = []
    for root in roots:
        for result in read_paths([root]):
            for enc in result.encounters:
                enc = enc.__class__(
                    id=f"{root.name}/{enc.id}", setting=enc.setting, speakers=enc.speakers,
                    turns=enc.turns, metadata=enc.metadata,
                )
                cols = enc.metadata.get("columns") or {}
                if isinstance(cols, dict) and cols.get("dataset") in EXCLUDED_DATASETS:
                    continue
                encounters.append(enc)
    return encounters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/annotation"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    encounters = load(args.shared)

    # every utterance with its position
    items = []  # (enc_index, turn_index, utt_index)
    by_group: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for e_i, enc in enumerate(encounters):
        for t_i, turn in enumerate(enc.turns):
            role = enc.speakers[turn.speaker].role
            for u_i, utt in enumerate(turn.utterances):
                if len(utt.text.split()) < 2 and not utt.text.endswith("?"):
                    continue  # single-word back-channels are labelled 'none' by rule
                key = (e_i, t_i, u_i)
                items.append(key)
                by_group[(corpus_of(enc.id), role)].append(key)

    def text(key: tuple[int, int, int]) -> str:
        e_i, t_i, u_i = key
        return encounters[e_i].turns[t_i].utterances[u_i].text

    chosen: dict[tuple[int, int, int], str] = {}

    def take(keys: list, n: int, pool: str) -> None:
        keys = [k for k in keys if k not in chosen]
        for key in rng.sample(keys, min(n, len(keys))):
            chosen[key] = pool

    random_quota = {
        ("primock57", "clinician"): 260, ("primock57", "patient"): 200,
        ("aci_bench", "clinician"): 180, ("aci_bench", "patient"): 120,
        ("mts_dialog", "clinician"): 220, ("mts_dialog", "patient"): 180,
        ("qmsum", "leader"): 330, ("qmsum", "staff"): 330,
    }
    for group, n in random_quota.items():
        take(by_group[group], n, "random")

    clinical_expr = [k for g, ks in by_group.items() if g[1] == "patient" for k in ks]
    cue_cands = [k for k in clinical_expr if CUE_WORDS.search(text(k))]
    print(f"cue candidates: {len(cue_cands)} clinical")
    take(cue_cands, 1300, "cue")
    staff_cands = [k for k in by_group[("qmsum", "staff")] if CUE_WORDS.search(text(k))]
    take(staff_cands, 450, "cue")

    # responses: the next two responding-role utterances after each cue candidate
    responses = []
    for key, pool in list(chosen.items()):
        if pool != "cue":
            continue
        e_i, t_i, _ = key
        enc = encounters[e_i]
        found = 0
        for t_j in range(t_i + 1, min(t_i + 4, len(enc.turns))):
            turn = enc.turns[t_j]
            if enc.speakers[turn.speaker].role not in ("clinician", "leader"):
                continue
            for u_j in range(len(turn.utterances)):
                if found < 2:
                    responses.append((e_i, t_j, u_j))
                    found += 1
    eligible = set(items)
    take([k for k in responses if k in eligible], 1100, "response")

    clinician = [k for g, ks in by_group.items() if g[1] == "clinician" for k in ks]
    take([k for k in clinician if CLINICIAN_WORDS.search(text(k))], 1300, "clinician")
    leader = by_group[("qmsum", "leader")]
    take([k for k in leader if LEADER_WORDS.search(text(k))], 1000, "leader")

    write_batches(encounters, chosen, args.out, args.batch_size, rng)


def _context_lines(enc, t_i: int, targets: set[int], key_of: dict) -> list[str]:
    lines = []
    turn = enc.turns[t_i]
    spk = enc.speakers[turn.speaker]
    lines.append(f"T{turn.id} {spk.name} ({spk.role}):")
    utts = turn.utterances
    if targets:
        lo = max(0, min(targets) - 3)
        hi = min(len(utts), max(targets) + 2)
    else:
        lo, hi = max(0, len(utts) - 3), len(utts)
    if lo > 0:
        lines.append("    …")
    for u_i in range(lo, hi):
        u = utts[u_i]
        if u_i in targets:
            lines.append(f"  >> [{key_of[(u_i)]}] {u.text}")
        else:
            lines.append(f"     {u.text}")
    if hi < len(utts):
        lines.append("    …")
    return lines


def write_batches(
    encounters, chosen, out: Path, batch_size: int, rng: random.Random, *,
    first_batch: int = 1, first_key: int = 1, manifest_name: str = "manifest.jsonl",
) -> None:
    """Group chosen utterances by encounter into batches of about ``batch_size`` targets."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "batches").mkdir(exist_ok=True)
    by_enc: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (e_i, t_i, u_i) in chosen:
        by_enc[e_i].append((t_i, u_i))
    order = list(by_enc)
    rng.shuffle(order)
    batches: list[list[int]] = [[]]
    sizes = [0]
    for e_i in order:
        if sizes[-1] >= batch_size:
            batches.append([])
            sizes.append(0)
        batches[-1].append(e_i)
        sizes[-1] += len(by_enc[e_i])
    manifest = []
    counter = first_key - 1
    for b_i, enc_ids in enumerate(batches, first_batch):
        lines: list[str] = []
        for e_i in enc_ids:
            enc = encounters[e_i]
            targets_by_turn: dict[int, set[int]] = defaultdict(set)
            for t_i, u_i in by_enc[e_i]:
                targets_by_turn[t_i].add(u_i)
            lines.append(f"\n=== ENCOUNTER {enc.id} ({enc.setting}) ===")
            shown: set[int] = set()
            for t_i in sorted(targets_by_turn):
                start = max(0, t_i - 2)
                if shown and start > max(shown) + 1:
                    lines.append("  [...]")
                for t_j in range(start, t_i + 1):
                    if t_j in shown:
                        continue
                    shown.add(t_j)
                    key_of = {}
                    for u_i in sorted(targets_by_turn.get(t_j, ())):
                        counter += 1
                        k = f"i{counter:05d}"
                        key_of[u_i] = k
                        turn = enc.turns[t_j]
                        utt = turn.utterances[u_i]
                        spk = enc.speakers[turn.speaker]
                        prev = [t.id for t in enc.turns[max(0, t_j - 2):t_j]]
                        manifest.append({
                            "key": k, "batch": b_i, "pool": chosen[(e_i, t_j, u_i)],
                            "encounter_id": enc.id, "setting": enc.setting,
                            "turn_id": turn.id, "utterance_id": utt.id,
                            "speaker": spk.name, "role": spk.role, "text": utt.text,
                            "context_turn_ids": prev,
                            "previous_turn": enc.turns[t_j - 1].text[-600:] if t_j else "",
                            "previous_role": enc.speakers[enc.turns[t_j - 1].speaker].role
                            if t_j else "",
                        })
                    lines.extend(_context_lines(enc, t_j, targets_by_turn.get(t_j, set()), key_of))
        (out / "batches" / f"batch_{b_i:03d}.md").write_text("\n".join(lines) + "\n")
    with (out / manifest_name).open("w") as fh:
        for row in manifest:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    pools = defaultdict(int)
    for row in manifest:
        pools[row["pool"]] += 1
    print(f"{len(manifest)} targets, {len(batches)} batches, "
          f"{len({r['encounter_id'] for r in manifest})} encounters; pools: {dict(pools)}")


if __name__ == "__main__":
    main()
