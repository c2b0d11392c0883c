"""Who is clinician or leader (responding roles) and who is patient or staff (expressing roles).

Sources are tried in order and the first confident one wins; each speaker records its
``role_source`` and ``role_confidence``:

1. ``user``: an explicit mapping (``--role "Dr Smith=clinician"`` or a mapping file);
2. ``format``: what the file itself says (``_doctor.TextGrid``, a tier name);
3. ``lexicon``: a typo-tolerant lexicon of role words in the label (``Docotr_2``,
   ``Gest_family``, ``Project Manager``, ``The Chair (…)``, ``Dr Smith``);
4. ``content``: for generic labels (``SPEAKER_00``, ``spk_0``, ``A``, real names), cues in what
   each speaker says: question rate, first-person possessives, being addressed as doctor,
   clinician phrases; in meetings, who opens the meeting, hands the floor and thanks others.

When the evidence is weak the role stays ``unknown``: a wrong confident role would corrupt
every score computed later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from .errors import CompassionError, Errors
from .model import ROLES, SETTINGS, Encounter, Role, Setting, Speaker

#: Confidence below which a content guess is not used (the speaker stays ``unknown``).
CONTENT_THRESHOLD = 0.7

_ENTRIES: dict[Role, tuple[str, ...]] = {
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
_LEXICON = {word: role for role, words in _ENTRIES.items() for word in words}
_TITLES = {"dr", "doctor", "nurse", "prof", "professor", "sister", "matron"}
_SHORT = {word for word in _LEXICON if len(word) < 4}

_PAREN = re.compile(r"\([^()]*(?:\([^()]*\)[^()]*)*\)")
_ID_SUFFIX = re.compile(r"(?:[\s_-]*(?:\d{1,3}|[A-Z]))$")
_NON_WORD = re.compile(r"[^a-z ]+")


def _damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment edit distance, stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


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


def _lookup(stem: str) -> tuple[str, float] | None:
    """Match a label stem to a lexicon entry: exact, then by title word, then fuzzy."""
    if not stem:
        return None
    if stem in _LEXICON:
        return stem, 0.95
    words = stem.split()
    if words[0] in _TITLES and len(words) > 1:
        return words[0], 0.9
    if len(stem) < 4:
        return None
    best: tuple[int, str] | None = None
    for entry in _LEXICON:
        if entry in _SHORT:
            continue
        limit = 1 if len(entry) < 8 else 2
        dist = _damerau(stem, entry, limit)
        if dist <= limit and (best is None or dist < best[0]):
            best = (dist, entry)
    if best is not None:
        return best[1], 0.8
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
            found = (found[0], found[1] - 0.1)
    if found is None:
        return None
    return _LEXICON[found[0]], found[1]


def canonical_label(label: str) -> str | None:
    """A key shared by a role word and its typos: ``Docotr_2`` and ``Doctor_2`` → ``doctor#2``."""
    stem, number, _ = _split_label(label)
    found = _lookup(stem)
    if found is None:
        return None
    return f"{found[0]}#{number}"


# ---------------------------------------------------------------- user mappings


def parse_role_mapping(items: Iterable[str]) -> dict[str, Role]:
    """Parse ``["Dr Smith=clinician", …]`` into a mapping (label → role)."""
    mapping: dict[str, Role] = {}
    for item in items:
        label, sep, role = item.rpartition("=")
        role = role.strip().lower()
        if not sep or not label.strip() or role not in ROLES:
            raise CompassionError(Errors.E010, item=item, roles=", ".join(ROLES))
        mapping[label.strip()] = role  # type: ignore[assignment]
    return mapping


