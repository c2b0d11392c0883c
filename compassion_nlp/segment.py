"""Turns → utterances, with spaCy.

``spacy.blank("en")`` (its tokenizer already keeps ``Dr.``, ``p.m.``, ``e.g.`` whole) plus the
rule-based ``sentencizer``, and one component of ours, ``utterance_rules``, that fixes what
transcripts need:

- an ellipsis (``...``, ``…``, ``..``) ends an utterance when a capitalised word follows
  (``Mm-hmm... I hear you.``) and not when the speaker trails on (``worried... you know``);
- a sentence longer than :data:`MAX_WORDS` words (speech-to-text output with no punctuation)
  is cut at discourse markers (``okay``, ``so``, ``and``…) that fall after
  :data:`MIN_WORDS` words, and hard at the cap where there is none.

The evaluation on hand-checked real turns is in ``evaluation/segmentation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc, Token

from .model import Encounter, Turn, Utterance

MAX_WORDS = 40
MIN_WORDS = 12
_ELLIPSES = {"...", "…", "..", "....", ". . ."}
_MARKERS = {
    "okay", "ok", "so", "and", "but", "alright", "right", "yeah", "um", "uh", "well", "now",
    "then", "because", "cause", "also", "anyway", "mm", "hmm",
}
_WORD_PUNCT = {".", ",", "?", "!", ";", ":", "-", "--", "…", "..."}


def _is_punct(token: Token) -> bool:
    return token.is_punct or token.text in _WORD_PUNCT


@Language.component("utterance_rules")
def utterance_rules(doc: Doc) -> Doc:
    """Ellipsis and length-cap boundaries on top of the sentencizer (see module docstring)."""
    for i, token in enumerate(doc[:-1]):
        nxt = doc[i + 1]
        if token.text in _ELLIPSES:
            nxt.is_sent_start = nxt.text[:1].isupper() and nxt.text not in _ELLIPSES
    spans = [(sent.start, sent.end) for sent in doc.sents]
    for start, end in spans:
        words = [i for i in range(start, end) if not _is_punct(doc[i])]
        if len(words) <= MAX_WORDS:
            continue
        count = 0
        for i in words:
            count += 1
            if i == start:
                continue
            token = doc[i]
            marker = count > MIN_WORDS and token.lower_ in _MARKERS and not doc[i - 1].is_punct
            if marker or count > MAX_WORDS:
                token.is_sent_start = True
                count = 1
    return doc


@lru_cache(maxsize=1)
def default_nlp() -> Language:
    """The segmentation pipeline: blank English, sentencizer, ``utterance_rules``."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("utterance_rules")
    return nlp


def _utterances(turn: Turn, doc: Doc) -> tuple[Utterance, ...]:
    out: list[Utterance] = []
    for sent in doc.sents:
        text = sent.text.strip()
        if not text or all(t.is_punct for t in sent):
            continue
        start_char = sent.start_char
        end_char = start_char + len(sent.text.rstrip())
        first, last = turn.piece_at(start_char), turn.piece_at(max(end_char - 1, start_char))
        index = len(out) + 1
        out.append(
            Utterance(
                id=f"t{turn.id}.u{index}",
                turn_id=turn.id,
                index=index,
                text=text,
                start_char=start_char,
                end_char=end_char,
                start=first.start if first and first.start is not None else turn.start,
                end=last.end if last and last.end is not None else turn.end,
                source_line=first.line if first and first.line is not None else turn.source_line,
            )
        )
    return tuple(out)


def segment(encounter: Encounter, *, nlp: Language | None = None) -> Encounter:
    """Split every turn of an encounter into utterances.

    Example:
        >>> enc = segment(encounter)
        >>> [u.text for u in enc.turns[0].utterances]
        ['Hello.', 'How can I help you today?']
    """
    return next(segment_many([encounter], nlp=nlp))


def segment_many(
    encounters: Iterable[Encounter], *, nlp: Language | None = None, batch_size: int = 256
) -> Iterator[Encounter]:
    """Segment a stream of encounters, batching turns through spaCy."""
    nlp = nlp or default_nlp()
    for encounter in encounters:
        docs = nlp.pipe((t.text for t in encounter.turns), batch_size=batch_size)
        turns = tuple(
            replace(turn, utterances=_utterances(turn, doc))
            for turn, doc in zip(encounter.turns, docs, strict=True)
        )
        yield replace(encounter, turns=turns)
