"""The known-groups pairs (issue 12) and the ranking arithmetic of their check.

Offline and fast: the pairs are read, never scored (the shipped model is not loaded).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import compassion_nlp
from compassion_nlp.model import EXPRESSING_ROLES, RESPONDING_ROLES
from evaluation.validity import build_known_groups as build
from evaluation.validity import known_groups as kg

PAIRS = kg.load_pairs()


def test_the_set_has_its_promised_shape() -> None:
    assert len(PAIRS) >= 40
    assert len({p["setting"] for p in PAIRS}) >= 12
    assert sum(p["kind"] == "meeting" for p in PAIRS) >= 8
    subtle = sum(p["gap"] == "subtle" for p in PAIRS)
    assert 0.25 <= subtle / len(PAIRS) <= 0.45  # about a third
    for p in PAIRS:
        assert p["skilled_file"] == f"{p['pair_id']}_{p['setting']}_skilled.txt"
        assert p["weaker_file"] == f"{p['pair_id']}_{p['setting']}_weaker.txt"
        assert 12 <= int(p["turns"]) <= 30
        assert p["differs"].strip()


def test_the_files_are_what_the_source_builds() -> None:
    """pairs.src is the source: the transcripts on disk were not edited apart from it."""
    pairs = build.parse()
    assert [p.nn for p in pairs] == [r["pair_id"] for r in PAIRS]
    for p in pairs:
        for version in ("skilled", "weaker"):
            text = (kg.PAIRS_DIR / f"{p.stem}_{version}.txt").read_text(encoding="utf-8")
            assert text == p.text(version), (p.nn, version)


def _expressing_turns(enc: compassion_nlp.Encounter) -> list[tuple[str, str]]:
    return [(enc.speakers[t.speaker].label, t.text) for t in enc.turns
            if enc.speakers[t.speaker].role in EXPRESSING_ROLES]


@pytest.mark.parametrize("row", PAIRS, ids=lambda r: f"{r['pair_id']}_{r['setting']}")
def test_pair_reads_with_roles_and_identical_patient_turns(row: dict[str, str]) -> None:
    read = {}
    for version in ("skilled", "weaker"):
        path = kg.PAIRS_DIR / row[f"{version}_file"]
        assert path.is_file()
        [enc] = compassion_nlp.read(path)
        roles = {s.role for s in enc.speakers.values()}
        assert "unknown" not in roles and "other" not in roles, (path.name, roles)
        if row["kind"] == "meeting":
            assert enc.setting == "meeting" and {"leader", "staff"} <= roles
        else:
            assert enc.setting == "clinical" and {"clinician", "patient"} <= roles
        assert roles & RESPONDING_ROLES and roles & EXPRESSING_ROLES
        read[version] = enc
    skilled, weaker = read["skilled"], read["weaker"]
    assert _expressing_turns(skilled) == _expressing_turns(weaker)
    assert len(skilled.turns) == len(weaker.turns) == int(row["turns"])
    differing = sum(a.text != b.text for a, b in zip(skilled.turns, weaker.turns, strict=True))
    assert differing == int(row["differing_turns"]) > 0


def test_wilson_interval() -> None:
    lo, hi = kg.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert kg.wilson(0, 5)[0] == 0.0 and kg.wilson(5, 5)[1] == 1.0
    assert all(math.isnan(x) for x in kg.wilson(0, 0))


def test_ranked_right_ties_and_missing_values_are_wrong() -> None:
    assert kg.ranked_right(60.0, 40.0)
    assert not kg.ranked_right(40.0, 60.0)
    assert not kg.ranked_right(50.0, 50.0)
    assert not kg.ranked_right(float("nan"), 10.0)
    assert not kg.ranked_right(None, 10.0)
    assert kg.ranked_right(1, 3, higher_is_better=False)  # fewer missed opportunities
    assert not kg.ranked_right(2, 2, higher_is_better=False)


def test_summary_on_hand_made_numbers() -> None:
    pairs = [
        {"kind": "consultation", "gap": "large", "skilled": {"compassion": 80.0},
         "weaker": {"compassion": 30.0}},
        {"kind": "consultation", "gap": "subtle", "skilled": {"compassion": 50.0},
         "weaker": {"compassion": 50.0}},  # a tie: wrong
        {"kind": "meeting", "gap": "large", "skilled": {"compassion": 40.0},
         "weaker": {"compassion": 45.0}},  # wrong
        {"kind": "meeting", "gap": "subtle", "skilled": {"compassion": float("nan")},
         "weaker": {"compassion": 10.0}},  # undefined: wrong
    ]
    s = kg.summarise(pairs, "compassion", True)
    assert (s["n"], s["right"], s["wrong"], s["ties"], s["undefined"]) == (4, 1, 1, 1, 1)
    assert s["share_right"] == 0.25
    assert s["ci95"] == [pytest.approx(x, abs=1e-4) for x in kg.wilson(1, 4)]
    assert s["mean_difference"] == pytest.approx((50 + 0 - 5) / 3, abs=1e-4)
    lo, hi = s["mean_difference_ci95"]
    assert -5 <= lo <= s["mean_difference"] <= hi <= 50
    g = kg.groups(pairs)
    assert {k: len(v) for k, v in g.items()} == {
        "all": 4, "gap=large": 2, "gap=subtle": 2, "kind=consultation": 2, "kind=meeting": 2,
        "kind=consultation,gap=large": 1, "kind=consultation,gap=subtle": 1,
        "kind=meeting,gap=large": 1, "kind=meeting,gap=subtle": 1}
    missed = [{"kind": "x", "gap": "large", "skilled": {"missed_opportunities": 0},
               "weaker": {"missed_opportunities": 3}}]
    assert kg.summarise(missed, "missed_opportunities", False)["right"] == 1


def test_score_pairs_and_report_with_a_stand_in_scorer(tmp_path: Path) -> None:
    """The plumbing from files to the summary, with a stand-in for the model."""
    from types import SimpleNamespace

    def fake(path: Path) -> SimpleNamespace:
        skilled = path.name.endswith("_skilled.txt")
        row = {"response_rate": 1.0 if skilled else 0.25, "missed_opportunities": 0 if skilled
               else 3, "cue_episodes": 4, "cues": 5}
        return SimpleNamespace(
            encounter_row=lambda: row,
            compassion=SimpleNamespace(value=70.0 if skilled else 20.0,
                                       components={"responsiveness": row["response_rate"]},
                                       unscorable=None),
            encounter=SimpleNamespace(setting="clinical"))

    pairs = kg.score_pairs(PAIRS[:3], fake)
    assert all(all(p["ranked_right"].values()) for p in pairs)
    summary = kg.report(pairs)
    assert summary["compassion"]["all"]["share_right"] == 1.0
    assert summary["missed_opportunities"]["all"]["mean_difference"] == -3
    assert "compassion" in kg.table(summary)
