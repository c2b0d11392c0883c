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
                                  :data:`TALK_FULL_MARKS` per 10
depth                     1       share of responded episodes whose response CONFIRMS the
                                  concern or PURSUES it (beyond naming the feeling)
inclusiveness (meetings)  1       INCLUSIVE statements per leader turn, full marks at
                                  :data:`INCLUSIVE_FULL_MARKS` per turn
========================  ======  ==========================================================

A component with nothing to measure (no cues: responsiveness and depth) is NaN and left out;
the weights of the others are renormalised. The score is NaN only when no component is
defined (no responding-role talk at all).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .linking import CueLink
from .model import (
    EXPRESSING_ROLES,
    LABELS,
    RESPONDING_ROLES,
    RESPONSE_LABELS,
    ROLES,
    Encounter,
)

#: compassionate statements per 10 responding-role utterances that earn full marks
TALK_FULL_MARKS = 1.5
#: INCLUSIVE statements per leader turn that earn full marks
INCLUSIVE_FULL_MARKS = 0.2
WEIGHTS = {"responsiveness": 2.0, "compassionate_talk": 1.0, "depth": 1.0, "inclusiveness": 1.0}

NAN = float("nan")


@dataclass(frozen=True)
class CompassionScore:
    """The 0–100 score and its components (each 0–1 or NaN)."""

    score: float
    components: dict[str, float]

    def explain(self) -> str:
        """One line per component, in words a clinician can follow."""
        words = {
            "responsiveness": "emotional moments answered with empathy, validation or "
                              "exploration",
            "compassionate_talk": f"compassionate statements (target {TALK_FULL_MARKS} per 10 "
                                  "utterances)",
            "depth": "responses that validate or explore, not only name the feeling",
            "inclusiveness": f"invitations and appreciation (target {INCLUSIVE_FULL_MARKS} "
                             "per turn)",
        }
        lines = [f"Compassion score: {_pct(self.score)}"]
        for name, value in self.components.items():
            lines.append(f"  {name}: {_pct(value)} - {words[name]}")
        return "\n".join(lines)


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x * 100:.0f}" if x <= 1 else f"{x:.0f}"


def _mean(values: dict[str, float]) -> float:
    defined = {k: v for k, v in values.items() if not math.isnan(v)}
    if not defined:
        return NAN
    total = sum(WEIGHTS[k] for k in defined)
    return sum(WEIGHTS[k] * v for k, v in defined.items()) / total


def compassion_score(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink]
) -> CompassionScore:
    """The encounter's compassion score from its labels and cue links."""
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
        components["compassionate_talk"] = min(1.0, statements / n_resp * 10 / TALK_FULL_MARKS)
    else:
        components["compassionate_talk"] = NAN
    if encounter.setting == "meeting":
        leader_turns = [
            t for t in encounter.turns if encounter.speakers[t.speaker].role == "leader"
        ]
        if leader_turns:
            inclusive = int(decided[roles == "leader"][:, LABELS.index("INCLUSIVE")].sum())
            components["inclusiveness"] = min(
                1.0, inclusive / len(leader_turns) / INCLUSIVE_FULL_MARKS
            )
        else:
            components["inclusiveness"] = NAN
    score = _mean(components)
    return CompassionScore(
        score=NAN if math.isnan(score) else round(100 * score, 1),
        components={k: (v if math.isnan(v) else round(v, 4)) for k, v in components.items()},
    )


def inclusiveness_score(leader_turns: int, inclusive: int) -> float:
    """A leader's inclusiveness, 0–100: INCLUSIVE statements per turn against the target."""
    if not leader_turns:
        return NAN
    return round(100 * min(1.0, inclusive / leader_turns / INCLUSIVE_FULL_MARKS), 1)


