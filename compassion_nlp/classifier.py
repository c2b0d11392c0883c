"""The utterance classifier: a fine-tuned transformer with calibrated multi-label outputs.

A model is a self-describing folder (see ``models/``): ``config.json`` (with ``id2label``),
``model.safetensors``, the tokenizer files, ``compassion.json`` (our settings: labels,
thresholds, calibration, input framing, versions, metrics) and a model card ``README.md``.

:meth:`UtteranceClassifier.predict_proba` is pure: inputs in, calibrated probabilities out.
Writing predictions onto encounters happens elsewhere (:mod:`compassion_nlp.scoring`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import CompassionError, Errors
from .model import LABELS

if TYPE_CHECKING:
    import torch

CONFIG_NAME = "compassion.json"
#: batches between two returns of freed memory to the operating system (see _release_memory)
RELEASE_EVERY = 4
#: inputs are padded up to a multiple of this many tokens and batched with others as wide
PAD_MULTIPLE = 8
#: inputs tokenised and grouped by width together: bounds the memory of one long call
TOKENISE_WINDOW = 4096


def platt(
    logits: np.ndarray, calibration: dict[str, tuple[float, float]], labels: Sequence[str]
) -> np.ndarray:
    """Per-label Platt scaling: ``1 / (1 + exp(-(a · logit + b)))`` with each label's
    ``(a, b)`` from ``calibration``, columns in the order of ``labels``."""
    a = np.array([calibration[label][0] for label in labels])
    b = np.array([calibration[label][1] for label in labels])
    return 1.0 / (1.0 + np.exp(-(logits * a + b)))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on other C libraries."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def _release_memory() -> None:
    """Give freed heap memory back to the operating system. Batches of many shapes leave the
    C heap fragmented, and without this the resident memory of a long run grows with the
    number of utterances (a 1 MB transcript of 24,000 utterances peaked at 1.57 GB instead of
    1.11 GB) instead of staying flat."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


Framing = Literal["utterance", "context"]
Precision = Literal["float32", "bfloat16", "int8"]
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16", "int8")


@dataclass(frozen=True)
class ClassifierInput:
    """One utterance to classify, with the context the model may use.

    Attributes:
        text: the utterance.
        role: the speaker's role (``clinician``, ``patient``, ``leader``, ``staff``…).
        previous: the text of the previous turn (another speaker), or ``""``.
        previous_role: that turn's speaker role.
    """

    text: str
    role: str = "unknown"
    previous: str = ""
    previous_role: str = ""


