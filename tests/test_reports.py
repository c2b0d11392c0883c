"""Feedback reports (compassion_nlp.reports) from tables of hand-made labels: every number on a
page equals the scored tables, every moment is quoted with its ids, times and lines, and with
--redact no planted identifier survives into any page. The browser test on real transcripts is
tests/test_reports_browser.py."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from compassion_nlp.config import ScoringConfig
from compassion_nlp.errors import CompassionError
from compassion_nlp.highlights import highlights
from compassion_nlp.linking import link_cues
from compassion_nlp.measures import compassion_score
from compassion_nlp.model import LABELS
from compassion_nlp.pipeline import read_string
from compassion_nlp.redact import Redactor
from compassion_nlp.reports import (
    COMPONENT_NAMES,
    cohort_rows,
    group_rates,
    load_results,
    page_name,
    write_reports,
)
from compassion_nlp.scoring import ScoredEncounter
from compassion_nlp.tables import TABLES, iter_table, read_table, write_table

CONSULTATION = """\
Doctor [00:00:01]: Good morning. What brings you in today?
Patient [00:00:05]: I'm really worried it might be cancer.
Doctor [00:00:09]: That sounds really frightening. What worries you most?
Patient [00:00:15]: Since my wife died I haven't been sleeping.
Doctor [00:00:20]: Any fever? Do you smoke?
Patient [00:00:24]: It's been a nightmare at work too.
Doctor [00:00:27]: Okay. Let's get some bloods.
"""
MARKS = {
    "I'm really worried": {"CUE": 0.9},
    "That sounds really frightening": {"EMPATHIC": 0.95},
    "What worries you most": {"PURSUING": 0.55},  # near the threshold: low confidence
    "Since my wife died": {"CUE": 0.85},
    "It's been a nightmare": {"CUE": 0.7},
}
MEETING = """\
Chair: Thanks all. What do you think, Sam?
Sam: We're exhausted, honestly, the rota is breaking us.
Chair: Right. Next item is the budget.
Sam: Fine.
"""
CARD = {"test": "100 real utterances", "labels": {
    label: {"precision": 0.6, "recall": 0.5, "f1": 0.55, "note": f"{label} weakness note."}
    for label in LABELS}, "limits": ["A limit of the model."]}


def _scored(text: str, marks: dict[str, dict[str, float]], *, setting: str = "clinical",
            name: str = "text", config: ScoringConfig | None = None) -> ScoredEncounter:
    [enc] = read_string(text, format="text", setting=setting,  # type: ignore[arg-type]
                        encounter_id=name)
    probs = np.full((len(enc.utterances), len(LABELS)), 0.1)
    for i, utt in enumerate(enc.utterances):
        for prefix, labels in marks.items():
            if utt.text.startswith(prefix):
                for label, p in labels.items():
                    probs[i, LABELS.index(label)] = p
    decided = probs >= 0.5
    config = config or ScoringConfig()
    links = link_cues(enc, decided, window=config.cue_window)
    return ScoredEncounter(enc, probs, decided, links,
                           compassion_score(enc, decided, links, config=config),
                           highlights(enc, probs, decided, links, top=config.top_exemplary))


def _results(folder: Path, scored: list[ScoredEncounter],
             config: ScoringConfig | None = None) -> Path:
    """A results folder as `compassion-nlp score` writes it (CSV tables and run.json)."""
    folder.mkdir(parents=True)
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for s in scored:
        frames["utterances"].append(s.utterances_df())
        frames["speakers"].append(s.speakers_df())
        frames["cues"].append(s.cues_df())
        frames["highlights"].append(s.highlights_df())
        frames["encounters"].append(pd.DataFrame([s.encounter_row()]))
    for name, parts in frames.items():
        write_table(pd.concat(parts, ignore_index=True), folder / f"{name}.csv")
    run = {"model": {"thresholds": dict.fromkeys(LABELS, 0.5), "card": CARD,
                     "base_model": "hand-made"},
           "config": (config or ScoringConfig()).to_dict()}
    (folder / "run.json").write_text(json.dumps(run))
    return folder


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    return _results(tmp_path / "results", [
        _scored(CONSULTATION, MARKS, name="clinic/2024-03-01 consult"),
        _scored(CONSULTATION.replace("wife died", "husband left"),
                {**MARKS, "Any fever": {"EMPATHIC": 0.8}}, name="clinic/consult 2"),
        _scored(MEETING, {"Thanks all": {"INCLUSIVE": 0.9}, "We're exhausted": {"CUE": 0.8}},
                setting="meeting", name="team/meeting"),
    ])


def _text(path: Path) -> str:
    """A page's visible text, whitespace collapsed (tags removed, entities decoded)."""
    body = re.sub(r"<style.*?</style>|<title>.*?</title>", " ", path.read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_pages_are_written_for_every_encounter_person_and_the_cohort(
    cohort: Path, tmp_path: Path
) -> None:
    summary = write_reports(cohort, tmp_path / "pages")
    names = sorted(p.name for p in summary.encounters)
    assert names == sorted(page_name(e) for e in ("clinic/2024-03-01 consult",
                                                  "clinic/consult 2", "team/meeting"))
    assert sorted(p.name for p in summary.people) == ["Chair_team_.html", "Doctor_clinic_.html"]
    index = summary.index.read_text()  # type: ignore[union-attr]
    for page in summary.encounters:  # the index links every encounter page, relative
        assert f'href="encounters/{page.name}"' in index
    for page in [*summary.encounters, *summary.people, summary.index]:
        text = page.read_text()  # type: ignore[union-attr]
        assert "<script" not in text and "http://" not in text and "https://" not in text
        assert "not a clinical judgement" in _text(page)  # type: ignore[arg-type]
    assert not list((tmp_path / "pages").rglob("*.tmp"))


def test_every_number_on_an_encounter_page_equals_the_tables(cohort: Path, tmp_path: Path) -> None:
    write_reports(cohort, tmp_path / "pages")
    enc = read_table(cohort / "encounters.csv").set_index("encounter_id")
    for encounter_id, row in enc.iterrows():
        text = _text(tmp_path / "pages" / "encounters" / page_name(str(encounter_id)))
        score = row["compassion_score"]
        assert f"compassion score (0–100) {score:.0f}" in text
        assert (f"emotional moments {row['cue_episodes']} {row['cues_responded']} answered · "
                f"{row['missed_opportunities']} missed") in text
        for label in LABELS:
            per_10 = row[f"{label.lower()}_per_10"]
            shown = "n/a" if math.isnan(per_10) else f"{per_10:.2f}"
            words = "emotional cue" if label == "CUE" else rf"{label.lower()} \([^)]*\)"
            assert re.search(rf"{words} {row[f'n_{label.lower()}']} {shown} ", text), (
                encounter_id, label)
        page = (tmp_path / "pages" / "encounters" / page_name(str(encounter_id))).read_text()
        for c, name in COMPONENT_NAMES.items():
            value = row[f"component_{c}"]
            if math.isnan(value):
                assert re.search(rf">{name}</text>.*?not applicable", page, re.S)
            else:
                assert re.search(rf">{name}</text>.*?>{value * 100:.0f} %</text>", page, re.S)


def test_moments_are_quoted_with_ids_times_lines_and_suggestions(
    cohort: Path, tmp_path: Path
) -> None:
    write_reports(cohort, tmp_path / "pages")
    page = tmp_path / "pages" / "encounters" / page_name("clinic/2024-03-01 consult")
    text = _text(page)
    assert "2024-03-01" in text  # the date in the file name
    assert ("Doctor (clinician): That sounds really frightening. t3.u1 · at 0:09 · source line 3"
            in text)
    assert "answering: Patient (patient): I'm really worried it might be cancer. t2.u1" in text
    hl = read_table(cohort / "highlights.csv")
    mine = hl[hl["encounter_id"] == "clinic/2024-03-01 consult"]
    missed = mine[mine["kind"] == "missed"]
    assert len(missed) == 2 and text.count("Could have said:") == 2
    for s in missed["suggestion"]:
        assert s in text
    assert "what followed: Doctor (clinician): Any fever? t5.u1 · at 0:20" in text
    # the pursuing question was decided at 0.55, against a threshold of 0.5
    assert re.search(r"pursuing \(a question or offer about the concern\) low confidence "
                     r"Doctor \(clinician\): What worries you most\?", text)
    assert "One thing to try next time. When the patient raised a loss at 0:15" in text
    # the timeline: a mark per cue, linking to its row; missed ones are diamonds
    html_text = page.read_text()
    cues = read_table(cohort / "cues.csv")
    mine_cues = cues[cues["encounter_id"] == "clinic/2024-03-01 consult"]
    for c in mine_cues.itertuples():
        assert f'<a href="#cue-{c.utterance_id}">' in html_text
        assert f'id="cue-{c.utterance_id}"' in html_text
    assert html_text.count("<path d=") == int((~mine_cues["responded"].astype(bool)).sum())
    assert "minutes from the start" in html_text


def test_an_encounter_with_no_score_and_no_moments(tmp_path: Path) -> None:
    folder = _results(tmp_path / "r", [_scored("Doctor: Okay.\nPatient: Fine.\n", {})])
    write_reports(folder, tmp_path / "pages")
    text = _text(tmp_path / "pages" / "encounters" / "text.html")
    assert "compassion score (0–100) n/a" in text
    assert "No empathic, confirming, pursuing or inclusive statement was found." in text
    assert "None: every emotional moment found got a response." in text
    assert "No emotional cue was found in this conversation." in text
    assert "utterance number (the transcript has no times)" in text or "transcript has no times" \
        in (tmp_path / "pages" / "encounters" / "text.html").read_text()


def test_meeting_pages_use_the_run_config_and_name_the_leader(tmp_path: Path) -> None:
    config = ScoringConfig(inclusive_full_marks=0.5, talk_full_marks=2.0)
    folder = _results(tmp_path / "r", [_scored(
        MEETING, {"Thanks all": {"INCLUSIVE": 0.9}, "We're exhausted": {"CUE": 0.8}},
        setting="meeting", name="m", config=config)], config)
    write_reports(folder, tmp_path / "pages")
    text = _text(tmp_path / "pages" / "encounters" / "m.html")
    assert "full marks at 1 per 2 leader turns" in text and "full marks at 2.0 per 10" in text
    assert "questions asked by the leader" in text
    assert "When the staff raised a concern about the team" in text or \
        "When the staff raised" in text
    person = _text(tmp_path / "pages" / "people" / "Chair_top_folder_.html")
    assert "leader · 1 encounter(s)" in person


def test_person_pages_show_encounters_in_order_rates_and_recurring_misses(
    cohort: Path, tmp_path: Path
) -> None:
    write_reports(cohort, tmp_path / "pages")
    text = _text(tmp_path / "pages" / "people" / "Doctor_clinic_.html")
    assert "may combine several people" in text  # "Doctor" is a role, not a name
    # dated encounters first, then the others by id
    assert text.index("clinic/2024-03-01 consult") < text.index("clinic/consult 2")
    sp = read_table(cohort / "speakers.csv")
    doctors = sp[sp["speaker"] == "Doctor"]
    for label in ("empathic", "pursuing"):
        n = int(doctors[f"n_{label}"].sum())
        rate = n / doctors["utterances"].sum() * 10
        assert re.search(rf"{label} \([^)]*\) {n} {rate:.2f} ", text)
    hl = read_table(cohort / "highlights.csv")
    missed = hl[(hl["kind"] == "missed") & hl["encounter_id"].str.startswith("clinic/")]
    assert f"{len(missed)} missed opportunities across these encounters" in text
    kinds = missed["cue_kind"].fillna("general").str.replace("_", " ").value_counts()
    for kind, count in kinds.items():
        assert re.search(rf"{kind} {count} {round(count / len(missed) * 100)} %", text)


def test_the_cohort_page_and_csvs_hold_the_same_numbers(cohort: Path, tmp_path: Path) -> None:
    summary = write_reports(cohort, tmp_path / "pages")
    results = load_results(cohort)
    rows = cohort_rows(results)
    written = read_table(tmp_path / "pages" / "encounters.csv")
    assert list(written["encounter_id"]) == list(rows["encounter_id"])
    np.testing.assert_allclose(written["compassion_score"], results.encounters[
        "compassion_score"])
    groups = read_table(tmp_path / "pages" / "cohort.csv")
    clinical = groups[(groups["group_by"] == "setting") & (groups["group"] == "clinical")].iloc[0]
    enc = results.encounters
    assert clinical["encounters"] == 2
    assert clinical["mean_compassion_score"] == pytest.approx(
        enc.loc[enc["setting"] == "clinical", "compassion_score"].mean(), abs=1e-4)
    assert clinical["missed_opportunities"] == enc.loc[
        enc["setting"] == "clinical", "missed_opportunities"].sum()
    text = _text(summary.index)  # type: ignore[arg-type]
    assert f"3 encounter(s), {int(enc['compassion_score'].notna().sum())} with a compassion " \
        "score" in text
    assert re.search(rf"clinical 2 {clinical['mean_compassion_score']:.1f} ", text)
    assert set(group_rates(rows)["group_by"]) == {"all", "setting", "source_folder", "person"}


def test_the_model_card_and_low_confidence_are_explained(cohort: Path, tmp_path: Path) -> None:
    write_reports(cohort, tmp_path / "pages")
    text = _text(tmp_path / "pages" / "index.html")
    for label in LABELS:
        assert f"{label} weakness note." in text
    assert "A limit of the model." in text and "within 10 points of the model's threshold" in text


PLANTED = ["Jane Doe", "Jane", "Ahmed", "Mrs Okafor", "07700 900123", "943 476 5919",
           "MRN 20394857", "jane.doe@example.com", "14 Oak Tree Road", "SW1A 1AA",
           "12/03/1961", "3rd March 2024", "Kettering"]
PRIVATE = """\
Dr Amir Khan [00:00:01]: Hello, I'm Dr Khan. How are you?
Jane Doe [00:00:04]: I'm so worried, my son Ahmed and Mrs Okafor next door say I look awful.
Dr Amir Khan [00:00:09]: That sounds frightening. What worries you most?
Jane Doe [00:00:12]: I'm scared, call me on 07700 900123, NHS number 943 476 5919, MRN 20394857.
Dr Amir Khan [00:00:16]: Any fever?
Jane Doe [00:00:20]: I'm frightened, write to jane.doe@example.com or 14 Oak Tree Road, SW1A 1AA.
Dr Amir Khan [00:00:24]: Right.
Jane Doe [00:00:28]: I was born 12/03/1961, since 3rd March 2024 I'm low, I left Kettering.
Dr Amir Khan [00:00:33]: Okay, Jane. Let's do bloods.
"""


def test_redaction_leaves_none_of_the_planted_identifiers_in_any_page(tmp_path: Path) -> None:
    marks = {"I'm so worried": {"CUE": 0.9}, "I'm scared": {"CUE": 0.9},
             "I'm frightened": {"CUE": 0.9}, "I was born": {"CUE": 0.9},
             "That sounds frightening": {"EMPATHIC": 0.9}}
    folder = _results(tmp_path / "r", [_scored(PRIVATE, marks, name="visit")])
    plain = write_reports(folder, tmp_path / "plain")
    redacted = write_reports(folder, tmp_path / "redacted", redact=True)
    plain_text = " ".join(p.read_text() for p in (tmp_path / "plain").rglob("*.*"))
    missing = [s for s in PLANTED if s not in html.unescape(plain_text)]
    assert not missing  # without --redact they are all there: the test bites
    for page in (tmp_path / "redacted").rglob("*.*"):
        text = html.unescape(page.read_text())
        left = [s for s in PLANTED if s in text]
        assert not left, (page.name, left)
    text = _text(redacted.encounters[0])
    assert "Dr Amir Khan (clinician)" in text  # the clinician is named
    assert "Patient (patient): I'm so worried, my son [NAME] and Mrs [NAME]" in text
    assert "[PHONE]" in text and "[RECORD NO]" in text and "[EMAIL]" in text
    assert "[ADDRESS]" in text and "[POSTCODE]" in text and "[DATE]" in text
    assert len(plain.encounters) == len(redacted.encounters) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("Seen by Dr Patel on 4 May 2023.", "Seen by Dr [NAME] on [DATE]."),
    ("My name is Olu and I'm fine.", "My name is [NAME] and I'm fine."),
    ("Ring 020 7946 0958 tomorrow.", "Ring [PHONE] tomorrow."),
    ("What worries you most? I was scared.", "What worries you most? I was scared."),
])
def test_redactor(text: str, expected: str) -> None:
    assert Redactor(keep=["Khan"])(text) == expected


