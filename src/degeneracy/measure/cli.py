"""``python -m degeneracy measure``: argument parser and entry point (docs/measure.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["HELP", "add_parser", "run"]

HELP = """\
Measure the degeneracy of your own trained RNNs: behavior (SD of the OOD loss), dynamics (DSA),
weights (permutation-aligned distance) and representations (SVCCA), per group, with the trend
across ordered groups. Writes tables, figures and report.md to --out (docs/measure.md).

Input formats (NETWORKS: files, folders or glob patterns; at least 2 networks):
  .npz arrays, one file per network:
      W             (n, n) recurrent weight matrix
      trajectories  (trials, time, n) hidden states on probe inputs shared by all networks
                    ((time, n) = one trial)
    optional:
      ood_loss      scalar, or one value per trial (behavior level)
      W0            (n, n) initial weights (weight change in the networks table)
      group         a label (number or string) for comparing conditions (see --group-by);
                    files without it: one group 'all' if none has it, else --default-group
      converged     true/false, if known (default: unknown; every network is included)
  .pt / .pth PyTorch checkpoints: a state_dict (possibly nested) of torch.nn.RNN, or of any
    module with a named recurrent weight (--weight-key). Trajectories come from a .npz with the
    same stem beside it (keys as above, W not needed), or by running the torch.nn.RNN on
    --inputs inputs.npz (key inputs: (trials, time, n_in)).
  A folder (its *.npz, *.pt, *.pth) or a quoted glob of either.

Widths may differ for DSA and SVCCA; weight distances need equal widths within a group.

Example:
  python -m degeneracy measure nets/*.npz --out out/ --group-by group
"""


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``measure`` subcommand to an argparse subparsers object; returns its parser."""
    p = sub.add_parser(
        "measure",
        help="measure degeneracy of your own networks (.npz or PyTorch checkpoints)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("networks", nargs="+", metavar="NETWORKS", help="files, folders or quoted glob patterns")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--group-by",
        default="group",
        metavar="LABEL",
        help="key holding each network's group label (default: group); 'folder' = parent folder name",
    )
    p.add_argument(
        "--default-group",
        metavar="LABEL",
        help="group of networks without the --group-by key (default: such a mix is an error)",
    )
    p.add_argument(
        "--levels", metavar="A,B,C", help="order of string group labels (numeric labels are ordered by value)"
    )
    p.add_argument("--metrics", metavar="M,M", help="subset of dsa,weights,svcca (default: all the data allows)")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("auto", "npz", "torch"),
        default="auto",
        help="input format (default: by file suffix)",
    )
    p.add_argument(
        "--weight-key", metavar="KEY", help="state_dict key of the recurrent weight (default: *weight_hh_l0)"
    )
    p.add_argument(
        "--inputs", metavar="inputs.npz", help="inputs (key 'inputs', trials x time x n_in) to run checkpoints on"
    )
    p.add_argument(
        "--nonlinearity", choices=("tanh", "relu"), default="tanh", help="of the torch.nn.RNN run on --inputs"
    )
    g = p.add_argument_group("DSA (dynamics)")
    g.add_argument("--dsa-rank", type=int, default=10, metavar="R", help="rank of the operator (default 10)")
    g.add_argument("--dsa-n-delays", type=int, default=10, metavar="D", help="delay-embedding depth (default 10)")
    g.add_argument("--dsa-delay-interval", type=int, default=1, metavar="I", help="steps between delays (default 1)")
    g.add_argument(
        "--dsa-ridge", type=float, default=1e-8, metavar="X", help="ridge of the operator fit (default 1e-8)"
    )
    g.add_argument(
        "--dsa-mode",
        choices=("euclidean", "angular", "wasserstein"),
        default="euclidean",
        help="distance between operators (default euclidean)",
    )
    g.add_argument("--no-dsa-null", dest="dsa_null", action="store_false", help="skip the per-network noise floor")
    p.add_argument(
        "--weight-restarts", type=int, default=8, metavar="N", help="FAQ restarts per weight pair (default 8)"
    )
    p.add_argument(
        "--svcca-variance",
        type=float,
        default=0.99,
        metavar="F",
        help="fraction of variance kept before CCA (default 0.99)",
    )
    p.add_argument("--n-boot", type=int, default=1000, metavar="N", help="bootstrap replicates (default 1000)")
    p.add_argument(
        "--min-levels", type=int, default=2, metavar="N", help="groups needed for a trend verdict (default 2)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the optimisers and the bootstrap (default 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads and weight-distance workers (default 1)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write tables and report only")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)
    return p


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def run(args: argparse.Namespace) -> int:
    """Run ``measure`` from parsed arguments; returns the exit code (2 on bad input)."""
    from .core import measure
    from .formats import MeasureInputError, safe_text
    from .report import MeasureOutputError

    t0 = time.time()

    def progress(msg: str) -> None:
        print(f"[measure {time.time() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    try:
        res = measure(
            args.networks,
            group_by=args.group_by,
            default_group=args.default_group,
            levels=_split(args.levels),
            metrics=_split(args.metrics),
            fmt=args.fmt,
            weight_key=args.weight_key,
            inputs=args.inputs,
            nonlinearity=args.nonlinearity,
            dsa_rank=args.dsa_rank,
            dsa_n_delays=args.dsa_n_delays,
            dsa_delay_interval=args.dsa_delay_interval,
            dsa_ridge=args.dsa_ridge,
            dsa_mode=args.dsa_mode,
            dsa_null=args.dsa_null,
            weight_restarts=args.weight_restarts,
            svcca_variance=args.svcca_variance,
            n_boot=args.n_boot,
            min_levels=args.min_levels,
            seed=args.seed,
            threads=args.threads,
            out=args.out,
            figures=args.figures,
            progress=None if args.quiet else progress,
        )
    except MeasureInputError as exc:
        print(f"error: {safe_text(' '.join(str(exc).split()))}", file=sys.stderr)
        return 2
    except MeasureOutputError as exc:
        print(f"error: {safe_text(' '.join(str(exc).split()))}", file=sys.stderr)
        return 1
    print(
        f"{len(res.networks)} networks, metrics {', '.join(res.settings['metrics']) or 'none'}; "
        f"report: {safe_text(Path(args.out) / 'report.md')}"
    )
    return 0
