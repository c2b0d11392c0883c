"""The word lists every stage shares: role words, back-channels, generic speaker labels.

Below every stage (readers, roles, linking, measures import it; it imports only the data model's
types). What a word list decides is written here once:

- :data:`ROLE_WORDS`: the role a speaker label names (``doctor``, ``chair``, ``carer``…), with
  :func:`lexicon_role` for typo-tolerant lookup (``Docotr_2``) and :func:`canonical_label` for
  the key that typos of one label share;
- :func:`is_backchannel`: talk that neither responds nor moves the conversation on;
- :data:`GENERIC_LABEL`: speaker labels that name no one (``Speaker 1``, ``spk_0``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Role

ROLE_WORDS: dict[Role, tuple[str, ...]] = {
    "clinician": (
        "doctor", "dr", "doc", "d", "gp", "physician", "clinician", "nurse", "np", "rn",
        "therapist", "counsellor", "counselor", "psychologist", "psychiatrist", "consultant",
        "surgeon", "midwife", "pharmacist", "provider", "practitioner", "resident",
        "registrar", "medic", "paramedic", "attending", "physio", "physiotherapist", "dentist",
        "guest clinician", "clinician guest", "health visitor", "hcp", "interviewer",
        "examiner", "dietitian", "nurse practitioner",
    ),
    "patient": (
        "patient", "p", "pt", "pat", "client", "family", "guest family", "family guest",
        "guest", "carer", "caregiver", "relative", "mother", "mom", "mum", "father", "dad",
        "parent", "wife", "husband", "son", "daughter", "partner", "spouse", "friend",
        "patient guest", "guest patient", "interviewee", "service user",
    ),
    "leader": (
        "chair", "the chair", "chairman", "chairwoman", "chairperson", "convenor", "convener",
        "host", "moderator", "facilitator", "project manager", "pm", "manager", "team leader",
        "leader", "lead", "professor", "prof", "supervisor", "director", "ward manager",
        "matron", "presiding officer", "deputy presiding officer",
    ),
    "staff": (
        "member", "staff", "participant", "team member", "attendee", "marketing",
        "user interface", "industrial designer", "phd", "grad", "postdoc", "student",
        "undergrad", "committee member", "researcher", "engineer", "designer", "analyst",
    ),
    "other": (
        "interpreter", "translator", "scribe", "assistant", "observer", "narrator", "dax",
        "note taker",
    ),
}
#: role word → role
ROLE_OF: dict[str, Role] = {word: role for role, words in ROLE_WORDS.items() for word in words}
_TITLES = {"dr", "doctor", "nurse", "prof", "professor", "sister", "matron"}
#: entries that a near miss may match (``Docotr``, ``Pateint``, ``Gest_family``): role words
#: only; kinship words and short words are left out, since names come near them (``Mather``,
#: ``Carey``, ``Leah``)
_FUZZY = frozenset({
    "doctor", "clinician", "physician", "patient", "nurse", "therapist", "counsellor",
    "counselor", "psychologist", "psychiatrist", "consultant", "practitioner",
    "nurse practitioner", "guest clinician", "clinician guest", "guest family", "family guest",
    "patient guest", "guest patient", "family", "caregiver", "moderator", "facilitator",
    "chairperson", "chairman", "chairwoman", "project manager", "professor", "interviewer",
    "interviewee", "physiotherapist", "paramedic", "pharmacist", "surgeon", "midwife",
})

_PAREN = re.compile(r"\([^()]*(?:\([^()]*\)[^()]*)*\)")
#: a speaker number or letter at the end: ``Doctor_2``, ``Guest_family2``, ``Professor B``
_ID_SUFFIX = re.compile(r"(?:[\s_-]*(?:\d{1,3}|[A-Za-z]))$")
#: words that do not change the role: ``The Acting Chair``, ``Co-chair``, ``Head nurse``
_MODIFIERS = frozenset({
    "the", "acting", "deputy", "vice", "co", "interim", "temporary", "assistant", "associate",
    "senior", "junior", "head", "chief", "second", "main", "lead", "staff", "community",
    "district", "practice", "specialist", "trainee", "student",
})
_NON_WORD = re.compile(r"[^a-z ]+")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment edit distance (rapidfuzz), ``limit + 1`` past ``limit``."""
    from rapidfuzz.distance import OSA

    return int(OSA.distance(a, b, score_cutoff=limit))