def test_a_folder_that_is_not_a_scoring_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "encounters.csv").write_text("encounter_id\nx\n")
    with pytest.raises(CompassionError) as info:
        write_reports(tmp_path / "half", tmp_path / "pages")
    assert info.value.code == "E050" and "half" in str(info.value)


def test_page_names_are_safe() -> None:
    assert page_name("calls/a b.vtt#3") == "calls__a_b.vtt_3.html"


def test_pdf_copies(cohort: Path, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    summary = write_reports(cohort, tmp_path / "pages", pdf=True)
    assert len(summary.pdf) == len(summary.encounters) + len(summary.people)
    assert all(p.read_bytes().startswith(b"%PDF") for p in summary.pdf)


def test_the_report_command(cohort: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from compassion_nlp.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["report", str(cohort), "--out", str(tmp_path / "pages"),
                                 "--redact"])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 encounter page(s), 2 person page(s)" in result.output
    assert (tmp_path / "pages" / "index.html").is_file()
    bad = runner.invoke(app, ["report", str(tmp_path / "pages"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "[E050]" in bad.output


@pytest.mark.parametrize(("path", "date"), [
    ("clinic/2024-03-01 consult.txt", "2024-03-01"), ("visit_20230115.vtt", "2023-01-15"),
    ("2022/2023_02_30.txt", ""), ("notes 12345678.txt", ""), ("a.txt", ""),
])
def test_dates_come_from_the_file_name(path: str, date: str) -> None:
    from compassion_nlp.readers.base import date_in_name

    assert date_in_name(path) == date


def test_a_chat_date_header_dates_the_encounter(tmp_path: Path) -> None:
    from compassion_nlp.pipeline import read

    chat = ("@UTF8\n@Begin\n@Languages:\teng\n@Participants:\tINV Investigator, PAR Participant\n"
            "@Date:\t05-MAR-2019\n*INV:\tHow are you feeling?\n*PAR:\tI am scared.\n@End\n")
    (tmp_path / "visit.cha").write_text(chat)
    [enc] = read(tmp_path / "visit.cha")
    assert enc.metadata["date"] == "2019-03-05"


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("shuffled", [False, True])
def test_pages_read_the_utterances_one_encounter_at_a_time_and_match_the_whole_table(
    cohort: Path, tmp_path: Path, ext: str, shuffled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a folder, the utterances table is read a chunk at a time (the run's memory does not
    grow with it) when it holds each encounter's rows together in the encounters' order, as
    a run writes it; otherwise whole. The pages are those of the whole table either way."""
    import compassion_nlp.reports as reports

    folder = tmp_path / "folder"
    folder.mkdir()
    for name in TABLES:
        table = read_table(cohort / f"{name}.csv")
        if shuffled and name == "utterances":  # the last encounter's rows first
            last = table["encounter_id"] == table["encounter_id"].iloc[-1]
            table = pd.concat([table[last], table[~last]], ignore_index=True)
        write_table(table, folder / f"{name}{ext}")
    (folder / "run.json").write_text((cohort / "run.json").read_text())
    whole = write_reports(load_results(folder), tmp_path / "whole")
    read_whole: list[Path] = []
    real = reports.read_table
    monkeypatch.setattr(reports, "read_table",
                        lambda path: read_whole.append(Path(path).name) or real(path))
    monkeypatch.setattr(reports, "iter_table",  # chunks of 2 rows: encounters span chunks
                        lambda path, chunk_rows=2, **kw: iter_table(path, 2, **kw))
    streamed = write_reports(folder, tmp_path / "streamed")
    assert ("utterances" + ext in read_whole) == shuffled
    pages = [*whole.encounters, *whole.people, whole.index]
    assert len(streamed.encounters) == 3
    for page in pages:
        assert (tmp_path / "streamed" / page.relative_to(tmp_path / "whole")).read_bytes() \
            == page.read_bytes(), page.name
