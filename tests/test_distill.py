"""Distillation on tiny models built in code: a teacher soft-labels a pool, a student learns it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from compassion_nlp.classifier import LABELS, ClassifierInput, UtteranceClassifier
from compassion_nlp.distill import soft_label_file
from compassion_nlp.errors import CompassionError
from compassion_nlp.training import (
    CorpusError,
    TrainingConfig,
    _batches,
    load_soft_labelled,
    train,
)

from .helpers import EXAMPLES, NEUTRAL, tiny_corpus, tiny_model_and_tokenizer


def write_pool(path: Path, n: int = 200, seed: int = 3) -> Path:
    """Unlabelled utterances in the pool format, from two sources."""
    rng = random.Random(seed)
    texts = [t for ts in EXAMPLES.values() for t in ts] + NEUTRAL
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "text": rng.choice(texts), "role": rng.choice(["clinician", "patient"]),
                "previous_text": "", "previous_role": "", "source": "a" if i % 2 else "b",
                "encounter_id": f"p{i // 10}",
            }) + "\n")
    return path


def test_soft_labels_are_the_teachers_probabilities(tiny_model_dir: Path, tmp_path: Path) -> None:
    pool = write_pool(tmp_path / "pool.jsonl", n=30)
    out = tmp_path / "soft.jsonl"
    assert soft_label_file(tiny_model_dir, pool, out, chunk=7, precision="float32") == 30
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    teacher = UtteranceClassifier.from_pretrained(tiny_model_dir, precision="float32")
    expected = teacher.predict_proba(
        [ClassifierInput(r["text"], r["role"]) for r in rows]
    )
    np.testing.assert_allclose([r["soft"] for r in rows], expected, atol=1e-3)
    assert [r["encounter_id"] for r in rows] == [
        json.loads(line)["encounter_id"] for line in pool.read_text().splitlines()
    ]


def test_soft_labelling_resumes_after_a_stop(tiny_model_dir: Path, tmp_path: Path) -> None:
    pool = write_pool(tmp_path / "pool.jsonl", n=25)
    full, resumed = tmp_path / "full.jsonl", tmp_path / "resumed.jsonl"
    soft_label_file(tiny_model_dir, pool, full, chunk=10)
    lines = full.read_text().splitlines()
    # a run killed mid-write: 12 complete rows and half of the 13th
    resumed.write_text("\n".join(lines[:12]) + "\n" + lines[12][:20])
    assert soft_label_file(tiny_model_dir, pool, resumed, chunk=10) == 25
    assert resumed.read_text() == full.read_text()


def test_a_teacher_with_other_labels_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    teacher = UtteranceClassifier.from_pretrained(tiny_model_dir)
    teacher.labels = tuple(reversed(LABELS))
    with pytest.raises(CompassionError, match="E019"):
        soft_label_file(teacher, write_pool(tmp_path / "p.jsonl", n=3), tmp_path / "s.jsonl")


def test_student_learns_the_teachers_soft_labels(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A student that sees only a few gold rows gets the rest from the teacher's pool."""
    pool = write_pool(tmp_path / "pool.jsonl", n=300)
    soft = tmp_path / "soft.jsonl"
    soft_label_file(tiny_model_dir, pool, soft)
    corpus = tiny_corpus(tmp_path / "c.jsonl", rows=360)
    scores = {}
    for name, extra in (("gold only", {}), ("distilled", {"soft_labelled": soft,
                                                          "soft_per_epoch": 200})):
        model, tokenizer = tiny_model_and_tokenizer(tmp_path / f"v-{name}")
        args = TrainingConfig(
            corpus=corpus, output_dir=tmp_path / name, epochs=6, learning_rate=3e-3,
            batch_size=16, max_length=32, patience=6, warmup_ratio=0.0, limit=12, **extra,
        )
        result = train(args, model=model, tokenizer=tokenizer)
        scores[name] = result.dev_metrics["macro_f1"]
        saved = json.loads((tmp_path / name / "compassion.json").read_text())["training"]
        assert saved["soft_rows_per_epoch"] == (200 if extra else 0)
    assert scores["distilled"] > scores["gold only"] + 0.1


