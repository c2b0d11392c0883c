"""Distillation: a teacher model's probabilities on unlabelled utterances, for a student to learn.

The shipped model can be distilled from a larger fine-tuned teacher (all-mpnet-base-v2): the
teacher labels a pool of unlabelled real utterances with calibrated probabilities
(:func:`soft_label_file`), and :func:`compassion_nlp.training.train` learns them as soft targets
beside the gold rows (``TrainingConfig.soft_labelled``).

A pool file is JSON Lines, one utterance per line: ``{"text", "role", "previous_text",
"previous_role", "source", "encounter_id"}`` (``data/scripts/unlabelled_pool.py`` writes it
from the shared transcripts, leaving out every dev and test encounter of the corpus). The
soft-labelled file adds ``"soft"``: one probability per label, in
:data:`compassion_nlp.classifier.LABELS` order.

>>> from compassion_nlp.distill import soft_label_file
>>> soft_label_file("models/teacher", "pool.jsonl", "soft.jsonl")
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from .classifier import ClassifierInput, UtteranceClassifier
from .errors import CompassionError, Errors
from .model import LABELS

logger = logging.getLogger("compassion_nlp")

POOL_COLUMNS = ("text", "role", "previous_text", "previous_role")


def read_pool(path: str | Path) -> Iterator[dict]:
    """The rows of a pool file, checked: each needs text, role, previous_text, previous_role."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CompassionError(
                    Errors.E031, detail=f"{path}: line {number} is not JSON ({exc.msg})."
                ) from None
            missing = [c for c in POOL_COLUMNS if not isinstance(row.get(c), str)]
            if missing:
                raise CompassionError(
                    Errors.E031, detail=f"{path}: line {number} lacks {', '.join(missing)}."
                )
            yield row


def soft_label_file(
    teacher: str | Path | UtteranceClassifier,
    pool: str | Path,
    out: str | Path,
    *,
    chunk: int = 2048,
    batch_size: int = 64,
    precision: str = "auto",
    threads: int | None = None,
) -> int:
    """Write the teacher's calibrated probabilities for every pool row to ``out``.

    Resumable: rows already in ``out`` (a run that was stopped) are kept and not labelled
    again. Returns the number of rows in ``out``.

    Args:
        teacher: a model folder, or a loaded classifier.
        pool: the unlabelled pool (see the module docstring).
        out: the soft-labelled JSON Lines file.
        chunk: rows labelled and appended at a time.
    """
    clf = (
        teacher if isinstance(teacher, UtteranceClassifier)
        else UtteranceClassifier.from_pretrained(teacher, precision=precision, threads=threads)
    )
    if tuple(clf.labels) != LABELS:
        raise CompassionError(Errors.E019, teacher, found=", ".join(clf.labels),
                              expected=", ".join(LABELS))
    out = Path(out)
    done = 0
    if out.exists():
        lines = out.read_text(encoding="utf-8").splitlines()
        complete = [line for line in lines if line.endswith("}")]
        done = len(complete)
        out.write_text("".join(line + "\n" for line in complete), encoding="utf-8")
    rows: list[dict] = []
    written = done
    with out.open("a", encoding="utf-8") as fh:
        for index, row in enumerate(read_pool(pool)):
            if index < done:
                continue
            rows.append(row)
            if len(rows) >= chunk:
                written += _label_chunk(clf, rows, fh, batch_size)
                logger.info("soft-labelled %d rows", written)
                rows = []
        if rows:
            written += _label_chunk(clf, rows, fh, batch_size)
    return written


def _label_chunk(clf: UtteranceClassifier, rows: list[dict], fh, batch_size: int) -> int:
    items = [
        ClassifierInput(r["text"], r["role"], r["previous_text"], r["previous_role"])
        for r in rows
    ]
    probs = clf.predict_proba(items, batch_size=batch_size)
    for row, p in zip(rows, probs, strict=True):
        fh.write(json.dumps({**row, "soft": [round(float(x), 5) for x in p]},
                            ensure_ascii=False) + "\n")
    fh.flush()
    return len(rows)
