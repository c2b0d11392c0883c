"""Cross-domain, zero-shot validity: the shipped model on two corpora it was not trained on.

The shipped classifier (``models/compassion-minilm``) is run, unchanged and at its own
thresholds (``decide``), on the supporter / counsellor utterances of two public corpora whose
strategy codes partly overlap with our labels (``/work/shared/codebook.md``):

(a) **ESConv** (Liu et al., ACL 2021), the test split (195 dialogues, JSON lines): each
    supporter turn carries one strategy. Mapping: ``Reflection of feelings`` → EMPATHIC,
    ``Question`` → PURSUING, ``Affirmation and Reassurance`` → CONFIRMING. Each supporter message
    is one input of role ``clinician`` with the seeker's previous turn (consecutive seeker
    messages merged, as :func:`compassion_nlp.scoring.classifier_inputs` merges a speaker's
    fragments into a turn) as context of role ``patient``; consecutive supporter messages share
    that context, a supporter message before any seeker turn has none.
(b) **MI gold test** (Welivita & Pu, Findings of ACL 2023; 1,681 counsellor sentences coded
    with MITI-style behaviours, no context in the file): ``Open Question`` → PURSUING,
    ``Affirm`` → CONFIRMING, ``Support`` and ``Complex Reflection`` → EMPATHIC. Role
    ``clinician``, no previous turn.

For each dataset and mapped label: precision, recall and F1 with 95 % percentile bootstrap
intervals (1,000 resamples, seed 13; ESConv resamples dialogues, MI gold sentences), support,
base rate, the rate at which the model gives the label, Cohen's κ and average precision. The
negative class of a label is every other utterance of the same speaker role (all supporter
messages of ESConv, all MI sentences). A table of source category × the share of its
utterances given each of our labels shows what the mappings miss. The mappings are partial in
known ways; ``CAVEATS`` (also written to the JSON) says where.

Items whose normalised text equals a train or dev row of the model's training corpus
(``data/corpus.jsonl``) are counted and the metrics are repeated without them
(``without_overlap``): MI gold shares sentences with CounselChat, one of our training sources.

The output, ``evaluation/validity/crossdomain.json``, holds aggregate numbers only: never any
text of these corpora (both are licensed for non-commercial use and are not committed here).

Usage (from the repository root; inference on one thread)::

    python evaluation/validity/crossdomain.py
    python evaluation/validity/crossdomain.py --limit 200 --out /tmp/crossdomain.json
    python evaluation/validity/crossdomain.py --esconv PATH/test.json \\
        --mi-gold PATH/mi_gold_test_output.csv --model models/compassion-minilm --threads 1
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from compassion_nlp.classifier import ClassifierInput  # noqa: E402
from compassion_nlp.model import LABELS  # noqa: E402
from compassion_nlp.training import label_metrics  # noqa: E402

SHARED = Path("/work/shared/data/labelled")
ESCONV_TEST = SHARED / "esconv" / "test.json"
MI_GOLD_TEST = SHARED / "mi_gold_test" / "mi_gold_test_output.csv"
CORPUS = REPO / "data" / "corpus.jsonl"
OUT = HERE / "crossdomain.json"
REPS = 1000
SEED = 13

#: source strategy → our label (strategies not listed are negatives for every label)
ESCONV_MAP: dict[str, str] = {
    "Reflection of feelings": "EMPATHIC",
    "Question": "PURSUING",
    "Affirmation and Reassurance": "CONFIRMING",
}
MI_MAP: dict[str, str] = {
    "Open Question": "PURSUING",
    "Affirm": "CONFIRMING",
    "Support": "EMPATHIC",
    "Complex Reflection": "EMPATHIC",
}

#: where each mapping is only partial (written to the JSON beside the numbers)
CAVEATS: dict[str, dict[str, str]] = {
    "esconv": {
        "general": (
            "One strategy per supporter message, while our codebook is multi-label: a message "
            "that both names a feeling and validates it is a positive for one label only, so "
            "some model 'false positives' are correct by the codebook. Dialogues are "
            "crowd-sourced peer emotional support in a chat, not clinical talk; each message "
            "is one input (not split into sentences)."
        ),
        "EMPATHIC": (
            "Reflection of feelings is the core of EMPATHIC, but not all of it: 'Restatement or "
            "Paraphrasing' often restates the seeker's predicament or feeling, and "
            "'Affirmation and Reassurance' often carries sympathy ('I'm sorry you are going "
            "through this'); the codebook calls both EMPATHIC, here they are negatives."
        ),
        "PURSUING": (
            "ESConv 'Question' includes closed, factual and history questions ('How long have "
            "you been together?') that the codebook calls none, and questions on the seeker's "
            "view or preferences that it calls INCLUSIVE; the codebook's second kind of "
            "PURSUING, explicit offers of support ('I'm here for you'), falls under "
            "'Affirmation and Reassurance' or 'Others'. Low precision and recall are expected "
            "from the mapping alone."
        ),
        "CONFIRMING": (
            "'Affirmation and Reassurance' mixes validation ('it's understandable to feel that "
            "way': CONFIRMING) with reassurance ('everything will work out'), which the "
            "codebook excludes when it passes over the feeling, praise of the seeker's "
            "strengths (codebook: none) and sympathy (EMPATHIC)."
        ),
    },
    "mi_gold": {
        "general": (
            "Single counsellor sentences from online counselling / peer-support answers, coded "
            "with MITI-style behaviours; the file has no context, so the model gets the "
            "utterance and the role only (it was trained with the previous turn). Part of the "
            "sentences come from CounselChat, one of the shipped model's training sources: see "
            "'overlap' and 'without_overlap'."
        ),
        "EMPATHIC": (
            "MI 'Support' (sympathy, compassion, understanding) covers EMPATHIC but also "
            "CONFIRMING ('that's completely understandable') and the support offers of "
            "PURSUING ('I'm here for you'); 'Complex Reflection' adds meaning beyond what the "
            "client said and often names a feeling, but can reflect ambivalence or values with "
            "no feeling or difficulty in it. 'Simple Reflection', which may name a feeling "
            "the client stated, is not mapped (a negative)."
        ),
        "PURSUING": (
            "MI 'Open Question' includes open factual or informational questions ('What "
            "medication are you on?') that the codebook calls none, and questions asking the "
            "client's view that it calls INCLUSIVE; offers of support, PURSUING in the "
            "codebook, are MI 'Support'."
        ),
        "CONFIRMING": (
            "MI 'Affirm' praises the client's strengths, efforts or values ('it takes courage "
            "to reach out'); the codebook places praise of behaviour at none unless it says "
            "the client's feeling or action is legitimate ('you did the right thing reaching "
            "out'), while MI codes that legitimising as 'Support' or a reflection."
        ),
    },
}


@dataclass(frozen=True)
class Item:
    """One utterance to classify.

    Attributes:
        group: the bootstrap unit (a dialogue of ESConv, the sentence itself for MI gold).
        category: the source's strategy code.
        input: what the classifier sees.
    """

    group: str
    category: str
    input: ClassifierInput


class Classifier(Protocol):
    """What this script needs of :class:`compassion_nlp.classifier.UtteranceClassifier`."""

    def predict_proba(self, items: Sequence[ClassifierInput]) -> np.ndarray: ...

    def decide(self, probs: np.ndarray) -> np.ndarray: ...


def clean(text: str) -> str:
    """Whitespace normalised, as the pipeline cleans a turn's text."""
    return " ".join(str(text).split())


