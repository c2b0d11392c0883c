"""Known-groups check (issue 12): does the score rank the skilled clinician above the weaker one?

The pairs in ``evaluation/validity/known_groups/`` (see its README) are conversations written
for this check: in each pair the patient's, relative's or staff members' turns are the same word
for word, and only the clinician's or leader's turns differ. One version is skilled (names
feelings, confirms the worry is legitimate, follows cues up, invites contributions), the other
realistic but weaker (hurried, moves on, reassures the worry away). A valid score should rank
the skilled version higher.

Each file is scored with the shipped model (:func:`compassion_nlp.scoring.load`, then
``scorer(path)``), and for each measure the script reports the share of pairs ranked right:

- ``compassion``: the 0-100 compassion score; right when skilled > weaker;
- ``response_rate``: share of cue episodes answered; right when skilled > weaker;
- ``missed_opportunities``: cue episodes missed; right when skilled < weaker (fewer is better).

**Ties count as wrong**, and so does a pair where either version has no value (a response rate
with no cue episode, an unscorable encounter): the check asks for a strictly better rank. Ties
and undefined pairs are counted separately in the output. Each share comes with a 95 % Wilson
interval, overall, by gap (``large``/``subtle``), by kind (``consultation``/``meeting``) and by
kind and gap; the mean difference (skilled minus weaker) comes with a 95 % percentile bootstrap
interval over pairs (10,000 resamples, fixed seed).

Writes ``evaluation/validity/known_groups.json`` (numbers and file names only, no transcript
text) and prints a table.

Usage::

    PYTHONPATH=. python evaluation/validity/known_groups.py            # shipped model
    python evaluation/validity/known_groups.py --model models/compassion-minilm --threads 1
    python evaluation/validity/known_groups.py --out /tmp/kg.json
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAIRS_DIR = HERE / "known_groups"
DEFAULT_OUT = HERE / "known_groups.json"
#: measure -> True when a higher value is better
MEASURES: dict[str, bool] = {
    "compassion": True,
    "response_rate": True,
    "missed_opportunities": False,
}
Z95 = 1.959963984540054
BOOTSTRAP = 10_000
SEED = 12


def load_pairs(folder: Path = PAIRS_DIR) -> list[dict[str, str]]:
    """The rows of ``pairs.csv``."""
    with open(folder / "pairs.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes out of ``n`` (NaN, NaN when ``n`` is 0)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _defined(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def ranked_right(skilled: float | None, weaker: float | None, higher_is_better: bool = True
                 ) -> bool:
    """Whether the skilled version ranks strictly better; a tie or a missing value is wrong."""
    if not (_defined(skilled) and _defined(weaker)):
        return False
    assert skilled is not None and weaker is not None
    return skilled > weaker if higher_is_better else skilled < weaker


def bootstrap_mean_ci(values: Sequence[float], *, n: int = BOOTSTRAP, seed: int = SEED
                      ) -> tuple[float, float]:
    """A 95 % percentile bootstrap interval for the mean of ``values``."""
    import numpy as np

    x = np.asarray([v for v in values if _defined(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n, len(x)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def summarise(pairs: Sequence[Mapping[str, Any]], measure: str, higher_is_better: bool
              ) -> dict[str, Any]:
    """Share ranked right (with its Wilson interval), ties, undefined, and the mean
    difference skilled minus weaker (with a bootstrap interval), over ``pairs``; each pair
    holds ``skilled`` and ``weaker`` mappings of measure -> value."""
    right = ties = undefined = 0
    diffs: list[float] = []
    for p in pairs:
        s, w = p["skilled"].get(measure), p["weaker"].get(measure)
        if not (_defined(s) and _defined(w)):
            undefined += 1
            continue
        diffs.append(float(s) - float(w))
        if s == w:
            ties += 1
        elif ranked_right(s, w, higher_is_better):
            right += 1
    n = len(pairs)
    lo, hi = wilson(right, n)
    mlo, mhi = bootstrap_mean_ci(diffs)
    return {
        "n": n, "right": right, "wrong": n - right - ties - undefined, "ties": ties,
        "undefined": undefined,
        "share_right": round(right / n, 4) if n else None,
        "ci95": [_round(lo), _round(hi)],
        "mean_difference": _round(sum(diffs) / len(diffs)) if diffs else None,
        "mean_difference_ci95": [_round(mlo), _round(mhi)],
    }


def _round(x: float, digits: int = 4) -> float | None:
    return None if not _defined(x) else round(x, digits)


def groups(pairs: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """The pairs overall, by gap, by kind, and by kind and gap."""
    out: dict[str, list[Mapping[str, Any]]] = {"all": list(pairs)}
    for key in ("gap", "kind"):
        for value in sorted({p[key] for p in pairs}):
            out[f"{key}={value}"] = [p for p in pairs if p[key] == value]
    for kind in sorted({p["kind"] for p in pairs}):
        for gap in sorted({p["gap"] for p in pairs}):
            sel = [p for p in pairs if p["kind"] == kind and p["gap"] == gap]
            if sel:
                out[f"kind={kind},gap={gap}"] = sel
    return out


def report(pairs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each measure, :func:`summarise` of every group of :func:`groups`."""
    return {m: {g: summarise(sel, m, better) for g, sel in groups(pairs).items()}
            for m, better in MEASURES.items()}


