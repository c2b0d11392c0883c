"""How many staff cues the model marks in real meetings (all QMSum meetings of ../shared/data).

The corpus has few staff cues (data/README.md), so this counts what the model does on every
meeting utterance, not only the annotated ones. Writes ``meeting_cues.json`` beside this file;
`evaluation/report.py` puts the numbers in the model card. About 10 minutes on 2 CPU cores.

Usage:
    python evaluation/classifier/meeting_cues.py [--model models/compassion-minilm]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "meeting_cues.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from compassion_nlp import load

    scorer = load(args.model)
    meetings = utterances = staff = cues = episodes = responded = 0
    top = 0.0
    for scored in scorer.pipe([args.shared / "transcripts" / "qmsum"], errors=[]):
        frame = scored.utterances_df()
        meetings += 1
        utterances += len(frame)
        is_staff = frame["role"] == "staff"
        staff += int(is_staff.sum())
        cues += int((frame["cue"] & is_staff).sum())
        top = max(top, float(frame.loc[is_staff, "p_cue"].max() or 0.0))
        row = scored.encounter_row()
        episodes += int(row["cue_episodes"])
        responded += int(row["cues_responded"])
    result = {
        "model": str(args.model.relative_to(REPO) if args.model.is_relative_to(REPO)
                     else args.model),
        "precision": scorer.classifier.precision,
        "meetings": meetings, "utterances": utterances, "staff_utterances": staff,
        "staff_cues_marked": cues, "cue_episodes": episodes, "cue_episodes_responded": responded,
        "max_staff_p_cue": round(top, 4),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
