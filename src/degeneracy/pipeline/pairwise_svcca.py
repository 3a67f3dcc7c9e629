"""Pairwise stage: SVCCA distance between every pair of one condition's converged networks.

Output: the long pairwise table of :mod:`degeneracy.pipeline.pairwise` (``condition, seed_a,
seed_b, metric, value``, ``seed_a < seed_b``) with ``metric = "svcca"``: 1 - mean canonical
correlation between the networks' probe activity (:mod:`degeneracy.metrics.svcca`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

__all__ = ["pairwise_svcca"]


def pairwise_svcca(
    condition: str,
    network_paths: Sequence[str | Path],
    trajectory_paths: Sequence[str | Path],
    out: str | Path,
    variance: float = 0.99,
    threads: int = 1,
) -> pd.DataFrame:
    """SVCCA of every pair of the condition's converged networks (their trajectories were
    written by :func:`degeneracy.pipeline.extract.trajectories` on the condition's shared probe
    batch); writes and returns the long table. Fewer than 2 converged networks: an empty table."""
    import torch

    from degeneracy.metrics.svcca import pairwise_svcca as svcca_matrix

    from .extract import read_trajectories
    from .pairwise import _long, _write, converged_seeds

    torch.set_num_threads(int(threads))
    conv = converged_seeds(network_paths)
    seeds = [s for _, s in conv]
    df = pd.DataFrame()
    if len(seeds) >= 2:
        D = svcca_matrix([read_trajectories(trajectory_paths[k]) for k, _ in conv], variance=float(variance))
        df = _long(condition, seeds, {"svcca": D})
    _write(df, out)
    return df
