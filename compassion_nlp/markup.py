"""Transcript markup: tags and non-verbal notes become counts, and leave the classified text.

Handles PriMock57 tags (``<UNSURE>…</UNSURE>``, ``<UNIN/>``, ``<INAUDIBLE_SPEECH/>``), AMI/ICSI
curly notes (``{vocalsound}``, ``{disfmarker}``), bracketed and parenthesised notes
(``[inaudible]``, ``[laughter]``, ``(crosstalk)``), speech-to-text tags (``<laugh>``), HTML
entities, non-breaking and zero-width spaces, control characters, and bare bracketed times
(``[00:01:23]``, removed without a count).
"""

from __future__ import annotations

import html
import re
from collections import Counter

_ALIASES = {
    "unin": "inaudible",
    "inaudible_speech": "inaudible",
    "unintelligible": "inaudible",
    "indiscernible": "inaudible",
    "inaudible": "inaudible",
    "laugh": "laughter",
    "laughs": "laughter",
    "laughing": "laughter",
    "laughter": "laughter",
    "chuckles": "laughter",
    "chuckle": "laughter",
    "cross talk": "crosstalk",
    "cross-talk": "crosstalk",
    "crosstalk": "crosstalk",
    "overlapping": "crosstalk",
    "disfmarker": "disfluency",
    "vocalsound": "vocalsound",
    "nonvocalsound": "nonvocalsound",
    "cough": "cough",
    "coughs": "cough",
    "coughing": "cough",
    "sigh": "sigh",
    "sighs": "sigh",
    "cries": "crying",
    "crying": "crying",
    "pause": "pause",
    "silence": "pause",
    "gap": "gap",
}
_FORMATTING_TAGS = {"i", "b", "u", "c", "v", "font", "span", "ruby", "rt", "lang", "br", "p"}
_PAREN_WORDS = (
    "crosstalk|cross talk|cross-talk|laughs?|laughing|laughter|chuckles?|inaudible|unintelligible"
    "|indiscernible|pause|silence|sighs?|coughs?|coughing|crying|cries|overlapping"
)

_UNSURE = re.compile(r"<\s*unsure\s*>(.*?)<\s*/\s*unsure\s*>", re.IGNORECASE | re.DOTALL)
# no space after "<": "a < b and c > d" is text, not a tag
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9_.-]{0,40})(?:\s[^<>]{0,200})?\s*/?\s*>")
_CURLY = re.compile(r"\{\s*([A-Za-z][A-Za-z_ -]{0,40})\s*\}")
_BRACKET = re.compile(
    r"\[\s*([A-Za-z][A-Za-z' _-]{0,40}?)\s*(?:\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?\s*\]"
)
_PAREN = re.compile(rf"\(\s*({_PAREN_WORDS})\s*\)", re.IGNORECASE)
#: a bare time in brackets inside the text (``[00:01:23]``, ``(12:03)``): removed, not counted
_TIME_NOTE = re.compile(r"[\[(]\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?\s*[\])]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.!?;:])(?=\s|$)")


def event_name(raw: str) -> str:
    """The flag name of a non-verbal note (``"Laughs"`` → ``"laughter"``)."""
    key = raw.strip().lower()
    return _ALIASES.get(key, key.replace(" ", "_"))


def clean(raw: str) -> tuple[str, Counter[str]]:
    """Remove markup from one fragment of transcript text.

    Returns:
        The clean text (single spaces, stripped) and a counter of what was removed.

    Example:
        >>> clean("<UNIN/> Sorry to hear that {vocalsound} .")
        ('Sorry to hear that.', Counter({'inaudible': 1, 'vocalsound': 1}))
    """
    flags: Counter[str] = Counter()
    text = html.unescape(raw) if "&" in raw else raw
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub(" ", text)

    def unsure(match: re.Match[str]) -> str:
        flags["unsure"] += 1
        return f" {match.group(1)} "

    def tag(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        base = name.split(".")[0]
        if base not in _FORMATTING_TAGS:
            flags[event_name(name)] += 1
        return " "

    def note(match: re.Match[str]) -> str:
        flags[event_name(match.group(1))] += 1
        return " "

    text = _UNSURE.sub(unsure, text)
    text = _TAG.sub(tag, text)
    text = _CURLY.sub(note, text)
    text = _BRACKET.sub(note, text)
    text = _PAREN.sub(note, text)
    text = _TIME_NOTE.sub(" ", text)
    text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text, flags
