"""Shared fixtures. Conventions are in tests/README.md."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .helpers import FIXTURES, SHARED, SHIPPED_MODEL, tiny_corpus, tiny_model_and_tokenizer


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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for a few seconds on :func:`tiny_corpus` and saved to a folder."""
    from compassion_nlp.training import TrainingConfig, train

    root = tmp_path_factory.mktemp("tiny")
    model, tokenizer = tiny_model_and_tokenizer(root / "vocab")
    train(
        TrainingConfig(
            corpus=tiny_corpus(root / "corpus.jsonl"), output_dir=root / "model", epochs=12,
            learning_rate=3e-3, batch_size=16, max_length=32, patience=12, warmup_ratio=0.1,
            # its dev classes are apart by thousandths of a logit, where Platt scaling does
            # not calibrate (half the best F1 would miss a whole label): F1-best thresholds
            threshold_rule="f1_best",
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
