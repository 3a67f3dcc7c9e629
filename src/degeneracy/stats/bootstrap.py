"""Bootstrap helpers: resampling *networks* (seeds), never pairs.

A pairwise distance table over k networks has k(k-1)/2 values but only k independent draws, so
every interval here resamples networks. Two flavours:

* per condition (:func:`pairwise_mean_replicates`, :func:`sd_replicates`, :func:`bootstrap_sd`,
  :func:`bootstrap_mean_pairwise`) -- for the per-condition summary;
* paired across conditions (:func:`paired_draws`, :func:`paired_pairwise_replicates`,
  :func:`paired_sd_replicates`, :func:`paired_mean_replicates`) -- one draw of seeds is shared by
  every condition of an experiment, because the same seed gives the same initial network at every
  level of a factor (a paired design).

Also :func:`wilson_interval` (a binomial proportion) and :func:`studentized_p_value`.
This module imports neither torch nor matplotlib.
"""

from __future__ import annotations

import math
import zlib
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "stable_rng",
    "percentile_interval",
    "pair_matrix",
    "pairwise_mean",
    "pairwise_mean_replicates",
    "sd_replicates",
    "bootstrap_mean_pairwise",
    "bootstrap_sd",
    "paired_draws",
    "paired_pairwise_replicates",
    "paired_sd_replicates",
    "paired_mean_replicates",
    "studentized_p_value",
    "wilson_interval",
]

#: Largest number of (replicate x k x k) elements materialised at once in the pairwise bootstrap.
_CHUNK_ELEMENTS = 4_000_000
#: How often a replicate that drew a single distinct network is redrawn before giving up (NaN).
_MAX_REDRAWS = 100


def stable_rng(seed: int, *keys: object) -> np.random.Generator:
    """A generator determined by ``seed`` and string-able ``keys`` (not by call order).

    Used so that a condition's interval does not change when other conditions are added,
    removed or reordered. ``zlib.crc32`` is stable across processes (unlike ``hash``).
    """
    words = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words]))


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def percentile_interval(replicates: np.ndarray, ci: float = 0.95) -> tuple[float, float]:
    """(lo, hi): percentile interval at level ``ci`` of the finite replicates; (nan, nan) if none."""
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def studentized_p_value(
    point: float, replicates: np.ndarray, n_units: int, null: float = 0.0, se_scale: float = 1.0
) -> float:
    """Two-sided p-value of ``null`` for a statistic estimated from ``n_units`` resampled units.

    t = (point - null) / se, with se the SD (ddof=1) of the finite bootstrap replicates, referred
    to Student's t with ``n_units - 1`` degrees of freedom. With few networks the plain percentile
    bootstrap is far too confident (4 networks whose 6 pairs happen to agree give p = 2 / (B + 1));
    the t reference makes the test honest about how few independent draws there are
    (tests/test_verdicts_calibration.py). NaN when n_units < 2, fewer than 2 replicates are
    finite, or the replicates do not vary (se = 0 up to rounding: e.g. 2 networks, whose only pair every
    replicate repeats, say nothing about the uncertainty).
    ``se_scale`` multiplies se: for a statistic built from means, the bootstrap variance of a mean
    is the plug-in variance with divisor n, so sqrt(n / (n - 1)) restores the usual standard error.
    """
    from scipy.stats import t as student_t

    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if int(n_units) < 2 or reps.size < 2 or not np.isfinite(point):
        return float("nan")
    se = float(reps.std(ddof=1)) * float(se_scale)
    diff = abs(float(point) - null)
    if se <= 1e-9 * max(1.0, abs(float(point))):  # rounding noise only: the replicates do not vary
        return float("nan")
    return float(2.0 * student_t.sf(diff / se, df=int(n_units) - 1))


def wilson_interval(successes: int, n: int, ci: float = 0.95) -> tuple[float, float, float]:
    """(rate, lo, hi): a proportion ``successes / n`` with its Wilson score interval at level ``ci``.

    Fractions in [0, 1]; (nan, nan, nan) when n = 0.
    """
    from scipy.stats import norm

    n = int(n)
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    p = successes / n
    z = float(norm.ppf(0.5 + ci / 2.0))
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half))


