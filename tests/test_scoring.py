"""Scoring end to end with a tiny model built in code: API, tables, resumable runs, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp import load
from compassion_nlp.cli import app
from compassion_nlp.errors import CompassionError
from compassion_nlp.model import UTTERANCE_COLUMNS
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.pipeline import read_string
from compassion_nlp.tables import LABEL_COLUMNS, PROBABILITY_COLUMNS, TABLES

from .helpers import TRANSCRIPT


def test_score_text_encounter_and_tables(tiny_model_dir: Path) -> None:
    scorer = load(tiny_model_dir)
    scored = scorer(TRANSCRIPT, format="text")
    frame = scored.utterances_df()
    assert list(frame.columns) == [*UTTERANCE_COLUMNS, *PROBABILITY_COLUMNS, *LABEL_COLUMNS]
    assert len(frame) == len(scored.encounter.utterances)
    assert frame[list(PROBABILITY_COLUMNS)].apply(lambda c: c.between(0, 1)).all().all()
    cues = scored.cues_df()
    assert set(cues["utterance_id"]) <= set(frame["utterance_id"])
    row = scored.encounter_row()
    assert row["encounter_id"] == "text"
    assert 0 <= row["compassion_score"] <= 100 or math.isnan(row["compassion_score"])
    speakers = scored.speakers_df()
    assert set(speakers["role"]) == {"clinician", "patient"}
    # highlights and reports on known labels: tests/test_highlights_feedback.py
    # an Encounter object is accepted as well
    [enc] = read_string(TRANSCRIPT)
    assert scorer(enc).utterances_df()["text"].tolist() == frame["text"].tolist()


def test_file_with_many_encounters_needs_pipe(tiny_model_dir: Path, fixtures: Path) -> None:
    scorer = load(tiny_model_dir)
    csv = next((fixtures / "csv_dialogues").glob("*.csv"))
    with pytest.raises(CompassionError, match=r"\[E022\].*pipe"):
        scorer(csv)
    scored = list(scorer.pipe([csv]))
    assert len(scored) > 1
    assert all("#" in s.id for s in scored)


def test_score_in_one_call_keeps_the_model_and_returns_every_encounter(
    tiny_model_dir: Path, fixtures: Path, tmp_path: Path
) -> None:
    from compassion_nlp import score
    from compassion_nlp.errors import CompassionError
    from compassion_nlp.scoring import _cached_classifier

    csv = next((fixtures / "csv_dialogues").glob("*.csv"))
    first = score(csv, model=tiny_model_dir)
    assert len(first) > 1 and all("#" in s.id for s in first)
    [enc] = read_string(TRANSCRIPT)
    [again] = score([enc], model=tiny_model_dir)
    assert again.utterances_df()["text"].tolist() == [u.text for u in enc.utterances]
    assert _cached_classifier.cache_info().hits >= 1  # loaded once
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CompassionError, match="E00"):
        score(tmp_path / "empty.txt", model=tiny_model_dir)


def test_load_builds_the_segmenter_of_its_settings(tiny_model_dir: Path) -> None:
    from compassion_nlp.config import ScoringConfig
    from compassion_nlp.segment import default_nlp

    config = ScoringConfig(segment_max_words=33)
    default_nlp.cache_clear()
    scorer = load(tiny_model_dir, config=config)
    # built with the model, so the first transcript does not wait for it
    assert default_nlp.cache_info().currsize == 1
    scorer(TRANSCRIPT, format="text")
    assert default_nlp.cache_info().hits >= 1 and default_nlp.cache_info().misses == 1


def test_batch_run_writes_tables_skips_done_and_reports_failures(
    tiny_model_dir: Path, fixtures: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(TRANSCRIPT)
    (folder / "b.txt").write_text(TRANSCRIPT.replace("cancer", "serious"))
    (folder / "empty.txt").write_text("")
    (folder / "notes.txt").write_text("just some notes without any speaker at all\n")
    scorer = load(tiny_model_dir)
    out = tmp_path / "out"
    summary = score_to_folder(scorer, [folder], out, ext=".csv", reports=True)
    assert summary.encounters == 2
    report = (out / "reports" / "encounters" / "a.txt.html").read_text()
    assert "<h1>a.txt</h1>" in report and "compassion score" in report
    assert (out / "reports" / "index.html").is_file()
    assert {f for f, _ in summary.failures} == {"empty.txt", "notes.txt"}
    for name in TABLES:
        assert (out / f"{name}.csv").is_file()
    failures = pd.read_csv(out / "failures.csv")
    assert set(failures["code"]) == {"E002", "E005"}
    encounters = pd.read_csv(out / "encounters.csv")
    assert sorted(encounters["encounter_id"]) == ["a.txt", "b.txt"]
    run = json.loads((out / "run.json").read_text())
    assert run["encounters_scored"] == 2
    # a second run skips what is done; --force scores again without duplicating rows
    again = score_to_folder(scorer, [folder], out, ext=".csv")
    assert (again.encounters, again.skipped) == (0, 2)
    forced = score_to_folder(scorer, [folder], out, ext=".csv", force=True)
    assert forced.encounters == 2
    utterances = pd.read_csv(out / "utterances.csv")
    assert len(utterances) == len(utterances.drop_duplicates(["encounter_id", "utterance_id"]))
    assert not list(out.glob(".*.tmp"))


def test_score_runs_with_the_network_blocked(
    tiny_model_dir: Path, tmp_path: Path, no_network: None
) -> None:
    import socket

    with pytest.raises(OSError):
        socket.create_connection(("example.org", 80))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(TRANSCRIPT)
    scorer = load(tiny_model_dir)
    summary = score_to_folder(scorer, [tmp_path / "in"], tmp_path / "out")
    assert summary.encounters == 1 and not summary.failures


def test_cli_score(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TRANSCRIPT)
    (tmp_path / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    result = CliRunner().invoke(
        app, ["score", str(tmp_path / "a.txt"), str(tmp_path / "bad.txt"), "--out",
              str(tmp_path / "out"), "--model", str(tiny_model_dir), "-t", "jsonl"],
    )
    assert result.exit_code == 1, result.output
    assert "E003" in result.output and "bad.txt" in result.output
    assert (tmp_path / "out" / "utterances.jsonl").is_file()
    usage = CliRunner().invoke(app, ["score", str(tmp_path / "a.txt"), "--out",
                                     str(tmp_path / "o2"), "-t", "xlsx"])
    assert usage.exit_code == 2 and "E011" in usage.output


def test_error_messages_do_not_leak_transcript_text(tiny_model_dir: Path, tmp_path: Path) -> None:
    secret = "Patient: my secret diagnosis is zebra fever"
    (tmp_path / "x.vtt").write_text("WEBVTT\n\n" + secret + "\n")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "x.vtt"), "--out",
                                      str(tmp_path / "o"), "--model", str(tiny_model_dir)])
    assert result.exit_code == 1  # the file failed, and the run said so
    assert "[E020]" in result.output and "x.vtt" in result.output
    assert "zebra" not in result.output
    assert "zebra" not in (tmp_path / "o" / "failures.csv").read_text()


@pytest.mark.parametrize(
    ("text", "fmt", "reason"),
    [
        ("Doctor: Hello. Please sit down. Your results are normal. Any questions?\n", "text",
         "only one speaker"),
        ("WEBVTT\n\n00:00.000 --> 00:02.000\nHello there, how are you?\n\n"
         "00:02.000 --> 00:04.000\nNot bad, thanks.\n", "vtt", "no speaker has a known role"),
    ],
)
def test_an_encounter_that_cannot_be_scored_is_nan_with_a_warning(
    tiny_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, fmt: str,
    reason: str,
) -> None:
    scorer = load(tiny_model_dir)
    scored = scorer(text, format=fmt)
    assert math.isnan(scored.compassion.value) and reason in scored.compassion.unscorable
    assert "[W006]" in caplog.text
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"x.{'txt' if fmt == 'text' else fmt}").write_text(text)
    (tmp_path / "in" / "ok.txt").write_text(TRANSCRIPT)
    summary = score_to_folder(scorer, [tmp_path / "in"], tmp_path / "out", ext=".csv")
    assert summary.encounters == 2 and summary.unscorable == 1
    rows = pd.read_csv(tmp_path / "out" / "encounters.csv").set_index("encounter_id")
    row = rows.loc[f"x.{'txt' if fmt == 'text' else fmt}"]
    assert reason in row["unscorable"] and math.isnan(row["compassion_score"])
    assert json.loads((tmp_path / "out" / "run.json").read_text())["encounters_unscorable"] == 1


@pytest.mark.parametrize(
    ("options", "code"),
    [
        (["--batch-size", "0"], "E024"), (["--threads", "0"], "E024"),
        (["--max-mb", "-1"], "E024"), (["--role", "Doctor==patient"], "E010"),
    ],
)
def test_bad_options_are_coded_errors_before_the_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], code: str
) -> None:
    import compassion_nlp.scoring as scoring

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(scoring.UtteranceClassifier, "from_pretrained", no_model)
    (tmp_path / "a.txt").write_text(TRANSCRIPT)
    result = CliRunner().invoke(app, ["score", str(tmp_path / "a.txt"), "--out",
                                      str(tmp_path / "out"), *options])
    assert result.exit_code == 2 and f"[{code}]" in result.output
    assert "Traceback" not in result.output


def test_an_out_folder_that_cannot_be_written_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    (tmp_path / "a.txt").write_text(TRANSCRIPT)
    (tmp_path / "a_file").write_text("not a folder")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "a.txt"), "--out",
                                      str(tmp_path / "a_file")])
    assert result.exit_code == 2 and "[E026]" in result.output and "a_file" in result.output
    # a read-only folder (simulated: the test may run as root, who may write anywhere)
    real = tempfile.mkstemp

    def read_only(*args: object, dir: str | None = None, **kwargs: object):  # noqa: A002
        if dir is not None and Path(dir).name == "results":
            raise PermissionError(13, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    for args in (["score", "--out", str(tmp_path / "results")],
                 ["read", "--out", str(tmp_path / "results" / "u.csv")]):
        result = CliRunner().invoke(app, [args[0], str(tmp_path / "a.txt"), *args[1:]])
        assert result.exit_code == 2 and "[E026]" in result.output
        assert "Permission denied" in result.output


def test_a_role_that_names_no_speaker_fails_the_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TRANSCRIPT)
    result = CliRunner().invoke(app, [
        "score", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"), "--model",
        str(tiny_model_dir), "--role", "Docter=clinician", "--role", "Doctor=clinician",
    ])
    assert result.exit_code == 1 and "[E025]" in result.output
    assert "'Docter'" in result.output and "'Doctor'" not in _flat_e025(result.output)
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert failures["code"].tolist() == ["E025"]


def _flat_e025(output: str) -> str:
    """The text of the E025 message (it names only the unused labels)."""
    flat = " ".join(output.split())
    return flat[flat.index("[E025]"):].split("Check the spelling")[0]


def test_score_names_the_files_it_did_not_read(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(TRANSCRIPT)
    (tmp_path / "in" / "scan.png").write_bytes(b"\x89PNG\r\n")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "in"), "--out",
                                      str(tmp_path / "out"), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "1 file(s) not read (not a transcript extension)" in result.output
    assert "scan.png" in result.output


def test_read_ahead_keeps_the_order_bounds_what_it_holds_raises_and_stops(
) -> None:
    import threading
    import time
    from types import SimpleNamespace

    from compassion_nlp.pipeline import read_ahead

    def result(n: int, utterances: int = 10) -> SimpleNamespace:
        view = SimpleNamespace(utterances=[None] * utterances)
        return SimpleNamespace(n=n, encounters=[SimpleNamespace(view=view)])

    got = [r.n for r in read_ahead(iter(result(n) for n in range(50)), budget=30)]
    assert got == list(range(50))

    def failing():  # type: ignore[no-untyped-def]
        yield result(1)
        raise ValueError("reader bug")

    seen = []
    with pytest.raises(ValueError, match="reader bug"):
        for item in read_ahead(failing()):
            seen.append(item.n)
    assert seen == [1]

    made = []

    def endless():  # type: ignore[no-untyped-def]
        n = 0
        while True:
            made.append(n)
            yield result(n, utterances=1000)
            n += 1

    stream = read_ahead(endless(), budget=2048)
    assert next(stream).n == 0
    time.sleep(0.3)
    assert len(made) <= 4  # 1,000-utterance sources: two waiting, one being read, one taken
    stream.close()  # the consumer stops: the reader thread must stop too
    deadline = time.monotonic() + 5
    while any(t.name == "compassion-read-ahead" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the read-ahead thread did not stop"
        time.sleep(0.05)
    # one source larger than the budget is still read
    big = [r.n for r in read_ahead(iter([result(0, 5000), result(1, 5000)]), budget=100)]
    assert big == [0, 1]


def test_the_tables_are_the_same_however_the_encounters_are_grouped(tmp_path: Path) -> None:
    """A batch run builds each table once per group of encounters classified together; the
    groups follow --batch-size, and the tables (values and column types) must not."""
    from compassion_nlp.scoring import Scorer
    from compassion_nlp.tables import read_table

    from .helpers import HashClassifier

    fixtures = Path(__file__).parent / "fixtures"
    # timed and untimed consultations, CSV dialogues, a meeting
    sources = [fixtures / "textgrid_primock57", fixtures / "plaintext_acibench",
               fixtures / "csv_dialogues", fixtures / "json_qmsum"]
    scorer = Scorer(HashClassifier())  # type: ignore[arg-type]
    for batch_size, groups in ((1, range(2, 100)), (10_000, [1])):
        assert len(list(scorer.pipe_groups(sources, batch_size=batch_size, errors=[]))) in groups
    for batch_size in (1, 10_000):
        for ext in (".parquet", ".csv"):
            score_to_folder(scorer, sources, tmp_path / f"{batch_size}{ext}", ext=ext,
                            batch_size=batch_size)
    for name in TABLES:
        small, large = (read_table(tmp_path / f"{b}.parquet" / f"{name}.parquet")
                        for b in (1, 10_000))
        assert len(small), name
        pd.testing.assert_frame_equal(small, large, obj=name)
        small, large = ((tmp_path / f"{b}.csv" / f"{name}.csv").read_bytes() for b in (1, 10_000))
        assert small == large, name
