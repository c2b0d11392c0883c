"""What every reader returns, and how raw fragments become an :class:`Encounter`.

A reader only parses: it turns decoded text (or bytes) into :class:`RawTranscript` objects,
lists of :class:`Fragment` (speaker label as written, raw text, line, times). :func:`build`
does the rest the same way for every format: markup cleaning, speaker normalisation and
typo merging, and merging consecutive fragments of one speaker into turns.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import CompassionError, Errors, Warnings, warn
from ..lexicon import canonical_label, edit_distance, lexicon_role
from ..markup import clean
from ..model import Encounter, Piece, Role, Setting, Speaker, Turn

UNKNOWN_SPEAKER = "UNKNOWN"


@dataclass
class Fragment:
    """One piece of talk as the source has it.

    Attributes:
        speaker: the speaker label as written, or ``None`` when the source gives none.
        text: raw text, markup included.
        line: 1-based line of the source where the text stands (line-based formats).
        start, end: seconds, when the format has times.
    """

    speaker: str | None
    text: str
    line: int | None = None
    start: float | None = None
    end: float | None = None


@dataclass
class RawTranscript:
    """What a reader returns for one encounter.

    Attributes:
        suffix: appended to the encounter id (``"#D2N001"`` for a row of a CSV of dialogues).
        fragments: the talk, in order.
        setting: ``clinical`` or ``meeting`` when the format says so, else ``None``.
        role_hints: speaker label → (role, confidence) known from the format itself (a
            ``_doctor.TextGrid`` file, a tier name).
        metadata: format-specific details worth keeping (no transcript text). The key
            ``speakerless_ok`` (default true) set to false makes a transcript in which no
            fragment has a speaker an E005 error instead of one ``UNKNOWN`` speaker.
        warnings: messages already logged while parsing.
        markup: the format's own markup cleaner (CHAT codes), run before the shared one
            (:func:`compassion_nlp.markup.clean`); it returns the text and counts of what it
            removed, kept in the turn's flags.
    """

    fragments: list[Fragment]
    suffix: str = ""
    setting: Setting | None = None
    role_hints: dict[str, tuple[Role, float]] = field(default_factory=dict)
    metadata: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    markup: Callable[[str], tuple[str, Counter[str]]] | None = None


@dataclass(frozen=True)
class ReaderSpec:
    """What a reader module declares about its format; ``compassion_nlp.readers`` keeps a
    registry of them and no other list of formats.

    Attributes:
        name: the format name (``--format``).
        extensions: file extensions (lower case, with the dot) read as this format.
        parse: ``parse(paths, texts)`` → raw transcripts; ``texts`` holds the decoded text of
            each path (empty for binary formats).
        sniff: ``sniff(head, text)`` → whether content in another format's file is this one
            (tried in ``sniff_order`` when the extension does not decide).
        sniff_order: lower is tried first.
        extension_decides: a file with one of ``extensions`` is this format whatever its
            content (false for plain text, whose files may hold subtitles or JSON).
        binary: read from bytes, not decoded text.
        aliases: other names accepted for ``--format``.
    """

    name: str
    extensions: tuple[str, ...]
    parse: Callable[[tuple[Path, ...], list[str]], list[RawTranscript]]
    sniff: Callable[[str, str], bool] | None = None
    sniff_order: int = 0
    extension_decides: bool = True
    binary: bool = False
    aliases: tuple[str, ...] = ()


def check_xml(text: str, path: Path, format: str) -> None:
    """E008 for XML that declares entities: they are never expanded (no billion laughs, no
    external files); real ELAN and Transcriber files declare none."""
    if "<!ENTITY" in text:
        raise CompassionError(Errors.E008, path, format=format,
                              detail="it declares XML entities, which are not read")


_LABEL_TRIM = re.compile(r"^[\s\"'*#>\-]+|[\s\"'*:.,;]+$")
_LABEL_SEP = re.compile(r"[_\s]+")


def normalise_label(label: str) -> str:
    """``' "Docotr_2:'`` → ``'Docotr 2'``: trim quotes, markdown and punctuation, unify spaces."""
    name = _LABEL_TRIM.sub("", label.strip())
    # brackets around the whole label ("[doctor]") go; balanced ones inside it stay
    pairs = {"(": ")", "[": "]", ")": "(", "]": "["}
    while name and name[0] in "([" and name.count(name[0]) > name.count(pairs[name[0]]):
        name = name[1:].lstrip()
    while name and name[-1] in ")]" and name.count(name[-1]) > name.count(pairs[name[-1]]):
        name = name[:-1].rstrip()
    if name[:1] == "[" and name[-1:] == "]":
        name = name[1:-1].strip()
    name = _LABEL_TRIM.sub("", name)
    name = _LABEL_SEP.sub(" ", name).strip()
    return name or label.strip() or UNKNOWN_SPEAKER


_PARENTHESES = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")

#: most edits between a label and the label it is taken to be a typo of
MAX_TYPO_EDITS = 2
_NOT_ALNUM = re.compile(r"[\W_]+")


@lru_cache(maxsize=4096)
def _canonical(name: str) -> str | None:
    """:func:`compassion_nlp.lexicon.canonical_label`, cached (labels repeat across files)."""
    return canonical_label(name)


@lru_cache(maxsize=4096)
def _lexicon_confidence(name: str) -> float:
    """How surely a label names a role word (0 when it names none), cached."""
    found = lexicon_role(name)
    return found[1] if found else 0.0


def _is_typo(a: str, b: str) -> bool:
    """True when speaker keys ``a`` and ``b`` differ only by a typo in a role word.

    ``docotr 2``/``doctor 2`` and ``guest family2``/``guest family 2`` are typos;
    ``dr li``/``dr lu`` are two people (the words that differ are not role words).
    """
    sa, sb = _NOT_ALNUM.sub("", a), _NOT_ALNUM.sub("", b)
    if sa == sb:
        return True
    if edit_distance(sa, sb, MAX_TYPO_EDITS) > MAX_TYPO_EDITS:
        return False
    wa, wb = a.split(), b.split()
    return len(wa) == len(wb) and all(
        x == y or _lexicon_confidence(x) > 0 or _lexicon_confidence(y) > 0
        for x, y in zip(wa, wb, strict=True)
    )


def _merge_typos(counts: Counter[str], names: dict[str, str]) -> dict[str, str]:
    """Map speaker keys that are typos of a more frequent key onto it.

    Two keys merge when their names point to the same lexicon entry and number
    (``Docotr_2`` and ``Doctor_2``, see :func:`compassion_nlp.lexicon.canonical_label`) and
    :func:`_is_typo` holds: ``Dr Smith`` and ``Dr Jones`` share an entry but are two people.
    """
    by_canon: dict[str, list[str]] = {}
    for key in counts:
        match = _canonical(names[key])
        if match is not None:
            by_canon.setdefault(match, []).append(key)
    merges: dict[str, str] = {}
    for keys in by_canon.values():
        # the most frequent spelling wins; on a tie, the one closest to a lexicon word
        keys.sort(key=lambda k: (-counts[k], -_lexicon_confidence(names[k]), k))
        targets: list[str] = []
        for key in keys:
            target = next((t for t in targets if _is_typo(key, t)), None)
            if target is None:
                targets.append(key)
            else:
                merges[key] = target
    # "The Chair (Hon. Anthony Rota (…))" first, "The Chair" after: one person, introduced
    bare = {_PARENTHESES.sub("", k).strip(): k for k in counts if "(" in k}
    for short, full in bare.items():
        if short and short in counts and short != full and full not in merges:
            merges[full] = short
    # "The Acting Chair (Mr. X (Riding))" and "The Acting Chair (Mr. X)": the same person,
    # once with the riding named inside the brackets
    for key in counts:
        inner = _without_inner_brackets(key)
        if inner != key and inner in counts and key not in merges:
            merges[key] = merges.get(inner, inner)
    return merges


_INNER_BRACKETS = re.compile(r"(\([^()]*?)\s*\([^()]*\)")


def _without_inner_brackets(label: str) -> str:
    """``a (b (c))`` → ``a (b)``: brackets nested inside brackets removed."""
    previous = None
    while previous != label:
        previous, label = label, _INNER_BRACKETS.sub(r"\1", label)
    return label


def build(raw: RawTranscript, *, path: str | Path, encounter_id: str) -> Encounter:
    """Clean, merge and assemble one raw transcript into an :class:`Encounter`.

    Roles are left ``unknown`` except for format hints; :mod:`compassion_nlp.roles` assigns
    them, and :mod:`compassion_nlp.segment` splits turns into utterances.
    """
    warnings = list(raw.warnings)
    cleaned: list[tuple[str, Fragment, str, Counter[str]]] = []
    no_speaker = 0
    for frag in raw.fragments:
        own: Counter[str] = Counter()
        text = frag.text
        if raw.markup is not None:
            text, own = raw.markup(text)
        text, flags = clean(text)
        flags.update(own)
        if not text and not flags:
            continue
        if frag.speaker is None or not frag.speaker.strip():
            label = UNKNOWN_SPEAKER
            no_speaker += 1
        else:
            label = frag.speaker
        cleaned.append((label, frag, text, flags))
    if not cleaned:
        raise CompassionError(Errors.E016, path, n=len(raw.fragments))
    if no_speaker:
        if no_speaker == len(cleaned) and not raw.metadata.get("speakerless_ok", True):
            raise CompassionError(Errors.E005, path, detail="no fragment has a speaker")
        warnings.append(warn(Warnings.W002, path, n=no_speaker))

    # speaker keys: normalised, case-insensitive; the first spelling names the speaker
    names: dict[str, str] = {}
    labels: dict[str, str] = {}
    counts: Counter[str] = Counter()
    keyed: list[tuple[str, Fragment, str, Counter[str]]] = []
    for label, frag, text, flags in cleaned:
        name = normalise_label(label)
        key = name.casefold()
        names.setdefault(key, name)
        labels.setdefault(key, label.strip())
        counts[key] += 1
        keyed.append((key, frag, text, flags))
    merges = _merge_typos(counts, names)
    if merges:
        shown = ", ".join(f"{labels[a]!r}->{labels[b]!r}" for a, b in sorted(merges.items()))
        warnings.append(warn(Warnings.W004, path, n=len(merges), merges=shown))

    turns: list[Turn] = []
    current: list[tuple[Fragment, str, Counter[str]]] = []
    current_key: str | None = None

    def flush() -> None:
        if not current or current_key is None:
            return
        pieces: list[Piece] = []
        parts: list[str] = []
        flags: Counter[str] = Counter()
        offset = 0
        for frag, text, frag_flags in current:
            flags.update(frag_flags)
            pieces.append(Piece(frag.text, offset, frag.line, frag.start, frag.end))
            if text:
                parts.append(text)
                offset += len(text) + 1
        starts = [f.start for f, _, _ in current if f.start is not None]
        ends = [f.end for f, _, _ in current if f.end is not None]
        turns.append(
            Turn(
                id=len(turns) + 1,
                speaker=names[current_key],
                text=" ".join(parts),
                start=min(starts) if starts else None,
                end=max(ends) if ends else None,
                source_line=current[0][0].line,
                flags=dict(flags),
                pieces=tuple(pieces),
            )
        )

    for key, frag, text, flags in keyed:
        key = merges.get(key, key)
        if key != current_key:
            flush()
            current, current_key = [], key
        current.append((frag, text, flags))
    flush()

    speakers: dict[str, Speaker] = {}
    hints = {normalise_label(k).casefold(): v for k, v in raw.role_hints.items()}
    for turn in turns:
        if turn.speaker in speakers:
            continue
        key = turn.speaker.casefold()
        role, confidence = hints.get(key, ("unknown", 0.0))
        speakers[turn.speaker] = Speaker(
            id=turn.speaker,
            label=labels[key],
            name=turn.speaker,
            role=role,
            role_source="format" if key in hints else "none",
            role_confidence=confidence,
        )
    metadata: dict[str, object] = {"source": str(path), **raw.metadata, "warnings": warnings}
    metadata["date"] = str(raw.metadata.get("date") or "") or date_in_name(path)
    metadata.pop("speakerless_ok", None)
    return Encounter(
        id=encounter_id + raw.suffix,
        setting=raw.setting or "clinical",
        speakers=speakers,
        turns=tuple(turns),
        metadata=metadata,
    )


_DATE_IN_NAME = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


def date_in_name(path: str | Path) -> str:
    """The last ``YYYY-MM-DD`` (``YYYYMMDD``, ``YYYY_MM_DD``) date in a path, ISO; else ``""``."""
    found = _DATE_IN_NAME.findall(Path(path).as_posix())
    if not found:
        return ""
    year, month, day = found[-1]
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:  # 2023-02-30
        return ""
