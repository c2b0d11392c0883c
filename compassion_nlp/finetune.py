"""Fine-tune a compassion-nlp model (the shipped one by default) on a group's own coded
utterances, and check it on the project's test split before and after.

A research group codes its own transcripts (``compassion-nlp export`` → a coding tool →
``compassion-nlp import``) and continues training from the shipped model with a small learning
rate for a few epochs. The command then scores the project's held-out test split
(``data/corpus.jsonl``, real utterances of seven sources) and the group's own test split with
the model before and after, and says whether the project split got worse: adapting to one
clinic must not quietly unlearn the others.

Calibration and thresholds are refitted on the group's dev split only for labels with at least
:data:`MIN_DEV_POSITIVES` positives there; the others keep the base model's (a threshold chosen
on a handful of examples is noise).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classifier import UtteranceClassifier
from .errors import CompassionError, Errors
from .model import LABELS
from .training import TrainingConfig, label_metrics, load_corpus, to_inputs, train

logger = logging.getLogger("compassion_nlp")

#: labels with fewer positives in the coded dev split keep the base model's calibration and
#: threshold
MIN_DEV_POSITIVES = 20
#: the largest drop of the project test split's macro-F1 accepted without a warning
MAX_DROP = 0.02


def project_corpus() -> Path | None:
    """The project's annotated corpus in a source checkout (``data/corpus.jsonl``), if any."""
    path = Path(__file__).resolve().parents[1] / "data" / "corpus.jsonl"
    return path if path.is_file() else None


def evaluate(clf: UtteranceClassifier, corpus: str | Path, split: str = "test") -> dict[str, Any]:
    """Per-label precision, recall, F1, κ and macro-F1 of ``clf`` on a corpus split."""
    dataset = load_corpus(corpus)[split]
    inputs, targets = to_inputs(dataset)
    if not inputs:
        raise CompassionError(Errors.E030, detail=f"{corpus} has no {split} rows to check on")
    probs = clf.predict_proba(inputs)
    return label_metrics(clf.decide(probs), targets, probs)


def card_from_metrics(metrics: dict[str, Any], test: str) -> dict[str, Any]:
    """A model card (``compassion.json`` → ``card``) from test metrics: the numbers per label
    and, in words, how often the model misses a label or marks it wrongly."""
    labels = {}
    for label in LABELS:
        m = metrics["labels"][label]
        what = "cues" if label == "CUE" else f"{label.lower()} statements"
        notes = []
        if m["recall"] < 0.75:
            notes.append(f"misses about {round((1 - m['recall']) * 10)} in 10 {what}")
        if m["precision"] < 0.75:
            notes.append(f"about {round((1 - m['precision']) * 10)} in 10 of the utterances "
                         f"it marks are not {what}")
        if label == "CUE":
            notes.append("staff cues in meetings are rare in its training data, so meeting "
                         "cue counts rest on few cues")
        labels[label] = {"precision": round(m["precision"], 3), "recall": round(m["recall"], 3),
                         "f1": round(m["f1"], 3), "kappa": round(m["kappa"], 3),
                         "support": m["support"], "note": "; ".join(notes).capitalize() + "."}
    return {"test": test, "labels": labels, "limits": [
        "Trained on mock, role-played and written consultations and counselling, and on "
        "research and design meetings, in English: real clinics and real healthcare team "
        "meetings may differ.",
        "Labels come from AI annotators following the codebook, checked by a second "
        "independent annotation; they are not expert human codes.",
    ]}


@dataclass
class FineTuneReport:
    """Before and after, on the project's test split and on the group's own test split."""

    output_dir: Path
    base: Path
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]
    kept_base_thresholds: list[str] = field(default_factory=list)
    max_drop: float = MAX_DROP

    @property
    def project_change(self) -> float:
        """After minus before, macro-F1 on the project's test split."""
        return self.after["project"]["macro_f1"] - self.before["project"]["macro_f1"]

    @property
    def worse(self) -> bool:
        """True when the project test split's macro-F1 fell by more than ``max_drop``."""
        return self.project_change < -self.max_drop

    def table(self) -> str:
        """Per-label F1 before and after on both splits, as text."""
        lines = [f"{'':12}{'project test':>26}{'own test':>26}",
                 f"{'F1':12}{'before':>13}{'after':>13}{'before':>13}{'after':>13}"]
        for label in (*LABELS, "macro"):
            cells = []
            for split in ("project", "own"):
                for when in (self.before, self.after):
                    m = when.get(split)
                    if m is None:
                        cells.append("–")
                    else:
                        value = m["macro_f1"] if label == "macro" else m["labels"][label]["f1"]
                        cells.append(f"{value:.3f}")
            lines.append(f"{label:12}" + "".join(f"{c:>13}" for c in cells))
        return "\n".join(lines)


