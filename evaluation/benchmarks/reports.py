"""Feedback reports of a large run: the time and memory of ``compassion-nlp report``.

Builds workloads as ``scale.py`` does (real encounters resampled from the shared transcripts,
each ``--scales`` × ``--base`` utterances, one file per encounter), scores each with
``compassion-nlp score``, then writes the reports from its tables in a fresh process and
records the wall time, the time per encounter page (flat when the cost is linear in the run's
size) and the peak resident memory. The model only decides how long the scoring takes: a tiny
model is fine. With ``--work DIR`` the workloads and scored folders are kept and reused, so
that a checkout of other code can report on the same tables (the script runs the code of the
repository it sits in).

Usage:
    python evaluation/benchmarks/reports.py --scales 16 64 --model <model folder> \\
        --results evaluation/benchmarks/reports.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from scale import _shown, build, cpu, model_stamp  # noqa: E402

CHILD = """
import json, resource, shutil, sys, time
from pathlib import Path
from compassion_nlp.reports import write_reports
out = Path(sys.argv[2])
shutil.rmtree(out, ignore_errors=True)
start = time.perf_counter()
summary = write_reports(sys.argv[1], out)  # as compassion-nlp report does
seconds = time.perf_counter() - start
print(json.dumps({"seconds": round(seconds, 1), "encounter_pages": len(summary.encounters),
                  "person_pages": len(summary.people),
                  "ms_per_encounter": round(1000 * seconds / max(len(summary.encounters), 1), 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--base", type=int, default=2000, help="utterances at 1x")
    parser.add_argument("--scales", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--results", type=Path, default=HERE / "reports.json")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the workloads and scored runs here; reuse them when there")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work or Path(tmp)
        if (root / "workload.json").is_file():
            workload = json.loads((root / "workload.json").read_text())
        else:
            workload = {str(k): v for k, v in
                        build(args.shared, args.base, args.scales, root / "in",
                              args.seed).items()}
            (root / "workload.json").write_text(json.dumps(workload))
        for scale in args.scales:
            scored = root / f"out{scale}"
            if not (scored / "run.json").is_file():
                subprocess.run([sys.executable, "-m", "compassion_nlp", "score",
                                str(root / "in" / f"x{scale}"), "--out", str(scored),
                                "--model", str(args.model)],
                               env=env, check=False, capture_output=True)
            done = subprocess.run([sys.executable, "-c", CHILD, str(scored),
                                   str(Path(tmp) / f"reports{scale}")],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"report failed:\n{done.stderr[-3000:]}")
            run = {"scale": scale, **workload[str(scale)],
                   **json.loads(done.stdout.strip().splitlines()[-1])}
            print(json.dumps(run), flush=True)
            runs.append(run)
    result = {
        "command": " ".join(["python", "evaluation/benchmarks/reports.py", "--scales",
                             *map(str, args.scales), "--model", _shown(args.model),
                             "--results", _shown(args.results)]),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu(),
                    "processor": platform.processor() or platform.machine()},
        "model": model_stamp(args.model), "date": time.strftime("%Y-%m-%d"),
        "base_utterances": args.base, "runs": runs,
    }
    args.results.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
