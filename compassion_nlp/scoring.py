"""Scoring transcripts end to end: read → segment → roles → classify → link → score → highlight.

>>> from compassion_nlp import load
>>> scorer = load()                                   # the shipped model, offline
>>> enc = scorer("consultation.vtt")                  # a path, an Encounter, or text
>>> enc.compassion.value, len(enc.missed_opportunities)
>>> enc.utterances_df().head()
>>> for enc in scorer.pipe(["transcripts/"], batch_size=64):
...     print(enc.id, enc.compassion.value)
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends import check_backend, load_classifier
from .classifier import ClassifierInput, UtteranceClassifier
from .config import DEFAULT_CONFIG, ScoringConfig
from .decoding import DEFAULT_MAX_MB
from .errors import CompassionError, Errors, check_option
from .highlights import Highlight, highlights
from .linking import CueLink, link_cues
from .measures import CompassionScore, compassion_score
from .model import Encounter, Role, Setting
from .pipeline import prepare_one, read, read_ahead, read_sources, read_string
from .readers import Source, discover
from .segment import segmenter
from .tables import (
    cues_frame,
    encounter_row,
    highlights_frame,
    speakers_frame,
    utterances_frame,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("compassion_nlp")

#: the model shipped with the package (``models/`` in the repository)
DEFAULT_MODEL = "compassion-minilm"
#: utterances gathered across encounters before the classifier runs, per ``batch_size``
PENDING_BATCHES = 16


#: the names :func:`model_path` knows, and the folders under ``models/`` they stand for
MODEL_NAMES = {"default": DEFAULT_MODEL, "fast": "compassion-minilm-fast",
               "accurate": "compassion-mpnet"}


def default_model_path() -> Path:
    """Where the shipped model is: ``$COMPASSION_NLP_MODEL``, the installed package data, or
    the repository's ``models/`` folder (editable installs)."""
    env = os.environ.get("COMPASSION_NLP_MODEL")
    if env:
        return Path(env)
    return _named_model("default")


def model_path(model: str | Path | None = None) -> Path:
    """The model folder for ``model``: a folder as given, or a name of :data:`MODEL_NAMES`
    (``None`` or ``"default"``: the shipped model; ``"fast"``: the shipped 3-layer model, about
    twice as fast and less accurate; ``"accurate"``: the MPNet model, about 16× slower on 2
    cores, when it is installed). An existing folder wins over a name.

    Raises:
        CompassionError: E021 when a named model is not installed.
    """
    if model is not None and (Path(model).exists() or str(model) not in MODEL_NAMES):
        return Path(model)
    if model is None or str(model) == "default":
        return default_model_path()
    return _named_model(str(model))


def _named_model(name: str) -> Path:
    folder = MODEL_NAMES[name]
    here = Path(__file__).resolve().parent
    for candidate in (here / "models" / folder, here.parent / "models" / folder):
        if (candidate / "config.json").is_file():
            return candidate
    raise CompassionError(Errors.E021, name=name, folder=folder)


@dataclass
class ScoredEncounter:
    """An encounter with its utterance predictions and everything derived from them.

    Attributes:
        encounter: the segmented encounter with roles.
        probabilities: calibrated probabilities, ``(utterances, labels)``.
        decided: boolean labels at the model's thresholds.
        cues: every CUE of an expressing speaker, linked to its response.
        compassion: the compassion score (``.value``, 0–100) and its components.
        highlights: exemplary moments and missed opportunities with suggestions.
    """

    encounter: Encounter
    probabilities: np.ndarray
    decided: np.ndarray
    cues: list[CueLink]
    compassion: CompassionScore
    highlights: list[Highlight] = field(default_factory=list)

    @property
    def score(self) -> CompassionScore:
        """Deprecated: :attr:`compassion` (``enc.compassion.value`` is the 0–100 number)."""
        warnings.warn("ScoredEncounter.score is deprecated; use .compassion",
                      DeprecationWarning, stacklevel=2)
        return self.compassion

    @property
    def id(self) -> str:
        """The encounter id."""
        return self.encounter.id

    @property
    def missed_opportunities(self) -> list[Highlight]:
        """The missed cue episodes, each with what followed and a suggestion."""
        return [h for h in self.highlights if h.kind == "missed"]

    @property
    def exemplary(self) -> list[Highlight]:
        """The best compassionate moments."""
        return [h for h in self.highlights if h.kind == "exemplary"]

    def utterances_df(self) -> pd.DataFrame:
        """One row per utterance: the read columns plus ``p_<label>`` and ``<label>``."""
        return utterances_frame([self])

    def cues_df(self) -> pd.DataFrame:
        """One row per cue (see the README for the columns)."""
        return cues_frame([self])

    @cached_property
    def _encounter_row(self) -> dict[str, Any]:
        return encounter_row(self.encounter, self.decided, self.cues, self.compassion)

    def encounter_row(self) -> dict[str, Any]:
        """The encounter's row of the ``encounters`` table."""
        return dict(self._encounter_row)

    def speakers_df(self) -> pd.DataFrame:
        """One row per speaker."""
        return speakers_frame([self])

    def highlights_df(self) -> pd.DataFrame:
        """One row per highlight (flattened)."""
        return highlights_frame([self])


