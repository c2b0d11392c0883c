"""The validity report (evaluation/validity/validity.py): its statistics, the encounter-measure
path from label matrices, the error sample and the renderer. Offline and fast: no model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compassion_nlp.model import LABELS
from evaluation.validity import validity as v

E, C, P, Q = (LABELS.index(x) for x in ("EMPATHIC", "CONFIRMING", "PURSUING", "CUE"))


# ---------------------------------------------------------------- statistics


def test_ece_on_hand_made_probabilities() -> None:
    n = 10
    probs = np.zeros((n, len(LABELS)))
    targets = np.zeros((n, len(LABELS)))
    probs[:, E] = 0.8          # 8 of 10 positive: perfectly calibrated
    targets[:8, E] = 1
    probs[:, C] = 0.9          # 5 of 10 positive: ECE 0.4
    targets[:5, C] = 1
    probs[:5, P] = 0.25        # two bins: 0.25 with 0 positive, 0.75 with all positive
    probs[5:, P] = 0.75
    targets[5:, P] = 1
    table = v.ece_table(probs, targets)
    assert table["EMPATHIC"]["ece"] == pytest.approx(0.0, abs=1e-9)
    assert table["EMPATHIC"]["met"]
    assert table["CONFIRMING"]["ece"] == pytest.approx(0.4)
    assert not table["CONFIRMING"]["met"]
    assert table["PURSUING"]["ece"] == pytest.approx(0.25)
    assert [b["n"] for b in table["PURSUING"]["bins"]] == [5, 5]
    assert table["INCLUSIVE"]["ece"] == 0.0  # all 0 and all negative
    # probability 1.0 falls in the last bin, not outside it
    probs[:, Q] = 1.0
    targets[:, Q] = 1
    assert v.ece_table(probs, targets)["CUE"]["bins"][0]["bin"] == pytest.approx([0.9, 1.0])


def test_bootstrap_ci() -> None:
    constant = np.full(20, 3.0)
    lo, hi, used = v.bootstrap_ci(lambda i: float(constant[i].mean()), 20, reps=200)
    assert (lo, hi, used) == (3.0, 3.0, 200)
    x = np.arange(40, dtype=float)
    first = v.bootstrap_ci(lambda i: float(x[i].mean()), 40, reps=300, seed=1)
    assert first == v.bootstrap_ci(lambda i: float(x[i].mean()), 40, reps=300, seed=1)
    assert first[0] < x.mean() < first[1]
    assert first[1] - first[0] < 20
    # undefined resamples are skipped, and all-undefined gives NaN
    lo, hi, used = v.bootstrap_ci(lambda i: float("nan"), 5, reps=50)
    assert used == 0 and lo != lo and hi != hi


def test_spearman() -> None:
    assert v.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert v.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert v.spearman([1, 1, 1], [1, 2, 3]) != v.spearman([1, 1, 1], [1, 2, 3])  # NaN
    same = v.spearman_ci(list(range(12)), list(range(12)), reps=100)
    assert same["rho"] == pytest.approx(1.0)
    assert same["ci95"] == pytest.approx([1.0, 1.0])
    assert same["n"] == 12 and same["mean_abs_difference"] == 0.0
    # NaN pairs are dropped; below MIN_N_CI there is no interval
    few = v.spearman_ci([1, 2, float("nan"), 4, 5], [2, 1, 9, 3, 4], reps=50)
    assert few["n"] == 4 and "ci95" not in few and few["rho"] == pytest.approx(0.8)


# ---------------------------------------------------------------- encounters


def _rows(enc: str, turns: list[tuple[str, str, list[str]]], source: str = "mibot") -> list:
    """Corpus-like rows: one utterance per (speaker, role, labels) turn... or several."""
    rows = []
    for t, (speaker, role, texts) in enumerate(turns, 1):
        for u, text in enumerate(texts, 1):
            rows.append({"id": f"{enc}|t{t}.u{u}", "key": f"{enc}-{t}-{u}", "encounter_id": enc,
                         "source": source, "setting": "clinical", "turn_id": t,
                         "utterance_id": f"t{t}.u{u}", "speaker": speaker, "role": role,
                         "text": text})
    return rows


CONSULT = [
    ("Doctor", "clinician", ["Good morning.", "What brings you in today?"]),
    ("Pat", "patient", ["I am so worried it might be cancer."]),
    ("Doctor", "clinician", ["That sounds really frightening."]),
    ("Pat", "patient", ["My wife died and I have not been sleeping."]),
    ("Doctor", "clinician", ["Do you smoke?"]),
    ("Pat", "patient", ["No."]),
]


def _labels(n: int, marks: dict[int, list[int]]) -> np.ndarray:
    out = np.zeros((n, len(LABELS)), dtype=bool)
    for row, cols in marks.items():
        out[row, cols] = True
    return out


def test_encounter_from_rows_keeps_order_and_roles() -> None:
    rows = _rows("e1", CONSULT)
    encounter = v.encounter_from_rows(list(reversed(rows)))
    assert [u.id for u in encounter.utterances] == [r["utterance_id"] for r in rows]
    assert encounter.view.roles[:3] == ("clinician", "clinician", "patient")
    assert len(encounter.turns) == 6


def test_encounter_measures_from_gold_and_model_labels() -> None:
    encounter = v.encounter_from_rows(_rows("e1", CONSULT))
    n = len(encounter.utterances)
    # gold: two cues, the first answered (EMPATHIC), the second missed (a history question)
    gold = _labels(n, {2: [Q], 3: [E], 4: [Q]})
    row = v.encounter_measures(encounter, gold)
    assert row["cue_episodes"] == 2
    assert row["response_rate"] == 0.5
    assert row["missed_opportunities"] == 1
    assert row["empathic_per_10"] == pytest.approx(10 / 4)  # 1 of 4 clinician utterances
    assert row["cue_per_10"] == pytest.approx(10.0)  # "No." is a back-channel: 2 of 2
    # the model misses the empathic response and marks the history question PURSUING
    model = _labels(n, {2: [Q], 4: [Q], 5: [P]})
    row = v.encounter_measures(encounter, model)
    assert row["missed_opportunities"] == 1 and row["response_rate"] == 0.5
    assert row["empathic_per_10"] == 0 and row["pursuing_per_10"] == pytest.approx(2.5)
    # no cue at all: the response rate is undefined
    assert v.encounter_measures(encounter, _labels(n, {}))["response_rate"] != \
        v.encounter_measures(encounter, _labels(n, {}))["response_rate"]


def test_encounter_validity_identical_labels_give_rho_one() -> None:
    rows, gold_marks = [], []
    for k in range(12):
        enc_rows = _rows(f"e{k}", CONSULT, source="mibot" if k < 6 else "counsel_chat")
        rows += enc_rows
        # vary the labels between encounters so every measure varies
        marks = {2: [Q]} if k % 3 else {2: [Q], 4: [Q]}
        if k % 2:
            marks[3] = [E]
        if k % 4 == 0:
            marks[5] = [P]
        gold_marks.append(marks)
    gold = np.concatenate([_labels(7, m) for m in gold_marks])
    result = v.encounter_validity(rows, gold.astype(float), gold, [f"e{k}" for k in range(12)],
                                  reps=50)
    assert result["n"] == 12
    pooled = result["pooled"]
    for key in ("compassion_score", "response_rate", "missed_opportunities", "empathic_per_10"):
        assert pooled[key]["rho"] == pytest.approx(1.0), key
        assert pooled[key]["ci95"] == pytest.approx([1.0, 1.0])
    assert pooled["confirming_per_10"]["rho"] is None  # constant: undefined
    assert set(result["by_source"]) == {"mibot", "counsel_chat"}
    assert result["by_source"]["mibot"]["n"] == 6
    assert "ci95" not in result["by_source"]["mibot"]["measures"]["compassion_score"]
    # encounters come back in the order asked, rows matched by id whatever their order
    shuffled = list(reversed(rows))
    again = v.encounter_validity(shuffled, gold[::-1].astype(float), gold[::-1],
                                 [f"e{k}" for k in range(12)], reps=50)
    assert again["encounters"] == result["encounters"]


def test_fully_annotated_needs_every_manifest_item(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest_r5.jsonl"
    items = [{"key": "a1", "pool": "whole", "encounter_id": "A"},
             {"key": "a2", "pool": "whole", "encounter_id": "A"},
             {"key": "b1", "pool": "whole", "encounter_id": "B"},
             {"key": "b2", "pool": "whole", "encounter_id": "B"},
             {"key": "c1", "pool": "random5", "encounter_id": "C"}]
    manifest.write_text("\n".join(json.dumps(x) for x in items) + "\n")
    rows = [{"encounter_id": "A", "key": "a1"}, {"encounter_id": "A", "key": "a2"},
            {"encounter_id": "B", "key": "b1"}, {"encounter_id": "C", "key": "c1"}]
    assert v.fully_annotated(rows, [manifest]) == {"complete": ["A"], "incomplete_whole": ["B"]}


# ---------------------------------------------------------------- errors


def test_rule_categories() -> None:
    def row(text: str, role: str = "clinician") -> dict:
        return {"text": text, "role": role}

    assert v.rule_category(row("Sorry, I'll just close the window."), "EMPATHIC", "fp") == \
        "courtesy sorry"
    assert v.rule_category(row("I'm so sorry to hear that."), "EMPATHIC", "fp") != \
        "courtesy sorry"
    assert v.rule_category(row("Don't worry, it'll be fine."), "CONFIRMING", "fp") == \
        "reassurance"
    assert v.rule_category(row("Do you have any chest pain?"), "PURSUING", "fp") == \
        "history-taking / closed question"
    assert v.rule_category(row("Let's move on to item three.", "leader"), "INCLUSIVE",
                           "fp") == "procedural chairing"
    assert v.rule_category(row("I'm not worried about it at all.", "patient"), "CUE",
                           "fp") == "negation"
    assert v.rule_category(row("I am scared.", "clinician"), "CUE", "fp") == \
        "label on a role it is not scored for"
    assert v.rule_category(row(" ".join(["word"] * 45)), "EMPATHIC", "fn") == \
        "long multi-act utterance"


def test_error_sample_is_fixed_and_balanced() -> None:
    n = 60
    rows = [{"id": f"r{i:02d}"} for i in range(n)]
    gold = np.zeros((n, len(LABELS)))
    model = np.zeros((n, len(LABELS)), dtype=bool)
    gold[:20, E] = 1            # 20 false negatives of EMPATHIC
    model[30:40, E] = True      # 10 false positives
    model[40:43, C] = True      # 3 false positives of CONFIRMING, no negatives
    first = v.error_sample(rows, gold, model, per_label=16)
    assert first == v.error_sample(rows, gold, model, per_label=16)
    kinds = [k for _, k in first["EMPATHIC"]]
    assert kinds.count("fp") == 8 and kinds.count("fn") == 8
    assert [k for _, k in first["CONFIRMING"]] == ["fp"] * 3
    assert first["CUE"] == []
    # a short supply of one kind is filled by the other
    model[:, E] = False
    model[30:33, E] = True
    kinds = [k for _, k in v.error_sample(rows, gold, model, per_label=16)["EMPATHIC"]]
    assert kinds.count("fp") == 3 and kinds.count("fn") == 13


def test_error_categories_file_is_well_formed() -> None:
    """The committed hand categories: ids of the test split, known labels, types, categories."""
    hand = v.read_categories()
    if not hand:
        pytest.skip("no hand categories yet")
    test_ids = {json.loads(line)["id"] for line in v.CORPUS.read_text().splitlines()
                if line.strip() and '"split": "test"' in line}
    for (row_id, label), got in hand.items():
        assert row_id in test_ids, row_id
        assert label in LABELS
        assert got["error_type"] in ("fp", "fn")
        assert got["category"] in v.HAND_CATEGORIES, got["category"]


# ---------------------------------------------------------------- rendering


def _minimal() -> dict:
    lab = {x: {"kappa": 0.6, "kappa_ci95": [0.5, 0.7], "f1": 0.62, "f1_ci95": [0.5, 0.7],
               "support": 10} for x in LABELS}
    measures = {k: {"n": 12, "rho": 0.8, "ci95": [0.6, 0.9], "gold_mean": 1.0,
                    "model_mean": 1.1, "mean_abs_difference": 0.2} for k in v.MEASURES}
    return {
        "model": "models/compassion-minilm", "corpus": "data/corpus.jsonl",
        "settings": {"bootstrap_reps": 1000, "seed": 13, "precision": "float32"},
        "test_split": {"utterances": 100, "encounters": 20},
        "kappa": {"labels": lab, "annotators": {"items": 50, "kappa": dict.fromkeys(LABELS, 0.9),
                                                "by_set": {}},
                  "ceilings": v.CEILINGS},
        "encounter_level": {"n": 12, "test_encounters": 20, "fully_annotated": 12,
                            "fully_annotated_by_source": {"mibot": 12}, "pooled": measures,
                            "by_source": {"mibot": {"n": 12, "measures": measures}}},
        "calibration": {"bins": 10, "target": 0.05,
                        "labels": {x: {"ece": 0.01, "met": True, "bins": []} for x in LABELS},
                        "scored_roles": {x: {"ece": 0.07, "met": False, "n": 40}
                                         for x in LABELS}, "plots": []},
        "errors": {"labels": {x: {"fp": {"n": 3, "rules": {"no rule matched": 3},
                                         "near_threshold": 1},
                                  "fn": {"n": 2, "rules": {"short utterance": 2},
                                         "near_threshold": 0},
                                  "hand": {"sampled": 5, "categorised": 5, "missing": [],
                                           "fp": {"courtesy sorry": 3},
                                           "fn": {"context needed": 2}}} for x in LABELS}},
        "hard_negatives": {"n": 4, "exact_match": 0.75,
                           "by_capability": {"courtesy or repair sorry": {
                               "n": 4, "exact_match": 0.75, "false_labels": {"EMPATHIC": 1}}}},
    }


def test_render_minimal_without_sibling_results() -> None:
    text = v.render(_minimal(), {"crossdomain": None, "known_groups": None, "epitome": None})
    assert text.startswith("# Validity of the shipped model")
    assert text.index("## Headline numbers") < text.index("## 1.")
    assert "EMPATHIC 0.60 (0.50–0.70)" in text
    assert "compassion score (0–100) ρ = 0.80 (0.60–0.90)" in text
    assert "target ≤ 0.05 met for every label" in text
    assert "75.0 %" in text
    assert "Not run: `python evaluation/validity/crossdomain.py`" in text
    assert "Not run: `python evaluation/validity/known_groups.py`" in text
    assert "not run: `python evaluation/validity/epitome.py --data PATH`" in text
    assert "VR-CoDES" in text and "0.31–0.64" in text
    # and with almost nothing, nothing breaks
    assert "Not run" in v.render({})


def test_render_with_sibling_results() -> None:
    crossdomain = {"datasets": {"epitome-reddit": {"n": 300, "mapping": {"ER": "EMPATHIC"},
                                                   "labels": {
        "EMPATHIC": {"precision": 0.5, "recall": 0.4, "f1": 0.44, "f1_ci95": [0.3, 0.55],
                     "support": 40}}}}}
    known = {"n_pairs": 120, "model": "m", "summary": {
        "compassion": {"all": {"n": 120, "right": 97, "share_right": 0.81, "ci95": [0.7, 0.9],
                               "mean_difference": 12.5, "mean_difference_ci95": [8.0, 17.0]},
                       "gap=large": {"n": 60, "share_right": 0.9, "ci95": [0.8, 0.97]}},
        "response_rate": {"all": {"share_right": 0.75, "ci95": [0.6, 0.85]}}},
        "ranked_wrong": {"compassion": ["07_ed"], "response_rate": []}}
    epitome = {"items": 100, "labels": {"EMPATHIC": {"f1": 0.5}}}
    text = v.render(_minimal(), {"crossdomain": crossdomain, "known_groups": known,
                                 "epitome": epitome})
    assert "crossdomain.py`" not in text and "known_groups.py`" not in text
    assert "**epitome-reddit** (300 utterances)" in text
    assert "| EMPATHIC | 40 | – | – | 0.50 | 0.40 | 0.44 (0.30–0.55) | – |" in text
    assert "Mapping: ER → EMPATHIC." in text
    assert "| all | 120 | 0.81 (0.70–0.90) | 12.5 (8.0–17.0) | 0.75 (0.60–0.85) | – |" in text
    assert "| gap: large | 60 | 0.90 (0.80–0.97) |" in text
    assert "97 of 120 matched pairs" in text and "07_ed" in text
    assert "epitome.py --data PATH" not in text
    # unknown shapes are shown as what they hold, not a crash
    odd = v.render(_minimal(), {"crossdomain": {"something": 1}, "known_groups": {"x": 2}})
    assert "holds no per-dataset results" in odd and "holds no recognised keys" in odd


def test_number_formatting() -> None:
    assert v._f(-0.001) == "0.00" and v._f(float("nan")) == "–" and v._f(None) == "–"
    assert v._ci(0.1, [-0.15, 0.34]) == "0.10 (-0.15 to 0.34)"
    assert v._ci(0.5, [0.3, 0.7]) == "0.50 (0.30–0.70)"


def test_all_runs_the_sibling_scripts_main(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "crossdomain.py").write_text(
        "from dataclasses import dataclass\nfrom pathlib import Path\n"
        "@dataclass(frozen=True)\nclass Item:\n    text: str\n"  # needs its module registered
        "def main(argv):\n    Path(__file__).with_suffix('.json').write_text(' '.join(argv))\n")
    monkeypatch.setattr(v, "HERE", tmp_path)
    monkeypatch.setattr(v, "REPO", tmp_path)
    v._run_sibling("crossdomain", ["--model", "m", "--threads", "2"])
    assert (tmp_path / "crossdomain.json").read_text() == "--model m --threads 2"
    v._run_sibling("known_groups", [])  # absent: skipped
    assert not (tmp_path / "known_groups.json").exists()
