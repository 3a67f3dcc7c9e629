"""Training throughput of the standard (fused nn.RNN) and muP (fused custom recurrence) models.

Prints training steps per second at widths 64 and 128 (batch 64, T 100, one thread), the muP/standard
speed ratio at equal width measured side by side (target >= 0.7; the plain per-step autograd loop is
shown for reference), and the time to threshold of a 3-bit flip-flop network (n=128, lr 3e-3).

    python benchmarks/train_throughput.py [--skip-threshold]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from degeneracy.models import build_model
from degeneracy.tasks import make_task
from degeneracy.training import masked_mse, train


def steps_per_second(model: torch.nn.Module, task, n_steps: int, batch: int = 64) -> float:
    """Full training steps (sample, forward, backward, Adam) per second."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for i in range(n_steps + 3):
        if i == 3:
            t0 = time.perf_counter()
        x, y, mask = task.sample(batch, gen)
        loss = masked_mse(model(x)[0], y, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return n_steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median ratio is reported")
    ap.add_argument("--skip-threshold", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = make_task("flipflop", n_channels=3, T=100)
    print("width  standard[steps/s]  mup[steps/s]  mup_loop[steps/s]  mup/standard  loop/standard")
    for n in (64, 128):
        rows = []
        for _ in range(args.rounds):  # interleave the models so machine noise hits all alike
            r = {}
            for name, kind, fused in (("standard", "standard", True), ("mup", "mup", True), ("mup_loop", "mup", False)):
                m = build_model({"kind": kind, "n_units": n, "gamma": 1.0, "tau": 0.1, "readout_init": "zero"}, 3, 3, 0)
                if kind == "mup":
                    m.fused = fused
                r[name] = steps_per_second(m, task, args.steps)
            rows.append(r)
        med = lambda key: sorted(key(r) for r in rows)[len(rows) // 2]
        print(
            f"{n:5d}  {med(lambda r: r['standard']):17.1f}  {med(lambda r: r['mup']):12.1f}  "
            f"{med(lambda r: r['mup_loop']):17.1f}  {med(lambda r: r['mup'] / r['standard']):12.2f}  "
            f"{med(lambda r: r['mup_loop'] / r['standard']):13.2f}"
        )
    if not args.skip_threshold:
        cfg = {"task": {"name": "flipflop", "n_channels": 3}, "model": {"n_units": 128}, "training": {"lr": 3e-3}}
        with tempfile.TemporaryDirectory() as d:
            res = train(cfg, 0, Path(d) / "c.pt", Path(d) / "l.parquet")
            import pandas as pd

            log = pd.read_parquet(Path(d) / "l.parquet")
        crossed = log[log["loss"] < 1e-3]
        first = crossed.iloc[0] if len(crossed) else None
        print(
            f"3-bit flip-flop, n=128, lr 3e-3: status {res.status}; epoch-mean MSE < 1e-3 after "
            f"{int(first['steps']) if first is not None else 'n/a'} steps, "
            f"{first['elapsed_s']:.1f} s"
            if first is not None
            else "",
            f"(stopped after {res.steps} steps, {log['elapsed_s'].iloc[-1]:.1f} s)",
        )


if __name__ == "__main__":
    main()
