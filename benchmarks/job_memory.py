"""Peak memory (and time) of the workflow's heavy jobs at the paper's sizes, to set cluster
resources (``resources:`` in workflow_config.yaml) from measurements.

Each job runs the same library/pipeline function its Snakemake rule runs, in a fresh subprocess
(like a cluster job: one Python process + its worker processes). Peak memory is measured for
real: ``max_rss`` = the job process's own peak (getrusage), ``tree_peak`` = the largest sum of
RSS over the job process and its children (psutil, sampled every 20 ms; the pairwise weight job
runs worker processes).

- train: a few optimiser steps of the flip-flop task (3 channels, n=512, batch 64, T=100);
  the time per step is reported (a full run is steps x epochs of that);
- trajectories: extraction from that checkpoint with the default study's settings (probe 64
  trials, OOD 256 trials, tangent kernel on 4 trials with 512 outputs);
- dsa_fit: operators of 2 networks (one job fits the condition's networks one after the other,
  so memory does not grow with their number; time does, linearly);
- pairwise_dsa: 50 synthetic rank-30 operators, all 1,225 pairs;
- pairwise_weights: 50 synthetic n=512 weight matrices loaded from Parquet and sent to the
  workers (the real memory); only the first ``--pairs`` pairs of each worker are solved (FAQ at
  n=512 is slow) and the time of all 1,225 pairs is extrapolated.

    python benchmarks/job_memory.py [--n 512] [--networks 50] [--train-steps 3] [--pairs 2]
                                    [--only pairwise_dsa pairwise_weights]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]

COMMON = f"""
import json, resource, sys, time
sys.path.insert(0, {str(REPO / "src")!r})
import numpy as np, pandas as pd
T0 = time.perf_counter()
def report(**extra):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("RESULT " + json.dumps({{"max_rss_mb": rss, "child_max_rss_mb": kids,
                                  "wall_s": time.perf_counter() - T0, **extra}}), flush=True)
"""

JOBS = {
    "train": """
from degeneracy.training import train
cfg = {"task": {"name": "flipflop", "n_channels": 3},
       "model": {"kind": "standard", "n_units": N},
       "training": {"batch_size": 64, "steps_per_epoch": STEPS, "max_epochs": 1, "device": "cpu",
                    "num_threads": 1}}
t = time.perf_counter()
res = train(cfg, 0, WORK + "/seed0.pt", WORK + "/seed0.log.parquet")
report(s_per_step=(time.perf_counter() - t) / STEPS, steps=res.steps)
""",
    "trajectories": """
from degeneracy.pipeline.extract import trajectories
trajectories(WORK + "/seed0.pt", "bench", 0, {"n_trials": 64, "seed": 1000}, {"n_trials": 256, "seed": 2000},
             {"n_trials": 4, "max_outputs": 512}, WORK + "/network.parquet", WORK + "/trajectories.parquet",
             WORK + "/weights.parquet")
report()
""",
    "dsa_fit": """
import shutil
from degeneracy.pipeline.extract import dsa_fit
nets, trajs = [], []
for s in range(2):
    row = pd.read_parquet(WORK + "/network.parquet").assign(seed=s, converged=True, status="converged")
    row.to_parquet(WORK + f"/net{s}.parquet"); nets.append(WORK + f"/net{s}.parquet")
    trajs.append(WORK + "/trajectories.parquet")
t = time.perf_counter()
dsa_fit("bench", nets, trajs, {"n_delays": 10, "delay_interval": 5, "rank": 30, "ridge": 1e-8, "seed": 0},
        WORK + "/operators.parquet", WORK + "/null.parquet")
report(s_per_network=(time.perf_counter() - t) / 2)
""",
    "pairwise_dsa": """
from degeneracy.pipeline.pairwise import pairwise_dsa
rng = np.random.default_rng(0)
rows, nulls = [], []
for s in range(K):
    A = rng.standard_normal((30, 30)) / 6
    ii, jj = np.meshgrid(np.arange(30), np.arange(30), indexing="ij")
    rows.append(pd.DataFrame({"seed": s, "matrix": "A", "i": ii.ravel(), "j": jj.ravel(), "value": A.ravel()}))
    nulls.append({"condition": "bench", "seed": s, "value": 0.1})
