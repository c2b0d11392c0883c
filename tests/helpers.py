"""Test helpers that are not fixtures (those are in conftest.py): paths, tiny models and corpora
built in code, a deterministic stand-in classifier, and the reference outputs."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from compassion_nlp.classifier import LABELS, ClassifierConfig, ClassifierInput

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
#: the shared corpora beside the repository; tests that need them skip when absent
SHARED = REPO.parent / "shared" / "data"
SHIPPED_MODEL = REPO / "models" / "compassion-minilm"

SENTENCES = (
    "that sounds really frightening sorry to hear what worries you most we will go "
    "through this together thanks for flagging i am so worried it might be cancer when "
    "did the pain start do you smoke ok right it is completely understandable to feel "
    "anxious the cough started on monday how has this been affecting you at home good "
    "point what do you all think my wife died and i have not been sleeping take two "
    "tablets a day "
)
WORDS = SENTENCES.split()
EXAMPLES = {
    "EMPATHIC": ["that sounds really frightening", "sorry to hear that"],
    "CONFIRMING": ["it is completely understandable to feel anxious"],
    "PURSUING": ["what worries you most", "how has this been affecting you at home"],
    "INCLUSIVE": ["thanks for flagging", "good point what do you all think"],
    "CUE": ["i am so worried it might be cancer", "my wife died and i have not been sleeping"],
}
NEUTRAL = ["when did the pain start", "do you smoke", "ok right", "take two tablets a day",
            "the cough started on monday"]
#: a short consultation with a cue, an empathic answer, a missed cue and a history question
TRANSCRIPT = """\
Doctor: Good morning. What brings you in today?
Patient: I am so worried it might be cancer.
Doctor: That sounds really frightening. What worries you most?
Patient: My wife died and I have not been sleeping.
Doctor: Do you smoke?
Patient: No.
"""
REFERENCE = FIXTURES / "reference"
#: the transcripts whose outputs are stored in REFERENCE (every format of the fixtures)
REFERENCE_INPUTS = ("csv_dialogues", "json_aws_transcribe", "json_deepgram_assemblyai_whisper",
                    "json_mibot", "json_qmsum", "json_revai", "plaintext_acibench",
                    "plaintext_mtsdialog", "plaintext_osce_fareez", "srt_encodings",
                    "textgrid_primock57", "txt_zoom_new", "vtt_srt_webvtt-py_fixtures",
                    "vtt_teams", "vtt_zoom", "xlsx_physical_activity")


def tiny_model_and_tokenizer(folder: Path):
    """A randomly initialised 2-layer BERT and a word-level tokenizer, built in code."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from compassion_nlp.classifier import LABELS

    torch.manual_seed(0)  # the same initial weights in every run
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ":", ".", "?", ","]
    vocab += sorted(set(WORDS) | {"clinician", "patient", "leader", "staff", "unknown"})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
        problem_type="multi_label_classification", id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    return BertForSequenceClassification(config), tokenizer


def tiny_corpus(path: Path, *, rows: int = 360, seed: int = 0) -> Path:
    """A small corpus in the project's JSONL format where each label has a fixed phrasing."""
    rng = random.Random(seed)
    lines = []
    for i in range(rows):
        label = rng.choice([*EXAMPLES, None, None])
        text = rng.choice(EXAMPLES[label]) if label else rng.choice(NEUTRAL)
        enc = i % 40
        split = "train" if enc < 26 else "dev" if enc < 33 else "test"
        lines.append(json.dumps({
            "id": f"e{enc}|u{i}", "encounter_id": f"e{enc}", "source": "test", "text": text,
            "role": "patient" if label == "CUE" else "clinician", "previous_text": "",
            "previous_role": "", "labels": [label] if label else [], "split": split,
        }))
    path.write_text("\n".join(lines) + "\n")
    return path


class HashClassifier:
    """Probabilities from a hash of each input: the same on every machine, no model needed.

    It stands in for :class:`compassion_nlp.classifier.UtteranceClassifier` where a test checks
    the pipeline around the classifier (reading, linking, scores, tables), not the model.
    Utterances with words of a label's cue list get that label, so cues, responses and
    highlights all occur.
    """

    WORDS = {
        "EMPATHIC": ("sorry", "sounds", "must be", "imagine"),
        "CONFIRMING": ("understandable", "makes sense", "right thing", "normal"),
        "PURSUING": ("how", "tell me", "what worries", "together"),
        "INCLUSIVE": ("thank", "think", "idea", "view"),
        "CUE": ("worr", "scared", "pain", "difficult", "hard", "died", "stress"),
    }

    def __init__(self) -> None:
        self.config = ClassifierConfig(base_model="hash", versions={"compassion_nlp": "test"})
        self.labels = LABELS
        self.precision = "float32"

    def predict_proba(self, items: Sequence[ClassifierInput], *, batch_size: int = 64
                      ) -> np.ndarray:
        out = np.zeros((len(items), len(LABELS)))
        for i, item in enumerate(items):
            text = item.text.lower()
            digest = hashlib.sha256(f"{item.role}|{item.text}|{item.previous}".encode()).digest()
            for j, label in enumerate(LABELS):
                base = digest[j] / 255 * 0.45
                hit = any(w in text for w in self.WORDS[label])
                out[i, j] = round(base + (0.5 if hit else 0.0), 6)
        return out

    def decide(self, probs: np.ndarray) -> np.ndarray:
        return probs >= 0.5


def write_reference(root: Path = REFERENCE) -> None:
    """Score every reference input into ``root/score`` (CSV tables, reports, run.json) and
    read them into ``root/read/utterances.csv``; paths are relative to the working folder."""
    import logging

    from compassion_nlp.outputs import read_to_table, score_to_folder
    from compassion_nlp.scoring import Scorer

    logging.disable(logging.WARNING)
    try:
        paths = [Path("tests") / "fixtures" / name for name in REFERENCE_INPUTS]
        score_to_folder(Scorer(HashClassifier()), paths, root / "score", ext=".csv",
                        reports=True)
        read_to_table(paths, root / "read" / "utterances.csv")
    finally:
        logging.disable(logging.NOTSET)


if __name__ == "__main__":  # python -m tests.helpers: regenerate the reference on purpose
    import shutil

    shutil.rmtree(REFERENCE, ignore_errors=True)
    write_reference()


def ctrl_c_after(monkeypatch, n: int):  # type: ignore[no-untyped-def]
    """Make ``Scorer.pipe_groups`` hand over one scored encounter at a time and press Ctrl-C
    (KeyboardInterrupt) after ``n`` of them; returns the real method, to put back."""
    import compassion_nlp.scoring as scoring

    real = scoring.Scorer.pipe_groups

    def groups_then_ctrl_c(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        done = 0
        for group in real(self, *args, **kwargs):
            for scored in group:
                if done == n:
                    raise KeyboardInterrupt
                done += 1
                yield [scored]

    monkeypatch.setattr(scoring.Scorer, "pipe_groups", groups_then_ctrl_c)
    return real
