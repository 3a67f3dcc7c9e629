"""Power of the verdict procedure on a planted effect of known size.

Each synthetic study has ``--experiments`` experiments (3 levels each, like the default study) and
three measures per experiment, so the table has 3 x experiments cells, all adjusted together (Holm).
Half of the experiments carry a planted effect: degeneracy at the highest level = ``effect`` x the
lowest (behavior and weights up, dynamics down); the other half have no effect. Printed per
(networks per condition, effect): the fraction of planted cells called in the planted direction
(power), the fraction called in the wrong direction, and the fraction of no-effect cells called
(false calls); then paired vs unpaired bootstrap power for one setting.

Run: .venv/bin/python benchmarks/verdict_power.py [--tables 6] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from degeneracy.stats import effects_table
from degeneracy.stats.synthetic import synthetic_study

DIRECTION = {"behavior": "up", "dynamics": "down", "weights": "up"}


def _study(rng, n_seeds: int, effect: float, n_exp: int):
    planted = [(f"planted{i}", "channels", "flipflop") for i in range(n_exp // 2)]
    null = [(f"null{i}", "channels", "flipflop") for i in range(n_exp - n_exp // 2)]
    effects = {"behavior": effect, "dynamics": 1.0 / effect, "weights": effect}
    a = synthetic_study(rng, n_seeds=n_seeds, effects=effects, experiments=planted)
    b = synthetic_study(rng, n_seeds=n_seeds, effects={}, experiments=null)
    return [pd.concat([x, y], ignore_index=True) for x, y in zip(a, b)]


def _rates(n_seeds: int, effect: float, n_tables: int, n_exp: int, n_boot: int, paired: bool = True):
    frames = []
    for i in range(n_tables):
        meta, nets, pairs = _study(np.random.default_rng(1000 * n_seeds + i), n_seeds, effect, n_exp)
        frames.append(effects_table(meta, nets, pairs, n_boot=n_boot, seed=i, paired=paired))
    df = pd.concat(frames, ignore_index=True)
    called = df["significant"].fillna(False).astype(bool)
    planted = df["experiment"].str.startswith("planted")
    right = called & (df["observed"] == df["measure"].map(DIRECTION))
    return {
        "power": float(right[planted].mean()),
        "wrong direction": float((called & ~right)[planted].mean()),
        "false calls": float(called[~planted].mean()),
        **{f"power {m}": float(right[planted & (df["measure"] == m)].mean()) for m in DIRECTION},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, default=6, help="synthetic studies per setting")
    ap.add_argument("--experiments", type=int, default=10, help="experiments per study (3 cells each)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--effects", type=float, nargs="+", default=[1.25, 1.5, 2.0, 3.0])
    args = ap.parse_args()
    n_cells = 3 * args.experiments
    print(
        f"{args.tables} studies per row, {n_cells} cells per study (half planted), Holm at 0.05, n_boot {args.n_boot}"
    )
    rows = []
    t0 = time.perf_counter()
    for n in args.seeds:
        for eff in args.effects:
            r = _rates(n, eff, args.tables, args.experiments, args.n_boot)
            rows.append({"networks": n, "effect (ratio)": eff, **r})
    table = pd.DataFrame(rows)
    with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 200):
        print(table.to_string(index=False))
    print(f"({time.perf_counter() - t0:.0f} s)")
    n, eff = args.seeds[min(1, len(args.seeds) - 1)], 1.5
    paired = _rates(n, eff, args.tables, args.experiments, args.n_boot, paired=True)["power"]
    unpaired = _rates(n, eff, args.tables, args.experiments, args.n_boot, paired=False)["power"]
    print(f"paired vs unpaired bootstrap, {n} networks, effect {eff}: power {paired:.2f} vs {unpaired:.2f}")


if __name__ == "__main__":
    main()
