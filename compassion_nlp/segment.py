"""Turns → utterances, with spaCy.

``spacy.blank("en")`` (its tokenizer already keeps ``Dr.``, ``p.m.``, ``e.g.`` whole) plus the
rule-based ``sentencizer``, and one component of ours, ``utterance_rules``, that fixes what
transcripts need (each rule was found in real transcripts; see ``evaluation/segmentation``):

- no boundary after a title written in lower case or split by the tokenizer (``dr. moore``,
  ``ms. james``, ``the hon. member``), nor inside a spoken decimal (``ninety seven. seven``);
- a boundary after a one-letter initial or a dash glued to the period when a sentence starter
  follows (``Doctor F. Also, …``, ``referring to—. I think``);
- an ellipsis (``...``, ``…``, ``..``) ends an utterance when a new sentence follows: a
  capitalised word (``Mm-hmm... I hear you.``, ``real.... Do you``), or a question
  (``allergic to... what's the name of the drug?``); not when the speaker trails on
  (``worried... you know``), repairs a word (``ext.. Extending``) or says ``… I don't know…``;
- in cased transcripts, a capitalised sentence starter right after a lower-case word starts a
  new utterance: meeting transcripts mark an abandoned sentence that way once the disfluency
  marker is removed (``So this is The project is called…``, ``we have Actually what we have``);
- a run of more than :data:`MAX_WORDS` words with no punctuation at all (speech-to-text output)
  is cut where a new clause starts (``so``/``now``, a subject pronoun, ``let me``, a question
  ``do you``…) after a word that can end a clause, preferring longer pieces, and at the best
  place seen when a piece reaches the cap; a punctuated sentence is left whole up to
  :data:`LONG_WORDS` words, then cut at a comma before a discourse marker (after
  :data:`MIN_WORDS` words) or at its last comma.

The evaluation on hand-checked real turns is in ``evaluation/segmentation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc, Token

from .config import DEFAULT_CONFIG, ScoringConfig
from .model import Encounter, Turn, Utterance

#: an unpunctuated run longer than this (in words) is cut into clauses
MAX_WORDS = 40
#: a punctuated sentence is cut only at a comma + marker with at least this many words before
MIN_WORDS = 12
#: a sentence with punctuation inside is left whole up to this many words
LONG_WORDS = 80

_ELLIPSES = {"...", "…", "..", "....", ". . .", "…."}
_MARKERS = {
    "okay", "ok", "so", "and", "but", "alright", "right", "yeah", "um", "uh", "well", "now",
    "then", "because", "cause", "also", "anyway", "mm", "hmm",
}
_WORD_PUNCT = {".", ",", "?", "!", ";", ":", "-", "--", "…", "..."}
_CLAUSE_PUNCT = {",", ";", ":", "-", "--", "—", "–"}
#: titles that precede a name; the tokenizer splits their period when they are lower case
_TITLES = {"dr", "mr", "mrs", "ms", "mx", "prof", "hon", "rev", "st", "messrs", "mme", "mlle"}
#: first-person forms: capitalised in every cased transcript, so no evidence of a new sentence
_I_FORMS = {"i", "i'm", "i've", "i'll", "i'd"}
_FILLERS = {"um", "uh", "er", "erm", "ah", "eh", "uhm", "umm"}
_INTERJECTIONS = _FILLERS | {
    "mm", "hmm", "mm-hmm", "mhm", "uh-huh", "okay", "ok", "yeah", "yes", "yep", "no", "nope",
    "right", "alright", "sure", "oh", "well", "so", "-", "hmm-mm", "huh",
}
_QUESTION_WORDS = {
    "what", "what's", "how", "why", "where", "when", "who", "which", "is", "are", "was",
    "were", "do", "does", "did", "can", "could", "would", "will", "should", "have", "has",
}
#: capitalised words that start sentences and are rarely names
_CAP_STARTERS = {
    "We", "You", "They", "He", "She", "It", "That", "There", "This", "These", "Those", "The",
    "What", "How", "Why", "Where", "When", "Who", "Which", "Is", "Are", "Was", "Were", "Do",
    "Does", "Did", "Can", "Could", "Would", "Should", "Have", "Has", "Had", "Let", "And", "But",
    "So", "Or", "Because", "If", "Well", "Yeah", "Yes", "Okay", "Um", "Uh", "Oh", "Actually",
    "Anyway", "Now", "Then", "Maybe", "Also", "Alright", "Hmm", "Mm", "Mm-hmm", "Nope", "Yep",
}
#: capitalised fillers that start a new utterance even after a comma (``with UW, Um. NIST``)
_CAP_AFTER_COMMA = {"Um", "Uh", "Yeah", "Okay", "Mm-hmm", "Hmm", "Oh"}
_TITLE_CASE = {"Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Dr", "Mr", "Mrs", "Ms"}

# --- unpunctuated runs: where does a new clause start?
#: words a clause cannot end on (articles, prepositions, conjunctions, auxiliaries, …)
_NON_FINAL = {
    "the", "a", "an", "of", "to", "at", "for", "with", "from", "by", "about", "into", "as",
    "than", "and", "or", "but", "so", "because", "cause", "if", "when", "that", "which", "who",
    "whose", "whether", "while", "since", "until", "i", "we", "they", "he", "she", "my", "your",
    "our", "their", "his", "its", "is", "are", "was", "were", "be", "been", "being", "am",
    "will", "would", "can", "could", "should", "may", "might", "must", "gon", "wan", "got",
    "na", "n't", "not", "very", "really", "just", "kinda", "kind", "sort", "um", "uh", "er",
    "some", "any", "every", "each", "no", "'s", "'re", "'m", "'ve", "'ll", "'d", "let", "go",
    "get", "those", "these", "this", "what", "how", "where", "why", "there", "here's",
    "where's", "more", "less", "most", "much", "many", "like", "also", "too", "then",
}
_STRONG = {"so", "now", "alright", "anyway"}
_SUBJECTS = {"i", "we", "they", "he", "she"}
_CONTRACTIONS = {"'s", "'re", "'m", "'ve", "'ll", "'d"}
_AUX = {
    "do", "does", "did", "have", "has", "are", "is", "was", "were", "can", "could", "would",
    "will", "should",
}
_PRONOUNS = {"you", "i", "we", "it", "that", "there", "they", "he", "she", "this"}
_WH = {"what", "why", "how", "where", "when", "who"}


def _is_punct(token: Token) -> bool:
    return token.is_punct or token.text in _WORD_PUNCT


def _is_word(token: Token) -> bool:
    return not _is_punct(token) and not token.is_space


def _clause_punct(doc: Doc, i: int) -> bool:
    """A comma, colon, semicolon or free-standing dash (not the hyphen of ``x-ray``)."""
    token = doc[i]
    if token.text not in _CLAUSE_PUNCT:
        return False
    if token.text in {",", ";", ":"}:
        return True
    return bool(token.whitespace_) or (i > 0 and bool(doc[i - 1].whitespace_))


def _sentence_start(doc: Doc, i: int) -> int:
    while i > 0 and not doc[i].is_sent_start:
        i -= 1
    return i


def _ellipsis_ends(doc: Doc, i: int) -> bool | None:
    """Whether the ellipsis at ``doc[i]`` ends an utterance (``None``: leave as it is)."""
    nxt = doc[i + 1]
    if _is_punct(nxt) or nxt.is_space:
        return None
    prev = doc[i - 1] if i > 0 else None
    before = [t.lower_ for t in doc[_sentence_start(doc, i) : i] if _is_word(t)]
    if not before or all(w in _FILLERS for w in before):
        return False  # "um ... some long weekends"
    if (
        prev is not None and prev.is_alpha and len(prev) >= 2 and prev.whitespace_ == ""
        and nxt.lower_.startswith(prev.lower_) and nxt.lower_ != prev.lower_
    ):
        return False  # a cut-off word repaired: "ext.. Extending"
    if nxt.text[:1].isupper():
        if nxt.lower_ in _I_FORMS or nxt.text == "I":
            # "I" is capitalised anyway: a new sentence only after a bare interjection
            return all(w in _INTERJECTIONS for w in before)
        return True
    if nxt.lower_ in _QUESTION_WORDS:
        for token in doc[i + 2 :]:
            if token.text in {".", "!", "?"} or token.text in _ELLIPSES:
                return token.text == "?"
            if token.is_sent_start:
                break
        return False
    return False


def _spoken_decimal(doc: Doc, i: int) -> bool:
    """One or two lower-case number words from ``doc[i]``, then a word that is not a number
    (``seven and``, ``zero five percent``; not a string of digits read out)."""
    count = 0
    for token in doc[i : i + 3]:
        if token.is_alpha and token.like_num and token.text.islower():
            count += 1
        else:
            return 0 < count <= 2 and not token.is_punct
    return False


def _token_rules(doc: Doc) -> None:
    texts = [token.text for token in doc]  # ``doc[i]`` makes a new Token at every call
    n = len(texts)
    for i in range(n - 1):
        text = texts[i]
        if texts[i + 1] not in _CAP_STARTERS and text[-1] != "." and text not in _ELLIPSES:
            continue  # no rule below can apply here
        token = doc[i]
        nxt = doc[i + 1]
        if text == "." and i > 0:
            prev = doc[i - 1]
            if prev.whitespace_ == "" and nxt.is_alpha:
                if prev.lower_ in _TITLES:
                    nxt.is_sent_start = False  # "dr. moore", "the hon. member"
                    continue
                if prev.is_alpha and prev.like_num and _spoken_decimal(doc, i + 1):
                    nxt.is_sent_start = False  # "ninety seven. seven"
                    continue
        elif text in _ELLIPSES:
            ends = _ellipsis_ends(doc, i)
            if ends is not None:
                nxt.is_sent_start = ends
            continue
        elif len(text) >= 2 and text[-1] == "." and text[-2] in "-—–" and _is_word(nxt):
            nxt.is_sent_start = True  # "referring to—. I think"
            continue
        elif (
            len(text) == 2 and text[0].isupper() and text[1] == "."
            and (nxt.text in _CAP_STARTERS or nxt.text in _TITLE_CASE)
        ):
            nxt.is_sent_start = True  # "Doctor F. Also, …"
            continue
        # a capitalised sentence starter right after a lower-case word: an abandoned sentence
        if nxt.text in _CAP_STARTERS and not nxt.is_sent_start:
            after = doc[i + 2].text if i + 2 < n else ""
            if after == "-" or (
                after[:1].isupper() and after.isalpha() and after != "I"
                and after not in _CAP_STARTERS
            ):
                continue  # a name or title: "Just Security", "Well-being", "The Compass"
            after_word = _is_word(token) and token.is_alpha and token.text[:1].islower()
            after_comma = (
                text == "," and nxt.text in _CAP_AFTER_COMMA and i > 0 and _is_word(doc[i - 1])
            )
            if after_word or after_comma:
                nxt.is_sent_start = True


def _clause_score(doc: Doc, i: int) -> int:
    """How strongly ``doc[i]`` starts a new clause in an unpunctuated run (0: it does not)."""
    token = doc[i]
    prev = doc[i - 1]
    word = token.lower_
    if prev.lower_ in _NON_FINAL or not _is_word(prev) or prev.lower_ == word:
        return 0  # after "the", "and", … or a repeated word ("why why")
    nxt = doc[i + 1].lower_ if i + 1 < len(doc) else ""
    if word == "now" and prev.lower_ in {"right", "just"}:
        return 0
    if prev.lower_ in _STRONG and not (i > 1 and doc[i - 2].lower_ in {"right", "just"}):
        return 0  # just after "so" / "now": the clause started at the marker
    if word in _STRONG:
        return 3  # "so", "now"
    if word in _AUX and nxt in _PRONOUNS:
        return 3  # "do you", "is there", "would that"
    if word in _WH and (nxt in _AUX or nxt in _CONTRACTIONS):
        return 3  # "why would", "what 's"
    if word in _SUBJECTS or (word == "let" and nxt in {"me", "'s", "us"}):
        return 2  # "i reviewed", "let me"
    if word in {"it", "there", "you"} and nxt in _CONTRACTIONS | _AUX:
        return 2  # "it 's", "there is", "you do"
    if word in {"this", "those", "these"} and nxt in {"is", "are", "was", "were"}:
        return 2  # "this is", "those are"
    return 0


def _split_run(doc: Doc, words: list[int], max_words: int = MAX_WORDS) -> None:
    """Cut an unpunctuated run of words (token indices) into clause-like pieces.

    A place scores by how surely a clause starts there (:func:`_clause_score`) plus how long
    the current piece already is; pieces never end on a word that cannot end a clause, the
    last piece keeps at least four words, and none grows beyond :data:`MAX_WORDS`.
    """
    last = 0  # position in ``words`` of the current piece's first word
    best = 0  # the best place to cut the current piece if it reaches the cap (0: none)
    best_score = 0
    total = len(words)
    for k in range(1, total):
        gap = k - last
        score = _clause_score(doc, words[k]) if total - k >= 4 else 0
        bonus = 0 if gap < 3 else 1 if gap < 6 else 2 if gap < 12 else 3
        if gap >= max_words:
            cut = best or _fallback(doc, words, last, k)
        elif score and score + bonus >= 4:
            cut = k
        else:
            if score and score >= best_score and gap >= 4:
                best, best_score = k, score
            continue
        doc[words[cut]].is_sent_start = True
        last, best, best_score = cut, 0, 0


def _fallback(doc: Doc, words: list[int], last: int, k: int) -> int:
    """The latest place in ``words[last + 4 : k + 1]`` not right after a non-final word."""
    for j in range(k, last + 4, -1):
        prev = doc[words[j] - 1]
        if _is_word(prev) and prev.lower_ not in _NON_FINAL:
            return j  # never inside "follow-up" nor after "the"
    return k


def _split_long(
    doc: Doc, words: list[int], min_words: int = MIN_WORDS, long_words: int = LONG_WORDS
) -> None:
    """Cut a punctuated sentence longer than LONG_WORDS at ``, and`` / ``, so``… joints, or at
    its last comma before the cap."""
    last = 0
    comma = 0  # position in ``words`` of the latest word after a comma in the current piece
    for k in range(1, len(words)):
        i = words[k]
        gap = k - last
        after_comma = doc[i - 1].text == ","
        if gap > min_words and after_comma and doc[i].lower_ in _MARKERS:
            cut = k
        elif gap >= long_words:
            cut = comma or k
        else:
            if after_comma and gap > min_words:
                comma = k
            continue
        doc[words[cut]].is_sent_start = True
        last, comma = cut, 0


class UtteranceRules:
    """Transcript fixes and length rules on top of the sentencizer (see module docstring)."""

    def __init__(self, max_words: int, min_words: int, long_words: int):
        self.max_words, self.min_words, self.long_words = max_words, min_words, long_words

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) < 2:
            return doc
        _token_rules(doc)
        spans = [(sent.start, sent.end) for sent in doc.sents]
        for start, end in spans:
            if end - start <= self.max_words:
                continue  # fewer tokens than the cap, so fewer words
            words = [i for i in range(start, end) if _is_word(doc[i])]
            if len(words) <= self.max_words:
                continue
            if not any(_clause_punct(doc, i) for i in range(start, end)):
                _split_run(doc, words, self.max_words)
            elif len(words) > self.long_words:
                _split_long(doc, words, self.min_words, self.long_words)
        return doc


@Language.factory(
    "utterance_rules",
    default_config={"max_words": MAX_WORDS, "min_words": MIN_WORDS, "long_words": LONG_WORDS},
)
def make_utterance_rules(
    nlp: Language, name: str, max_words: int, min_words: int, long_words: int
) -> UtteranceRules:
    """The ``utterance_rules`` component; its thresholds are spaCy config
    (``nlp.add_pipe("utterance_rules", config={"max_words": 30})``)."""
    return UtteranceRules(max_words, min_words, long_words)


@lru_cache(maxsize=4)
def default_nlp(
    max_words: int = MAX_WORDS, min_words: int = MIN_WORDS, long_words: int = LONG_WORDS
) -> Language:
    """The segmentation pipeline: blank English, sentencizer, ``utterance_rules``."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("utterance_rules", config={"max_words": max_words, "min_words": min_words,
                                            "long_words": long_words})
    return nlp


def segmenter(config: ScoringConfig = DEFAULT_CONFIG) -> Language:
    """The segmentation pipeline with the thresholds of a scoring configuration."""
    return default_nlp(config.segment_max_words, config.segment_min_words,
                       config.segment_long_words)


def _utterances(turn: Turn, doc: Doc) -> tuple[Utterance, ...]:
    out: list[Utterance] = []
    for sent in doc.sents:
        raw = sent.text
        text = raw.strip()
        # a letter or digit is in a token that is neither punctuation nor space
        if not text or (not any(c.isalnum() for c in text)
                         and all(t.is_punct or t.is_space for t in sent)):
            continue
        start_char = sent.start_char + (len(raw) - len(raw.lstrip()))
        end_char = start_char + len(text)
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
