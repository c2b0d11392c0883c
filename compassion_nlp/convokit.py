"""ConvoKit: score the conversations of a ConvoKit ``Corpus`` and write the results back as
metadata, following ConvoKit's ``Transformer`` convention (``fit`` / ``transform``).

Each conversation becomes an encounter (its utterances in chronological order; a speaker's role
from the speaker's metadata, else inferred as for any transcript; a meeting when a speaker is a
leader or staff member). After ``transform``:

- every utterance has ``compassion_labels`` (the labels of any of its sentences),
  ``compassion_probabilities`` (per label, the highest of its sentences), ``compassion_role``
  and ``compassion_sentences`` (per sentence: text span id, labels, probabilities);
- every conversation has ``compassion_score``, ``compassion_components``,
  ``compassion_cue_episodes``, ``compassion_missed_opportunities`` and
  ``compassion_response_rate`` (NaN where undefined), or ``compassion_error`` (an error code,
  never text) when it could not be scored — the other conversations go on.

Needs the optional extra ``convokit`` (``pip install "compassion-nlp[convokit]"``).

Example:
    >>> from convokit import Corpus, download          # doctest: +SKIP
    >>> from compassion_nlp.convokit import CompassionTransformer
    >>> corpus = CompassionTransformer().fit_transform(Corpus("my-corpus"))  # doctest: +SKIP
    >>> corpus.get_conversation("c1").meta["compassion_score"]               # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .config import DEFAULT_CONFIG, ScoringConfig
from .errors import CompassionError, Errors
from .lexicon import lexicon_role
from .model import LABELS, ROLES, Encounter, Role, Setting
from .pipeline import prepare_one
from .readers.base import Fragment, RawTranscript, build
from .scoring import Scorer, load

logger = logging.getLogger("compassion_nlp")

try:
    from convokit import Transformer as _Transformer
except ImportError:  # the extra is not installed: the class below says how to get it
    _Transformer = object  # type: ignore[assignment,misc]


def _role(value: Any) -> Role | None:
    """A role from speaker metadata: a role name, or a word such as ``doctor`` or ``client``."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().lower()
    if word in ROLES:
        return word  # type: ignore[return-value]
    found = lexicon_role(word)
    return found[0] if found else None


def conversation_to_encounter(
    conversation: Any, *, role_field: str = "role", setting: Setting | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> tuple[Encounter, list[Any]]:
    """An encounter (roles and sentences) from a ConvoKit conversation, and the ConvoKit
    utterances in the order used (the encounter's ``source_line`` n is utterance n)."""
    utterances = list(conversation.get_chronological_utterance_list())
    times = [u.timestamp for u in utterances]
    timed = all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times)
    first = min(times) if timed and times else 0
    fragments = [Fragment(str(u.speaker.id), u.text or "", i + 1,
                          float(u.timestamp - first) if timed else None)
                 for i, u in enumerate(utterances)]
    hints: dict[str, tuple[Role, float]] = {}
    for u in utterances:
        role = _role(u.speaker.meta.get(role_field)) if u.speaker.meta else None
        if role is not None:
            hints[str(u.speaker.id)] = (role, 1.0)
    if setting is None and any(r in ("leader", "staff") for r, _ in hints.values()):
        setting = "meeting"
    raw = RawTranscript(fragments, setting=setting, role_hints=hints,
                        metadata={"format": "convokit"})
    encounter = build(raw, path=f"convokit/{conversation.id}", encounter_id=str(conversation.id))
    return prepare_one(encounter, setting=setting, config=config), utterances


class CompassionTransformer(_Transformer):  # type: ignore[misc,valid-type]
    """A ConvoKit ``Transformer`` that scores each conversation and annotates the corpus.

    Args:
        scorer: a :class:`~compassion_nlp.scoring.Scorer` (default: the shipped model).
        role_field: the speaker metadata field holding each speaker's role (``clinician``,
            ``patient``, ``leader``, ``staff``, or a word such as ``doctor``).
        setting: ``clinical`` or ``meeting`` (default: inferred per conversation).
        prefix: the prefix of every metadata field written.
    """

    def __init__(self, scorer: Scorer | None = None, *, role_field: str = "role",
                 setting: Setting | None = None, prefix: str = "compassion_"):
        if _Transformer is object:
            raise CompassionError(Errors.E018, "ConvoKit corpora", format="convokit",
                                  package="convokit", extra="convokit")
        self.scorer = scorer
        self.role_field = role_field
        self.setting = setting
        self.prefix = prefix

    def fit(self, corpus: Any, selector: Callable[[Any], bool] = lambda conversation: True
            ) -> CompassionTransformer:
        """Nothing to learn: the model is already trained. Returns ``self``."""
        return self

    def transform(self, corpus: Any, selector: Callable[[Any], bool] = lambda c: True) -> Any:
        """Score the selected conversations and write the metadata (see the module)."""
        scorer = self.scorer or load()
        config = scorer.config
        p = self.prefix
        for conversation in corpus.iter_conversations(selector):
            try:
                encounter, utterances = conversation_to_encounter(
                    conversation, role_field=self.role_field, setting=self.setting,
                    config=config)
                [scored] = scorer.score_encounters([encounter])
            except CompassionError as exc:
                logger.warning("conversation %s not scored [%s]", conversation.id, exc.code)
                conversation.add_meta(f"{p}error", exc.code)
                continue
            self._annotate(scored, utterances)
            row = scored.encounter_row()
            conversation.add_meta(f"{p}score", float(row["compassion_score"]))
            conversation.add_meta(f"{p}components", dict(scored.compassion.components))
            for key in ("cue_episodes", "missed_opportunities"):
                conversation.add_meta(f"{p}{key}", int(row[key]))
            conversation.add_meta(f"{p}response_rate", float(row["response_rate"]))
        return corpus

    def _annotate(self, scored: Any, utterances: list[Any]) -> None:
        p = self.prefix
        view = scored.encounter.view
        sentences: dict[int, list[int]] = {}
        for j, utt in enumerate(view.utterances):
            if utt.source_line is not None:
                sentences.setdefault(utt.source_line - 1, []).append(j)
        roles = {s.id: s.role for s in scored.encounter.speakers.values()}
        for i, utterance in enumerate(utterances):
            rows = sentences.get(i, [])
            probs = (scored.probabilities[rows].max(axis=0) if rows
                     else np.full(len(LABELS), math.nan))
            decided = scored.decided[rows].any(axis=0) if rows else np.zeros(len(LABELS), bool)
            utterance.add_meta(f"{p}labels", [x for x, d in zip(LABELS, decided, strict=True)
                                              if d])
            utterance.add_meta(f"{p}probabilities",
                               {x: round(float(v), 4) for x, v in zip(LABELS, probs,
                                                                     strict=True)})
            utterance.add_meta(f"{p}role", roles.get(str(utterance.speaker.id), "unknown"))
            utterance.add_meta(f"{p}sentences", [
                {"id": view.utterances[j].id,
                 "labels": [x for x, d in zip(LABELS, scored.decided[j], strict=True) if d],
                 "probabilities": {x: round(float(v), 4) for x, v in zip(
                     LABELS, scored.probabilities[j], strict=True)}}
                for j in rows])
