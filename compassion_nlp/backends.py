"""Where the classifier runs: torch (default) or ONNX Runtime (``pip install
"compassion-nlp[onnx]"``).

:func:`load_classifier` picks the backend. The ONNX backend runs the same model folder: on first
use it is exported with ``torch.onnx.export``, its graph fused for CPU inference (attention,
layer norms, GELU: ``onnxruntime.transformers``), checked against the torch model on a fixed set
of inputs (E046 if they disagree), and for ``int8`` its weights quantised per channel with
``onnxruntime.quantization.quantize_dynamic``. The files are cached, keyed by the weights and the
library versions, in this order of places:

1. ``<model>/onnx/`` when it holds a matching export (:func:`export_onnx` writes it there, for a
   model folder copied to a cluster);
2. ``$COMPASSION_NLP_CACHE/onnx/`` (default ``$XDG_CACHE_HOME/compassion-nlp`` or
   ``~/.cache/compassion-nlp``); when it cannot be written, a temporary folder for this process
   (W008).

Each file is written under a temporary name and renamed into place, so workers that export at
the same time never read half a file. Tokenisation, batching by token count and calibration
are those of :class:`~compassion_nlp.classifier.UtteranceClassifier`: only the forward pass moves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .classifier import (
    CONFIG_NAME,
    RELEASE_EVERY,
    ClassifierConfig,
    ClassifierInput,
    UtteranceClassifier,
    _release_memory,
)
from .errors import CompassionError, Errors, Warnings, warn

BACKENDS: tuple[str, ...] = ("torch", "onnx")
#: precisions of the ONNX backend (``auto`` is ``float32``: the same labels as torch)
ONNX_PRECISIONS: tuple[str, ...] = ("auto", "float32", "int8")
#: bump when the export recipe changes: older cached files are then not used
EXPORT_VERSION = 1
ONNX_FOLDER = "onnx"
#: largest difference of a logit between torch and the exported float32 graph that passes
EXPORT_TOLERANCE = 1e-3
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: int8 labels are checked again in float32 for the utterances whose calibrated logit lies
#: within this distance of a label's threshold (chosen on the dev split by
#: ``evaluation/classifier/backends.py``: the smallest margin in steps of 0.1 with ≥ 99.9 % of
#: dev utterances labelled as float32 labels them)
RECHECK_MARGIN = 0.5


def load_classifier(
    path: str | Path, *, backend: str = "torch", precision: str = "auto",
    threads: int | None = None,
) -> UtteranceClassifier:
    """Load a model folder on ``backend`` (``torch`` or ``onnx``) at ``precision``.

    Raises:
        CompassionError: E045 for an unknown backend or a precision it does not run, E018 when
            the ONNX backend's packages are not installed.
    """
    if backend not in BACKENDS:
        raise CompassionError(Errors.E045, detail=f"unknown backend '{backend}'",
                              choices=", ".join(BACKENDS))
    if backend == "torch":
        return UtteranceClassifier.from_pretrained(path, precision=precision, threads=threads)
    return OnnxClassifier.from_pretrained(path, precision=precision, threads=threads)


def check_backend(backend: str, precision: str) -> None:
    """E045 unless ``backend`` runs ``precision`` (checked before anything is loaded)."""
    from .classifier import PRECISIONS

    if backend not in BACKENDS:
        raise CompassionError(Errors.E045, detail=f"unknown backend '{backend}'",
                              choices=", ".join(BACKENDS))
    if backend == "torch" and precision not in PRECISIONS:
        raise CompassionError(Errors.E017, name=precision, precisions=", ".join(PRECISIONS))
    if backend == "onnx" and precision not in ONNX_PRECISIONS:
        raise CompassionError(Errors.E045, detail=f"the onnx backend has no precision "
                              f"'{precision}'", choices=", ".join(ONNX_PRECISIONS))


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise CompassionError(Errors.E018, "--backend onnx", format="the onnx backend",
                              package="onnxruntime and onnx", extra="onnx") from None


def cache_root() -> Path:
    """``$COMPASSION_NLP_CACHE``, else ``$XDG_CACHE_HOME/compassion-nlp``, else
    ``~/.cache/compassion-nlp``."""
    env = os.environ.get("COMPASSION_NLP_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "compassion-nlp"


def export_key(model_dir: Path) -> str:
    """What an export depends on: the model's files and the exporting libraries' versions."""
    import onnxruntime
    import torch
    import transformers

    digest = hashlib.sha256(f"v{EXPORT_VERSION}|{torch.__version__}|{transformers.__version__}"
                            f"|{onnxruntime.__version__}".encode())
    for name in sorted(os.listdir(model_dir)):
        file = model_dir / name
        if file.is_file() and name != "README.md":
            digest.update(name.encode() + b"\0")
            with open(file, "rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _file_name(precision: str) -> str:
    return f"model.{precision}.onnx"


def _manifest_matches(folder: Path, key: str) -> bool:
    try:
        return json.loads((folder / "manifest.json").read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


def find_or_export(model_dir: str | Path, precision: str) -> Path:
    """The ONNX file of ``model_dir`` at ``precision`` (``float32`` or ``int8``), exported and
    cached on first use (see the module docstring for where)."""
    _require_onnx()
    model_dir = Path(model_dir)
    key = export_key(model_dir)
    shipped = model_dir / ONNX_FOLDER
    if (shipped / _file_name(precision)).is_file() and _manifest_matches(shipped, key):
        return shipped / _file_name(precision)
    folder = cache_root() / "onnx" / key
    if (folder / _file_name(precision)).is_file():
        return folder / _file_name(precision)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe.")  # noqa: SIM115
        probe.close()
    except OSError as exc:
        folder = Path(tempfile.mkdtemp(prefix="compassion-nlp-onnx-"))
        warn(Warnings.W008, cache_root(), detail=exc.strerror or type(exc).__name__,
             folder=folder)
    # the float32 graph is made on the way to int8: keep it too
    return export_onnx(model_dir, folder, precisions=("float32", precision), key=key)[precision]


def export_onnx(
    model_dir: str | Path, out: str | Path | None = None, *,
    precisions: Sequence[str] = ("float32", "int8"), key: str | None = None,
) -> dict[str, Path]:
    """Export ``model_dir`` to ONNX (fused, checked against torch; ``int8``: quantised) into
    ``out`` (default ``<model_dir>/onnx``, which :func:`find_or_export` then uses).

    Returns:
        The file of each precision.
    """
    _require_onnx()
    model_dir = Path(model_dir)
    if not (model_dir / CONFIG_NAME).is_file():
        raise CompassionError(Errors.E034, model_dir)
    out = Path(out) if out is not None else model_dir / ONNX_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    key = key or export_key(model_dir)
    for precision in precisions:
        if precision not in ("float32", "int8"):
            raise CompassionError(Errors.E045, detail=f"cannot export precision '{precision}'",
                                  choices="float32, int8")
    files: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        fused = _export_float32(model_dir, Path(tmp))
        made = {}
        if "int8" in precisions:
            made["int8"] = Path(tmp) / _file_name("int8")
            _quantise(fused, made["int8"])
        if "float32" in precisions:
            made["float32"] = fused
        for precision, file in made.items():  # renamed into place: whole or absent
            files[precision] = out / _file_name(precision)
            os.replace(file, files[precision])
    manifest = {"key": key, "export_version": EXPORT_VERSION,
                "files": sorted(p.name for p in out.glob("model.*.onnx"))}
    tmp_manifest = out / f".manifest.json.{os.getpid()}.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_manifest, out / "manifest.json")
    return files


def _verification_inputs(clf: UtteranceClassifier) -> dict[str, Any]:
    """A batch with padding, pairs and single segments, to compare torch and ONNX on."""
    items = [
        ClassifierInput("That sounds really frightening.", "clinician",
                        "I am so worried it might be cancer and nobody tells me anything.",
                        "patient"),
        ClassifierInput("ok", "patient"),
        ClassifierInput("What worries you most about going home on your own next week?",
                        "clinician", "I live alone.", "patient"),
        ClassifierInput("Thanks for flagging that, good point.", "leader"),
    ]
    return dict(clf.encode(items))


def _export_float32(model_dir: Path, tmp: Path) -> Path:
    """Export with ``torch.onnx.export``, fuse the graph, and check it against torch."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification

    clf = UtteranceClassifier.from_pretrained(model_dir, precision="float32")
    # eager attention exports the pattern that onnxruntime fuses into its Attention kernel
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32, attn_implementation="eager"
    ).eval()
    batch = _verification_inputs(clf)
    names = [n for n in _INPUTS if n in batch]

    class Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).logits

    raw = tmp / "raw.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logits(model), tuple(batch[n] for n in names), str(raw), input_names=names,
            output_names=["logits"], opset_version=17, dynamo=False,
            dynamic_axes={**{n: {0: "batch", 1: "sequence"} for n in names},
                          "logits": {0: "batch"}},
        )
    fused = tmp / _file_name("float32")
    _fuse(raw, fused, model.config)
    with torch.inference_mode():
        expected = clf.model(**batch).logits.numpy()
    session = ort.InferenceSession(str(fused), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {n: batch[n].numpy() for n in names})[0]
    difference = float(np.abs(got - expected).max())
    if not difference <= EXPORT_TOLERANCE:
        raise CompassionError(Errors.E046, model_dir, difference=difference,
                              tolerance=EXPORT_TOLERANCE)
    return fused


