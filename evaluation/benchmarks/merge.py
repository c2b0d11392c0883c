"""Merging the shards of a large run: the peak memory and time of ``compassion-nlp merge``.

Builds a workload as ``scale.py`` does (real encounters resampled from the shared transcripts,
``--scale`` × ``--base`` utterances, one file per encounter), scores it in ``--shards`` shards
(``compassion-nlp score --num-shards N --shard-index i``, each in its own process), then merges
them in a fresh process and records the merge's wall time, its resident memory before merging
(the package imported) and its peak, and the rows merged. The model only decides how long the
scoring takes, not what the merge holds: a tiny model is fine.

With ``--work DIR`` the workload (``DIR/in``, ``DIR/workload.json``) and the scored shards
(``DIR/out``) are kept, and a later run with the same ``--work`` merges them again without
scoring: to compare the merge of two versions of the code on the same shards, run this script
from a checkout of each (it runs the code of the repository it sits in).

Usage:
    python evaluation/benchmarks/merge.py --scale 64 --shards 4 --model <model folder> \\
        --results evaluation/benchmarks/merge.json
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
import json, resource, sys, time
from pathlib import Path
from compassion_nlp.shards import merge_shards
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
before = rss()
start = time.perf_counter()
summary = merge_shards([Path(sys.argv[1])])
print(json.dumps({"seconds": round(time.perf_counter() - start, 2),
                  "rss_mb_before": round(before, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1),
                  "encounters": summary.encounters, "utterances": summary.utterances}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--base", type=int, default=2000, help="utterances at 1x")
    parser.add_argument("--scale", type=int, default=64)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--ext", default=".parquet", choices=(".parquet", ".csv", ".jsonl"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--results", type=Path, default=HERE / "merge.json")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the workload and shards here; reuse them when already there")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.work or Path(tmp)
        folder, out = root / "in" / f"x{args.scale}", root / "out"
        scored = None
        if (root / "workload.json").is_file():
            workload = {int(k): v for k, v in
                        json.loads((root / "workload.json").read_text()).items()}
        else:
            workload = build(args.shared, args.base, [args.scale], root / "in", args.seed)
            (root / "workload.json").write_text(json.dumps(workload))
            start = time.perf_counter()
            for i in range(args.shards):
                subprocess.run([sys.executable, "-m", "compassion_nlp", "score", str(folder),
                                "--out", str(out), "--model", str(args.model),
                                "--table-format", args.ext.lstrip("."), "--num-shards",
                                str(args.shards), "--shard-index", str(i)],
                               env=env, check=False, capture_output=True)
            scored = round(time.perf_counter() - start, 1)
        print(json.dumps(workload), flush=True)
        done = subprocess.run([sys.executable, "-c", CHILD, str(out)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"merge failed:\n{done.stderr[-3000:]}")
        merge = json.loads(done.stdout.strip().splitlines()[-1])
        sizes = {name: round(sum(p.stat().st_size for p in out.glob(f"shards/*/{name}*"))
                             / 1e6, 1) for name in ("utterances", "encounters")}
    result = {
        "command": " ".join(["python", "evaluation/benchmarks/merge.py", "--scale",
                             str(args.scale), "--shards", str(args.shards), "--ext", args.ext,
                             "--model", _shown(args.model), "--results",
                             _shown(args.results)]),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu(),
                    "processor": platform.processor() or platform.machine()},
        "model": model_stamp(args.model), "date": time.strftime("%Y-%m-%d"),
        "workload": {"scale": args.scale, "base_utterances": args.base, **workload[args.scale]},
        "shards": args.shards, "ext": args.ext, "scoring_seconds": scored,
        "shard_table_megabytes": sizes, "merge": merge,
    }
    print(json.dumps(result, indent=2))
    args.results.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
