"""Evaluate the shipped classifier and two baselines on the corpus test split.

Regenerates every classifier number in ``evaluation/README.md`` and in the model card
(``models/<model>/README.md``), and stores them in ``evaluation/classifier/results.json``.

Per label: precision, recall, F1 with 95 % bootstrap intervals (encounters resampled), Cohen's
κ against the gold labels, average precision, expected calibration error (ECE, 10 bins) and a
reliability plot; macro-F1; the confusion between labels (how often an utterance with gold
label X is predicted as Y); the same metrics for the keyword and TF-IDF baselines; and the
annotator-versus-annotator κ from ``data/agreement.json``.

Usage:
    python evaluation/classifier/evaluate.py [--model models/compassion-minilm]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from baselines import KeywordBaseline, TfidfBaseline  # noqa: E402
from generalisation import SOURCES, SUITE, behaviour, evaluate_split  # noqa: E402

from compassion_nlp.classifier import LABELS, UtteranceClassifier  # noqa: E402
from compassion_nlp.training import label_metrics, load_corpus, to_inputs  # noqa: E402


def bootstrap_f1(
    decided: np.ndarray, targets: np.ndarray, groups: list[str], *, reps: int = 1000,
    seed: int = 13,
) -> dict[str, tuple[float, float]]:
    """95 % intervals of per-label F1, resampling encounters with replacement."""
    rng = np.random.default_rng(seed)
    unique = sorted(set(groups))
    index = {g: [] for g in unique}
    for i, g in enumerate(groups):
        index[g].append(i)
    samples = {label: [] for label in LABELS}
    for _ in range(reps):
        picked = rng.choice(len(unique), size=len(unique), replace=True)
        rows = np.concatenate([index[unique[k]] for k in picked])
        d, t = decided[rows], targets[rows] > 0.5
        for j, label in enumerate(LABELS):
            tp = np.sum(d[:, j] & t[:, j])
            denom = d[:, j].sum() + t[:, j].sum()
            samples[label].append(2 * tp / denom if denom else 0.0)
    return {
        label: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))
        for label, v in samples.items()
    }


def ece(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> dict[str, object]:
    """Expected calibration error per label and the reliability table behind it."""
    out: dict[str, object] = {}
    edges = np.linspace(0, 1, bins + 1)
    for j, label in enumerate(LABELS):
        p, y = probs[:, j], targets[:, j]
        total, table = 0.0, []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            mask = (p >= lo) & (p < hi) if hi < 1 else (p >= lo) & (p <= hi)
            if not mask.any():
                continue
            conf, acc = float(p[mask].mean()), float(y[mask].mean())
            total += mask.sum() / len(p) * abs(conf - acc)
            table.append({"bin": [float(lo), float(hi)], "n": int(mask.sum()),
                          "confidence": conf, "accuracy": acc})
        out[label] = {"ece": float(total), "bins": table}
    return out


def confusion(decided: np.ndarray, targets: np.ndarray) -> dict[str, dict[str, int]]:
    """For utterances with gold label X: how many were predicted as each label Y (or none)."""
    out: dict[str, dict[str, int]] = {}
    t = targets > 0.5
    for i, gold in enumerate(LABELS):
        rows = t[:, i]
        counts = {pred: int(decided[rows, j].sum()) for j, pred in enumerate(LABELS)}
        counts["(none)"] = int((~decided[rows].any(axis=1)).sum())
        out[gold] = counts
    return out


def reliability_plot(calibration: dict[str, object], path: Path) -> bool:
    """Draw the reliability diagram (needs matplotlib; returns False when it is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for label in LABELS:
        bins = calibration[label]["bins"]  # type: ignore[index]
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
                label=f"{label} (ECE {calibration[label]['ece']:.3f})")  # type: ignore[index]
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Reliability on the test split")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


#: the sources of the test split before round 5 (whose INCLUSIVE and CUE must not get worse)
EARLIER_SOURCES = ("primock57", "aci_bench", "mts_dialog", "qmsum")


def generalisation(clf: UtteranceClassifier, test) -> dict[str, object]:
    """Pooled and per-source test metrics with intervals, the test split as it was before
    round 5 (its sources), and the behavioural suite."""
    earlier = test.filter(lambda r: r["source"] in EARLIER_SOURCES)
    return {
        "test": evaluate_split(clf, test),
        "earlier_test": evaluate_split(clf, earlier, by_source=False)["pooled"],
        "behaviour": behaviour(clf) if SUITE.exists() else None,
    }


