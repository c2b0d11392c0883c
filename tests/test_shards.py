"""Sharded runs (--num-shards/--shard-index) merge into the same tables as a single run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from compassion_nlp import load
from compassion_nlp import shards as shards_module
from compassion_nlp.cli import app
from compassion_nlp.errors import CompassionError
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.readers import discover
from compassion_nlp.runfolder import CHECKPOINT_NAME
from compassion_nlp.shards import (
    SHARD_FILE,
    check_shards,
    merge_shards,
    shard_folder,
    shard_of,
)
from compassion_nlp.tables import TABLES, read_table

from .helpers import TRANSCRIPT, ctrl_c_after

PATIENT_LINES = ("I am so worried it might be cancer.", "The cough started on Monday.",
                 "My wife died and I have not been sleeping.", "It has been hard at home.")


def corpus(root: Path, n: int = 10) -> Path:
    """Transcripts of different lengths in two folders, a CSV of several dialogues, an
    unreadable file and one with a role mapping's speaker."""
    folder = root / "in"
    (folder / "b").mkdir(parents=True)
    for i in range(n):
        extra = "".join(f"Patient: {PATIENT_LINES[(i + k) % 4]}\nDoctor: How is that for you?\n"
                        for k in range(i % 4))
        sub = folder / ("b" if i % 3 == 0 else "")
        (sub / f"c{i:02d}.txt").write_text(TRANSCRIPT.replace("Good morning", f"Hello {i}")
                                           + extra)
    shutil.copy(next((Path(__file__).parent / "fixtures" / "csv_dialogues").glob("*.csv")),
                folder / "dialogues.csv")
    (folder / "empty.txt").write_text("")  # E002: listed as a failure
    (folder / "ann.txt").write_text("Ann: Hello, what brings you in?\nBob: I am scared.\n"
                                    "Ann: That sounds frightening.\nBob: Yes.\n"
                                    "Ann: What worries you most?\nBob: My wife died.\n")
    return folder


