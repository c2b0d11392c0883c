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
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path

from .errors import CompassionError, Errors
from .lexicon import ROLE_OF, lexicon_role
from .model import ROLES, SETTINGS, Encounter, Role, Setting, Speaker

#: Confidence below which a content guess is not used (the speaker stays ``unknown``). Chosen
#: on the tuning half of the shared corpora as the lowest value with every corpus at 95 %
#: accuracy or more; on the held-out half: 82.5 % of speakers get a role, 99.0 % of them the
#: right one (``evaluation/roles/README.md``).
CONTENT_THRESHOLD = 0.8

# ---------------------------------------------------------------- user mappings


def parse_role_mapping(items: Iterable[str]) -> dict[str, Role]:
    """Parse ``["Dr Smith=clinician", …]`` into a mapping (label → role).

    The role is one of :data:`~compassion_nlp.model.ROLES`, or a role word of the lexicon
    spelled out (``doctor``, ``nurse``, ``chair``, ``carer``: ``Ann=doctor`` means clinician).
    """
    mapping: dict[str, Role] = {}
    for item in items:
        label, sep, role = str(item).rpartition("=")
        role = role.strip().lower()
        if role not in ROLES:
            role = ROLE_OF.get(re.sub(r"[\s_-]+", " ", role), role) if len(role) > 1 else role
        # "Doctor==patient" is a typo, not a speaker called "Doctor="
        label = label.strip()
        bad_label = not label or label.startswith("=") or label.endswith("=")
        if not sep or bad_label or role not in ROLES:
            raise CompassionError(Errors.E010, item=item, roles=", ".join(ROLES))
        mapping[label] = role  # type: ignore[assignment]
    return mapping


def speaker_keys(encounter: Encounter) -> set[str]:
    """Every spelling of the encounter's speakers that a role mapping can name (case-folded)."""
    return {key.strip().casefold() for s in encounter.speakers.values()
            for key in (s.label, s.name, s.id)}


def check_mapping_used(mapping: Mapping[str, Role], seen: set[str]) -> None:
    """E025 when a label of ``mapping`` names no speaker in ``seen`` (:func:`speaker_keys`)."""
    unused = sorted(label for label in mapping if label.strip().casefold() not in seen)
    if unused:
        raise CompassionError(Errors.E025, labels=", ".join(repr(x) for x in unused))


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
            raise CompassionError(
                Errors.E013, path, detail=f"JSON error line {exc.lineno}"
            ) from None
        if not isinstance(data, dict):
            raise CompassionError(Errors.E013, path, detail="expected a JSON object")
        return parse_role_mapping(f"{k}={v}" for k, v in data.items())
    lines = [line.strip() for line in text.splitlines()]
    return parse_role_mapping(line for line in lines if line and not line.startswith("#"))


# ---------------------------------------------------------------- content cues
#
# Each speaker gets a few rates computed from what they say. In a consultation the rates are
# compared with the other speakers' (clinicians ask, plan and say "you"; patients answer and
# say "I" and "my"), in a meeting they describe the leader (opens and closes the meeting,
# speaks to many, hands the floor, runs the agenda). A logistic model turns the features into
# a probability; its weights were fitted on the tuning half of the shared corpora with
# ``evaluation/roles/fit_weights.py`` and checked on the other half
# (``evaluation/roles/README.md``).
#
# The patterns counted with ``findall`` are written in lower case and matched against the
# lower-cased turn: about three times faster than re.IGNORECASE, and the same counts.

