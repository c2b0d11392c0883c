"""Test helpers that are not fixtures: a deterministic stand-in classifier, reference outputs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from compassion_nlp.classifier import LABELS, ClassifierConfig, ClassifierInput

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
#: the transcripts whose outputs are stored in REFERENCE (every format of the fixtures)
REFERENCE_INPUTS = ("csv_dialogues", "json_aws_transcribe", "json_deepgram_assemblyai_whisper",
                    "json_mibot", "json_qmsum", "json_revai", "plaintext_acibench",
                    "plaintext_mtsdialog", "plaintext_osce_fareez", "srt_encodings",
                    "textgrid_primock57", "txt_zoom_new", "vtt_srt_webvtt-py_fixtures",
                    "vtt_teams", "vtt_zoom", "xlsx_physical_activity")


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
