"""Pairwise DSA stage: all pairs of one condition's converged networks in one job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .pairwise import _long, _write

__all__ = ["pairwise_dsa"]


def pairwise_dsa(
    condition: str,
    operators_path: str | Path,
    null_path: str | Path,
    dsa: Mapping[str, Any],
    out: str | Path,
    threads: int = 1,
) -> pd.DataFrame:
    """DSA distance between every pair of converged networks (their operators were fitted by
    :func:`degeneracy.pipeline.extract.dsa_fit`), plus each network's null row."""
    import torch

    from degeneracy.io import read_parquet
    from degeneracy.metrics import dsa as dsa_mod

    from .dsa_fit import read_operators

    torch.set_num_threads(int(threads))
    ops = read_operators(operators_path)
    seeds = sorted(ops)
    frames = []
    if len(seeds) >= 2:
        D = dsa_mod.pairwise_distances(
            [ops[s] for s in seeds], mode=str(dsa.get("mode", "euclidean")), seed=int(dsa.get("seed", 0))
        )
        frames.append(_long(condition, seeds, {"dsa": D}))
    null = read_parquet(null_path)
    frames.append(
        pd.DataFrame(
            {
                "condition": condition,
                "seed_a": null["seed"].to_numpy(),
                "seed_b": null["seed"].to_numpy(),
                "metric": "dsa_null",
                "value": null["value"].to_numpy(),
            }
        )
    )
    frames = [f for f in frames if not f.empty]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    _write(df, out)
    return df


#: Settings of the weight search read from the config's ``weights`` mapping (besides ``seed``),
#: passed to :func:`degeneracy.metrics.weights.pairwise_weight_distances` when present.