def evaluate(
    model_dir: Path, corpus: Path, previous: Path | None = None
) -> dict[str, object]:
    """Every number of the report, as a dict (``previous``: an earlier model to compare)."""
    data = load_corpus(corpus)
    train_x, train_y = to_inputs(data["train"])
    dev_x, dev_y = to_inputs(data["dev"])
    test_x, test_y = to_inputs(data["test"])
    groups = list(data["test"]["encounter_id"])
    clf = UtteranceClassifier.from_pretrained(model_dir, precision="float32")
    probs = clf.predict_proba(test_x)
    decided = clf.decide(probs)
    results: dict[str, object] = {
        "model": str(model_dir.relative_to(REPO) if model_dir.is_relative_to(REPO) else model_dir),
        "corpus": {
            split: {"rows": len(data[split]),
                    "encounters": len(set(data[split]["encounter_id"])),
                    "positives": {label: int(sum(label in r for r in data[split]["labels"]))
                                  for label in LABELS}}
            for split in ("train", "dev", "test")
        },
        "thresholds": clf.config.thresholds,
    }
    transformer = label_metrics(decided, test_y, probs)
    intervals = bootstrap_f1(decided, test_y, groups)
    for label in LABELS:
        transformer["labels"][label]["f1_ci95"] = intervals[label]
    calibration = ece(probs, test_y)
    for label in LABELS:
        transformer["labels"][label]["ece"] = calibration[label]["ece"]  # type: ignore[index]
    results["transformer"] = transformer
    results["generalisation"] = generalisation(clf, data["test"])
    if previous is not None:
        old = UtteranceClassifier.from_pretrained(previous, precision="float32")
        results["previous_model"] = {"model": str(previous), **generalisation(old, data["test"])}
    results["calibration"] = calibration
    results["confusion"] = confusion(decided, test_y)
    meeting_roles = {"leader", "staff"}  # the corpus's meetings are QMSum's, with these roles
    settings = np.array(["meeting" if r in meeting_roles or src == "qmsum" else "clinical"
                         for r, src in zip(data["test"]["role"], data["test"]["source"],
                                           strict=True)])
    results["by_setting"] = {
        setting: label_metrics(decided[settings == setting], test_y[settings == setting])
        for setting in ("clinical", "meeting")
    }
    # the same model in the faster precisions (load(precision=...))
    for precision in ("bfloat16", "int8"):
        fast = UtteranceClassifier.from_pretrained(model_dir, precision=precision)
        fast_decided = fast.decide(fast.predict_proba(test_x))
        results[f"transformer_{precision}"] = {
            **label_metrics(fast_decided, test_y),
            "same_labels_as_float32": float((fast_decided == decided).all(axis=1).mean()),
        }
    keyword = KeywordBaseline()
    results["keyword_baseline"] = label_metrics(keyword.predict(test_x), test_y)
    tfidf = TfidfBaseline().fit(train_x, train_y, dev_x, dev_y)
    tfidf_probs = tfidf.predict_proba(test_x)
    results["tfidf_baseline"] = label_metrics(tfidf.predict(test_x), test_y, tfidf_probs)
    agreement = REPO / "data" / "agreement.json"
    if agreement.exists():
        results["annotator_agreement"] = json.loads(agreement.read_text())
    results["reliability_plot"] = reliability_plot(calibration, HERE / "reliability.png")
    return results