def measures_of(scored: Any) -> dict[str, Any]:
    """The numbers the check needs from a :class:`~compassion_nlp.scoring.ScoredEncounter`."""
    row = scored.encounter_row()
    comps = scored.compassion.components
    return {
        "compassion": _round(float(scored.compassion.value), 2),
        "response_rate": _round(float(row["response_rate"])),
        "missed_opportunities": int(row["missed_opportunities"]),
        "cue_episodes": int(row["cue_episodes"]),
        "cues": int(row["cues"]),
        "components": {k: _round(float(v)) for k, v in comps.items()},
        "setting": scored.encounter.setting,
        "unscorable": scored.compassion.unscorable,
    }


def score_pairs(rows: Iterable[Mapping[str, str]], score_file: Callable[[Path], Any],
                folder: Path = PAIRS_DIR) -> list[dict[str, Any]]:
    """Score both files of every pair with ``score_file`` (a path -> ScoredEncounter)."""
    out = []
    for r in rows:
        pair: dict[str, Any] = {k: r[k] for k in ("pair_id", "setting", "kind", "gap",
                                                  "skilled_file", "weaker_file")}
        for version in ("skilled", "weaker"):
            pair[version] = measures_of(score_file(folder / r[f"{version}_file"]))
        pair["ranked_right"] = {m: ranked_right(pair["skilled"][m], pair["weaker"][m], better)
                                for m, better in MEASURES.items()}
        out.append(pair)
    return out


def _fmt_share(s: Mapping[str, Any]) -> str:
    lo, hi = s["ci95"]
    return f"{s['right']:>2}/{s['n']:<2} {s['share_right']:.0%} [{lo:.0%}, {hi:.0%}]"


def table(summary: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """The printed table: one row per group, one column per measure."""
    names = list(next(iter(summary.values())))
    width = max(len(n) for n in names) + 2
    head = "group".ljust(width) + "".join(f"{m:<34}" for m in summary)
    lines = [head, "-" * len(head)]
    for g in names:
        cells = []
        for m in summary:
            s = summary[m][g]
            extra = f" t{s['ties']}" if s["ties"] else ""
            extra += f" u{s['undefined']}" if s["undefined"] else ""
            cells.append(f"{_fmt_share(s) + extra:<34}")
        lines.append(g.ljust(width) + "".join(cells))
    lines.append("")
    lines.append("right/n share [95 % Wilson CI]; t = ties, u = undefined (both count as wrong)")
    lines.append("mean difference skilled - weaker [95 % bootstrap CI], all pairs:")
    for m in summary:
        s = summary[m]["all"]
        lo, hi = s["mean_difference_ci95"]
        lines.append(f"  {m}: {s['mean_difference']} [{lo}, {hi}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pairs", type=Path, default=PAIRS_DIR, help="folder with pairs.csv")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    from compassion_nlp.scoring import load

    rows = load_pairs(args.pairs)
    started = time.perf_counter()
    scorer = load(args.model, precision=args.precision, threads=args.threads)
    pairs = score_pairs(rows, scorer, args.pairs)
    summary = report(pairs)
    info = scorer.model_info
    result = {
        "what": "known-groups check (issue 12): share of matched pairs where the skilled "
                "version ranks strictly better; ties and undefined values count as wrong",
        "pairs_folder": str(args.pairs.relative_to(HERE.parents[1])
                            if args.pairs.is_relative_to(HERE.parents[1]) else args.pairs),
        "model": Path(scorer.spec.model).name if scorer.spec else None,
        "precision": info.get("precision"),
        "backend": info.get("backend", "torch"),
        "n_pairs": len(pairs),
        "summary": summary,
        "ranked_wrong": {m: [p["pair_id"] for p in pairs if not p["ranked_right"][m]]
                         for m in MEASURES},
        "pairs": pairs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(table(summary))
    for m in MEASURES:
        wrong = result["ranked_wrong"][m]
        print(f"ranked wrong on {m}: {', '.join(wrong) if wrong else 'none'}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
