"""evaluation/report.py: the model card's shipped-arm line and its validity section."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation import report

DEV = {"macro_f1": 0.7, "labels": {x: {"f1": 0.7} for x in
                                   ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")}}


def test_the_shipped_arm_is_named_from_the_training_settings() -> None:
    plain = report._shipped({"training": {"epochs": 5, "seconds": 60}, "metrics": {"dev": DEV}})
    distilled = report._shipped({"training": {"epochs": 3, "seconds": 60,
                                              "soft_labelled": "WORK/soft.jsonl"},
                                 "metrics": {"dev": DEV}})
    assert "`minilm` arm" in plain and "train minilm" in plain
    assert "`distilled` arm" in distilled and "training/README.md" in distilled
    assert report._shipped({"training": {}}) == ""  # no dev metrics: nothing claimed


def test_the_card_takes_the_validity_headline(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "HERE", tmp_path)
    assert report._card_validity() == ""  # not run yet
    (tmp_path / "VALIDITY.md").write_text(
        "# Validity\n\nintro\n\n## Headline numbers\n\n- **κ** 0.61\n- **ECE** 0.01\n\n"
        "## 1. Label agreement\n\ntable\n")
    card = report._card_validity()
    assert card.startswith("## Validity")
    assert "- **κ** 0.61\n- **ECE** 0.01" in card and "Label agreement" not in card


def test_the_card_sets_loso_beside_the_same_configuration_in_domain(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "_loso_rows", lambda sources: {"mibot": (0.60, 0.65)})
    by_source = {"mibot": {"encounters": 8, "macro_f1_supported": 0.68},
                 "qmsum": {"encounters": 47, "macro_f1_supported": 0.44}}
    card = report._card_generalisation({"generalisation": {"test": {"by_source": by_source},
                                                           "behaviour": {"exact_match": 0.846}}})
    assert "| mibot | 8 | 0.68 | 0.65 | 0.60 | 0.05 |" in card
    assert "| qmsum | 47 | 0.44 | – | – | – |" in card  # no leave-one-source-out run
    assert "84.6 %" in card


def test_a_benchmark_says_whether_it_measured_the_shipped_model() -> None:
    from compassion_nlp.classifier import ClassifierConfig

    config = {"thresholds": {"EMPATHIC": 0.2}, "training": {"seconds": 1}}
    shipped = ClassifierConfig.from_dict(config).fingerprint()
    same = report._measured_with({"model": {"path": "models/m", "id": shipped},
                                  "date": "2026-12-06"}, config)
    assert same == f" Model: the shipped one (`models/m`, id {shipped}, 2026-12-06)."
    retrained = dict(config, thresholds={"EMPATHIC": 0.3})
    other = report._measured_with({"model": {"path": "models/m", "id": shipped,
                                             "note": "the one before"}}, retrained)
    assert "**not the shipped model**" in other and other.endswith(": the one before.")
    assert "not recorded" in report._measured_with({}, config)


def test_the_fast_model_section_comes_from_its_stored_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    results = json.loads((report.HERE / "classifier" / "results.json").read_text())
    runs = report.HERE / "classifier" / "runs"
    run = json.loads((runs / "fast.json").read_text())
    rounds = json.loads((runs / "thresholds-fast.json").read_text())
    shipped = json.loads((report.FAST / "compassion.json").read_text())
    # its figures at the thresholds it ships with: round 7's, written into it
    assert rounds["whole_dev"][rounds["chosen"]]["thresholds"] == shipped["thresholds"]
    section = report._fast_model(results)
    assert section.startswith("## The fast model")
    f1 = rounds["whole_dev"][rounds["chosen"]]["test"]["pooled"]["macro_f1"]
    assert f1 != run["test"]["pooled"]["macro_f1"]
    assert f"| fast (`compassion-minilm-fast`) | 3 | {f1:.3f} |" in section
    other = {**shipped, "thresholds": {x: t + 0.01 for x, t in shipped["thresholds"].items()}}
    assert report._fast_run(other)["test"] == run["test"]  # other thresholds: the run's own
    run = report._fast_run(shipped)
    assert "### Batch scoring at scale: the fast model" in section
    assert ("--model models/compassion-minilm-fast --results "
            "evaluation/classifier/backends-fast.json`." in section)
    card = report.fast_card(results, run, json.loads((report.FAST / "compassion.json")
                                                     .read_text()))
    assert "(layers\n0, 2, 4;" in card and f"{f1:.3f}" in card
    monkeypatch.setattr(report, "FAST", tmp_path)  # not built: said, nothing invented
    assert report._fast_model(results).startswith("_(the fast model: not built")