@dataclass
class ClassifierConfig:
    """The settings stored in ``compassion.json`` beside the weights.

    Attributes:
        labels: label names in output order.
        thresholds: per-label decision threshold on the calibrated probability.
        calibration: per-label Platt scaling ``(a, b)``: ``p = sigmoid(a * logit + b)``.
        framing: ``utterance`` (text alone) or ``context`` (role + text, and the previous
            turn with its role as the second segment).
        max_length: tokens per input.
        context_chars: characters kept from the end of the previous turn.
        base_model: the encoder the model was fine-tuned from.
        versions: library versions at training time.
        training: the training arguments.
        metrics: evaluation results written by ``evaluation/``.
        card: the model card's test numbers and known weaknesses per label (written by
            ``evaluation/report.py``; shown in the feedback reports).
    """

    labels: list[str] = field(default_factory=lambda: list(LABELS))
    thresholds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(LABELS, 0.5))
    calibration: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {label: (1.0, 0.0) for label in LABELS}
    )
    framing: Framing = "context"
    max_length: int = 96
    context_chars: int = 300
    base_model: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ClassifierConfig:
        """Read ``compassion.json`` from a model folder."""
        return cls.from_dict(json.loads((path / CONFIG_NAME).read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        """The config from ``compassion.json``'s contents (unknown keys are ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.calibration = {k: (float(a), float(b)) for k, (a, b) in config.calibration.items()}
        return config

    def fingerprint(self) -> str:
        """A short id of what decides the labels (labels, thresholds, calibration, input
        framing, base model and training run), not of the evaluation numbers or versions."""
        decisive = {k: getattr(self, k) for k in (
            "labels", "thresholds", "calibration", "framing", "max_length", "context_chars",
            "base_model", "training")}
        text = json.dumps(decisive, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def save(self, path: Path) -> None:
        """Write ``compassion.json`` into a model folder."""
        (path / CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2, sort_keys=False) + "\n")


def frame(item: ClassifierInput, framing: Framing, context_chars: int) -> tuple[str, str]:
    """The (first, second) text segments the model sees for one input."""
    if framing == "utterance":
        return item.text, ""
    first = f"{item.role}: {item.text}"
    if not item.previous:
        return first, ""
    previous = item.previous[-context_chars:]
    return first, f"{item.previous_role}: {previous}"


def resolve_precision(precision: str) -> Precision:
    """``auto`` → ``bfloat16`` when the CPU has native bfloat16 support, else ``float32``."""
    if precision not in PRECISIONS:
        raise CompassionError(Errors.E017, name=precision, precisions=", ".join(PRECISIONS))
    if precision != "auto":
        return precision  # type: ignore[return-value]
    import torch

    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return "bfloat16" if native else "float32"


def quiet_transformers() -> None:
    """No progress bars or load reports from transformers on the user's terminal."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a model's outputs."""
    import sklearn
    import tokenizers
    import torch
    import transformers

    from .version import __version__

    return {
        "compassion_nlp": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "scikit-learn": sklearn.__version__,
    }


class UtteranceClassifier:
    """A fine-tuned encoder with a multi-label head, calibration and thresholds.

    Example:
        >>> clf = UtteranceClassifier.from_pretrained("models/compassion-minilm")
        >>> probs = clf.predict_proba([ClassifierInput("That sounds frightening.", "clinician")])
    """

    #: where the forward pass runs (:mod:`compassion_nlp.backends`)
    backend = "torch"

    def __init__(
        self, model: Any, tokenizer: Any, config: ClassifierConfig, *,
        precision: Precision = "float32",
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.labels = tuple(config.labels)
        self.precision = precision

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, precision: str = "auto", threads: int | None = None
    ) -> UtteranceClassifier:
        """Load a model folder, offline.

        Args:
            path: the folder.
            precision: ``float32``; ``bfloat16`` (autocast: about 1.6× faster on CPUs with
                native bfloat16, same labels in our benchmark); ``int8`` (dynamic
                quantisation of the linear layers: about 2× faster, but it changes some
                labels of the rare classes); ``auto`` (default): ``bfloat16`` where the CPU
                supports it natively, else ``float32``.
            threads: torch intra-op threads (default: torch's choice).
        """
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        quiet_transformers()
        path = Path(path)
        if not (path / CONFIG_NAME).is_file() or not (path / "config.json").is_file():
            raise CompassionError(Errors.E034, path)
        if threads:
            torch.set_num_threads(threads)
        config = ClassifierConfig.load(path)
        if tuple(config.labels) != LABELS:
            raise CompassionError(
                Errors.E019, path, found=", ".join(config.labels), expected=", ".join(LABELS)
            )
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True, dtype=torch.float32
        )
        chosen = resolve_precision(precision)
        if chosen == "int8":
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        return cls(model, tokenizer, config, precision=chosen)

    def encode(
        self, items: Sequence[ClassifierInput], *, return_tensors: str = "pt"
    ) -> dict[str, torch.Tensor]:
        """Tokenise inputs with the model's framing (padded to the longest); ``return_tensors``
        ``"np"`` gives numpy arrays. With context framing every input is a pair (an empty
        previous turn too), so that an input is encoded alike whatever its batch holds."""
        return self._tokenise(items, padding=True, return_tensors=return_tensors)

    def _tokenise(self, items: Sequence[ClassifierInput], **options: Any) -> Any:
        """The tokeniser on the framed inputs (a pair each with context), truncated to
        ``max_length``; ``options`` go to the tokeniser."""
        framed = [frame(i, self.config.framing, self.config.context_chars) for i in items]
        texts = [[first for first, _ in framed]]
        if self.config.framing != "utterance":
            texts.append([second for _, second in framed])
        return self.tokenizer(*texts, truncation="longest_first",
                              max_length=self.config.max_length, **options)

    def batches(
        self, items: Sequence[ClassifierInput], batch_size: int
    ) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """``(positions in items, numpy inputs)`` per batch. Each input is tokenised once and
        padded up to a multiple of :data:`PAD_MULTIPLE` tokens, and a batch holds inputs of
        one such width: little padding, and only ``max_length / PAD_MULTIPLE`` shapes recur
        however many utterances are scored (each new shape costs the kernels time and
        memory). Inputs are tokenised and grouped in windows of :data:`TOKENISE_WINDOW`, so
        that a call over any number of inputs holds the tokens of one window at a time."""
        for first in range(0, len(items), TOKENISE_WINDOW):
            encoded = self._tokenise(items[first : first + TOKENISE_WINDOW])
            for idx, batch in self._by_width(encoded, batch_size):
                yield [first + i for i in idx], batch

    def _by_width(
        self, encoded: Any, batch_size: int
    ) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """Batches of one padded width from a tokeniser's output (see :meth:`batches`)."""
        names = [n for n in ("input_ids", "token_type_ids", "attention_mask") if n in encoded]
        ids = encoded["input_ids"]
        width = [min(-(-len(row) // PAD_MULTIPLE) * PAD_MULTIPLE, self.config.max_length)
                 for row in ids]
        order = sorted(range(len(ids)), key=lambda i: (width[i], len(ids[i])))
        pad = {"input_ids": self.tokenizer.pad_token_id or 0}
        left = self.tokenizer.padding_side == "left"
        start = 0
        while start < len(order):
            w = width[order[start]]
            end = start
            while end < len(order) and end - start < batch_size and width[order[end]] == w:
                end += 1
            idx = order[start:end]
            batch = {n: np.full((len(idx), w), pad.get(n, 0), dtype=np.int64) for n in names}
            for row, i in enumerate(idx):
                n_tokens = len(ids[i])
                cols = slice(w - n_tokens, w) if left else slice(0, n_tokens)
                for n in names:
                    batch[n][row, cols] = encoded[n][i]
            yield idx, batch
            start = end

    def logits(self, items: Sequence[ClassifierInput], *, batch_size: int = 64) -> np.ndarray:
        """Raw logits, shape ``(len(items), len(labels))``; inputs are batched by token count
        (:meth:`batches`)."""
        import torch

        out = np.zeros((len(items), len(self.labels)), dtype=np.float32)
        if not items:
            return out
        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if self.precision == "bfloat16" else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            for n, (idx, batch) in enumerate(self.batches(items, batch_size), 1):
                tensors = {name: torch.from_numpy(value) for name, value in batch.items()}
                out[idx] = self.model(**tensors).logits.float().numpy()
                if n % RELEASE_EVERY == 0:
                    _release_memory()
        _release_memory()
        return out

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from logits (per-label Platt scaling)."""
        return platt(logits, self.config.calibration, self.labels)

    def predict_proba(
        self, items: Sequence[ClassifierInput], *, batch_size: int = 64
    ) -> np.ndarray:
        """Calibrated probabilities, shape ``(len(items), len(labels))``."""
        return self.calibrate(self.logits(items, batch_size=batch_size))

    def decide(self, probs: np.ndarray) -> np.ndarray:
        """Boolean labels from calibrated probabilities and the per-label thresholds."""
        thresholds = np.array([self.config.thresholds[label] for label in self.labels])
        return probs >= thresholds

    def predict(
        self, items: Sequence[ClassifierInput] | Sequence[str], *, role: str = "unknown",
        batch_size: int = 64,
    ) -> list[dict[str, Any]]:
        """Probabilities and labels for each input. Plain strings are utterances said by a
        speaker of ``role`` with no previous turn; the model reads the role, so give it
        (``clinician`` for responding labels, ``patient`` for cues): an utterance of
        ``unknown`` role gets low probabilities.

        Returns:
            One dict per input: ``{"labels": [...], "probabilities": {label: p}}``.
        """
        inputs = [i if isinstance(i, ClassifierInput) else ClassifierInput(i, role)
                  for i in items]
        probs = self.predict_proba(inputs, batch_size=batch_size)
        decided = self.decide(probs)
        return [
            {
                "labels": [label for label, on in zip(self.labels, row_on, strict=True) if on],
                "probabilities": {
                    label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)
                },
            }
            for row, row_on in zip(probs, decided, strict=True)
        ]

    def save_pretrained(self, path: str | Path, *, half: bool = True) -> None:
        """Write the model folder (weights as float16 safetensors when ``half``)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model = self.model
        if half:
            import copy

            model = copy.deepcopy(model).half()
        model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        self.config.save(path)
