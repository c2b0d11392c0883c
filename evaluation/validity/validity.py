"""Validity of the shipped model: how far its labels, and the encounter measures built from them,
can stand in for the corpus annotators.

One command regenerates everything (``evaluation/validity/validity.json`` with every number,
the reliability plots ``evaluation/validity/reliability_<label>.png`` and
``evaluation/VALIDITY.md``)::

    python evaluation/validity/validity.py          # the shipped model on the test split
    python evaluation/validity/validity.py --all    # first crossdomain.py / known_groups.py
    python evaluation/validity/validity.py --render # VALIDITY.md again from validity.json

What is measured (all on ``models/compassion-minilm`` and the ``test`` split of
``data/corpus.jsonl``):

1. Cohen's κ per label, model vs the corpus annotators, with 95 % bootstrap intervals
   (encounters resampled; ``evaluation/classifier/generalisation.py``), beside annotator vs
   annotator κ (``data/agreement.json``) and published human figures for similar schemes.
2. The encounter measures (compassion score, cue response rate, missed opportunities, labels
   per 10 utterances) computed with the project's own linking and scoring code from the gold
   labels and from the model's labels, on the test encounters whose every utterance was
   annotated; Spearman ρ between the two with 95 % bootstrap intervals (encounters resampled).
3. Calibration: ECE per label (10 equal-width bins, ``evaluation/classifier/evaluate.py``) and
   a reliability plot per label.
4. Error analysis: every false positive and negative sorted by rules, and a fixed-seed sample
   per label categorised by hand (``error_categories.csv``, ids only).
5. The behavioural suite's hard negatives (``label_focus`` NONE): exact match per capability.
6. Sections from ``crossdomain.json``, ``known_groups.json`` and ``epitome.json`` when present.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import sys
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from compassion_nlp.model import (  # noqa: E402
    EXPRESSING_ROLES,
    LABELS,
    RESPONDING_ROLES,
    Encounter,
    Speaker,
    Turn,
    Utterance,
)

MODEL = REPO / "models" / "compassion-minilm"
CORPUS = REPO / "data" / "corpus.jsonl"
AGREEMENT = REPO / "data" / "agreement.json"
SUITE = REPO / "evaluation" / "behaviour" / "suite.jsonl"
RESULTS = HERE / "validity.json"
CATEGORIES = HERE / "error_categories.csv"
REPORT = REPO / "evaluation" / "VALIDITY.md"
COMMAND = "python evaluation/validity/validity.py"

REPS = 1000
SEED = 13
ECE_BINS = 10
ECE_TARGET = 0.05
#: encounters needed to report ρ at all, and to give it a bootstrap interval
MIN_N_RHO = 5
MIN_N_CI = 10
#: fewer gold positives than this (per source, or encounters with a non-zero measure) are
#: flagged in the tables
MIN_POSITIVES = 5
#: hand-categorised errors per label (false positives and negatives, half each where possible)
HAND_PER_LABEL = 16

#: published human agreement for similar coding schemes (as cited in issue 12)
CEILINGS = [
    {"scheme": "VR-CoDES (Zimmermann et al. 2011; Del Piccolo et al. 2011)",
     "unit": "patient cues", "kappa": "≈ 0.70", "compare": ["CUE"]},
    {"scheme": "VR-CoDES (Zimmermann et al. 2011; Del Piccolo et al. 2011)",
     "unit": "provider responses", "kappa": "≈ 0.90",
     "compare": ["EMPATHIC", "CONFIRMING", "PURSUING"]},
    {"scheme": "MITI (Motivational Interviewing Treatment Integrity)",
     "unit": "utterance-level behaviour codes", "kappa": "0.31–0.64",
     "compare": ["EMPATHIC", "CONFIRMING", "PURSUING"]},
]

#: the encounter measures compared (columns of the project's ``encounters`` table)
MEASURES = ("compassion_score", "response_rate", "missed_opportunities", "cue_episodes",
            *(f"{label.lower()}_per_10" for label in LABELS))
MEASURE_NAMES = {
    "compassion_score": "compassion score (0–100)",
    "response_rate": "cue response rate",
    "missed_opportunities": "missed opportunities (count)",
    "cue_episodes": "cue episodes (count)",
    **{f"{label.lower()}_per_10": f"{label} per 10 utterances" for label in LABELS},
}

#: hand categories (error_categories.csv), with what each means
HAND_CATEGORIES = {
    "history-taking or factual question": "a biomedical or factual question read as PURSUING "
                                          "or INCLUSIVE",
    "courtesy sorry": "an apology for a delay, a repair or a procedure read as EMPATHIC",
    "reassurance": "generic or dismissive reassurance read as a response",
    "negation": "a denied or contrasted worry or feeling read wrongly",
    "procedural chairing": "agenda-setting, task assignment or turn allocation read as "
                           "INCLUSIVE or PURSUING",
    "ritual thanks or politeness": "a thank-you, good wish or courtesy with no appreciation "
                                   "of content",
    "information or advice": "information, advice or instruction read as a response act",
    "context needed": "the label depends on talk the model does not see (a sentence fragment, "
                      "a written question whose earlier sentences carry the feeling)",
    "implicit or indirect": "a hint or an event without a named feeling (CUE), or an oblique "
                            "response or invitation",
    "long multi-act utterance": "one act buried in a long utterance of several",
    "label ambiguity or arguable gold": "a boundary the codebook draws finely (EMPATHIC vs "
                                        "CONFIRMING, PURSUING vs INCLUSIVE in counselling) or a "
                                        "gold label the annotator marked unsure or borderline",
    "clear model error": "a textbook case the model gets wrong",
}


# ---------------------------------------------------------------- statistics


def bootstrap_ci(
    stat: Callable[[np.ndarray], float], n: int, *, reps: int = REPS, seed: int = SEED,
) -> tuple[float, float, int]:
    """95 % percentile interval of ``stat(indices)`` over ``reps`` resamples of ``range(n)``
    with replacement (the units resampled are encounters). Resamples where the statistic is
    undefined (NaN) are skipped; returns (low, high, resamples used)."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(reps):
        value = stat(rng.integers(0, n, size=n))
        if value == value:
            values.append(value)
    if not values:
        return float("nan"), float("nan"), 0
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)), len(values)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)


def spearman_ci(x: Sequence[float], y: Sequence[float], *, reps: int = REPS,
                seed: int = SEED) -> dict[str, Any]:
    """ρ, its bootstrap interval (pairs = encounters resampled) and n, NaN pairs dropped."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    out: dict[str, Any] = {"n": int(len(x)), "rho": spearman(x, y) if len(x) >= 2 else None}
    if out["rho"] is not None and out["rho"] != out["rho"]:
        out["rho"] = None
    if len(x):
        out["gold_mean"] = float(x.mean())
        out["model_mean"] = float(y.mean())
        out["mean_abs_difference"] = float(np.abs(y - x).mean())
    if len(x) >= MIN_N_CI and out["rho"] is not None:
        lo, hi, used = bootstrap_ci(lambda i: spearman(x[i], y[i]), len(x), reps=reps, seed=seed)
        out["ci95"] = [lo, hi]
        out["resamples_used"] = used
    return out


def ece_table(probs: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Per-label ECE with ``ECE_BINS`` equal-width bins (the classifier evaluation's
    function) and whether it meets the target."""
    from evaluation.classifier.evaluate import ece

    table = ece(probs, targets, bins=ECE_BINS)
    for label in LABELS:
        table[label]["met"] = bool(table[label]["ece"] <= ECE_TARGET)
    return table