_SENT_SPLIT = re.compile(r"(?<=[.?!])\s+")
_QUESTION_START = re.compile(
    r"^(?:(?:and|so|okay|ok|um|uh|right|alright|now|well|oh|also|then|mm|hmm)[\s,]+)*"
    r"(?:what|when|where|why|how|who|which|whose|do|does|did|is|are|was|were|have|has|had|"
    r"can|could|would|will|should|shall|may|any|anything|tell me|describe)\b",
    re.IGNORECASE,
)
#: questions put to the other person, found with or without punctuation (speech-to-text)
_YOU_QUESTION = re.compile(
    r"\b(?:do|did|does|have|are|were|can|could|would|will|is|has) (?:you|your|it|that|the|this|"
    r"anyone|anybody)\b|\bhow (?:are|is|long|often|much|many|old|bad|about|have|did|do)\b|"
    r"\bwhat (?:is|are|was|were|do|did|does|kind|sort|type|brings|happened|about|else|"
    r"medications?)\b|\bwhen did\b|\bany (?:other|pain|problems?|questions?|allergies|"
    r"history|changes?)\b|\btell me\b",
)
_YOU = re.compile(r"\b(?:you|your|yours|yourself|you'?re|you'?ve|you'?ll|you'?d)\b")
_I = re.compile(r"\b(?:i|me|my|mine|myself|i'?m|i'?ve|i'?d)\b")
#: talk about a third person: a relative speaks of the patient
_THIRD = re.compile(r"\b(?:he|she|him|her|his|hers|himself|herself|he'?s|she'?s)\b")
_KIN = re.compile(
    r"\b(?:my|our) (?:husband|wife|son|daughter|mother|father|mum|mom|dad|child|children|kids?|"
    r"baby|boy|girl|partner|brother|sister|grandson|granddaughter|grandmother|grandfather|"
    r"grandma|grandpa|nan|aunt|uncle|parents?)\b",
)
_WE = re.compile(r"\b(?:we|our|ours|us|we'?re|we'?ll|we'?ve|let'?s)\b")
_ANSWER = re.compile(
    r"^(?:(?:um|uh|oh|well|mm)[\s,]+)*(?:yes|yeah|yep|yup|no|nope|nah|not really|mm-?hmm|"
    r"uh-?huh|i think so|i don'?t think so|i don'?t know|sometimes|never|correct|right)\b",
    re.IGNORECASE,
)
_PLAN = re.compile(
    r"\b(?:i'?ll|i will|i'?m going to|i'?m gonna|we'?ll|we will|we'?re going to|we'?re gonna|"
    r"let'?s|let me|i want you to|i'?d like you to|i'?d like to|i (?:would )?recommend|"
    r"i (?:would )?suggest|i'?d suggest|i'?m going to|we can|we could|you should|you need to|"
    r"make sure you|go ahead and)\b",
)
_CLINICIAN_PHRASES = re.compile(
    r"\b(?:how can i help|what brings you|what can i do for you|what seems to be|"
    r"i'?d like to (?:examine|have a look|take a look)|let me (?:have a look|take a look|"
    r"examine|check|listen)|i'?m going to (?:prescribe|refer|examine|order)|prescribe|"
    r"any allergies|on a scale of|past medical history|family history|my name is dr|i'?m dr|"
    r"i'?m doctor|i'?m one of the doctors|i'?ll (?:prescribe|refer|order)|"
    r"(?:do|run|order) (?:some )?(?:blood|tests|labs|bloods)|safety ?net|come back (?:and see|if)|"
    r"any other symptoms|do you smoke|how much (?:alcohol|do you drink)|any questions|"
    r"how (?:are|have) you been|how are you (?:doing|feeling)|physical exam|your (?:symptoms|"
    r"pain|blood pressure|medications?|results)|did you|have you (?:had|been|noticed|tried)|"
    r"when did (?:this|it|that|the)|does it|is it|on exam|we'?ll see you|follow up)\b",
)
_PATIENT_PHRASES = re.compile(
    r"\b(?:my (?:pain|chest|back|head|stomach|leg|legs|arm|knee|knees|wife|husband|son|daughter|"
    r"mum|mom|mother|dad|father|doctor|gp|medication|medications|meds|tablets|pills|symptoms|"
    r"throat|foot|feet|neck|shoulder|hip|eyes?|ears?|skin|heart|breathing|blood|sugar|joints?|"
    r"hands?|job|work|kids|children)|i'?ve been (?:having|feeling|getting|taking|trying)|"
    r"it hurts|it'?s been|i feel|i'?m feeling|i'?m worried|i get|i can'?t|i'?ve had|i had|"
    r"i take|i'?m taking|i was|thank you,? doctor|thanks,? doc(?:tor)?|i noticed|"
    r"i haven'?t|i don'?t|i didn'?t)\b",
)
_ADDRESS_DOCTOR = re.compile(
    r"\b(?:thanks?|thank you|yes|no|okay|hi|hello|morning|afternoon|sure|right)[\s,]+"
    r"(?:doctor|doc|dr)\b|\b(?:doctor|doc)\s*[.,!?]?\s*$|^(?:doctor|doc)\b[\s,]",
    re.IGNORECASE,
)
_CHAIR_PHRASES = re.compile(
    r"\b(?:call (?:the|this) meeting to order|welcome (?:to|back|everyone|everybody|all)|"
    r"next (?:item|question|speaker|point|meeting|on the agenda|thing)|move on|moving on|"
    r"let'?s (?:start|begin|move|get started|go|see|have|talk|look|do|take|continue)|"
    r"over to you|the floor|i'?ll hand over|hand (?:it )?over|any (?:other )?(?:comments|"
    r"questions|thoughts|business|points)|anything else|agenda|minutes|thank you (?:very much|"
    r"all|everyone|for)|adjourn(?:ed)?|we'?ll (?:now )?(?:go|move|turn) to|i now (?:call|invite|"
    r"give)|back to you|anyone (?:else|want)|what do you (?:all |guys )?think|"
    r"(?:today'?s|this) meeting|(?:the|our) (?:last|next|first) meeting|presentations?|"
    r"item \w+|in order|who wants to|(?:go|start) (?:first|next)|i call|we have|we need to|"
    r"questions from|honourable member|order, please|resume|session|the committee|"
    r"(?:the|your) time is up|we'?re out of time|(?:point|question) of order|apologies|"
    r"declarations? of interest|witness(?:es)?|evidence session|papers to note|"
    r"(?:mr|mrs|ms|dr)\.? [a-z]+,? (?:you have|go ahead|please))\b",
)
#: a turn that steers: "Okay, so the next thing…", "Right. Now…"
_STEER = re.compile(
    r"^(?:(?:um|uh|mm)[\s,.]+)*(?:okay|ok|alright|all right|right|so|now|good|great|well)\b"
    r"[\s,.]+(?:so|um|uh|then|now|let'?s|we|the next|next|moving|i think we|shall|"
    r"should|what|who|anyone|anybody|any)\b",
    re.IGNORECASE,
)
#: a question to the group
_GROUP_Q = re.compile(
    r"\b(?:shall we|should we|do we|can we|are we|does anyone|does anybody|did anyone|"
    r"has anyone|anyone else|anybody else|everyone|everybody|you guys|all of you|"
    r"what do you (?:all |guys )?think|any (?:other )?(?:ideas|questions|comments|thoughts|"
    r"objections|suggestions)|is that (?:okay|ok|alright|all right|agreed)|are we all|"
    r"are you (?:all )?happy)\b",
)
#: a turn that ends by naming who speaks next: "Thank you. Ann Jones." / "Mr. Smith."
_HANDOFF = re.compile(
    r"(?:^|[.?!,]\s+)(?:(?:the )?(?:hon(?:ourable)?\.? )?(?:mr|mrs|ms|miss|dr|minister|"
    r"professor)\.?\s+)?[A-Z][a-z'-]+(?:\s+(?:[A-Z][a-z'-]+|van|de|le|la)){0,2}[.?!]?\s*$"
)
_NOT_NAMES = frozenset({
    "Okay", "Ok", "Yes", "Yeah", "No", "Right", "Thanks", "Good", "Great", "Sure", "Alright",
    "Fine", "Well", "So", "Um", "Uh", "Hmm", "Mm", "Oh", "Exactly", "Absolutely", "Correct",
    "True", "Indeed", "Agreed", "Perfect", "Cool", "Nice", "Sorry", "Bye", "Cheers", "Thank",
    "Pardon", "What", "Why", "How", "Really", "Maybe", "Probably", "Definitely", "Hello",
    "Hi", "Wow", "Interesting", "Anyway", "Anyways", "And", "But", "Or", "Huh", "Uh-huh",
    "Mm-hmm", "Hmm-mm", "Ah", "Oops", "Done", "Nope", "Yep", "Yup", "Now",
    "Then", "Lovely", "Brilliant", "Excellent", "Precisely", "Totally", "Same",
    "Please", "Wait", "Hang", "Hold", "Diolch", "Bore", "Is", "It", "That", "This",
    "Whatever", "Possibly", "Certainly", "Obviously", "Again", "Too", "Also",
})
#: words of illness and treatment; meetings of the shared corpora use under 4 per 1,000 words,
#: consultations over 8 (short fragments excepted)
_MEDICAL = re.compile(
    r"\b(?:pain(?:ful)?|medications?|medicines?|symptoms?|hospital|blood|tablets?|pills?|"
    r"prescri\w+|dose|doses|mg|milligrams?|infections?|fever|cough(?:ing)?|headaches?|chest|"
    r"allerg\w+|surgery|diagnos\w+|treatments?|x-?rays?|scan|diabetes|nausea|vomit\w*|"
    r"breath\w*|swollen|swelling|heart|lungs?|stomach|injur\w+|ache|aches|sore|rash|bleeding|"
    r"antibiotics?|ibuprofen|paracetamol|tylenol|advil|pregnan\w+|urine|bowel|cancer|"
    r"arthritis|asthma|hurts?|dizz\w+|appointment|exam|examine|clinic|doctor|nurse|patient|"
    r"anxiety|depress\w+|therapy|counsell?ing|panic|inhaler|injection|vaccin\w+|ointment|"
    r"cream|bruis\w+|fracture|sprain\w*|migraine|insulin|cholesterol|physio\w*)\b",
)