def _read_json_or_lines(path: Path) -> list[dict[str, Any]]:
    """A JSON list, or JSON lines (the shape of the ESConv split files)."""
    raw = path.read_text(encoding="utf-8")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return [json.loads(line) for line in raw.splitlines() if line.strip()]
    return data if isinstance(data, list) else [data]


def read_esconv(path: Path, *, limit: int | None = None) -> list[Item]:
    """Supporter (``sys``) messages of an ESConv split, with the seeker's previous turn.

    A turn is a run of consecutive messages of one speaker (texts joined by a space); like
    :func:`compassion_nlp.scoring.classifier_inputs`, each supporter message gets the last
    turn of the other speaker as context.
    """
    items: list[Item] = []
    for d, dialogue in enumerate(_read_json_or_lines(Path(path))):
        turns: list[tuple[str, list[dict[str, Any]]]] = []
        for message in dialogue["dialog"]:
            if not clean(message.get("text", "")):
                continue
            if turns and turns[-1][0] == message["speaker"]:
                turns[-1][1].append(message)
            else:
                turns.append((message["speaker"], [message]))
        previous = ""
        for speaker, messages in turns:
            if speaker == "sys":
                items.extend(
                    Item(f"esconv-{d}", clean(m.get("strategy") or "(none)"),
                         ClassifierInput(clean(m["text"]), "clinician", previous,
                                         "patient" if previous else ""))
                    for m in messages
                )
            previous = clean(" ".join(m["text"] for m in messages))
    return items[:limit] if limit else items


