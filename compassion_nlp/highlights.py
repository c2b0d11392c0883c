"""Coaching highlights: exemplary moments, missed opportunities and what could have been said.

Exemplary moments are the responding-role utterances with the highest calibrated probability
of EMPATHIC, CONFIRMING, PURSUING or INCLUSIVE, with the cue they answered when there was
one. Missed opportunities are the cue episodes with no response; each gets a suggestion from
the curated phrase bank (``resources/phrase_bank.json``), matched to the kind of cue. Every
highlight carries ids, times and the source line so a trainer can find it in the recording.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .config import DEFAULT_CONFIG
from .linking import CueLink
from .model import EXEMPLARY_LABELS, LABELS, RESPONDING_ROLES, Encounter


@dataclass(frozen=True)
class Moment:
    """One quoted utterance with everything needed to find it again."""

    utterance_id: str
    turn_id: int
    speaker: str
    role: str
    text: str
    start: float | None
    end: float | None
    source_line: int | None


@dataclass(frozen=True)
class Highlight:
    """An exemplary moment or a missed opportunity.

    Attributes:
        kind: ``exemplary`` or ``missed``.
        rank: 1-based order within its kind.
        moment: the exemplary utterance, or the cue that was missed.
        labels: the exemplary utterance's labels (``EMPATHIC``…), or ``("CUE",)``.
        probability: the highest calibrated probability among those labels.
        cue: for an exemplary response, the cue it answered.
        followed_by: for a missed cue, what the clinician or leader said next.
        cue_kind: for a missed cue, the kind used to choose the suggestion.
        suggestion: for a missed cue, what could have been said.
    """

    kind: str
    rank: int
    moment: Moment
    labels: tuple[str, ...]
    probability: float
    cue: Moment | None = None
    followed_by: Moment | None = None
    cue_kind: str | None = None
    suggestion: str | None = None


@lru_cache(maxsize=1)
def phrase_bank() -> dict[str, Any]:
    """The curated phrase bank shipped with the package."""
    text = resources.files("compassion_nlp").joinpath("resources/phrase_bank.json").read_text()
    return json.loads(text)


def cue_kind(text: str) -> str:
    """The phrase-bank kind of a cue (first kind whose words occur in it; else ``general``)."""
    lowered = text.lower()
    for kind in phrase_bank()["kinds"]:
        if any(word in lowered for word in kind["match"]):
            return str(kind["kind"])
    return "general"


def suggestion_for(kind: str, key: str, setting: str) -> str:
    """A suggestion for a cue kind, chosen deterministically by ``key`` (stable across runs)."""
    if setting == "meeting" and kind not in ("loss", "low_mood"):
        kind = "team_concern"
    kinds = {k["kind"]: k for k in phrase_bank()["kinds"]}
    options = kinds.get(kind, kinds["general"])["suggestions"]
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return str(options[digest % len(options)])


def _moment(encounter: Encounter, i: int) -> Moment:
    """The ``i``-th utterance of the encounter as a quotable moment."""
    view = encounter.view
    utt = view.utterances[i]
    return Moment(utt.id, utt.turn_id, view.names[i], view.roles[i], utt.text, utt.start,
                  utt.end, utt.source_line)


def highlights(
    encounter: Encounter, probs: np.ndarray, decided: np.ndarray, links: list[CueLink], *,
    top: int = DEFAULT_CONFIG.top_exemplary,
) -> list[Highlight]:
    """The ``top`` exemplary moments and every missed cue episode."""
    view = encounter.view
    utterances = view.utterances
    cue_of_response: dict[int, int] = {}
    for link in links:
        if link.response_index is not None:
            cue_of_response.setdefault(link.response_index, link.cue_index)
    cols = [LABELS.index(label) for label in EXEMPLARY_LABELS]
    candidates = []
    for i, role in enumerate(view.roles):
        if role not in RESPONDING_ROLES or not decided[i, cols].any():
            continue
        best = max(float(probs[i, c]) for c in cols if decided[i, c])
        candidates.append((best, i))
    candidates.sort(key=lambda x: (-x[0], x[1]))
    out: list[Highlight] = []
    for rank, (p, i) in enumerate(candidates[:top], 1):
        cue = cue_of_response.get(i)
        out.append(Highlight(
            kind="exemplary", rank=rank, moment=_moment(encounter, i),
            labels=tuple(label for label, c in zip(EXEMPLARY_LABELS, cols, strict=True)
                         if decided[i, c]),
            probability=round(p, 4),
            cue=_moment(encounter, cue) if cue is not None else None,
        ))
    rank = 0
    seen: set[int] = set()
    cue_col = LABELS.index("CUE")
    episodes: dict[int, list[CueLink]] = {}
    for link in links:
        episodes.setdefault(link.episode, []).append(link)
    for link in links:
        if link.responded or link.episode in seen:
            continue
        seen.add(link.episode)
        rank += 1
        episode = episodes[link.episode]
        strongest = max(episode, key=lambda x: probs[x.cue_index, cue_col])
        utt = utterances[strongest.cue_index]
        text = " ".join(utterances[x.cue_index].text for x in episode)
        kind = cue_kind(text)
        out.append(Highlight(
            kind="missed", rank=rank, moment=_moment(encounter, strongest.cue_index),
            labels=("CUE",),
            probability=round(float(probs[strongest.cue_index, cue_col]), 4),
            followed_by=(_moment(encounter, link.followed_by_index)
                         if link.followed_by_index is not None else None),
            cue_kind=kind,
            suggestion=suggestion_for(kind, f"{encounter.id}|{utt.id}", encounter.setting),
        ))
    return out