def classifier_inputs(encounter: Encounter) -> list[ClassifierInput]:
    """One classifier input per utterance: its role, and the previous turn of someone else."""
    inputs: list[ClassifierInput] = []
    previous_text, previous_role = "", ""
    last_speaker = None
    for turn in encounter.turns:
        role = encounter.speakers[turn.speaker].role
        for utt in turn.utterances:
            inputs.append(ClassifierInput(utt.text, role, previous_text, previous_role))
        if turn.speaker != last_speaker:
            previous_text, previous_role = turn.text, role
            last_speaker = turn.speaker
    return inputs


class Scorer:
    """Loads once, then scores one transcript or streams over many (like spaCy's ``nlp``).

    Args:
        classifier: the utterance classifier.
        roles: explicit speaker → role mapping applied to every transcript.
        setting: force ``clinical`` or ``meeting``.
        max_mb: larger files are refused.
        config: the scoring settings (cue window, weights, segmenter thresholds…).
        single_speaker: with ``format="text"``, text without speaker labels is one
            ``UNKNOWN`` speaker's talk (else E005).
    """

    def __init__(
        self,
        classifier: UtteranceClassifier,
        *,
        roles: Mapping[str, Role] | None = None,
        setting: Setting | None = None,
        max_mb: float = DEFAULT_MAX_MB,
        config: ScoringConfig = DEFAULT_CONFIG,
        single_speaker: bool = False,
    ):
        self.classifier = classifier
        self.roles = dict(roles or {})
        self.setting = setting
        self.max_mb = max_mb
        self.config = config
        self.single_speaker = single_speaker
        #: how to load this scorer again in another process (set by :func:`load`)
        self.spec: ScorerSpec | None = None

    def __call__(
        self, source: str | Path | Encounter, *, format: str | None = None
    ) -> ScoredEncounter:
        """Score one transcript: a path, an :class:`Encounter`, or transcript text.

        Text is recognised when ``format`` is given and ``source`` is not an existing file, or
        when it has several lines. A file that holds several encounters (a CSV of dialogues)
        raises an error: use :meth:`pipe`.

        Example:
            >>> scorer("Doctor: How are you?\\nPatient: I'm really worried.", format="text")
        """
        encounters = self._read(source, format=format)
        if len(encounters) != 1:
            # name the file, or the encounter of a text, never the text itself
            where = source if isinstance(source, Path) else encounters[0].id if encounters \
                else "text"
            raise CompassionError(Errors.E022, where, n=len(encounters))
        return self.score_encounters(encounters)[0]

    def _read(self, source: str | Path | Encounter, *, format: str | None) -> list[Encounter]:
        if isinstance(source, Encounter):
            return [prepare_one(source, roles=self.roles, setting=self.setting,
                                config=self.config)]
        if isinstance(source, str) and ("\n" in source or (format and not Path(source).exists())):
            return read_string(source, format=format or "text", roles=self.roles,
                               setting=self.setting, config=self.config)
        return read(source, format=format, roles=self.roles, setting=self.setting,
                    max_mb=self.max_mb, config=self.config, single_speaker=self.single_speaker)

    def score_encounters(
        self, encounters: list[Encounter], *, batch_size: int = 64
    ) -> list[ScoredEncounter]:
        """Classify the utterances of several encounters in one pass, then score each."""
        inputs: list[ClassifierInput] = []
        bounds = []
        for enc in encounters:
            items = classifier_inputs(enc)
            bounds.append((len(inputs), len(inputs) + len(items)))
            inputs.extend(items)
        probs = self.classifier.predict_proba(inputs, batch_size=batch_size)
        decided = self.classifier.decide(probs)
        out = []
        for enc, (lo, hi) in zip(encounters, bounds, strict=True):
            p, d = probs[lo:hi], decided[lo:hi]
            links = link_cues(enc, d, window=self.config.cue_window)
            out.append(ScoredEncounter(
                encounter=enc, probabilities=p, decided=d, cues=links,
                compassion=compassion_score(enc, d, links, config=self.config),
                highlights=highlights(enc, p, d, links, top=self.config.top_exemplary),
            ))
        return out

    def pipe(
        self,
        sources: Iterable[str | Path | Source | Encounter],
        *,
        format: str | None = None,
        batch_size: int = 64,
        errors: list[tuple[str, CompassionError]] | None = None,
        keep: Callable[[Encounter], bool] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        on_read: Callable[[Source, list[Encounter]], None] | None = None,
    ) -> Iterator[ScoredEncounter]:
        """Score many transcripts (files, folders, sources, encounters), yielding as they are
        done; utterances are classified in batches across encounters.

        Args:
            sources: paths (folders are read recursively), :class:`~.readers.Source` objects
                from :func:`~.readers.discover`, or encounters.
            batch_size: utterances per classifier batch.
            errors: when given, unreadable sources are appended here as (id, error) and the
                stream goes on; otherwise the first error is raised.
            keep: encounters for which it returns false are read but not scored.
            progress: called as ``progress(done, total, source_id)`` after each source read.
            on_read: called as ``on_read(source, encounters)`` after each source is read and
                ``keep`` has seen its encounters, before any of them is yielded (sources are
                read, and their encounters yielded, in the order given).
        """
        for group in self.pipe_groups(sources, format=format, batch_size=batch_size,
                                      errors=errors, keep=keep, progress=progress,
                                      on_read=on_read):
            yield from group

    def pipe_groups(
        self,
        sources: Iterable[str | Path | Source | Encounter],
        *,
        format: str | None = None,
        batch_size: int = 64,
        errors: list[tuple[str, CompassionError]] | None = None,
        keep: Callable[[Encounter], bool] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        on_read: Callable[[Source, list[Encounter]], None] | None = None,
    ) -> Iterator[list[ScoredEncounter]]:
        """:meth:`pipe` in the groups of consecutive encounters classified together (a batch
        run builds each table's rows once per group, not once per encounter)."""
        paths: list[str | Path] = []
        found: list[Source] = []
        for source in sources:
            if isinstance(source, Encounter):
                yield self.score_encounters(
                    [prepare_one(source, roles=self.roles, setting=self.setting,
                                 config=self.config)],
                    batch_size=batch_size,
                )
            elif isinstance(source, Source):
                found.append(source)
            else:
                paths.append(source)
        if paths:
            found.extend(discover(paths)[0])
        pending: list[Encounter] = []
        size = 0
        results = read_ahead(read_sources(
            found, format=format, roles=self.roles, setting=self.setting, max_mb=self.max_mb,
            config=self.config, single_speaker=self.single_speaker))
        for done, result in enumerate(results, 1):
            if result.error is not None:
                if errors is None:
                    raise result.error
                errors.append((result.source.encounter_id, result.error))
            for enc in result.encounters:
                if keep is not None and not keep(enc):
                    continue
                pending.append(enc)
                size += len(enc.view.utterances)
            if on_read is not None:
                on_read(result.source, result.encounters)
            if size >= batch_size * PENDING_BATCHES:
                yield self.score_encounters(pending, batch_size=batch_size)
                pending, size = [], 0
            if progress is not None:
                progress(done, len(found), result.source.encounter_id)
        if pending:
            yield self.score_encounters(pending, batch_size=batch_size)

    @cached_property
    def model_info(self) -> dict[str, Any]:
        """The model's id (:meth:`~.classifier.ClassifierConfig.fingerprint`), labels,
        thresholds and versions."""
        c = self.classifier.config
        info = {"id": c.fingerprint(), "labels": c.labels, "thresholds": c.thresholds,
                "framing": c.framing, "precision": self.classifier.precision,
                "versions": c.versions, "base_model": c.base_model, "card": c.card}
        backend = getattr(self.classifier, "backend", "torch")
        if backend != "torch":
            info["backend"] = backend
        if getattr(self.classifier, "recheck_margin", 0.0):
            info["int8_recheck_margin"] = self.classifier.recheck_margin
        return info


