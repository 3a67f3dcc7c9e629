"""One prepared GPU session (issues 32 and 33): everything a lent GPU should measure, in one run
that fits its time and prints as it goes, so a cut-off run still reports what it finished.

1. ``ensemble_throughput.py`` at n = 64, 128, 512 and K = 10, 50 (networks per hour, separate
   against ensemble), in a subprocess.
2. One condition of ``configs/paper.yaml`` (flip-flop, 1 channel, standard n = 128, 50 seeds)
   trained as ensembles of ``--block`` seeds to its stop rule: networks per GPU-hour, convergence.
3. Sine's corners at the full budget (complexity, L1, nuclear, gamma without leak, width without
   leak: first and last level each), every condition one ensemble of ``--sine-seeds`` seeds, all
   conditions at once (one process each), until ``--deadline-min`` minutes after the start of the
   script. Each condition reports, when it finished or when the deadline stopped it: members
   converged, the median training MSE of the latest epoch, steps run, steps per second, and the
   minutes the full budget (``max_epochs`` x ``steps_per_epoch``) would take at that rate.

Nothing depends on it: the numbers go to the docs by hand. It uses the library only (no
Snakemake): the conditions are those ``python -m degeneracy plan configs/paper.yaml --only ...
--tasks sine --extremes`` would pilot (:func:`degeneracy.plan.pilot_overlay`).

    python benchmarks/gpu_session.py --device cuda --out $OUT            # the device run
    python benchmarks/gpu_session.py --device cpu --quick --out /tmp/g   # end to end in ~1 min

``--quick`` shrinks every part (2 seeds, 2 epochs of 4 steps, n <= 64 throughput) to check the
script itself on a CPU.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SINE_EXPERIMENTS = ["complexity", "l1", "nuclear", "gamma_no_leak", "width_no_leak"]


def say(*parts: Any) -> None:
    print(*parts, flush=True)


def paper_conditions(config_path: Path, seeds: int, only: list[str], tasks: list[str]) -> dict:
    """The conditions ``plan CONFIG --only ONLY --tasks TASKS --extremes`` pilots: id -> Condition."""
    from degeneracy.conditions import deep_merge
    from degeneracy.plan import pilot_overlay
    from degeneracy.validation import checked_study

    config = yaml.safe_load(config_path.read_text())
    overlay = pilot_overlay(config, seeds, only=only, extremes=True, tasks=tasks)
    return checked_study(deep_merge(config, overlay)).conditions


def with_device(cfg: dict, device: str, quick: bool) -> dict:
    """A copy of a condition's training config on ``device`` (``quick``: 2 epochs of 4 steps)."""
    out = json.loads(json.dumps(cfg))
    out["training"]["device"] = device
    out["training"]["num_threads"] = 1
    if quick:
        out["training"].update({"max_epochs": 2, "steps_per_epoch": 4})
    return out


def part_throughput(args: argparse.Namespace) -> None:
    sizes, ks, steps = ("32,64", "2,4", "4") if args.quick else ("64,128,512", "10,50", "40")
    cmd = [sys.executable, str(REPO / "benchmarks" / "ensemble_throughput.py"), "--device", args.device]
    cmd += ["--sizes", sizes, "--ks", ks, "--steps", steps]
    say("$", " ".join(cmd[1:]))
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=args.throughput_timeout_s, check=False)
    say(res.stdout.rstrip() or "(no output)")
    if res.returncode:
        say(f"ensemble_throughput exited {res.returncode}: {res.stderr.strip()[-2000:]}")
    say(f"[part 1: {time.perf_counter() - t0:.0f} s]")


def part_condition(args: argparse.Namespace) -> None:
    """Issue 33: one paper condition, 50 seeds, n = 128, as ensembles to its stop rule."""
    from degeneracy.training import train_ensemble

    n_seeds = 2 if args.quick else 50
    conds = paper_conditions(args.config, n_seeds, ["complexity"], ["flipflop"])
    cid, cond = sorted(conds.items())[0]  # the 1-channel level
    cfg = with_device(cond.config, args.device, args.quick)
    block = min(args.block, n_seeds)
    out = args.out / "condition" / cid
    out.mkdir(parents=True, exist_ok=True)
    say(f"condition {cid}: {n_seeds} seeds in ensembles of {block} on {args.device}")
    t0 = time.perf_counter()
    results = []
    for start in range(0, n_seeds, block):
        seeds = list(range(start, min(start + block, n_seeds)))
        ckpts = [out / f"seed{s}.pt" for s in seeds]
        logs = [out / f"seed{s}.log.parquet" for s in seeds]
        results += train_ensemble(cfg, seeds, ckpts, logs, notice=lambda m: None)
    wall = time.perf_counter() - t0
    conv = sum(r.status == "converged" for r in results)
    steps = statistics.median(r.steps for r in results)
    say(
        f"{len(results)} networks in {wall:.1f} s wall: {conv} converged, median {steps:.0f} steps; "
        f"{len(results) / (wall / 3600):.0f} networks per {args.device.upper()}-hour"
    )
    say(f"[part 2: {wall:.0f} s]")


