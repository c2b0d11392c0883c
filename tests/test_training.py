"""The training loop, corpus checks, calibration and the saved model folder (tiny models)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compassion_nlp.classifier import (
    LABELS,
    ClassifierConfig,
    ClassifierInput,
    UtteranceClassifier,
)
from compassion_nlp.errors import CompassionError
from compassion_nlp.training import (
    CorpusError,
    TrainingConfig,
    best_thresholds,
    fit_calibration,
    label_metrics,
    load_corpus,
)

from .helpers import tiny_corpus


def test_tiny_model_learns_and_saves_a_self_describing_folder(tiny_model_dir: Path) -> None:
    files = {p.name for p in tiny_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "compassion.json"} <= files
    assert "tokenizer.json" in files or "vocab.txt" in files
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert list(config["id2label"].values()) == list(LABELS)
    ours = ClassifierConfig.load(tiny_model_dir)
    assert set(ours.thresholds) == set(LABELS) and set(ours.calibration) == set(LABELS)
    assert ours.versions["torch"] and ours.training["train_rows"] > 0
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    out = clf.predict([ClassifierInput("that sounds really frightening", "clinician"),
                       ClassifierInput("do you smoke", "clinician"),
                       ClassifierInput("i am so worried it might be cancer", "patient")])
    assert "EMPATHIC" in out[0]["labels"]
    assert out[1]["labels"] == []
    assert "CUE" in out[2]["labels"]
    dev = ours.metrics["dev"]
    assert dev["macro_f1"] > 0.8, dev


@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_reduced_precision_keeps_the_float32_probabilities_close(
    tiny_model_dir: Path, precision: str
) -> None:
    items = [
        ClassifierInput("that sounds really frightening", "clinician"),
        ClassifierInput("do you smoke", "clinician"),
        ClassifierInput("i am so worried it might be cancer", "patient"),
    ]
    full = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    reduced = UtteranceClassifier.from_pretrained(tiny_model_dir, precision=precision)
    assert reduced.precision == precision
    # logits, not probabilities: the tiny model's calibration is steep (its dev set is separable)
    np.testing.assert_allclose(reduced.logits(items), full.logits(items), atol=0.05)
    labels = [[r["labels"] for r in clf.predict(items)] for clf in (reduced, full)]
    assert labels[0] == labels[1]


def test_an_input_is_encoded_alike_whatever_its_batch_holds(tiny_model_dir: Path) -> None:
    text = "i am so worried it might be cancer and that sounds really frightening"
    items = [ClassifierInput(" ".join(text.split()[: 2 + (i * 5) % 11]),
                             ("clinician", "patient")[i % 2], "hello" * (i % 3), "patient")
             for i in range(30)]
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    # an input without a previous turn is a pair with an empty second segment, batched with
    # inputs that have one or alone
    [alone] = clf.encode([items[0]], return_tensors="np")["input_ids"]
    batch = clf.encode(items[:2], return_tensors="np")
    assert batch["attention_mask"][0].sum() == len(alone)
    assert list(batch["input_ids"][0][: len(alone)]) == list(alone)
    together = clf.logits(items, batch_size=4)
    singly = np.concatenate([clf.logits([item]) for item in items])
    np.testing.assert_allclose(together, singly, atol=1e-5)
    np.testing.assert_allclose(clf.logits(items[::3], batch_size=64), together[::3], atol=1e-5)


@pytest.mark.parametrize("window", [None, 16])
def test_batches_hold_each_input_once_padded_to_one_width(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, window: int | None
) -> None:
    from compassion_nlp import classifier
    from compassion_nlp.classifier import PAD_MULTIPLE

    words = ["i", "am", "so", "worried", "it", "might", "be", "cancer", "and", "that", "sounds",
             "really", "frightening"]
    items = [ClassifierInput(" ".join(words[: 1 + i % len(words)] * (1 + i % 4)),
                             ("clinician", "patient")[i % 2], "hello there " * (i % 5), "patient")
             for i in range(90)]
    clf = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    whole = clf.logits(items)
    if window:
        monkeypatch.setattr(classifier, "TOKENISE_WINDOW", window)
    seen, widths = [], set()
    for idx, batch in clf.batches(items, batch_size=8):
        rows, width = batch["input_ids"].shape
        assert rows == len(idx) <= 8
        if window:  # a batch never reaches across two windows
            assert len({i // window for i in idx}) == 1
        assert width % PAD_MULTIPLE == 0 or width == clf.config.max_length
        widths.add(width)
        for row, i in enumerate(idx):
            [alone] = clf.encode([items[i]], return_tensors="np")["input_ids"]
            assert len(alone) <= width < len(alone) + PAD_MULTIPLE
            assert list(batch["input_ids"][row][: len(alone)]) == list(alone)
            assert batch["attention_mask"][row].sum() == len(alone)
        seen += idx
    assert sorted(seen) == list(range(len(items)))
    assert len(widths) > 1  # these inputs span several widths, and no batch mixes them
    np.testing.assert_allclose(clf.logits(items), whole, atol=1e-5)


def test_precision_auto_resolves_and_unknown_precision_is_refused(tiny_model_dir: Path) -> None:
    from compassion_nlp.classifier import resolve_precision
    from compassion_nlp.errors import CompassionError

    assert resolve_precision("auto") in ("float32", "bfloat16")
    assert resolve_precision("int8") == "int8"
    with pytest.raises(CompassionError, match=r"\[E017\] Unknown precision 'fp8'"):
        UtteranceClassifier.from_pretrained(tiny_model_dir, precision="fp8")


def test_training_is_deterministic(tmp_path: Path) -> None:
    from compassion_nlp.training import train

    from .helpers import tiny_model_and_tokenizer

    corpus = tiny_corpus(tmp_path / "c.jsonl", rows=120)
    outputs = []
    for run in range(2):
        model, tokenizer = tiny_model_and_tokenizer(tmp_path / f"v{run}")
        args = TrainingConfig(corpus=corpus, output_dir=tmp_path / f"m{run}", epochs=2,
                                 learning_rate=1e-3, batch_size=16, max_length=24, seed=7)
        train(args, model=model, tokenizer=tokenizer)
        clf = UtteranceClassifier.from_pretrained(tmp_path / f"m{run}")
        outputs.append(clf.logits([ClassifierInput("what worries you most")]))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs,message",
    [({"framing": "both"}, "framing"), ({"epochs": 0}, "epochs"),
     ({"learning_rate": 2.0}, "learning_rate"), ({"pos_weight_cap": 0.5}, "pos_weight_cap")],
)
def test_arguments_validate_themselves(kwargs: dict, message: str) -> None:
    with pytest.raises(CompassionError, match=message):
        TrainingConfig(**kwargs)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _row(**over: object) -> dict:
    row = {"id": "e1|u1", "encounter_id": "e1", "source": "test", "text": "hello",
           "role": "clinician", "previous_text": "", "previous_role": "", "labels": [],
           "split": "train"}
    row.update(over)
    return row


def test_corpus_checks_suggest_fixes(tmp_path: Path) -> None:
    bad_column = {k: v for k, v in _row().items() if k != "labels"} | {"label": []}
    with pytest.raises(CorpusError, match="did you mean 'label'"):
        load_corpus(_write(tmp_path / "a.jsonl", [bad_column]))
    with pytest.raises(CorpusError, match="Did you mean 'EMPATHIC'"):
        load_corpus(_write(tmp_path / "b.jsonl", [_row(labels=["EMPATHETIC"])]))
    with pytest.raises(CorpusError, match="both train and test"):
        load_corpus(_write(tmp_path / "c.jsonl", [_row(), _row(id="e1|u2", split="test")]))
    with pytest.raises(CorpusError, match="synthetic rows may only be in train"):
        load_corpus(_write(tmp_path / "d.jsonl", [_row(source="synthetic", split="dev")]))
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "missing.jsonl")


def test_loaded_corpus_has_three_splits(tmp_path: Path) -> None:
    data = load_corpus(tiny_corpus(tmp_path / "c.jsonl", rows=80))
    assert set(data) == {"train", "dev", "test"}
    assert sum(len(data[s]) for s in data) == 80


def test_thresholds_and_calibration_on_known_data() -> None:
    rng = np.random.default_rng(0)
    targets = (rng.random((400, len(LABELS))) < 0.2).astype(np.float32)
    logits = np.where(targets > 0, 2.0, -2.0) + rng.normal(0, 1.0, targets.shape)
    calibration = fit_calibration(logits, targets)
    a, b = calibration["CUE"]
    assert a > 0  # higher logits, higher probability
    probs = 1 / (1 + np.exp(-(logits * np.array([calibration[x][0] for x in LABELS])
                               + np.array([calibration[x][1] for x in LABELS]))))
    # calibrated: the mean probability is close to the positive rate
    assert abs(probs.mean() - targets.mean()) < 0.03
    thresholds = best_thresholds(probs, targets)
    decided = probs >= np.array([thresholds[x] for x in LABELS])
    metrics = label_metrics(decided, targets, probs)
    assert metrics["macro_f1"] > 0.8
    assert metrics["labels"]["CUE"]["support"] == int(targets[:, 4].sum())


def test_thresholds_are_half_the_best_f1_or_the_f1_best_point() -> None:
    # one label, ten rows: the best F1 (8/9) is at any threshold in (0.5, 0.6], so f1_best
    # picks 0.51 (the lowest of ties); half_f1 picks (8/9) / 2 = 0.44
    probs = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])[:, None]
    targets = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], dtype=np.float32)[:, None]
    assert best_thresholds(probs, targets, ("CUE",), "f1_best") == {"CUE": 0.51}
    assert best_thresholds(probs, targets, ("CUE",)) == {"CUE": 0.44}  # half_f1, the default
    decided = probs >= 0.51
    assert label_metrics(decided, targets, labels=("CUE",))["macro_f1"] == pytest.approx(8 / 9)
    with pytest.raises(ValueError, match="unknown threshold rule"):
        best_thresholds(probs, targets, ("CUE",), "f2")


def test_an_unknown_threshold_rule_is_refused(tmp_path: Path) -> None:
    assert TrainingConfig(output_dir=tmp_path).threshold_rule == "half_f1"
    with pytest.raises(CompassionError, match=r"\[E030\].*threshold_rule must be one of "
                                              r"half_f1, f1_best, not 'f2'"):
        TrainingConfig(output_dir=tmp_path, threshold_rule="f2")


def test_cli_train_from_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from compassion_nlp.cli import app

    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "corpus": str(tiny_corpus(tmp_path / "c.jsonl", rows=80)), "epochs": 1,
        "batch_size": 16, "max_length": 24, "base_model": str(tiny_model_dir),
    }))
    result = CliRunner().invoke(
        app, ["train", "--config", str(config), "--output-dir", str(tmp_path / "m"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "compassion.json").is_file()
    bad = CliRunner().invoke(app, ["train", "--config", str(config), "--framing", "both"])
    assert bad.exit_code == 2 and "framing" in bad.output


def test_a_model_with_other_labels_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from compassion_nlp.errors import CompassionError

    folder = tmp_path / "reordered"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "compassion.json").read_text())
    config["labels"] = list(reversed(config["labels"]))
    (folder / "compassion.json").write_text(json.dumps(config))
    with pytest.raises(CompassionError, match=r"\[E019\]"):
        UtteranceClassifier.from_pretrained(folder)


def test_custom_labels_train_a_model_with_those_outputs(tmp_path: Path) -> None:
    """``TrainingConfig.labels``: another output list (the EPITOME reproduction's ordinal
    outputs); the default (``None``) keeps the codebook's labels."""
    from compassion_nlp.training import train

    from .helpers import tiny_model_and_tokenizer

    assert TrainingConfig().labels is None
    labels = ("LOW", "HIGH")
    rows = []
    for i in range(60):
        level = i % 3
        split = "train" if i % 10 < 7 else "dev" if i % 10 < 9 else "test"
        rows.append(_row(id=f"e{i}|u{i}", encounter_id=f"e{i}",
                         text=["ok right", "sorry to hear that", "that sounds really "
                               "frightening"][level], labels=list(labels[:level]), split=split))
    corpus = _write(tmp_path / "c.jsonl", rows)
    with pytest.raises(CorpusError, match="unknown label 'LOW'"):
        load_corpus(corpus)  # the codebook's labels by default
    assert len(load_corpus(corpus, labels=labels)["train"]) == 42

    folder = tmp_path / "vocab"
    model, tokenizer = tiny_model_and_tokenizer(folder)
    with pytest.raises(CompassionError, match="5 outputs for 2 labels"):
        train(TrainingConfig(corpus=corpus, output_dir=tmp_path / "m", epochs=1,
                             labels=labels), model=model, tokenizer=tokenizer)
    import shutil

    base = tmp_path / "base"  # a saved 5-label model as the base: the head is replaced
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    shutil.rmtree(folder)
    result = train(TrainingConfig(corpus=corpus, output_dir=tmp_path / "m", epochs=2,
                                  learning_rate=3e-3, batch_size=16, max_length=16,
                                  base_model=str(base), labels=labels))
    saved = json.loads((tmp_path / "m" / "compassion.json").read_text())
    assert saved["labels"] == list(labels)
    assert set(saved["thresholds"]) == set(saved["calibration"]) == set(labels)
    assert saved["training"]["labels"] == list(labels)
    assert set(result.dev_metrics["labels"]) == set(labels)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["id2label"] == {
        "0": "LOW", "1": "HIGH"}
    with pytest.raises(CompassionError, match=r"\[E019\]"):
        UtteranceClassifier.from_pretrained(tmp_path / "m")  # not a codebook model


