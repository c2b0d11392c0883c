"""EPITOME reproduction (evaluation/validity/epitome.py): the reader, the ordinal level encoding,
the split, the metrics and one end-to-end run on a tiny EPITOME-shaped dataset written here,
trained from the tiny model (no real model, no real data)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from evaluation.validity import epitome as ep

#: (seeker post, response, ER, IP, EX), in the tiny model's vocabulary (tests/helpers.py)
ROWS = [
    ("i am so worried it might be cancer", "that sounds really frightening", 2, 0, 0),
    ("i am so worried it might be cancer", "do you smoke", 0, 0, 1),
    ("my wife died and i have not been sleeping", "sorry to hear that", 1, 0, 0),
    ("my wife died and i have not been sleeping", "what worries you most", 0, 0, 2),
    ("the cough started on monday", "take two tablets a day", 0, 0, 0),
    ("the cough started on monday", "when did the pain start", 0, 0, 1),
    ("i have not been sleeping", "it is completely understandable to feel anxious", 1, 2, 0),
    ("i am so worried", "how has this been affecting you at home", 0, 1, 2),
    ("my wife died", "that sounds really frightening what worries you most", 2, 2, 2),
    ("it might be cancer", "ok right", 0, 0, 0),
    ("i am so worried it might be cancer", "good point what do you all think", 0, 1, 1),
    ("the pain started on monday", "sorry to hear that it is completely understandable", 1, 2, 0),
]
COPIES = 4  # each row four times, under other ids: 48 pairs


def write_epitome(folder: Path, rows=ROWS, copies: int = COPIES) -> Path:
    """The three mechanism files in EPITOME's layout (rationales left empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, (name, _) in enumerate(ep.MECHANISMS.values()):
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level",
                             "rationales"])
            for copy in range(copies):
                for i, row in enumerate(rows):
                    # rows 0-1, 2-3, 4-5 share a seeker post (several responses to one post)
                    sp = f"s{copy}-{i // 2 if i < 6 else i}"
                    writer.writerow([sp, f"r{copy}-{i}", row[0], row[1], row[2 + k], ""])
    return folder


def test_reader_reads_the_three_files_and_checks_levels(tmp_path: Path) -> None:
    folder = write_epitome(tmp_path / "data")
    data = ep.read_epitome(folder)
    assert list(data) == ["ER", "IP", "EX"]
    assert all(len(pairs) == len(ROWS) * COPIES for pairs in data.values())
    first = data["ER"][0]
    assert (first.seeker, first.response, first.level) == (ROWS[0][0], ROWS[0][1], 2)
    assert [p.level for p in data["EX"][: len(ROWS)]] == [r[4] for r in ROWS]

    bad = tmp_path / "bad"
    write_epitome(bad)
    path = bad / ep.MECHANISMS["IP"][0]
    path.write_text(path.read_text().replace(",2,\n", ",3,\n", 1))
    with pytest.raises(ep.EpitomeError, match="level must be 0, 1 or 2"):
        ep.read_epitome(bad, ["IP"])
    (bad / ep.MECHANISMS["ER"][0]).write_text("sp_id,rp_id,seeker_post,level\n")
    with pytest.raises(ep.EpitomeError, match="response_post"):
        ep.read_epitome(bad, ["ER"])
    with pytest.raises(ep.EpitomeError, match="unknown mechanism"):
        ep.read_epitome(bad, ["XX"])


def test_data_profile_counts_duplicates_and_conflicts(tmp_path: Path) -> None:
    rows = [*ROWS, ROWS[0]]
    folder = write_epitome(tmp_path / "data", rows=rows, copies=1)
    path = folder / ep.MECHANISMS["ER"][0]
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace("r0-12", "r0-0").replace("s0-12", "s0-0")
    lines[-1] = lines[-1][: -len(",2,")] + ",1,"  # the same pair again, another level
    path.write_text("\n".join(lines) + "\n")
    profile = ep.data_profile(ep.read_epitome(folder, ["ER"]))
    assert profile["ER pairs"] == 13
    assert profile["ER pairs listed more than once"] == 1
    assert profile["ER of them with conflicting levels"] == 1
    assert profile["ER seeker posts with several responses"] == 3
    assert profile["ER level 0/1/2"] == "7/4/2"  # 7/3/2 in ROWS, the repeat at 1
    assert all(not isinstance(v, (dict, list)) for v in profile.values())


