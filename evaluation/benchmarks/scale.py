"""Batch scoring at scale: the encoder's limit, end-to-end speed and peak memory, side by side.

Builds workloads by resampling real encounters (with replacement, a fixed seed) from the shared
transcripts that ``benchmark.py`` uses (PriMock57 TextGrid pairs, MTS-Dialog and ACI-Bench
dialogues, QMSum meetings), each encounter written as its own file in its own format (a
TextGrid pair or a QMSum JSON copied under a new name, a CSV dialogue as a one-row CSV), at 1×,
4× and 16× a base number of utterances; each larger workload holds the smaller ones.

For each backend and precision and each size, in fresh processes (so peaks are their own):

(a) the raw forward pass: ``classifier.logits`` (tokenisation and the encoder, batched by length
    over the whole list) on exactly the utterances that the scoring run scores, read beforehand
    and not timed — the limit for this design;
(b) end to end: ``score_to_folder`` as ``compassion-nlp score`` runs it (read, roles, segment,
    classify, link, measure, highlight, checkpoints, every table written as Parquet): wall time,
    utterances/s and encounters/s, and the ratio to (a);
(c) the peak resident memory of the end-to-end process, and its resident memory after each
    tenth of the sources (``rss_mb_over_run``: [utterances scored, MB]) with the growth per
    utterance over the second half of the run (``rss_growth_kb_per_utterance``, once the
    model's buffers have reached their sizes): what a larger archive would add.

Each size is measured ``--repeats`` times (default 3; or one number per size), (a) and (b)
alternating; the figures are the medians (every run's figure is kept beside them) and (c) the
highest peak. The ratio (b)/(a) is the median of each end-to-end run's ratio to the raw run just
before it: the two of a pair run within seconds of each other, at the host's speed of the moment
(which drifts by 10–20 % over minutes on a shared machine); the ratio of the two medians is kept
beside it (``end_to_end_vs_raw_of_medians``).

Writes ``evaluation/benchmarks/scale.json`` (shown in ``evaluation/README.md``). Pause other
work on the machine while it runs.

Usage:
    python evaluation/benchmarks/scale.py --base 2000 --scales 1 4 16 \\
        --configs torch:float32 torch:int8 onnx:int8 --threads 2
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _roots(shared: Path, workload: str = "mixed") -> list[Path]:
    """``mixed``: consultations and committee meetings (most utterances are the meetings');
    ``consultations``: the consultations only (shorter turns)."""
    t = shared / "transcripts"
    roots = [t / "primock57", t / "mts_dialog", t / "aci_bench" / "valid.csv"]
    return roots + [t / "qmsum" / "val"] if workload == "mixed" else roots


DEFAULT_MODEL = REPO / "models" / "compassion-minilm"
#: where each workload's results go
RESULTS = {"mixed": HERE / "scale.json", "consultations": HERE / "scale-consultations.json"}


def pool(shared: Path, workload: str = "mixed") -> list[dict]:
    """Every encounter of the shared transcripts that can be read: how to write it again as a
    file of its own, and its number of utterances."""
    from compassion_nlp.pipeline import read_sources
    from compassion_nlp.readers import discover

    sources, _ = discover(_roots(shared, workload))
    units = []
    for result in read_sources(sources):
        for enc in result.encounters:
            units.append({"paths": [str(p) for p in result.source.paths],
                          "row": enc.metadata.get("row") if "#" in enc.id else None,
                          "utterances": len(enc.view.utterances)})
    return units


def _csv_row(path: Path, row: int) -> str:
    """The header and data row ``row`` (1-based) of a CSV file, as CSV text."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        values = next(v for number, v in enumerate(reader, 1) if number == row)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(values)
    return buffer.getvalue()


def write_unit(unit: dict, folder: Path, k: int) -> None:
    """Write one sampled encounter as a new file (or TextGrid pair) named ``k<k>_…``."""
    paths = [Path(p) for p in unit["paths"]]
    if unit["row"] is not None:
        (folder / f"k{k:06d}_{paths[0].stem}.csv").write_text(
            _csv_row(paths[0], unit["row"]), encoding="utf-8")
        return
    for path in paths:
        shutil.copyfile(path, folder / f"k{k:06d}_{path.name}")


def build(shared: Path, base: int, scales: list[int], root: Path, seed: int,
          workload: str = "mixed") -> dict[int, dict]:
    """One folder per scale (``root/x<scale>``); returns each one's planned sizes."""
    units = pool(shared, workload)
    rng = random.Random(seed)
    sample: list[dict] = []
    total = 0
    while total < base * max(scales):
        unit = rng.choice(units)
        sample.append(unit)
        total += unit["utterances"]
    sizes = {}
    for scale in scales:
        folder = root / f"x{scale}"
        folder.mkdir(parents=True)
        n = utterances = 0
        for k, unit in enumerate(sample):
            if utterances >= base * scale:
                break
            write_unit(unit, folder, k)
            utterances += unit["utterances"]
            n += 1
        sizes[scale] = {"encounters": n, "utterances": utterances,
                        "megabytes": round(sum(p.stat().st_size for p in folder.iterdir())
                                           / 1e6, 1)}
    return sizes


def _busy_seconds() -> float:
    """CPU seconds spent by every process on the machine so far (``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class _Quiet:
    """How much CPU other processes used while a measurement ran (share of the machine)."""

    def __enter__(self) -> _Quiet:
        self.busy, self.own, self.wall = _busy_seconds(), _own_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        others = (_busy_seconds() - self.busy) - (_own_seconds() - self.own)
        self.other_share = round(max(others, 0.0) / (wall * (os.cpu_count() or 1)), 3)


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def child(mode: str, folder: Path, backend: str, precision: str, threads: int,
          model: Path, batch_size: int, out: Path) -> dict:
    """(a) ``raw`` or (b, c) ``e2e``, in this fresh process."""
    import logging
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    torch.set_num_threads(threads)
    from compassion_nlp.classifier import ClassifierInput
    from compassion_nlp.scoring import load

    scorer = load(model, backend=backend, precision=precision, threads=threads)
    clf = scorer.classifier
    warm = [ClassifierInput("That sounds really hard for you.", "clinician",
                            "I have not been sleeping since my wife died.", "patient")] * 64
    clf.logits(warm, batch_size=batch_size)
    if mode == "raw":
        from compassion_nlp.pipeline import read_paths
        from compassion_nlp.scoring import classifier_inputs

        items = [item for result in read_paths([folder]) for enc in result.encounters
                 for item in classifier_inputs(enc)]
        with _Quiet() as quiet:
            start = time.perf_counter()
            clf.logits(items, batch_size=batch_size)
            seconds = time.perf_counter() - start
        tokens = sum(int(clf.encode(items[i:i + 512], return_tensors="np")["attention_mask"]
                         .sum()) for i in range(0, len(items), 512))
        return {"utterances": len(items), "seconds": round(seconds, 2),
                "utterances_per_second": round(len(items) / seconds, 1),
                "mean_tokens_per_input": round(tokens / len(items), 1),
                "tokens_per_second": round(tokens / seconds),
                "cpu_share_of_other_processes": quiet.other_share, "peak_rss_mb": _peak_mb()}
    from compassion_nlp.outputs import score_to_folder

    over_run: list[list[float]] = []

    def progress(done: int, total: int, summary: object) -> None:
        if done * 10 // total > (done - 1) * 10 // total:  # each tenth of the sources
            over_run.append([summary.utterances, _rss_mb()])  # type: ignore[attr-defined]

    with _Quiet() as quiet:
        start = time.perf_counter()
        summary = score_to_folder(scorer, [folder], out, batch_size=batch_size,
                                  progress=progress)
        seconds = time.perf_counter() - start
    (first_utts, first_mb), (last_utts, last_mb) = over_run[len(over_run) // 2 - 1], over_run[-1]
    growth = (last_mb - first_mb) * 1024 / max(last_utts - first_utts, 1)
    return {"utterances": summary.utterances, "encounters": summary.encounters,
            "failures": len(summary.failures), "seconds": round(seconds, 2),
            "utterances_per_second": round(summary.utterances / seconds, 1),
            "encounters_per_second": round(summary.encounters / seconds, 2),
            "cpu_share_of_other_processes": quiet.other_share, "peak_rss_mb": _peak_mb(),
            "rss_mb_over_run": over_run, "rss_growth_kb_per_utterance": round(growth, 3)}


def cpu() -> dict:
    """The processor's name and the vector extensions that decide these speeds (bfloat16 is
    native only with AVX-512 BF16 or AMX; int8 kernels use AVX-512 VNNI where present)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("model name")), platform.processor() or platform.machine())
    flags = next((set(line.split(":", 1)[1].split()) for line in text.splitlines()
                  if line.startswith("flags")), set())
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
    return {"name": name, "extensions": [f for f in wanted if f in flags]}


