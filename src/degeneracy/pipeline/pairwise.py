"""Pairwise stages: all pairs of one condition's converged networks in one job.

Output (both metrics): long table ``condition, seed_a, seed_b, metric, value`` with
``seed_a < seed_b``; the DSA file also holds one ``dsa_null`` row per converged network
(``seed_a == seed_b``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["PAIRWISE_COLUMNS", "converged_seeds"]

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