def test_levels_encode_as_two_ordinal_outputs_and_decode_back() -> None:
    assert ep.outputs("ER") == ("ER>=1", "ER>=2")
    assert [ep.encode_level(level, "IP") for level in (0, 1, 2)] == [
        [], ["IP>=1"], ["IP>=1", "IP>=2"]]
    with pytest.raises(ValueError):
        ep.encode_level(3, "IP")
    levels = [0, 1, 2, 2, 0]
    matrix = ep.encode_levels(levels)
    assert matrix.tolist() == [[0, 0], [1, 0], [1, 1], [1, 1], [0, 0]]
    assert ep.decode_count(matrix > 0.5).tolist() == levels
    # an inconsistent pair (≥2 without ≥1) counts as level 1
    assert ep.decode_count(np.array([[False, True]])).tolist() == [1]
    probs = np.array([[0.1, 0.05], [0.8, 0.2], [0.9, 0.7], [0.6, 0.55], [0.5, 0.0]])
    # P(0), P(1), P(2): (.9,.05,.05) (.2,.6,.2) (.1,.2,.7) (.4,.05,.55) (.5,.5,0): tie → lower
    assert ep.decode_argmax(probs).tolist() == [0, 1, 2, 2, 0]


def test_split_is_reproducible_stratified_and_keeps_seeker_posts_together(
    tmp_path: Path,
) -> None:
    pairs = ep.read_epitome(write_epitome(tmp_path / "data"), ["ER"])["ER"]
    first, again, other = ep.split(pairs, 1), ep.split(pairs, 1), ep.split(pairs, 2)
    assert first == again and first != other
    assert set(first) == {"train", "dev", "test"}
    for parts in (first, other):
        by_post: dict[str, set[str]] = {}
        for p, part in zip(pairs, parts, strict=True):
            by_post.setdefault(p.sp_id, set()).add(part)
        assert all(len(s) == 1 for s in by_post.values())
        # about a tenth held out, every level in train
        assert 3 <= parts.count("test") <= 8
        assert {p.level for p, part in zip(pairs, parts, strict=True) if part == "train"} == {
            0, 1, 2}
    # on a bigger set the fractions come out at 10 % test, 9 % dev
    many = [ep.Pair(f"s{i}", f"r{i}", "a", "b", i % 3) for i in range(3000)]
    parts = ep.split(many, 7)
    assert (parts.count("test"), parts.count("dev")) == (300, 270)
    assert [p.level for p, part in zip(many, parts, strict=True)
            if part == "test"].count(2) == 100


def test_corpus_rows_use_the_context_framing(tmp_path: Path) -> None:
    from compassion_nlp.training import load_corpus

    pairs = ep.read_epitome(write_epitome(tmp_path / "data"), ["IP"])["IP"]
    path = ep.write_corpus(pairs, ep.split(pairs, 1), "IP", tmp_path / "c.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    row = rows[6]  # level 2
    assert row["text"] == ROWS[6][1] and row["previous_text"] == ROWS[6][0]
    assert (row["role"], row["previous_role"]) == ("clinician", "patient")
    assert row["labels"] == ["IP>=1", "IP>=2"]
    corpus = load_corpus(path, labels=ep.outputs("IP"))  # passes the corpus checks
    assert sum(len(corpus[s]) for s in ("train", "dev", "test")) == len(pairs)


def test_level_metrics_match_sklearn_and_mean_sd() -> None:
    truth = [0, 0, 1, 2, 2, 1, 0, 2]
    pred = [0, 1, 1, 2, 0, 0, 0, 2]
    m = ep.level_metrics(truth, pred)
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(truth, pred, average="macro"))
    assert m["levels"]["1"]["support"] == 2
    assert m["confusion"] == [[2, 1, 0], [1, 1, 0], [1, 0, 2]]
    # a level never predicted nor present still counts in the macro average (as F1 0)
    assert ep.level_metrics([0, 0, 1], [0, 0, 1])["macro_f1"] == pytest.approx(2 / 3)
    summary = ep.mean_sd([0.5, 0.7, 0.6])
    assert summary["mean"] == pytest.approx(0.6) and summary["sd"] == pytest.approx(0.1)
    assert ep.mean_sd([0.5])["sd"] is None