def _fmt(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"  # NaN → dash


def markdown(results: dict) -> str:
    """The classifier section of the report."""
    tr, kw, tf = results["transformer"], results["keyword_baseline"], results["tfidf_baseline"]
    agreement = results.get("annotator_agreement", {}).get("kappa", {})
    lines = [
        "| label | test positives | precision | recall | F1 (95 % CI) | κ vs gold | "
        "annotator κ | ECE | keyword F1 | TF-IDF F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in LABELS:
        m = tr["labels"][label]
        lo, hi = m["f1_ci95"]
        lines.append(
            f"| {label} | {m['support']} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | "
            f"{_fmt(m['f1'])} ({_fmt(lo)}–{_fmt(hi)}) | {_fmt(m['kappa'])} | "
            f"{_fmt(agreement.get(label, float('nan')))} | {_fmt(m['ece'])} | "
            f"{_fmt(kw['labels'][label]['f1'])} | {_fmt(tf['labels'][label]['f1'])} |"
        )
    lines.append(
        f"| **macro** | | | | **{_fmt(tr['macro_f1'])}** | | | | {_fmt(kw['macro_f1'])} | "
        f"{_fmt(tf['macro_f1'])} |"
    )
    for precision in ("bfloat16", "int8"):
        q = results.get(f"transformer_{precision}")
        if q:
            f1s = ", ".join(f"{label} {_fmt(q['labels'][label]['f1'])}" for label in LABELS)
            lines += ["", f"In {precision} (`load(precision=\"{precision}\")`): F1 {f1s}; "
                      f"macro-F1 {_fmt(q['macro_f1'])}; the same labels as float32 on "
                      f"{100 * q['same_labels_as_float32']:.1f} % of test utterances."]
    by_setting = results.get("by_setting")
    if by_setting:
        lines += ["", "By setting (F1, with test positives):", "",
                  "| setting | " + " | ".join(LABELS) + " |",
                  "|---|" + "---|" * len(LABELS)]
        for setting, m in by_setting.items():
            cells = [f"{_fmt(m['labels'][x]['f1'])} ({m['labels'][x]['support']})" for x in LABELS]
            lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    gen = results.get("generalisation")
    if gen:
        lines += generalisation_markdown(gen, results.get("previous_model"))
    conf = results["confusion"]
    lines += ["", "Confusion between labels (rows: gold label; columns: predicted):", "",
              "| gold \\ predicted | " + " | ".join(LABELS) + " | (none) |",
              "|---|" + "---|" * (len(LABELS) + 1)]
    for gold in LABELS:
        row = conf[gold]
        lines.append(f"| {gold} | " + " | ".join(str(row[p]) for p in LABELS)
                     + f" | {row['(none)']} |")
    beaten = [
        label for label in LABELS
        if tr["labels"][label]["f1"] <= max(kw["labels"][label]["f1"], tf["labels"][label]["f1"])
    ]
    lines += ["", "The transformer beats both baselines on every label." if not beaten else
              "The transformer does NOT beat the best baseline on: " + ", ".join(beaten) + "."]
    return "\n".join(lines)


def generalisation_markdown(gen: dict, previous: dict | None) -> list[str]:
    """Per-source F1 with intervals, the earlier test split, and the behavioural suite."""
    by_source = gen["test"]["by_source"]
    lines = ["", "Test F1 per source (95 % CI; encounters resampled) and macro-F1 over the "
             "labels with ≥ 5 test positives in the source:", "",
             "| source | encounters | " + " | ".join(LABELS) + " | macro-F1 |",
             "|---|---|" + "---|" * len(LABELS) + "---|"]
    for source in SOURCES:
        if source not in by_source:
            continue
        m = by_source[source]
        cells = []
        for label in LABELS:
            x = m["labels"][label]
            if not x["support"]:
                cells.append("–")
                continue
            if "f1_ci95" in x:
                lo, hi = x["f1_ci95"]
                cells.append(f"{_fmt(x['f1'])} ({_fmt(lo)}–{_fmt(hi)}; {x['support']})")
            else:  # one encounter: no interval
                cells.append(f"{_fmt(x['f1'])} ({x['support']})")
        lines.append(f"| {source} | {m['encounters']} | " + " | ".join(cells)
                     + f" | {_fmt(m['macro_f1_supported'])} |")
    pooled = gen["test"]["pooled"]
    lines += ["", "κ against the gold labels, pooled test split (95 % CI): " + ", ".join(
        f"{x} {_fmt(pooled['labels'][x]['kappa'])} "
        f"({_fmt(pooled['labels'][x]['kappa_ci95'][0])}–"
        f"{_fmt(pooled['labels'][x]['kappa_ci95'][1])})" for x in LABELS) + "."]
    earlier = gen["earlier_test"]
    compare = ["this model"] + (["previous model"] if previous else [])
    lines += ["", "The test encounters of the four earlier sources (the test split before round "
              "5), F1:", "", "| model | " + " | ".join(LABELS) + " | macro-F1 |",
              "|---|" + "---|" * (len(LABELS) + 1)]
    for name, m in zip(compare, [earlier] + ([previous["earlier_test"]] if previous else []),
                       strict=True):
        lines.append(f"| {name} | " + " | ".join(_fmt(m["labels"][x]["f1"]) for x in LABELS)
                     + f" | {_fmt(m['macro_f1'])} |")
    suite = gen.get("behaviour")
    if suite:
        focus = suite["by_label_focus"]
        lines += ["", f"Behavioural suite ({suite['n']} single utterances, exact match of the "
                  "label set): " + f"**{100 * suite['exact_match']:.1f} %**" + (
                      f" (previous model {100 * previous['behaviour']['exact_match']:.1f} %)"
                      if previous and previous.get("behaviour") else "") + "; by label: "
                  + ", ".join(f"{k} {100 * v['exact_match']:.0f} % (n={v['n']})"
                              for k, v in focus.items()) + "."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus.jsonl")
    parser.add_argument("--previous", type=Path, default=None,
                        help="an earlier model folder to compare on the same test split")
    args = parser.parse_args()
    results = evaluate(args.model.resolve(), args.corpus, args.previous)
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (HERE / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
