"""One run at a time per output folder, and no finished work lost to Ctrl-C or ``kill -9``."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp import load
from compassion_nlp.cli import app
from compassion_nlp.errors import CompassionError, RunInterrupted
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.runfolder import CHECKPOINT_NAME, LOCK_NAME, lock_folder
from compassion_nlp.tables import TABLES

from . import helpers
from .helpers import TRANSCRIPT


def _folder(root: Path, n: int) -> Path:
    folder = root / "in"
    folder.mkdir()
    for i in range(n):
        (folder / f"c{i:03d}.txt").write_text(TRANSCRIPT.replace("Good morning", f"Hello {i}"))
    return folder


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    names = ("utterances", "encounters", "speakers", "cues", "highlights")
    return {n: pd.read_csv(out / f"{n}.csv").sort_values(
        [c for c in ("encounter_id", "utterance_id", "speaker", "kind", "cue_utterance_id")
         if c in pd.read_csv(out / f"{n}.csv", nrows=0).columns]).reset_index(drop=True)
        for n in names}


def test_a_second_run_into_a_busy_folder_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = _folder(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    with lock_folder(out):
        assert str(os.getpid()) in (out / LOCK_NAME).read_text()
        result = CliRunner().invoke(app, ["score", str(source), "--out", str(out), "--model",
                                          str(tiny_model_dir), "-t", "csv"])
        assert result.exit_code == 2 and "[E027]" in result.output
        assert f"pid {os.getpid()}" in " ".join(result.output.split())
        assert not (out / "encounters.csv").exists()
    # released at the end of the first run: the next one goes ahead, and leaves no lock file
    result = CliRunner().invoke(app, ["score", str(source), "--out", str(out), "--model",
                                      str(tiny_model_dir), "-t", "csv"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out / "encounters.csv")) == 1
    assert not (out / LOCK_NAME).exists()


def test_a_run_killed_while_holding_the_lock_does_not_block_the_next(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from compassion_nlp.runfolder import lock_folder\n"
         "with lock_folder(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(60)",
         str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(CompassionError) as info, lock_folder(tmp_path):
            pass
        assert info.value.code == "E027"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with lock_folder(tmp_path):  # the operating system released the dead run's lock
        pass


@pytest.fixture
def ctrl_c_after(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``ctrl_c_after(n)``: n encounters are scored, then Ctrl-C is pressed."""
    return lambda n: helpers.ctrl_c_after(monkeypatch, n)


def test_ctrl_c_saves_finished_encounters_and_the_next_run_resumes(
    tiny_model_dir: Path, tmp_path: Path, ctrl_c_after, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compassion_nlp.scoring as scoring

    source = _folder(tmp_path, 6)
    scorer = load(tiny_model_dir)
    whole = score_to_folder(scorer, [source], tmp_path / "whole", ext=".csv")
    assert whole.encounters == 6

    real = ctrl_c_after(4)
    out = tmp_path / "out"
    with pytest.raises(RunInterrupted) as info:
        score_to_folder(scorer, [source], out, ext=".csv",
                        checkpoint_every_s=3600)  # only Ctrl-C saves here
    message = str(info.value)
    assert message.startswith("[W007]") and "4 finished encounter(s)" in message
    assert not (out / "encounters.csv").exists() and not (out / LOCK_NAME).exists()
    monkeypatch.setattr(scoring.Scorer, "pipe_groups", real)
    again = score_to_folder(scorer, [source], out, ext=".csv")
    assert (again.skipped, again.encounters) == (4, 2)
    assert not (out / CHECKPOINT_NAME).exists()
    for name, table in _tables(out).items():
        pd.testing.assert_frame_equal(table, _tables(tmp_path / "whole")[name], check_dtype=False,
                                      obj=name)


def test_the_cli_prints_how_to_resume_on_ctrl_c(
    tiny_model_dir: Path, tmp_path: Path, ctrl_c_after
) -> None:
    ctrl_c_after(2)
    source = _folder(tmp_path, 4)
    result = CliRunner().invoke(app, ["score", str(source), "--out", str(tmp_path / "out"),
                                      "--model", str(tiny_model_dir), "-t", "csv"])
    assert result.exit_code == 130
    flat = " ".join(result.output.split())
    assert "[W007]" in flat and "2 finished encounter(s)" in flat and "resume" in flat


def test_kill_9_loses_at_most_the_encounters_in_progress(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = _folder(tmp_path, 60)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "compassion_nlp", "score", str(source), "--out", str(out),
               "--model", str(tiny_model_dir), "-t", "csv", "--checkpoint-every", "0",
               "--batch-size", "1"]  # small batches: a few encounters finish at a time
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / CHECKPOINT_NAME).glob("shard-*")) and run.poll() is None:
        assert time.monotonic() < deadline, "no shard was written"
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    saved = sum(len(pd.read_parquet(shard / "encounters.parquet"))
                for shard in (out / CHECKPOINT_NAME).glob("shard-*"))
    assert saved >= 1 and not (out / "encounters.csv").exists()
    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{saved} already scored" in " ".join(resumed.stderr.split())
    encounters = pd.read_csv(out / "encounters.csv")
    assert sorted(encounters["encounter_id"]) == sorted(f"c{i:03d}.txt" for i in range(60))
    assert not (out / CHECKPOINT_NAME).exists()


