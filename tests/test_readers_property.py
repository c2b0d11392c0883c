"""Property-based tests: random text and bytes thrown at every reader.

The contract: :func:`compassion_nlp.readers.read` returns encounters or raises a
:class:`CompassionError`, never any other exception. For the readers of this module's formats
(text, csv, json, textgrid) the error must also not be E041 (an internal error caught by the
batch safety net). vtt, srt and docx are checked through the public API only, with the
plain contract.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compassion_nlp.errors import CompassionError
from compassion_nlp.markup import clean
from compassion_nlp.model import UTTERANCE_COLUMNS, Encounter
from compassion_nlp.pipeline import read

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SENTINEL = "Qzxv"  # in generated text; must never show up in an error message
OWN_FORMATS = ("text", "csv", "json", "textgrid")
EXTENSION = {"text": ".txt", "csv": ".csv", "json": ".json", "textgrid": ".TextGrid",
             "vtt": ".vtt", "srt": ".srt", "docx": ".docx"}


@contextmanager
def written(data: bytes, fmt: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{EXTENSION[fmt]}"
        path.write_bytes(data)
        yield path


def check_contract(data: bytes, fmt: str) -> list[Encounter]:
    """Read ``data`` as ``fmt``; check the contract and the encounters' invariants."""
    with written(data, fmt) as path:
        try:
            encounters = read(path, format=fmt)
        except CompassionError as exc:
            message = str(exc)
            assert exc.code is not None and message.startswith(f"[{exc.code}]")
            if fmt in OWN_FORMATS:
                assert exc.code != "E041", message
                assert str(path) in message
                assert SENTINEL not in message
            return []
        assert isinstance(encounters, list)
        for enc in encounters:
            check_encounter(enc)
        return encounters


def check_encounter(enc: Encounter) -> None:
    assert isinstance(enc, Encounter)
    assert [t.id for t in enc.turns] == list(range(1, len(enc.turns) + 1))
    for turn, nxt in zip(enc.turns, enc.turns[1:], strict=False):
        assert turn.speaker != nxt.speaker  # consecutive fragments of a speaker are merged
    ids = set()
    for turn in enc.turns:
        assert turn.speaker in enc.speakers
        assert "\n" not in turn.text and turn.text == turn.text.strip()
        assert all(isinstance(v, int) and v > 0 for v in turn.flags.values())
        assert turn.pieces
        for utt in turn.utterances:
            assert utt.text and utt.id not in ids
            ids.add(utt.id)
            assert turn.text[utt.start_char : utt.end_char].strip() == utt.text
    frame = enc.to_dataframe()
    assert list(frame.columns) == list(UTTERANCE_COLUMNS)


# ---------------------------------------------------------------- strategies