def _sigmoid(z: float) -> float:
    if z < -35:
        return 0.0
    if z > 35:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


_COUNTS = (
    "turns", "words", "sentences", "questions", "q_turns", "you_q", "you", "i", "we",
    "answers", "plan", "clin", "pat", "addressed_doctor", "chair", "handoffs", "long_turns",
    "opens", "closes", "early", "medical", "steer", "group_q", "successors", "third", "kin",
)


def _speaker_stats(encounter: Encounter) -> dict[str, dict[str, float]]:
    """Counts per speaker (no text kept): turns, words, questions, pronouns, phrases…"""
    stats: dict[str, dict[str, float]] = {}
    turns = [t for t in encounter.turns if t.speaker != "UNKNOWN" and t.text.strip()]
    substantial = [i for i, t in enumerate(turns) if len(t.text.split()) >= 3]
    first_sub = turns[substantial[0]].speaker if substantial else None
    last_sub = turns[substantial[-1]].speaker if substantial else None
    early = [turns[i].speaker for i in substantial[:10]]
    opening = _FORMAL_OPENING.search(turns[substantial[0]].text) if substantial else None
    prev_question = False
    for i, turn in enumerate(turns):
        f = stats.setdefault(turn.speaker, dict.fromkeys(_COUNTS, 0.0))
        text = turn.text
        n_words = len(text.split())
        sentences = [s for s in _SENT_SPLIT.split(text) if s.strip()]
        questions = sum(
            1 for s in sentences if s.rstrip().endswith("?") or _QUESTION_START.match(s.strip())
        )
        f["turns"] += 1
        f["words"] += n_words
        f["sentences"] += len(sentences)
        f["questions"] += questions
        f["q_turns"] += questions > 0
        low = text.lower()
        you_questions = len(_YOU_QUESTION.findall(low))
        f["you_q"] += you_questions
        f["you"] += len(_YOU.findall(low))
        f["i"] += len(_I.findall(low))
        f["we"] += len(_WE.findall(low))
        f["third"] += len(_THIRD.findall(low))
        f["kin"] += len(_KIN.findall(low))
        f["plan"] += len(_PLAN.findall(low))
        f["clin"] += len(_CLINICIAN_PHRASES.findall(low))
        f["pat"] += len(_PATIENT_PHRASES.findall(low))
        f["chair"] += len(_CHAIR_PHRASES.findall(low))
        f["medical"] += len(_MEDICAL.findall(low))
        f["long_turns"] += n_words >= 30
        f["steer"] += n_words >= 5 and bool(_STEER.match(text.strip()))
        f["group_q"] += len(_GROUP_Q.findall(low))
        if prev_question and _ANSWER.match(text.strip()):
            f["answers"] += 1
        prev_question = questions > 0 or you_questions > 0
        if any(_ADDRESS_DOCTOR.search(s.strip()) for s in sentences):
            # the person addressed is most likely the speaker just before, else just after
            for j in (i - 1, i + 1):
                if 0 <= j < len(turns) and turns[j].speaker != turn.speaker:
                    other = stats.setdefault(turns[j].speaker, dict.fromkeys(_COUNTS, 0.0))
                    other["addressed_doctor"] += 1
                    break
        if i + 1 < len(turns) and turns[i + 1].speaker != turn.speaker:
            m = _HANDOFF.search(sentences[-1].strip() if sentences else "")
            if m is not None:
                last_word = re.sub(r"[.?!]", "", m.group(0)).split()
                if last_word and last_word[0].strip(",") not in _NOT_NAMES:
                    f["handoffs"] += 1
    followers: dict[str, set[str]] = {}
    for a, b in zip(turns, turns[1:], strict=False):
        if a.speaker != b.speaker:
            followers.setdefault(a.speaker, set()).add(b.speaker)
    for spk, f in stats.items():
        f["successors"] = len(followers.get(spk, ())) / max(len(stats) - 1, 1)
        f["opens"] = float(spk == first_sub)
        f["formal_open"] = float(spk == first_sub and bool(opening))
        f["closes"] = float(spk == last_sub)
        f["early"] = early.count(spk) / len(early) if early else 0.0
    return stats


