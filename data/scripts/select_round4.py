"""Round 4: the shipped model chooses candidates for staff cues in meetings and the rare labels.

Running the shipped model over all the shared transcripts showed it marks no CUE in any
meeting: the corpus had 19 staff cues among 1,337 meeting-staff utterances. This round reads
the meeting-staff utterances most likely to be cues, and the next candidates for CONFIRMING
and PURSUING. As in round 3, a TF-IDF + logistic-regression model trained on the corpus ranks
every unannotated utterance of the right roles; its shortlist is re-ranked by the model in
``--model`` and the best are written as new batches. Retrieval only decides what is read.

Usage:
    python data/scripts/select_round4.py --model models/compassion-minilm --out data/annotation
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
from select_candidates import write_batches
from select_round3 import take_best, unannotated

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "evaluation" / "classifier"))

# label -> (how many to read, which (setting, role) pairs are eligible)
QUOTA = {
    "CUE": (200, {("meeting", "staff")}),
    "PURSUING": (110, {("clinical", "clinician"), ("meeting", "leader")}),
    "CONFIRMING": (70, {("clinical", "clinician"), ("meeting", "leader")}),
}
SHORTLIST = 2500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/annotation"))
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus.jsonl"))
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=130)
    parser.add_argument("--seed", type=int, default=41)
    args = parser.parse_args()
    from compassion_nlp.classifier import LABELS, UtteranceClassifier

    rng = random.Random(args.seed)
    tfidf, encounters, keys, inputs, last_key, last_batch = unannotated(
        args.corpus, args.shared, args.out
    )
    groups = []
    for e_i, t_i, _ in keys:
        enc = encounters[e_i]
        groups.append((enc.setting, enc.speakers[enc.turns[t_i].speaker].role))
    print(f"{len(inputs)} unannotated utterances ranked by TF-IDF")
    tf_probs = tfidf.predict_proba(inputs)
    clf = UtteranceClassifier.from_pretrained(args.model)
    chosen: dict[tuple[int, int, int], str] = {}
    for label, (quota, eligible) in QUOTA.items():
        j = LABELS.index(label)
        ranked = [i for i in np.argsort(-tf_probs[:, j]) if groups[i] in eligible]
        shortlist = [i for i in ranked[:SHORTLIST] if keys[i] not in chosen]
        pool = f"model4-{label.lower()}"
        taken = take_best(clf, inputs, keys, shortlist, j, quota, pool, chosen)
        print(f"{label}: {taken} chosen from a shortlist of {len(shortlist)}")
    write_batches(
        encounters, chosen, args.out, args.batch_size, rng,
        first_batch=last_batch + 1, first_key=last_key + 1, manifest_name="manifest_r4.jsonl",
    )


if __name__ == "__main__":
    main()
