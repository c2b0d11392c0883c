"""The ONNX Runtime backend: exported once and cached, and it agrees with the torch model."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp import load
from compassion_nlp.backends import check_backend, load_classifier
from compassion_nlp.cli import app
from compassion_nlp.errors import CompassionError
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.tables import TABLES, read_table

from .helpers import EXAMPLES, NEUTRAL, TRANSCRIPT

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COMPASSION_NLP_CACHE", str(folder))
    return folder


def inputs() -> list:
    from compassion_nlp.classifier import ClassifierInput

    texts = [t for phrases in EXAMPLES.values() for t in phrases] + NEUTRAL
    out = []
    for i, text in enumerate(texts):
        previous = texts[(i + 3) % len(texts)] if i % 2 else ""
        out.append(ClassifierInput(text, ("clinician", "patient")[i % 2], previous,
                                   "patient" if previous else ""))
    return out * 3


def test_onnx_float32_gives_the_torch_model_s_outputs(tiny_model_dir: Path, cache: Path) -> None:
    torch_clf = load_classifier(tiny_model_dir, precision="float32")
    onnx_clf = load_classifier(tiny_model_dir, backend="onnx")
    assert (onnx_clf.backend, onnx_clf.precision) == ("onnx", "float32")
    assert onnx_clf.file.parent.parent == cache / "onnx"
    items = inputs()
    expected, got = torch_clf.logits(items, batch_size=8), onnx_clf.logits(items, batch_size=8)
    assert np.abs(got - expected).max() < 1e-4
    assert (torch_clf.decide(torch_clf.calibrate(expected))
            == onnx_clf.decide(onnx_clf.calibrate(got))).all()


def test_onnx_int8_stays_close_and_the_export_is_cached(
    tiny_model_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compassion_nlp.backends as backends

    torch_clf = load_classifier(tiny_model_dir, precision="float32")
    int8 = load_classifier(tiny_model_dir, backend="onnx", precision="int8")
    assert int8.file.name == "model.int8.onnx" and int8.file.with_name(
        "model.float32.onnx").is_file()
    items = inputs()
    p, q = torch_clf.predict_proba(items), int8.predict_proba(items)
    # on average close; the odd utterance on the steep part of this tiny model's calibration
    # moves more (the shipped model's agreement is measured by evaluation/classifier/backends.py)
    assert np.abs(p - q).mean() < 0.02
    assert (torch_clf.decide(p) == int8.decide(q)).all(axis=1).mean() >= 0.9

    def no_export(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("exported again instead of using the cache")

    monkeypatch.setattr(backends, "export_onnx", no_export)
    again = load_classifier(tiny_model_dir, backend="onnx", precision="int8")
    assert again.file == int8.file
    assert np.array_equal(again.predict_proba(items), q)


def test_int8_labels_the_utterances_near_a_threshold_again_in_float32(
    tiny_model_dir: Path, cache: Path
) -> None:
    from compassion_nlp.backends import OnnxClassifier

    items = inputs()
    full = load_classifier(tiny_model_dir, backend="onnx", precision="float32")
    plain = OnnxClassifier.from_pretrained(tiny_model_dir, precision="int8", recheck_margin=0)
    assert plain.recheck is None and plain.recheck_margin == 0
    zf, zp = full.logits(items, batch_size=8), plain.logits(items, batch_size=8)
    # a margin that puts some of these utterances near a threshold and leaves the others
    a = np.array([plain.config.calibration[label][0] for label in plain.labels])
    b = np.array([plain.config.calibration[label][1] for label in plain.labels])
    t = np.array([plain.config.thresholds[label] for label in plain.labels])
    margin = float(np.median(np.abs(zp * a + b - np.log(t / (1 - t))).min(axis=1)))
    checked = OnnxClassifier.from_pretrained(tiny_model_dir, precision="int8",
                                             recheck_margin=margin)
    near = checked.near_threshold(zp)
    assert 0 < near.sum() < len(items)
    zc = checked.logits(items, batch_size=8)
    np.testing.assert_allclose(zc[near], zf[near], atol=1e-5)
    np.testing.assert_array_equal(zc[~near], zp[~near])
    everything = OnnxClassifier.from_pretrained(tiny_model_dir, precision="int8",
                                                recheck_margin=1e6)
    np.testing.assert_allclose(everything.logits(items, batch_size=8), zf, atol=1e-5)
    with pytest.raises(CompassionError, match=r"\[E045\] recheck_margin must be 0 or more"):
        OnnxClassifier.from_pretrained(tiny_model_dir, precision="int8", recheck_margin=-1)


def test_an_export_in_the_model_folder_is_used_first(
    tiny_model_dir: Path, tmp_path: Path, cache: Path
) -> None:
    import shutil

    from compassion_nlp.backends import export_onnx

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    files = export_onnx(model, precisions=("float32",))
    assert files["float32"] == model / "onnx" / "model.float32.onnx"
    clf = load_classifier(model, backend="onnx")
    assert clf.file == files["float32"] and not cache.exists()


def test_an_unwritable_cache_exports_into_a_temporary_folder(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("COMPASSION_NLP_CACHE", str(blocker / "cache"))  # under a file
    with caplog.at_level(logging.WARNING, logger="compassion_nlp"):
        clf = load_classifier(tiny_model_dir, backend="onnx")
    assert "[W008]" in caplog.text and "COMPASSION_NLP_CACHE" in caplog.text
    assert clf.file.is_file() and not clf.file.is_relative_to(blocker)


def test_an_export_that_disagrees_with_torch_is_refused_and_not_cached(
    tiny_model_dir: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compassion_nlp.backends as backends

    monkeypatch.setattr(backends, "EXPORT_TOLERANCE", -1.0)
    with pytest.raises(CompassionError, match=r"\[E046\]"):
        load_classifier(tiny_model_dir, backend="onnx")
    assert not list(cache.rglob("*.onnx"))


def test_scoring_on_onnx_float32_writes_the_torch_tables(
    tiny_model_dir: Path, tmp_path: Path, cache: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"c{i}.txt").write_text(TRANSCRIPT.replace("Good morning", f"Hello {i}"))
    score_to_folder(load(tiny_model_dir, precision="float32"), [folder], tmp_path / "torch")
    onnx_scorer = load(tiny_model_dir, backend="onnx")
    assert onnx_scorer.model_info["backend"] == "onnx"
    score_to_folder(onnx_scorer, [folder], tmp_path / "onnx")
    for name in TABLES:
        pd.testing.assert_frame_equal(read_table(tmp_path / "onnx" / f"{name}.parquet"),
                                      read_table(tmp_path / "torch" / f"{name}.parquet"),
                                      obj=name)


@pytest.mark.parametrize(("backend", "precision", "code"), [
    ("onnx", "bfloat16", "E045"), ("tensorrt", "auto", "E045"), ("torch", "int4", "E017"),
])
def test_bad_backend_options_are_coded_errors_before_the_model_loads(
    backend: str, precision: str, code: str, tmp_path: Path
) -> None:
    with pytest.raises(CompassionError) as info:
        check_backend(backend, precision)
    assert info.value.code == code
    result = CliRunner().invoke(app, ["score", str(tmp_path), "--out", str(tmp_path / "out"),
                                      "--model", "/nonexistent", "--backend", backend,
                                      "--precision", precision])
    assert result.exit_code == 2 and f"[{code}]" in result.output
