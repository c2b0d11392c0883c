"""The settings that shape a scoring run, in one frozen object recorded in ``run.json``.

>>> from compassion_nlp.config import ScoringConfig
>>> ScoringConfig().cue_window
2
>>> ScoringConfig(top_exemplary=5).top_exemplary
5
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: the default weights of the compassion score's components
COMPONENT_WEIGHTS: dict[str, float] = {
    "responsiveness": 2.0, "compassionate_talk": 1.0, "depth": 1.0, "inclusiveness": 1.0,
}


@dataclass(frozen=True)
class ScoringConfig:
    """Everything a scoring run decides besides the model (defaults are the documented ones).

    Attributes:
        cue_window: substantive responding utterances looked at after a cue (the codebook: 2).
        weights: the compassion score's component weights.
        talk_full_marks: compassionate statements per 10 responding utterances for full marks.
        inclusive_full_marks: INCLUSIVE statements per leader turn for full marks.
        top_exemplary: exemplary moments kept per encounter.
        segment_max_words: an unpunctuated run longer than this is cut into clauses.
        segment_min_words: a long sentence is cut at a comma + marker only after this many
            words.
        segment_long_words: a punctuated sentence is left whole up to this many words.
    """

    cue_window: int = 2
    weights: dict[str, float] = field(default_factory=lambda: dict(COMPONENT_WEIGHTS))
    talk_full_marks: float = 1.5
    inclusive_full_marks: float = 0.2
    top_exemplary: int = 3
    segment_max_words: int = 40
    segment_min_words: int = 12
    segment_long_words: int = 80

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENT_WEIGHTS)
        if unknown:
            from .errors import CompassionError, Errors

            raise CompassionError(Errors.E023, names=", ".join(sorted(unknown)),
                                  known=", ".join(COMPONENT_WEIGHTS))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (as recorded in ``run.json``)."""
        return asdict(self)


DEFAULT_CONFIG = ScoringConfig()
