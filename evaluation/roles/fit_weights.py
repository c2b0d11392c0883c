"""Fit the weights of the content-cue models of :mod:`compassion_nlp.roles` (tune split only).

Two logistic regressions on the features that :mod:`compassion_nlp.roles` computes from the
relabelled tuning encounters (see ``evaluate.py`` for the splits):

* consultations: one row per speaker, features relative to the other speakers, no intercept
  (swapping two speakers swaps the answer); reference clinician = 1, patient = 0;
* meetings: one row per speaker; reference leader = 1, staff = 0.

Each corpus (each QMSum domain, and MTS-Dialog's encounters with three or more speakers
apart from its two-speaker ones) weighs the same in the fit, and inside a corpus each
encounter weighs the same, so that 1,200 short MTS-Dialog snippets or 60 one-question members
of parliament do not drown the rest. Prints the weights; ``--write`` stores them in
``compassion_nlp/resources/role_weights.json``, which :mod:`compassion_nlp.roles` loads.
``--cv`` also prints a grouped (by encounter) 5-fold cross-validation inside the tune half.

Usage::

    python evaluation/roles/fit_weights.py [--data ../shared/data/transcripts] [--C 1.0] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as ev  # noqa: E402

from compassion_nlp import roles  # noqa: E402

WEIGHTS = Path(roles.__file__).parent / "resources" / "role_weights.json"
FITTED_BY = "evaluation/roles/fit_weights.py (tuning half of the shared corpora)"


def rows(cases: list[ev.Case], setting: str, drop: tuple[str, ...] = ()
         ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Feature rows, reference (1 = clinician/leader), sample weights, (corpus, encounter)."""
    xs: list[list[float]] = []
    ys: list[int] = []
    groups: list[tuple[str, str]] = []
    names: list[str] = []
    for case in cases:
        if case.gold_setting != setting or not case.gold:
            continue
        enc, old_of = ev.relabel(case.encounter, "speaker")
        stats = roles._speaker_stats(enc)
        feats = (roles._clinical_features(stats) if setting == "clinical"
                 else roles._meeting_features(stats))
        for new, x in feats.items():
            ref = case.gold.get(old_of[new])
            if ref is None:
                continue
            names = sorted(k for k in x if k not in drop)
            xs.append([x[k] for k in names])
            ys.append(int(ref in ("clinician", "leader")))
            many = " (3+ speakers)" if setting == "clinical" and len(case.gold) > 2 else ""
            groups.append((f"{case.corpus}/{case.subset}{many}", case.encounter.id))
    per_corpus = Counter(g[0] for g in {g for g in groups})
    per_enc = Counter(groups)
    w = np.array([1.0 / per_corpus[g[0]] / per_enc[g] for g in groups])
    return names, np.array(xs), np.array(ys), w * len(w) / w.sum(), groups


def cross_validate(x: np.ndarray, y: np.ndarray, w: np.ndarray, groups: list[tuple[str, str]],
                   intercept: bool, c: float, folds: int = 5, threshold: float = 0.7) -> None:
    """Grouped (by encounter) cross-validation inside the tuning half: per corpus, the
    share of speakers with p or 1-p over the threshold and the accuracy among them."""
    from sklearn.model_selection import GroupKFold

    enc = np.array([g[1] for g in groups])
    probs = np.zeros(len(y))
    for train, test in GroupKFold(folds).split(x, y, enc):
        model = LogisticRegression(C=c, fit_intercept=intercept, max_iter=5000)
        model.fit(x[train], y[train], sample_weight=w[train])
        probs[test] = model.predict_proba(x[test])[:, 1]
    corpus = np.array([g[0] for g in groups])
    for name in sorted(set(corpus)):
        m = corpus == name
        p, t = probs[m], y[m]
        sure = (p >= threshold) | (p <= 1 - threshold)
        acc = ((p[sure] >= 0.5) == t[sure]).mean() if sure.any() else 0.0
        print(f"#   cv {name:22s} n={m.sum():5d} covered={sure.mean():.1%} acc={acc:.1%} "
              f"wrong={int(((p[sure] >= 0.5) != t[sure]).sum())}")
    top: dict[str, list[int]] = {}
    for g in sorted(set(groups)):
        m = np.array([gg == g for gg in groups])
        best = int(np.argmax(probs[m]))
        top.setdefault(g[0], []).append(int(y[m][best]))
    for name, hits in sorted(top.items()):
        print(f"#   cv {name:22s} top-ranked speaker is a responder in "
              f"{sum(hits)}/{len(hits)} encounters")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ev.DEFAULT_DATA)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--write", action="store_true",
                    help="write the weights to compassion_nlp/resources/role_weights.json")
    ap.add_argument("--cv", action="store_true", help="also cross-validate inside tune")
    ap.add_argument("--drop", nargs="*", default=[], help="features to leave out")
    ap.add_argument("--only", choices=("clinical", "meeting"), default=None)
    ap.add_argument("--evidence-turns", type=float, default=None,
                    help="roles.CLINICAL_EVIDENCE_TURNS to use (default: as in roles.py)")
    args = ap.parse_args(argv)
    if args.evidence_turns is not None:
        roles.CLINICAL_EVIDENCE_TURNS = args.evidence_turns
    cases = list(ev.load_cases(args.data, split="tune"))
    fitted: dict[str, dict[str, float]] = {}
    for setting, intercept in (("clinical", False), ("meeting", True)):
        if args.only and setting != args.only:
            continue
        names, x, y, w, groups = rows(cases, setting, tuple(args.drop))
        if args.cv:
            cross_validate(x, y, w, groups, intercept, args.C)
        model = LogisticRegression(C=args.C, fit_intercept=intercept, max_iter=5000)
        model.fit(x, y, sample_weight=w)
        acc = (model.predict(x) == y).mean()
        print(f"# {setting}: {len(y)} speakers, {y.sum()} responders, train acc {acc:.3f}")
        weights = dict(zip(names, model.coef_[0], strict=True))
        if intercept:
            weights = {"bias": float(model.intercept_[0]), **weights}
        fitted[setting] = {k: round(float(v), 3) for k, v in weights.items()}
    if args.write and not args.only:
        WEIGHTS.write_text(json.dumps({"fitted_by": FITTED_BY, **fitted}, indent=2) + "\n")
        print(f"wrote {WEIGHTS}")
    else:
        print(json.dumps(fitted, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
