"""compassion-nlp: score compassionate communication in clinical and leadership transcripts.

>>> from compassion_nlp import read
>>> [encounter] = read("consultation.vtt")
>>> encounter.to_dataframe()
"""

from __future__ import annotations

from .errors import CompassionError
from .model import Encounter, Piece, Speaker, Turn, Utterance, utterances_dataframe
from .readers import read, read_paths

__version__ = "0.1.0"

__all__ = [
    "CompassionError",
    "Encounter",
    "Piece",
    "Speaker",
    "Turn",
    "Utterance",
    "__version__",
    "read",
    "read_paths",
    "utterances_dataframe",
]
