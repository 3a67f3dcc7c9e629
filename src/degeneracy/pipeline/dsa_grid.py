"""DSA robustness grid: a condition's DSA distances and nulls recomputed at scaled settings.

A dynamics verdict should not hinge on one choice of DSA rank and delay interval. This stage
refits every converged network of a condition at each combination of scaled rank and scaled
delay interval (multipliers of the task's setting, about 1/2x, 1x and 2x by default) and writes
all pairwise distances and per-network nulls as one long table. One Hankel SVD per network and
interval serves every rank; each setting's pairs are one batched optimisation.

The work is split so that no job grows with the number of seeds at the cost of a fit:
:func:`dsa_grid_fit` fits a block of networks (their operators at every setting, and their
nulls, which need no other network) and :func:`dsa_grid_distances` gathers a condition's blocks
and computes each setting's pair distances (one batched alignment of the whole set, so it is
recomputed when seeds are added). :func:`dsa_grid` does both in one call.

Output columns (:data:`GRID_COLUMNS`): ``condition, seed_a, seed_b, rank, delay_interval,
n_delays, rank_scale, interval_scale, metric, value`` with ``metric`` = ``dsa`` (seed_a < seed_b)
or ``dsa_null`` (seed_a == seed_b: the distance between that network's operators fitted on the
probe and on the second, independent probe batch of the same size, ``trajectories_probe2.parquet``). ``rank`` and ``delay_interval`` are the values used; ``rank_scale`` and
``interval_scale`` the multipliers that produced them (compare conditions by multiplier: a
clipped rank can differ between widths).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

__all__ = [
    "GRID_COLUMNS",
    "FIT_COLUMNS",
    "DEFAULT_GRID",
    "grid_settings",
    "dsa_grid_fit",
    "dsa_grid_distances",
    "dsa_grid",
]

log = logging.getLogger(__name__)

GRID_COLUMNS = {
    "condition": "string",
    "seed_a": "int64",
    "seed_b": "int64",
    "rank": "int64",
    "delay_interval": "int64",
    "n_delays": "int64",
    "rank_scale": "float64",
    "interval_scale": "float64",
    "metric": "string",
    "value": "float64",
}

#: a DSA-grid fit block: each network's operator A at every setting (matrix "A", entries i, j)
#: and its null at that setting (matrix "null", i = j = 0)
FIT_COLUMNS = {
    "condition": "string",
    "seed": "int64",
    "rank": "int64",
    "delay_interval": "int64",
    "n_delays": "int64",
    "rank_scale": "float64",
    "interval_scale": "float64",
    "matrix": "string",
    "i": "int32",
    "j": "int32",
    "value": "float64",
}
_SETTING = ["rank", "delay_interval", "n_delays", "rank_scale", "interval_scale"]

#: multipliers of the task's DSA rank and delay interval
DEFAULT_GRID: dict[str, tuple[float, ...]] = {"rank": (0.5, 1.0, 2.0), "delay_interval": (0.5, 1.0, 2.0)}


def _scaled(value: int, scale: float) -> int:
    """value * scale rounded half up, at least 1."""
    return max(1, int(math.floor(value * float(scale) + 0.5)))


def grid_settings(
    dsa: Mapping[str, Any], shape: tuple[int, int, int], grid: Mapping[str, Sequence[float]] | None = None
) -> list[dict[str, Any]]:
    """The distinct DSA settings of the grid for probe trajectories of ``shape`` (trials, time,
    units).

    Each (rank multiplier, interval multiplier) gives interval = round(interval * m) >= 1, clipped
    so that the delay window leaves at least 2 embedded time points, and rank = round(rank * m) >= 1,
    clipped to what that embedding allows: min(units * n_delays, trials * T') (the null fits a
    second probe batch of the same size, so it allows the same ranks). A combination that clips onto a setting already
    listed, or that no interval makes valid, is skipped with a logged note (of two combinations
    that give the same setting, the one with multipliers nearer 1 keeps it). Returns dicts with
    keys rank, delay_interval, n_delays, rank_scale, interval_scale, ordered by the multipliers.
    """
    from degeneracy.metrics.dsa import max_rank

    grid = DEFAULT_GRID if grid is None else grid
    unknown = set(grid) - {"rank", "delay_interval"}
    if unknown:
        raise ValueError(f"DSA grid: unknown key(s) {sorted(unknown)}; expected rank, delay_interval")
    K, T, N = (int(v) for v in shape)
    n_delays = int(dsa["n_delays"])
    # largest interval whose window leaves 2 embedded time points
    max_interval = (T - 2) // (n_delays - 1) if n_delays > 1 else None

    def near_one_first(scales):  # a duplicate keeps the label of the multiplier nearest 1
        return sorted((float(m) for m in scales), key=lambda m: (abs(math.log(m)) if m > 0 else math.inf, m))

    for key, scales in grid.items():
        if not scales or any(not (math.isfinite(float(m)) and float(m) > 0) for m in scales):
            raise ValueError(
                f"DSA grid: {key} multipliers must be a non-empty list of finite numbers > 0; got {scales}"
            )
    out, seen = [], set()
    for mi in near_one_first(grid.get("delay_interval", (1.0,))):
        interval = _scaled(int(dsa["delay_interval"]), mi)
        if max_interval is not None and interval > max_interval:
            if max_interval < 1:
                log.warning(
                    "DSA grid: n_delays=%d leaves no valid delay interval for %d time steps; interval x%g skipped",
                    n_delays,
                    T,
                    mi,
                )
                continue
            log.info(
                "DSA grid: delay interval %d (x%g) clipped to %d (window of %d delays in %d steps)",
                interval,
                mi,
                max_interval,
                n_delays,
                T,
            )
            interval = max_interval
        if n_delays == 1:
            interval = 1  # no delays: the interval has no effect
        cap = max_rank((K, T, N), n_delays, interval)
        for mr in near_one_first(grid.get("rank", (1.0,))):
            rank = _scaled(int(dsa["rank"]), mr)
            if rank > cap:
                log.info("DSA grid: rank %d (x%g) clipped to %d at delay interval %d", rank, mr, cap, interval)
                rank = cap
            if rank < 1:
                log.warning("DSA grid: no valid rank at delay interval %d; skipped", interval)
                continue
            if (rank, interval) in seen:
                log.info(
                    "DSA grid: rank x%g, interval x%g gives rank %d, interval %d again; skipped", mr, mi, rank, interval
                )
                continue
            seen.add((rank, interval))
            out.append(
                {
                    "rank": rank,
                    "delay_interval": interval,
                    "n_delays": n_delays,
                    "rank_scale": float(mr),
                    "interval_scale": float(mi),
                }
            )
    return sorted(out, key=lambda s: (s["interval_scale"], s["rank_scale"]))


def dsa_grid_fit(
    condition: str,
    network_paths: Sequence[str | Path],
    trajectory_paths: Sequence[str | Path],
    dsa: Mapping[str, Any],
    grid: Mapping[str, Sequence[float]] | None = None,
    out: str | Path | None = None,
    threads: int = 1,
    trajectory_probe2_paths: Sequence[str | Path] | None = None,
) -> pd.DataFrame:
    """Fit every converged network of a block at every grid setting (:func:`grid_settings` of
    its probe shape) and compute its null there: the distance between its fits on the probe and
    on the second, independent probe batch of the same size (``trajectory_probe2_paths``, one per
    network; None: the ``trajectories_probe2.parquet`` next to each trajectories file), with the
    optimiser seed of the main pipeline (``dsa.seed + network seed``). Returns the long table
    :data:`FIT_COLUMNS` (operators are dimensionless; nulls in units of ``dsa.mode``) and writes
    it to ``out`` if given."""
    import numpy as np
    import torch

    from degeneracy.metrics import dsa as dsa_mod

    from .dsa_fit import probe2_paths
    from .extract import read_trajectories
    from .pairwise import converged_seeds

    torch.set_num_threads(int(threads))
    conv = converged_seeds(network_paths)
    if trajectory_probe2_paths is None:
        trajectory_probe2_paths = probe2_paths(trajectory_paths)
    mode = str(dsa.get("mode", "euclidean"))
    base_seed = int(dsa.get("seed", 0))
    ridge = float(dsa["ridge"])
    n_delays = int(dsa["n_delays"])
    frames: list[pd.DataFrame] = []
    settings, shape = None, None
    for k, seed in conv:
        traj = read_trajectories(trajectory_paths[k])
        traj2 = read_trajectories(trajectory_probe2_paths[k])
        if traj.shape != traj2.shape or (settings is not None and traj.shape != shape):
            raise ValueError(
                f"DSA grid of {condition}: probe trajectories (both batches) differ in shape: "
                f"{tuple(traj.shape)} and {tuple(traj2.shape)} for seed {seed}"
                + (f", {tuple(shape)} for the block's first network" if settings is not None else "")
            )
        if settings is None:
            shape = traj.shape
            settings = grid_settings(dsa, shape, grid)
        for interval in sorted({st["delay_interval"] for st in settings}):
            group = [st for st in settings if st["delay_interval"] == interval]
            ranks = [st["rank"] for st in group]
            # one SVD per network and probe batch serves all ranks of this interval
            f1 = dsa_mod.fit_operator_ranks(traj, n_delays, interval, ranks, ridge)
            f2 = dsa_mod.fit_operator_ranks(traj2, n_delays, interval, ranks, ridge)
            for st, a, b in zip(group, f1, f2):
                null = float(dsa_mod.pairwise_distances([a, b], mode=mode, seed=base_seed + seed)[0, 1])
                A = np.asarray(a.A, dtype=np.float64)
                ii, jj = np.meshgrid(np.arange(A.shape[0]), np.arange(A.shape[1]), indexing="ij")
                key = {c: st[c] for c in _SETTING}
                frames.append(
                    pd.DataFrame(
                        {
                            "condition": condition,
                            "seed": seed,
                            **key,
                            "matrix": "A",
                            "i": ii.ravel(),
                            "j": jj.ravel(),
                            "value": A.ravel(),
                        }
                    )
                )
                frames.append(
                    pd.DataFrame(
                        {
                            "condition": condition,
                            "seed": [seed],
                            **{c: [v] for c, v in key.items()},
                            "matrix": ["null"],
                            "i": [0],
                            "j": [0],
                            "value": [null],
                        }
                    )
                )
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in FIT_COLUMNS})
    df = df[list(FIT_COLUMNS)].astype(FIT_COLUMNS)
    if out is not None:
        from degeneracy.io import atomic_write_parquet

        atomic_write_parquet(df, out)
    return df


def dsa_grid_distances(
    condition: str,
    fits: Sequence[str | Path] | pd.DataFrame,
    dsa: Mapping[str, Any],
    out: str | Path | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """Gather a condition's DSA-grid fit blocks (paths of :func:`dsa_grid_fit` tables, or one
    table) and compute, at every setting, the distance of every pair of its networks (one batched
    alignment of the whole set, optimiser seed ``dsa.seed``), plus each network's null row.
    Returns the long table :data:`GRID_COLUMNS` and writes it to ``out`` if given. Blocks fitted
    at different grid settings (a changed probe shape) are an error naming them."""
    import torch

    from degeneracy.io import read_parquet
    from degeneracy.metrics import dsa as dsa_mod

    from .dsa_fit import operators_from_long

    torch.set_num_threads(int(threads))
    if isinstance(fits, pd.DataFrame):
        table = fits
    else:
        parts = [read_parquet(p).assign(_file=str(p)) for p in fits]
        settings = {
            f: frozenset(map(tuple, g[_SETTING].drop_duplicates().to_numpy().tolist()))
            for f, g in ((p["_file"].iloc[0], p) for p in parts if len(p))
        }
        if len(set(settings.values())) > 1:
            raise ValueError(
                f"DSA grid of {condition}: the fit blocks were fitted at different settings "
                f"({', '.join(sorted(settings))}); delete them and re-run the DSA grid"
            )
        table = pd.concat(parts, ignore_index=True).drop(columns="_file") if parts else pd.DataFrame()
    if len(table) and table[table["matrix"] == "null"].duplicated(["seed", *_SETTING]).any():
        raise ValueError(f"DSA grid of {condition}: a network appears in two fit blocks")
    mode = str(dsa.get("mode", "euclidean"))
    base_seed = int(dsa.get("seed", 0))
    rows: list[tuple] = []
    if len(table):
        for key, g in table.groupby(_SETTING, sort=True):
            nulls = g[g["matrix"] == "null"].sort_values("seed")
            ops_by_seed = operators_from_long(g)
            seeds, ops = list(ops_by_seed), list(ops_by_seed.values())
            key = (int(key[0]), int(key[1]), int(key[2]), float(key[3]), float(key[4]))
            if len(seeds) >= 2:
                D = dsa_mod.pairwise_distances(ops, mode=mode, seed=base_seed)
                for a in range(len(seeds)):
                    for b in range(a + 1, len(seeds)):
                        rows.append((condition, seeds[a], seeds[b], *key, "dsa", float(D[a, b])))
            for s, v in zip(nulls["seed"], nulls["value"]):
                rows.append((condition, int(s), int(s), *key, "dsa_null", float(v)))
    df = pd.DataFrame(rows, columns=list(GRID_COLUMNS)).astype(GRID_COLUMNS)
    if len(df):  # the order of the one-job grid: by interval, then rank multiplier
        df = df.sort_values(["interval_scale", "rank_scale", "metric", "seed_a", "seed_b"], kind="stable")
        df = df.reset_index(drop=True)
    if out is not None:
        from degeneracy.io import atomic_write_parquet

        atomic_write_parquet(df, out)
    return df


def dsa_grid(
    condition: str,
    network_paths: Sequence[str | Path],
    trajectory_paths: Sequence[str | Path],
    dsa: Mapping[str, Any],
    grid: Mapping[str, Sequence[float]] | None = None,
    out: str | Path | None = None,
    threads: int = 1,
    max_networks: int | None = None,
    trajectory_probe2_paths: Sequence[str | Path] | None = None,
) -> pd.DataFrame:
    """DSA distances of every pair of converged networks and each network's null, at every
    setting of the grid (see :func:`grid_settings`; ``grid=None``: :data:`DEFAULT_GRID`): one
    :func:`dsa_grid_fit` of all networks, then :func:`dsa_grid_distances`.
    ``max_networks``: only the networks of the lowest that many seeds (the converged ones among
    them; None: all), as the workflow's ``dsa_grid.max_networks``.

    ``dsa``: the task's setting (n_delays, delay_interval, rank, ridge, mode, seed); the 1x/1x
    rows equal the ones of ``dsa_fit`` and ``pairwise_dsa``. Returns the long table
    (:data:`GRID_COLUMNS`; units of ``dsa.mode``: dimensionless for euclidean) and writes it to
    ``out`` if given.
    """
    from degeneracy.io import read_parquet

    from .dsa_fit import probe2_paths

    if trajectory_probe2_paths is None:
        trajectory_probe2_paths = probe2_paths(trajectory_paths)
    paths = list(zip(network_paths, trajectory_paths, trajectory_probe2_paths))
    if max_networks is not None:
        if int(max_networks) < 2:
            raise ValueError(f"DSA grid: max_networks must be >= 2 (a pair) or null; got {max_networks}")
        seed_of = [int(read_parquet(p[0]).iloc[0]["seed"]) for p in paths]
        order = sorted(range(len(paths)), key=lambda k: seed_of[k])
        paths = [paths[k] for k in order[: int(max_networks)]]
    fits = dsa_grid_fit(
        condition,
        [p[0] for p in paths],
        [p[1] for p in paths],
        dsa,
        grid=grid,
        threads=threads,
        trajectory_probe2_paths=[p[2] for p in paths],
    )
    return dsa_grid_distances(condition, fits, dsa, out=out, threads=threads)
