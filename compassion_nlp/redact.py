"""Redaction of quoted text in feedback reports (``compassion-nlp report --redact``).

Rule based, offline and conservative (it would rather hide a harmless word than show a name):

- names: the names of the expressing speakers (patients, staff) wherever they occur, a
  capitalised word after a title (``Mr``, ``Mrs``, ``Dr`` …) or an introduction (``my name is``,
  ``I'm``, ``call me``), and any other capitalised word inside a sentence that is not a
  common word (:data:`KEEP`); clinicians' and leaders' names (the speakers the report is
  about) are kept;
- dates (numeric, ``12 March 2024``, ``March 12th``, years), phone numbers, e-mail
  addresses, street addresses and postcodes, and record numbers (NHS, MRN and any number of
  five or more digits).

Each becomes a placeholder such as ``[NAME]``. What is not caught: names written in lower
case, and identifying details that are not names or numbers (a rare job, a small village):
read a redacted report before sharing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
          "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[RECORD NO]", re.compile(
        r"\b(?:NHS|MRN|hospital|record|patient|case|ID)\s*(?:number|no\.?|#)?\s*:?\s*"
        r"[A-Z]{0,3}\d[\d -]{3,}\d\b", re.I)),
    ("[RECORD NO]", re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b(?![ -]?\d)")),  # NHS number
    ("[PHONE]", re.compile(r"(?<![\w])(?:\+\d{1,3}[ -]?)?\(?0?\d{2,5}\)?[ -]?\d{3,4}[ -]?\d{3,4}"
                           r"(?![\w])")),
    ("[ADDRESS]", re.compile(
        r"\b\d{1,5}[a-z]?,?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|"
        r"Drive|Dr|Close|Way|Court|Ct|Place|Pl|Crescent|Terrace|Grove|Gardens|Boulevard|Blvd|"
        r"Square|Hill|Park|Row|Mews|Walk)\b\.?", re.I)),
    ("[POSTCODE]", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")),  # UK
    ("[DATE]", re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")),
    ("[DATE]", re.compile(rf"\b(?:{_DAY}\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?|"
                          rf"(?:{MONTHS})\.?\s+{_DAY}\b(?:,?\s+\d{{4}})?|"
                          rf"(?:{MONTHS})\s+\d{{4}})\b", re.I)),
    ("[DATE]", re.compile(r"\b(?:19|20)\d{2}\b")),
    ("[RECORD NO]", re.compile(r"\b[A-Z]{0,3}\d{5,}\b")),
    ("[NUMBER]", re.compile(r"\b\d{4}\b")),  # what is left of four digits: part of an id
)
TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Doctor|Nurse|Sister|Prof|Professor|Sir|Dame|Lady|Lord)\.?"
INTRODUCTIONS = r"(?:my name is|name's|I'm|I am|call me|this is|it's|speaking to|with)"
#: capitalised words kept inside a sentence (others are taken for names)
KEEP = frozenset([
    "i", "i'm", "i've", "i'll", "i'd", "ok", "okay", "oh", "um", "uh", "mm", "hmm", "yeah",
    "yes", "no", "god", "christmas", "easter", "english", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "today", "tomorrow", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "doctor", "dr", "nurse", "mr", "mrs", "ms", "miss", "sir", "madam", "gp",
    "nhs", "a&e", "er", "icu", "covid", "tv", "mri", "ct", "ecg", "uk", "us",
])
#: speaker labels that are not names (``Patient``, ``Speaker 2``, ``2``)
GENERIC = re.compile(r"(?:(?:the\s+)?(?:patient|client|doctor|clinician|nurse|counsellor|"
                     r"counselor|therapist|interviewer|participant|speaker|staff|leader|chair|"
                     r"member|unknown|caller|user|p|d|s|c)[\s_-]*[\w]?\d*|\d+)", re.I)
_WORD = re.compile(r"\b[A-Z][a-zA-Z'’-]+\b")


class Redactor:
    """Replaces identifying details in quoted text with placeholders.

    Args:
        names: names to hide wherever they occur (each word of each name, case-insensitive).
        keep: names to keep (the clinicians and leaders the report is about).
    """

    def __init__(self, names: Iterable[str] = (), keep: Iterable[str] = ()):
        self.keep = {w.lower() for name in keep for w in re.findall(r"[\w'’-]+", str(name))}
        full = {" ".join(str(name).split()) for name in names
                if str(name).strip() and not GENERIC.fullmatch(str(name).strip())}
        words = {w for name in full for w in re.findall(r"[\w'’-]+", name)
                 if len(w) > 1 and w.lower() not in self.keep and not w.isdigit()}
        # whole names first (longest first), then their words
        found = sorted(full - {n for n in full if n.lower() in self.keep}, key=len, reverse=True)
        alternatives = [re.escape(n).replace(r"\ ", r"\s+") for n in found] + sorted(
            map(re.escape, words))
        self._names = (re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])", re.I)
                       if alternatives else None)
        self._titled = re.compile(rf"\b({TITLES})\s+[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?")
        self._introduced = re.compile(rf"\b((?i:{INTRODUCTIONS}))\s+[A-Z][\w'’-]+")

    def __call__(self, text: str | None) -> str | None:
        """The text with identifiers replaced (``None`` stays ``None``)."""
        if text is None:
            return None
        for placeholder, pattern in PATTERNS:
            text = pattern.sub(placeholder, text)
        text = self._titled.sub(lambda m: self._unless_kept(m, f"{m.group(1)} [NAME]"), text)
        text = self._introduced.sub(lambda m: self._unless_kept(m, f"{m.group(1)} [NAME]"), text)
        if self._names is not None:
            text = self._names.sub("[NAME]", text)
        return self._capitalised(text)

    def _unless_kept(self, match: re.Match[str], replacement: str) -> str:
        last = match.group(0).split()[-1].lower()
        return match.group(0) if last in self.keep else replacement

    def _capitalised(self, text: str) -> str:
        def replace(m: re.Match[str]) -> str:
            word = m.group(0)
            before = text[:m.start()].rstrip()
            starts_sentence = not before or before[-1] in ".!?:;\"“(…-–—"
            if (starts_sentence or word.lower() in KEEP or word.lower() in self.keep
                    or word.isupper()):
                return word
            return "[NAME]"
        return _WORD.sub(replace, text)
