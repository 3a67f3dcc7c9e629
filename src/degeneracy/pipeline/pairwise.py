"""Pairwise stages: the pairs of one condition's converged networks.

Output (every metric): long table ``condition, seed_a, seed_b, metric, value`` with
``seed_a < seed_b``; the DSA file also holds one ``dsa_null`` row per converged network
(``seed_a == seed_b``).

The purely pairwise measures (weights, SVCCA: a pair's value depends on its two networks only)
run in chunks, one job per pair of seed blocks (:func:`degeneracy.conditions.pair_chunks`);
:func:`chunk_pairs` picks a chunk's pairs and :func:`gather` joins the chunks' tables into the
condition's table, in the order one job over all pairs writes. DSA stays one job per condition:
its distances come from one batched alignment of the whole set (docs/workflow.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["PAIRWISE_COLUMNS", "converged_seeds", "chunk_pairs", "gather"]

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


def chunk_pairs(
    seeds: Sequence[int], chunk: tuple[Sequence[int], Sequence[int]] | None = None
) -> list[tuple[int, int]]:
    """Index pairs (i, j), i < j, into ``seeds`` (ascending, the converged networks of the
    job's inputs) that a job measures: every pair when ``chunk`` is None, else the pairs
    (s, t), s < t, with s in ``chunk[0]`` and t in ``chunk[1]`` (the seeds of the job's two
    blocks; the same block twice: the pairs within it). In (seed_a, seed_b) order."""
    if chunk is None:
        return [(i, j) for i in range(len(seeds)) for j in range(i + 1, len(seeds))]
    first, second = {int(s) for s in chunk[0]}, {int(s) for s in chunk[1]}
    return [
        (i, j)
        for i in range(len(seeds))
        for j in range(i + 1, len(seeds))
        if (seeds[i] in first and seeds[j] in second) or (seeds[i] in second and seeds[j] in first)
    ]


def _long(
    condition: str,
    seeds: list[int],
    matrices: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Long table of ``matrices`` (metric -> k x k) over ``pairs`` (index pairs i < j into
    ``seeds``; default every pair), metric by metric, pairs in order."""
    if pairs is None:
        pairs = chunk_pairs(seeds)
    rows = []
    for metric, D in matrices.items():
        D = np.asarray(D, dtype=np.float64)
        for a, b in pairs:
            rows.append((condition, seeds[a], seeds[b], metric, float(D[a, b])))
    return pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS))


def gather(
    paths: Sequence[str | Path],
    out: str | Path | None = None,
    columns: Mapping[str, str] | None = None,
    by: Sequence[str] = ("seed_a", "seed_b"),
) -> pd.DataFrame:
    """Join the chunk tables at ``paths`` into one table (written atomically to ``out`` when
    given): metric by metric (in the order the metrics first appear), then by ``by``, the order
    in which one job over all pairs writes them. ``columns``: the table's columns and dtypes
    (default :data:`PAIRWISE_COLUMNS`). Raises ValueError when two chunks hold the same row key."""
    from degeneracy.io import atomic_write_parquet, read_parquet

    columns = dict(PAIRWISE_COLUMNS if columns is None else columns)
    frames = [read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        df = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    else:
        df = pd.concat(frames, ignore_index=True)
        key = ["metric", *by]
        dup = df.duplicated(key)
        if dup.any():
            raise ValueError(f"{int(dup.sum())} rows measured by two chunks, e.g. {df.loc[dup, key].iloc[0].tolist()}")
        rank = {m: k for k, m in enumerate(pd.unique(df["metric"]))}
        df = df.assign(_rank=df["metric"].map(rank)).sort_values(["_rank", *by], kind="stable")
        df = df.drop(columns="_rank").reset_index(drop=True)
    df = df.astype(columns).reset_index(drop=True)
    if out is not None:
        atomic_write_parquet(df, out)
    return df


def _write(df: pd.DataFrame, out: str | Path) -> None:
    from degeneracy.io import atomic_write_parquet

    if df.empty:
        df = pd.DataFrame({c: [] for c in PAIRWISE_COLUMNS})
    atomic_write_parquet(df.astype(PAIRWISE_COLUMNS).reset_index(drop=True), out)


# The per-metric stages live in their own modules (degeneracy.pipeline.pairwise_dsa,
# .pairwise_weights, .pairwise_svcca), so a job's code is only the metric it computes; their
# names stay reachable from here, loaded on use.
_MOVED = {
    "pairwise_dsa": ".pairwise_dsa",
    "pairwise_weights": ".pairwise_weights",
    "activity_sample": ".pairwise_weights",
    "WEIGHT_SEARCH_KEYS": ".pairwise_weights",
    "MAX_ACTIVITY_ROWS": ".pairwise_weights",
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name], __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