def _split_label(label: str) -> tuple[str, str, str]:
    """``'Docotr_2'`` → (``'docotr'``, ``'2'``, ``''``); the third part is text in brackets."""
    name = label.replace("_", " ").strip()
    inner = " ".join(m.group(0)[1:-1] for m in _PAREN.finditer(name))
    name = _PAREN.sub(" ", name).strip()
    number = ""
    m = _ID_SUFFIX.search(name)
    if m and len(name) > len(m.group(0).strip()) and (
        m.group(0).strip().isdigit() or m.group(0).startswith((" ", "_", "-"))
    ):
        number = m.group(0).strip(" _-")
        name = name[: m.start()]
    name = re.sub(r"\s+", " ", _NON_WORD.sub(" ", name.lower())).strip()
    return name, number, inner


def _lookup(stem: str) -> tuple[str, float, bool] | None:
    """Match a label stem to a lexicon entry: exact, by title word (``dr smith``), past
    modifiers (``the acting chair``), or as a near miss (``docotr``).

    Returns the entry, a confidence, and whether it was a near miss.
    """
    if not stem:
        return None
    if stem in ROLE_OF:
        return stem, 0.95, False
    words = stem.split()
    if words[0] in _TITLES and len(words) > 1:
        return words[0], 0.9, False
    rest = words
    while len(rest) > 1 and rest[0] in _MODIFIERS:
        rest = rest[1:]
        if " ".join(rest) in ROLE_OF:
            return " ".join(rest), 0.9, False
    if len(stem) < 4:
        return None
    best: tuple[int, str] | None = None
    for entry in _FUZZY:
        limit = 1 if len(entry) < 8 else 2
        dist = edit_distance(stem, entry, limit)
        if dist <= limit and (best is None or (dist, entry) < best):
            best = (dist, entry)
    if best is not None:
        return best[1], 0.8, True
    return None


def lexicon_role(label: str) -> tuple[Role, float] | None:
    """The role a label names, with a confidence, or ``None``.

    Example:
        >>> lexicon_role("Docotr_2")
        ('clinician', 0.8)
    """
    stem, _, inner = _split_label(label)
    found = _lookup(stem)
    if found is None and inner:
        found = _lookup(_split_label(inner)[0])
        if found is not None:
            found = (found[0], found[1] - 0.1, found[2])
    if found is None:
        return None
    return ROLE_OF[found[0]], round(found[1], 2)


def canonical_label(label: str) -> str | None:
    """A key shared by a role word and its typos: ``Docotr_2`` and ``Doctor_2`` → ``doctor#2``.

    The number or letter that tells speakers apart is part of the key (``Speaker 1`` and
    ``Speaker 2``, ``Guest_family_1`` and ``Guest_family_2``, ``Professor B`` and
    ``Professor D`` stay apart), and so is a name after a title (``Dr Smith``, ``Dr Jones``).
    """
    stem, number, _ = _split_label(label)
    found = _lookup(stem)
    if found is None:
        return None
    entry, _, near_miss = found
    # only a near miss (a typo) is keyed by the entry it is near; ``The Acting Chair``,
    # ``Head Nurse`` and ``Dr Smith`` keep their whole name, apart from ``The Chair``,
    # ``Nurse`` and ``Dr Jones``
    return f"{entry if near_miss else stem}#{number}"


#: file-name suffixes of one-file-per-speaker formats that name the speaker's role
#: (``X_doctor.TextGrid``)
SUFFIX_WORDS: tuple[str, ...] = ("doctor", "clinician", "gp", "nurse", "patient", "client",
                                 "carer", "interviewer", "interviewee", "leader", "chair",
                                 "staff")

#: speaker labels that name no one: ``Speaker 1``, ``spk_0``, ``Caller``, ``unknown``
GENERIC_LABEL = re.compile(
    r"^(?:speaker|spk|spkr|s|person|participant|caller|agent|customer|interviewer|"
    r"interviewee|respondent|unknown)[\s_-]*\d{0,3}$",
    re.IGNORECASE,
)

_BACKCHANNEL = re.compile(
    r"^(?:(?:mm+[- ]?hm+|m+hm+|uh[- ]?huh|hmm+|mm+|yeah|yes|yep|yup|ok(?:ay)?|right|alright|"
    r"all right|sure|i see|oh|ah|aha|uh|um|er|erm|good|great|fine|got it|gotcha|cool|"
    r"wow|really|no|nope|exactly|absolutely|of course|thank you|thanks)[\s,.!?]*)+$",
    re.IGNORECASE,
)


@lru_cache(maxsize=65536)
def is_backchannel(text: str) -> bool:
    """True for back-channels and fillers that neither respond nor move the talk on.

    Example:
        >>> is_backchannel("Mm-hm."), is_backchannel("That sounds hard.")
        (True, False)
    """
    stripped = text.strip().strip(".,!?…").strip()
    return not stripped or bool(_BACKCHANNEL.match(stripped))
