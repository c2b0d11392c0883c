"""Cue → response linking: did the clinician or leader answer the patient's or staff's cue?

The codebook's rule: a cue is *responded to* when one of the next two utterances of a responding
role (clinician, leader), before the expressing speaker talks on, is EMPATHIC, CONFIRMING or
PURSUING; otherwise it is a **missed opportunity**. In detail:

- Back-channels ("mm-hm", "yeah", "okay", "right", "I see") are not counted among the two
  utterances and do not end the window, whoever says them.
- The window ends when the expressing speaker who raised the cue starts a new turn with
  something substantive (they have moved on), or when two substantive responding utterances
  have passed. Other expressing speakers (a relative) do not end it.
- Any responding-role speaker can respond (several clinicians, a co-chair).
- Cues in one turn of the expressing speaker, or in consecutive turns with no substantive
  response between them, form one **episode**: they share one response window and count once
  in the encounter's response rate. A cue raised again after a missed episode is marked
  ``raised_again``.
- Overlapping speech is taken in turn order (turns are ordered by start time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DEFAULT_CONFIG
from .model import EXPRESSING_ROLES, LABELS, RESPONDING_ROLES, RESPONSE_LABELS, Encounter


@dataclass(frozen=True)
class CueLink:
    """One cue of an expressing speaker and what it got.

    Attributes:
        cue_index: position of the cue utterance in ``encounter.utterances``.
        utterance_id, turn_id, speaker: where the cue is, and who raised it.
        episode: 1-based cue episode in the encounter (cues answered by one window share it).
        responded: whether an EMPATHIC/CONFIRMING/PURSUING utterance came in the window.
        response_index, response_utterance_id: the first responding utterance, if any.
        response_labels: its response labels (``EMPATHIC|PURSUING``).
        latency_turns: turns from the cue to the response.
        latency_seconds: seconds from the cue's end to the response's start, when known.
        followed_by_index: the first substantive responding utterance in the window (what the
            clinician or leader actually said next), responded or not.
        raised_again: the cue repeats an earlier missed episode of the same speaker.
    """

    cue_index: int
    utterance_id: str
    turn_id: int
    speaker: str
    episode: int
    responded: bool
    response_index: int | None = None
    response_utterance_id: str | None = None
    response_labels: tuple[str, ...] = ()
    latency_turns: int | None = None
    latency_seconds: float | None = None
    followed_by_index: int | None = None
    raised_again: bool = False


def link_cues(
    encounter: Encounter, decided: np.ndarray, *, window: int = DEFAULT_CONFIG.cue_window
) -> list[CueLink]:
    """Link every CUE of an expressing-role speaker to the response it got.

    Args:
        encounter: a segmented encounter with roles.
        decided: boolean labels, shape ``(len(encounter.utterances), len(LABELS))``.
        window: substantive responding utterances looked at after a cue.
    """
    view = encounter.view
    utterances, roles, speakers = view.utterances, view.roles, view.speakers
    if len(utterances) != len(decided):
        raise ValueError("one row of labels per utterance is needed")
    cue_col = LABELS.index("CUE")
    response_cols = [LABELS.index(label) for label in RESPONSE_LABELS]
    back = [not s for s in view.substantive]

    links: list[CueLink] = []
    episode = 0
    window_cache: dict[int, tuple[int | None, int | None]] = {}
    last_episode_end: int | None = None  # index where the current episode's window starts
    for i, utt in enumerate(utterances):
        if not (decided[i, cue_col] and roles[i] in EXPRESSING_ROLES):
            continue
        # the window starts after the last utterance of the cue speaker's run of talk
        start = i + 1
        while start < len(utterances) and speakers[start] == speakers[i] and (
            utterances[start].turn_id == utt.turn_id
        ):
            start += 1
        new_episode = last_episode_end is None or not _same_episode(
            utterances, speakers, roles, back, last_episode_end, i, speakers[i]
        )
        if new_episode:
            episode += 1
        last_episode_end = start
        if start not in window_cache:
            window_cache[start] = _scan(
                utterances, speakers, roles, back, decided, response_cols, start, speakers[i],
                window,
            )
        response, followed = window_cache[start]
        link = CueLink(
            cue_index=i, utterance_id=utt.id, turn_id=utt.turn_id, speaker=speakers[i],
            episode=episode, responded=False, followed_by_index=followed,
        )
        if response is not None:
            link = _with_response(link, utterances, decided, response_cols, response)
        links.append(link)
    return _episode_outcomes(links, utterances, decided, response_cols)


def _with_response(link: CueLink, utterances, decided, response_cols, response: int) -> CueLink:
    from dataclasses import replace

    cue, r = utterances[link.cue_index], utterances[response]
    latency = None
    if r.start is not None and cue.end is not None:
        latency = round(max(0.0, r.start - cue.end), 3)
    return replace(
        link, responded=True, response_index=response, response_utterance_id=r.id,
        response_labels=tuple(LABELS[c] for c in response_cols if decided[response, c]),
        latency_turns=r.turn_id - cue.turn_id, latency_seconds=latency,
    )


def _same_episode(utterances, speakers, roles, back, window_start, i, speaker) -> bool:
    """True when nothing substantive from a responding role came between the last episode's
    window start and cue ``i`` of the same speaker."""
    if window_start > i:
        return True
    for j in range(window_start, i):
        if roles[j] in RESPONDING_ROLES and not back[j]:
            return False
        if speakers[j] != speaker and roles[j] not in RESPONDING_ROLES and not back[j]:
            return False
    return True


def _scan(utterances, speakers, roles, back, decided, response_cols, start, cue_speaker,
          window):
    """(first responding utterance with a response label, first substantive responding
    utterance) within the window starting at ``start``."""
    seen = 0
    followed = None
    for j in range(start, len(utterances)):
        if back[j]:
            continue
        if speakers[j] == cue_speaker:
            break  # the expressing speaker talks on: the moment has passed
        if roles[j] not in RESPONDING_ROLES:
            continue
        if followed is None:
            followed = j
        if decided[j, response_cols].any():
            return j, followed
        seen += 1
        if seen >= window:
            break
    return None, followed


def _episode_outcomes(links: list[CueLink], utterances, decided, response_cols) -> list[CueLink]:
    """An episode is responded when any of its cues is (all its cues then share that
    response); a new episode of a speaker whose earlier episode was missed is
    ``raised_again``."""
    from dataclasses import replace

    response_of: dict[int, int] = {}
    for link in links:
        if link.response_index is not None and link.episode not in response_of:
            response_of[link.episode] = link.response_index
    out: list[CueLink] = []
    missed: set[str] = set()
    seen_episodes: set[int] = set()
    for link in links:
        if link.episode in response_of and not link.responded:
            link = _with_response(link, utterances, decided, response_cols,
                                  response_of[link.episode])
        if link.episode not in seen_episodes:
            seen_episodes.add(link.episode)
            if link.speaker in missed:
                link = replace(link, raised_again=True)
            if link.responded:
                missed.discard(link.speaker)
            else:
                missed.add(link.speaker)
        out.append(link)
    return out