# ---------------------------------------------------------------- encounters from corpus rows


def _utterance_number(utterance_id: str) -> int:
    match = re.search(r"u(\d+)$", utterance_id)
    return int(match.group(1)) if match else 0


def encounter_from_rows(rows: Sequence[dict[str, Any]]) -> Encounter:
    """An :class:`Encounter` rebuilt from its corpus rows (``turn_id``, ``utterance_id``,
    ``speaker``, ``role``, ``text``), in turn and utterance order."""
    rows = sorted(rows, key=lambda r: (int(r["turn_id"]), _utterance_number(r["utterance_id"])))
    speakers: dict[str, Speaker] = {}
    turns: list[Turn] = []
    by_turn: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_turn[int(row["turn_id"])].append(row)
    for turn_id, items in by_turn.items():
        first = items[0]
        speaker_id = f"{first['speaker']}|{first['role']}"
        speakers.setdefault(speaker_id, Speaker(
            id=speaker_id, label=str(first["speaker"]), name=str(first["speaker"]),
            role=first["role"], role_source="user", role_confidence=1.0,
        ))
        utterances, offset = [], 0
        for index, row in enumerate(items, 1):
            text = row["text"]
            utterances.append(Utterance(
                id=row["utterance_id"], turn_id=turn_id, index=index, text=text,
                start_char=offset, end_char=offset + len(text),
            ))
            offset += len(text) + 1
        turns.append(Turn(id=turn_id, speaker=speaker_id,
                          text=" ".join(r["text"] for r in items), utterances=tuple(utterances)))
    return Encounter(id=rows[0]["encounter_id"], setting=rows[0].get("setting", "clinical"),
                     speakers=speakers, turns=tuple(turns))


def encounter_measures(encounter: Encounter, decided: np.ndarray) -> dict[str, Any]:
    """The encounter's row of the project's ``encounters`` table from a label matrix (rows in
    ``encounter.utterances`` order): the same path as ``Scorer.score_encounters``."""
    from compassion_nlp.config import DEFAULT_CONFIG
    from compassion_nlp.linking import link_cues
    from compassion_nlp.measures import compassion_score
    from compassion_nlp.tables import encounter_row

    decided = np.asarray(decided, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        links = link_cues(encounter, decided, window=DEFAULT_CONFIG.cue_window)
        score = compassion_score(encounter, decided, links, config=DEFAULT_CONFIG)
    return encounter_row(encounter, decided, links, score)


def fully_annotated(test_rows: Sequence[dict[str, Any]], manifests: Sequence[Path]) -> dict:
    """Encounter ids of the test split whose every utterance was annotated: the round-5
    ``whole`` encounters (every utterance sent to annotators), checked against the manifest —
    every manifest item of the encounter must be a test row."""
    whole: dict[str, set[str]] = defaultdict(set)
    for path in manifests:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                if item.get("pool") == "whole":
                    whole[item["encounter_id"]].add(item["key"])
    keys: dict[str, set[str]] = defaultdict(set)
    for row in test_rows:
        keys[row["encounter_id"]].add(row["key"])
    complete = sorted(e for e in keys if e in whole and whole[e] <= keys[e])
    incomplete = sorted(e for e in keys if e in whole and not whole[e] <= keys[e])
    return {"complete": complete, "incomplete_whole": incomplete}


def encounter_validity(
    rows: Sequence[dict[str, Any]], gold: np.ndarray, model: np.ndarray, encounter_ids: list[str],
    *, reps: int = REPS, seed: int = SEED,
) -> dict[str, Any]:
    """Gold- vs model-derived encounter measures for ``encounter_ids``: per-encounter values,
    and Spearman ρ with intervals pooled and per source."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        index[row["encounter_id"]].append(i)
    per_encounter = []
    for enc_id in encounter_ids:
        idx = index[enc_id]
        enc_rows = [rows[i] for i in idx]
        encounter = encounter_from_rows(enc_rows)
        order = {r["id"]: k for k, r in enumerate(enc_rows)}
        # the label matrices in encounter.utterances order
        perm = [idx[order[f"{enc_id}|{u.id}"]] for u in encounter.utterances]
        g = encounter_measures(encounter, gold[perm])
        m = encounter_measures(encounter, model[perm])
        per_encounter.append({
            "encounter_id": enc_id, "source": enc_rows[0]["source"],
            "utterances": len(perm),
            "gold": {k: _num(g.get(k)) for k in MEASURES},
            "model": {k: _num(m.get(k)) for k in MEASURES},
        })

    def compare(items: list[dict]) -> dict[str, Any]:
        return {k: spearman_ci([_nan(e["gold"][k]) for e in items],
                               [_nan(e["model"][k]) for e in items], reps=reps, seed=seed)
                for k in MEASURES}

    by_source: dict[str, Any] = {}
    for source in sorted({e["source"] for e in per_encounter}):
        items = [e for e in per_encounter if e["source"] == source]
        if len(items) >= MIN_N_RHO:
            by_source[source] = {"n": len(items), "measures": compare(items)}
        else:
            by_source[source] = {"n": len(items), "measures": None}
    return {
        "n": len(per_encounter),
        "pooled": compare(per_encounter) if len(per_encounter) >= MIN_N_RHO else None,
        "by_source": by_source,
        "encounters": per_encounter,
    }


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if x != x else x


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


# ---------------------------------------------------------------- errors


_SORRY = re.compile(r"\bsorry\b", re.I)
_SYMPATHY = re.compile(r"sorry (to hear|for your loss|about (your|that|the loss|what)|that you|"
                       r"you('re| are| have| had))", re.I)
_REASSURE = re.compile(r"(\b(don't|do not|no need to|try not to) worry|nothing to worry|"
                       r"(will|'ll) be (fine|ok|okay|alright|all right)|reassur|perfectly normal|"
                       r"nothing serious|very common|you're (fine|ok|okay))", re.I)
_CLOSED_Q = re.compile(r"^(so |and |okay,? |ok,? |right,? )?(do|did|does|is|are|was|were|have|"
                       r"has|had|can|could|any|anything|when|how long|how many|how much|how "
                       r"often|where|which|what time|what medication)\b", re.I)
_CHAIR = re.compile(r"\b(next|move on|moving on|agenda|item|let's|let us|minutes|start|"
                    r"begin|over to|go ahead|hand over)\b", re.I)
_THANKS = re.compile(r"\b(thank|thanks|cheers)\b", re.I)
_NEGATION = re.compile(r"\b(not|no|never|nothing|none|\w+n't)\b[^.?!]{0,40}\b(worr|pain|scar|"
                       r"anxious|stress|problem|concern|upset|bother|sad|depress|hurt)", re.I)


def rule_category(row: dict[str, Any], label: str, kind: str) -> str:
    """A rule-based category for one error (``kind``: ``fp`` or ``fn``)."""
    text, role = row["text"], row["role"]
    scored = EXPRESSING_ROLES if label == "CUE" else RESPONDING_ROLES
    words = len(text.split())
    if kind == "fp":
        if role not in scored:
            return "label on a role it is not scored for"
        if label in ("EMPATHIC", "CONFIRMING") and _SORRY.search(text) and \
                not _SYMPATHY.search(text):
            return "courtesy sorry"
        if label != "CUE" and _REASSURE.search(text):
            return "reassurance"
        if label == "PURSUING" and text.rstrip().endswith("?") and _CLOSED_Q.search(text):
            return "history-taking / closed question"
        if label == "INCLUSIVE" and _THANKS.search(text) and words <= 6:
            return "ritual thanks"
        if label == "INCLUSIVE" and _CHAIR.search(text):
            return "procedural chairing"
        if label == "CUE" and _NEGATION.search(text):
            return "negation"
        if words <= 3:
            return "short utterance"
        return "no rule matched"
    if words >= 40:
        return "long multi-act utterance"
    if words <= 4:
        return "short utterance"
    if label == "CUE" and _NEGATION.search(text):
        return "negation"
    return "no rule matched"


def error_analysis(
    rows: Sequence[dict[str, Any]], probs: np.ndarray, gold: np.ndarray, model: np.ndarray,
    thresholds: dict[str, float], hand: dict[tuple[str, str], dict[str, str]],
) -> dict[str, Any]:
    """Counts of errors per label by rule category, the near-threshold share, and the hand
    categories of the fixed-seed sample."""
    out: dict[str, Any] = {"labels": {}}
    sample = error_sample(rows, gold, model)
    for j, label in enumerate(LABELS):
        g, m = gold[:, j] > 0.5, model[:, j].astype(bool)
        entry: dict[str, Any] = {}
        for kind, mask in (("fp", m & ~g), ("fn", ~m & g)):
            idx = np.flatnonzero(mask)
            near = np.abs(probs[idx, j] - thresholds[label]) <= 0.1 if len(idx) else np.zeros(0)
            entry[kind] = {
                "n": int(len(idx)),
                "rules": dict(Counter(rule_category(rows[i], label, kind) for i in idx)
                              .most_common()),
                "near_threshold": int(near.sum()),
                "by_source": dict(Counter(rows[i]["source"] for i in idx).most_common()),
            }
        picked = sample[label]
        cats: dict[str, Counter] = {"fp": Counter(), "fn": Counter()}
        missing = []
        for row_id, kind in picked:
            got = hand.get((row_id, label))
            if got is None or got["error_type"] != kind:
                missing.append(row_id)
            else:
                cats[kind][got["category"]] += 1
        entry["hand"] = {"sampled": len(picked),
                         "categorised": len(picked) - len(missing),
                         "missing": missing,
                         "fp": dict(cats["fp"].most_common()),
                         "fn": dict(cats["fn"].most_common())}
        out["labels"][label] = entry
    stale = [k for k in hand if k not in {(r, x) for x in LABELS for r, _ in sample[x]}]
    out["hand_rows_not_in_sample"] = len(stale)
    return out


def error_sample(rows: Sequence[dict[str, Any]], gold: np.ndarray, model: np.ndarray,
                 *, per_label: int = HAND_PER_LABEL, seed: int = SEED) -> dict[str, list]:
    """The fixed-seed sample to categorise by hand: per label, half false positives and half
    false negatives (the other kind fills in when one runs short), as (row id, kind)."""
    rng = np.random.default_rng(seed)
    out = {}
    for j, label in enumerate(LABELS):
        g, m = gold[:, j] > 0.5, model[:, j].astype(bool)
        fp = sorted(rows[i]["id"] for i in np.flatnonzero(m & ~g))
        fn = sorted(rows[i]["id"] for i in np.flatnonzero(~m & g))
        want_fp = min(len(fp), max(per_label // 2, per_label - len(fn)))
        want_fn = min(len(fn), per_label - want_fp)
        chosen_fp = [fp[k] for k in sorted(rng.choice(len(fp), want_fp, replace=False))] \
            if want_fp else []
        chosen_fn = [fn[k] for k in sorted(rng.choice(len(fn), want_fn, replace=False))] \
            if want_fn else []
        out[label] = [(x, "fp") for x in chosen_fp] + [(x, "fn") for x in chosen_fn]
    return out


def read_categories(path: Path = CATEGORIES) -> dict[tuple[str, str], dict[str, str]]:
    """The hand categories: (utterance id, label) → {error_type, category}."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {(r["id"], r["label"]): {"error_type": r["error_type"], "category": r["category"]}
                for r in csv.DictReader(fh)}


