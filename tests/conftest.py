"""Shared fixtures. Conventions are in tests/README.md."""

from __future__ import annotations

import json
import random
import socket
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
#: the shared corpora beside the repository; tests that need them skip when absent
SHARED = REPO.parent / "shared" / "data"
SHIPPED_MODEL = REPO / "models" / "compassion-minilm"

_SENTENCES = (
    "that sounds really frightening sorry to hear what worries you most we will go "
    "through this together thanks for flagging i am so worried it might be cancer when "
    "did the pain start do you smoke ok right it is completely understandable to feel "
    "anxious the cough started on monday how has this been affecting you at home good "
    "point what do you all think my wife died and i have not been sleeping take two "
    "tablets a day "
)
_WORDS = _SENTENCES.split()
_EXAMPLES = {
    "EMPATHIC": ["that sounds really frightening", "sorry to hear that"],
    "CONFIRMING": ["it is completely understandable to feel anxious"],
    "PURSUING": ["what worries you most", "how has this been affecting you at home"],
    "INCLUSIVE": ["thanks for flagging", "good point what do you all think"],
    "CUE": ["i am so worried it might be cancer", "my wife died and i have not been sleeping"],
}
_NEUTRAL = ["when did the pain start", "do you smoke", "ok right", "take two tablets a day",
            "the cough started on monday"]


@pytest.fixture
def fixtures() -> Path:
    """The folder of small real sample files (each subfolder keeps its licence)."""
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` (the real corpora); skips the test when it is not there."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED


@pytest.fixture
def shipped_model() -> Path:
    """The model shipped in ``models/``; skips when it has not been trained yet."""
    if not (SHIPPED_MODEL / "config.json").is_file():
        pytest.skip("the shipped model is not in models/")
    return SHIPPED_MODEL


def tiny_model_and_tokenizer(folder: Path):
    """A randomly initialised 2-layer BERT and a word-level tokenizer, built in code."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from compassion_nlp.classifier import LABELS

    torch.manual_seed(0)  # the same initial weights in every run
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ":", ".", "?", ","]
    vocab += sorted(set(_WORDS) | {"clinician", "patient", "leader", "staff", "unknown"})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
        problem_type="multi_label_classification", id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    return BertForSequenceClassification(config), tokenizer


def tiny_corpus(path: Path, *, rows: int = 360, seed: int = 0) -> Path:
    """A small corpus in the project's JSONL format where each label has a fixed phrasing."""
    rng = random.Random(seed)
    lines = []
    for i in range(rows):
        label = rng.choice([*_EXAMPLES, None, None])
        text = rng.choice(_EXAMPLES[label]) if label else rng.choice(_NEUTRAL)
        enc = i % 40
        split = "train" if enc < 26 else "dev" if enc < 33 else "test"
        lines.append(json.dumps({
            "id": f"e{enc}|u{i}", "encounter_id": f"e{enc}", "source": "test", "text": text,
            "role": "patient" if label == "CUE" else "clinician", "previous_text": "",
            "previous_role": "", "labels": [label] if label else [], "split": split,
        }))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for a few seconds on :func:`tiny_corpus` and saved to a folder."""
    from compassion_nlp.training import TrainingConfig, train

    root = tmp_path_factory.mktemp("tiny")
    model, tokenizer = tiny_model_and_tokenizer(root / "vocab")
    train(
        TrainingConfig(
            corpus=tiny_corpus(root / "corpus.jsonl"), output_dir=root / "model", epochs=12,
            learning_rate=3e-3, batch_size=16, max_length=32, patience=12, warmup_ratio=0.0,
        ),
        model=model, tokenizer=tokenizer,
    )
    return root / "model"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access is blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
