"""End to end with the shipped model (models/compassion-minilm) on real PriMock57 talk.

The utterances below are from PriMock57 consultations in the corpus's test split (CC BY 4.0,
Papadopoulos Korfiatis et al. 2022); they and their gold labels were chosen before the model was
trained, as clear examples of each label. The test asks for the label each example was chosen for
(EMPATHIC, CUE, INCLUSIVE; nothing on a history-taking question). It does not ask for the full gold
set: the shipped model misses CONFIRMING on the third example and adds PURSUING to three, which are
its measured weaknesses on the rarest labels (evaluation/README.md); the test records them below so
that a model that fixes them shows up as a change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compassion_nlp import load
from compassion_nlp.classifier import ClassifierInput
from compassion_nlp.outputs import score_to_folder
from compassion_nlp.tables import TABLES

EXAMPLES = [
    (ClassifierInput("I'm just really worried.", "patient", "OK. Um", "clinician"), {"CUE"}),
    (
        ClassifierInput(
            "I mean I can see your concern obviously is a lot, there's a lot of worry there.",
            "clinician",
            "You know, really about this. never had headaches like this before. Like why should "
            "I get them now?",
            "patient",
        ),
        {"EMPATHIC"},
    ),
    (
        ClassifierInput(
            "No you, uh, you did the right thing and I, and I can understand it, it is quite "
            "anxiety provoking, OK.",
            "clinician",
            "Right. I, I, I, I don't, feel like it's, like particularly acute, but i'm just kind "
            "of a bit anxious that it might get a bit worse. I don't, I just wanted to speak to "
            "someone.",
            "patient",
        ),
        {"EMPATHIC", "CONFIRMING"},  # gold; the shipped model finds EMPATHIC only
    ),
    (
        ClassifierInput(
            "How's that sound to you?", "clinician",
            "Yeah I guess my mum has similar symptoms to me and yeah, it does make sense.",
            "patient",
        ),
        {"INCLUSIVE"},
    ),
    (
        ClassifierInput("Um, and do you normally get headaches?", "clinician",
                        "No, I haven't noticed anything like that.", "patient"),
        set(),
    ),
]


def test_shipped_model_labels_real_utterances(shipped_model: Path, no_network: None) -> None:
    from compassion_nlp.scoring import default_model_path

    assert default_model_path().resolve() == shipped_model.resolve()
    scorer = load()
    predictions = scorer.classifier.predict([item for item, _ in EXAMPLES])
    chosen_for = ["CUE", "EMPATHIC", "EMPATHIC", "INCLUSIVE", None]
    exact = 0
    for (item, gold), label, got in zip(EXAMPLES, chosen_for, predictions, strict=True):
        labels = set(got["labels"])
        assert (label in labels) if label else not labels, (item.text, got)
        assert not labels & {"CUE"} - gold and not labels & {"EMPATHIC", "INCLUSIVE"} - gold
        exact += labels == gold
    assert exact >= 2, predictions  # 2 of 5 exactly right today: CUE and the question


def test_shipped_model_scores_real_primock57_consultations(
    shipped_model: Path, shared_data: Path, tmp_path: Path, no_network: None
) -> None:
    import pandas as pd

    folder = shared_data / "transcripts" / "primock57" / "textgrid"
    pair = sorted(folder.glob("day1_consultation03_*.TextGrid"))
    assert len(pair) == 2
    scorer = load()
    scored = scorer(pair[0])  # the partner file comes with it
    assert {s.role for s in scored.encounter.speakers.values()} == {"clinician", "patient"}
    assert len(scored.cues) >= 2  # the patient is worried about a brain tumour
    assert 0 <= scored.compassion.value <= 100
    assert any(h.kind == "exemplary" for h in scored.highlights)
    for h in scored.missed_opportunities:
        assert h.suggestion and h.moment.start is not None and h.moment.source_line
    summary = score_to_folder(scorer, pair, tmp_path / "out")
    assert summary.encounters == 1 and not summary.failures
    for name in TABLES:
        table = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        assert len(table) > 0, name
    cues = pd.read_parquet(tmp_path / "out" / "cues.parquet")
    assert cues["responded"].any()


@pytest.mark.slow
def test_shipped_model_scores_every_primock57_consultation(
    shipped_model: Path, shared_data: Path, tmp_path: Path, no_network: None
) -> None:
    import pandas as pd

    folder = shared_data / "transcripts" / "primock57" / "textgrid"
    summary = score_to_folder(load(), [folder], tmp_path / "out", ext=".csv")
    assert summary.encounters == 45 and summary.sources == 45 and not summary.failures
    encounters = pd.read_csv(tmp_path / "out" / "encounters.csv")
    assert len(encounters) == 45 and encounters["compassion_score"].between(0, 100).all()
    assert (encounters["talk_share_clinician"] > encounters["talk_share_patient"]).mean() > 0.8
    # patients in these consultations raise concerns, and doctors answer some but not all
    assert (encounters["cue_episodes"] > 0).mean() > 0.6
    rates = encounters["response_rate"].dropna()
    assert 0 < rates.mean() < 1
    cues = pd.read_csv(tmp_path / "out" / "cues.csv")
    assert set(cues["response_labels"].dropna().str.split("|").explode()) <= {
        "EMPATHIC", "CONFIRMING", "PURSUING"
    }
    assert cues["source_line"].notna().all() and cues["start"].notna().all()


def test_model_names_resolve_to_folders(shipped_model: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from compassion_nlp import scoring
    from compassion_nlp.errors import CompassionError

    assert scoring.model_path("default").resolve() == shipped_model.resolve()
    assert scoring.model_path(None).resolve() == shipped_model.resolve()
    assert scoring.model_path(tmp_path) == tmp_path
    # the accurate model is built, not installed: its absence is a named error
    monkeypatch.setitem(scoring.MODEL_NAMES, "accurate", "no-such-model-folder")
    with pytest.raises(CompassionError, match=r"E021.*'accurate' \(no-such-model-folder\)"):
        scoring.model_path("accurate")
    # an existing folder called like a name is that folder
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").mkdir()
    assert scoring.model_path("accurate") == Path("accurate")
    # a name finds its folder under models/
    monkeypatch.setitem(scoring.MODEL_NAMES, "accurate", shipped_model.name)
    (tmp_path / "accurate").rmdir()
    assert scoring.model_path("accurate").resolve() == shipped_model.resolve()


def test_the_cli_takes_a_model_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from compassion_nlp import scoring
    from compassion_nlp.cli import app

    monkeypatch.setitem(scoring.MODEL_NAMES, "accurate", "no-such-model-folder")
    (tmp_path / "t.txt").write_text("Doctor: Hello.\nPatient: Hi.\n")
    result = CliRunner().invoke(app, ["score", str(tmp_path / "t.txt"), "--out",
                                      str(tmp_path / "out"), "--model", "accurate"])
    assert result.exit_code != 0
    assert "E021" in result.output and "accurate" in result.output


def test_the_fast_model_is_a_smaller_sibling_that_scores_real_consultations(
    shipped_model: Path, shared_data: Path, no_network: None
) -> None:
    """``load("fast")`` is installed: 3 layers, the default's labels and inputs, and on a real
    PriMock57 consultation mostly the default model's labels."""
    from compassion_nlp import scoring

    fast_dir = scoring.model_path("fast")
    assert fast_dir.resolve() == shipped_model.parent / "compassion-minilm-fast"
    fast, default = load("fast", precision="float32"), load(precision="float32")
    assert fast.classifier.model.config.num_hidden_layers == 3
    assert default.classifier.model.config.num_hidden_layers == 6
    for key in ("labels", "framing", "max_length", "context_chars"):
        assert getattr(fast.classifier.config, key) == getattr(default.classifier.config, key)
    pair = sorted((shared_data / "transcripts" / "primock57" / "textgrid").glob(
        "day1_consultation03_*.TextGrid"))
    quick, full = fast(pair[0]), default(pair[0])
    assert len(quick.decided) == len(full.decided) > 50
    same = (quick.decided == full.decided).all(axis=1).mean()
    assert same >= 0.9, same  # 0.96 measured (220 of 229 utterances)
    assert len(quick.cues) >= 2
    assert abs(quick.compassion.value - full.compassion.value) < 10  # 53.2 against 54.2