pd.concat(rows).to_parquet(WORK + "/ops.parquet"); pd.DataFrame(nulls).to_parquet(WORK + "/nulls.parquet")
pairwise_dsa("bench", WORK + "/ops.parquet", WORK + "/nulls.parquet", {"mode": "euclidean", "seed": 0},
             WORK + "/pairwise_dsa.parquet")
report(pairs=K * (K - 1) // 2)
""",
    "pairwise_weights": """
import degeneracy.metrics.weights as W
from degeneracy.pipeline.pairwise import pairwise_weights
_orig = W._chunk_job
def _limited(args):  # the workers get every matrix (real memory) but solve only PAIRS pairs each
    M, pairs, *rest = args
    t = time.perf_counter()
    out = _orig((M, pairs[:PAIRS], *rest))
    print("PAIRTIME " + json.dumps({"pairs": len(out), "s": time.perf_counter() - t}), flush=True)
    return out + [(float("nan"), float("nan"))] * (len(pairs) - len(out))
W._chunk_job = _limited
rng = np.random.default_rng(0)
nets, ws = [], []
for s in range(K):
    A = rng.standard_normal((N, N)) / np.sqrt(N)
    ii, jj = np.meshgrid(np.arange(N, dtype=np.int32), np.arange(N, dtype=np.int32), indexing="ij")
    pd.DataFrame({"i": ii.ravel(), "j": jj.ravel(), "value": A.ravel()}).to_parquet(WORK + f"/w{s}.parquet")
    pd.DataFrame([{"condition": "bench", "seed": s, "converged": True}]).to_parquet(WORK + f"/n{s}.parquet")
    nets.append(WORK + f"/n{s}.parquet"); ws.append(WORK + f"/w{s}.parquet")
T0 = time.perf_counter()
pairwise_weights("bench", nets, ws, {"n_restarts": 8, "seed": 0}, WORK + "/pairwise_w.parquet", threads=2)
report(pairs=K * (K - 1) // 2)
""",
}


def run_job(name: str, work: str, n: int, k: int, steps: int, pairs: int) -> dict:
    code = COMMON + f"N, K, STEPS, PAIRS, WORK = {n}, {k}, {steps}, {pairs}, {work!r}\n" + textwrap.dedent(JOBS[name])
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    ps = psutil.Process(proc.pid)
    tree_peak = 0
    while proc.poll() is None:
        try:
            procs = [ps, *ps.children(recursive=True)]
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"job {name} failed:\n{err[-3000:]}")
    result = json.loads(next(ln for ln in out.splitlines() if ln.startswith("RESULT "))[7:])
    result["tree_peak_mb"] = tree_peak / 2**20
    timings = [json.loads(ln[9:]) for ln in out.splitlines() if ln.startswith("PAIRTIME ")]
    if timings:
        solved = sum(t["pairs"] for t in timings)
        per_pair = sum(t["s"] for t in timings) / max(solved, 1)
        result["s_per_pair"] = per_pair
        result["extrapolated_s"] = per_pair * result["pairs"] / max(len(timings), 1)  # workers in parallel
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="network width (paper: 512 at the widest)")
    ap.add_argument("--networks", type=int, default=50, help="networks per condition (paper: 50)")
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=2, help="weight pairs solved per worker (time is extrapolated)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--only", nargs="+", choices=list(JOBS), help="run only these jobs")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name in args.only or JOBS:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results[name] = run_job(name, work, args.n, args.networks, args.train_steps, args.pairs)
    print(
        f"\nPeak memory per job, n={args.n}, {args.networks} networks per condition "
        f"({psutil.cpu_count()} CPUs; max_rss = job process, tree = job + workers)\n"
    )
    print(f"{'job':18s} {'max_rss MB':>10s} {'tree MB':>9s} {'wall s':>8s}  notes")
    for name, r in results.items():
        note = ""
        if "s_per_step" in r:
            note = f"{r['s_per_step']:.3f} s/step (a full run: steps x this)"
        elif "s_per_pair" in r:
            note = (
                f"{r['s_per_pair']:.1f} s/pair measured; all {r['pairs']} pairs ~ "
                f"{r['extrapolated_s'] / 3600:.1f} h with 2 workers"
            )
        elif "s_per_network" in r:
            note = f"{r['s_per_network']:.1f} s/network"
        elif "pairs" in r:
            note = f"{r['pairs']} pairs"
        print(f"{name:18s} {r['max_rss_mb']:10.0f} {r['tree_peak_mb']:9.0f} {r['wall_s']:8.1f}  {note}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