LABELS = st.sampled_from([
    "Doctor:", "Patient:", "D:", "P :", "[doctor]", "[patient_guest]", "**Doctor**",
    "**Patient:**", "Speaker 1:", "SPEAKER_00:", "Docotr_2:", "Gest_family:", "Guest_family.",
    "[Jane Doe] 11:02:09", "Jane Doe  0:03", "S1 00:00:01.717", "[00:01:23] Doctor:",
    "Dr. Smith:", "Note:", "",
])
NOISE = st.sampled_from([
    "<UNSURE>", "</UNSURE>", "<UNIN/>", "{vocalsound}", "{disfmarker}", "[inaudible]",
    "(crosstalk)", "&amp;", "&nbsp;", "&#0;", "\u00a0", "\u200b", "\ufeff", "[00:01:23]", ":",
    ".", '"', "**", "[", "]", "<", ">", "{", "}", ",", ";", "\t", "\r", "\x00", "\x0b", "|",
    "...", "\u2026", SENTINEL,
])
WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
FRAGMENT = st.lists(st.one_of(NOISE, WORDS, st.just(" ")), max_size=8).map("".join)
LINE = st.tuples(LABELS, FRAGMENT).map(lambda p: f"{p[0]} {p[1]}" if p[0] else p[1])
NEWLINE = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])
TEXT = st.lists(st.tuples(LINE, NEWLINE), max_size=12).map(
    lambda parts: "".join(line + end for line, end in parts)
)
ENCODING = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from([
        "speaker", "Role", "text", "content", "utterance", "start", "end", "start_ms",
        "dialogue", "id", "encounter_id", "conversation", "note", "x",
    ]), min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(st.one_of(FRAGMENT, TEXT, st.sampled_from(
        ["0", "1.5", "-2", "00:01:02", "nan", "inf", "1e999", "Doctor", "patient", ""]
    )), min_size=0, max_size=len(header) + 1), max_size=6))
    delimiter = draw(st.sampled_from([",", "\t", ";", "|"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(NEWLINE))
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), FRAGMENT, TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from([
            "speaker", "content", "text", "start", "end", "turns", "segments", "utterances",
            "meeting_transcripts", "words", "results", "monologues", "elements", "channels",
            "alternatives", "items", "type", "value", "ts", "end_ts", "speaker_label",
        ]), children, max_size=5),
    ),
    max_leaves=20,
)
QMSUM = st.fixed_dictionaries({
    "meeting_transcripts": st.lists(
        st.fixed_dictionaries({"speaker": st.one_of(LABELS, st.none(), st.integers()),
                               "content": st.one_of(FRAGMENT, st.none(), st.integers())}),
        max_size=8,
    )
})


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def textgrids(draw: st.DrawFn) -> str:
    short = draw(st.booleans())
    tiers = draw(st.lists(st.tuples(
        st.one_of(LABELS, WORDS),
        st.sampled_from(["IntervalTier", "TextTier"]),
        st.lists(st.tuples(st.floats(-5, 100, allow_nan=False), st.floats(0, 100),
                           st.one_of(FRAGMENT, LINE)), max_size=5),
    ), max_size=3))
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', ""]
    put = (lambda k, v: out.append(str(v))) if short else (lambda k, v: out.append(f"{k} = {v}"))
    put("xmin", 0)
    put("xmax", 100)
    out.append("<exists>" if short else "tiers? <exists>")
    put("size", len(tiers))
    for i, (name, kind, items) in enumerate(tiers, 1):
        if not short:
            out.append(f"item [{i}]:")
        put("class", _quoted(kind))
        put("name", _quoted(name))
        put("xmin", 0)
        put("xmax", 100)
        put("intervals: size" if kind == "IntervalTier" else "points: size", len(items))
        for start, end, label in items:
            if kind == "IntervalTier":
                put("xmin", start)
                put("xmax", end)
                put("text", _quoted(label))
            else:
                put("number", start)
                put("mark", _quoted(label))
    text = "\n".join(out) + "\n"
    if draw(st.booleans()):  # damage it: cut it short or splice noise in
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.one_of(st.just(""), FRAGMENT))
    return text


# ---------------------------------------------------------------- contract: every format


@SETTINGS
@given(data=st.binary(max_size=600), fmt=st.sampled_from(OWN_FORMATS + ("vtt", "srt", "docx")))
def test_random_bytes(data: bytes, fmt: str) -> None:
    check_contract(data, fmt)


@SETTINGS
@given(text=TEXT, encoding=ENCODING,
       fmt=st.sampled_from(OWN_FORMATS + ("vtt", "srt")))
def test_random_transcript_like_text(text: str, encoding: str, fmt: str) -> None:
    check_contract(encode(text, encoding), fmt)


@SETTINGS
@given(text=csv_documents(), encoding=ENCODING)
def test_random_csv(text: str, encoding: str) -> None:
    check_contract(encode(text, encoding), "csv")


@SETTINGS
@given(value=st.one_of(JSON_VALUES, QMSUM), lines=st.booleans())
def test_random_json(value: object, lines: bool) -> None:
    if lines and isinstance(value, list):
        text = "\n".join(json.dumps(v) for v in value)
    else:
        text = json.dumps(value)
    check_contract(text.encode("utf-8"), "json")


@SETTINGS
@given(text=textgrids(), encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_random_textgrid(text: str, encoding: str) -> None:
    check_contract(encode(text, encoding), "textgrid")


@SETTINGS
@given(
    cues=st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 10**7), TEXT), max_size=6),
    fmt=st.sampled_from(["vtt", "srt"]),
    header=st.booleans(),
)
def test_random_subtitles(cues: list[tuple[int, int, str]], fmt: str, header: bool) -> None:
    def stamp(ms: int) -> str:
        sep = "." if fmt == "vtt" else ","
        hours, minutes, seconds = ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60
        return f"{hours:02}:{minutes:02}:{seconds:02}{sep}{ms % 1000:03}"

    blocks = [f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}" for i, (a, b, text) in enumerate(cues, 1)]
    body = "\n\n".join(blocks)
    if fmt == "vtt" and header:
        body = "WEBVTT\n\n" + body
    check_contract(body.encode("utf-8"), fmt)