# --------------------------------------------------------------------------------------------
# pairwise tables
# --------------------------------------------------------------------------------------------


def pair_matrix(pair_values: pd.DataFrame, seeds: Sequence[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """(matrix, seeds): symmetric k x k matrix of pair values (columns seed_a, seed_b, value).

    Rows whose seeds are not in ``seeds`` are ignored; rows with seed_a == seed_b (nulls) are
    ignored; a pair given twice (either order) is averaged. Missing pairs and the diagonal are
    NaN. ``seeds`` defaults to the sorted union of seed_a and seed_b.
    """
    if seeds is None:
        if pair_values is None or len(pair_values) == 0:
            seeds = []
        else:
            seeds = sorted(set(pair_values["seed_a"].tolist()) | set(pair_values["seed_b"].tolist()))
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    k = len(seeds)
    total = np.zeros((k, k))
    count = np.zeros((k, k))
    if k and pair_values is not None and len(pair_values):
        pos = {s: i for i, s in enumerate(seeds)}
        a = pair_values["seed_a"].map(pos)
        b = pair_values["seed_b"].map(pos)
        v = pd.to_numeric(pair_values["value"], errors="coerce")
        ok = a.notna() & b.notna() & np.isfinite(v.to_numpy(dtype=float)) & (a != b)
        ia = a[ok].to_numpy(dtype=int)
        ib = b[ok].to_numpy(dtype=int)
        vv = v[ok].to_numpy(dtype=float)
        np.add.at(total, (ia, ib), vv)
        np.add.at(total, (ib, ia), vv)
        np.add.at(count, (ia, ib), 1.0)
        np.add.at(count, (ib, ia), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mat = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
    np.fill_diagonal(mat, np.nan)
    return mat, seeds


def pairwise_mean(matrix: np.ndarray) -> float:
    """Mean over the finite off-diagonal pairs (upper triangle) of a symmetric matrix; NaN if none."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2:
        return float("nan")
    vals = m[np.triu_indices(m.shape[0], k=1)]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else float("nan")


def _replicate_means(m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean over pairs of draws from distinct original networks, per row of ``idx``; NaN if none."""
    n_rep, k = idx.shape
    out = np.empty(n_rep)
    step = max(1, _CHUNK_ELEMENTS // max(1, k * k))
    for start in range(0, n_rep, step):
        ii = idx[start : start + step]
        sub = m[ii[:, :, None], ii[:, None, :]]
        valid = (ii[:, :, None] != ii[:, None, :]) & np.isfinite(sub)
        s = np.where(valid, sub, 0.0).sum(axis=(1, 2))
        c = valid.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    return out


def pairwise_mean_replicates(matrix: np.ndarray, n_boot: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """Bootstrap replicates (length ``n_boot``) of the mean pairwise value, resampling networks.

    Each replicate draws k networks with replacement and averages the matrix entries over all
    pairs of draws that come from *distinct* original networks (two draws of the same network
    are skipped: their "distance" is not a between-network distance). A replicate with no such
    pair is redrawn, i.e. the bootstrap is conditioned on at least one between-network pair.
    All NaN if k < 2.
    """
    rng = _as_rng(rng)
    m = np.asarray(matrix, dtype=float)
    k = m.shape[0] if m.ndim == 2 else 0
    if k < 2 or n_boot <= 0 or not np.isfinite(pairwise_mean(m)):
        return np.full(max(n_boot, 0), np.nan)
    out = _replicate_means(m, rng.integers(0, k, size=(n_boot, k)))
    for _ in range(_MAX_REDRAWS):
        bad = ~np.isfinite(out)
        if not bad.any():
            break
        out[bad] = _replicate_means(m, rng.integers(0, k, size=(int(bad.sum()), k)))
    return out


def _finite(values: Iterable[float]) -> np.ndarray:
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    return v[np.isfinite(v)]


def _sd_rows(x: np.ndarray) -> np.ndarray:
    """Sample SD (ddof=1) of the finite entries of each row; NaN for rows with fewer than 2."""
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    xs = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = xs.sum(axis=1) / n
        ss = (np.where(ok, x - mean[:, None], 0.0) ** 2).sum(axis=1)
        return np.where(n >= 2, np.sqrt(ss / (n - 1)), np.nan)


def _mean_rows(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 1, np.where(ok, x, 0.0).sum(axis=1) / n, np.nan)


def sd_replicates(values: Iterable[float], n_boot: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """Bootstrap replicates of the sample SD (ddof=1) of the finite ``values`` (NaN if < 2 values)."""
    rng = _as_rng(rng)
    v = _finite(values)
    if v.size < 2 or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    return _sd_rows(v[rng.integers(0, v.size, size=(n_boot, v.size))])


def bootstrap_mean_pairwise(
    pair_values: pd.DataFrame,
    seeds: Sequence[int] | None = None,
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
    ci: float = 0.95,
) -> tuple[float, float, float]:
    """(mean, lo, hi): mean over network pairs with a percentile interval over networks.

    ``pair_values`` has columns seed_a, seed_b, value (seed_a == seed_b rows are ignored).
    ``seeds`` are the networks to use (pairs involving other seeds are ignored); default: every
    seed in the table. Fewer than 2 networks or no finite pair -> (nan, nan, nan).
    """
    m, _ = pair_matrix(pair_values, seeds)
    mean = pairwise_mean(m)
    if not np.isfinite(mean):
        return float("nan"), float("nan"), float("nan")
    lo, hi = percentile_interval(pairwise_mean_replicates(m, n_boot, rng), ci)
    return mean, lo, hi


def bootstrap_sd(
    values: Iterable[float],
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
    ci: float = 0.95,
) -> tuple[float, float, float]:
    """(sd, lo, hi): sample SD (ddof=1) of the finite values with a percentile interval.

    Fewer than 2 finite values -> (nan, nan, nan): a spread of one network is not defined.
    """
    v = _finite(values)
    if v.size < 2:
        return float("nan"), float("nan"), float("nan")
    lo, hi = percentile_interval(sd_replicates(v, n_boot, rng), ci)
    return float(v.std(ddof=1)), lo, hi


# --------------------------------------------------------------------------------------------
# paired bootstrap across the conditions of an experiment
# --------------------------------------------------------------------------------------------


def paired_draws(k: int, n_boot: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """(n_boot, k) integer array: each row draws k of the experiment's k seeds with replacement.

    The same rows are applied to every condition of the experiment (seed s of level 1 and seed s
    of level 2 started from the same initial network), so the replicates of two conditions keep
    their correlation and the interval of a ratio between levels is the paired one.
    """
    rng = _as_rng(rng)
    if k <= 0 or n_boot <= 0:
        return np.zeros((max(n_boot, 0), 0), dtype=np.int64)
    return rng.integers(0, k, size=(n_boot, k))


def paired_pairwise_replicates(matrix: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mean pairwise value of one condition for each row of :func:`paired_draws`.

    ``matrix`` is k x k over the experiment's seeds (NaN where a seed did not converge in this
    condition or a pair is missing). Pairs of draws of the same seed, and pairs with a NaN entry,
    are skipped; a replicate without any valid pair is NaN (it is not redrawn, because redrawing
    for one condition would break the pairing with the others).
    """
    m = np.asarray(matrix, dtype=float)
    if draws.shape[1] == 0 or m.shape[0] != draws.shape[1]:
        raise ValueError(f"matrix is {m.shape} but the draws have {draws.shape[1]} seeds")
    return _replicate_means(m, draws)


def paired_sd_replicates(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Sample SD (ddof=1) of one condition's per-seed values for each row of :func:`paired_draws`.

    ``values`` has one entry per experiment seed (NaN where the seed did not converge here).
    """
    v = np.asarray(values, dtype=float)
    if v.shape != (draws.shape[1],):
        raise ValueError(f"{v.shape[0]} values but the draws have {draws.shape[1]} seeds")
    return _sd_rows(v[draws])


def paired_mean_replicates(values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mean of one condition's per-seed values (NaN skipped) for each row of :func:`paired_draws`."""
    v = np.asarray(values, dtype=float)
    if v.shape != (draws.shape[1],):
        raise ValueError(f"{v.shape[0]} values but the draws have {draws.shape[1]} seeds")
    return _mean_rows(v[draws])
