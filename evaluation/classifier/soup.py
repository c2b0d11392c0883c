"""Round 6: a weight average ("model soup") of the shipped model and the ``minilm`` arm.

The shipped model (the ``distilled`` arm) and the ``minilm`` arm start from the same encoder
(all-MiniLM-L6-v2) and differ on the real test split label by label (EMPATHIC F1 0.62 against
0.71; PURSUING 0.63 against 0.59): averaging their weights makes one model of the same size and
speed. Fixed before the run:

- candidates: ``alpha · shipped + (1 − alpha) · minilm`` for each alpha in ``ALPHAS``, every
  weight averaged; Platt calibration and thresholds fitted on dev, as training does;
- rule: the alpha with the best dev macro-F1; the soup replaces the shipped model only if that
  is higher than the shipped model's own dev macro-F1 (recorded in its ``compassion.json``);
  the test split, its sources and the behavioural suite are reported, never used to choose.

Writes ``runs/soup.json`` (``generalisation.py report`` shows it) and the chosen soup's model
folder into ``--out``. About 6 minutes on 2 cores, after the ``minilm`` arm is trained
(``generalisation.py train minilm --work WORK``, about 35 minutes).

Usage:
    python evaluation/classifier/soup.py --minilm WORK/minilm --out WORK/soup
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import datasets

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from generalisation import RUNS, behaviour, evaluate_split  # noqa: E402

from compassion_nlp.classifier import UtteranceClassifier  # noqa: E402
from compassion_nlp.training import calibrate_on_dev, load_corpus, to_inputs  # noqa: E402

#: the shipped model's share of every weight
ALPHAS = (0.25, 0.5, 0.75)


def soup(first: UtteranceClassifier, second: UtteranceClassifier,
         alpha: float) -> UtteranceClassifier:
    """``first`` with every floating-point weight replaced by ``alpha · first + (1 − alpha) ·
    second`` (the two must have the same architecture); calibration and thresholds are left
    to :func:`~compassion_nlp.training.calibrate_on_dev`."""
    import torch

    a, b = first.model.state_dict(), second.model.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError("the two models differ in architecture")
    with torch.no_grad():
        mixed = {k: alpha * v + (1 - alpha) * b[k] if v.is_floating_point() else v
                 for k, v in a.items()}
    first.model.load_state_dict(mixed)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shipped", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--minilm", type=Path, required=True, help="the minilm arm's folder")
    parser.add_argument("--out", type=Path, required=True, help="the chosen soup's folder")
    parser.add_argument("--results", type=Path, default=RUNS / "soup.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    datasets.disable_progress_bars()
    corpus = load_corpus(str(REPO / "data" / "corpus.jsonl"))

    def load(folder: Path) -> UtteranceClassifier:
        return UtteranceClassifier.from_pretrained(folder, precision="float32", threads=2)

    shipped_dev = json.loads((args.shipped / "compassion.json").read_text())["metrics"]["dev"]
    minilm = load(args.minilm)
    dev_inputs, dev_targets = to_inputs(corpus["dev"])
    candidates, dev = {}, {}
    for alpha in ALPHAS:
        candidates[alpha] = soup(load(args.shipped), minilm, alpha)
        dev[alpha] = calibrate_on_dev(candidates[alpha], dev_inputs, dev_targets, "f1_best")
    alpha = max(ALPHAS, key=lambda a: dev[a]["macro_f1"])
    chosen = candidates[alpha]
    chosen.config.training = {**chosen.config.training,
                              "soup": {"shipped": str(args.shipped), "minilm": str(args.minilm),
                                       "alpha": alpha}}
    chosen.config.metrics = {"dev": dev[alpha]}
    chosen.save_pretrained(args.out)
    soupy = load(args.out)  # as saved (float16 weights), as a user would load it
    result = {
        "name": "soup",
        "alphas": list(ALPHAS),
        "dev_macro_f1": {str(a): dev[a]["macro_f1"] for a in ALPHAS},
        "alpha": alpha,
        "shipped_dev_macro_f1": shipped_dev["macro_f1"],
        "minilm_dev_macro_f1": json.loads((args.minilm / "compassion.json").read_text())
        ["metrics"]["dev"]["macro_f1"],
        "wins_rule": dev[alpha]["macro_f1"] > shipped_dev["macro_f1"],
        "dev": dev[alpha],
        "test": evaluate_split(soupy, corpus["test"]),
        "behaviour": behaviour(soupy),
        "minilm": {"test": evaluate_split(minilm, corpus["test"]), "behaviour": behaviour(minilm)},
    }
    args.results.parent.mkdir(exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("dev_macro_f1", "alpha", "shipped_dev_macro_f1",
                                             "minilm_dev_macro_f1", "wins_rule")}
                     | {"test_macro_f1": result["test"]["pooled"]["macro_f1"],
                        "suite": result["behaviour"]["exact_match"]}, indent=1))


if __name__ == "__main__":
    main()