def test_a_half_written_shard_is_ignored(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = _folder(tmp_path, 2)
    out = tmp_path / "out"
    (out / CHECKPOINT_NAME / ".tmp-000001-1").mkdir(parents=True)
    (out / CHECKPOINT_NAME / ".tmp-000001-1" / "encounters.parquet").write_bytes(b"PAR1 half")
    summary = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (summary.encounters, summary.skipped) == (2, 0)
    assert not (out / CHECKPOINT_NAME).exists()


def _other_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The tiny model with another EMPATHIC threshold: another model as far as labels go."""
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    config = json.loads((other / "compassion.json").read_text())
    config["thresholds"]["EMPATHIC"] = 0.123
    (other / "compassion.json").write_text(json.dumps(config))
    return other


def test_rows_of_another_model_or_other_settings_are_not_mixed_into_a_folder(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from compassion_nlp.config import DEFAULT_CONFIG

    source = _folder(tmp_path, 2)
    out = tmp_path / "out"
    assert score_to_folder(load(tiny_model_dir), [source], out, ext=".csv").encounters == 2
    again = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (again.skipped, again.encounters) == (2, 0)  # the same model: nothing to redo

    other = load(_other_model(tiny_model_dir, tmp_path))
    before = (out / "encounters.csv").read_bytes()
    with pytest.raises(CompassionError) as info:
        score_to_folder(other, [source], out, ext=".csv")
    assert info.value.code == "E047" and str(out) in str(info.value)
    assert "an earlier run with another model" in str(info.value)
    assert (out / "encounters.csv").read_bytes() == before
    wider = load(tiny_model_dir, config=replace(DEFAULT_CONFIG, cue_window=3))
    with pytest.raises(CompassionError, match="other scoring settings"):
        score_to_folder(wider, [source], out, ext=".csv")
    # --force scores everything again with the new model
    assert score_to_folder(other, [source], out, ext=".csv", force=True).encounters == 2
    assert json.loads((out / "run.json").read_text())["model"]["id"] == other.model_info["id"]

    # a run.json written before models had an id: the thresholds tell the models apart
    run = json.loads((out / "run.json").read_text())
    del run["model"]["id"]
    (out / "run.json").write_text(json.dumps(run))
    assert score_to_folder(other, [source], out, ext=".csv").skipped == 2
    with pytest.raises(CompassionError, match="E047"):
        score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")


def _interrupted(tiny_model_dir: Path, tmp_path: Path, ctrl_c_after,  # type: ignore[no-untyped-def]
                 monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A folder of 4 transcripts and the output of a run stopped (Ctrl-C) after 2 of them."""
    import compassion_nlp.scoring as scoring

    source = _folder(tmp_path, 4)
    out = tmp_path / "out"
    real = ctrl_c_after(2)
    with pytest.raises(RunInterrupted):
        score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    monkeypatch.setattr(scoring.Scorer, "pipe_groups", real)
    return source, out


def test_an_interrupted_run_is_not_resumed_with_another_model(
    tiny_model_dir: Path, tmp_path: Path, ctrl_c_after, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, out = _interrupted(tiny_model_dir, tmp_path, ctrl_c_after, monkeypatch)
    with pytest.raises(CompassionError) as info:
        score_to_folder(load(_other_model(tiny_model_dir, tmp_path)), [source], out, ext=".csv")
    assert "an interrupted run with another model" in str(info.value)
    resumed = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (resumed.skipped, resumed.encounters) == (2, 2)


def _edit(folder: Path, name: str) -> None:
    path = folder / name
    path.write_text(path.read_text().replace("Do you smoke?", "That must be so hard for you."))


def _rows_of(out: Path, encounter_id: str) -> dict[str, pd.DataFrame]:
    return {name: t[t["encounter_id"] == encounter_id].reset_index(drop=True)
            for name, t in _tables(out).items()}


def test_an_edited_transcript_is_scored_again_and_its_rows_replaced(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = _folder(tmp_path, 3)
    out = tmp_path / "out"
    score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    before = _tables(out)
    _edit(source, "c001.txt")
    again = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (again.encounters, again.skipped, again.changed) == (1, 2, 1)
    assert json.loads((out / "run.json").read_text())["encounters_changed"] == 1
    after = _tables(out)
    assert after["encounters"]["encounter_id"].is_unique and len(after["encounters"]) == 3
    fresh = tmp_path / "fresh"
    score_to_folder(load(tiny_model_dir), [source], fresh, ext=".csv")
    for name, table in _rows_of(fresh, "c001.txt").items():  # the edited one: as if new
        pd.testing.assert_frame_equal(_rows_of(out, "c001.txt")[name], table, check_dtype=False)
    assert "That must be so hard" in " ".join(after["utterances"]["text"])
    assert "Do you smoke?" not in set(_rows_of(out, "c001.txt")["utterances"]["text"])
    for other in ("c000.txt", "c002.txt"):  # the others: untouched
        for name, table in after.items():
            old = before[name][before[name]["encounter_id"] == other].reset_index(drop=True)
            pd.testing.assert_frame_equal(table[table["encounter_id"] == other]
                                          .reset_index(drop=True), old, check_dtype=False)
    _edit(source, "c000.txt")  # the command line says so
    result = CliRunner().invoke(app, ["score", str(source), "--out", str(out), "--model",
                                      str(tiny_model_dir), "-t", "csv"])
    assert result.exit_code == 0, result.output
    assert "1 scored again: changed since the last run" in " ".join(result.output.split())
    # tables written before encounters had a fingerprint: their encounters stay done
    encounters = pd.read_csv(out / "encounters.csv").drop(columns="fingerprint")
    encounters.to_csv(out / "encounters.csv", index=False)
    _edit(source, "c002.txt")
    assert score_to_folder(load(tiny_model_dir), [source], out, ext=".csv").skipped == 3


def test_an_encounter_edited_after_an_interrupted_run_is_not_kept_twice(
    tiny_model_dir: Path, tmp_path: Path, ctrl_c_after, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, out = _interrupted(tiny_model_dir, tmp_path, ctrl_c_after, monkeypatch)
    _edit(source, "c000.txt")  # saved in the checkpoint, then edited
    resumed = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (resumed.encounters, resumed.skipped, resumed.changed) == (3, 1, 1)
    fresh = tmp_path / "fresh"
    score_to_folder(load(tiny_model_dir), [source], fresh, ext=".csv")
    for name, table in _tables(fresh).items():
        pd.testing.assert_frame_equal(_tables(out)[name], table)


def test_a_checkpoint_keeps_the_latest_rows_of_an_encounter_saved_twice(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from compassion_nlp.runfolder import Checkpoint

    checkpoint = Checkpoint(tmp_path, ("encounters", "utterances"))
    for text in ("old", "new"):  # scored, then scored again after an edit
        checkpoint.add({"encounters": pd.DataFrame({"encounter_id": ["a", "b" if text == "old"
                                                                    else "c"]}),
                        "utterances": pd.DataFrame({"encounter_id": ["a", "a"],
                                                    "text": [text, text]})})
        checkpoint.save()
    assert list(pd.concat(checkpoint.frames("encounters"))["encounter_id"]) == ["b", "a", "c"]
    assert list(pd.concat(checkpoint.frames("utterances"))["text"]) == ["new", "new"]


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_text_that_looks_like_a_number_or_a_date_is_read_and_written_back_as_it_was(
    tmp_path: Path, ext: str
) -> None:
    from compassion_nlp.tables import read_table, write_table

    columns = {"encounter_id": ["a.txt", "b.txt"], "speaker": ["007", "2"],
               "date": ["2024-01-05", "2024-02-29"],
               "fingerprint": ["0123456789012345", "12e4567890123456"]}
    path = write_table(pd.DataFrame({**columns, "turns": [3, 4],
                                     "compassion_score": [51.5, float("nan")],
                                     "source_line": pd.array([2, None], dtype="Int64")}),
                       tmp_path / f"encounters{ext}")
    written = path.read_bytes()
    back = read_table(path)
    assert {name: back[name].tolist() for name in columns} == columns
    assert back["turns"].tolist() == [3, 4] and back["compassion_score"].isna().tolist() == [
        False, True]
    write_table(back, path)  # what a resumed run or a shard merge does with the earlier rows
    assert path.read_bytes() == written


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_a_run_adding_to_a_folder_writes_its_earlier_rows_back_unchanged(
    tiny_model_dir: Path, tmp_path: Path, ext: str
) -> None:
    from compassion_nlp.tables import read_table

    source = _folder(tmp_path, 2)
    asr = helpers.FIXTURES / "json_deepgram_assemblyai_whisper" / "dg_speakers.json"  # no lines
    out = tmp_path / "out"
    score_to_folder(load(tiny_model_dir), [source / "c000.txt", asr], out, ext=ext)
    before = {n: (out / f"{n}{ext}").read_bytes() for n in TABLES}
    assert read_table(out / f"utterances{ext}")["source_line"].isna().any()
    added = score_to_folder(load(tiny_model_dir), [source, asr], out, ext=ext,
                            checkpoint_every_s=0)
    assert (added.skipped, added.encounters) == (2, 1)
    for name, earlier in before.items():
        path = out / f"{name}{ext}"
        if ext == ".parquet":  # the earlier rows, read back as they were
            now = read_table(path)
            kept = now[now["encounter_id"] != "c001.txt"].reset_index(drop=True)
            pd.testing.assert_frame_equal(kept, pd.read_parquet(io.BytesIO(earlier)), obj=name)
        else:
            assert path.read_bytes().startswith(earlier), name


def test_an_unreadable_table_in_the_folder_stops_the_run_before_any_scoring(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = _folder(tmp_path, 2)
    out = tmp_path / "out"
    score_to_folder(load(tiny_model_dir), [source / "c000.txt"], out)
    (out / "cues.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(CompassionError) as info:
        score_to_folder(load(tiny_model_dir), [source], out)
    assert info.value.code == "E052" and str(out / "cues.parquet") in str(info.value)
    assert len(pd.read_parquet(out / "encounters.parquet")) == 1
    assert not (out / CHECKPOINT_NAME).exists()


def test_a_table_found_unreadable_while_writing_keeps_the_runs_encounters_for_the_next(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = _folder(tmp_path, 2)
    out = tmp_path / "out"
    score_to_folder(load(tiny_model_dir), [source / "c000.txt"], out, ext=".csv")
    with open(out / "utterances.csv", "a", encoding="utf-8") as table:
        table.write("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z\n")  # header reads
    with pytest.raises(CompassionError) as info:
        score_to_folder(load(tiny_model_dir), [source], out, ext=".csv",
                        checkpoint_every_s=3600)  # c001.txt is only in memory when it fails
    assert info.value.code == "E052" and str(out / "utterances.csv") in str(info.value)
    assert (out / CHECKPOINT_NAME).is_dir()
    (out / "utterances.csv").unlink()
    resumed = score_to_folder(load(tiny_model_dir), [source], out, ext=".csv")
    assert (resumed.skipped, resumed.encounters) == (2, 0)
    assert set(pd.read_csv(out / "utterances.csv")["encounter_id"]) == {"c001.txt"}
    assert list(pd.read_csv(out / "encounters.csv")["encounter_id"]) == ["c000.txt", "c001.txt"]


def test_the_tables_are_written_holding_one_chunk_of_rows_at_a_time(tmp_path: Path) -> None:
    import gc
    import weakref

    from compassion_nlp.tables import read_table, write_frames

    alive: list[weakref.ref] = []
    most = 0

    def chunks():
        nonlocal most
        for i in range(6):
            gc.collect()
            most = max(most, sum(r() is not None for r in alive))
            frame = pd.DataFrame({"encounter_id": [f"e{i}"] * 100, "n": range(100)})
            alive.append(weakref.ref(frame))
            yield frame

    for ext in (".csv", ".jsonl", ".parquet"):
        alive.clear()
        assert write_frames(chunks(), tmp_path / f"t{ext}") == 600
        assert most <= 1, ext  # the chunk just written, at most
        assert read_table(tmp_path / f"t{ext}")["n"].tolist() == list(range(100)) * 6
