"""Fine-tuning from a model on a group's coded corpus, checked before and after on the
project's test split (tiny models built in code; the shipped model's run is in the README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compassion_nlp.classifier import UtteranceClassifier
from compassion_nlp.cli import app
from compassion_nlp.errors import CompassionError
from compassion_nlp.finetune import MIN_DEV_POSITIVES, fine_tune
from compassion_nlp.model import LABELS

from .helpers import tiny_corpus


def test_fine_tuning_reports_both_splits_before_and_after(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    coded = tiny_corpus(tmp_path / "coded.jsonl", rows=200, seed=5)
    project = tiny_corpus(tmp_path / "project.jsonl", rows=200, seed=9)
    report = fine_tune(coded, tmp_path / "tuned", base=tiny_model_dir, check_corpus=project,
                       epochs=2, learning_rate=1e-3, batch_size=16)
    assert set(report.before) == set(report.after) == {"project", "own"}
    for when in (report.before, report.after):
        for metrics in when.values():
            assert set(metrics["labels"]) == set(LABELS) and 0 <= metrics["macro_f1"] <= 1
    # the before numbers are the base model's own on that split
    base = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    from compassion_nlp.finetune import evaluate

    assert evaluate(base, project)["macro_f1"] == pytest.approx(
        report.before["project"]["macro_f1"])
    tuned = json.loads((tmp_path / "tuned" / "compassion.json").read_text())
    assert tuned["base_model"] == str(tiny_model_dir) and tuned["training"]["epochs"] == 2
    assert tuned["framing"] == base.config.framing
    assert tuned["max_length"] == base.config.max_length
    assert set(tuned["card"]["labels"]) == set(LABELS)
    table = report.table()
    assert "project test" in table and table.count("\n") == len(LABELS) + 2
    assert report.worse == (report.project_change < -report.max_drop)


def test_labels_with_few_coded_dev_positives_keep_the_base_thresholds(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    coded = tiny_corpus(tmp_path / "coded.jsonl", rows=120, seed=3)
    report = fine_tune(coded, tmp_path / "tuned", base=tiny_model_dir,
                       check_corpus=coded, epochs=1, learning_rate=1e-3)
    dev = [json.loads(line) for line in coded.read_text().splitlines()]
    dev_pos = {label: sum(label in r["labels"] for r in dev if r["split"] == "dev")
               for label in LABELS}
    expected = [label for label in LABELS if dev_pos[label] < MIN_DEV_POSITIVES]
    assert report.kept_base_thresholds == expected and expected
    base = json.loads((tiny_model_dir / "compassion.json").read_text())
    tuned = json.loads((tmp_path / "tuned" / "compassion.json").read_text())
    for label in expected:
        assert tuned["thresholds"][label] == base["thresholds"][label]
        assert tuned["calibration"][label] == base["calibration"][label]


def test_the_finetune_command_reports_and_exits_1_when_the_project_split_got_worse(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    coded = tiny_corpus(tmp_path / "coded.jsonl", rows=120, seed=4)
    runner = CliRunner()
    args = ["finetune", str(coded), "--out", str(tmp_path / "a"), "--from",
            str(tiny_model_dir), "--check-corpus", str(coded), "--epochs", "1", "--quiet"]
    ok = runner.invoke(app, [*args, "--max-drop", "1"])
    assert ok.exit_code == 0, ok.output
    assert "project test" in ok.output and "not worse" in ok.output
    # a drop of any size counts as worse with --max-drop -1: the exit status says so
    worse = runner.invoke(app, [*args[:3], str(tmp_path / "b"), *args[4:], "--max-drop", "-1"])
    assert worse.exit_code == 1 and "[W009]" in worse.output
    assert (tmp_path / "b" / "compassion.json").is_file()  # written either way
    bad = runner.invoke(app, [*args, "--epochs", "0"])
    assert bad.exit_code == 2 and "[E024]" in bad.output


def test_the_base_model_is_never_overwritten(tiny_model_dir: Path, tmp_path: Path) -> None:
    coded = tiny_corpus(tmp_path / "coded.jsonl", rows=60)
    with pytest.raises(CompassionError, match="is the base model"):
        fine_tune(coded, tiny_model_dir, base=tiny_model_dir, check_corpus=coded)
