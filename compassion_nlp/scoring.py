"""Scoring transcripts end to end: read → segment → roles → classify → link → score → highlight.

>>> from compassion_nlp import load
>>> scorer = load()                                   # the shipped model, offline
>>> enc = scorer("consultation.vtt")                  # a path, an Encounter, or text
>>> enc.score.score, len(enc.missed_opportunities)
>>> enc.utterances_df().head()
>>> for enc in scorer.pipe(["transcripts/"], batch_size=64):
...     print(enc.id, enc.score.score)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .classifier import LABELS, ClassifierInput, UtteranceClassifier
from .decoding import DEFAULT_MAX_MB
from .errors import CompassionError
from .highlights import Highlight, highlights
from .linking import CueLink, link_cues
from .measures import CompassionScore, compassion_score, encounter_row, speaker_rows
from .model import Encounter, Role, Setting, utterances_dataframe

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("compassion_nlp")

#: the model shipped with the package (``models/`` in the repository)
DEFAULT_MODEL = "compassion-minilm"

PROBABILITY_COLUMNS = tuple(f"p_{label.lower()}" for label in LABELS)
LABEL_COLUMNS = tuple(label.lower() for label in LABELS)


def default_model_path() -> Path:
    """Where the shipped model is: ``$COMPASSION_NLP_MODEL``, the installed package data, or
    the repository's ``models/`` folder (editable installs)."""
    env = os.environ.get("COMPASSION_NLP_MODEL")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "models" / DEFAULT_MODEL, here.parent / "models" / DEFAULT_MODEL):
        if (candidate / "config.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"The shipped model '{DEFAULT_MODEL}' was not found next to the package or in "
        "models/. Reinstall compassion-nlp, or pass load(path) / set COMPASSION_NLP_MODEL."
    )


@dataclass
class ScoredEncounter:
    """An encounter with its utterance predictions and everything derived from them.

    Attributes:
        encounter: the segmented encounter with roles.
        probabilities: calibrated probabilities, ``(utterances, labels)``.
        decided: boolean labels at the model's thresholds.
        cues: every CUE of an expressing speaker, linked to its response.
        score: the compassion score and its components.
        highlights: exemplary moments and missed opportunities with suggestions.
    """

    encounter: Encounter
    probabilities: np.ndarray
    decided: np.ndarray
    cues: list[CueLink]
    score: CompassionScore
    highlights: list[Highlight] = field(default_factory=list)

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
        frame = utterances_dataframe([self.encounter])
        for j, column in enumerate(PROBABILITY_COLUMNS):
            frame[column] = self.probabilities[:, j].round(4) if len(frame) else []
        for j, column in enumerate(LABEL_COLUMNS):
            frame[column] = self.decided[:, j] if len(frame) else []
        return frame

    def cues_df(self) -> pd.DataFrame:
        """One row per cue (see the README for the columns)."""
        import pandas as pd

        utterances = self.encounter.utterances
        rows = [
            {
                "encounter_id": self.id,
                "utterance_id": link.utterance_id,
                "turn_id": link.turn_id,
                "speaker": self.encounter.speakers[link.speaker].name,
                "source_line": utterances[link.cue_index].source_line,
                "start": utterances[link.cue_index].start,
                "p_cue": round(float(self.probabilities[link.cue_index, LABELS.index("CUE")]), 4),
                "episode": link.episode,
                "responded": link.responded,
                "response_utterance_id": link.response_utterance_id,
                "response_labels": "|".join(link.response_labels),
                "latency_turns": link.latency_turns,
                "latency_seconds": link.latency_seconds,
                "raised_again": link.raised_again,
            }
            for link in self.cues
        ]
        frame = pd.DataFrame(rows, columns=CUE_COLUMNS)
        for column in ("source_line", "latency_turns"):
            frame[column] = frame[column].astype("Int64")
        for column in ("start", "latency_seconds"):
            frame[column] = frame[column].astype("float64")
        return frame

    def encounter_row(self) -> dict[str, Any]:
        """The encounter's row of the ``encounters`` table."""
        return encounter_row(self.encounter, self.decided, self.cues, self.score)

    def speakers_df(self) -> pd.DataFrame:
        """One row per speaker."""
        import pandas as pd

        return pd.DataFrame(speaker_rows(self.encounter, self.decided, self.cues))

    def highlights_df(self) -> pd.DataFrame:
        """One row per highlight (flattened)."""
        import pandas as pd

        return pd.DataFrame([_flat_highlight(self.id, h) for h in self.highlights],
                            columns=HIGHLIGHT_COLUMNS)


CUE_COLUMNS = (
    "encounter_id", "utterance_id", "turn_id", "speaker", "source_line", "start", "p_cue",
    "episode", "responded", "response_utterance_id", "response_labels", "latency_turns",
    "latency_seconds", "raised_again",
)
HIGHLIGHT_COLUMNS = (
    "encounter_id", "kind", "rank", "utterance_id", "turn_id", "speaker", "role", "start", "end",
    "source_line", "text", "labels", "probability", "cue_utterance_id", "cue_text",
    "followed_by_utterance_id", "followed_by_text", "cue_kind", "suggestion",
)


