"""Cross-domain validity (evaluation/validity/crossdomain.py): readers, mappings and metrics on
tiny hand-written files shaped like ESConv and the MI gold test set, with a stub classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from compassion_nlp.classifier import ClassifierInput
from compassion_nlp.model import LABELS
from evaluation.validity import crossdomain as cd

DIALOGUES = [
    {"emotion_type": "anxiety", "problem_type": "job crisis", "situation": "x",
     "dialog": [
         {"text": "Hello, how can I help?", "speaker": "sys", "strategy": "Question"},
         {"text": "I lost my job.", "speaker": "usr"},
         {"text": "  I am  so scared. ", "speaker": "usr"},
         {"text": "That sounds frightening.", "speaker": "sys",
          "strategy": "Reflection of feelings"},
         {"text": "Anyone would be worried.", "speaker": "sys",
          "strategy": "Affirmation and Reassurance"},
         {"text": "Yes.", "speaker": "usr"},
         {"text": "Have you applied elsewhere?", "speaker": "sys", "strategy": "Question"},
     ]},
    {"emotion_type": "sadness", "problem_type": "breakup", "situation": "y",
     "dialog": [
         {"text": "We broke up.", "speaker": "usr"},
         {"text": "So you split last week.", "speaker": "sys",
          "strategy": "Restatement or Paraphrasing"},
         {"text": "I went through that too.", "speaker": "sys", "strategy": "Self-disclosure"},
     ]},
]

MI_ROWS = [
    ("What worries you most?", "Open Question"),
    ("It takes courage to reach out.", "Affirm"),
    ("I'm so sorry, that is hard.", "Support"),
    ("You feel torn between the two.", "Complex Reflection"),
    ("Try going for a walk.", "Advise without Permission"),
    ('Did you sleep, "well"?', "Closed Question"),
]


def write_esconv(path: Path, *, lines: bool = True) -> Path:
    if lines:
        path.write_text("\n".join(json.dumps(d) for d in DIALOGUES))
    else:
        path.write_text(json.dumps(DIALOGUES))
    return path


def write_mi(path: Path) -> Path:
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Text", "Ground truth (index)", "Ground truth", "Prediction (index)",
                    "Prediction"])
        for i, (text, label) in enumerate(MI_ROWS):
            w.writerow([text, i, label, 0, "Other"])
    return path


class Stub:
    """Fixed probabilities per utterance text (0.0 for every label otherwise)."""

    def __init__(self, probs: dict[str, dict[str, float]]):
        self.probs = probs
        self.seen: list[ClassifierInput] = []

    def predict_proba(self, items):
        self.seen.extend(items)
        return np.array([[self.probs.get(i.text, {}).get(x, 0.0) for x in LABELS]
                         for i in items])

    def decide(self, probs):
        return probs >= 0.5


@pytest.mark.parametrize("lines", [True, False])
def test_read_esconv_supporter_turns_with_previous_seeker_turn(tmp_path, lines):
    items = cd.read_esconv(write_esconv(tmp_path / "test.json", lines=lines))
    assert [i.category for i in items] == [
        "Question", "Reflection of feelings", "Affirmation and Reassurance", "Question",
        "Restatement or Paraphrasing", "Self-disclosure"]
    assert [i.group for i in items] == ["esconv-0"] * 4 + ["esconv-1"] * 2
    assert all(i.input.role == "clinician" for i in items)
    # a supporter message before any seeker turn has no context
    assert items[0].input == ClassifierInput("Hello, how can I help?", "clinician", "", "")
    # consecutive seeker messages are one turn (whitespace normalised); consecutive supporter
    # messages share it
    merged = "I lost my job. I am so scared."
    assert items[1].input == ClassifierInput("That sounds frightening.", "clinician", merged,
                                             "patient")
    assert items[2].input.previous == merged
    assert items[3].input.previous == "Yes."
    assert items[4].input.previous == items[5].input.previous == "We broke up."
    assert len(cd.read_esconv(tmp_path / "test.json", limit=2)) == 2


def test_read_mi_gold_no_context(tmp_path):
    items = cd.read_mi_gold(write_mi(tmp_path / "mi.csv"))
    assert [(i.input.text, i.category) for i in items] == MI_ROWS
    assert all(i.input.previous == "" and i.input.role == "clinician" for i in items)
    assert len({i.group for i in items}) == len(items)


def test_mappings_to_targets(tmp_path):
    items = cd.read_mi_gold(write_mi(tmp_path / "mi.csv"))
    gold = cd.targets(items, cd.MI_MAP)
    col = {x: gold[:, LABELS.index(x)].tolist() for x in LABELS}
    assert col["PURSUING"] == [1, 0, 0, 0, 0, 0]
    assert col["CONFIRMING"] == [0, 1, 0, 0, 0, 0]
    assert col["EMPATHIC"] == [0, 0, 1, 1, 0, 0]  # Support and Complex Reflection
    assert not gold[:, LABELS.index("INCLUSIVE")].any()
    assert not gold[:, LABELS.index("CUE")].any()
    assert set(cd.ESCONV_MAP.values()) == {"EMPATHIC", "PURSUING", "CONFIRMING"}
    assert set(cd.CAVEATS["esconv"]) >= set(cd.ESCONV_MAP.values())
    assert set(cd.CAVEATS["mi_gold"]) >= set(cd.MI_MAP.values())


def test_metrics_against_hand_counts_and_sklearn(tmp_path):
    items = cd.read_esconv(write_esconv(tmp_path / "test.json"))
    stub = Stub({
        "That sounds frightening.": {"EMPATHIC": 0.9},
        "Anyone would be worried.": {"EMPATHIC": 0.6, "CONFIRMING": 0.7},
        "Have you applied elsewhere?": {"PURSUING": 0.8},
        "So you split last week.": {"EMPATHIC": 0.7},
    })
    res = cd.evaluate("esconv", items, cd.ESCONV_MAP, stub, reps=200)
    assert res["utterances"] == 6 and res["groups"] == 2 and res["with_context"] == 5
    emp, conf, purs = (res["labels"][x] for x in ("EMPATHIC", "CONFIRMING", "PURSUING"))
    # EMPATHIC: gold {frightening}; predicted {frightening, worried, split}
    assert emp["support"] == 1 and emp["base_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert emp["predicted_rate"] == pytest.approx(0.5)
    assert (emp["precision"], emp["recall"]) == (pytest.approx(1 / 3, abs=1e-4), 1.0)
    assert emp["f1"] == pytest.approx(0.5)
    assert (conf["precision"], conf["recall"], conf["f1"]) == (1.0, 1.0, 1.0)
    # PURSUING: gold {hello, applied}; predicted {applied}
    assert (purs["precision"], purs["recall"]) == (1.0, 0.5)
    assert purs["f1"] == pytest.approx(2 / 3, abs=1e-4)
    for m in (emp, conf, purs):
        for key in ("precision", "recall", "f1"):
            lo, hi = m[f"{key}_ci95"]
            assert 0.0 <= lo <= hi <= 1.0
    # the numpy counts agree with scikit-learn on the full sample
    gold = cd.targets(items, cd.ESCONV_MAP)
    decided = stub.decide(stub.predict_proba([i.input for i in items]))
    j = LABELS.index("EMPATHIC")
    p, r, f, _ = precision_recall_fscore_support(gold[:, j] > 0.5, decided[:, j],
                                                 average="binary", zero_division=0.0)
    assert (emp["precision"], emp["recall"], emp["f1"]) == pytest.approx((p, r, f), abs=1e-4)
    # what each source category is given
    rates = res["category_label_rates"]
    assert rates["Question"] == {"n": 2, "mapped_to": "PURSUING", "EMPATHIC": 0.0,
                                 "CONFIRMING": 0.0, "PURSUING": 0.5, "INCLUSIVE": 0.0,
                                 "CUE": 0.0, "none": 0.5}
    assert rates["Restatement or Paraphrasing"]["mapped_to"] is None
    assert rates["Restatement or Paraphrasing"]["EMPATHIC"] == 1.0
    assert rates["Self-disclosure"]["none"] == 1.0


def test_bootstrap_resamples_groups_and_is_seeded():
    decided = np.zeros((4, len(LABELS)), dtype=bool)
    gold = np.zeros((4, len(LABELS)))
    decided[[0, 2], 0] = True
    gold[[0, 1], 0] = 1
    # one group: every resample is the whole sample, so the interval is the point
    one = cd.bootstrap_prf(decided, gold, ["a"] * 4, reps=50)
    assert one["EMPATHIC"] == {"precision": [0.5, 0.5], "recall": [0.5, 0.5],
                               "f1": [0.5, 0.5]}
    # four groups: the interval widens, and the same seed gives the same interval
    four = cd.bootstrap_prf(decided, gold, list("abcd"), reps=300, seed=1)
    lo, hi = four["EMPATHIC"]["f1"]
    assert lo < 0.5 < hi
    assert four == cd.bootstrap_prf(decided, gold, list("abcd"), reps=300, seed=1)
    # a label nobody predicts or has: zeros, never NaN
    assert four["CUE"] == {"precision": [0.0, 0.0], "recall": [0.0, 0.0], "f1": [0.0, 0.0]}


def test_run_writes_no_dataset_text(tmp_path):
    esconv = write_esconv(tmp_path / "test.json")
    mi = write_mi(tmp_path / "mi.csv")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"text": "What worries you most?", "split": "train"},
        {"text": "It takes courage to reach out.", "split": "test"},  # not seen in training
    ]))
    stub = Stub({"What worries you most?": {"PURSUING": 0.9},
                 "I'm so sorry, that is hard.": {"EMPATHIC": 0.9}})
    results = cd.run(stub, esconv=esconv, mi_gold=mi, corpus=corpus, reps=50)
    assert set(results) == {"esconv", "mi_gold"}
    mi_res = results["mi_gold"]
    assert mi_res["labels"]["PURSUING"]["f1"] == 1.0
    assert mi_res["labels"]["EMPATHIC"]["recall"] == 0.5
    assert mi_res["overlap"] == {"utterances": 1, "by_category": {"Open Question": 1}}
    assert mi_res["without_overlap"]["n"] == 5
    assert mi_res["without_overlap"]["labels"]["PURSUING"]["support"] == 0
    assert results["esconv"]["without_overlap"] == "no overlap"
    dumped = json.dumps(results, allow_nan=False)
    texts = [t for t, _ in MI_ROWS] + [m["text"] for d in DIALOGUES for m in d["dialog"]]
    for text in texts:
        assert cd.clean(text) not in dumped and text not in dumped
    assert "EMPATHIC" in cd.table(results)
    # a missing file is skipped, not an error
    assert set(cd.run(stub, esconv=tmp_path / "absent.json", mi_gold=mi, reps=10)) == {"mi_gold"}