def test_soft_rows_of_a_left_out_source_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [{"text": "ok", "role": "patient", "previous_text": "", "previous_role": "",
             "source": s, "soft": [0.1] * len(LABELS)} for s in ("a", "b", "b")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    inputs, targets = load_soft_labelled(path, exclude_sources=("b",))
    assert len(inputs) == 1 and targets.shape == (1, len(LABELS))


@pytest.mark.parametrize(
    ("row", "message"),
    [({"text": "ok", "role": "patient"}, "soft-labelled row"),
     ({"text": "ok", "role": "patient", "soft": [0.5]}, "probabilities"),
     ({"text": "ok", "role": "patient", "soft": [2.0] * len(LABELS)}, "probabilities")],
)
def test_bad_soft_labelled_rows_name_the_line(tmp_path: Path, row: dict, message: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("\n" + json.dumps(row) + "\n")
    with pytest.raises(CorpusError, match=rf"line 2.*{message}|line 2: .*{message}"):
        load_soft_labelled(path)


def test_length_grouped_batches_cover_every_row_once() -> None:
    rng = random.Random(0)
    items = [ClassifierInput("x" * rng.randint(1, 300)) for _ in range(1000)]
    args = TrainingConfig(batch_size=8, group_by_length=True)
    batches = _batches(items, args, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    # inside a batch the lengths are close: far less spread than in a shuffled batch
    spread = np.mean([np.ptp([len(items[i].text) for i in b]) for b in batches])
    shuffled = _batches(items, TrainingConfig(batch_size=8), random.Random(1))
    assert spread < 0.2 * np.mean([np.ptp([len(items[i].text) for i in b]) for b in shuffled])


def test_bfloat16_training_and_left_out_sources(tmp_path: Path) -> None:
    corpus = tiny_corpus(tmp_path / "c.jsonl", rows=120)
    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    for i, row in enumerate(rows):
        row["source"] = "a" if i % 3 else "b"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model, tokenizer = tiny_model_and_tokenizer(tmp_path / "v")
    args = TrainingConfig(corpus=corpus, output_dir=tmp_path / "m", epochs=1,
                             batch_size=16, max_length=24, precision="bfloat16",
                             exclude_sources=("b",))
    result = train(args, model=model, tokenizer=tokenizer)
    saved = json.loads((tmp_path / "m" / "compassion.json").read_text())["training"]
    expected = sum(r["split"] == "train" and r["source"] == "a" for r in rows)
    assert saved["train_rows"] == expected and saved["precision_used"] == "bfloat16"
    assert result.dev_metrics["n"] == sum(r["split"] == "dev" and r["source"] == "a" for r in rows)
    with pytest.raises(CorpusError, match="no rows of source"):
        train(TrainingConfig(corpus=corpus, output_dir=tmp_path / "n", exclude_sources=("z",)),
              model=model, tokenizer=tokenizer)


def test_a_student_cut_to_fewer_layers_is_saved_and_loads_as_such(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """``layers`` keeps the first of every k layers of the starting model; the saved folder
    loads with that many layers and classifies."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir,
                                                               dtype=torch.float32)
    first = model.bert.encoder.layer[0].attention.self.query.weight.detach().clone()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    soft = tmp_path / "soft.jsonl"
    soft_label_file(tiny_model_dir, write_pool(tmp_path / "pool.jsonl", n=40), soft)
    args = TrainingConfig(
        corpus=tiny_corpus(tmp_path / "c.jsonl", rows=120), output_dir=tmp_path / "student",
        epochs=1, learning_rate=1e-9, batch_size=16, max_length=32, layers=1,
        soft_labelled=soft,
    )
    train(args, model=model, tokenizer=tokenizer)
    student = UtteranceClassifier.from_pretrained(tmp_path / "student", precision="float32")
    assert student.model.config.num_hidden_layers == 1
    assert len(student.model.bert.encoder.layer) == 1
    kept = student.model.bert.encoder.layer[0].attention.self.query.weight
    np.testing.assert_allclose(kept.detach().numpy(), first.numpy(), atol=1e-4)
    saved = json.loads((tmp_path / "student" / "compassion.json").read_text())["training"]
    assert saved["layers"] == 1
    assert student.predict_proba([ClassifierInput("I can see this worries you.", "clinician")]
                                 ).shape == (1, len(LABELS))


@pytest.mark.parametrize("layers", [0, 2.5, True])
def test_a_bad_layer_count_is_refused(tmp_path: Path, layers: object) -> None:
    with pytest.raises(CompassionError, match="layers must be a positive integer"):
        TrainingConfig(corpus=tmp_path / "c.jsonl", layers=layers)


def test_more_layers_than_the_model_has_are_refused(tmp_path: Path) -> None:
    model, tokenizer = tiny_model_and_tokenizer(tmp_path / "v")
    args = TrainingConfig(corpus=tiny_corpus(tmp_path / "c.jsonl", rows=80),
                          output_dir=tmp_path / "m", layers=3)
    with pytest.raises(CompassionError, match="layers is 3, but the base model has 2"):
        train(args, model=model, tokenizer=tokenizer)
