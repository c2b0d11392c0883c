"""Encounter and speaker measures, and the compassion score.

All measures are computed from stored utterance predictions (``decided`` labels) and the cue
links, never as a side effect of classification.

The compassion score (0–100) is a weighted mean of components, each between 0 and 1:

========================  ======  ==========================================================
component                 weight  what it measures
========================  ======  ==========================================================
responsiveness            2       share of the patient's (staff's) cue episodes that got an
                                  EMPATHIC, CONFIRMING or PURSUING response in the window
compassionate_talk        1       EMPATHIC/CONFIRMING/PURSUING statements per 10
                                  substantive utterances (back-channels such as "mm-hm",
                                  "okay" not counted) of the responding role, full marks at
                                  ``talk_full_marks`` per 10
depth                     1       share of responded episodes whose response CONFIRMS the
                                  concern or PURSUES it (beyond naming the feeling)
inclusiveness (meetings)  1       INCLUSIVE statements per leader turn, full marks at
                                  ``inclusive_full_marks`` per turn
========================  ======  ==========================================================

A component with nothing to measure (no cues: responsiveness and depth) is NaN and left out;
the weights of the others are renormalised. The score is NaN only when no component is
defined (no responding-role talk at all). Weights and full-marks rates are settings of
:class:`~compassion_nlp.config.ScoringConfig` (the defaults above).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .config import COMPONENT_WEIGHTS, DEFAULT_CONFIG, ScoringConfig
from .errors import Warnings, warn
from .linking import CueLink
from .model import (
    EXPRESSING_ROLES,
    LABELS,
    RESPONDING_ROLES,
    RESPONSE_LABELS,
    Encounter,
)

NAN = float("nan")


def component_words(config: ScoringConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """Each component in words a clinician can follow (the explanation, feedback reports)."""
    return {
        "responsiveness": "Emotional moments answered with empathy, validation or exploration",
        "compassionate_talk": f"Compassionate statements (full marks at "
                              f"{config.talk_full_marks} per 10 utterances)",
        "depth": "Answers that validate or explore the concern, not only name it",
        "inclusiveness": f"Invitations and appreciation (full marks at 1 per "
                         f"{round(1 / config.inclusive_full_marks)} leader turns)",
    }


@dataclass(frozen=True)
class CompassionScore:
    """The 0–100 compassion score (:attr:`value`) and its components (each 0–1 or NaN), with
    the settings they were computed with."""

    value: float
    components: dict[str, float]
    config: ScoringConfig = field(default=DEFAULT_CONFIG, compare=False, repr=False)
    #: why the encounter cannot be scored (:func:`unscorable_reason`), else ``None``
    unscorable: str | None = None

    @property
    def score(self) -> float:
        """Deprecated: :attr:`value` (``enc.compassion.value``)."""
        warnings.warn("CompassionScore.score is deprecated; use .value", DeprecationWarning,
                      stacklevel=2)
        return self.value

    def explain(self) -> str:
        """One line per component, in words a clinician can follow."""
        words = component_words(self.config)
        lines = [f"Compassion score: {_pct(self.value)}"]
        for name, value in self.components.items():
            lines.append(f"  {name}: {_pct(value)} - {words[name]}")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x * 100:.0f}" if x <= 1 else f"{x:.0f}"


def _mean(values: dict[str, float], weights: dict[str, float]) -> float:
    defined = {k: v for k, v in values.items() if not math.isnan(v)}
    if not defined:
        return NAN
    total = sum(weights[k] for k in defined)
    return sum(weights[k] * v for k, v in defined.items()) / total


def unscorable_reason(encounter: Encounter) -> str | None:
    """Why an encounter cannot be scored, or ``None``: no speaker with a known role (every
    speaker ``unknown`` or ``other``), or only one speaker who talks."""
    view = encounter.view
    talking = {s for s, ok in zip(view.speakers, view.substantive, strict=True) if ok}
    roles = {r for r in view.roles if r in RESPONDING_ROLES | EXPRESSING_ROLES}
    if view.utterances and not roles:
        return "no speaker has a known role; give them with --role"
    if len(talking) < 2:
        return "only one speaker talks"
    return None


def compassion_score(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink], *,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> CompassionScore:
    """The encounter's compassion score from its labels and cue links; NaN, with a warning
    (W006), for an encounter that cannot be scored (:func:`unscorable_reason`)."""
    reason = unscorable_reason(encounter)
    if reason is not None:
        warn(Warnings.W006, encounter.id, reason=reason)
        names = [n for n in COMPONENT_WEIGHTS if n != "inclusiveness" or
                 encounter.setting == "meeting"]
        return CompassionScore(value=NAN, components=dict.fromkeys(names, NAN), config=config,
                               unscorable=reason)
    view = encounter.view
    roles = np.array(view.roles)
    substantive = np.array(view.substantive, dtype=bool)
    responding = np.isin(roles, list(RESPONDING_ROLES)) & substantive if len(roles) else (
        np.zeros(0, bool)
    )
    cols = [LABELS.index(x) for x in RESPONSE_LABELS]
    episodes: dict[int, CueLink] = {}
    for link in links:
        episodes.setdefault(link.episode, link)
    components: dict[str, float] = {}
    if episodes:
        responded = [e for e in episodes.values() if e.responded]
        components["responsiveness"] = len(responded) / len(episodes)
        components["depth"] = (
            sum(1 for e in responded if {"CONFIRMING", "PURSUING"} & set(e.response_labels))
            / len(responded) if responded else 0.0
        )
    else:
        components["responsiveness"] = NAN
        components["depth"] = NAN
    n_resp = int(responding.sum())
    if n_resp:
        statements = int(decided[responding][:, cols].any(axis=1).sum())
        components["compassionate_talk"] = min(
            1.0, statements / n_resp * 10 / config.talk_full_marks
        )
    else:
        components["compassionate_talk"] = NAN
    if encounter.setting == "meeting":
        leader_turns = [
            t for t in encounter.turns if encounter.speakers[t.speaker].role == "leader"
        ]
        if leader_turns:
            inclusive = int(decided[roles == "leader"][:, LABELS.index("INCLUSIVE")].sum())
            components["inclusiveness"] = min(
                1.0, inclusive / len(leader_turns) / config.inclusive_full_marks
            )
        else:
            components["inclusiveness"] = NAN
    score = _mean(components, config.weights)
    return CompassionScore(
        value=NAN if math.isnan(score) else round(100 * score, 1),
        components={k: (v if math.isnan(v) else round(v, 4)) for k, v in components.items()},
        config=config,
    )


def inclusiveness_score(
    leader_turns: int, inclusive: int, *, config: ScoringConfig = DEFAULT_CONFIG
) -> float:
    """A leader's inclusiveness, 0–100: INCLUSIVE statements per turn against the target."""
    if not leader_turns:
        return NAN
    return round(100 * min(1.0, inclusive / leader_turns / config.inclusive_full_marks), 1)