# ---------------------------------------------------------------- hard negatives


def hard_negatives(suite: dict[str, Any], items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Exact match on the suite's hard negatives (``label_focus`` NONE) per capability, from the
    suite result (``generalisation.behaviour``) and the suite's items."""
    failures = {f["id"]: f for f in suite.get("failures", [])}
    groups: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        if item.get("label_focus") == "NONE":
            groups[item["capability"]].append(item)
    by_capability = {}
    for capability, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        wrong = Counter(label for m in members if m["id"] in failures
                        for label in failures[m["id"]]["predicted"])
        right = sum(m["id"] not in failures for m in members)
        by_capability[capability] = {"n": len(members), "exact_match": right / len(members),
                                     "false_labels": dict(wrong.most_common())}
    total = sum(v["n"] for v in by_capability.values())
    right = sum(v["n"] * v["exact_match"] for v in by_capability.values())
    return {"n": total, "exact_match": right / total if total else float("nan"),
            "by_capability": by_capability,
            "suite_exact_match": suite.get("exact_match"), "suite_n": suite.get("n"),
            "by_label_focus": suite.get("by_label_focus")}


# ---------------------------------------------------------------- plots


def reliability_plots(calibration: dict[str, Any], folder: Path) -> list[str]:
    """One reliability diagram per label (PNG with matplotlib); returns the file names."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the venv
        return []
    names = []
    for label in LABELS:
        bins = calibration[label]["bins"]
        fig, (ax, bar) = plt.subplots(2, 1, figsize=(4.2, 5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        conf = [b["confidence"] for b in bins]
        acc = [b["accuracy"] for b in bins]
        ax.plot(conf, acc, "o-", color="#1f77b4",
                label=f"{label} (ECE {calibration[label]['ece']:.3f})")
        ax.set_ylabel("observed frequency")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{label}: reliability, test split ({ECE_BINS} bins)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        bar.bar([(b["bin"][0] + b["bin"][1]) / 2 for b in bins], [b["n"] for b in bins],
                width=1 / ECE_BINS * 0.9, color="#999999")
        bar.set_yscale("log")
        bar.set_ylabel("utterances", fontsize=8)
        bar.set_xlabel("predicted probability (calibrated)")
        fig.tight_layout()
        name = f"reliability_{label}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        names.append(name)
    return names


# ---------------------------------------------------------------- the measurement


def _test_rows(corpus: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r for r in rows if r["split"] == "test"]


def measure(model_dir: Path = MODEL, corpus: Path = CORPUS, *, threads: int = 2,
            reps: int = REPS) -> dict[str, Any]:
    """Every number of the validity report, as a dict (loads the model)."""
    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.training import load_corpus, to_inputs
    from evaluation.classifier.generalisation import behaviour, scored_metrics

    data = load_corpus(corpus)
    test = data["test"]
    inputs, gold = to_inputs(test)
    extra = {r["id"]: r for r in _test_rows(corpus)}
    rows = [extra[i] for i in test["id"]]  # the full corpus rows, in the split's order
    groups = list(test["encounter_id"])
    sources = np.array(test["source"])
    clf = UtteranceClassifier.from_pretrained(model_dir, precision="float32", threads=threads)
    probs = clf.predict_proba(inputs)
    model = clf.decide(probs)

    pooled = scored_metrics(model, gold, groups, probs)
    by_source = {}
    for source in sorted(set(sources)):
        mask = sources == source
        m = scored_metrics(model[mask], gold[mask], [g for g, k in zip(groups, mask,
                                                                       strict=True) if k])
        by_source[source] = {"encounters": m["encounters"], "utterances": int(mask.sum()),
                             "labels": {x: {k: m["labels"][x].get(k) for k in
                                            ("kappa", "kappa_ci95", "support")} for x in LABELS}}
    agreement = json.loads(AGREEMENT.read_text()) if AGREEMENT.exists() else {}

    manifests = sorted((REPO / "data" / "annotation").glob("manifest*.jsonl"))
    full = fully_annotated(rows, manifests)
    encounters = encounter_validity(rows, gold, model, full["complete"], reps=reps)
    encounters["test_encounters"] = len(set(groups))
    encounters["fully_annotated"] = len(full["complete"])
    encounters["incomplete_whole"] = full["incomplete_whole"]
    encounters["fully_annotated_by_source"] = dict(Counter(
        e["source"] for e in encounters["encounters"]))

    calibration = ece_table(probs, gold)
    scored_role = {}
    roles = np.array(test["role"])
    for label in LABELS:
        allowed = EXPRESSING_ROLES if label == "CUE" else RESPONDING_ROLES
        mask = np.isin(roles, list(allowed))
        sub = ece_table(probs[mask], gold[mask])[label]
        scored_role[label] = {"ece": sub["ece"], "met": sub["met"], "n": int(mask.sum())}
    plots = reliability_plots(calibration, HERE)

    errors = error_analysis(rows, probs, gold, model, clf.config.thresholds, read_categories())

    suite_items = [json.loads(x) for x in SUITE.read_text().splitlines() if x.strip()]
    suite = behaviour(clf, SUITE)

    return {
        "model": str(model_dir.relative_to(REPO)) if model_dir.is_relative_to(REPO)
        else str(model_dir),
        "corpus": str(corpus.relative_to(REPO)) if corpus.is_relative_to(REPO) else str(corpus),
        "command": COMMAND,
        "settings": {"bootstrap_reps": reps, "seed": SEED, "ece_bins": ECE_BINS,
                     "ece_target": ECE_TARGET, "precision": "float32",
                     "thresholds": clf.config.thresholds, "min_n_rho": MIN_N_RHO,
                     "min_n_ci": MIN_N_CI, "hand_per_label": HAND_PER_LABEL},
        "test_split": {"utterances": len(rows), "encounters": len(set(groups)),
                       "by_source": dict(Counter(test["source"]).most_common())},
        "kappa": {
            "labels": {x: {k: pooled["labels"][x].get(k) for k in
                           ("kappa", "kappa_ci95", "f1", "f1_ci95", "precision", "recall",
                            "support")} for x in LABELS},
            "by_source": by_source,
            "annotators": {"items": agreement.get("items"), "kappa": agreement.get("kappa"),
                           "by_set": {k: {"items": v.get("items"), "kappa": v.get("kappa")}
                                      for k, v in agreement.get("by_set", {}).items()}},
            "ceilings": CEILINGS,
        },
        "encounter_level": encounters,
        "calibration": {"bins": ECE_BINS, "target": ECE_TARGET, "labels": calibration,
                        "scored_roles": scored_role, "plots": plots},
        "errors": errors,
        "hard_negatives": hard_negatives(suite, suite_items),
    }


def worksheet(model_dir: Path = MODEL, corpus: Path = CORPUS, *, threads: int = 2) -> str:
    """The sampled errors still to categorise by hand, as text to read (``--worksheet``)."""
    from compassion_nlp.classifier import UtteranceClassifier
    from compassion_nlp.training import load_corpus, to_inputs

    test = load_corpus(corpus)["test"]
    inputs, gold = to_inputs(test)
    extra = {r["id"]: r for r in _test_rows(corpus)}
    rows = [extra[i] for i in test["id"]]
    clf = UtteranceClassifier.from_pretrained(model_dir, precision="float32", threads=threads)
    probs = clf.predict_proba(inputs)
    model = clf.decide(probs)
    position = {r["id"]: i for i, r in enumerate(rows)}
    done = read_categories()
    lines = []
    for label, picked in error_sample(rows, gold, model).items():
        for row_id, kind in picked:
            if (row_id, label) in done:
                continue
            i = position[row_id]
            r = rows[i]
            predicted = [x for x, on in zip(LABELS, model[i], strict=True) if on]
            lines.append(
                f"{row_id},{label},{kind}\n  p={probs[i, LABELS.index(label)]:.2f} "
                f"gold={r['labels']} model={predicted}"
                f" unscored={r['unscored_labels']} role={r['role']} source={r['source']}\n"
                f"  prev[{r['previous_role']}]: {r['previous_text'][-300:]}\n"
                f"  text: {r['text']}\n  note: {r.get('note', '')}\n"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------- rendering


def _f(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if isinstance(x, (int, float)):
        text = f"{x:.{digits}f}"
        return text.lstrip("-") if float(text) == 0 else text  # no "-0.00"
    return str(x)


def _ci(value: Any, ci: Any, digits: int = 2) -> str:
    if isinstance(ci, (list, tuple)) and len(ci) == 2:
        lo, hi = _f(ci[0], digits), _f(ci[1], digits)
        joint = " to " if lo.startswith("-") or hi.startswith("-") else "–"
        return f"{_f(value, digits)} ({lo}{joint}{hi})"
    return _f(value, digits)


def _pct(x: Any) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f} %"


def _first(d: dict, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if isinstance(d, dict) and d.get(key) is not None:
            return d[key]
    return default


def render(results: dict[str, Any], extras: dict[str, dict | None] | None = None) -> str:
    """VALIDITY.md from validity.json (``results``) and the optional sibling results
    (``extras``: ``crossdomain``, ``known_groups``, ``epitome``; ``None`` = not run)."""
    extras = extras or {}
    out = ["# Validity of the shipped model", "",
           f"Generated by `{results.get('command', COMMAND)}` from "
           "`evaluation/validity/validity.json` (every number below is there); do not edit by "
           "hand. Model: `" + str(results.get("model", "?")) + "`; test split of `"
           + str(results.get("corpus", "?")) + "`"]
    split = results.get("test_split") or {}
    if split:
        out[-1] += f" ({split.get('utterances', '?')} utterances, " \
                   f"{split.get('encounters', '?')} encounters)"
    out[-1] += "."
    settings = results.get("settings") or {}
    if settings:
        out += ["", f"Intervals: 95 % percentile bootstrap, {settings.get('bootstrap_reps')} "
                f"resamples of encounters, seed {settings.get('seed')}. Labels decided at the "
                f"model's thresholds in {settings.get('precision', 'float32')}."]
    out += headline(results, extras)
    out += section_kappa(results.get("kappa"))
    out += section_encounters(results.get("encounter_level"))
    out += section_calibration(results.get("calibration"))
    out += section_errors(results.get("errors"))
    out += section_hard_negatives(results.get("hard_negatives"))
    out += section_crossdomain(extras.get("crossdomain"))
    out += section_known_groups(extras.get("known_groups"))
    out += section_epitome(extras.get("epitome"))
    return "\n".join(out) + "\n"


def headline(results: dict, extras: dict) -> list[str]:
    """The figures a researcher would cite, each with the setting it holds for."""
    lines = ["", "## Headline numbers", ""]
    kappa = (results.get("kappa") or {}).get("labels") or {}
    ann = ((results.get("kappa") or {}).get("annotators") or {}).get("kappa") or {}
    split = results.get("test_split") or {}
    if kappa:
        lines.append("- **Utterance labels, model vs corpus annotators** (Cohen's κ, test split: "
                     f"{split.get('utterances', '?')} utterances of "
                     f"{split.get('encounters', '?')} encounters, all roles, 95 % CI): "
                     + "; ".join(
                         f"{x} {_ci(kappa[x].get('kappa'), kappa[x].get('kappa_ci95'))}"
                         for x in LABELS if x in kappa)
                     + ". Annotator vs annotator on the double-annotated items: "
                     + "; ".join(f"{x} {_f(ann.get(x))}" for x in LABELS if x in ann) + ".")
    enc = results.get("encounter_level") or {}
    pooled = enc.get("pooled") or {}
    if pooled:
        parts = []
        for k in ("compassion_score", "response_rate", "missed_opportunities"):
            m = pooled.get(k) or {}
            parts.append(f"{MEASURE_NAMES[k]} ρ = {_ci(m.get('rho'), m.get('ci95'))} "
                         f"(n = {m.get('n', '?')})")
        rates = [pooled[k] for k in MEASURES if k.endswith("_per_10") and pooled.get(k)
                 and pooled[k].get("rho") is not None]
        if rates:
            parts.append("labels per 10 utterances ρ = "
                         f"{_f(min(r['rho'] for r in rates))}–{_f(max(r['rho'] for r in rates))}"
                         " across the five labels")
        score = pooled.get("compassion_score") or {}
        if score.get("mean_abs_difference") is not None:
            parts.append(f"the model's compassion score differs from the gold-derived one by "
                         f"{_f(score['mean_abs_difference'], 1)} points on average (0–100 scale;"
                         f" means {_f(score.get('gold_mean'), 1)} gold, "
                         f"{_f(score.get('model_mean'), 1)} model)")
        lines.append(f"- **Encounter measures, model- vs gold-derived** (Spearman ρ, the "
                     f"{enc.get('fully_annotated', '?')} fully annotated test encounters: "
                     + ", ".join(
                         f"{s} {n}" for s, n in (enc.get("fully_annotated_by_source") or {})
                         .items()) + "): " + "; ".join(parts) + ".")
    cal = (results.get("calibration") or {}).get("labels") or {}
    if cal:
        target = (results.get("calibration") or {}).get("target", ECE_TARGET)
        met = all(v.get("met") for v in cal.values())
        scored = (results.get("calibration") or {}).get("scored_roles") or {}
        missed = [f"{x} {_f(scored[x].get('ece'), 3)}" for x in LABELS
                  if x in scored and not scored[x].get("met")]
        lines.append(f"- **Calibration** (ECE, {(results.get('calibration') or {}).get('bins')} "
                     "equal-width bins, all test utterances): " + "; ".join(
                         f"{x} {_f(cal[x].get('ece'), 3)}" for x in LABELS if x in cal)
                     + f" — target ≤ {target} "
                     + ("met for every label" if met else "NOT met for " + ", ".join(
                         x for x in LABELS if x in cal and not cal[x].get("met")))
                     + (". On the utterances of the roles a label is scored for, not met: "
                        + "; ".join(missed) if missed else
                        ". Also met on the roles each label is scored for" if scored else "")
                     + ".")
    hn = results.get("hard_negatives") or {}
    if hn:
        lines.append(f"- **Hard negatives** (behavioural suite, label_focus NONE, exact match of "
                     f"the empty label set): {_pct(hn.get('exact_match'))} of {hn.get('n')}.")
    cd = extras.get("crossdomain")
    if cd:
        parts = [f"{name}: " + ", ".join(
            f"{label} {_f(m.get('f1'))}" for label, m in (d.get("labels") or {}).items()
            if isinstance(m, dict))
            for name, d in (cd.get("datasets") or {}).items() if isinstance(d, dict)]
        lines.append("- **Cross-domain zero-shot** (F1 against other schemes' codes mapped to "
                     "the labels, section 6; the mappings are partial): "
                     + ("; ".join(parts) or "see section 6") + ".")
    overall = ((extras.get("known_groups") or {}).get("summary") or {}).get(
        "compassion", {}).get("all")
    if overall:
        lines.append(f"- **Known groups**: the score ranks the skilled version of "
                     f"{overall.get('right')} of {overall.get('n')} matched pairs higher "
                     f"({_ci(overall.get('share_right'), overall.get('ci95'))}; written pairs, "
                     "see section 7).")
    return lines


def section_kappa(k: dict | None) -> list[str]:
    if not k:
        return []
    labels = k.get("labels") or {}
    ann = k.get("annotators") or {}
    by_set = ann.get("by_set") or {}
    sets = [s for s in ("rounds 1-4", "round 5") if s in by_set]
    lines = ["", "## 1. Label agreement: model vs annotators", "",
             "Cohen's κ per label of the model against the corpus's final labels on the test "
             "split (every utterance, all roles; a label on a role it is not scored for counts "
             "as a false positive), with the annotator-vs-annotator κ of `data/agreement.json` "
             "(first vs blind second annotation of the double-annotated real items).", "",
             "| label | test positives | model κ (95 % CI) | F1 (95 % CI) | annotator κ, all "
             f"({ann.get('items', '?')} items) | " + " | ".join(
                 f"annotator κ, {s} ({by_set[s].get('items')})" for s in sets) + " |",
             "|---|---|---|---|---|" + "---|" * len(sets)]
    for x in LABELS:
        m = labels.get(x)
        if not m:
            continue
        lines.append(f"| {x} | {m.get('support', '–')} | {_ci(m.get('kappa'), m.get('kappa_ci95'))}"
                     f" | {_ci(m.get('f1'), m.get('f1_ci95'))} | "
                     f"{_f((ann.get('kappa') or {}).get(x))} | " + " | ".join(
                         _f((by_set[s].get("kappa") or {}).get(x)) for s in sets) + " |")
    ceilings = k.get("ceilings") or []
    if ceilings:
        lines += ["", "Published human agreement for similar schemes (as cited in issue 12):", ""]
        for c in ceilings:
            lines.append(f"- {c.get('scheme')}, {c.get('unit')}: κ {c.get('kappa')} "
                         f"(compare {', '.join(c.get('compare', []))}).")
        lines += ["", "The annotators here were AI annotator agents working to one guideline "
                  "(data/README.md), so their mutual κ is an upper bound of a different kind "
                  "from trained human coders' agreement; the human figures are the fairer "
                  "ceiling for what a coding scheme of this kind allows."]
    by_source = k.get("by_source") or {}
    if by_source:
        lines += ["", "Model κ per source (95 % CI; `–` where the source has no positives):", "",
                  "| source | encounters | utterances | " + " | ".join(LABELS) + " |",
                  "|---|---|---|" + "---|" * len(LABELS)]
        for source, m in by_source.items():
            cells = []
            for x in LABELS:
                c = (m.get("labels") or {}).get(x) or {}
                mark = "†" if c.get("support") and c["support"] < MIN_POSITIVES else ""
                cells.append("–" if not c.get("support") else
                             f"{_ci(c.get('kappa'), c.get('kappa_ci95'))}{mark} "
                             f"[{c.get('support')}]")
            lines.append(f"| {source} | {m.get('encounters')} | {m.get('utterances')} | "
                         + " | ".join(cells) + " |")
        lines += ["", "[n] = gold positives of the label in that source's test rows; † fewer "
                  f"than {MIN_POSITIVES}: the κ says little."]
    return lines


def section_encounters(e: dict | None) -> list[str]:
    if not e:
        return []
    lines = ["", "## 2. Encounter level: measures from model labels vs from gold labels", "",
             f"Of the {e.get('test_encounters', '?')} test encounters, "
             f"**{e.get('fully_annotated', '?')}** are fully annotated (every utterance of the "
             "encounter was annotated and is in the test split: the round-5 `whole` encounters, "
             "checked against `data/annotation/manifest_r5.jsonl`); the others hold sampled "
             "utterances only, so no encounter measure can be computed from them. By source: "
             + ", ".join(f"{s} {n}" for s, n in (e.get("fully_annotated_by_source") or {})
                         .items()) + ". No meeting is fully annotated, so INCLUSIVE and the "
             "inclusiveness component are not tested at this level.", "",
             "Each encounter is rebuilt from its corpus rows (turns, speakers, roles) and "
             "scored twice with the project's own code (`link_cues`, `compassion_score`, "
             "`encounter_row`, as `Scorer.score_encounters` does): once from the gold label "
             "matrix, once from the model's. Spearman ρ between the two (95 % CI, encounters "
             f"resampled; an interval only with n ≥ {MIN_N_CI}; encounters where the measure is "
             "undefined on either side — no cue episode, for the response rate — are left "
             "out, hence n).", ""]
    pooled = e.get("pooled")
    groups = [("pooled", pooled)] + [(s, v.get("measures")) for s, v in
                                     (e.get("by_source") or {}).items()]
    per = e.get("encounters") or []
    reps = REPS

    def sparse(name: str, k: str) -> bool:
        """Fewer than MIN_POSITIVES encounters of the group where the gold value is > 0."""
        if k == "compassion_score" or not per:
            return False
        items = [x for x in per if name == "pooled" or x.get("source") == name]
        return sum(1 for x in items if ((x.get("gold") or {}).get(k) or 0) > 0) < MIN_POSITIVES

    flagged = False
    lines += ["| measure | " + " | ".join(
        f"{name} ρ (n)" for name, _ in groups) + " | gold mean | model mean | mean abs. "
              "difference |", "|---|" + "---|" * (len(groups) + 3)]
    for k in MEASURES:
        cells = []
        for name, group in groups:
            m = (group or {}).get(k) if group else None
            if not m:
                cells.append("–")
                continue
            mark = ""
            used = m.get("resamples_used")
            if (used is not None and used < 0.9 * reps) or sparse(name, k):
                mark, flagged = "‡", True
            cells.append(f"{_ci(m.get('rho'), m.get('ci95'))}{mark} ({m.get('n')})")
        p = (pooled or {}).get(k) or {}
        lines.append(f"| {MEASURE_NAMES.get(k, k)} | " + " | ".join(cells) +
                     f" | {_f(p.get('gold_mean'))} | {_f(p.get('model_mean'))} | "
                     f"{_f(p.get('mean_abs_difference'))} |")
    if per:
        few = sum(1 for x in per if ((x.get("gold") or {}).get("cue_episodes") or 0) <= 1)
        lines += ["", f"{few} of the {len(per)} encounters have at most one gold cue episode "
                  "(a Counsel Chat question is one turn): there, one decision on the first two "
                  "responding utterances after the cue flips the response rate between 0 and 1 "
                  "and moves the compassion score by tens of points, which is why the score's "
                  "mean absolute difference is large while the label rates agree well."]
    if flagged:
        lines += ["", f"‡ Not to be read as a correlation: fewer than {MIN_POSITIVES} "
                  "encounters have a non-zero gold value, or more than 10 % of the resamples had "
                  "a constant side (ρ undefined), so the interval comes from a biased subset "
                  "and may not even contain the estimate."]
    small = [s for s, v in (e.get("by_source") or {}).items() if v.get("n", 0) < MIN_N_CI]
    if small:
        lines += ["", "Too few encounters for an interval: " + ", ".join(
            f"{s} (n = {e['by_source'][s].get('n')})" for s in small) + "."]
    if e.get("incomplete_whole"):
        lines += ["", f"Left out: {len(e['incomplete_whole'])} `whole` encounter(s) with "
                  "utterances missing from the test split."]
    return lines


def section_calibration(c: dict | None) -> list[str]:
    if not c:
        return []
    labels = c.get("labels") or {}
    scored = c.get("scored_roles") or {}
    target = c.get("target", ECE_TARGET)
    lines = ["", "## 3. Calibration", "",
             f"Expected calibration error of the calibrated probabilities, {c.get('bins')} "
             "equal-width bins on [0, 1] (weighted mean |mean probability − observed "
             "frequency|; `evaluation/classifier/evaluate.py`'s `ece`), on every test "
             "utterance, and on the utterances of the roles each label is scored for "
             f"(clinician/leader; patient/staff for CUE). Target: ECE ≤ {target}.", "",
             "| label | ECE, all utterances | target met | ECE, scored roles (n) | target met | "
             "plot |", "|---|---|---|---|---|---|"]
    for x in LABELS:
        m = labels.get(x)
        if not m:
            continue
        s = scored.get(x) or {}
        plot = f"reliability_{x}.png"
        link = f"![{x}](validity/{plot})" if plot in (c.get("plots") or []) else "–"
        lines.append(f"| {x} | {_f(m.get('ece'), 3)} | {'yes' if m.get('met') else 'NO'} | "
                     f"{_f(s.get('ece'), 3)} ({s.get('n', '–')}) | "
                     f"{'yes' if s.get('met') else ('NO' if s else '–')} | {link} |")
    lines += ["", "Most utterances get a probability near 0 and carry no label, so a small ECE "
              "mostly reflects the empty bins near 0; the plots show the sparse high-probability "
              "bins (counts on the lower panel, log scale), where the miscalibration is."]
    return lines


def section_errors(e: dict | None) -> list[str]:
    if not e:
        return []
    labels = e.get("labels") or {}
    lines = ["", "## 4. Error analysis", "",
             "Every false positive (FP) and false negative (FN) of the test split, sorted by "
             "rules (`rule_category` in validity.py: regular expressions for courtesy sorry, "
             "reassurance, closed history questions, chairing, ritual thanks, negation; roles), "
             "and how many lie within ±0.1 of the label's threshold:", "",
             "| label | FP | FP by rule | FP by source | FN | FN by rule | FN by source | near "
             "threshold (FP / FN) |", "|---|---|---|---|---|---|---|---|"]
    for x in LABELS:
        m = labels.get(x)
        if not m:
            continue
        fp, fn = m.get("fp") or {}, m.get("fn") or {}
        def counts(d: dict | None) -> str:
            return "; ".join(f"{k} {v}" for k, v in (d or {}).items())

        lines.append(f"| {x} | {fp.get('n')} | {counts(fp.get('rules'))} | "
                     f"{counts(fp.get('by_source'))} | {fn.get('n')} | {counts(fn.get('rules'))} "
                     f"| {counts(fn.get('by_source'))} | {fp.get('near_threshold')} / "
                     f"{fn.get('near_threshold')} |")
    targeted = ("courtesy sorry", "reassurance", "history-taking / closed question",
                "procedural chairing", "ritual thanks", "negation")
    fps = [(labels.get(x) or {}).get("fp") or {} for x in LABELS]
    hit = sum(v for f in fps for k, v in (f.get("rules") or {}).items() if k in targeted)
    total = sum(f.get("n") or 0 for f in fps)
    lines += ["", f"The hard-negative rules (courtesy sorry, reassurance, closed questions, "
              f"chairing, ritual thanks, negation) match {hit} of the {total} false positives; "
              "the rest are finer distinctions, read by hand below."]
    lines += ["", f"Hand categories: a fixed-seed sample (seed {SEED}) of up to "
              f"{HAND_PER_LABEL} errors per label, half FP and half FN where there are enough, "
              "read in context and categorised (`evaluation/validity/error_categories.csv`: "
              "utterance id, label, error type, category).", "",
              "| label | categorised | FP categories | FN categories |", "|---|---|---|---|"]
    for x in LABELS:
        h = (labels.get(x) or {}).get("hand") or {}
        if not h:
            continue
        lines.append(f"| {x} | {h.get('categorised')}/{h.get('sampled')} | " + "; ".join(
            f"{k} {v}" for k, v in (h.get("fp") or {}).items()) + " | " + "; ".join(
            f"{k} {v}" for k, v in (h.get("fn") or {}).items()) + " |")
    missing = sum(len(((labels.get(x) or {}).get("hand") or {}).get("missing") or [])
                  for x in LABELS)
    if missing:
        lines += ["", f"**{missing} sampled errors have no hand category** (the model or the "
                  "corpus changed since the file was written): run "
                  "`python evaluation/validity/validity.py --worksheet` and categorise them."]
    totals: Counter = Counter()
    for x in LABELS:
        h = (labels.get(x) or {}).get("hand") or {}
        totals.update(h.get("fp") or {})
        totals.update(h.get("fn") or {})
    if totals:
        lines += ["", "All labels together: " + "; ".join(
            f"{k} {v}" for k, v in totals.most_common()) + "."]
    lines += ["", "Categories: " + "; ".join(f"*{k}*: {v}" for k, v in HAND_CATEGORIES.items())
              + "."]
    return lines


def section_hard_negatives(h: dict | None) -> list[str]:
    if not h:
        return []
    lines = ["", "## 5. Hard negatives (behavioural suite)", "",
             f"The {h.get('n')} items of `evaluation/behaviour/suite.jsonl` whose gold label set "
             "is empty (`label_focus` NONE), single utterances with their previous turn; exact "
             f"match = the model gives no label. Overall **{_pct(h.get('exact_match'))}**.", "",
             "| capability | n | exact match | labels wrongly given |", "|---|---|---|---|"]
    for cap, m in (h.get("by_capability") or {}).items():
        lines.append(f"| {cap} | {m.get('n')} | {_pct(m.get('exact_match'))} | " + (", ".join(
            f"{k} {v}" for k, v in (m.get("false_labels") or {}).items()) or "–") + " |")
    focus = h.get("by_label_focus") or {}
    if focus:
        lines += ["", f"The whole suite ({h.get('suite_n')} items): exact match "
                  f"{_pct(h.get('suite_exact_match'))}; by label focus: " + ", ".join(
                      f"{k} {_pct(v.get('exact_match'))} (n = {v.get('n')})"
                      for k, v in focus.items()) + "."]
    return lines


def _prf_cells(m: dict) -> str:
    parts = []
    for key, short in (("precision", "P"), ("recall", "R"), ("f1", "F1")):
        if m.get(key) is not None:
            parts.append(f"{short} {_ci(m.get(key), _first(m, key + '_ci95', key + '_ci'))}")
    if m.get("support") is not None:
        parts.append(f"n+ {m['support']}")
    return "; ".join(parts) or "–"


def _label_rows(labels: dict) -> list[str]:
    rows = []
    for label, m in (labels or {}).items():
        if not isinstance(m, dict):
            continue
        rows.append(f"| {label} | {_first(m, 'support', 'positives', default='–')} | "
                    f"{_f(m.get('base_rate'))} | {_f(m.get('predicted_rate'))} | "
                    f"{_ci(m.get('precision'), m.get('precision_ci95'))} | "
                    f"{_ci(m.get('recall'), m.get('recall_ci95'))} | "
                    f"{_ci(m.get('f1'), _first(m, 'f1_ci95', 'f1_ci'))} | "
                    f"{_f(m.get('kappa'))} |")
    return rows


def section_crossdomain(d: dict | None) -> list[str]:
    lines = ["", "## 6. Cross-domain, zero-shot", ""]
    if not d:
        return lines + ["Not run: `python evaluation/validity/crossdomain.py` (then this "
                        "command again, or `--all`)."]
    datasets = d.get("datasets")
    if not isinstance(datasets, dict):
        datasets = {k: v for k, v in d.items() if isinstance(v, dict) and "labels" in v}
    if d.get("description") or d.get("note"):
        lines += [str(d.get("description") or d.get("note")), ""]
    boot = d.get("bootstrap")
    if isinstance(boot, dict):
        unit = boot.get("unit")
        unit = ", ".join(f"{k}: {v}" for k, v in unit.items()) if isinstance(unit, dict) else unit
        lines += [f"Model `{d.get('model', '?')}` in {d.get('precision', '?')}; intervals "
                  f"{boot.get('interval', '95 %')}, {boot.get('reps', '?')} resamples "
                  f"(unit: {unit}). Source: `evaluation/validity/crossdomain.json`.", ""]
    if not datasets:
        return lines + ["`crossdomain.json` holds no per-dataset results (keys: "
                        + ", ".join(sorted(d)) + ")."]
    header_row = ["| label | positives | base rate | predicted rate | precision (95 % CI) | "
                  "recall (95 % CI) | F1 (95 % CI) | κ |", "|---|---|---|---|---|---|---|---|"]
    for name, ds in datasets.items():
        if not isinstance(ds, dict):
            continue
        header = f"**{name}**"
        n = _first(ds, "utterances", "n", "items")
        if n is not None:
            header += f" ({n} utterances"
            groups = ds.get("groups")
            header += f", {groups} groups)" if groups is not None else ")"
        lines += [header, ""]
        mapping = ds.get("mapping")
        if isinstance(mapping, dict) and mapping:
            lines += ["Mapping: " + "; ".join(f"{k} → {v}" for k, v in mapping.items()) + ".",
                      ""]
        caveats = ds.get("caveats")
        if isinstance(caveats, dict) and caveats:
            lines += ["Caveats: " + "; ".join(f"{k}: {v}" for k, v in caveats.items()) + ".", ""]
        elif isinstance(caveats, str) and caveats:
            lines += [f"Caveats: {caveats}", ""]
        lines += header_row + _label_rows(ds.get("labels") or {})
        clean = ds.get("without_overlap")
        overlap = ds.get("overlap") or {}
        if isinstance(clean, dict) and clean.get("labels"):
            lines += ["", f"Without the {overlap.get('utterances', '?')} utterances whose text "
                      "is also in the training corpus:", ""] + header_row \
                + _label_rows(clean["labels"])
        elif isinstance(clean, str):
            lines += ["", f"Overlap with the training corpus: {clean}."]
        lines.append("")
    return lines


def section_known_groups(d: dict | None) -> list[str]:
    """The layout of ``known_groups.py``: ``summary[measure][group]``."""
    lines = ["", "## 7. Known groups", ""]
    if not d:
        return lines + ["Not run: `python evaluation/validity/known_groups.py` (then this "
                        "command again, or `--all`)."]
    summary = d.get("summary") or {}
    score = summary.get("compassion") or {}
    if not score:
        return lines + ["`known_groups.json` holds no recognised keys ("
                        + ", ".join(sorted(d)) + ")."]
    lines += [
        f"{d.get('n_pairs', '?')} matched pairs of conversations written for this purpose "
        "(`evaluation/validity/known_groups/`: synthetic, evaluation only, never training): "
        "the same patient or staff turns word for word, only the clinician's or leader's turns "
        "differ in skill (a large or a subtle gap). A pair is ranked right when the skilled "
        "version is strictly better; ties and undefined values count as wrong. Model "
        f"`{d.get('model', '?')}` ({d.get('backend', '?')} {d.get('precision', '?')}).", "",
        "| pairs | n | compassion score ranked right (95 % CI) | mean score difference "
        "(95 % CI) | response rate higher | fewer missed opportunities |",
        "|---|---|---|---|---|---|",
    ]
    for group, m in score.items():
        rate = (summary.get("response_rate") or {}).get(group) or {}
        missed = (summary.get("missed_opportunities") or {}).get(group) or {}
        lines.append(
            f"| {group.replace('=', ': ').replace(',', ', ')} | {m.get('n', '–')} | "
            f"{_ci(m.get('share_right'), m.get('ci95'))} | "
            f"{_ci(m.get('mean_difference'), m.get('mean_difference_ci95'), 1)} | "
            f"{_ci(rate.get('share_right'), rate.get('ci95'))} | "
            f"{_ci(missed.get('share_right'), missed.get('ci95'))} |")
    wrong = {k: v for k, v in (d.get("ranked_wrong") or {}).items() if v}
    lines += ["", "Pairs ranked wrong: " + ("; ".join(
        f"{MEASURE_NAMES.get(k, k)}: {', '.join(map(str, v))}" for k, v in wrong.items())
        or "none") + ".", "",
        "The skilled turns were written from the codebook's definitions, close to the talk the "
        "model was trained on: a check that the score moves with the behaviours it claims to "
        "measure, not proof that it separates real clinicians whose skill differs in less "
        "textbook ways (see `known_groups/README.md`)."]
    return lines


def section_epitome(d: dict | None) -> list[str]:
    lines = ["", "## 8. EPITOME", ""]
    if not d:
        return lines + ["not run: `python evaluation/validity/epitome.py --data PATH`"]
    shown = {k: v for k, v in d.items() if not isinstance(v, (dict, list))}
    lines += [f"- {k}: {_f(v) if isinstance(v, float) else v}" for k, v in shown.items()]
    for name, m in d.items():
        if isinstance(m, dict) and any(isinstance(v, dict) for v in m.values()):
            lines += ["", f"**{name}**", ""]
            for label, x in m.items():
                if isinstance(x, dict):
                    lines.append(f"- {label}: {_prf_cells(x)}")
    return lines


# ---------------------------------------------------------------- main


def _extras() -> dict[str, dict | None]:
    out = {}
    for name in ("crossdomain", "known_groups", "epitome"):
        path = HERE / f"{name}.json"
        try:
            out[name] = json.loads(path.read_text()) if path.exists() else None
        except json.JSONDecodeError:
            out[name] = None
    return out


def _run_sibling(name: str, argv: list[str]) -> None:
    """Import ``evaluation/validity/<name>.py`` and call its ``main(argv)`` (``--all``)."""
    path = HERE / f"{name}.py"
    if not path.exists():
        print(f"{path.relative_to(REPO)} not found: skipped", file=sys.stderr)
        return
    spec = importlib.util.spec_from_file_location(f"validity_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        module.main(argv)
    finally:
        del sys.modules[spec.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--all", action="store_true",
                        help="run crossdomain.py and known_groups.py first (where present)")
    parser.add_argument("--render", action="store_true",
                        help="only render VALIDITY.md from the stored validity.json")
    parser.add_argument("--worksheet", action="store_true",
                        help="print the sampled errors that have no hand category yet")
    args = parser.parse_args()
    if args.worksheet:
        print(worksheet(args.model.resolve(), args.corpus.resolve(), threads=args.threads))
        return
    if args.all:
        for name in ("crossdomain", "known_groups"):
            _run_sibling(name, ["--model", str(args.model), "--threads", str(args.threads)])
    if not args.render:
        results = measure(args.model.resolve(), args.corpus.resolve(), threads=args.threads)
        RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    results = json.loads(RESULTS.read_text())
    REPORT.write_text(render(results, _extras()))
    written = [REPORT] if args.render else [RESULTS, REPORT]
    print("wrote " + " and ".join(str(p.relative_to(REPO)) for p in written))


if __name__ == "__main__":
    main()
