"""Pairwise weights stage: permutation-aligned distances of the pairs of one condition's
converged networks (degeneracy.metrics.weights): all of them, or one chunk (the pairs between
two seed blocks, :func:`degeneracy.conditions.pair_chunks`) per job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .pairwise import _long, _write, chunk_pairs, converged_seeds

__all__ = ["pairwise_weights", "activity_sample", "WEIGHT_SEARCH_KEYS", "MAX_ACTIVITY_ROWS"]


WEIGHT_SEARCH_KEYS = ("n_restarts", "restart_maxiter", "n_polish", "tabu_iters")


#: Most probe time points (rows of trials x time) the activity matching correlates.
MAX_ACTIVITY_ROWS = 4096


def activity_sample(H: np.ndarray) -> np.ndarray:
    """(trials, time, units) -> (rows, units): every k-th of the trials x time rows, k the
    smallest step that keeps at most MAX_ACTIVITY_ROWS (bounds the memory of a set of 50)."""
    X = H.reshape(-1, H.shape[-1])
    step = -(-len(X) // MAX_ACTIVITY_ROWS)
    return np.ascontiguousarray(X[::step])


def _init_matrices(paths: Sequence[str | Path]) -> list[np.ndarray] | None:
    """The networks' initial recurrent matrices, or None when a weights file predates them."""
    from .extract import read_weights

    try:
        return [read_weights(p, which="init") for p in paths]
    except ValueError:  # no value_init column: written before initial weights were stored
        return None


def pairwise_weights(
    condition: str,
    network_paths: Sequence[str | Path],
    weight_paths: Sequence[str | Path],
    weights: Mapping[str, Any],
    out: str | Path,
    threads: int = 1,
    trajectory_paths: Sequence[str | Path] | None = None,
    chunk: tuple[Sequence[int], Sequence[int]] | None = None,
) -> pd.DataFrame:
    """Weight distances of every converged pair (long table, ``seed_a < seed_b``), or with
    ``chunk`` = (seeds of block a, seeds of block b) only the pairs between the two blocks
    (:func:`degeneracy.pipeline.pairwise.chunk_pairs`; the inputs then hold those blocks'
    networks). A pair's values do not depend on the other networks, so the chunks' tables
    joined (:func:`degeneracy.pipeline.pairwise.gather`) equal the table of one job.

    Metrics: ``weight_aligned`` (permutation-aligned Frobenius distance), ``weight_aligned_per_n2``
    (/ n^2), ``weight_unaligned``, ``weight_scale_free`` (aligned / RMS Frobenius norm of the two
    matrices), ``weight_gap`` (relative optimisation-gap estimate, fraction) and, when the
    weights files hold the initial matrices (column ``value_init``), the initial-matrix baseline:
    ``weight_aligned_init`` (aligned distance between the same two seeds' initial matrices),
    ``weight_scale_free_init`` (its scale-free distance) and ``weight_ratio_init`` =
    weight_aligned / weight_aligned_init of the pair (:func:`degeneracy.metrics.weights.ratio_to_init`;
    1 before training at every width, the quantity to compare across widths). Pair (a, b) is
    ``permutation_distance(W_a, W_b, seed=[weights.seed, a, b], ...)`` with a < b the network
    seeds (see :func:`degeneracy.metrics.weights.pairwise_weight_distances`). With
    ``trajectory_paths`` (the networks' trajectories.parquet, same order as the other inputs),
    FAQ also starts from the matching of the units' probe activity (every k-th trials x time row,
    at most :data:`MAX_ACTIVITY_ROWS`); the initial matrices never use it. ``threads`` worker
    processes.
    """
    from degeneracy.metrics.weights import pairwise_weight_distances, ratio_to_init

    from .extract import read_trajectories, read_weights

    conv = sorted(converged_seeds(network_paths), key=lambda t: t[1])  # seed_a < seed_b
    seeds = [s for _, s in conv]
    df = pd.DataFrame()
    pairs = chunk_pairs(seeds, chunk)
    if pairs:
        search = {k: int(weights[k]) for k in WEIGHT_SEARCH_KEYS if k in weights}
        common = dict(seed=int(weights["seed"]), labels=seeds, n_jobs=max(1, int(threads)), **search)
        Ws = [read_weights(weight_paths[k]) for k, _ in conv]
        acts = None
        if trajectory_paths is not None:
            acts = [activity_sample(read_trajectories(trajectory_paths[k])) for k, _ in conv]
        res = pairwise_weight_distances(Ws, activities=acts, pairs=pairs, **common)
        metrics = {
            "weight_aligned": res["aligned"],
            "weight_aligned_per_n2": res["aligned_per_n2"],
            "weight_unaligned": res["unaligned"],
            "weight_scale_free": res["scale_free"],
            "weight_gap": res["gap"],
        }
        W0s = _init_matrices([weight_paths[k] for k, _ in conv])
        if W0s is not None:
            init = pairwise_weight_distances(W0s, pairs=pairs, **common)
            metrics["weight_aligned_init"] = init["aligned"]
            metrics["weight_scale_free_init"] = init["scale_free"]
            metrics["weight_ratio_init"] = ratio_to_init(res["aligned"], init["aligned"])
        df = _long(condition, seeds, metrics, pairs)
    _write(df, out)
    return df