@SETTINGS
@given(name=st.sampled_from(["word/document.xml", "other.xml"]), body=st.binary(max_size=300))
def test_random_zip_as_docx(name: str, body: bytes) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, body)
    check_contract(out.getvalue(), "docx")


# ---------------------------------------------------------------- exact properties

KNOWN = st.sampled_from(["Doctor", "Patient", "D", "P", "Nurse", "Speaker 1", "Guest_family"])
SENTENCE = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ'", min_size=1, max_size=8),
    min_size=1, max_size=6,
).map(" ".join)


@SETTINGS
@given(
    turns=st.lists(st.tuples(KNOWN, SENTENCE, st.integers(0, 2), NEWLINE), min_size=1,
                   max_size=12),
    bom=st.sampled_from(["", "utf-8-sig", "utf-16"]),
)
def test_text_turns_and_source_lines(
    turns: list[tuple[str, str, int, str]], bom: str
) -> None:
    """Turns are the runs of one label; each starts on the line an editor shows."""
    parts: list[str] = []
    line = 1
    expected: list[tuple[str, str, int]] = []
    for label, sentence, blanks, newline in turns:
        parts.append("\r\n" * blanks)  # never "\n" right after a "\r": that is one CRLF
        line += blanks
        parts.append(f"{label}: {sentence}{newline}")
        speaker = label.replace("_", " ")
        if expected and expected[-1][0] == speaker:
            expected[-1] = (speaker, expected[-1][1] + " " + sentence, expected[-1][2])
        else:
            expected.append((speaker, sentence, line))
        line += 2 if newline == "\n\n" else 1
    text = "".join(parts)
    data = text.encode(bom) if bom else text.encode("utf-8")
    [enc] = check_contract(data, "text")
    assert [(t.speaker, t.text, t.source_line) for t in enc.turns] == expected


@SETTINGS
@given(rows=st.lists(st.lists(st.tuples(KNOWN, SENTENCE), min_size=1, max_size=4),
                     min_size=1, max_size=4),
       crlf=st.booleans())
def test_dialogue_csv_rows_and_lines(rows: list[list[tuple[str, str]]], crlf: bool) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["id", "dialogue"])
    starts = []
    line = 2
    for i, dialogue in enumerate(rows):
        cell = "\n".join(f"{label}: {sentence}" for label, sentence in dialogue)
        writer.writerow([f"R{i}", cell])
        starts.append(line)
        line += len(dialogue)
    encounters = check_contract(out.getvalue().encode("utf-8"), "csv")
    assert [e.id.rsplit("#", 1)[1] for e in encounters] == [f"R{i}" for i in range(len(rows))]
    assert [e.turns[0].source_line for e in encounters] == starts


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["Doctor", "Patient"]),
                          st.floats(0, 1000, allow_nan=False), SENTENCE), min_size=1,
                max_size=10))
def test_textgrid_fragments_merge_by_time(items: list[tuple[str, float, str]]) -> None:
    tiers = {"Doctor": [], "Patient": []}
    for speaker, start, sentence in items:
        tiers[speaker].append((start, sentence))
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "0", "2000", "<exists>",
           str(sum(1 for v in tiers.values() if v))]
    for name, intervals in tiers.items():
        if not intervals:
            continue
        out += ['"IntervalTier"', f'"{name}"', "0", "2000", str(len(intervals))]
        for start, sentence in intervals:
            out += [repr(start), repr(start + 1.0), _quoted(sentence)]
    [enc] = check_contract("\n".join(out).encode("utf-8"), "textgrid")
    ordered = sorted(((start, speaker) for speaker, start, _ in items), key=lambda p: p[0])
    assert sum(len(t.pieces) for t in enc.turns) == len(items)
    pieces = [(p.start, t.speaker) for t in enc.turns for p in t.pieces]
    assert [p[0] for p in pieces] == [p[0] for p in ordered]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_clean_output_is_tidy(raw: str) -> None:
    text, flags = clean(raw)
    assert text == text.strip()
    assert "  " not in text and "\n" not in text and "\r" not in text and "\t" not in text
    assert "\ufeff" not in text and "\x00" not in text
    assert all(count > 0 for count in flags.values())
