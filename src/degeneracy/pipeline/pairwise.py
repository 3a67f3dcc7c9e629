"""Pairwise stages: all pairs of one condition's converged networks in one job.

Output (both metrics): long table ``condition, seed_a, seed_b, metric, value`` with
``seed_a < seed_b``; the DSA file also holds one ``dsa_null`` row per converged network
(``seed_a == seed_b``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["PAIRWISE_COLUMNS", "pairwise_dsa", "pairwise_weights", "converged_seeds"]

PAIRWISE_COLUMNS = {
    "condition": "string",
    "seed_a": "int64",
    "seed_b": "int64",
    "metric": "string",
    "value": "float64",
}


def converged_seeds(network_paths: Sequence[str | Path]) -> list[tuple[int, int]]:
    """[(index into the inputs, seed)] of the networks that converged."""
    from degeneracy.io import read_parquet

    out = []
    for k, path in enumerate(network_paths):
        row = read_parquet(path).iloc[0]
        if bool(row["converged"]):
            out.append((k, int(row["seed"])))
    return out


def _long(condition: str, seeds: list[int], matrices: Mapping[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for metric, D in matrices.items():
        D = np.asarray(D, dtype=np.float64)
        for a in range(len(seeds)):
            for b in range(a + 1, len(seeds)):
                rows.append((condition, seeds[a], seeds[b], metric, float(D[a, b])))
    return pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS))


def _write(df: pd.DataFrame, out: str | Path) -> None:
    from degeneracy.io import atomic_write_parquet

    if df.empty:
        df = pd.DataFrame({c: [] for c in PAIRWISE_COLUMNS})
    atomic_write_parquet(df.astype(PAIRWISE_COLUMNS).reset_index(drop=True), out)


def pairwise_dsa(
    condition: str,
    network_paths: Sequence[str | Path],
    operator_paths: Sequence[str | Path],
    null_paths: Sequence[str | Path],
    dsa: Mapping[str, Any],
    out: str | Path,
    threads: int = 1,
) -> pd.DataFrame:
    """DSA distance between every pair of converged networks, plus each network's null."""
    import torch

    from degeneracy.io import read_parquet
    from degeneracy.metrics import dsa as dsa_mod

    from .extract import read_operator

    torch.set_num_threads(int(threads))
    conv = converged_seeds(network_paths)
    seeds = [s for _, s in conv]
    ops = [read_operator(operator_paths[k]) for k, _ in conv]
    frames = []
    if len(ops) >= 2:
        D = dsa_mod.pairwise_distances(ops, mode=str(dsa.get("mode", "euclidean")), seed=int(dsa.get("seed", 0)))
        frames.append(_long(condition, seeds, {"dsa": D}))
    nulls = [
        (condition, s, s, "dsa_null", float(read_parquet(null_paths[k])["value"].iloc[0])) for k, s in conv
    ]
    frames.append(pd.DataFrame(nulls, columns=list(PAIRWISE_COLUMNS)))
    df = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames
    ) else pd.DataFrame()
    _write(df, out)
    return df


def pairwise_weights(
    condition: str,
    network_paths: Sequence[str | Path],
    weight_paths: Sequence[str | Path],
    weights: Mapping[str, Any],
    out: str | Path,
    threads: int = 1,
) -> pd.DataFrame:
    """Permutation-aligned, per-n^2 and unaligned weight distances of every converged pair."""
    import torch

    from degeneracy.metrics.weights import pairwise_weight_distances

    from .extract import read_weights

    torch.set_num_threads(int(threads))
    conv = converged_seeds(network_paths)
    seeds = [s for _, s in conv]
    df = pd.DataFrame()
    if len(seeds) >= 2:
        Ws = [read_weights(weight_paths[k]) for k, _ in conv]
        res = pairwise_weight_distances(Ws, n_restarts=int(weights["n_restarts"]), seed=int(weights["seed"]))
        df = _long(
            condition,
            seeds,
            {
                "weight_aligned": res["aligned"],
                "weight_aligned_per_n2": res["aligned_per_n2"],
                "weight_unaligned": res["unaligned"],
            },
        )
    _write(df, out)
    return df