def load_role_mapping(path: Path) -> dict[str, Role]:
    """Read a mapping file: a JSON object ``{"label": "role"}`` or ``label=role`` lines."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CompassionError(Errors.E013, path, detail=type(exc).__name__) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CompassionError(Errors.E013, path, detail=f"JSON error line {exc.lineno}") from None
        if not isinstance(data, dict):
            raise CompassionError(Errors.E013, path, detail="expected a JSON object")
        return parse_role_mapping(f"{k}={v}" for k, v in data.items())
    lines = [line.strip() for line in text.splitlines()]
    return parse_role_mapping(line for line in lines if line and not line.startswith("#"))


# ---------------------------------------------------------------- content cues

_QUESTION_START = re.compile(
    r"^(?:and |so |okay |ok |um |uh |right )*(?:what|when|where|why|how|who|which|do|does|did|"
    r"is|are|was|were|have|has|had|can|could|would|will|any|tell me)\b",
    re.IGNORECASE,
)
_CLINICIAN_PHRASES = re.compile(
    r"\b(?:how can i help|what brings you|what can i do for you|i'?d like to examine|"
    r"let me (?:have a look|examine|check)|i'?m going to (?:prescribe|refer|examine)|"
    r"prescribe|any allergies|on a scale of|take a history|past medical history|"
    r"my name is dr|i'?m dr|i'?m doctor|i'?m one of the doctors|"
    r"i'?ll (?:prescribe|refer)|we'?ll (?:do|run|order) (?:some )?(?:blood|tests)|"
    r"safety ?net|come back (?:and see|if)|any other symptoms|do you smoke|"
    r"how much (?:alcohol|do you drink)|any questions)\b",
    re.IGNORECASE,
)
_PATIENT_PHRASES = re.compile(
    r"\b(?:my (?:pain|chest|back|head|stomach|leg|arm|knee|wife|husband|son|daughter|mum|"
    r"mother|doctor|gp|medication|tablets|symptoms|throat)|i'?ve been (?:having|feeling|getting)|"
    r"it hurts|i feel|i'?m worried|i get|i can'?t|thank you,? doctor|thanks,? doc(?:tor)?)\b",
    re.IGNORECASE,
)
_ADDRESS_DOCTOR = re.compile(r"\b(?:doctor|doc|dr)\s*[.,!?]?\s*$|^(?:doctor|doc)\b", re.I)
_MY = re.compile(r"\b(?:my|i'?ve|i'?m|me)\b", re.IGNORECASE)
_CHAIR_PHRASES = re.compile(
    r"\b(?:call (?:the|this) meeting to order|welcome (?:to|back|everyone|everybody)|"
    r"next (?:item|question|speaker|on the agenda)|move on to|let'?s (?:start|begin|move on|"
    r"get started|go (?:on|round|through))|over to you|the floor is yours|you have the floor|"
    r"i'?ll hand over|any (?:other )?(?:comments|questions|thoughts)|"
    r"agenda|thank you (?:very much )?(?:for|mr|mrs|ms|minister)|meeting is adjourned|"
    r"stands adjourned|we'?ll (?:now )?(?:go|move|turn) to|i now (?:call|invite|give)|"
    r"back to you|anyone (?:else|want)|what do you (?:all |guys )?think)\b",
    re.IGNORECASE,
)


def _speaker_features(encounter: Encounter) -> dict[str, dict[str, float]]:
    feats: dict[str, dict[str, float]] = {}
    turns = encounter.turns
    for i, turn in enumerate(turns):
        f = feats.setdefault(
            turn.speaker,
            {"turns": 0, "words": 0, "questions": 0, "clin": 0, "pat": 0, "my": 0,
             "addressed_doctor": 0, "chair": 0, "first": 0, "handoffs": 0},
        )
        text = turn.text
        words = text.split()
        f["turns"] += 1
        f["words"] += len(words)
        sentences = re.split(r"(?<=[.?!])\s+", text)
        f["questions"] += sum(
            1 for s in sentences if s.rstrip().endswith("?") or _QUESTION_START.match(s)
        )
        f["clin"] += len(_CLINICIAN_PHRASES.findall(text))
        f["pat"] += len(_PATIENT_PHRASES.findall(text))
        f["my"] += len(_MY.findall(text))
        f["chair"] += len(_CHAIR_PHRASES.findall(text))
        if i == 0:
            f["first"] = 1
        if any(_ADDRESS_DOCTOR.search(s.strip()) for s in sentences):
            # the addressee is most likely the previous or next speaker
            for j in (i - 1, i + 1):
                if 0 <= j < len(turns) and turns[j].speaker != turn.speaker:
                    other = feats.setdefault(turns[j].speaker, dict.fromkeys(f, 0.0))
                    other["addressed_doctor"] += 1
                    break
        if i + 1 < len(turns) and turns[i + 1].speaker != turn.speaker:
            nxt = encounter.speakers[turns[i + 1].speaker].name.split()[0].lower()
            if len(nxt) > 2 and re.search(rf"\b{re.escape(nxt)}\b", text.lower()):
                f["handoffs"] += 1
    return feats


def _clinical_scores(feats: dict[str, dict[str, float]]) -> dict[str, float]:
    """A responding-role score per speaker: positive leans clinician."""
    scores: dict[str, float] = {}
    for spk, f in feats.items():
        turns = max(f["turns"], 1)
        words = max(f["words"], 1)
        q_rate = f["questions"] / turns
        my_rate = f["my"] / words * 100
        scores[spk] = (
            2.0 * q_rate
            + 0.6 * f["clin"] / turns * 10
            - 0.6 * f["pat"] / turns * 10
            - 0.15 * my_rate
            + 1.0 * min(f["addressed_doctor"], 3)
            + 0.3 * f["first"]
        )
    return scores


def _meeting_scores(feats: dict[str, dict[str, float]]) -> dict[str, float]:
    """A leader score per speaker: opening, floor-handing, chair phrases, share of turns."""
    total_turns = sum(f["turns"] for f in feats.values()) or 1
    scores: dict[str, float] = {}
    for spk, f in feats.items():
        turns = max(f["turns"], 1)
        scores[spk] = (
            1.0 * f["first"]
            + 8.0 * f["chair"] / turns
            + 4.0 * f["handoffs"] / turns
            + 2.0 * f["turns"] / total_turns
        )
    return scores


def _main_speakers(feats: dict[str, dict[str, float]], min_share: float) -> list[str]:
    total = sum(f["words"] for f in feats.values()) or 1
    return [s for s, f in feats.items() if f["words"] / total >= min_share]


def infer_setting(encounter: Encounter, roles: Mapping[str, Role]) -> Setting:
    """``meeting`` when a leader or staff role is known, or three or more people talk a lot."""
    known = set(roles.values())
    if known & {"leader", "staff"} and not known & {"clinician", "patient"}:
        return "meeting"
    if known & {"clinician", "patient"}:
        return "clinical"
    feats = _speaker_features(encounter)
    return "meeting" if len(_main_speakers(feats, 0.08)) >= 3 else "clinical"


def _content_roles(encounter: Encounter, setting: Setting, fixed: Mapping[str, Role]
                   ) -> dict[str, tuple[Role, float]]:
    """Guess roles of the speakers not in ``fixed`` from what they say."""
    feats = _speaker_features(encounter)
    open_speakers = [s for s in feats if s not in fixed]
    if not open_speakers:
        return {}
    out: dict[str, tuple[Role, float]] = {}
    if setting == "clinical":
        respond, express = "clinician", "patient"
        scores = _clinical_scores(feats)
        has_responder = any(r == respond for r in fixed.values())
        has_expresser = any(r == express for r in fixed.values())
        main = [s for s in _main_speakers(feats, 0.05) if s in open_speakers]
        ranked = sorted(main, key=lambda s: -scores[s])
        if not ranked:
            return {}
        if has_responder and not has_expresser:
            top = max(main, key=lambda s: feats[s]["words"])
            out[top] = (express, 0.75)
            return out
        if has_expresser and not has_responder:
            out[ranked[0]] = (respond, 0.75)
            return out
        if len(ranked) == 1:
            return {}
        gap = scores[ranked[0]] - scores[ranked[1]]
        confidence = min(0.99, 0.5 + gap / 4)
        out[ranked[0]] = (respond, confidence)
        for other in ranked[1:]:
            out[other] = (express, confidence)
        return out
    scores = _meeting_scores(feats)
    if any(r == "leader" for r in fixed.values()):
        for spk in open_speakers:
            if feats[spk]["words"] > 0:
                out[spk] = ("staff", 0.8)
        return out
    ranked = sorted(open_speakers, key=lambda s: -scores[s])
    if len(ranked) < 2:
        return {}
    gap = scores[ranked[0]] - scores[ranked[1]]
    confidence = min(0.99, 0.5 + gap / 2)
    out[ranked[0]] = ("leader", confidence)
    for other in ranked[1:]:
        out[other] = ("staff", confidence)
    return out


def _fit_setting(role: Role, setting: Setting) -> Role | None:
    """A lexicon role in this setting, or ``None`` when the word does not decide it.

    A professor or host in a consultation is the clinician; a patient or member in a meeting
    is staff; but a doctor in a meeting may or may not run it, and a 'member' in a
    consultation may be anyone, so those are left to the content cues.
    """
    if setting == "clinical":
        return {"leader": "clinician", "staff": None}.get(role, role)  # type: ignore[return-value]
    return {"clinician": None, "patient": "staff"}.get(role, role)  # type: ignore[return-value]


def assign_roles(
    encounter: Encounter,
    *,
    mapping: Mapping[str, Role] | None = None,
    setting: Setting | None = None,
) -> Encounter:
    """Give every speaker a role, a source and a confidence; decide the setting.

    Args:
        encounter: as read (speakers may carry format hints).
        mapping: explicit user mapping, label or name → role (case-insensitive).
        setting: force ``clinical`` or ``meeting``; by default it is inferred.
    """
    if setting is not None and setting not in SETTINGS:
        raise CompassionError(Errors.E014, name=setting, settings=", ".join(SETTINGS))
    user = {k.casefold(): v for k, v in (mapping or {}).items()}
    decided: dict[str, tuple[Role, str, float]] = {}
    for spk in encounter.speakers.values():
        for key in (spk.label.casefold(), spk.name.casefold(), spk.id.casefold()):
            if key in user:
                decided[spk.id] = (user[key], "user", 1.0)
                break
        else:
            if spk.role_source == "format" and spk.role != "unknown":
                decided[spk.id] = (spk.role, "format", spk.role_confidence)
            else:
                found = lexicon_role(spk.label)
                if found is not None:
                    decided[spk.id] = (found[0], "lexicon", found[1])
    format_setting = encounter.metadata.get("setting")
    chosen: Setting = setting or (
        format_setting if format_setting in SETTINGS else None  # type: ignore[assignment]
    ) or infer_setting(encounter, {k: v[0] for k, v in decided.items()})
    for key, (role, source, conf) in list(decided.items()):
        if source != "user":
            fitted = _fit_setting(role, chosen)
            if fitted is None:
                del decided[key]
            else:
                decided[key] = (fitted, source, conf)
    fixed = {k: v[0] for k, v in decided.items() if v[0] != "other"}
    for spk, (role, conf) in _content_roles(encounter, chosen, fixed).items():
        if spk not in decided and spk != "UNKNOWN":
            if conf >= CONTENT_THRESHOLD:
                decided[spk] = (role, "content", round(conf, 2))
            else:
                decided[spk] = ("unknown", "content", round(conf, 2))
    speakers: dict[str, Speaker] = {}
    for spk in encounter.speakers.values():
        role, source, conf = decided.get(spk.id, ("unknown", "none", 0.0))
        speakers[spk.id] = replace(spk, role=role, role_source=source, role_confidence=conf)
    return replace(encounter, speakers=speakers, setting=chosen)