def _rate(f: Mapping[str, float], pooled: Mapping[str, float], key: str, per: str,
          prior_n: float) -> float:
    """A smoothed rate: few words or turns shrink it toward the encounter's pooled rate."""
    prior = pooled[key] / pooled[per] if pooled[per] else 0.0
    return (f[key] + prior_n * prior) / (f[per] + prior_n)


def _load_weights() -> tuple[dict[str, float], dict[str, float]]:
    """The content models' (feature, weight) pairs, fitted by ``evaluation/roles/fit_weights.py``
    on the tuning half of the shared corpora and stored in ``resources/role_weights.json``:
    the consultation model (positive leans clinician) and the meeting model (positive leans
    leader; ``bias`` is the intercept)."""
    data = json.loads(
        resources.files("compassion_nlp").joinpath("resources/role_weights.json").read_text()
    )
    return dict(data["clinical"]), dict(data["meeting"])


CLINICAL_WEIGHTS, MEETING_WEIGHTS = _load_weights()


#: a consultation of this many turns counts half as much as a long one: the features are
#: scaled by turns / (turns + this), so that a two-turn snippet never gives a sure role
CLINICAL_EVIDENCE_TURNS = 6.0


def _clinical_features(stats: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per speaker, each rate minus the mean rate of the other speakers, scaled down for
    short conversations."""
    pooled = {k: sum(f[k] for f in stats.values()) for k in _COUNTS}
    scale = pooled["turns"] / (pooled["turns"] + CLINICAL_EVIDENCE_TURNS)
    raw: dict[str, dict[str, float]] = {}
    for spk, f in stats.items():
        raw[spk] = {
            "q_per_sentence": _rate(f, pooled, "questions", "sentences", 3),
            "q_turns": _rate(f, pooled, "q_turns", "turns", 3),
            "you_q": _rate(f, pooled, "you_q", "words", 60) * 100,
            "you": _rate(f, pooled, "you", "words", 60) * 100,
            "i": _rate(f, pooled, "i", "words", 60) * 100,
            "answers": _rate(f, pooled, "answers", "turns", 3),
            "plan": _rate(f, pooled, "plan", "words", 60) * 100,
            "clin": _rate(f, pooled, "clin", "words", 60) * 100,
            "pat": _rate(f, pooled, "pat", "words", 60) * 100,
            "addressed_doctor": min(f["addressed_doctor"], 3.0),
            "third": _rate(f, pooled, "third", "words", 60) * 100,
            "kin": _rate(f, pooled, "kin", "words", 60) * 100,
        }
    out: dict[str, dict[str, float]] = {}
    for spk, x in raw.items():
        others = [raw[o] for o in raw if o != spk and stats[o]["words"] > 0]
        if not others:
            continue
        out[spk] = {k: scale * (v - sum(o[k] for o in others) / len(others))
                    for k, v in x.items()}
    return out


def _meeting_features(stats: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per speaker: opening, closing, talk and agenda moves compared with the busiest other
    speaker (log ratios of counts), and a few rates."""
    pooled = {k: sum(f[k] for f in stats.values()) for k in _COUNTS}
    n = len(stats)
    out: dict[str, dict[str, float]] = {}
    compared = ("turns", "words", "chair", "steer", "q_turns", "long_turns", "handoffs",
                "group_q")
    for spk, f in stats.items():
        x = {
            "opens": f["opens"],
            "closes": f["closes"],
            "early": f["early"],
            "successors": f["successors"],
            "chair": _rate(f, pooled, "chair", "turns", 10),
            "handoffs": _rate(f, pooled, "handoffs", "turns", 10),
            "long_turns": _rate(f, pooled, "long_turns", "turns", 10),
            "we": _rate(f, pooled, "we", "words", 100) * 100,
            "i": _rate(f, pooled, "i", "words", 100) * 100,
            "many": math.log(n),
        }
        for key in compared:
            others = sorted(o[key] for s, o in stats.items() if s != spk)
            best_other = others[-1] if others else 0.0
            typical = others[len(others) // 2] if others else 0.0
            x[f"vs_{key}"] = math.log((f[key] + 1) / (best_other + 1))
            x[f"over_{key}"] = math.log((f[key] + 1) / (typical + 1))
        out[spk] = x
    return out


#: a meeting's leader is taken as found when the model gives someone this probability
LEADER_EVIDENCE = 0.7
#: the confidence that whoever opens a meeting with a formal welcome ("Welcome to the
#: Children, Young People and Education Committee", "I call this meeting to order") chairs it
FORMAL_OPENING_CONFIDENCE = 0.9
_FORMAL_OPENING = re.compile(
    r"\bwelcome (?:everyone |everybody |all )?(?:back )?to (?:the|this|today's|this "
    r"(?:morning|afternoon|evening)'s)\b[^.?!]{0,90}\b(?:committee|meeting|session|"
    r"inquiry|hearing|panel|board)\b|\bcall (?:the|this) meeting to order\b|"
    r"\bi (?:now )?declare (?:the|this) meeting open\b",
    re.IGNORECASE,
)
#: a speaker with less than this share of the words of a meeting is not its leader
MINOR_SHARE = 0.05


def _linear(x: Mapping[str, float], weights: Mapping[str, float]) -> float:
    return weights.get("bias", 0.0) + sum(w * x.get(k, 0.0) for k, w in weights.items()
                                         if k != "bias")


def _active(stats: Mapping[str, Mapping[str, float]], min_share: float = 0.02,
            min_words: int = 20) -> list[str]:
    total = sum(f["words"] for f in stats.values()) or 1
    return [s for s, f in stats.items()
            if f["words"] >= min_words and f["words"] / total >= min_share]


def _content_setting(stats: Mapping[str, Mapping[str, float]]) -> tuple[Setting, int]:
    """The setting from who talks and about what; and the number of active speakers."""
    words = sum(f["words"] for f in stats.values())
    medical = 1000 * sum(f["medical"] for f in stats.values()) / max(words, 1)
    active = len(_active(stats))
    if active >= 5:
        return "meeting", active
    if active == 4:
        return ("clinical" if medical >= 10 else "meeting"), active
    if active == 3:
        return ("meeting" if medical < 4 and words >= 300 else "clinical"), active
    return ("meeting" if medical < 2 and words >= 800 else "clinical"), active


def _setting_from(stats: Mapping[str, Mapping[str, float]], roles: Mapping[str, Role]
                  ) -> Setting:
    known = set(roles.values())
    if known & {"leader", "staff"} and not known & {"clinician", "patient"}:
        return "meeting"
    if "patient" in known:
        return "clinical"
    by_content, active = _content_setting(stats)
    if "clinician" in known:
        return "meeting" if active >= 5 else "clinical"
    return by_content


def infer_setting(encounter: Encounter, roles: Mapping[str, Role]) -> Setting:
    """``meeting`` or ``clinical``: from the known roles, else from who talks and about what.

    A leader or staff role (and no clinical one) makes a meeting; a patient makes a
    consultation, and so does a clinician unless five or more people take part. Without roles:
    five or more people who each say a fair share make a meeting; so do four, or three, who
    hardly use words of illness and treatment, and two who use none over a long conversation.
    Pass ``setting=`` to :func:`assign_roles` (``--setting``) when this guess is not enough.
    """
    return _setting_from(_speaker_stats(encounter), roles)


def _content_roles(stats: Mapping[str, Mapping[str, float]], setting: Setting,
                   fixed: Mapping[str, Role]) -> dict[str, tuple[Role, float]]:
    """Guess the roles of the speakers not in ``fixed`` from what they say, with confidences.

    Each confidence is the model's probability for the role given; the caller turns a role
    under :data:`CONTENT_THRESHOLD` into ``unknown``.
    """
    open_speakers = [s for s in stats if s not in fixed and s != "UNKNOWN"]
    if not open_speakers:
        return {}
    out: dict[str, tuple[Role, float]] = {}
    if setting == "clinical":
        feats = _clinical_features(stats)
        probs = {s: _sigmoid(_linear(x, CLINICAL_WEIGHTS)) for s, x in feats.items()}
        active = _active(stats, 0.05, 5)
        known = [s for s in active if fixed.get(s) in ("clinician", "patient")]
        unsure = [s for s in active if s not in fixed]
        if len(active) == 2 and len(known) == 1 and len(unsure) == 1:
            # two people, one known: the other one has the other role
            (spk,) = unsure
            other: Role = "patient" if fixed[known[0]] == "clinician" else "clinician"
            p = probs.get(spk, 0.5)
            out[spk] = (other, max(0.9, p if other == "clinician" else 1 - p))
            return out
        for s in open_speakers:
            if s not in probs:
                continue
            p = probs[s]
            out[s] = ("clinician", p) if p >= 0.5 else ("patient", 1 - p)
        return out
    feats = _meeting_features(stats)
    probs = {s: _sigmoid(_linear(x, MEETING_WEIGHTS)) for s, x in feats.items()}
    for s in open_speakers:  # who formally opens the meeting is chairing it
        if stats[s].get("formal_open"):
            probs[s] = max(probs[s], FORMAL_OPENING_CONFIDENCE)
    total = sum(f["words"] for f in stats.values()) or 1
    # someone is calling other people staff only once a leader is known: when nobody
    # opens, chairs or hands the floor, only those who hardly speak are surely not leading
    leader_known = any(fixed.get(s) == "leader" for s in stats) or any(
        probs[s] >= LEADER_EVIDENCE for s in open_speakers
    )
    # one meeting, one chair: only the likeliest speaker can be the content-based leader,
    # and none when the labels already name the leader
    has_leader = any(r == "leader" for r in fixed.values())
    top = None if has_leader else max(open_speakers, key=lambda s: probs[s])
    for s in open_speakers:
        p = probs[s]
        if stats[s]["words"] == 0:
            continue
        if p >= 0.5 and s == top:
            out[s] = ("leader", p)
        elif p >= 0.5:
            out[s] = ("unknown", 1 - p)
        elif leader_known or stats[s]["words"] / total < MINOR_SHARE:
            out[s] = ("staff", 1 - p)
        else:
            out[s] = ("staff", min(1 - p, 0.5))
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


_SINGLE_LETTER = re.compile(r"^[A-Za-z]$")


def _letter_series(encounter: Encounter) -> bool:
    """Labels like ``A``, ``B``, ``C``, ``D``: then ``D`` and ``P`` are letters, not roles."""
    letters = {s.label.strip().upper() for s in encounter.speakers.values()
               if _SINGLE_LETTER.match(s.label.strip())}
    return bool(letters - {"D", "P"})


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
    user = {k.strip().casefold(): v for k, v in (mapping or {}).items()}
    letters = _letter_series(encounter)
    decided: dict[str, tuple[Role, str, float]] = {}
    for spk in encounter.speakers.values():
        for key in (spk.label.casefold(), spk.name.casefold(), spk.id.casefold()):
            if key.strip() in user:
                decided[spk.id] = (user[key.strip()], "user", 1.0)
                break
        else:
            if spk.role_source == "format" and spk.role != "unknown":
                decided[spk.id] = (spk.role, "format", spk.role_confidence)
            elif not (letters and _SINGLE_LETTER.match(spk.label.strip())):
                found = lexicon_role(spk.label)
                if found is not None:
                    decided[spk.id] = (found[0], "lexicon", found[1])
    format_setting = encounter.metadata.get("setting")
    stats = _speaker_stats(encounter)
    chosen: Setting = setting or (
        format_setting if format_setting in SETTINGS else None  # type: ignore[assignment]
    ) or _setting_from(stats, {k: v[0] for k, v in decided.items()})
    for key, (role, source, conf) in list(decided.items()):
        if source != "user":
            fitted = _fit_setting(role, chosen)
            if fitted is None:
                del decided[key]
            else:
                decided[key] = (fitted, source, conf)
    fixed = {k: v[0] for k, v in decided.items() if v[0] != "other"}
    for spk, (role, conf) in _content_roles(stats, chosen, fixed).items():
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
