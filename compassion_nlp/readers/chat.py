"""CHAT (``.cha``): the transcription format of TalkBank and CLAN.

``@Participants:`` names each speaker code with an optional name and a role
(``DOC Doctor, PAT Jane_Smith Patient``; ``Investigator`` is read as the clinician and
``Participant`` as the patient, as in AphasiaBank); ``*DOC:`` lines are the main tiers (a line that
starts with a tab continues the tier above); ``%mor:``, ``%com:`` and the other dependent tiers
are ignored. Time bullets (``\\x15 1230_4560 \\x15``, milliseconds) give each utterance its
start and end. CHAT transcription codes leave the text and are counted in the turn's flags:
fillers ``&-um``, fragments ``&+fr``, events ``&=laughs``, unintelligible ``xxx``/``yyy``/
``www``, pauses ``(.)``, retracing ``[/]``, overlaps ``[>]``/``[<]``, trailing off ``+...``,
interruptions ``+/.``; replacements ``[: …]``, explanations and error codes in brackets, ``@``
form markers and the ``<…>`` scope brackets are removed.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from pathlib import Path

from ..errors import CompassionError, Errors
from ..lexicon import lexicon_role
from ..markup import event_name as markup_name
from ..model import Role
from .base import Fragment, RawTranscript, ReaderSpec

_BULLET = re.compile(r"\x15\s*(\d+)_(\d+)\s*\x15")
_TIER = re.compile(r"^\*([A-Za-z0-9_]{1,16}):\s?(.*)$")
#: (pattern, flag name or "" for removed without a count), applied in order
_CODES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[/{1,3}\]|\[/-\]"), "retracing"),
    (re.compile(r"\[[<>]\d*\]"), "overlap"),
    (re.compile(r"\[(?::|=!?|\*|\+|%|\^|=\?|:=)[^\]]*\]"), ""),  # replacements, notes, codes
    (re.compile(r"\[[!?]{1,2}\]"), ""),
    (re.compile(r"&-[\w'-]+"), "filler"),
    (re.compile(r"&\+[\w'-]+|&[\w'-]+"), "fragment"),
    (re.compile(r"\b(?:xxx|yyy|www)\b"), "inaudible"),
    (re.compile(r"\((?:\.{1,3}|\d+(?::\d+)?\.\d*)\)"), "pause"),
    (re.compile(r"\+\.\.[.?]"), "trailing_off"),
    (re.compile(r"\+/{1,2}[.?]|\+/\?|\+\"/\.|\+\.\"/\."), "interruption"),
    (re.compile(r"\+(?:\"|,|\+|<|\^|\")"), ""),
    (re.compile(r"(?<=\w)@[\w:]+"), ""),  # word@c, word@s:eng
    (re.compile(r"(?<!\w)0(?=[A-Za-z])\S*"), ""),  # omitted words: 0is
    (re.compile(r"[<>‹›„‡]"), ""),
    (re.compile(r"[↑↓≠∾⁑⤇∬Ϋ∲§∯Ἡ↫]|(?<=\w)[:^](?=\w|\s|$)"), ""),  # prosody inside words
)
_SPACES = re.compile(r"\s+")
#: CHAT's research roles, as clinical corpora (AphasiaBank, DementiaBank) use them: the
#: investigator is the clinician who elicits talk, the participant the person assessed
_CHAT_ROLES: dict[str, tuple[Role, float]] = {
    "investigator": ("clinician", 0.8), "participant": ("patient", 0.8),
}
_EVENT = re.compile(r"&=([\w:'-]+)")


def looks_like_chat(head: str, text: str) -> bool:
    """True for CHAT text: ``@Begin`` or ``@UTF8`` first, and ``*CODE:`` main tiers."""
    first = head.lstrip("\ufeff").lstrip()[:20]
    return first.startswith(("@UTF8", "@Begin")) and re.search(r"^\*\w+:", text, re.M) is not None


def clean_chat(text: str) -> tuple[str, Counter[str]]:
    """A main tier's text without CHAT codes, and the codes removed, counted."""
    flags: Counter[str] = Counter()
    for event in _EVENT.findall(text):  # &=laughs -> laughter, as other formats count it
        flags[markup_name(event)] += 1
    text = _EVENT.sub(" ", text)
    for pattern, name in _CODES:
        text, n = pattern.subn(" ", text)
        if name and n:
            flags[name] += n
    text = text.replace("_", " ").replace("+", " ")
    text = re.sub(r"\s+([.?!,])", r"\1", _SPACES.sub(" ", text)).strip()
    return text, flags


def _participants(value: str, path: Path) -> dict[str, tuple[str, str]]:
    """``DOC Doctor, PAT Jane_Smith Patient`` → code → (label, role word)."""
    out: dict[str, tuple[str, str]] = {}
    for entry in value.split(","):
        words = entry.split()
        if not words:
            continue
        if len(words) > 3:
            raise CompassionError(Errors.E008, path, format="CHAT",
                                  detail=f"a participant of {len(words)} words in @Participants")
        code, role_word = words[0], words[-1].replace("_", " ")
        name = words[1].replace("_", " ") if len(words) == 3 else ""
        out[code] = (name or role_word if len(words) > 1 else code, role_word)
    return out


def parse_chat(text: str, path: Path) -> RawTranscript:
    """One CHAT transcript: fragments per main tier, with times, lines and speakers' roles."""
    participants: dict[str, tuple[str, str]] = {}
    date = ""
    tiers: list[tuple[str, list[str], int]] = []  # code, text lines, line number
    in_main = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("\t") or (line.startswith(" ") and tiers):
            if in_main:
                tiers[-1][1].append(line)
            continue
        in_main = False
        if line.startswith("@Participants:"):
            participants = _participants(line.split(":", 1)[1], path)
        elif line.startswith("@Date:"):
            date = _chat_date(line.split(":", 1)[1])
        elif (m := _TIER.match(line)) is not None:
            tiers.append((m.group(1), [m.group(2)], n))
            in_main = True
    if not tiers:
        raise CompassionError(Errors.E005, path, detail="no *CODE: main tier in the CHAT file")
    fragments: list[Fragment] = []
    hints: dict[str, tuple[Role, float]] = {}
    for code, lines, n in tiers:
        joined = " ".join(part.strip() for part in lines)
        times = _BULLET.findall(joined)
        start = int(times[0][0]) / 1000 if times else None
        end = int(times[-1][1]) / 1000 if times else None
        label, role_word = participants.get(code, (code, ""))
        found = _CHAT_ROLES.get(role_word.lower()) or (
            lexicon_role(role_word) if role_word else None)
        if found is not None:
            hints[label] = found
        fragments.append(Fragment(label, _BULLET.sub(" ", joined), n, start, end))
    return RawTranscript(fragments, role_hints=hints, markup=clean_chat,
                         metadata={"speaker_codes": {c: p[0] for c, p in participants.items()},
                                   "date": date})


def _chat_date(value: str) -> str:
    """``@Date: 01-JAN-2020`` → ``2020-01-01`` (``""`` when it is not a date)."""
    try:
        return datetime.datetime.strptime(value.strip(), "%d-%b-%Y").date().isoformat()
    except ValueError:
        return ""


def _parse(paths: tuple[Path, ...], texts: list[str]) -> list[RawTranscript]:
    return [parse_chat(texts[0], paths[0])]


SPEC = ReaderSpec("chat", (".cha",), _parse, sniff=looks_like_chat, sniff_order=1,
                  aliases=("cha", "clan"))