def _shown(path: Path) -> str:
    """A path as the commands and tables show it: relative to the repository when inside it."""
    path = path.resolve()
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def model_stamp(model: Path) -> dict:
    """Which model a measurement used: its folder and id (``ClassifierConfig.fingerprint``)."""
    from compassion_nlp.classifier import ClassifierConfig

    return {"path": _shown(model), "id": ClassifierConfig.load(model.resolve()).fingerprint()}


def _run_child(mode: str, folder: Path, config: str, args: argparse.Namespace,
               out: Path) -> dict:
    backend, precision = config.split(":")
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--configs", config,
         "--threads", str(args.threads), "--model", str(args.model),
         "--batch-size", str(args.batch_size), "--out", str(out)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} {config} {folder.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The run with the median utterances/s (the lower middle one of an even number)."""
    ordered = sorted(runs, key=lambda r: r["utterances_per_second"])
    return dict(ordered[(len(ordered) - 1) // 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--base", type=int, default=2000, help="utterances at 1x")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--configs", nargs="+",
                        default=["torch:float32", "torch:int8", "onnx:int8"],
                        help="backend:precision, e.g. torch:bfloat16 onnx:float32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, nargs="+", default=[3],
                        help="runs of (a) and (b) per size, one number or one per size; "
                        "their medians are reported")
    parser.add_argument("--workload", choices=tuple(RESULTS), default="mixed",
                        help="mixed (consultations and meetings; scale.json) or consultations "
                        "(scale-consultations.json)")
    parser.add_argument("--results", type=Path, default=None,
                        help="the JSON file written (default: scale.json, or "
                        "scale-consultations.json for --workload consultations)")
    parser.add_argument("--update", action="store_true",
                        help="keep the runs of other configurations in scale.json (the same "
                        "workloads) and replace those of --configs")
    parser.add_argument("--child", choices=("raw", "e2e"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if len(args.repeats) not in (1, len(args.scales)):
        parser.error("--repeats: one number, or one per size in --scales")
    counts = args.repeats * len(args.scales) if len(args.repeats) == 1 else args.repeats
    repeats = dict(zip(args.scales, counts, strict=True))
    if args.child:
        backend, precision = args.configs[0].split(":")
        print(json.dumps(child(args.child, args.folder, backend, precision, args.threads,
                               args.model, args.batch_size, args.out)))
        return
    import logging

    import torch

    logging.disable(logging.WARNING)  # the readers' warnings about the shared transcripts
    results = args.results or RESULTS[args.workload]
    command = " ".join(["python", "evaluation/benchmarks/scale.py", "--base", str(args.base),
                        "--scales", *map(str, args.scales), "--configs", *args.configs,
                        "--threads", str(args.threads), "--repeats", *map(str, args.repeats)]
                       + (["--workload", args.workload] if args.workload != "mixed" else [])
                       + (["--model", _shown(args.model)] if args.model != DEFAULT_MODEL else [])
                       + (["--results", _shown(args.results)] if args.results else []))
    result: dict = {
        "command": command, "workload": args.workload,
        "machine": {"cpus": os.cpu_count(), "threads": args.threads,
                    "processor": platform.processor() or platform.machine(), "cpu": cpu(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": model_stamp(args.model), "date": time.strftime("%Y-%m-%d"),
        "base_utterances": args.base, "batch_size": args.batch_size, "seed": args.seed,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result["workloads"] = {str(k): v for k, v in
                               build(args.shared, args.base, args.scales, root / "in",
                                     args.seed, args.workload).items()}
        print(json.dumps(result["workloads"]), flush=True)
        if args.update and results.exists():
            kept = json.loads(results.read_text())
            if kept["workloads"] != result["workloads"]:
                raise SystemExit(f"--update: {results.name} was measured on other workloads")
            if kept["machine"].get("cpu") != result["machine"]["cpu"]:
                raise SystemExit(f"--update: {results.name} was measured on another processor")
            if kept.get("model", {}).get("id") != result["model"]["id"]:
                raise SystemExit(f"--update: {results.name} was measured with another model")
            result["runs"] = [r for r in kept["runs"] if r["config"] not in args.configs]
            if "note" in kept:  # written by hand about the runs kept
                result["note"] = kept["note"]
            if {r["config"] for r in kept["runs"]} - set(args.configs):
                again = command + " --update"
                if not kept["command"].endswith(again):
                    result["command"] = kept["command"] + " && " + again
                else:
                    result["command"] = kept["command"]
        for config in args.configs:
            for scale in args.scales:
                folder = root / "in" / f"x{scale}"
                out = root / f"out-{config}-{scale}".replace(":", "-")
                raws, e2es = [], []
                for _ in range(repeats[scale]):
                    raws.append(_run_child("raw", folder, config, args, root / "out"))
                    e2es.append(_run_child("e2e", folder, config, args, out))
                    shutil.rmtree(out)
                raw, e2e = _median(raws), _median(e2es)
                e2e["peak_rss_mb"] = max(r["peak_rss_mb"] for r in e2es)
                ratios = [round(e["utterances_per_second"] / r["utterances_per_second"], 3)
                          for r, e in zip(raws, e2es, strict=True)]
                run = {"config": config, "scale": scale, "raw": raw, "end_to_end": e2e,
                       "raw_repeats": [r["utterances_per_second"] for r in raws],
                       "end_to_end_repeats": [r["utterances_per_second"] for r in e2es],
                       "end_to_end_vs_raw": sorted(ratios)[(len(ratios) - 1) // 2],
                       "end_to_end_vs_raw_repeats": ratios,
                       "end_to_end_vs_raw_of_medians": round(e2e["utterances_per_second"]
                                                             / raw["utterances_per_second"], 3)}
                result["runs"].append(run)
                print(json.dumps(run), flush=True)
                results.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