def _sine_worker(cfg: dict, seeds: list[int], out: str) -> None:
    """One sine condition as one ensemble; its latest epoch per member goes to ``<out>/status.json``
    (rewritten at most every 5 s), its final statuses to ``<out>/done.json``."""
    import signal

    import torch

    from degeneracy.training import train_ensemble

    # at the deadline the parent terminates this process: exit normally, so that multiprocessing
    # also stops its batch-drawing children
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    torch.set_num_threads(1)
    folder = Path(out)
    latest: dict[int, dict] = {}
    last = [0.0]

    def progress(row: dict) -> None:
        latest[int(row["seed"])] = row
        now = time.perf_counter()
        if now - last[0] > 5.0:
            last[0] = now
            (folder / "status.json").write_text(json.dumps(list(latest.values())))

    results = train_ensemble(
        cfg,
        seeds,
        [folder / f"seed{s}.pt" for s in seeds],
        [folder / f"seed{s}.log.parquet" for s in seeds],
        progress=progress,
        notice=lambda m: None,
        loader_workers=1,  # conditions run side by side: one batch-drawing worker each
    )
    (folder / "status.json").write_text(json.dumps(list(latest.values())))
    (folder / "done.json").write_text(json.dumps([{"status": r.status, "steps": r.steps} for r in results]))


def _report(cid: str, folder: Path, cfg: dict, n_seeds: int) -> str:
    budget = int(cfg["training"]["max_epochs"]) * int(cfg["training"]["steps_per_epoch"])
    rows = json.loads((folder / "status.json").read_text()) if (folder / "status.json").exists() else []
    done = json.loads((folder / "done.json").read_text()) if (folder / "done.json").exists() else None
    if not rows:
        return f"| {cid} | no epoch finished | | | | |"
    steps = max(r["steps"] for r in rows)
    rate = steps / max(max(r["elapsed_s"] for r in rows), 1e-9)
    loss = statistics.median(r["loss"] for r in rows)
    if done is not None:
        conv = f"{sum(d['status'] == 'converged' for d in done)}/{n_seeds} (finished)"
    else:
        conv = f"running at the deadline ({len(rows)}/{n_seeds} members reported)"
    return f"| {cid} | {conv} | {loss:.3g} | {steps} | {rate:.1f} | {budget / rate / 60:.1f} |"


def part_sine(args: argparse.Namespace, deadline: float) -> None:
    """Issue 32: sine's corners at the full budget, one ensemble per condition, all at once."""
    n_seeds = 2 if args.quick else args.sine_seeds
    conds = paper_conditions(args.config, n_seeds, SINE_EXPERIMENTS, ["sine"])
    ctx = mp.get_context("spawn")
    procs = {}
    for cid, cond in sorted(conds.items()):
        folder = args.out / "sine" / cid
        folder.mkdir(parents=True, exist_ok=True)
        cfg = with_device(cond.config, args.device, args.quick)
        # not daemonic: a worker draws its batches in a child process of its own
        p = ctx.Process(target=_sine_worker, args=(cfg, list(cond.seeds), str(folder)))
        p.start()
        procs[cid] = (p, folder, cfg)
    say(f"sine: {len(procs)} conditions x {n_seeds} seeds, one process each, until the deadline")
    try:
        while time.time() < deadline and any(p.is_alive() for p, _, _ in procs.values()):
            time.sleep(2.0)
    finally:
        for p, _, _ in procs.values():
            if p.is_alive():
                p.terminate()
            p.join(timeout=10)
    say("| condition | converged | median MSE (latest epoch) | steps | steps/s | full budget (min) |")
    say("|---|---|---:|---:|---:|---:|")
    for cid, (p, folder, cfg) in sorted(procs.items()):
        say(_report(cid, folder, cfg, n_seeds))
    say(f"[part 3: until {time.strftime('%H:%M:%S')}]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--out", type=Path, required=True, help="folder for checkpoints and logs")
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "paper.yaml")
    ap.add_argument("--deadline-min", type=float, default=9.0, help="stop part 3 this long after the start")
    ap.add_argument("--block", type=int, default=50, help="ensemble size of part 2 (default 50)")
    ap.add_argument("--sine-seeds", type=int, default=8, help="seeds per sine condition (default 8)")
    ap.add_argument("--throughput-timeout-s", type=float, default=240.0)
    ap.add_argument("--parts", default="1,2,3", help="which parts to run (default 1,2,3)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script on a CPU")
    args = ap.parse_args(argv)
    deadline = time.time() + 60 * args.deadline_min
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            say("--device cuda but torch sees no GPU; use --device cpu --quick to check the script")
            return 2
        say(f"GPU: {torch.cuda.get_device_name()}")
    parts = {p.strip() for p in args.parts.split(",")}
    if "1" in parts:
        part_throughput(args)
    if "2" in parts:
        part_condition(args)
    if "3" in parts:
        part_sine(args, deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