def _flat_highlight(encounter_id: str, h: Highlight) -> dict[str, Any]:
    m = h.moment
    return {
        "encounter_id": encounter_id, "kind": h.kind, "rank": h.rank,
        "utterance_id": m.utterance_id, "turn_id": m.turn_id, "speaker": m.speaker,
        "role": m.role, "start": m.start, "end": m.end, "source_line": m.source_line,
        "text": m.text, "labels": "|".join(h.labels), "probability": h.probability,
        "cue_utterance_id": h.cue.utterance_id if h.cue else None,
        "cue_text": h.cue.text if h.cue else None,
        "followed_by_utterance_id": h.followed_by.utterance_id if h.followed_by else None,
        "followed_by_text": h.followed_by.text if h.followed_by else None,
        "cue_kind": h.cue_kind, "suggestion": h.suggestion,
    }


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
    """

    def __init__(
        self,
        classifier: UtteranceClassifier,
        *,
        roles: Mapping[str, Role] | None = None,
        setting: Setting | None = None,
        max_mb: float = DEFAULT_MAX_MB,
    ):
        self.classifier = classifier
        self.roles = dict(roles or {})
        self.setting = setting
        self.max_mb = max_mb

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
            raise ValueError(
                f"{source!s:.80}: holds {len(encounters)} encounters; use scorer.pipe([...])."
            )
        return self.score_encounters(encounters)[0]

    def _read(self, source: str | Path | Encounter, *, format: str | None) -> list[Encounter]:
        from .readers import read, read_string

        if isinstance(source, Encounter):
            return [self._prepare(source)]
        if isinstance(source, str) and ("\n" in source or (format and not Path(source).exists())):
            return read_string(source, format=format or "text", roles=self.roles,
                               setting=self.setting)
        return read(source, format=format, roles=self.roles, setting=self.setting,
                    max_mb=self.max_mb)

    def _prepare(self, encounter: Encounter) -> Encounter:
        """Roles and utterances for an encounter built in code, when it lacks them."""
        from .roles import assign_roles
        from .segment import segment

        if self.roles or any(s.role == "unknown" for s in encounter.speakers.values()):
            encounter = assign_roles(encounter, mapping=self.roles, setting=self.setting)
        if any(t.text and not t.utterances for t in encounter.turns):
            encounter = segment(encounter)
        return encounter

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
            links = link_cues(enc, d)
            out.append(ScoredEncounter(
                encounter=enc, probabilities=p, decided=d, cues=links,
                score=compassion_score(enc, d, links), highlights=highlights(enc, p, d, links),
            ))
        return out

    def pipe(
        self,
        sources: Iterable[str | Path | Encounter],
        *,
        format: str | None = None,
        batch_size: int = 64,
        errors: list[tuple[str, CompassionError]] | None = None,
    ) -> Iterator[ScoredEncounter]:
        """Score many transcripts (files, folders, encounters), yielding as they are done.

        Args:
            sources: paths (folders are read recursively) or encounters.
            batch_size: utterances per classifier batch.
            errors: when given, unreadable sources are appended here as (id, error) and the
                stream goes on; otherwise the first error is raised.
        """
        from .readers import discover, read_paths

        paths = []
        for source in sources:
            if isinstance(source, Encounter):
                yield from self.score_encounters([self._prepare(source)], batch_size=batch_size)
            else:
                paths.append(source)
        if not paths:
            return
        found, _ = discover(paths)
        pending: list[Encounter] = []
        size = 0
        for result in read_paths([], format=format, roles=self.roles, setting=self.setting,
                                 max_mb=self.max_mb, sources=found):
            if result.error is not None:
                if errors is None:
                    raise result.error
                errors.append((result.source.encounter_id, result.error))
                continue
            for enc in result.encounters:
                pending.append(enc)
                size += len(enc.utterances)
                if size >= batch_size * 8:
                    yield from self.score_encounters(pending, batch_size=batch_size)
                    pending, size = [], 0
        if pending:
            yield from self.score_encounters(pending, batch_size=batch_size)

    @cached_property
    def model_info(self) -> dict[str, Any]:
        """The model's labels, thresholds and versions."""
        c = self.classifier.config
        return {"labels": c.labels, "thresholds": c.thresholds, "framing": c.framing,
                "precision": self.classifier.precision, "versions": c.versions,
                "base_model": c.base_model}


def load(
    path: str | Path | None = None,
    *,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    precision: str = "auto",
    threads: int | None = None,
    max_mb: float = DEFAULT_MAX_MB,
) -> Scorer:
    """Load a model folder (default: the shipped model) into a :class:`Scorer`, offline.

    ``precision`` is ``auto`` (bfloat16 on CPUs with native support, else float32),
    ``float32``, ``bfloat16`` or ``int8`` (see :meth:`UtteranceClassifier.from_pretrained`).

    Example:
        >>> scorer = load()
        >>> scorer.classifier.predict(["That sounds really frightening."])
    """
    classifier = UtteranceClassifier.from_pretrained(
        path or default_model_path(), precision=precision, threads=threads
    )
    return Scorer(classifier, roles=roles, setting=setting, max_mb=max_mb)


@lru_cache(maxsize=2)
def _cached_classifier(path: str, precision: str) -> UtteranceClassifier:
    return UtteranceClassifier.from_pretrained(path, precision=precision)


def score(
    sources: str | Path | Encounter | Iterable[str | Path | Encounter],
    *,
    model: str | Path | None = None,
    format: str | None = None,
    roles: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
    precision: str = "auto",
    batch_size: int = 64,
) -> list[ScoredEncounter]:
    """Score transcripts in one call: paths (folders read recursively) or encounters.

    The model (default: the shipped one) is loaded on the first call and kept for the next
    ones. Every encounter found is returned; a source that cannot be read raises its
    :class:`CompassionError` (use :meth:`Scorer.pipe` with ``errors=`` to go on past it).

    Example:
        >>> from compassion_nlp import score
        >>> [consultation] = score("consultation.vtt")
        >>> consultation.score.score, consultation.missed_opportunities
    """
    if isinstance(sources, (str, Path, Encounter)):
        sources = [sources]
    path = str(Path(model or default_model_path()).resolve())
    classifier = _cached_classifier(path, precision)
    scorer = Scorer(classifier, roles=roles, setting=setting)
    return list(scorer.pipe(sources, format=format, batch_size=batch_size))
