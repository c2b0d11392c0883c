"""`compassion-nlp read`: tables in three formats, folders, exit codes, failure report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp.cli import app
from compassion_nlp.model import UTTERANCE_COLUMNS
from compassion_nlp.tables import read_table

runner = CliRunner()


def _flat(text: str) -> str:
    """Rich wraps long lines: compare with single spaces."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def corpus(fixtures: Path, tmp_path: Path) -> Path:
    """A folder of good transcripts only, in sub-folders."""
    root = tmp_path / "corpus"
    (root / "mts").mkdir(parents=True)
    (root / "primock").mkdir()
    shutil.copy(fixtures / "plaintext_mtsdialog" / "train_ID695_simple.txt", root / "mts")
    shutil.copy(fixtures / "plaintext_osce_fareez" / "RES0002.txt", root)
    for path in (fixtures / "textgrid_primock57").glob("day3_consultation06_*.TextGrid"):
        shutil.copy(path, root / "primock")
    shutil.copy(fixtures / "csv_dialogues" / "mts_dialog_validation_head6.csv", root)
    return root


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_read_folder_writes_the_utterance_table(corpus: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    result = runner.invoke(app, ["read", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = read_table(out)
    assert list(frame.columns) == list(UTTERANCE_COLUMNS)
    ids = set(frame["encounter_id"])
    assert ids == {
        "RES0002.txt", "mts/train_ID695_simple.txt", "primock/day3_consultation06",
        *(f"mts_dialog_validation_head6.csv#{i}" for i in range(6)),
    }
    osce = frame[frame["encounter_id"] == "RES0002.txt"]
    assert set(osce["speaker"]) == {"D", "P"}
    assert set(osce["role"]) == {"clinician", "patient"}
    assert osce["source_line"].iloc[0] == 1
    assert osce["start"].isna().all()
    primock = frame[frame["encounter_id"] == "primock/day3_consultation06"]
    assert set(primock["role"]) == {"clinician", "patient"}
    assert primock["start"].notna().all() and (primock["end"] >= primock["start"]).all()
    assert frame["utterance_id"].str.match(r"^t\d+\.u\d+$").all()
    assert "Read 9 encounter(s)" in _flat(result.output)


def test_parquet_types(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    assert runner.invoke(app, ["read", str(corpus), "-o", str(out)]).exit_code == 0
    frame = pd.read_parquet(out)
    assert str(frame["turn_id"].dtype) == "int64"
    assert str(frame["start"].dtype) == "float64"
    assert str(frame["source_line"].dtype) == "Int64"


def test_failures_are_listed_at_the_end_and_exit_1(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "mts" / "scan.txt").write_bytes(b"%PDF-1.5 Zebrafish")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["read", str(corpus), "--out", str(out)])
    assert result.exit_code == 1
    text = _flat(result.output)
    assert "2 file(s) failed:" in text
    tail = text[text.index("2 file(s) failed:"):]
    assert "empty.txt: [E002]" in tail and "mts/scan.txt: [E003]" in tail
    assert "Zebrafish" not in text
    assert len(pd.read_csv(out)) > 0  # the good files were still written


def test_files_given_one_by_one(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    files = [fixtures / "plaintext_acibench" / "aci_asr_ACI005.txt",
             fixtures / "textgrid_primock57" / "day3_consultation06_patient.TextGrid",
             fixtures / "json_qmsum" / "TS3010a.json"]
    result = runner.invoke(app, ["read", *map(str, files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = read_table(out)
    assert list(dict.fromkeys(frame["encounter_id"])) == [
        "aci_asr_ACI005.txt", "day3_consultation06", "TS3010a.json"
    ]
    meeting = frame[frame["encounter_id"] == "TS3010a.json"]
    assert set(meeting["role"]) == {"leader", "staff"}


def test_usage_errors_exit_2(corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["read", str(corpus), "--out", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2 and "[E011]" in _flat(result.output)
    result = runner.invoke(
        app, ["read", str(corpus), "--out", str(tmp_path / "o.csv"), "--format", "pdf"]
    )
    assert result.exit_code == 2 and "[E009]" in _flat(result.output)
    assert not (tmp_path / "o.csv").exists()
    result = runner.invoke(app, ["read", "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2  # no path given


def test_max_mb_option(corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["read", str(corpus / "RES0002.txt"), "--out", str(tmp_path / "o.csv"),
              "--max-mb", "0.001"]
    )
    assert result.exit_code == 1
    assert "[E007]" in _flat(result.output)