def load(
    path: str | Path | None = None,
    *,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    precision: str = "auto",
    threads: int | None = None,
    max_mb: float = DEFAULT_MAX_MB,
    config: ScoringConfig = DEFAULT_CONFIG,
    single_speaker: bool = False,
    backend: str = "torch",
) -> Scorer:
    """Load a model folder (default: the shipped model) into a :class:`Scorer`, offline.

    ``path`` is a folder or a name (:func:`model_path`): ``load("accurate")`` is the MPNet
    model once it is built into ``models/compassion-mpnet`` (training/README.md).

    ``precision`` is ``auto`` (bfloat16 on CPUs with native support, else float32),
    ``float32``, ``bfloat16`` or ``int8`` (see :meth:`UtteranceClassifier.from_pretrained`).
    ``backend="onnx"`` runs the model on ONNX Runtime (``float32``, the default, or ``int8``;
    see :mod:`compassion_nlp.backends`).

    Example:
        >>> scorer = load()
        >>> scorer.classifier.predict(["That sounds really frightening."], role="clinician")
    """
    spec = ScorerSpec(str(model_path(path)), backend=backend, precision=precision,
                      threads=threads, roles=tuple((roles or {}).items()), setting=setting,
                      max_mb=max_mb, config=config, single_speaker=single_speaker)
    return spec.load()


