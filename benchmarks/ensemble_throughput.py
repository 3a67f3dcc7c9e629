"""Networks per hour: separate training (one fused nn.RNN per job) vs the stacked ensemble.

Both paths are the real trainers (``train`` and ``train_ensemble``) on the same device, timed at
their per-epoch progress calls: epoch 1 holds warm-up (and, with --compile, the one-time compile),
epoch 2 is steady state. On CPU the clock is the process's CPU time by default (robust to other
jobs on a shared machine); on CUDA it is wall time. The threshold is set unreachably low so that no member stops early.

For each width n and ensemble size K it prints the time per network-step of each path, the compile
cost, and networks per hour at a training length of --train-steps steps per network (compile
included), with the ensemble/separate ratio.

    python benchmarks/ensemble_throughput.py --sizes 64 --ks 8 --steps 30            # CPU, brief
    python benchmarks/ensemble_throughput.py --device cuda --sizes 64,128,512 --ks 10,50
    python benchmarks/ensemble_throughput.py --cache-probe --sizes 64 --ks 8 --steps 20

--cache-probe runs the compiled ensemble in two fresh processes that share one new inductor cache
directory and prints the warm-up (compile included) of each: how much of the compile the second
process skips.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from degeneracy.training import train, train_ensemble


def config(kind: str, n: int, steps: int, device: str, T: int, batch: int) -> dict:
    """A flip-flop config that runs exactly two epochs of ``steps`` steps without converging."""
    return {
        "task": {"name": "flipflop", "n_channels": 3, "T": T},
        "model": {"kind": kind, "n_units": n},
        "training": {
            "steps_per_epoch": steps,
            "max_epochs": 2,
            "batch_size": batch,
            "threshold": 1e-12,
            "device": device,
            "num_threads": 1,
        },
    }


class EpochClock:
    """A ``progress`` callback that stamps the end of each epoch (first member to report it) on the
    chosen clock, ``wall`` (perf_counter) or ``cpu`` (this process's CPU time, robust to other load on
    a shared machine; it leaves out GPU time and worker processes, so use wall on CUDA), and on the
    wall clock for the warm-up (inductor compiles in subprocesses the CPU clock does not see)."""

    def __init__(self, clock: str) -> None:
        self.now = time.process_time if clock == "cpu" else time.perf_counter
        self.start, self.wall_start = self.now(), time.perf_counter()
        self.stamps: dict[int, tuple[float, float]] = {}

    def __call__(self, row: dict) -> None:
        if row["epoch"] not in self.stamps:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.stamps[row["epoch"]] = (self.now(), time.perf_counter())

    def result(self, steps: int) -> tuple[float, float]:
        """(warm-up s on the wall clock: epoch 1 minus a steady epoch, steady s per step)."""
        (c1, w1), (c2, w2) = self.stamps[1], self.stamps[2]
        return max((w1 - self.wall_start) - (w2 - w1), 0.0), (c2 - c1) / steps


def time_separate(cfg: dict, d: Path, clock: str) -> tuple[float, float]:
    """(warm-up s, steady s per step) of one network trained alone."""
    c = EpochClock(clock)
    train(cfg, 0, d / "sep.pt", d / "sep.parquet", progress=c)
    return c.result(cfg["training"]["steps_per_epoch"])


def time_ensemble(cfg: dict, K: int, d: Path, compile: bool, clock: str) -> tuple[float, float]:
    """(warm-up incl. compile s, steady s per ensemble step) of K networks trained together."""
    seeds = list(range(K))
    c = EpochClock(clock)
    train_ensemble(
        cfg, seeds, [d / f"e{s}.pt" for s in seeds], [d / f"e{s}.parquet" for s in seeds], progress=c, compile=compile
    )
    return c.result(cfg["training"]["steps_per_epoch"])


def cache_probe(args: argparse.Namespace) -> None:
    """Run one compiled ensemble in two fresh processes sharing a new, empty TORCHINDUCTOR_CACHE_DIR
    (the first compiles from scratch, the second can reuse what the first cached)."""
    cache = tempfile.mkdtemp(prefix="inductor-probe-")
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
    n, K = args.sizes[0], args.ks[0]
    cmd = [
        sys.executable,
        __file__,
        "--sizes",
        str(n),
        "--ks",
        str(K),
        "--steps",
        str(args.steps),
        "--device",
        args.device,
        "--kind",
        args.kind,
        "--T",
        str(args.T),
        "--batch",
        str(args.batch),
        "--clock",
        args.clock,
        "--compiled-only",
    ]
    print(f"inductor cache probe (n={n}, K={K}, cache {cache}):")
    for run in (1, 2):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            return
        warm, step = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  process {run}: warm-up incl. compile {warm:7.1f} s, steady {1e3 * step:7.2f} ms per ensemble step",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[64, 128, 512])
    ap.add_argument("--ks", type=lambda s: [int(v) for v in s.split(",")], default=[10, 50])
    ap.add_argument("--steps", type=int, default=40, help="steps per timed epoch (default 40)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--kind", default="standard", choices=["standard", "mup"])
    ap.add_argument("--compile", action="store_true", help="time the compiled ensemble too")
    ap.add_argument("--T", type=int, default=50, help="trial length (default 50)")
    ap.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    ap.add_argument(
        "--train-steps",
        type=int,
        default=20_000,
        help="training length per network used for networks/hour (default 20000 steps)",
    )
    ap.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default=None,
        help="cpu: this process's CPU time (default on CPU); wall: elapsed time (default on CUDA)",
    )
    ap.add_argument(
        "--cache-probe",
        action="store_true",
        help="only measure the compile cost and its reuse through the inductor cache across processes "
        "(first of --sizes and --ks)",
    )
    ap.add_argument("--compiled-only", action="store_true", help=argparse.SUPPRESS)  # one JSON line, for the probe
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.clock = args.clock or ("wall" if args.device == "cuda" else "cpu")
    if args.compiled_only:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = config(args.kind, args.sizes[0], args.steps, args.device, args.T, args.batch)
            print(json.dumps(time_ensemble(cfg, args.ks[0], Path(tmp), True, args.clock)))
        return
    if args.cache_probe:
        cache_probe(args)
        return
    dev = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {torch.get_num_threads()} thread"
    print(
        f"device: {dev}; {args.kind} models, flip-flop T={args.T}, batch {args.batch}, {args.steps} timed "
        f"steps, {args.clock} clock; networks/hour at {args.train_steps} steps per network"
    )
    paths = [("eager", False)] + ([("compiled", True)] if args.compile else [])
    print("    n    K  path      sep[ms/net-step]  ens[ms/net-step]  compile[s]  sep[net/h]  ens[net/h]  ratio")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            cfg = config(args.kind, n, args.steps, args.device, args.T, args.batch)
            _, sep_step = time_separate(cfg, d, args.clock)
            sep_rate = 3600.0 / (sep_step * args.train_steps)
            for K in args.ks:
                for name, comp in paths:
                    warm, ens_step = time_ensemble(cfg, K, d, comp, args.clock)
                    ens_rate = 3600.0 * K / (warm + ens_step * args.train_steps)
                    print(
                        f"{n:5d} {K:4d}  {name:8s}  {1e3 * sep_step:16.3f}  {1e3 * ens_step / K:16.3f}  "
                        f"{warm:10.1f}  {sep_rate:10.1f}  {ens_rate:10.1f}  {ens_rate / sep_rate:5.2f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
