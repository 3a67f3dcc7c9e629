"""DSA robustness grid: a condition's DSA distances and nulls recomputed at scaled settings.

A dynamics verdict should not hinge on one choice of DSA rank and delay interval. This stage
refits every converged network of a condition at each combination of scaled rank and scaled
delay interval (multipliers of the task's setting, about 1/2x, 1x and 2x by default) and writes
all pairwise distances and per-network nulls as one long table. One Hankel SVD per network and
interval serves every rank; each setting's pairs are one batched optimisation.

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

__all__ = ["GRID_COLUMNS", "DEFAULT_GRID", "grid_settings", "dsa_grid"]

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
    setting of the grid (see :func:`grid_settings`; ``grid=None``: :data:`DEFAULT_GRID`).
    ``max_networks``: use only the first that many converged networks (lowest seeds; None: all).

    ``dsa``: the task's setting (n_delays, delay_interval, rank, ridge, mode, seed). Each null is
    the distance between the network's fits on its two probe batches at that setting
    (``trajectory_probe2_paths``, one per network; None: the ``trajectories_probe2.parquet`` next
    to each trajectories file), with the optimiser seed of the main pipeline
    (``dsa.seed + network seed``), so the 1x/1x rows equal the ones of ``dsa_fit``. Returns the long table (:data:`GRID_COLUMNS`; units of
    ``dsa.mode``: dimensionless for euclidean) and writes it to ``out`` if given.
    """
    import torch

    from degeneracy.metrics import dsa as dsa_mod

    from .dsa_fit import probe2_paths
    from .extract import read_trajectories
    from .pairwise import converged_seeds

    torch.set_num_threads(int(threads))
    conv = converged_seeds(network_paths)
    if max_networks is not None:
        if int(max_networks) < 2:
            raise ValueError(f"DSA grid: max_networks must be >= 2 (a pair) or null; got {max_networks}")
        conv = sorted(conv, key=lambda ks: ks[1])[: int(max_networks)]
    seeds = [s for _, s in conv]
    trajs = [read_trajectories(trajectory_paths[k]) for k, _ in conv]
    if trajectory_probe2_paths is None:
        trajectory_probe2_paths = probe2_paths(trajectory_paths)
    trajs2 = [read_trajectories(trajectory_probe2_paths[k]) for k, _ in conv]
    mode = str(dsa.get("mode", "euclidean"))
    base_seed = int(dsa.get("seed", 0))
    ridge = float(dsa["ridge"])
    n_delays = int(dsa["n_delays"])
    rows: list[tuple] = []
    if trajs:
        shapes = {t.shape for t in trajs + trajs2}
        if len(shapes) > 1:
            raise ValueError(
                f"DSA grid of {condition}: probe trajectories (both batches) differ in shape: {sorted(shapes)}"
            )
        settings = grid_settings(dsa, trajs[0].shape, grid)
        for interval in sorted({s["delay_interval"] for s in settings}):
            group = [s for s in settings if s["delay_interval"] == interval]
            ranks = [s["rank"] for s in group]
            # one SVD per network and probe batch serves all ranks of this interval
            fits = [dsa_mod.fit_operator_ranks(t, n_delays, interval, ranks, ridge) for t in trajs]
            fits2 = [dsa_mod.fit_operator_ranks(t, n_delays, interval, ranks, ridge) for t in trajs2]
            nulls = [
                [float(dsa_mod.pairwise_distances([a, b], mode=mode, seed=base_seed + s)[0, 1]) for a, b in zip(f1, f2)]
                for f1, f2, s in zip(fits, fits2, seeds)
            ]
            for g, st in enumerate(group):
                key = (st["rank"], interval, n_delays, st["rank_scale"], st["interval_scale"])
                if len(seeds) >= 2:
                    D = dsa_mod.pairwise_distances([f[g] for f in fits], mode=mode, seed=base_seed)
                    for a in range(len(seeds)):
                        for b in range(a + 1, len(seeds)):
                            rows.append((condition, seeds[a], seeds[b], *key, "dsa", float(D[a, b])))
                for s, nv in zip(seeds, nulls):
                    rows.append((condition, s, s, *key, "dsa_null", float(nv[g])))
    df = pd.DataFrame(rows, columns=list(GRID_COLUMNS)).astype(GRID_COLUMNS)
    if out is not None:
        from degeneracy.io import atomic_write_parquet

        atomic_write_parquet(df, out)
    return df
