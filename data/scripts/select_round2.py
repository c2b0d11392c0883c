"""Round 2: find more candidates for the rare labels by embedding similarity.

The first round (select_candidates.py) found too few PURSUING, CONFIRMING and EMPATHIC
candidates by keywords. Here every unselected responding-role utterance is embedded with
all-MiniLM-L6-v2 and ranked by its cosine similarity to short descriptions and examples of
each label written from the codebook; the top ones are added to new batches for annotators
to read. Retrieval only decides what is read.

Usage:
    python data/scripts/select_round2.py --shared ../shared/data --out data/annotation
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from select_candidates import load, write_batches

SEEDS = {
    "CONFIRMING": [
        "It's completely understandable to feel anxious about this.",
        "Anyone in your position would be worried.",
        "You did exactly the right thing coming in.",
        "That's a really good question.",
        "It makes sense that you'd want a second opinion.",
        "It's perfectly normal to feel that way.",
        "That's a very reasonable concern.",
        "I can understand why you'd be worried about that.",
        "You were right to get it checked out.",
        "No wonder you've been feeling so tired.",
    ],
    "PURSUING": [
        "What worries you most about it?",
        "How has this been affecting you at home?",
        "Tell me more about how you've been feeling.",
        "What were you hoping we could do today?",
        "We'll go through this together.",
        "I'm here to help you with this.",
        "Let's find a plan that works for you.",
        "Is there anything else that's worrying you?",
        "How has your mood been?",
        "How are you coping with all of this?",
        "Did you have any thoughts about what might be causing it?",
        "Were you worried it might be something in particular?",
    ],
    "EMPATHIC": [
        "That sounds really frightening.",
        "I can see this has been wearing you down.",
        "I'm so sorry you've had to go through that.",
        "It must be hard juggling that with work.",
        "You sound exhausted.",
        "I'm sorry to hear that.",
        "That must be really difficult for you.",
        "Oh no, that sounds awful.",
    ],
    "INCLUSIVE": [
        "How do you feel about that plan?",
        "What would you prefer to do?",
        "Would you be happy to try that?",
        "What do you think about that?",
    ],
}
QUOTA = {"CONFIRMING": 330, "PURSUING": 330, "EMPATHIC": 260, "INCLUSIVE": 120}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/annotation"))
    parser.add_argument("--seed", type=int, default=29)
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    from compassion_nlp.training import resolve_base_model

    rng = random.Random(args.seed)
    encounters = load(args.shared)
    index = {enc.id: e_i for e_i, enc in enumerate(encounters)}
    done = set()
    last_key = 0
    last_batch = 0
    for path in sorted(args.out.glob("manifest*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done.add((row["encounter_id"], row["utterance_id"]))
            last_key = max(last_key, int(row["key"][1:]))
            last_batch = max(last_batch, int(row["batch"]))
    keys, texts = [], []
    for e_i, enc in enumerate(encounters):
        if enc.setting != "clinical":
            continue
        for t_i, turn in enumerate(enc.turns):
            if enc.speakers[turn.speaker].role != "clinician":
                continue
            for u_i, utt in enumerate(turn.utterances):
                if (enc.id, utt.id) in done or len(utt.text.split()) < 3:
                    continue
                keys.append((e_i, t_i, u_i))
                texts.append(utt.text)
    model = SentenceTransformer(str(resolve_base_model("minilm")), device="cpu")
    emb = model.encode(texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False)
    chosen: dict[tuple[int, int, int], str] = {}
    for label, seeds in SEEDS.items():
        seed_emb = model.encode(seeds, normalize_embeddings=True)
        sims = (emb @ seed_emb.T).max(axis=1)
        taken = 0
        for i in np.argsort(-sims):
            if keys[i] in chosen:
                continue
            chosen[keys[i]] = f"embed-{label.lower()}"
            taken += 1
            if taken >= QUOTA[label]:
                break
    del index
    write_batches(
        encounters, chosen, args.out, 200, rng,
        first_batch=last_batch + 1, first_key=last_key + 1, manifest_name="manifest_r2.jsonl",
    )


if __name__ == "__main__":
    main()
