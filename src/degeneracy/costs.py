"""Measured per-unit costs of the metric stages, and the job sizes that follow from them.

One place for the numbers that both the workflow (how many seeds go into one pairwise or DSA-grid
job: ``rules/common.smk``) and ``python -m degeneracy plan`` (projected job durations) use, so a
job is sized by the same cost the projection checks it against. Pure Python, no torch or numpy:
the Snakefile imports it while it builds the DAG.

Seconds are wall seconds on one core of the 2-core development machine (docs/plan.md, "Wall
time of a cluster", says where each number was measured); ``n`` is the network width and
``trials`` the probe batch size (``analysis.probe.n_trials``).
"""

from __future__ import annotations

import math

__all__ = [
    "MEASURED",
    "TARGET_JOB_S",
    "weights_pair_s",
    "svcca_network_s",
    "dsa_fit_network_s",
    "dsa_grid_network_s",
    "pair_block",
    "network_block",
]

MEASURED: dict[str, float] = {
    # pairwise_weights at n = 512 (trained networks, initial-matrix baseline, activity start):
    # the 6-seed width pilot's job, 399 s for 15 pairs on one core, start-up included
    "pairwise_weights_pair_s_n512": 26.6,
    # the same at n = 128 (docs/metrics.md: 268 ms per search, two searches per pair)
    "pairwise_weights_pair_s_n128": 0.54,
    # dsa_fit per n = 512 flip-flop network at 2,048 probe trials (the width pilot: 4.8 min,
    # 4.6 GB; the operator and its null, two Hankel fits)
    "dsa_fit_network_s_n512": 288.0,
    # one SVCCA basis per network and probe batch at n = 512, 2,048 trials (not timed: an estimate)
    "svcca_basis_s_n512": 15.0,
    # one DSA distance (the batched optimisation of one pair; pairwise_dsa: 39 s for 1,225 pairs)
    "dsa_distance_s": 0.032,
}

#: what an automatically sized job aims at (45 min): under the 60-min requests of the chunked
#: rules with a margin for a slower core
TARGET_JOB_S = 45 * 60.0


def weights_pair_s(n: int) -> float:
    """Seconds for one pair of the weight metric at width ``n`` (26.6 s at 512, 0.54 s at 128:
    the exponent 2.81 joins the two measurements)."""
    return MEASURED["pairwise_weights_pair_s_n512"] * (n / 512.0) ** 2.81


def svcca_network_s(n: int, trials: int) -> float:
    """Seconds per network an SVCCA chunk reads (one basis per probe batch, two batches)."""
    size = (n / 512.0) * (trials / 2048.0)
    return 2 * max(0.5, MEASURED["svcca_basis_s_n512"] * size)


def dsa_fit_network_s(n: int, trials: int) -> float:
    """Seconds per network of ``dsa_fit`` (the operator and its null: one Hankel fit per probe
    batch), at least 2 s."""
    return max(2.0, MEASURED["dsa_fit_network_s_n512"] * (n / 512.0) ** 2 * trials / 2048.0)


def dsa_grid_network_s(n: int, trials: int, n_intervals: int = 3, n_settings: int = 9) -> float:
    """Seconds per network of a DSA-grid fit job: one Hankel fit per delay interval and probe
    batch (``n_intervals`` x the two fits of :func:`dsa_fit_network_s`), plus the network's null
    at each of the ``n_settings`` grid settings."""
    return n_intervals * dsa_fit_network_s(n, trials) + n_settings * MEASURED["dsa_distance_s"]


def pair_block(n: int, trials: int, target_s: float = TARGET_JOB_S) -> int:
    """Seeds per block of the chunked pairwise jobs (weights and SVCCA share the chunks) at width
    ``n`` and ``trials`` probe trials: the largest B (at least 2) for which a job over two blocks,
    B * B weight pairs or 2 B networks' SVCCA bases, is projected under ``target_s``."""
    by_weights = math.isqrt(max(4, int(target_s / weights_pair_s(n))))
    by_svcca = int(target_s / (2 * svcca_network_s(n, trials)))
    return max(2, min(by_weights, by_svcca))


def network_block(n: int, trials: int, target_s: float = TARGET_JOB_S) -> int:
    """Networks per DSA-grid fit job at width ``n`` and ``trials`` probe trials: the largest
    count (at least 1) projected under ``target_s``."""
    return max(1, int(target_s / dsa_grid_network_s(n, trials)))
