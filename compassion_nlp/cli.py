"""The ``compassion-nlp`` command line: a thin layer over importable functions.

Each command checks its paths and options and calls a function of the library; errors are
:class:`~compassion_nlp.errors.CompassionError` messages printed without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from .decoding import DEFAULT_MAX_MB
from .errors import CompassionError, Errors, RunInterrupted, Warnings, check_option
from .model import Role, Setting

app = typer.Typer(
    name="compassion-nlp",
    no_args_is_help=True,
    add_completion=False,
    help="Score compassionate communication in clinical and leadership transcripts.",
    pretty_exceptions_enable=False,
)
#: stderr; markup is off so that a path such as ``notes[/x].txt`` is printed as it is
err = Console(stderr=True, markup=False, highlight=False)


def _fail(exc: Exception) -> typer.Exit:
    """Print a coded error in red (no traceback) and return the usage-error exit."""
    err.print(str(exc), style="red")
    return typer.Exit(2)



@app.callback()
def _root() -> None:
    """Score compassionate communication in clinical and leadership transcripts."""


FormatOpt = typer.Option(
    None, "--format", "-f",
    help="Input format: text, csv, vtt, srt, json, textgrid, docx, xlsx, chat, eaf, trs "
    "(default: detect).",
)
SingleSpeakerOpt = typer.Option(
    False, "--single-speaker",
    help="With --format text: text without speaker labels is one UNKNOWN speaker's talk.",
)
RoleOpt = typer.Option(
    None, "--role", "-r", help="Speaker role, 'LABEL=ROLE' (repeatable), e.g. 'Dr Smith=clinician'."
)
RoleFileOpt = typer.Option(
    None, "--roles-file", help="A JSON object or 'LABEL=ROLE' lines mapping speakers to roles."
)
RedactOpt = typer.Option(
    False, "--redact",
    help="In the reports, replace patients' and staff's names, dates, phone numbers, "
    "addresses and record numbers in quoted text with placeholders.",
)
PdfOpt = typer.Option(
    False, "--pdf", help="Also write PDFs of the encounter and person pages (extra: pdf)."
)
SettingOpt = typer.Option(None, "--setting", help="clinical or meeting (default: infer).")
MaxMbOpt = typer.Option(DEFAULT_MAX_MB, "--max-mb", help="Largest file accepted, in MB.")


def _roles(items: list[str] | None, file: Path | None) -> dict[str, Role]:
    from .roles import load_role_mapping, parse_role_mapping

    mapping: dict[str, Role] = {}
    if file is not None:
        mapping.update(load_role_mapping(file))
    mapping.update(parse_role_mapping(items or []))
    return mapping


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_time=False, show_path=False, markup=False)],
    )


@contextmanager
def _progress() -> Iterator[Callable[[int, int, str], None]]:
    """A rich progress bar on stderr; yields the ``progress(done, total, name)`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=err, transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _report_ignored(ignored: list[Path]) -> None:
    """Name the files a run did not read because no reader handles their extension."""
    if ignored:
        names = ", ".join(str(p) for p in ignored[:5]) + (" …" if len(ignored) > 5 else "")
        err.print(f"{len(ignored)} file(s) not read (not a transcript extension): {names}")


def _report_failures(failures: list[tuple[str, str]]) -> None:
    if not failures:
        return
    err.print(f"\n{len(failures)} file(s) failed:", style="bold red")
    for source, message in failures:
        err.print(f"  {source}: {message}")


@app.command("read")
def read_cli(
    paths: list[Path] = typer.Argument(..., help="Transcript files or folders (recursive)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table: .parquet, .csv or .jsonl."),
    format: str | None = FormatOpt,
    single_speaker: bool = SingleSpeakerOpt,
    role: list[str] | None = RoleOpt,
    roles_file: Path | None = RoleFileOpt,
    setting: str | None = SettingOpt,
    max_mb: float = MaxMbOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each file."),
) -> None:
    """Read transcripts into a table of utterances with speakers and roles."""
    from .errors import check_option
    from .outputs import read_to_table
    from .readers import check_single_speaker
    from .tables import check_table_path, check_writable_folder

    _setup_logging(verbose)
    try:
        check_table_path(out)
        check_option("--max-mb", max_mb)
        check_single_speaker(format, single_speaker)
        check_writable_folder(out.parent)
        mapping = _roles(role, roles_file)
        with _progress() as update:
            summary = read_to_table(
                paths, out, format=format, roles=mapping, setting=_setting(setting),
                max_mb=max_mb, progress=update, single_speaker=single_speaker,
            )
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(
        f"Read {summary.encounters} encounter(s), {summary.utterances} utterance(s) "
        f"from {summary.sources} source(s) -> {out}"
    )
    _report_ignored(summary.ignored)
    _report_failures(summary.failures)
    if summary.failures:
        raise typer.Exit(1)


@app.command("score")
def score_cli(
    paths: list[Path] = typer.Argument(..., help="Transcript files or folders (recursive)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for the tables."),
    table_format: str = typer.Option(
        "parquet", "--table-format", "-t", help="parquet, csv or jsonl."
    ),
    model: Path | None = typer.Option(
        None, "--model", "-m", help="A model folder (default: the shipped model)."
    ),
    format: str | None = FormatOpt,
    single_speaker: bool = SingleSpeakerOpt,
    role: list[str] | None = RoleOpt,
    roles_file: Path | None = RoleFileOpt,
    setting: str | None = SettingOpt,
    force: bool = typer.Option(False, "--force", help="Score encounters already in --out."),
    reports: bool = typer.Option(
        False, "--reports", help="Also write the HTML feedback reports into OUT/reports/."
    ),
    redact: bool = RedactOpt,
    pdf: bool = PdfOpt,
    batch_size: int = typer.Option(64, "--batch-size", help="Utterances per model batch."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for the model."),
    precision: str = typer.Option(
        "auto", "--precision",
        help="auto (bfloat16 where the CPU supports it), float32, bfloat16 or int8.",
    ),
    max_mb: float = MaxMbOpt,
    checkpoint_every: float = typer.Option(
        10.0, "--checkpoint-every",
        help="Seconds between saves of finished encounters (a killed run resumes from them).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each file."),
) -> None:
    """Score transcripts: utterance labels, cues and responses, encounter scores, highlights."""
    from .outputs import score_to_folder
    from .scoring import load

    _setup_logging(verbose)
    ext = "." + table_format.lower().lstrip(".")
    try:

        from .readers import check_single_speaker
        from .tables import check_table_path, check_writable_folder

        # every option is checked before the model is loaded
        check_table_path(out / f"encounters{ext}")
        check_option("--batch-size", batch_size, integer=True)
        check_option("--threads", threads, integer=True)
        check_option("--max-mb", max_mb)
        check_single_speaker(format, single_speaker)
        if checkpoint_every < 0:
            raise CompassionError(Errors.E024, option="--checkpoint-every",
                                  rule="0 or more seconds", value=checkpoint_every)
        check_writable_folder(out)
        if pdf:
            from .reports import check_pdf

            check_pdf()
        scorer = load(model, roles=_roles(role, roles_file), setting=_setting(setting),
                      threads=threads, precision=precision, max_mb=max_mb,
                      single_speaker=single_speaker)
        with _progress() as update:
            summary = score_to_folder(scorer, paths, out, format=format, ext=ext, force=force,
                                      batch_size=batch_size, reports=reports,
                                      redact=redact, pdf=pdf, progress=update,
                                      checkpoint_every_s=checkpoint_every)
    except CompassionError as exc:
        raise _fail(exc) from None
    except RunInterrupted as exc:
        err.print(str(exc), style="yellow")
        raise typer.Exit(130) from None
    err.print(
        f"Scored {summary.encounters} encounter(s), {summary.utterances} utterance(s)"
        + (f"; {summary.unscorable} with no score (W006: no known roles or one speaker)"
           if summary.unscorable else "")
        + (f"; {summary.skipped} already scored (use --force to redo)" if summary.skipped else "")
        + f" -> {out}/"
    )
    _report_ignored(summary.ignored)
    _report_failures(summary.failures)
    if summary.failures:
        raise typer.Exit(1)


@app.command("report")
def report_cli(
    results: Path = typer.Argument(..., help="The output folder of compassion-nlp score."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the HTML pages."),
    redact: bool = RedactOpt,
    pdf: bool = PdfOpt,
) -> None:
    """Feedback reports from scored tables: a page per encounter and per clinician or leader,
    and a cohort summary (index.html) with its numbers as CSV."""
    from .reports import write_reports
    from .tables import check_writable_folder

    try:
        check_writable_folder(out)
        summary = write_reports(results, out, redact=redact, pdf=pdf)
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(f"Wrote {len(summary.encounters)} encounter page(s), {len(summary.people)} "
              f"person page(s) and the cohort summary -> {summary.index}"
              + (f"; {len(summary.pdf)} PDF(s)" if summary.pdf else ""))


@app.command("export")
def export_cli(
    results: Path = typer.Argument(..., help="The output folder of compassion-nlp score."),
    to: str = typer.Option("labelstudio", "--to", help="labelstudio or csv."),
    out: Path = typer.Option(..., "--out", "-o", help="The file of coding tasks."),
    uncertain: int | None = typer.Option(
        None, "--uncertain", help="Only the N utterances the model is least sure of."),
) -> None:
    """Utterances for human coders, with the previous turn as context (Label Studio or CSV)."""
    from .coding import export_for_coding
    from .errors import check_option

    try:
        check_option("--uncertain", uncertain, integer=True)
        n = export_for_coding(results, out, to=to, uncertain=uncertain)
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(f"Wrote {n} coding task(s) -> {out}"
              + (f" (labelling config: {out.stem}.config.xml)" if to == "labelstudio" else ""))


@app.command("import")
def import_cli(
    coded: Path = typer.Argument(..., help="A coded Label Studio export (.json) or CSV."),
    out: Path = typer.Option(..., "--out", "-o", help="The corpus to write (.jsonl)."),
    source: str = typer.Option("coded", "--source", help="The corpus 'source' of the rows."),
) -> None:
    """Coded utterances back into a corpus that compassion-nlp train accepts."""
    from .coding import import_coded

    try:
        n, problems = import_coded(coded, out, source=source)
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(f"Wrote {n} coded utterance(s) -> {out}")
    if problems:
        err.print(f"\n{len(problems)} row(s) left out:", style="bold red")
        for problem in problems:
            err.print(f"  {coded}: {problem}")
        raise typer.Exit(1)


@app.command("agree")
def agree_cli(
    coded: Path = typer.Argument(..., help="Coded file, corpus (.jsonl) or score folder."),
    reference: Path = typer.Option(..., "--reference", "-r", help="The other coder or model."),
) -> None:
    """Agreement per label: Cohen's kappa, Krippendorff's alpha and prevalence."""
    from .coding import agreement

    try:
        result = agreement(coded, reference)
    except CompassionError as exc:
        raise _fail(exc) from None
    typer.echo(f"{result['items']} utterance(s) in common")
    typer.echo("label        kappa  alpha  prevalence (coded / reference)")
    for label, m in result["labels"].items():
        typer.echo(f"{label:<12} {m['kappa']:5.2f}  {m['alpha']:5.2f}  "
                  f"{m['prevalence'][0]:.3f} / {m['prevalence'][1]:.3f}")


@app.command("train")
def train_cli(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="JSON of training arguments (e.g. training/config.json)."
    ),
    corpus: Path | None = typer.Option(None, "--corpus", help="Annotated corpus (JSONL)."),
    output_dir: Path | None = typer.Option(None, "--output-dir", "-o", help="Model folder."),
    base_model: str | None = typer.Option(
        None, "--base-model", help="'minilm' (packaged weights) or a local model folder."
    ),
    framing: str | None = typer.Option(None, "--framing", help="context or utterance."),
    epochs: int | None = typer.Option(None, "--epochs"),
    learning_rate: float | None = typer.Option(None, "--learning-rate"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    max_length: int | None = typer.Option(None, "--max-length"),
    seed: int | None = typer.Option(None, "--seed"),
    threads: int | None = typer.Option(None, "--threads"),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Log each epoch."),
) -> None:
    """Fine-tune the utterance classifier on an annotated corpus (see data/README.md).

    Options given on the command line override those in --config.
    """
    import json

    from .training import TrainingConfig, train

    _setup_logging(verbose)
    try:
        settings: dict[str, object] = {}
        if config is not None:
            try:
                settings.update(json.loads(config.read_text()))
            except (OSError, ValueError) as exc:
                raise CompassionError(
                    Errors.E030, detail=f"{config}: not a readable JSON file "
                    f"({type(exc).__name__})"
                ) from None
        given = {
            "corpus": corpus, "output_dir": output_dir, "base_model": base_model,
            "framing": framing, "epochs": epochs, "learning_rate": learning_rate,
            "batch_size": batch_size, "max_length": max_length, "seed": seed,
            "threads": threads,
        }
        settings.update({k: v for k, v in given.items() if v is not None})
        unknown = sorted(set(settings) - set(TrainingConfig.__dataclass_fields__))
        if unknown:
            raise CompassionError(Errors.E030, detail=f"unknown setting(s) {', '.join(unknown)}")
        result = train(TrainingConfig(**settings))  # type: ignore[arg-type]
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(
        f"Best epoch {result.best_epoch}; dev macro-F1 {result.dev_metrics['macro_f1']:.3f}; "
        f"{result.seconds / 60:.1f} min -> {result.output_dir}"
    )


@app.command("finetune")
def finetune_cli(
    coded: Path = typer.Argument(..., help="Coded corpus (JSONL), e.g. from 'import'."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the fine-tuned model."),
    base: Path | None = typer.Option(
        None, "--from", help="The model to start from (default: the shipped model)."
    ),
    check_corpus: Path | None = typer.Option(
        None, "--check-corpus",
        help="The project's corpus whose test split is checked (default: data/corpus.jsonl).",
    ),
    epochs: int = typer.Option(3, "--epochs"),
    learning_rate: float = typer.Option(1e-5, "--learning-rate"),
    batch_size: int = typer.Option(16, "--batch-size"),
    seed: int = typer.Option(13, "--seed"),
    threads: int | None = typer.Option(None, "--threads"),
    max_drop: float = typer.Option(
        0.02, "--max-drop", help="Project test macro-F1 drop that counts as worse (exit 1)."
    ),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Log each epoch."),
) -> None:
    """Fine-tune the shipped model on your own coded utterances, and check it before and after
    on the project's test split and on your own test split (exit 1 when the project split got
    worse by more than --max-drop; the model is written either way)."""
    from .finetune import fine_tune

    _setup_logging(verbose)
    try:
        for option, value in (("--epochs", epochs), ("--batch-size", batch_size),
                              ("--threads", threads)):
            check_option(option, value, integer=True)
        check_option("--learning-rate", learning_rate)
        report = fine_tune(coded, out, base=base, check_corpus=check_corpus, epochs=epochs,
                           learning_rate=learning_rate, batch_size=batch_size, seed=seed,
                           threads=threads, max_drop=max_drop)
    except CompassionError as exc:
        raise _fail(exc) from None
    typer.echo(report.table())
    if report.kept_base_thresholds:
        typer.echo(f"Kept the base model's thresholds for {', '.join(report.kept_base_thresholds)}"
                   " (too few positives in your dev split to choose new ones).")
    change = report.project_change
    if report.worse:
        err.print(Warnings.W009.format(path=report.output_dir, change=change,
                                       max_drop=max_drop), style="yellow")
        raise typer.Exit(1)
    err.print(f"Project test macro-F1 {change:+.3f}: not worse. Model -> {report.output_dir}")


def _setting(value: str | None) -> Setting | None:
    from .model import SETTINGS

    if value is None:
        return None
    if value not in SETTINGS:
        raise CompassionError(Errors.E014, name=value, settings=", ".join(SETTINGS))
    return value  # type: ignore[return-value]


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
