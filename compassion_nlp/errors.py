"""Every user-facing error and warning message, in one place.

Each message has a code, says what was expected, what was found and how to fix it. Messages
name files, encounters, lines and utterance ids, never transcript text: transcripts are clinical
data and messages end up in logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

logger = logging.getLogger("compassion_nlp")


class Errors(str, Enum):
    """Error message templates. Format them with keyword arguments only."""

    E001 = "[E001] {path}: file not found."
    E002 = "[E002] {path}: the file is empty (0 bytes, or only whitespace after decoding)."
    E003 = (
        "[E003] {path}: this looks like a binary file ({detail}), not a transcript. "
        "Pass a text, subtitle, JSON, CSV, TextGrid, .docx or .xlsx transcript."
    )
    E004 = (
        "[E004] {path}: the transcript format could not be recognised ({detail}). "
        "Pass --format with one of: {formats}."
    )
    E005 = (
        "[E005] {path}: no speakers found ({detail}). compassion-nlp needs speaker labels "
        "such as 'Doctor:' or '[patient]', voice tags, or diarised speech-to-text output."
    )
    E006 = (
        "[E006] {path}: the bytes cannot be decoded as text ({detail}). "
        "Save the file as UTF-8 and try again."
    )
    E007 = (
        "[E007] {path}: the file is {size_mb:.1f} MB, over the {limit_mb:.1f} MB limit for one "
        "transcript. Split it, or raise the limit with --max-mb."
    )
    E008 = "[E008] {path}: malformed {format} ({detail}). Check the file at the place named."
    E009 = "[E009] Unknown format '{name}'. Choose one of: {formats}."
    E010 = (
        "[E010] Bad role mapping '{item}': expected 'SPEAKER=ROLE' with ROLE one of "
        "{roles}."
    )
    E011 = (
        "[E011] {path}: cannot write a table with extension '{ext}'. "
        "Use one of: {exts}."
    )
    E012 = "[E012] {path}: no files with a transcript extension were found under this folder."
    E013 = "[E013] {path}: the role-mapping file could not be read ({detail})."
    E014 = "[E014] Unknown setting '{name}': choose one of {settings}."
    E015 = "[E015] {path}: the .docx file could not be opened ({detail})."
    E016 = (
        "[E016] {path}: the file holds {n} fragments of text but none has a speaker "
        "or any text after cleaning."
    )
    E017 = "[E017] Unknown precision '{name}': choose one of {precisions}."
    E018 = (
        "[E018] {path}: reading {format} needs the optional package {package}: "
        "pip install 'compassion-nlp[{extra}]'."
    )
    E019 = (
        "[E019] {path}: the model's labels are {found}, not the codebook's {expected} in that "
        "order. Every table indexes labels by position: retrain or relabel the model folder."
    )
    E021 = (
        "[E021] The model '{name}' ({folder}) was not found next to the package or in models/. "
        "Reinstall compassion-nlp, or pass load(path) / set COMPASSION_NLP_MODEL; the "
        "'accurate' model is built, not installed: see training/README.md."
    )
    E020 = (
        "[E020] {path}: no {format} cues with text found ({detail}). A subtitle file needs "
        "cues: a timing line such as '00:00:01.000 --> 00:00:04.000' followed by text."
    )
    E022 = (
        "[E022] {path}: holds {n} encounters (a file of many dialogues); score it with "
        "scorer.pipe([...]) or compassion_nlp.score(...)."
    )
    E023 = "[E023] Unknown component weight(s) {names}: the components are {known}."
    E024 = "[E024] {option} must be {rule}, not {value}."
    E025 = (
        "[E025] The role mapping names speaker(s) found in no transcript of the run: {labels}. "
        "Check the spelling against the speaker labels (see the speakers table)."
    )
    E026 = "[E026] {path}: {detail}. Choose a folder you can write to with --out."
    E027 = (
        "[E027] {path}: another compassion-nlp run ({holder}) is writing into this folder. "
        "Wait for it to finish, or choose another --out."
    )
    E028 = (
        "[E028] --single-speaker reads plain text without speaker labels: give it with "
        "--format text (got {format})."
    )
    E030 = "[E030] Invalid training settings: {detail}."
    E031 = "[E031] {detail}"
    E032 = "[E032] {detail}"
    E033 = (
        "[E033] The training loss became {loss} at epoch {epoch}; lower the learning rate or "
        "check the base model's precision."
    )
    E034 = (
        "[E034] {path}: not a compassion-nlp model folder (it needs compassion.json, "
        "config.json, the weights and the tokenizer). Give the folder that train() wrote."
    )
    E035 = "[E035] {path}: {detail}."
    E047 = (
        "[E047] {path}: the rows already here were scored by {earlier} with {differs} than "
        "this run's; adding to them would mix two sets of numbers in one table. Score "
        "everything again with --force, or give another --out."
    )
    E050 = (
        "[E050] {path}: not the output of 'compassion-nlp score' ({detail}). Give the --out "
        "folder of a finished scoring run."
    )
    E051 = (
        "[E051] PDF output needs WeasyPrint and its system libraries ({detail}). Install them "
        "with: pip install 'compassion-nlp[pdf]' (and Pango: apt-get install libpango-1.0-0 "
        "libpangoft2-1.0-0), or print the HTML pages from a browser."
    )
    E052 = (
        "[E052] {path}: the table already in the output folder cannot be read or does not "
        "go with this run's columns ({detail}). "
        "Move it away, or score everything again with --force; this run's finished encounters "
        "are kept and the next run resumes from them."
    )
    E040 = "[E040] {path}: the file could not be read ({detail}). Check its permissions."
    E041 = (
        "[E041] {path}: internal error while reading this file ({detail}). This is a bug in "
        "compassion-nlp: please report it with the file's format (not its content)."
    )
    E042 = (
        "[E042] Bad shard options: {detail}. Give --num-shards N with --shard-index i, "
        "0 <= i < N (in a SLURM array: --shard-index $SLURM_ARRAY_TASK_ID)."
    )
    E043 = (
        "[E043] {path}: cannot merge the shards ({detail}). Run each missing or unfinished "
        "shard again with the same command and its --shard-index, then merge."
    )
    E044 = (
        "[E044] {path}: the shards do not belong to one run ({detail}). Merge only the shards "
        "of one command, run on the same inputs with the same model and settings."
    )
    E045 = "[E045] {detail}: choose one of {choices}."
    E046 = (
        "[E046] {path}: the ONNX export disagrees with the torch model (largest logit "
        "difference {difference:.2g}, over the {tolerance:g} allowed); nothing was cached. "
        "Use --backend torch, and report the model's architecture."
    )


class Warnings(str, Enum):
    """Warning message templates (logged, and kept on the encounter's metadata)."""

    W001 = "[W001] {path}: {n} negative or malformed timestamp(s) clamped to 0 ({where})."
    W002 = "[W002] {path}: {n} fragment(s) had no speaker; they are kept under speaker 'UNKNOWN'."
    W003 = "[W003] {path}: not valid UTF-8; decoded as {encoding} (confidence {confidence})."
    W004 = "[W004] {path}: {n} speaker label(s) looked like typos and were merged: {merges}."
    W005 = "[W005] {path}: {n} cue(s) had an end time before their start; end set to start."
    W006 = (
        "[W006] {path}: not scored ({reason}); its compassion score is NaN and the run counts "
        "it apart."
    )
    W007 = (
        "[W007] {path}: interrupted; {n} finished encounter(s) are saved. Run the same command "
        "again to resume from them."
    )
    W008 = (
        "[W008] {path}: the ONNX cache cannot be written ({detail}); exporting into {folder} "
        "for this run only. Set COMPASSION_NLP_CACHE to a folder you can write to."
    )
    W009 = (
        "[W009] {path}: the fine-tuned model is worse on the project's test split (macro-F1 "
        "{change:+.3f}, more than the {max_drop} allowed): it has forgotten some of what the "
        "base model knew. Try fewer epochs or a lower learning rate, or code more examples."
    )
    W040 = (
        "[W040] {path}: {n} of {total} dialogue(s) could not be read and were skipped "
        "({detail})."
    )


class CompassionError(Exception):
    """An error about user input that the CLI reports without a traceback.

    Attributes:
        code: the message code, e.g. ``"E004"``.
        path: the file concerned, when there is one.
    """

    def __init__(self, template: Errors, path: str | Path | None = None, **kwargs: object):
        self.code = template.name
        self.path = str(path) if path is not None else None
        super().__init__(template.value.format(path=path, **kwargs))


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch run, raised after the finished encounters were saved; its text is
    the W007 message."""


def check_option(option: str, value: float | None, *, integer: bool = False) -> None:
    """E024 unless ``value`` (when given) is positive (and, with ``integer``, a whole number)."""
    if value is None:
        return
    whole = not isinstance(value, bool) and float(value).is_integer()
    if value <= 0 or (integer and not whole):
        rule = "a positive whole number" if integer else "a positive number"
        raise CompassionError(Errors.E024, option=option, rule=rule, value=value)


@contextmanager
def unreadable_as(code: Errors, path: str | Path, *,
                  catch: tuple[type[Exception], ...] = (Exception,),
                  detail: str = "{name}") -> Iterator[None]:
    """Raise ``code`` naming ``path`` for an exception of ``catch`` inside the block, with its
    type in ``detail`` and never its text (a reader's message may quote the transcript)."""
    try:
        yield
    except catch as exc:
        raise CompassionError(code, path, detail=detail.format(name=type(exc).__name__)) \
            from None


def internal_error(path: str | Path, exc: BaseException) -> CompassionError:
    """E041 for a bug met while reading ``path``: it names the exception type and the innermost
    compassion_nlp frame, never the exception text (which may quote the transcript)."""
    import traceback

    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if "compassion_nlp" in frame.filename:
            where = f" at {Path(frame.filename).name}:{frame.lineno}"
    logger.debug("internal error reading %s: %s%s", path, type(exc).__name__, where)
    error = CompassionError(Errors.E041, path, detail=f"{type(exc).__name__}{where}")
    error.__cause__ = exc  # kept for debugging; the message itself quotes nothing
    return error


def warn(template: Warnings, path: str | Path, **kwargs: object) -> str:
    """Log a warning and return its message (to be stored on the encounter)."""
    message = template.value.format(path=path, **kwargs)
    logger.warning(message)
    return message