def _fuse(raw: Path, fused: Path, config: Any) -> None:
    """Fuse attention, layer norms and GELU for BERT-like encoders; others are kept as they
    are (onnxruntime still applies its generic graph optimisations when loading)."""
    if getattr(config, "model_type", "") not in ("bert", "roberta", "xlm-roberta"):
        os.replace(raw, fused)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimized = optimize_model(str(raw), model_type="bert",
                                   num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size, opt_level=1)
        optimized.save_model_to_file(str(fused))


def _quantise(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights, per output channel."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    previous = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(max(previous, logging.WARNING))  # its advice goes to the root logger
        try:
            quantize_dynamic(str(source), str(target), per_channel=True,
                             weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            logging.disable(previous)


class OnnxClassifier(UtteranceClassifier):
    """:class:`~compassion_nlp.classifier.UtteranceClassifier` with the forward pass on ONNX
    Runtime (the same tokeniser, batching, calibration and thresholds).

    Example:
        >>> clf = OnnxClassifier.from_pretrained("models/compassion-minilm", precision="int8")
    """

    backend = "onnx"

    def __init__(self, session: Any, tokenizer: Any, config: ClassifierConfig, *,
                 precision: str, file: Path, recheck: Any = None,
                 recheck_margin: float = 0.0):
        self.model = None
        self.session = session
        #: the float32 session that relabels int8's utterances near a threshold (or None)
        self.recheck = recheck
        self.recheck_margin = recheck_margin
        self.tokenizer = tokenizer
        self.config = config
        self.labels = tuple(config.labels)
        self.precision = precision  # type: ignore[assignment]
        self.file = file
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls, path: str | Path, *, precision: str = "auto", threads: int | None = None,
        recheck_margin: float = RECHECK_MARGIN,
    ) -> OnnxClassifier:
        """Load a model folder on ONNX Runtime (exported and cached on first use).

        Args:
            precision: ``float32`` (``auto``: the torch model's labels) or ``int8`` (weights
                quantised per channel: faster; the utterances it puts near a threshold are
                labelled again in float32, see ``recheck_margin``).
            threads: intra-op threads (default: ONNX Runtime's choice, the physical cores).
            recheck_margin: for ``int8``, the distance (in calibrated logits) from a threshold
                within which an utterance is run again in float32; ``0``: never (fastest, and
                about 2 % of utterances get another label; see the README).
        """
        if recheck_margin < 0:
            raise CompassionError(
                Errors.E045, detail=f"recheck_margin must be 0 or more, not {recheck_margin}",
                choices="0 (no recheck) or a positive margin such as 0.5")
        check_backend("onnx", precision)
        _require_onnx()
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from .classifier import quiet_transformers
        from .model import LABELS

        quiet_transformers()
        path = Path(path)
        if not (path / CONFIG_NAME).is_file() or not (path / "config.json").is_file():
            raise CompassionError(Errors.E034, path)
        config = ClassifierConfig.load(path)
        if tuple(config.labels) != LABELS:
            raise CompassionError(
                Errors.E019, path, found=", ".join(config.labels), expected=", ".join(LABELS)
            )
        chosen = "float32" if precision == "auto" else precision
        file = find_or_export(path, chosen)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # idle threads sleep instead of spinning: reading and segmenting run beside the model
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        recheck = None
        if chosen == "int8" and recheck_margin > 0:
            recheck = ort.InferenceSession(str(find_or_export(path, "float32")), options,
                                           providers=["CPUExecutionProvider"])
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return cls(session, tokenizer, config, precision=chosen, file=file, recheck=recheck,
                   recheck_margin=recheck_margin if recheck is not None else 0.0)

    def logits(self, items: Sequence[ClassifierInput], *, batch_size: int = 64) -> np.ndarray:
        """Raw logits, shape ``(len(items), len(labels))`` (see :meth:`batches`). With
        a float32 recheck, the rows int8 puts near a threshold are float32's."""
        out = self._forward(self.session, items, batch_size)
        if self.recheck is not None and len(items):
            rows = np.flatnonzero(self.near_threshold(out))
            if len(rows):
                out[rows] = self._forward(self.recheck, [items[i] for i in rows], batch_size)
        return out

    def near_threshold(self, logits: np.ndarray, margin: float | None = None) -> np.ndarray:
        """Which rows have a calibrated logit within ``margin`` (default ``recheck_margin``)
        of a threshold."""
        margin = self.recheck_margin if margin is None else margin
        a = np.array([self.config.calibration[label][0] for label in self.labels])
        b = np.array([self.config.calibration[label][1] for label in self.labels])
        t = np.clip([self.config.thresholds[label] for label in self.labels], 1e-6, 1 - 1e-6)
        return (np.abs(logits * a + b - np.log(t / (1 - t))) < margin).any(axis=1)

    def _forward(self, session: Any, items: Sequence[ClassifierInput],
                 batch_size: int) -> np.ndarray:
        out = np.zeros((len(items), len(self.labels)), dtype=np.float32)
        if not items:
            return out
        for n, (idx, batch) in enumerate(self.batches(items, batch_size), 1):
            feed = {name: batch[name] for name in self._inputs}
            out[idx] = session.run(["logits"], feed)[0]
            if n % RELEASE_EVERY == 0:
                _release_memory()
        _release_memory()
        return out

    def save_pretrained(self, path: str | Path, *, half: bool = True) -> None:
        """Not available: save from the torch model (``load(backend="torch")``)."""
        raise CompassionError(Errors.E045, detail="the onnx backend cannot save a model folder",
                              choices="torch")