def read_mi_gold(path: Path, *, limit: int | None = None) -> list[Item]:
    """The MI gold sentences (``Text``, ``Ground truth``), each its own bootstrap unit."""
    items: list[Item] = []
    with Path(path).open(encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            text = clean(row["Text"])
            if text:
                items.append(Item(f"mi-{i}", clean(row["Ground truth"]),
                                  ClassifierInput(text, "clinician")))
    return items[:limit] if limit else items


def targets(items: Sequence[Item], mapping: Mapping[str, str]) -> np.ndarray:
    """Gold matrix ``(len(items), len(LABELS))``: 1 where the category maps to the label."""
    out = np.zeros((len(items), len(LABELS)), dtype=np.float32)
    for i, item in enumerate(items):
        label = mapping.get(item.category)
        if label is not None:
            out[i, LABELS.index(label)] = 1.0
    return out


def _normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def training_texts(corpus: Path) -> set[str]:
    """Normalised texts of the corpus rows the model was trained or calibrated on."""
    out: set[str] = set()
    if not Path(corpus).is_file():
        return out
    with Path(corpus).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if row.get("split") in ("train", "dev"):
                    out.add(_normalise(row["text"]))
    return out


def _num(x: float) -> float | None:
    """Rounded, or None where undefined (JSON has no NaN)."""
    return None if x is None or np.isnan(x) else round(float(x), 4)


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    """Precision, recall, F1 from counts (0 where undefined, as scikit-learn's
    ``zero_division=0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return precision, recall, f1


def bootstrap_prf(
    decided: np.ndarray, gold: np.ndarray, groups: Sequence[str], *, reps: int = REPS,
    seed: int = SEED,
) -> dict[str, dict[str, list[float]]]:
    """95 % percentile intervals of precision, recall and F1 per label, resampling groups
    with replacement (per-group counts of true/false positives and false negatives are
    summed with the resample's multiplicities)."""
    unique = sorted(set(groups))
    where = {g: k for k, g in enumerate(unique)}
    index = np.array([where[g] for g in groups])
    d, y = decided.astype(bool), gold > 0.5
    count = np.zeros((3, len(unique), d.shape[1]))
    for k, matrix in enumerate((d & y, d & ~y, ~d & y)):
        np.add.at(count[k], index, matrix.astype(float))
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(unique), size=(reps, len(unique)))
    weights = np.stack([np.bincount(p, minlength=len(unique)) for p in picked]).astype(float)
    tp, fp, fn = (weights @ count[k] for k in range(3))
    stats = dict(zip(("precision", "recall", "f1"), _prf(tp, fp, fn), strict=True))
    return {
        label: {name: [round(float(np.percentile(v[:, j], 2.5)), 4),
                       round(float(np.percentile(v[:, j], 97.5)), 4)]
                for name, v in stats.items()}
        for j, label in enumerate(LABELS)
    }


def category_rates(items: Sequence[Item], decided: np.ndarray,
                   mapping: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per source category: its size, its mapped label, and the share of its utterances the
    model gives each of our labels (``none``: no label at all), most frequent first."""
    categories = Counter(item.category for item in items)
    cats = np.array([item.category for item in items])
    out: dict[str, dict[str, Any]] = {}
    for category, n in categories.most_common():
        rows = decided[cats == category].astype(bool)
        row: dict[str, Any] = {"n": int(n), "mapped_to": mapping.get(category)}
        row.update({label: round(float(rows[:, j].mean()), 4) for j, label in enumerate(LABELS)})
        row["none"] = round(float((~rows.any(axis=1)).mean()), 4)
        out[category] = row
    return out


def metrics_block(
    decided: np.ndarray, probs: np.ndarray, gold: np.ndarray, groups: Sequence[str],
    labels: Sequence[str], *, reps: int = REPS, seed: int = SEED,
) -> dict[str, Any]:
    """Point estimates (:func:`compassion_nlp.training.label_metrics`) and intervals of the
    mapped labels."""
    if not len(gold):
        return {"n": 0, "labels": {}}
    point = label_metrics(decided, gold, probs)["labels"]
    cis = bootstrap_prf(decided, gold, groups, reps=reps, seed=seed)
    out: dict[str, Any] = {"n": int(len(gold)), "groups": len(set(groups)), "labels": {}}
    for label in labels:
        j = LABELS.index(label)
        m = point[label]
        out["labels"][label] = {
            "support": m["support"],
            "base_rate": round(float(gold[:, j].mean()), 4),
            "predicted_rate": round(float(decided[:, j].mean()), 4),
            "precision": round(m["precision"], 4),
            "precision_ci95": cis[label]["precision"],
            "recall": round(m["recall"], 4),
            "recall_ci95": cis[label]["recall"],
            "f1": round(m["f1"], 4),
            "f1_ci95": cis[label]["f1"],
            "kappa": _num(m["kappa"]),
            "average_precision": _num(m.get("average_precision", float("nan"))),
        }
    return out


def evaluate(
    name: str, items: Sequence[Item], mapping: Mapping[str, str], clf: Classifier, *,
    seen: set[str] | None = None, reps: int = REPS, seed: int = SEED,
) -> dict[str, Any]:
    """Classify one dataset's items and measure the mapped labels against the source codes."""
    probs = clf.predict_proba([item.input for item in items])
    decided = clf.decide(probs).astype(bool)
    gold = targets(items, mapping)
    groups = [item.group for item in items]
    labels = [label for label in LABELS if label in set(mapping.values())]
    out: dict[str, Any] = {
        "mapping": dict(mapping),
        "caveats": CAVEATS.get(name, {}),
        "utterances": len(items),
        "groups": len(set(groups)),
        "with_context": int(sum(bool(item.input.previous) for item in items)),
        **metrics_block(decided, probs, gold, groups, labels, reps=reps, seed=seed),
        "category_label_rates": category_rates(items, decided, mapping),
    }
    if seen is not None:
        overlap = np.array([_normalise(item.input.text) in seen for item in items], dtype=bool)
        by_category = Counter(item.category for item, o in zip(items, overlap, strict=True) if o)
        out["overlap"] = {"utterances": int(overlap.sum()),
                          "by_category": dict(by_category.most_common())}
        keep = ~overlap
        out["without_overlap"] = metrics_block(
            decided[keep], probs[keep], gold[keep],
            [g for g, k in zip(groups, keep, strict=True) if k], labels, reps=reps, seed=seed,
        ) if overlap.any() else "no overlap"
    return out


def table(results: Mapping[str, Any]) -> str:
    """A short text table of the headline numbers."""
    lines = [f"{'dataset':<8} {'label':<11} {'support':>7} {'base':>5} {'pred':>5}  "
             f"{'P [95% CI]':<19} {'R [95% CI]':<19} {'F1 [95% CI]':<19}"]

    def cell(m: Mapping[str, Any], key: str) -> str:
        lo, hi = m[f"{key}_ci95"]
        return f"{m[key]:.2f} [{lo:.2f}, {hi:.2f}]"

    for name, res in results.items():
        for label, m in res.get("labels", {}).items():
            lines.append(f"{name:<8} {label:<11} {m['support']:>7} {m['base_rate']:>5.2f} "
                         f"{m['predicted_rate']:>5.2f}  {cell(m, 'precision'):<19} "
                         f"{cell(m, 'recall'):<19} {cell(m, 'f1'):<19}")
    return "\n".join(lines)


def run(
    clf: Classifier, *, esconv: Path | None, mi_gold: Path | None, corpus: Path | None = None,
    limit: int | None = None, reps: int = REPS, seed: int = SEED,
) -> dict[str, Any]:
    """Both evaluations (a dataset whose path is None or missing is skipped)."""
    seen = training_texts(corpus) if corpus is not None else None
    results: dict[str, Any] = {}
    for name, path, reader, mapping in (("esconv", esconv, read_esconv, ESCONV_MAP),
                                        ("mi_gold", mi_gold, read_mi_gold, MI_MAP)):
        if path is None or not Path(path).is_file():
            print(f"{name}: {path} not found, skipped", file=sys.stderr)
            continue
        items = reader(Path(path), limit=limit)
        results[name] = {"path": str(path), "limit": limit,
                         **evaluate(name, items, mapping, clf, seen=seen, reps=reps, seed=seed)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esconv", type=Path, default=ESCONV_TEST)
    parser.add_argument("--mi-gold", type=Path, default=MI_GOLD_TEST)
    parser.add_argument("--corpus", type=Path, default=CORPUS,
                        help="the training corpus, to flag items the model has seen")
    parser.add_argument("--model", type=Path, default=None,
                        help="model folder (default: the shipped model)")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None,
                        help="first N utterances of each dataset (a quick run)")
    parser.add_argument("--reps", type=int, default=REPS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.scoring import default_model_path

    model = args.model or default_model_path()
    clf = UtteranceClassifier.from_pretrained(model, precision=args.precision,
                                              threads=args.threads)
    start = time.perf_counter()
    results = run(clf, esconv=args.esconv, mi_gold=args.mi_gold, corpus=args.corpus,
                  limit=args.limit, reps=args.reps, seed=args.seed)
    try:
        shown = str(Path(model).resolve().relative_to(REPO))
    except ValueError:
        shown = str(model)
    report = {
        "description": "Zero-shot cross-domain validity of the shipped model (issue 12); "
                       "aggregate numbers only, no text of the datasets.",
        "model": shown,
        "precision": clf.precision,
        "thresholds": clf.config.thresholds,
        "versions": clf.config.versions,
        "bootstrap": {"reps": args.reps, "seed": args.seed, "interval": "95 % percentile",
                      "unit": {"esconv": "dialogue", "mi_gold": "sentence"}},
        "seconds": round(time.perf_counter() - start, 1),
        "datasets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(table(results))
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