def test_estimate_grows_with_seeds_epochs_and_length(tmp_path: Path) -> None:
    data = ep.read_epitome(write_epitome(tmp_path / "data"))
    base = ep.estimate_seconds(data, seeds=1, epochs=1, max_length=128)
    assert base > 0
    assert ep.estimate_seconds(data, seeds=5, epochs=1, max_length=128) == pytest.approx(
        5 * base)
    assert ep.estimate_seconds(data, seeds=1, epochs=4, max_length=128) > base
    long = {m: [ep.Pair(p.sp_id, p.rp_id, p.seeker * 20, p.response * 20, p.level)
                for p in pairs] for m, pairs in data.items()}
    assert (ep.estimate_seconds(long, seeds=1, epochs=4, max_length=128)
            > ep.estimate_seconds(long, seeds=1, epochs=4, max_length=64))


def test_work_folder_must_be_outside_the_repository(tmp_path: Path) -> None:
    folder = write_epitome(tmp_path / "data")
    with pytest.raises(SystemExit, match="inside the repository"):
        ep.main(["--data", str(folder), "--work", str(ep.REPO / "runs"), "--estimate-only"])


def test_main_end_to_end_on_the_tiny_model(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_epitome(tmp_path / "data")
    out, work = tmp_path / "epitome.json", tmp_path / "work"
    argv = ["--data", str(folder), "--seeds", "2", "--epochs", "1", "--limit", "40",
            "--threads", "1", "--work", str(work), "--base", str(tiny_model_dir),
            "--max-length", "32", "--precision", "float32", "--out", str(out)]
    assert ep.main(argv) == 0
    printed = capsys.readouterr().out
    assert "estimated CPU time" in printed and "ER seed 2" in printed
    report = json.loads(out.read_text())
    for key in ("description", "data", "base_model", "setup", "split", "seeds", "reference",
                "minutes", "minutes_estimated", "command", "note", "mechanisms", "per_level",
                "data_profile", "settings", "timings_seconds"):
        assert key in report, key
    assert report["seeds"] == 2 and "--limit 40" in report["command"]
    assert set(report["mechanisms"]) == {"ER", "IP", "EX"}
    er = report["mechanisms"]["ER"]
    assert len(er["accuracy"]["runs"]) == 2 and er["accuracy"]["sd"] is not None
    assert 0 <= er["accuracy"]["mean"] <= 1 and 0 <= er["macro_f1"]["mean"] <= 1
    assert er["published"] == {"accuracy": 0.786, "macro_f1": 0.764}
    assert er["difference"]["accuracy"] == pytest.approx(er["accuracy"]["mean"] - 0.786,
                                                         abs=1e-4)
    assert sum(map(sum, er["confusion_summed"])) == sum(r["test"] for r in er["rows_per_run"])
    assert set(er["thresholds"][0]) == {"ER>=1", "ER>=2"}
    assert report["ER (emotional reactions)"].startswith("accuracy ")
    assert set(report["per_level"]) == {f"{m} level {k}" for m in ("ER", "IP", "EX")
                                        for k in range(3)}
    # no text of the dataset in the output
    text = out.read_text()
    assert not any(s in text for row in ROWS for s in row[:2])
    # the models are gone from --work, the per-run results stay; a rerun reuses them
    assert not list(work.glob("*/model")) and len(list(work.glob("*/result.json"))) == 6
    assert ep.main(argv) == 0
    assert "stored" in capsys.readouterr().out

    # what validity.py's EPITOME section makes of it
    from evaluation.validity import validity as v

    section = "\n".join(v.section_epitome(report))
    assert "- ER (emotional reactions): accuracy" in section
    assert "**mechanisms**" in section and "- IP: P " in section
    assert "**per_level**" in section and "- EX level 1: P " in section
    assert "- ER: –" not in section and "data_profile" not in section