@pytest.mark.parametrize("labels", [(), ("A", "A"), ("A", "")])
def test_custom_labels_are_validated(labels: tuple[str, ...]) -> None:
    with pytest.raises(CompassionError, match="labels must be distinct"):
        TrainingConfig(labels=labels)


def test_custom_labels_refuse_soft_labelled_rows(tmp_path: Path) -> None:
    with pytest.raises(CompassionError, match="soft_labelled"):
        TrainingConfig(labels=("A", "B"), soft_labelled=tmp_path / "soft.jsonl")


def test_a_stopped_run_goes_on_from_its_checkpoint(tmp_path: Path, monkeypatch) -> None:
    import itertools

    from compassion_nlp import training
    from compassion_nlp.training import train

    from .helpers import tiny_model_and_tokenizer

    corpus = tiny_corpus(tmp_path / "c.jsonl", rows=120)

    def run(out: str, folder: str, **changes) -> None:
        model, tokenizer = tiny_model_and_tokenizer(tmp_path / folder)
        settings = dict(corpus=corpus, output_dir=tmp_path / out, epochs=3, learning_rate=1e-3,
                        batch_size=16, max_length=24, seed=7, checkpoint_minutes=0)
        train(TrainingConfig(**{**settings, **changes}), model=model, tokenizer=tokenizer)

    run("whole", "v0")
    # a checkpoint every other batch; the run is stopped in its second epoch, between two
    # checkpoints, so the batch after the last checkpoint is done again on resuming
    monkeypatch.setattr(training._Checkpoints, "due",
                        lambda self, flip=itertools.cycle([False, True]): next(flip))
    real_encode, calls = UtteranceClassifier.encode, itertools.count(1)

    def stopped(self, items):
        if next(calls) == 11:
            raise KeyboardInterrupt
        return real_encode(self, items)

    monkeypatch.setattr(UtteranceClassifier, "encode", stopped)
    with pytest.raises(KeyboardInterrupt):
        run("stopped", "v1")
    checkpoint = tmp_path / "stopped" / "checkpoint.pt"
    assert checkpoint.is_file() and not (tmp_path / "stopped" / "compassion.json").exists()
    monkeypatch.setattr(UtteranceClassifier, "encode", real_encode)
    with pytest.raises(CompassionError, match=r"\[E030\].*other settings \(learning_rate\)"):
        run("stopped", "v2", learning_rate=2e-3)
    run("stopped", "v3")  # fresh random weights: the checkpoint must supply everything
    assert not checkpoint.exists()

    whole, resumed = (ClassifierConfig.load(tmp_path / out) for out in ("whole", "stopped"))
    for a, b in zip(whole.training["history"], resumed.training["history"], strict=True):
        assert a == pytest.approx(b, rel=1e-4)
    assert whole.thresholds == resumed.thresholds
    item = [ClassifierInput("what worries you most", "clinician")]
    np.testing.assert_allclose(
        UtteranceClassifier.from_pretrained(tmp_path / "stopped").logits(item),
        UtteranceClassifier.from_pretrained(tmp_path / "whole").logits(item), atol=1e-4)
