"""compassion-nlp: score compassionate communication in clinical and leadership transcripts.

>>> from compassion_nlp import load
>>> scorer = load()                       # the shipped model, offline
>>> scored = scorer("consultation.vtt")   # read, segment, roles, classify, link, score
>>> scored.compassion.value, scored.missed_opportunities
>>> scored.utterances_df()

>>> from compassion_nlp import score      # or in one call, the model kept between calls
>>> results = score(["transcripts/"])

>>> from compassion_nlp import read       # reading only
>>> [encounter] = read("consultation.vtt")
>>> encounter.to_dataframe()
"""

from __future__ import annotations

from .errors import CompassionError
from .model import Encounter, Piece, Speaker, Turn, Utterance, utterances_dataframe
from .pipeline import read, read_paths, read_string
from .scoring import ScoredEncounter, Scorer, load, score
from .version import __version__

__all__ = [
    "CompassionError",
    "Encounter",
    "Piece",
    "Speaker",
    "Turn",
    "Utterance",
    "__version__",
    "ScoredEncounter",
    "Scorer",
    "load",
    "read",
    "read_paths",
    "read_string",
    "score",
    "utterances_dataframe",
]
