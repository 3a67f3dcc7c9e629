"""Cost of the fixed-point search per network, and what it finds, on delayed discrimination.

Trains one standard network (n=64) without and one with the auxiliary output (short budget, one
thread), then times :func:`find_fixed_points` with 64, 256 and 1024 probe states drawn from each
network's own probe trajectories (input held at 0, the delay-period value) and prints the class
counts. The time ratios between probe counts are measured side by side on the same network.

    python benchmarks/fixed_points_cost.py [--n-units 64] [--epochs 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from degeneracy.io import load_checkpoint
from degeneracy.metrics.fixed_points import (
    find_fixed_points,
    fixed_point_summary,
    initial_states_from_trajectories,
)
from degeneracy.models import model_from_checkpoint
from degeneracy.tasks import make_task
from degeneracy.training import train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-units", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for aux in (False, True):
            cfg = {
                "task": {"name": "delayed_discrimination", "auxiliary": aux},
                "model": {"kind": "standard", "n_units": args.n_units},
                "training": {"max_epochs": args.epochs, "steps_per_epoch": 64, "device": "cpu"},
            }
            res = train(cfg, 0, Path(tmp) / f"{aux}.pt", Path(tmp) / f"{aux}.parquet")
            ckpt = load_checkpoint(res.checkpoint_path)
            model = model_from_checkpoint(ckpt)
            task = make_task("delayed_discrimination", auxiliary=aux)
            x, _, _ = task.sample(64, torch.Generator().manual_seed(1000))
            with torch.no_grad():
                _, hidden = model(x)
            print(f"auxiliary={aux}: training {res.status} after {res.epochs} epochs (MSE {res.final_loss:.2e})")
            times = {}
            for n_init in (64, 256, 1024):
                h0 = initial_states_from_trajectories(hidden, n_init, noise=0.1, seed=1000)
                t0 = time.perf_counter()
                fp = find_fixed_points(model, 0.0, h0)
                times[n_init] = time.perf_counter() - t0
                print(f"  n_init={n_init:5d}: {times[n_init]:6.2f} s  {fixed_point_summary(fp)}")
            print(f"  time ratio 1024/256 = {times[1024] / times[256]:.2f}, 256/64 = {times[256] / times[64]:.2f}")


if __name__ == "__main__":
    main()
