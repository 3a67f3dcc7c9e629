"""Pairwise stage: SVCCA distance between every pair of one condition's converged networks.

Output: the long pairwise table of :mod:`degeneracy.pipeline.pairwise` (``condition, seed_a,
seed_b, metric, value``, ``seed_a < seed_b``) with ``metric = "svcca"``: 1 - mean canonical
correlation between the networks' activity on the condition's probe batch
(:mod:`degeneracy.metrics.svcca`), and, when the second probe batch's trajectories are given,
``metric = "svcca_probe2"``: the same on the independent second probe batch (its difference from
``svcca`` is the probe-sampling noise of the distance). Beside it, the canonical-correlation
spectrum of every pair (:data:`SPECTRUM_COLUMNS`, one row per pair, probe and component).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

__all__ = ["pairwise_svcca", "SPECTRUM_COLUMNS"]

#: The spectrum file's columns (docs/outputs.md): one row per (pair, metric, canonical component).
SPECTRUM_COLUMNS = {
    "condition": "string",
    "seed_a": "int64",
    "seed_b": "int64",
    "metric": "string",
    "component": "int64",
    "correlation": "float64",
    "kept_a": "int64",
    "kept_b": "int64",
    "explained_a": "float64",
    "explained_b": "float64",
    "n99_a": "int64",
    "n99_b": "int64",
}


def _spectrum_rows(condition: str, seeds: list[int], metric: str, res) -> list[tuple]:
    rows = []
    for p, (i, j) in enumerate(res.pairs):
        q = int(min(res.kept[i], res.kept[j]))
        for c in range(q):
            rows.append(
                (
                    condition,
                    seeds[i],
                    seeds[j],
                    metric,
                    c,
                    float(res.correlations[p, c]),
                    int(res.kept[i]),
                    int(res.kept[j]),
                    float(res.explained[i]),
                    float(res.explained[j]),
                    int(res.n99[i]),
                    int(res.n99[j]),
                )
            )
    return rows


def pairwise_svcca(
    condition: str,
    network_paths: Sequence[str | Path],
    trajectory_paths: Sequence[str | Path],
    out: str | Path,
    variance: float = 0.99,
    threads: int = 1,
    n_components: int | None = None,
    probe2_paths: Sequence[str | Path] | None = None,
    out_spectrum: str | Path | None = None,
    chunk: tuple[Sequence[int], Sequence[int]] | None = None,
) -> pd.DataFrame:
    """SVCCA of every pair of the condition's converged networks (their trajectories were
    written by :func:`degeneracy.pipeline.extract.trajectories` on the condition's shared probe
    batch); writes and returns the long table. ``n_components``: the fixed number of components
    per network (the task's ``svcca.n_components``; None: the ``variance`` rule).
    ``probe2_paths``: the same networks' trajectories on the second probe batch (adds
    ``svcca_probe2`` rows). ``out_spectrum``: where to write the canonical correlations
    (:data:`SPECTRUM_COLUMNS`). Fewer than 2 converged networks: empty tables. ``chunk`` =
    (seeds of block a, seeds of block b): only the pairs between the two blocks (the inputs hold
    those blocks' networks); a pair's values depend on its two networks only, so the chunks'
    tables joined equal one job's."""
    import torch

    from degeneracy.io import atomic_write_parquet
    from degeneracy.metrics.svcca import pairwise_svcca_spectrum

    from .extract import read_trajectories
    from .pairwise import _long, _write, chunk_pairs, converged_seeds

    torch.set_num_threads(int(threads))
    conv = sorted(converged_seeds(network_paths), key=lambda t: t[1])  # seed_a < seed_b
    seeds = [s for _, s in conv]
    sources = {"svcca": trajectory_paths}
    if probe2_paths is not None:
        if len(probe2_paths) != len(trajectory_paths):
            raise ValueError(
                f"{condition}: {len(probe2_paths)} probe-2 trajectory files for {len(trajectory_paths)} networks"
            )
        sources["svcca_probe2"] = probe2_paths
    matrices, spectrum = {}, []
    pairs = chunk_pairs(seeds, chunk)
    if pairs:
        for metric, paths in sources.items():
            res = pairwise_svcca_spectrum(
                (read_trajectories(paths[k]) for k, _ in conv),  # one network in memory at a time
                variance=float(variance),
                n_components=None if n_components is None else int(n_components),
                pairs=pairs,
            )
            matrices[metric] = res.distance
            spectrum += _spectrum_rows(condition, seeds, metric, res)
    df = _long(condition, seeds, matrices, pairs) if matrices else pd.DataFrame()
    _write(df, out)
    if out_spectrum is not None:
        spec = pd.DataFrame(spectrum, columns=list(SPECTRUM_COLUMNS))
        atomic_write_parquet(spec.astype(SPECTRUM_COLUMNS).reset_index(drop=True), out_spectrum)
    return df