def encounter_row(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink], score: CompassionScore
) -> dict[str, object]:
    """One row of the ``encounters`` table (see the README for the columns)."""
    view = encounter.view
    utterances, roles = view.utterances, view.roles
    words: Counter[str] = Counter()
    for n, role in zip(view.words, roles, strict=True):
        words[role] += n
    total_words = sum(words.values()) or 1
    substantive = np.array(view.substantive, dtype=bool)
    responding = np.array([r in RESPONDING_ROLES for r in roles], dtype=bool)
    expressing = np.array([r in EXPRESSING_ROLES for r in roles], dtype=bool)
    n_resp = int(responding.sum())
    row: dict[str, object] = {
        "encounter_id": encounter.id,
        "setting": encounter.setting,
        "turns": len(encounter.turns),
        "utterances": len(utterances),
        "duration_seconds": _duration(encounter),
        "responding_utterances": n_resp,
        "expressing_utterances": int(expressing.sum()),
    }
    for j, label in enumerate(LABELS):
        mask = expressing if label == "CUE" else responding
        count = int(decided[mask, j].sum()) if len(decided) else 0
        denominator = int((mask & substantive).sum())
        row[f"n_{label.lower()}"] = count
        row[f"{label.lower()}_per_10"] = round(count / denominator * 10, 3) if denominator else NAN
    episodes: dict[int, CueLink] = {}
    for link in links:
        episodes.setdefault(link.episode, link)
    responded = sum(1 for e in episodes.values() if e.responded)
    row["cues"] = len(links)
    row["cue_episodes"] = len(episodes)
    row["cues_responded"] = responded
    row["missed_opportunities"] = len(episodes) - responded
    row["response_rate"] = round(responded / len(episodes), 4) if episodes else NAN
    for role in ROLES:
        row[f"talk_share_{role}"] = round(words[role] / total_words, 4)
    asked = np.array(view.questions, dtype=bool)
    row["questions_responding"] = int((asked & responding).sum())
    row["questions_expressing"] = int((asked & expressing).sum())
    row["compassion_score"] = score.score
    for name in WEIGHTS:
        row[f"component_{name}"] = score.components.get(name, NAN)
    return row


def speaker_rows(
    encounter: Encounter, decided: np.ndarray, links: list[CueLink]
) -> list[dict[str, object]]:
    """One row per speaker: talk, questions, label counts and rates, cues raised/answered."""
    view = encounter.view
    total_words = sum(view.words) or 1
    raised = Counter(link.speaker for link in links)
    answered: Counter[str] = Counter()
    seen: set[int] = set()
    for link in links:
        if link.responded and link.episode not in seen and link.response_index is not None:
            seen.add(link.episode)
            answered[view.speakers[link.response_index]] += 1
    of_speaker: dict[str, list[int]] = {}
    for i, speaker in enumerate(view.speakers):
        of_speaker.setdefault(speaker, []).append(i)
    turns_of = Counter(t.speaker for t in encounter.turns)
    rows = []
    for spk in encounter.speakers.values():
        idx = of_speaker.get(spk.id, [])
        if not idx:
            continue
        n = len(idx)
        substantive = sum(1 for i in idx if view.substantive[i])
        turns = turns_of[spk.id]
        row: dict[str, object] = {
            "encounter_id": encounter.id,
            "speaker": spk.name,
            "role": spk.role,
            "role_source": spk.role_source,
            "role_confidence": spk.role_confidence,
            "turns": turns,
            "utterances": n,
            "substantive_utterances": substantive,
            "words": sum(view.words[i] for i in idx),
            "questions": sum(1 for i in idx if view.questions[i]),
        }
        row["talk_share"] = round(row["words"] / total_words, 4)  # type: ignore[operator]
        for j, label in enumerate(LABELS):
            count = int(decided[idx, j].sum())
            row[f"n_{label.lower()}"] = count
            row[f"{label.lower()}_per_10"] = round(count / n * 10, 3)
        row["cues_raised"] = raised.get(spk.id, 0)
        row["cue_episodes_answered"] = answered.get(spk.id, 0)
        row["inclusiveness_score"] = (
            inclusiveness_score(turns, row["n_inclusive"])  # type: ignore[arg-type]
            if spk.role == "leader" else NAN
        )
        rows.append(row)
    return rows


def _duration(encounter: Encounter) -> float:
    starts = [t.start for t in encounter.turns if t.start is not None]
    ends = [t.end for t in encounter.turns if t.end is not None]
    if not starts or not ends:
        return NAN
    return round(max(ends) - min(starts), 3)
