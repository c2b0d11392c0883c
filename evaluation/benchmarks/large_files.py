"""Scoring one very long transcript: seconds per stage and peak memory at 1, 4 and 16 MB.

Builds plain-text transcripts of the given sizes from real consultations (PriMock57: each
consultation's turns written as ``Doctor: …`` / ``Patient: …`` lines, repeated until the size is
reached), and scores each one as ``compassion-nlp score`` does (``score_to_folder``: lock,
checkpoints, every table written) in a fresh process, so that each size's peak resident memory is
its own. Every stage is timed by wrapping its function; the cost per utterance of a stage stays
flat across sizes when the stage is linear in the length of the transcript.

Writes ``evaluation/benchmarks/large_files.json`` (shown in ``evaluation/README.md``).

Usage:
    python evaluation/benchmarks/large_files.py --sizes 1 4 16 --threads 2
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
#: the stages, in pipeline order: (stage, module, attribute)
STAGES = (
    ("parse", "compassion_nlp.pipeline", "read_source"),
    ("roles", "compassion_nlp.pipeline", "assign_roles"),
    ("segment", "compassion_nlp.pipeline", "segment_many"),
    ("classify", "compassion_nlp.scoring", "classifier_inputs"),
    ("classify", "compassion_nlp.classifier", "UtteranceClassifier.predict_proba"),
    ("link", "compassion_nlp.scoring", "link_cues"),
    ("measure", "compassion_nlp.scoring", "compassion_score"),
    ("highlight", "compassion_nlp.scoring", "highlights"),
    ("tables", "compassion_nlp.scoring", "ScoredEncounter.utterances_df"),
    ("tables", "compassion_nlp.scoring", "ScoredEncounter.encounter_row"),
    ("tables", "compassion_nlp.scoring", "ScoredEncounter.speakers_df"),
    ("tables", "compassion_nlp.scoring", "ScoredEncounter.cues_df"),
    ("tables", "compassion_nlp.scoring", "ScoredEncounter.highlights_df"),
    ("write", "compassion_nlp.outputs", "write_table"),
    ("write", "compassion_nlp.runfolder", "Checkpoint.save"),
)


def build(shared: Path, mb: float, path: Path) -> None:
    """A text transcript of ``mb`` megabytes made of PriMock57 consultations, repeated."""
    from compassion_nlp.pipeline import read_paths

    lines = []
    for result in read_paths([shared / "transcripts" / "primock57"]):
        for enc in result.encounters:
            for turn in enc.turns:
                role = enc.speakers[turn.speaker].role
                lines.append(f"{'Doctor' if role == 'clinician' else 'Patient'}: {turn.text}\n")
    target, size, out = int(mb * 1024 * 1024), 0, []
    while size < target:
        for line in lines:
            out.append(line)
            size += len(line.encode("utf-8"))
            if size >= target:
                break
    path.write_text("".join(out), encoding="utf-8")


def _wrap(timings: dict[str, float], stage: str, module: str, attribute: str) -> None:
    import importlib

    owner = importlib.import_module(module)
    *parents, name = attribute.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            result = original(*args, **kwargs)
            if stage == "segment":  # a generator: time the work, not its creation
                result = list(result)
            return result
        finally:
            timings[stage] += time.perf_counter() - start

    setattr(owner, name, timed)


def child(path: Path, threads: int, model: Path, out: Path) -> dict:
    """Score ``path`` into ``out`` with every stage timed (run in a fresh process)."""
    import logging

    import torch

    logging.disable(logging.WARNING)
    torch.set_num_threads(threads)
    timings: dict[str, float] = defaultdict(float)
    for stage, module, attribute in STAGES:
        _wrap(timings, stage, module, attribute)
    from compassion_nlp.outputs import score_to_folder
    from compassion_nlp.scoring import load

    scorer = load(model, threads=threads, max_mb=1024)
    start = time.perf_counter()
    summary = score_to_folder(scorer, [path], out, ext=".parquet", force=True)
    total = time.perf_counter() - start
    n = summary.utterances
    stages = {s: round(timings[s], 2) for s in dict.fromkeys(s for s, _, _ in STAGES)}
    return {
        "mb": round(path.stat().st_size / 1024 / 1024, 2),
        "utterances": n,
        "failures": len(summary.failures),
        "precision": scorer.classifier.precision,
        "seconds": round(total, 1),
        "stages_seconds": stages,
        "microseconds_per_utterance": {s: round(1e6 * v / n, 1) for s, v in stages.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "compassion-minilm")
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 16])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads, args.model, args.out)))
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.sizes:
            path = Path(tmp) / f"long-{mb:g}mb.txt"
            build(args.shared, mb, path)
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path), "--out", str(Path(tmp) / "out"),
                 "--threads", str(args.threads), "--model", str(args.model)],
                capture_output=True, text=True, check=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    result = {"threads": args.threads, "model": str(args.model.relative_to(REPO))
              if args.model.is_relative_to(REPO) else str(args.model), "runs": runs}
    (HERE / "large_files.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