def fine_tune(
    coded: str | Path,
    output_dir: str | Path,
    *,
    base: str | Path | None = None,
    check_corpus: str | Path | None = None,
    epochs: int = 3,
    learning_rate: float = 1e-5,
    batch_size: int = 16,
    seed: int = 13,
    threads: int | None = None,
    max_drop: float = MAX_DROP,
) -> FineTuneReport:
    """Continue training ``base`` on a coded corpus and check it before and after.

    Args:
        coded: a corpus with train/dev(/test) splits, e.g. from ``compassion-nlp import``.
        output_dir: the new model folder.
        base: the model to start from (default: the shipped model).
        check_corpus: the project's corpus whose test split is checked (default: the
            repository's ``data/corpus.jsonl``; required when it is not there).
        epochs, learning_rate, batch_size: the continued training (small and short).
        max_drop: the project macro-F1 drop above which the report says it got worse.

    Raises:
        CompassionError: E030 for bad settings, E031 for a bad corpus, E034 for a bad base.
    """
    from .scoring import model_path

    base = model_path(base)
    check_corpus = check_corpus or project_corpus()
    if check_corpus is None:
        raise CompassionError(Errors.E030, detail="no project corpus to check on: pass "
                              "--check-corpus with compassion-nlp's data/corpus.jsonl")
    output_dir = Path(output_dir)
    if output_dir.resolve() == base.resolve():
        raise CompassionError(Errors.E030, detail=f"--out {output_dir} is the base model; "
                              "write the fine-tuned model to a new folder")
    before_clf = UtteranceClassifier.from_pretrained(base, precision="float32", threads=threads)
    own_splits = load_corpus(coded)
    has_own_test = len(own_splits["test"]) > 0
    before = {"project": evaluate(before_clf, check_corpus)}
    if has_own_test:
        before["own"] = evaluate(before_clf, coded)
    config = before_clf.config
    args = TrainingConfig(
        corpus=Path(coded), output_dir=output_dir, base_model=str(base),
        framing=config.framing, max_length=config.max_length,
        context_chars=config.context_chars, epochs=epochs, learning_rate=learning_rate,
        batch_size=batch_size, seed=seed, threads=threads, patience=1,
    )
    logger.info("fine-tuning %s on %s: %d epoch(s) at learning rate %g", base, coded, epochs,
                learning_rate)
    train(args)
    kept = _keep_base_thresholds(output_dir, before_clf, own_splits["dev"])
    after_clf = UtteranceClassifier.from_pretrained(output_dir, precision="float32",
                                                    threads=threads)
    after = {"project": evaluate(after_clf, check_corpus)}
    if has_own_test:
        after["own"] = evaluate(after_clf, coded)
    _write_card(output_dir, base, after["project"], len(load_corpus(check_corpus)["test"]))
    return FineTuneReport(output_dir, base, before, after, kept, max_drop)


def _keep_base_thresholds(output_dir: Path, base: UtteranceClassifier, dev: Any) -> list[str]:
    """Give labels with few coded dev positives back the base model's calibration and
    threshold; returns those labels."""
    _, targets = to_inputs(dev)
    positives = targets.sum(axis=0) if len(targets) else [0] * len(LABELS)
    path = output_dir / "compassion.json"
    data = json.loads(path.read_text())
    kept = [label for j, label in enumerate(LABELS) if positives[j] < MIN_DEV_POSITIVES]
    for label in kept:
        data["calibration"][label] = list(base.config.calibration[label])
        data["thresholds"][label] = base.config.thresholds[label]
    path.write_text(json.dumps(data, indent=2) + "\n")
    return kept


def _write_card(output_dir: Path, base: Path, metrics: dict[str, Any], n: int) -> None:
    path = output_dir / "compassion.json"
    data = json.loads(path.read_text())
    data["card"] = card_from_metrics(
        metrics, f"the project's test split, {n:,} utterances; fine-tuned from {base.name}")
    path.write_text(json.dumps(data, indent=2) + "\n")
