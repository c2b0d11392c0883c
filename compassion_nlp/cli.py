"""The ``compassion-nlp`` command line: a thin layer over importable functions.

Each command checks its paths and options and calls a function of the library; errors are
:class:`~compassion_nlp.errors.CompassionError` messages printed without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from .decoding import DEFAULT_MAX_MB
from .errors import CompassionError, Errors, RunInterrupted, Warnings, check_option
from .model import Role, Setting

if TYPE_CHECKING:
    from .outputs import RunSummary

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
def _progress(what: str = "reading") -> Iterator[Callable[[int, int, object], None]]:
    """A rich progress bar on stderr over the sources; yields the ``progress(done, total, x)``
    callback. When ``x`` is a run summary (``score``), the bar also shows the encounters scored
    and their rate; the time left is estimated from the recent rate of sources."""
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[scored]}"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar:
        task = bar.add_task(what, total=None, scored="")

        def update(done: int, total: int, about: object) -> None:
            scored = ""
            encounters = getattr(about, "encounters", None)
            if encounters is not None:
                rate = encounters / max(time.perf_counter() - start, 1e-9)
                scored = f"sources · {encounters:,} encounters, {rate:,.1f}/s"
            bar.update(task, completed=done, total=total, scored=scored)

        yield update


def _report_ignored(ignored: list[Path]) -> None:
    """Name the files a run did not read because no reader handles their extension."""
    if ignored:
        names = ", ".join(str(p) for p in ignored[:5]) + (" …" if len(ignored) > 5 else "")
        err.print(f"{len(ignored)} file(s) not read (not a transcript extension): {names}")


def _report_failures(failures: list[tuple[str, str]], listed: Path | None = None,
                     show: int = 20) -> None:
    """Print the failures (the first ``show`` of them; all are in ``listed``)."""
    if not failures:
        return
    where = f" (all listed in {listed})" if listed is not None else ""
    err.print(f"\n{len(failures)} file(s) failed{where}:", style="bold red")
    for source, message in failures[:show]:
        err.print(f"  {source}: {message}")
    if len(failures) > show:
        err.print(f"  … and {len(failures) - show} more")


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
        None, "--model", "-m", help="A model folder, or 'default' (the shipped model), 'fast' "
        "(3 layers: about twice as fast, less accurate) or 'accurate' (the MPNet model, "
        "slower, when built: see training/README.md)."
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
        help="auto (torch: bfloat16 where the CPU supports it, else float32; onnx: float32), "
        "float32, bfloat16 (torch) or int8 (onnx int8: utterances near a threshold are "
        "labelled again in float32).",
    ),
    backend: str = typer.Option(
        "torch", "--backend", help="torch, or onnx (ONNX Runtime: pip install "
        "'compassion-nlp[onnx]'; exported and cached on first use)."),
    max_mb: float = MaxMbOpt,
    checkpoint_every: float = typer.Option(
        10.0, "--checkpoint-every",
        help="Seconds between saves of finished encounters (a killed run resumes from them).",
    ),
    num_shards: int | None = typer.Option(
        None, "--num-shards", help="Split the sources into N shards (SLURM arrays, several "
        "machines); this run scores one of them into OUT/shards/. Then: compassion-nlp merge."),
    shard_index: int | None = typer.Option(
        None, "--shard-index", help="The shard this run scores, 0 to N-1 "
        "(e.g. $SLURM_ARRAY_TASK_ID)."),
    ray: str | None = typer.Option(
        None, "--ray", help="Score on Ray (pip install 'compassion-nlp[ray]'): 'auto' joins "
        "the cluster of `ray start`, 'local' starts Ray here, or a cluster address. Every node "
        "must see the transcripts and the model at the same paths."),
    ray_actors: int | None = typer.Option(
        None, "--ray-actors", help="Ray actors, each loading the model once (default: the "
        "cluster's CPUs / --ray-cpus-per-actor)."),
    ray_cpus_per_actor: int = typer.Option(
        2, "--ray-cpus-per-actor", help="CPUs (and model threads) per Ray actor."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each file."),
) -> None:
    """Score transcripts: utterance labels, cues and responses, encounter scores, highlights."""
    import time

    from .backends import check_backend
    from .outputs import check_reports_with_shards, score_to_folder
    from .scoring import ScorerSpec, model_path
    from .shards import check_shards

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
        check_shards(num_shards, shard_index)
        check_reports_with_shards(reports, num_shards)
        check_backend(backend, precision)
        check_writable_folder(out)
        if pdf:
            from .reports import check_pdf

            check_pdf()
        check_option("--ray-actors", ray_actors, integer=True)
        check_option("--ray-cpus-per-actor", ray_cpus_per_actor, integer=True)
        spec = ScorerSpec(str(model_path(model)), backend=backend,
                          precision=precision, threads=threads,
                          roles=tuple(_roles(role, roles_file).items()),
                          setting=_setting(setting), max_mb=max_mb,
                          single_speaker=single_speaker)
        spec.check()
        runs = dict(format=format, ext=ext, batch_size=batch_size, force=force,
                    reports=reports, redact=redact, pdf=pdf,
                    checkpoint_every_s=checkpoint_every, num_shards=num_shards,
                    shard_index=shard_index)
        if ray is not None:
            from .distributed import score_on_ray

            start = time.perf_counter()
            with _progress("scoring on Ray") as update:
                summary = score_on_ray(
                    paths, out, spec, address=None if ray == "local" else ray,
                    num_actors=ray_actors, cpus_per_actor=ray_cpus_per_actor,
                    progress=update, **runs)
        else:
            scorer = spec.load()
            start = time.perf_counter()
            with _progress("scoring") as update:
                summary = score_to_folder(scorer, paths, out, progress=update, **runs)
        seconds = time.perf_counter() - start
    except CompassionError as exc:
        raise _fail(exc) from None
    except RunInterrupted as exc:
        err.print(str(exc), style="yellow")
        raise typer.Exit(130) from None
    _report_run(summary, seconds, ext)


def _report_run(summary: RunSummary, seconds: float, ext: str) -> None:
    """The end-of-run summary: scored, skipped, failed (and where they are listed), speed."""
    rate = (f" ({summary.encounters / seconds:,.1f} encounters/s, "
            f"{summary.utterances / seconds:,.0f} utterances/s)") if seconds > 0 else ""
    err.print(
        f"Scored {summary.encounters} encounter(s), {summary.utterances} utterance(s) from "
        f"{summary.sources} source(s) in {seconds:,.1f} s{rate}"
        + (f"; {summary.unscorable} with no score (W006: no known roles or one speaker)"
           if summary.unscorable else "")
        + (f"; {summary.skipped} already scored (use --force to redo)" if summary.skipped else "")
        + (f"; {summary.changed} scored again: changed since the last run"
           if summary.changed else "")
        + f"; {len(summary.failures)} failed -> {summary.out}/"
    )
    _report_ignored(summary.ignored)
    failures = summary.out / "failures.csv" if summary.out is not None else None
    _report_failures(summary.failures, failures)
    if summary.failures:
        raise typer.Exit(1)


@app.command("merge")
def merge_cli(
    paths: list[Path] = typer.Argument(
        ..., help="The --out folder of a sharded score run (it holds shards/), or shard folders."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write the merged tables (default: the folder given)."),
) -> None:
    """Merge the shards of a `score --num-shards` run into the tables of a single run."""
    from .shards import merge_shards

    try:
        summary = merge_shards(paths, out)
    except CompassionError as exc:
        raise _fail(exc) from None
    err.print(f"Merged {summary.shards} shard(s): {summary.encounters} encounter(s), "
              f"{summary.utterances} utterance(s); {len(summary.failures)} failed "
              f"-> {summary.out}/")
    _report_failures(summary.failures, summary.out / "failures.csv" if summary.out else None)
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