def tables(out: Path, ext: str = ".parquet") -> dict[str, pd.DataFrame]:
    return {name: read_table(out / f"{name}{ext}") for name in TABLES}


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_three_shards_merge_into_the_tables_of_a_single_run(
    tiny_model_dir: Path, tmp_path: Path, ext: str
) -> None:
    source = corpus(tmp_path)
    # float32 (as in test_distributed): in bfloat16 a probability's last digits can depend on
    # which utterances share its batch, and a shard's batches are not a single run's
    scorer = load(tiny_model_dir, roles={"Ann": "clinician"}, precision="float32")
    single = score_to_folder(scorer, [source], tmp_path / "single", ext=ext)
    out = tmp_path / "sharded"
    counts = []
    for i in range(3):
        summary = score_to_folder(scorer, [source], out, ext=ext, num_shards=3, shard_index=i)
        assert summary.out == shard_folder(out, 3, i)
        assert (summary.out / SHARD_FILE).is_file()
        counts.append(summary.sources)
    assert sum(counts) == single.sources and all(counts)  # every source in exactly one shard
    merged = merge_shards([out])
    assert (merged.shards, merged.encounters) == (3, single.encounters)
    expected, got = tables(tmp_path / "single", ext), tables(out, ext)
    assert len(expected["encounters"]) > 12  # the CSV's dialogues are encounters of one source
    for name in TABLES:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    assert (pd.read_csv(out / "failures.csv").to_dict("records")
            == pd.read_csv(tmp_path / "single" / "failures.csv").to_dict("records"))
    run, single_run = (json.loads((d / "run.json").read_text())
                       for d in (out, tmp_path / "single"))
    for key in ("model", "config", "sources", "encounters_scored", "utterances_scored",
                "failures"):
        assert run[key] == single_run[key], key


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_shards_that_added_a_file_merge_into_the_tables_of_a_single_run(
    tiny_model_dir: Path, tmp_path: Path, ext: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard run adding a file to its folder writes that file's rows after the earlier
    ones, out of run order: the merge sorts that shard's table and streams the others."""
    source = corpus(tmp_path, n=6)
    scorer = load(tiny_model_dir, precision="float32")
    out = tmp_path / "sharded"
    for _ in range(2):  # the second time with a file that comes first in the run
        for i in range(2):
            score_to_folder(scorer, [source], out, ext=ext, num_shards=2, shard_index=i)
        (source / "a00.txt").write_text(TRANSCRIPT.replace("Good morning", "Hello again"))
    single = score_to_folder(scorer, [source], tmp_path / "single", ext=ext)
    read_whole: list[Path] = []
    real = shards_module.read_table
    monkeypatch.setattr(shards_module, "read_table",
                        lambda path: read_whole.append(path) or real(path))
    merged = merge_shards([out])
    assert (merged.encounters, merged.utterances) == (single.encounters, single.utterances)
    expected, got = tables(tmp_path / "single", ext), tables(out, ext)
    for name in TABLES:
        pd.testing.assert_frame_equal(got[name], expected[name], obj=name)
    added = shard_folder(out, 2, shard_of("a00.txt", 2))
    assert {path.parent for path in read_whole} == {added}


def test_merging_shards_in_run_order_is_a_stable_sort_of_all_their_rows() -> None:
    """Streams of rows in run order, in chunks of any size (empty ones too), with positions
    shared between streams: merged as one stable sort of the streams' rows one after another
    would order them."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        streams, frames = [], []
        for s in range(int(rng.integers(1, 5))):
            keys = np.sort(rng.integers(0, 9, int(rng.integers(0, 40))))
            frame = pd.DataFrame({"stream": s, "row": np.arange(len(keys))})
            cuts = np.sort(rng.integers(0, len(keys) + 1, int(rng.integers(0, 6))))
            bounds = [0, *cuts.tolist(), len(keys)]
            streams.append(iter([(keys[a:b], frame.iloc[a:b]) for a, b in
                                 zip(bounds, bounds[1:], strict=False)]))
            frames.append((keys, frame))
        got = list(shards_module._merged(streams))
        keys = np.concatenate([k for k, _ in frames])
        expected = pd.concat([f for _, f in frames], ignore_index=True).iloc[
            keys.argsort(kind="stable")].reset_index(drop=True)
        if not len(expected):
            assert got == []
            continue
        pd.testing.assert_frame_equal(pd.concat(got, ignore_index=True), expected)


def test_a_role_mapping_is_checked_over_all_shards(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = corpus(tmp_path, n=4)
    scorer = load(tiny_model_dir, roles={"Ann": "clinician", "Zed": "patient"})
    out = tmp_path / "out"
    for i in range(2):
        score_to_folder(scorer, [source], out, num_shards=2, shard_index=i)
    merged = merge_shards([out])
    # Ann is in one shard only and is not reported; Zed is in none
    [(where, message)] = [f for f in merged.failures if f[0] == "--role"]
    assert "[E025]" in message and "'Zed'" in message and "Ann" not in message


def test_a_shard_is_chosen_by_a_stable_hash_of_the_source_id() -> None:
    # these values must never change: a sharded run resumed after an upgrade relies on them
    assert [shard_of(f"c{i:02d}.txt", 4) for i in range(8)] == [3, 0, 3, 0, 0, 0, 0, 1]
    assert shard_of("anything", 1) == 0


def test_merge_refuses_missing_unfinished_and_mixed_shards(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = corpus(tmp_path, n=4)
    scorer = load(tiny_model_dir, precision="float32")
    out = tmp_path / "out"
    score_to_folder(scorer, [source], out, num_shards=3, shard_index=0)
    score_to_folder(scorer, [source], out, num_shards=3, shard_index=2)
    with pytest.raises(CompassionError, match=r"\[E043\].*1 of 3 shard\(s\) missing: index 1"):
        merge_shards([out])
    score_to_folder(scorer, [source], out, num_shards=3, shard_index=1)
    (shard_folder(out, 3, 1) / CHECKPOINT_NAME).mkdir()  # as a killed run leaves it
    with pytest.raises(CompassionError, match=r"\[E043\].*did not finish"):
        merge_shards([out])
    shutil.rmtree(shard_folder(out, 3, 1) / CHECKPOINT_NAME)
    (source / "new.txt").write_text(TRANSCRIPT)  # another input: a shard run on other inputs
    score_to_folder(scorer, [source], out, num_shards=3, shard_index=1, force=True)
    with pytest.raises(CompassionError, match=r"\[E044\].*'inputs' is not the same"):
        merge_shards([out])
    with pytest.raises(CompassionError, match=r"\[E043\].*--out"):
        merge_shards([shard_folder(out, 3, 0)])


@pytest.mark.parametrize(("shards", "index", "detail"), [
    (None, 1, "--shard-index without --num-shards"),
    (3, None, "--num-shards 3 without --shard-index"),
    (3, 3, "--shard-index 3 is not between 0 and 2"),
    (0, 0, "--num-shards must be a positive whole number"),
    (2, -1, "not between 0 and 1"),
])
def test_bad_shard_options_are_coded_errors(shards: int | None, index: int | None,
                                            detail: str) -> None:
    with pytest.raises(CompassionError, match=r"\[E042\]") as info:
        check_shards(shards, index)
    assert detail in str(info.value)


def test_cli_shards_and_merge(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = corpus(tmp_path, n=4)
    out = tmp_path / "out"
    runner = CliRunner()
    bad = runner.invoke(app, ["score", str(source), "--out", str(out), "--model", "/nonexistent",
                              "--num-shards", "2", "--shard-index", "2"])
    assert bad.exit_code == 2 and "[E042]" in bad.output  # checked before the model loads
    codes = []
    for i in range(2):
        result = runner.invoke(app, ["score", str(source), "--out", str(out), "--model",
                                     str(tiny_model_dir), "--num-shards", "2",
                                     "--shard-index", str(i)])
        codes.append(result.exit_code)
        assert f"-> {shard_folder(out, 2, i)}/" in " ".join(result.output.split())
    assert sorted(codes) == [0, 1]  # empty.txt fails in one of them
    result = runner.invoke(app, ["merge", str(out)])
    flat = " ".join(result.output.split())
    assert result.exit_code == 1 and "Merged 2 shard(s)" in flat
    assert "1 file(s) failed (all listed in" in flat and "empty.txt: [E002]" in flat
    sources, _ = discover([source])
    assert set(read_table(out / "encounters.parquet")["encounter_id"]) >= {
        s.encounter_id for s in sources if s.encounter_id.endswith("txt")} - {"empty.txt"}


def test_an_interrupted_shard_resumes_and_merges(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import compassion_nlp.scoring as scoring
    from compassion_nlp.errors import RunInterrupted

    source = corpus(tmp_path, n=6)
    scorer = load(tiny_model_dir, precision="float32")
    score_to_folder(scorer, [source], tmp_path / "single")
    out = tmp_path / "out"
    score_to_folder(scorer, [source], out, num_shards=2, shard_index=1)
    real = ctrl_c_after(monkeypatch, 3)
    with pytest.raises(RunInterrupted):
        score_to_folder(scorer, [source], out, num_shards=2, shard_index=0,
                        checkpoint_every_s=3600)
    with pytest.raises(CompassionError, match=r"\[E043\].*did not finish"):
        merge_shards([out])
    monkeypatch.setattr(scoring.Scorer, "pipe_groups", real)
    resumed = score_to_folder(scorer, [source], out, num_shards=2, shard_index=0)
    assert resumed.skipped == 3
    merge_shards([out])
    expected = tables(tmp_path / "single")
    for name, table in tables(out).items():
        pd.testing.assert_frame_equal(table, expected[name], obj=name)


def test_progress_is_reported_as_each_source_is_finished(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    source = corpus(tmp_path, n=5)
    calls: list[tuple[int, int, int, int, int]] = []

    def progress(done: int, total: int, summary) -> None:  # type: ignore[no-untyped-def]
        calls.append((done, total, summary.encounters, summary.skipped, len(summary.failures)))

    scorer = load(tiny_model_dir, precision="float32")
    first = score_to_folder(scorer, [source], tmp_path / "out", progress=progress,
                            batch_size=2)
    total = first.sources
    assert [c[:2] for c in calls] == [(i, total) for i in range(1, total + 1)]
    assert calls[-1][2:] == (first.encounters, 0, 1)
    assert [c[2] for c in calls] == sorted(c[2] for c in calls)  # never ahead of the scoring
    calls.clear()
    (source / "c99.txt").write_text(TRANSCRIPT)
    again = score_to_folder(scorer, [source], tmp_path / "out", progress=progress)
    assert (again.encounters, again.skipped) == (1, first.encounters)
    assert calls[-1][:3] == (total + 1, total + 1, 1)


def test_reports_are_refused_in_a_sharded_run(tmp_path: Path) -> None:
    """The reports compare each encounter with the whole run: they are written from the
    merged folder (compassion-nlp report), never per shard."""
    from compassion_nlp.scoring import Scorer

    from .helpers import HashClassifier

    with pytest.raises(CompassionError) as info:
        score_to_folder(Scorer(HashClassifier()), [tmp_path], tmp_path / "out",  # type: ignore[arg-type]
                        reports=True, num_shards=2, shard_index=0)
    assert info.value.code == "E042" and "compassion-nlp report" in str(info.value)
