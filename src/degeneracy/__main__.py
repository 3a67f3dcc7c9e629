"""Command line: ``python -m degeneracy train ...`` trains one network without Snakemake.

Examples::

    python -m degeneracy train --task flipflop --set task.n_channels=3 --seed 0 --out-dir runs/ff3
    python -m degeneracy train --config my_run.yaml --seed 1 --out-dir runs/mine
    python -m degeneracy measure nets/*.npz --out out/   # your own networks (docs/measure.md)
    python -m degeneracy plan configs/paper.yaml --pilot-seeds 2   # pilot + cost (docs/plan.md)

Writes ``<out-dir>/seed<seed>.pt`` (checkpoint) and ``<out-dir>/seed<seed>.log.parquet``.
While it trains it keeps ``<out-dir>/seed<seed>.pt.resume.pt`` (a snapshot every
``training.resume_every_s`` seconds, default 300): started again with the same arguments after a
kill, ``train`` continues from it and says so (``resumed from ...: epoch E done ...``), to the same
network and log as an uninterrupted run; a snapshot of another config or code version is ignored,
with the reason (docs/training.md, "Resuming").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml


def _parse_value(text: str) -> Any:
    """Parse a --set value with YAML rules (numbers, booleans, null, lists)."""
    return yaml.safe_load(text)


def _apply_set(config: dict[str, Any], assignment: str) -> None:
    if "=" not in assignment:
        raise SystemExit(f"error: --set {assignment!r} must look like section.key=value")
    dotted, value = assignment.split("=", 1)
    keys = dotted.split(".")
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = _parse_value(value)


def build_config(args: argparse.Namespace) -> dict[str, Any]:
    """Config from --config (YAML), then --task/--model/--n-units shortcuts, then --set overrides."""
    config: dict[str, Any] = {}
    if args.config:
        path = Path(args.config)
        if not path.exists():
            raise SystemExit(f"error: config file {path} does not exist")
        config = yaml.safe_load(path.read_text()) or {}
    if args.task:
        config.setdefault("task", {})["name"] = args.task
    if args.model:
        config.setdefault("model", {})["kind"] = args.model
    if args.n_units:
        config.setdefault("model", {})["n_units"] = args.n_units
    for assignment in args.set or []:
        _apply_set(config, assignment)
    return config


def _train(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .tasks import TaskConfigError
    from .training import train

    config = build_config(args)
    out = Path(args.out_dir)
    show = args.progress or (args.progress is None and sys.stderr.isatty())

    def progress(row: dict[str, Any]) -> None:
        print(
            f"epoch {row['epoch']:4d}  steps {row['steps']:6d}  mse {row['loss']:.3e}  "
            f"lr {row['lr']:.1e}  {row['elapsed_s']:7.1f}s",
            file=sys.stderr,
            flush=True,
        )

    try:
        result = train(
            config,
            args.seed,
            out / f"seed{args.seed}.pt",
            out / f"seed{args.seed}.log.parquet",
            progress=progress if show else None,
        )
    except (ConfigError, TaskConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.status}: {result.epochs} epochs, {result.steps} steps, final MSE {result.final_loss:.3e}; "
        f"wrote {result.checkpoint_path} and {result.log_path}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m degeneracy``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m degeneracy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one network to criterion")
    p.add_argument("--config", help="YAML file with task/model/training sections (docs/architecture.md)")
    p.add_argument("--task", help="task name: flipflop, delayed_discrimination, sine, path_integration")
    p.add_argument("--model", help="model kind: standard or mup")
    p.add_argument("--n-units", type=int, help="number of hidden units")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.KEY=VALUE",
        help="override one config value, e.g. training.lr=0.003 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="drives initialisation and data (default 0)")
    p.add_argument("--out-dir", default="runs", help="output folder (default runs/)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print one line per epoch (default: only when stderr is a terminal)",
    )
    p.set_defaults(func=_train)
    from .measure.cli import add_parser as add_measure_parser

    add_measure_parser(sub)
    from .plan import add_parser as add_plan_parser

    add_plan_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
