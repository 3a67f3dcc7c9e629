"""Joint DSA space: the networks of several conditions (one experiment, one task) compared in
one set, so that their spreads can be read in one shared space.

:func:`joint_dsa` fits the operators of every converged network of every condition with ONE
common DSA setting and computes all within- and cross-condition distances in one batched call;
:func:`joint_matrix` turns its long table back into a matrix (for classical MDS);
:func:`centroid_spread` gives each condition's clustering statistic: the mean distance of its
networks to their centroid, with a bootstrap interval over networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["JOINT_COLUMNS", "SPREAD_COLUMNS", "joint_dsa", "joint_matrix", "centroid_spread"]

JOINT_COLUMNS = {
    "condition_a": "string",
    "seed_a": "int64",
    "condition_b": "string",
    "seed_b": "int64",
    "value": "float64",
}
SPREAD_COLUMNS = {"label": "string", "n": "int64", "spread": "float64", "lo": "float64", "hi": "float64"}

#: replicates that drew a single distinct network (spread 0 by construction) are redrawn this often
_MAX_REDRAWS = 100


def joint_dsa(
    conditions: Sequence[tuple[str, Sequence[str | Path], Sequence[str | Path]]],
    dsa: Mapping[str, Any],
    out: str | Path | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """DSA distances between all converged networks of several conditions, in one set.

    ``conditions``: (condition, network_paths, trajectory_paths) per condition, as the
    per-condition stages take them. ``dsa``: one setting for all (n_delays, delay_interval, rank,
    ridge, mode, seed); the rank must fit every condition's embedding (units * n_delays).
    Returns (and writes to ``out`` if given) the long table :data:`JOINT_COLUMNS`, one row per
    unordered pair: networks ordered by the input order of the conditions, then by seed, and each
    row has the earlier network as ``a``. Values in the units of ``dsa.mode`` (euclidean:
    dimensionless, in [0, 2]).
    """
    import torch

    from degeneracy.metrics import dsa as dsa_mod

    from .extract import read_trajectories
    from .pairwise import converged_seeds

    torch.set_num_threads(int(threads))
    names = [c for c, _, _ in conditions]
    if len(set(names)) != len(names):
        raise ValueError(f"joint DSA: a condition is listed twice: {names}")
    keys, fits = [], []
    for condition, network_paths, trajectory_paths in conditions:
        conv = sorted(converged_seeds(network_paths), key=lambda t: t[1])
        for k, seed in conv:
            traj = read_trajectories(trajectory_paths[k])
            try:
                fit = dsa_mod.fit_operator(
                    traj, int(dsa["n_delays"]), int(dsa["delay_interval"]), int(dsa["rank"]), float(dsa["ridge"])
                )
            except ValueError as e:
                raise ValueError(f"joint DSA: {condition} seed {seed}: {e}") from None
            keys.append((condition, seed))
            fits.append(fit)
    rows = []
    if len(fits) >= 2:
        D = dsa_mod.pairwise_distances(fits, mode=str(dsa.get("mode", "euclidean")), seed=int(dsa.get("seed", 0)))
        I, J = np.triu_indices(len(fits), 1)
        rows = [(*keys[i], *keys[j], float(D[i, j])) for i, j in zip(I, J)]
    df = pd.DataFrame(rows, columns=list(JOINT_COLUMNS)).astype(JOINT_COLUMNS)
    if out is not None:
        from degeneracy.io import atomic_write_parquet

        atomic_write_parquet(df, out)
    return df


def joint_matrix(df: pd.DataFrame) -> tuple[np.ndarray, list[str], list[int]]:
    """The long table of :func:`joint_dsa` -> (D, condition per network, seed per network):
    D symmetric with zero diagonal, networks in the order they first appear in the table."""
    index: dict[tuple[str, int], int] = {}  # first appearance in row order, a before b
    for a, b in zip(zip(df["condition_a"], df["seed_a"]), zip(df["condition_b"], df["seed_b"])):
        for key in ((str(a[0]), int(a[1])), (str(b[0]), int(b[1]))):
            index.setdefault(key, len(index))
    order = list(index)
    D = np.full((len(order), len(order)), np.nan)
    np.fill_diagonal(D, 0.0)
    ia = [index[(str(c), int(s))] for c, s in zip(df["condition_a"], df["seed_a"])]
    ib = [index[(str(c), int(s))] for c, s in zip(df["condition_b"], df["seed_b"])]
    D[ia, ib] = df["value"].to_numpy()
    D[ib, ia] = df["value"].to_numpy()
    return D, [k[0] for k in order], [k[1] for k in order]


def _spreads(D2: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean distance to the centroid for each row of ``idx`` (n, m) (indices into D2 = D**2).

    d(i, c)^2 = mean_j D_ij^2 - mean_jk D_jk^2 / 2 over the members j, k of the (multi)set: the
    squared distance of point i to the centroid of the set in a Euclidean embedding of D (exact
    when D is Euclidean; a negative value, possible for a non-Euclidean D, counts as 0)."""
    sub = D2[idx[:, :, None], idx[:, None, :]]  # (n, m, m)
    row = sub.mean(axis=2)
    total = row.mean(axis=1, keepdims=True)
    return np.sqrt(np.clip(row - total / 2.0, 0.0, None)).mean(axis=1)


def centroid_spread(
    D: np.ndarray, labels: Sequence[Hashable], n_boot: int = 1000, seed: int = 0, ci: float = 0.95
) -> pd.DataFrame:
    """Per label: the mean distance of its points to their centroid, from the distance matrix.

    ``D`` (k x k) symmetric distances, ``labels`` (k,) one label per point (e.g. the condition).
    ``spread`` = mean_i d(i, c) over the label's points i, with d(i, c) from the centroid formula
    d(i, c)^2 = mean_j D_ij^2 - mean_jk D_jk^2 / 2 (j, k over the label's points): the distance
    to the centroid in the space that D embeds in, without an MDS truncation. ``lo``/``hi``: the
    ``ci`` percentile interval of ``n_boot`` bootstrap replicates that resample the label's points
    with replacement (a replicate drawing a single distinct point is redrawn); the generator of
    each label depends only on ``seed`` and the label. Fewer than 2 points: NaN. Units: those of D.
    Returns a DataFrame (:data:`SPREAD_COLUMNS`), labels in order of first appearance.
    """
    from degeneracy.stats.bootstrap import percentile_interval, stable_rng

    D = np.asarray(D, dtype=float)
    labels = list(labels)
    if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] != len(labels):
        raise ValueError(f"D must be k x k with one label per row; got D {D.shape} and {len(labels)} labels")
    D2 = D**2
    rows = []
    for lab in dict.fromkeys(labels):
        members = np.flatnonzero([lb == lab for lb in labels])
        m = len(members)
        if m < 2 or not np.isfinite(D[np.ix_(members, members)]).all():
            rows.append((str(lab), m, np.nan, np.nan, np.nan))
            continue
        point = float(_spreads(D2, members[None, :])[0])
        rng = stable_rng(seed, "centroid_spread", lab)
        idx = members[rng.integers(0, m, size=(int(n_boot), m))]
        for _ in range(_MAX_REDRAWS):
            single = (idx == idx[:, :1]).all(axis=1)
            if not single.any():
                break
            idx[single] = members[rng.integers(0, m, size=(int(single.sum()), m))]
        reps = _spreads(D2, idx) if n_boot > 0 else np.array([])
        lo, hi = percentile_interval(reps, ci)
        rows.append((str(lab), m, point, lo, hi))
    return pd.DataFrame(rows, columns=list(SPREAD_COLUMNS)).astype(SPREAD_COLUMNS)