@dataclass(frozen=True)
class ScorerSpec:
    """Everything :func:`load` was given: a scorer can be loaded again from it in a worker
    process or on another machine (it is picklable and holds no model)."""

    model: str
    backend: str = "torch"
    precision: str = "auto"
    threads: int | None = None
    roles: tuple[tuple[str, Role], ...] = ()
    setting: Setting | None = None
    max_mb: float = DEFAULT_MAX_MB
    config: ScoringConfig = DEFAULT_CONFIG
    single_speaker: bool = False

    def check(self) -> None:
        """The option errors :func:`load` would raise, without loading anything."""
        check_option("threads", self.threads, integer=True)
        check_option("max_mb", self.max_mb)
        check_backend(self.backend, self.precision)

    def load(self, *, threads: int | None = None) -> Scorer:
        """Load the model and the segmentation pipeline and return the :class:`Scorer`
        (``threads`` overrides the spec's)."""
        self.check()
        classifier = load_classifier(self.model, backend=self.backend,
                                     precision=self.precision, threads=threads or self.threads)
        segmenter(self.config)  # built now (a third of a second), not on the first transcript
        scorer = Scorer(classifier, roles=dict(self.roles), setting=self.setting,
                        max_mb=self.max_mb, config=self.config,
                        single_speaker=self.single_speaker)
        scorer.spec = self
        return scorer

    def unloaded(self) -> Scorer:
        """A :class:`Scorer` whose classifier holds the model folder's settings but no weights:
        enough for ``model_info``, not for scoring (Ray actors load their own)."""
        self.check()
        scorer = Scorer(_Settings(self), roles=dict(self.roles), setting=self.setting,  # type: ignore[arg-type]
                        max_mb=self.max_mb, config=self.config,
                        single_speaker=self.single_speaker)
        scorer.spec = self
        return scorer


class _Settings:
    """The parts of a classifier that describe it (config, precision, backend), read from the
    model folder without loading the weights."""

    def __init__(self, spec: ScorerSpec):
        from .classifier import CONFIG_NAME, ClassifierConfig, resolve_precision

        path = Path(spec.model)
        if not (path / CONFIG_NAME).is_file():
            raise CompassionError(Errors.E034, path)
        self.config = ClassifierConfig.load(path)
        self.labels = tuple(self.config.labels)
        self.backend = spec.backend
        if spec.backend == "onnx":
            self.precision = "float32" if spec.precision == "auto" else spec.precision
        else:
            self.precision = resolve_precision(spec.precision)


@lru_cache(maxsize=2)
def _cached_classifier(path: str, precision: str, backend: str = "torch") -> UtteranceClassifier:
    return load_classifier(path, backend=backend, precision=precision)


def score(
    sources: str | Path | Encounter | Iterable[str | Path | Encounter],
    *,
    model: str | Path | None = None,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    precision: str = "auto",
    batch_size: int = 64,
    config: ScoringConfig = DEFAULT_CONFIG,
    backend: str = "torch",
) -> list[ScoredEncounter]:
    """Score transcripts in one call: paths (folders read recursively) or encounters.

    The model (default: the shipped one) is loaded on the first call and kept for the next
    ones. Every encounter found is returned; a source that cannot be read raises its
    :class:`CompassionError` (use :meth:`Scorer.pipe` with ``errors=`` to go on past it).

    Example:
        >>> from compassion_nlp import score
        >>> [consultation] = score("consultation.vtt")
        >>> consultation.compassion.value, consultation.missed_opportunities
    """
    if isinstance(sources, (str, Path, Encounter)):
        sources = [sources]
    path = str(model_path(model).resolve())
    check_backend(backend, precision)
    classifier = _cached_classifier(path, precision, backend)
    scorer = Scorer(classifier, roles=roles, setting=setting, config=config)
    return list(scorer.pipe(sources, format=format, batch_size=batch_size))
