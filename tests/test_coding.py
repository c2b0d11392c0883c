"""Human coders in the loop: export for coding, import the coded labels, agreement."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from compassion_nlp import load
from compassion_nlp.cli import app
from compassion_nlp.coding import agreement, coding_items, export_for_coding, import_coded
from compassion_nlp.model import LABELS
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.training import check_rows

from .helpers import TRANSCRIPT


@pytest.fixture
def results(tiny_model_dir: Path, tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(TRANSCRIPT)
    (tmp_path / "in" / "b.txt").write_text(TRANSCRIPT.replace("cancer", "my heart"))
    score_to_folder(load(tiny_model_dir), [tmp_path / "in"], tmp_path / "results", ext=".csv")
    return tmp_path / "results"


def test_items_carry_the_previous_turn_and_the_model_labels(results: Path) -> None:
    items = coding_items(results)
    utterances = pd.read_csv(results / "utterances.csv")
    assert len(items) == len(utterances)
    a = items[items["encounter_id"] == "a.txt"].reset_index(drop=True)
    assert a.loc[0, "previous_text"] == "" and a.loc[0, "role"] == "clinician"
    # the patient's first utterance answers the doctor's whole first turn
    assert a.loc[2, "previous_text"] == "Good morning. What brings you in today?"
    assert a.loc[2, "previous_role"] == "clinician"
    first = utterances.iloc[0]
    assert items.loc[0, "model_labels"] == [x for x in LABELS if first[x.lower()]]
    few = coding_items(results, uncertain=3)
    assert len(few) == 3 and set(few["margin"]) <= set(items.nsmallest(3, "margin")["margin"])


def _code_csv(path: Path, out: Path, bad_line: bool = False) -> None:
    """A coder who marks CUE on patients and EMPATHIC on 'sounds'."""
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        row["CUE"] = "1" if row["role"] == "patient" and "worried" in row["text"] else ""
        row["EMPATHIC"] = "x" if "sounds" in row["text"] else "0"
    if bad_line:
        rows[1]["PURSUING"] = "maybe"
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_round_trip_to_a_training_corpus(results: Path, tmp_path: Path) -> None:
    n = export_for_coding(results, tmp_path / "tasks.csv", to="csv")
    _code_csv(tmp_path / "tasks.csv", tmp_path / "coded.csv", bad_line=True)
    rows_written, problems = import_coded(tmp_path / "coded.csv", tmp_path / "corpus.jsonl")
    assert rows_written == n - 1 and problems == ["line 3: PURSUING must be 1/x or 0/empty"]
    rows = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    check_rows(rows)
    worried = [r for r in rows if "worried" in r["text"]]
    assert worried and all(r["labels"] == ["CUE"] for r in worried)
    assert {r["split"] for r in rows if r["encounter_id"] == "a.txt"} in ({"train"}, {"dev"},
                                                                           {"test"})


def test_label_studio_round_trip_and_agreement(results: Path, tmp_path: Path) -> None:
    export_for_coding(results, tmp_path / "tasks.json", uncertain=None)
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert (tmp_path / "tasks.config.xml").read_text().count("<Choice ") == len(LABELS)
    # Label Studio's export: the tasks with the coder's annotations
    for i, task in enumerate(tasks):
        choices = ["EMPATHIC"] if "sounds" in task["data"]["text"] else []
        task["annotations"] = [{"result": [{"from_name": "labels", "to_name": "text",
                                            "type": "choices", "value": {"choices": choices}}],
                                "was_cancelled": i == 0}]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    n, problems = import_coded(tmp_path / "export.json", tmp_path / "ls.jsonl")
    assert n == len(tasks) - 1 and problems == ["task 1: not coded"]
    export_for_coding(results, tmp_path / "tasks.csv", to="csv")
    _code_csv(tmp_path / "tasks.csv", tmp_path / "coded.csv")
    result = agreement(tmp_path / "ls.jsonl", tmp_path / "coded.csv")
    assert result["items"] == n
    assert result["labels"]["EMPATHIC"]["kappa"] == 1.0  # both coders mark the same ones
    # against the model: the same numbers as scikit-learn on the items in common
    against_model = agreement(tmp_path / "coded.csv", results)
    coded = {r["key"]: r for r in csv.DictReader((tmp_path / "coded.csv").open())}
    utterances = pd.read_csv(results / "utterances.csv")
    keys = [f"{r.encounter_id}:{r.utterance_id}" for r in utterances.itertuples()]
    human = np.array([coded[k]["EMPATHIC"] == "x" for k in keys], dtype=int)
    model = utterances["empathic"].astype(int).to_numpy()
    expected = cohen_kappa_score(human, model) if (human != model).any() else 1.0
    assert against_model["labels"]["EMPATHIC"]["kappa"] == pytest.approx(expected)
    assert against_model["labels"]["EMPATHIC"]["prevalence"] == pytest.approx(
        [human.mean(), model.mean()])


def test_cli_export_import_agree(results: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["export", str(results), "--to", "csv", "--out",
                               str(tmp_path / "t.csv"), "--uncertain", "4"])
    assert done.exit_code == 0 and "4 coding task(s)" in done.output
    _code_csv(tmp_path / "t.csv", tmp_path / "c.csv", bad_line=True)
    done = runner.invoke(app, ["import", str(tmp_path / "c.csv"), "--out",
                               str(tmp_path / "corpus.jsonl")])
    assert done.exit_code == 1 and "line 3" in done.output
    done = runner.invoke(app, ["agree", str(tmp_path / "corpus.jsonl"), "--reference",
                               str(results)])
    assert done.exit_code == 0 and "3 utterance(s) in common" in done.output
    assert all(x in done.output for x in LABELS)
    done = runner.invoke(app, ["export", str(tmp_path), "--out", str(tmp_path / "x.json")])
    assert done.exit_code == 2 and "[E035]" in done.output
