"""The data model: an encounter of speakers, turns and utterances.

The vocabulary follows ConvoKit (corpus / conversation / utterance / speaker): an
:class:`Encounter` is one conversation (a consultation or a meeting), a :class:`Turn` is one
stretch of talk by one :class:`Speaker`, and an :class:`Utterance` is a sentence-like unit
inside a turn, the unit that is classified.

All objects are frozen dataclasses; later stages return new objects (``dataclasses.replace``).
The codebook's labels and their groups live here too: every stage reads them from this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Role = Literal["clinician", "patient", "leader", "staff", "other", "unknown"]
Setting = Literal["clinical", "meeting"]

ROLES: tuple[str, ...] = ("clinician", "patient", "leader", "staff", "other", "unknown")
SETTINGS: tuple[str, ...] = ("clinical", "meeting")
RESPONDING_ROLES: frozenset[str] = frozenset({"clinician", "leader"})
EXPRESSING_ROLES: frozenset[str] = frozenset({"patient", "staff"})

#: the codebook's labels, in the order of every model's outputs and every table's columns
LABELS: tuple[str, ...] = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")
#: labels scored for the responding roles (clinician, leader)
RESPONDING_LABELS: tuple[str, ...] = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE")
#: labels scored for the expressing roles (patient, staff)
EXPRESSING_LABELS: tuple[str, ...] = ("CUE",)
#: labels that answer a cue (the codebook's response rule)
RESPONSE_LABELS: tuple[str, ...] = ("EMPATHIC", "CONFIRMING", "PURSUING")
#: labels that make a compassionate moment worth showing as exemplary
EXEMPLARY_LABELS: tuple[str, ...] = RESPONDING_LABELS
_QUESTION = re.compile(r"\?\s*$")

#: Columns of the utterance table, in order (see :meth:`Encounter.to_dataframe`).
UTTERANCE_COLUMNS: tuple[str, ...] = (
    "encounter_id",
    "speaker",
    "role",
    "turn_id",
    "utterance_id",
    "text",
    "start",
    "end",
    "source_line",
)


@dataclass(frozen=True)
class Speaker:
    """One participant.

    Attributes:
        id: key used by turns (the normalised name, unique within the encounter).
        label: the label as first written in the source (``"Docotr_2"``, ``"SPEAKER_00"``).
        name: the normalised display name (``"Doctor 2"``).
        role: ``clinician``, ``patient``, ``leader``, ``staff``, ``other`` or ``unknown``.
        role_source: where the role came from: ``user``, ``format``, ``lexicon``,
            ``content`` or ``none``.
        role_confidence: 0–1; how sure that source is.
    """

    id: str
    label: str
    name: str
    role: Role = "unknown"
    role_source: str = "none"
    role_confidence: float = 0.0


@dataclass(frozen=True)
class Utterance:
    """A sentence-like unit of one turn: the unit that is classified.

    Attributes:
        id: unique within the encounter, ``"t{turn}.u{index}"`` (``"t12.u1"``).
        turn_id: the turn it belongs to.
        index: 1-based position in the turn.
        text: the utterance text (clean: markup removed).
        start_char, end_char: offsets of ``text`` in the turn's text.
        start, end: seconds, from the raw fragments it falls in, when the format has times.
        source_line: 1-based line of the source file where the text stands (line-based
            formats), else ``None``.
    """

    id: str
    turn_id: int
    index: int
    text: str
    start_char: int
    end_char: int
    start: float | None = None
    end: float | None = None
    source_line: int | None = None


@dataclass(frozen=True)
class Piece:
    """One raw fragment as read from the source, before merging and cleaning.

    Attributes:
        raw: the text exactly as in the source.
        offset: where its clean text begins in the turn's text.
        line: 1-based source line (line-based formats), else ``None``.
        start, end: seconds, when the format has times.
    """

    raw: str
    offset: int
    line: int | None = None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Turn:
    """A stretch of talk by one speaker: consecutive fragments of that speaker merged.

    Attributes:
        id: 1-based position in the encounter.
        speaker: the :attr:`Speaker.id` of who speaks.
        text: clean text (markup removed, whitespace normalised): what is classified.
        start, end: seconds from the start of the recording, when known.
        source_line: 1-based line of the source where the turn's text begins, when known.
        flags: counts of markup removed from the text (``{"laughter": 1, "unsure": 2}``).
        pieces: the raw fragments the turn was made from.
        utterances: the turn split into utterances (empty until segmented).
    """

    id: int
    speaker: str
    text: str
    start: float | None = None
    end: float | None = None
    source_line: int | None = None
    flags: Mapping[str, int] = field(default_factory=dict)
    pieces: tuple[Piece, ...] = ()
    utterances: tuple[Utterance, ...] = ()

    def piece_at(self, char: int) -> Piece | None:
        """The raw fragment that holds the character at ``char`` of :attr:`text`."""
        found = None
        for piece in self.pieces:
            if piece.offset > char:
                break
            found = piece
        return found


@dataclass(frozen=True)
class Encounter:
    """One transcript: a clinical consultation or a meeting.

    Attributes:
        id: identifier, by default the path relative to the folder given (plus ``#row``
            for files that hold many dialogues).
        setting: ``clinical`` or ``meeting``.
        speakers: every speaker, keyed by :attr:`Speaker.id`.
        turns: the turns in order.
        metadata: the source path, format, warnings and format-specific details.
    """

    id: str
    setting: Setting
    speakers: Mapping[str, Speaker]
    turns: tuple[Turn, ...]
    metadata: Mapping[str, object] = field(default_factory=dict)

    @property
    def utterances(self) -> list[Utterance]:
        """All utterances, in order."""
        return [u for turn in self.turns for u in turn.utterances]

    @cached_property
    def fingerprint(self) -> str:
        """A digest of what the encounter's rows depend on in its source: setting, date,
        speakers and their roles, and every turn's speaker, text, times and line. A batch run
        into a folder that already holds the encounter scores it again when this changed (an
        edited transcript, a new role mapping)."""
        import hashlib
        import json

        content = [self.setting, str(self.metadata.get("date") or ""),
                   sorted((s.id, s.label, s.role) for s in self.speakers.values()),
                   [(t.speaker, t.text, t.start, t.end, t.source_line) for t in self.turns]]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]

    @cached_property
    def view(self) -> UtteranceView:
        """What every stage needs to know about each utterance, built once."""
        return UtteranceView.of(self)

    def speaker_of(self, turn: Turn) -> Speaker:
        """The :class:`Speaker` of a turn."""
        return self.speakers[turn.speaker]

    def rows(self) -> list[dict[str, object]]:
        """One dict per utterance with the :data:`UTTERANCE_COLUMNS`."""
        rows: list[dict[str, object]] = []
        for turn in self.turns:
            speaker = self.speakers[turn.speaker]
            for utt in turn.utterances:
                rows.append(
                    {
                        "encounter_id": self.id,
                        "speaker": speaker.name,
                        "role": speaker.role,
                        "turn_id": turn.id,
                        "utterance_id": utt.id,
                        "text": utt.text,
                        "start": utt.start,
                        "end": utt.end,
                        "source_line": utt.source_line,
                    }
                )
        return rows

    def to_dataframe(self) -> pd.DataFrame:
        """The utterances as a tidy DataFrame, one row each (:data:`UTTERANCE_COLUMNS`)."""
        return utterances_dataframe([self])


@dataclass(frozen=True)
class UtteranceView:
    """Per-utterance facts that linking, measures, highlights and scoring share, in
    :attr:`Encounter.utterances` order (built once per encounter: :attr:`Encounter.view`).

    Attributes:
        utterances: the utterances.
        turns: the turn of each utterance.
        speakers: its speaker's id; ``names``: that speaker's display name.
        roles: its speaker's role.
        substantive: not a back-channel (:func:`compassion_nlp.lexicon.is_backchannel`).
        questions: ends with a question mark.
        words: its number of words.
    """

    utterances: tuple[Utterance, ...]
    turns: tuple[Turn, ...]
    speakers: tuple[str, ...]
    names: tuple[str, ...]
    roles: tuple[str, ...]
    substantive: tuple[bool, ...]
    questions: tuple[bool, ...]
    words: tuple[int, ...]

    @classmethod
    def of(cls, encounter: Encounter) -> UtteranceView:
        """Build the view of an encounter."""
        from .lexicon import is_backchannel

        pairs = [(turn, u) for turn in encounter.turns for u in turn.utterances]
        speakers = [encounter.speakers[turn.speaker] for turn, _ in pairs]
        return cls(
            utterances=tuple(u for _, u in pairs),
            turns=tuple(turn for turn, _ in pairs),
            speakers=tuple(s.id for s in speakers),
            names=tuple(s.name for s in speakers),
            roles=tuple(s.role for s in speakers),
            substantive=tuple(not is_backchannel(u.text) for _, u in pairs),
            questions=tuple(bool(_QUESTION.search(u.text)) for _, u in pairs),
            words=tuple(len(u.text.split()) for _, u in pairs),
        )


def utterances_dataframe(encounters: list[Encounter]) -> pd.DataFrame:
    """A tidy DataFrame of the utterances of many encounters (:data:`UTTERANCE_COLUMNS`)."""
    import pandas as pd

    return pd.DataFrame(utterance_columns(encounters))


def utterance_columns(encounters: list[Encounter]) -> dict[str, Any]:
    """The :data:`UTTERANCE_COLUMNS` of many encounters as typed arrays, to build a DataFrame
    in one step (this runs once per scored encounter: no casts afterwards)."""
    import numpy as np
    import pandas as pd

    rows = [row for enc in encounters for row in enc.rows()]

    def column(name: str) -> Any:
        values = [r[name] for r in rows]
        if name in ("turn_id", "start", "end"):
            return np.array(values, dtype="int64" if name == "turn_id" else "float64")
        if name == "source_line":
            return pd.array(values, dtype="Int64")
        return pd.Series(values, dtype=None if rows else object)

    return {name: column(name) for name in UTTERANCE_COLUMNS}
