"""Peak memory and time of one DSA operator fit, the exact SVD of the whole Hankel matrix against
the Gram path (``degeneracy.metrics.dsa.hankel_top_singular``), side by side in one run.

The exact path holds the (trials * T', units * n_delays) Hankel matrix and its SVD factors,
so its memory grows with the number of probe trials. The Gram path sums H^T H over chunks of
trials, so it needs the trajectories plus a d x d matrix (d = units * n_delays). The first
``configs/paper.yaml`` width pilot lost its n = 512 flip-flop fit (2,048 trials, 10 delays) to
the out-of-memory killer at 17 GB.

Each fit runs in a fresh subprocess (peak RSS from getrusage, one thread). The trajectories are
``dsa_vs_reference.py``'s noise-driven random tanh network (float32, as extracted), so the
Hankel matrix has full rank. Prints the ratios of
peak memory and wall time, and how far apart the two fits are: the largest relative difference
of the first ``rank`` singular values and the DSA distance between the two operators.

    python benchmarks/dsa_fit_memory.py [--trials 512] [--units 256] [--time 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

JOB = """
import json, resource, sys, time
sys.path.insert(0, {src!r})
import numpy as np, torch
torch.set_num_threads(1)
from degeneracy.metrics import dsa
X = np.load({data!r}, mmap_mode="r")
t = time.perf_counter()
fit = dsa.fit_operator_ranks(np.asarray(X), {n_delays}, {interval}, [{rank}], max_elements={max_elements})[0]
wall = time.perf_counter() - t
np.savez({out!r}, A=fit.A, singular_values=fit.singular_values)
print("RESULT " + json.dumps({{"max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "wall_s": wall}}))
"""


def run(work: Path, name: str, max_elements: int, args) -> dict:
    """One fit in a fresh subprocess: its peak RSS and wall time, and the fit (``A``,
    ``singular_values``) it saved."""
    import numpy as np

    code = JOB.format(
        src=str(REPO / "src"),
        data=str(work / "X.npy"),
        out=str(work / f"{name}.npz"),
        n_delays=args.n_delays,
        interval=args.interval,
        rank=args.rank,
        max_elements=max_elements,
    )
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} fit failed:\n{proc.stderr[-3000:]}")
    result = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    with np.load(work / f"{name}.npz") as fit:
        return {**result, "A": fit["A"], "singular_values": fit["singular_values"]}


def main() -> None:
    import numpy as np

    from dsa_vs_reference import make_system  # the same noise-driven tanh networks

    from degeneracy.metrics.dsa import SVD_MAX_ELEMENTS, DSAFit, _embedded_length, pairwise_distances

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=512)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--time", type=int, default=100)
    ap.add_argument("--n-delays", type=int, default=10)
    ap.add_argument("--interval", type=int, default=2)
    ap.add_argument("--rank", type=int, default=10)
    args = ap.parse_args()
    entries = args.trials * _embedded_length(args.time, args.n_delays, args.interval) * args.units * args.n_delays
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        X = make_system(0, n_trials=args.trials, T=args.time, n=args.units).astype(np.float32)  # as extracted
        np.save(work / "X.npy", X)
        res = {
            "exact SVD": run(work, "exact", entries + 1, args),
            "Gram path": run(work, "gram", min(SVD_MAX_ELEMENTS, entries // 2), args),  # the workflow's bound, or less
        }
    print(
        f"\nOne DSA fit: {args.trials} trials x {args.time} steps x {args.units} units, {args.n_delays} delays "
        f"(interval {args.interval}), rank {args.rank}; Hankel matrix {entries:,} entries "
        f"({entries * 8 / 2**30:.2f} GiB in float64)\n"
    )
    print("| fit | peak RSS MB | wall s |\n|---|---:|---:|")
    for k, m in res.items():
        print(f"| {k} | {m['max_rss_mb']:.0f} | {m['wall_s']:.1f} |")
    e, g = res["exact SVD"], res["Gram path"]
    print(
        f"\nmemory exact / Gram: {e['max_rss_mb'] / g['max_rss_mb']:.2f}x; time exact / Gram: {e['wall_s'] / g['wall_s']:.2f}x"
    )
    r = args.rank
    e_sv, g_sv = e["singular_values"][:r], g["singular_values"][:r]
    rel = np.max(np.abs(g_sv - e_sv) / e_sv)
    fits = [
        DSAFit(
            A=f["A"],
            singular_values=f["singular_values"],
            n_delays=args.n_delays,
            delay_interval=args.interval,
            rank=r,
            ridge=1e-8,
        )
        for f in (e, g)
    ]
    d = float(pairwise_distances(fits)[0, 1])
    print(
        f"largest relative difference of the first {r} singular values: {rel:.1e}; DSA distance between the two fits: {d:.1e}"
    )


if __name__ == "__main__":
    main()
