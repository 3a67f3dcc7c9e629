"""Bootstrap helpers and the Spearman effects table.

Everything here resamples *networks* (seeds), never pairs: a pairwise distance table over k
networks has k(k-1)/2 values, but only k independent draws. See ``docs/study.md``.

Public API
----------
- :func:`pair_matrix` -- long pair table -> symmetric k x k matrix (NaN diagonal / missing pairs).
- :func:`bootstrap_mean_pairwise` -- mean over pairs with a 95% percentile interval over networks.
- :func:`bootstrap_sd` -- population SD (ddof=0) with a 95% percentile interval.
- :func:`spearman_effect` -- Spearman rho between factor level and per-condition degeneracy, with
  a bootstrap interval; returns an :class:`Effect`.
- :data:`PAPER_DIRECTIONS` -- the paper's directions (SPEC section 5).
- :func:`effects_table`, :func:`effects_markdown` -- one row per (experiment, task, level of degeneracy).

This module imports neither torch nor matplotlib.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "LEVELS_OF_DEGENERACY",
    "PAPER_DIRECTIONS",
    "Effect",
    "pair_matrix",
    "pairwise_mean",
    "pairwise_mean_replicates",
    "sd_replicates",
    "bootstrap_mean_pairwise",
    "bootstrap_sd",
    "percentile_interval",
    "spearman_rho",
    "spearman_effect",
    "stable_rng",
    "weight_metric_for",
    "effects_table",
    "effects_markdown",
]

#: The three levels at which degeneracy is measured (SPEC section 1).
LEVELS_OF_DEGENERACY: tuple[str, ...] = ("behavior", "dynamics", "weights")

#: Direction of degeneracy as the factor grows, as reported by the paper (SPEC section 5).
#: Note that feature learning (gamma) makes *behavior* more degenerate ("up").
PAPER_DIRECTIONS: dict[str, dict[str, str]] = {
    "channels": {"behavior": "down", "dynamics": "down", "weights": "up"},
    "delay": {"behavior": "down", "dynamics": "down", "weights": "up"},
    "auxiliary": {"behavior": "down", "dynamics": "down", "weights": "up"},
    "gamma": {"behavior": "up", "dynamics": "down", "weights": "up"},
    "width": {"behavior": "down", "dynamics": "down", "weights": "down"},
    "l1": {"behavior": "down", "dynamics": "down", "weights": "down"},
    "nuclear": {"behavior": "down", "dynamics": "down", "weights": "down"},
}

#: Largest number of (replicate x k x k) elements materialised at once in the pairwise bootstrap.
_CHUNK_ELEMENTS = 4_000_000
#: How often a replicate that drew a single distinct network is redrawn before giving up (NaN).
_MAX_REDRAWS = 100


# --------------------------------------------------------------------------------------------
# random numbers
# --------------------------------------------------------------------------------------------


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
    """Percentile interval of the finite replicates; (nan, nan) when there are none."""
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# pairwise tables
# --------------------------------------------------------------------------------------------


def pair_matrix(pair_values: pd.DataFrame, seeds: Sequence[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """Symmetric k x k matrix of pair values (columns seed_a, seed_b, value).

    Rows whose seeds are not in ``seeds`` are ignored; rows with seed_a == seed_b (nulls) are
    ignored; a pair given twice (either order) is averaged. Missing pairs and the diagonal are
    NaN. ``seeds`` defaults to the sorted union of seed_a and seed_b. Returns (matrix, seeds).
    """
    if seeds is None:
        if pair_values is None or len(pair_values) == 0:
            seeds = []
        else:
            seeds = sorted(set(pair_values["seed_a"].tolist()) | set(pair_values["seed_b"].tolist()))
    seeds = [int(s) for s in seeds]
    # keep order, drop duplicates
    seeds = list(dict.fromkeys(seeds))
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
    """Mean over the finite off-diagonal pairs (upper triangle) of a symmetric matrix."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2:
        return float("nan")
    iu = np.triu_indices(m.shape[0], k=1)
    vals = m[iu]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else float("nan")


def _replicate_means(m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean over pairs of distinct original networks, for each row of resampled indices."""
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
    """Bootstrap replicates of the mean pairwise value, resampling networks.

    Each replicate draws k networks with replacement and averages the matrix entries over all
    pairs of draws that come from *distinct* original networks (two draws of the same network
    are skipped: their "distance" is not a between-network distance). A replicate with no such
    pair (all draws the same network) is redrawn, i.e. the bootstrap is conditioned on at least
    one between-network pair. Returns an array of length ``n_boot`` (all NaN if k < 2).
    """
    rng = _as_rng(rng)
    m = np.asarray(matrix, dtype=float)
    k = m.shape[0] if m.ndim == 2 else 0
    if k < 2 or n_boot <= 0 or not np.isfinite(pairwise_mean(m)):
        return np.full(max(n_boot, 0), np.nan)
    idx = rng.integers(0, k, size=(n_boot, k))
    out = _replicate_means(m, idx)
    for _ in range(_MAX_REDRAWS):
        bad = ~np.isfinite(out)
        if not bad.any():
            break
        redraw = rng.integers(0, k, size=(int(bad.sum()), k))
        out[bad] = _replicate_means(m, redraw)
    return out


def _statistic_replicates(values: Iterable[float], n_boot: int, rng, statistic, min_n: int) -> np.ndarray:
    """Bootstrap replicates of ``statistic`` (applied along axis 1) of the finite ``values``;
    NaN when fewer than ``min_n`` values are finite."""
    rng = _as_rng(rng)
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < min_n or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    return statistic(v[idx])


def sd_replicates(values: Iterable[float], n_boot: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """Bootstrap replicates of the population SD (ddof=0) of the finite ``values``."""
    return _statistic_replicates(values, n_boot, rng, lambda x: x.std(axis=1, ddof=0), min_n=2)


def _mean_replicates(values: Iterable[float], n_boot: int, rng: np.random.Generator | int | None) -> np.ndarray:
    return _statistic_replicates(values, n_boot, rng, lambda x: x.mean(axis=1), min_n=1)


def bootstrap_mean_pairwise(
    pair_values: pd.DataFrame,
    seeds: Sequence[int] | None = None,
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
    ci: float = 0.95,
) -> tuple[float, float, float]:
    """(mean, lo, hi): mean over network pairs with a percentile interval over networks.

    ``pair_values`` has columns seed_a, seed_b, value (one row per pair; seed_a == seed_b rows
    are ignored). ``seeds`` are the networks to use (e.g. the converged ones; pairs involving
    other seeds are ignored); default: every seed in the table. Fewer than 2 networks or no
    finite pair -> (nan, nan, nan).
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
    """(sd, lo, hi): population SD (ddof=0) of the finite values with a percentile interval.

    Fewer than 2 finite values -> (nan, nan, nan): a spread of one network is not defined.
    """
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=0))
    lo, hi = percentile_interval(sd_replicates(v, n_boot, rng), ci)
    return sd, lo, hi


# --------------------------------------------------------------------------------------------
# Spearman effects
# --------------------------------------------------------------------------------------------


def _rank_rows(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=-1)


def spearman_rho(x: np.ndarray, y: np.ndarray) -> np.ndarray | float:
    """Spearman rho (ties: average ranks) of x against each row of y; NaN for constant rows.

    ``x`` has shape (m,); ``y`` has shape (m,) or (n_rep, m).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    single = y.ndim == 1
    y2 = np.atleast_2d(y)
    rx = _rank_rows(x)
    ry = _rank_rows(y2)
    rx = rx - rx.mean()
    ry = ry - ry.mean(axis=1, keepdims=True)
    num = (ry * rx).sum(axis=1)
    den = np.sqrt((rx**2).sum() * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), np.nan)
    rho = np.clip(rho, -1.0, 1.0)
    return float(rho[0]) if single else rho


@dataclass
class Effect:
    """Result of :func:`spearman_effect`."""

    rho: float
    lo: float
    hi: float
    n_levels: int
    n_conditions: int
    direction: str  # "up" | "down" | "inconclusive"
    reason: str = ""
    values: list[float] = field(default_factory=list)  # per-condition degeneracy (input order)
    n_valid_replicates: int = 0


_STATISTICS = ("pairwise_mean", "sd", "mean")


def _point_and_replicates(sample, statistic: str, n_boot: int, rng: np.random.Generator):
    if statistic == "pairwise_mean":
        m = np.asarray(sample, dtype=float) if sample is not None else np.empty((0, 0))
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError("pairwise_mean samples must be square k x k matrices")
        return pairwise_mean(m), pairwise_mean_replicates(m, n_boot, rng)
    v = np.asarray(sample if sample is not None else [], dtype=float).ravel()
    v = v[np.isfinite(v)]
    if statistic == "sd":
        point = float(v.std(ddof=0)) if v.size >= 2 else float("nan")
        return point, sd_replicates(v, n_boot, rng)
    point = float(v.mean()) if v.size >= 1 else float("nan")
    return point, _mean_replicates(v, n_boot, rng)


def spearman_effect(
    levels: Sequence[float],
    samples: Sequence,
    statistic: str = "pairwise_mean",
    n_boot: int = 1000,
    rng: np.random.Generator | int | None = None,
    ci: float = 0.95,
    min_levels: int = 3,
) -> Effect:
    """Spearman rho between factor level and per-condition degeneracy, with a bootstrap interval.

    Parameters
    ----------
    levels
        Factor level of each condition (several conditions may share a level).
    samples
        One entry per condition. ``statistic="pairwise_mean"``: a symmetric k x k matrix of
        pair distances among that condition's networks (NaN diagonal / missing pairs; see
        :func:`pair_matrix`); degeneracy = mean over pairs. ``statistic="sd"``: a 1-D array of
        per-network values; degeneracy = population SD (ddof=0). ``statistic="mean"``: the mean.
    n_boot, rng, ci
        Each replicate resamples the networks *within each condition* independently, recomputes
        every condition's degeneracy, then rho. Interval: percentile, level ``ci``.
    min_levels
        Fewer distinct levels with a finite degeneracy than this -> "inconclusive" with a reason.

    Direction: "up" if the interval lies above 0, "down" if below 0, else "inconclusive".
    """
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    levels = np.asarray(list(levels), dtype=float)
    samples = list(samples)
    if len(levels) != len(samples):
        raise ValueError(f"{len(levels)} levels but {len(samples)} samples")
    rng = _as_rng(rng)

    points = []
    reps = []
    for sample in samples:
        p, r = _point_and_replicates(sample, statistic, n_boot, rng)
        points.append(p)
        reps.append(r)
    points_arr = np.asarray(points, dtype=float)
    keep = np.isfinite(points_arr) & np.isfinite(levels)
    n_cond = int(keep.sum())
    n_levels = int(np.unique(levels[keep]).size)
    values = [float(p) for p in points_arr]

    def result(rho=float("nan"), lo=float("nan"), hi=float("nan"), direction="inconclusive", reason="", nv=0):
        return Effect(rho, lo, hi, n_levels, n_cond, direction, reason, values, nv)

    if n_levels < 2:
        return result(reason=f"only {n_levels} level(s) with a finite degeneracy (need {max(min_levels, 2)})")
    x = levels[keep]
    rho = spearman_rho(x, points_arr[keep])
    if not np.isfinite(rho):
        return result(reason="degeneracy is identical at every level (rho undefined)")
    rep_mat = np.stack([reps[i] for i in np.flatnonzero(keep)], axis=1) if n_boot > 0 else np.empty((0, n_cond))
    rep_mat = rep_mat[np.isfinite(rep_mat).all(axis=1)]
    rhos = spearman_rho(x, rep_mat) if len(rep_mat) else np.empty(0)
    rhos = np.asarray(rhos, dtype=float)
    rhos = rhos[np.isfinite(rhos)]
    nv = int(rhos.size)
    lo, hi = percentile_interval(rhos, ci)
    if n_levels < min_levels:
        return result(rho, lo, hi, reason=f"only {n_levels} levels with a finite degeneracy (need {min_levels})", nv=nv)
    if nv < max(1, n_boot // 2):
        return result(rho, lo, hi, reason=f"only {nv} of {n_boot} bootstrap replicates defined", nv=nv)
    if lo > 0:
        return result(rho, lo, hi, "up", nv=nv)
    if hi < 0:
        return result(rho, lo, hi, "down", nv=nv)
    return result(rho, lo, hi, reason="interval includes 0", nv=nv)


# --------------------------------------------------------------------------------------------
# effects table
# --------------------------------------------------------------------------------------------


def _converged_seeds(networks: pd.DataFrame, condition: str) -> list[int]:
    if networks is None or len(networks) == 0:
        return []
    rows = networks[networks["condition"] == condition]
    if "converged" in rows.columns:
        conv = rows["converged"].astype("boolean").fillna(False).astype(bool)
    else:
        conv = rows["status"] == "converged"
    return sorted(int(s) for s in rows.loc[conv, "seed"])


def _condition_pairs(pairwise: pd.DataFrame, condition: str, metric: str) -> pd.DataFrame:
    if pairwise is None or len(pairwise) == 0:
        return pd.DataFrame(columns=["seed_a", "seed_b", "value"])
    sel = (pairwise["condition"] == condition) & (pairwise["metric"] == metric)
    return pairwise.loc[sel, ["seed_a", "seed_b", "value"]]


def weight_metric_for(factor: str, networks: pd.DataFrame | None = None, conditions: Iterable[str] = ()) -> str:
    """'weight_aligned_per_n2' when widths differ across the conditions (width experiment),
    else 'weight_aligned'."""
    if factor == "width":
        return "weight_aligned_per_n2"
    conditions = list(conditions)
    if networks is not None and len(networks) and "n_units" in networks.columns and conditions:
        widths = networks.loc[networks["condition"].isin(conditions), "n_units"].dropna().unique()
        if len(widths) > 1:
            return "weight_aligned_per_n2"
    return "weight_aligned"


def _verdict(observed: str, paper: str | None) -> str:
    if observed not in ("up", "down") or paper not in ("up", "down"):
        return "inconclusive"
    return "agree" if observed == paper else "disagree"


EFFECT_COLUMNS = [
    "experiment",
    "factor",
    "task",
    "level_of_degeneracy",
    "metric",
    "n_conditions",
    "n_levels",
    "rho",
    "rho_lo",
    "rho_hi",
    "observed",
    "paper",
    "verdict",
    "agrees",
    "reason",
]


def effects_table(
    meta: pd.DataFrame,
    networks: pd.DataFrame,
    pairwise: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    min_levels: int = 3,
) -> pd.DataFrame:
    """One row per (experiment, factor, task, level of degeneracy).

    Degeneracy of a condition, over its converged networks: behavior = SD (ddof=0) of OOD MSE;
    dynamics = mean pairwise ``dsa``; weights = mean pairwise ``weight_aligned`` (or
    ``weight_aligned_per_n2`` when widths differ, see :func:`weight_metric_for`). Each cell gets
    :func:`spearman_effect`'s rho, interval and direction, the paper's direction
    (:data:`PAPER_DIRECTIONS`), ``verdict`` in {agree, disagree, inconclusive} and ``agrees``
    (nullable boolean; NA when inconclusive). Deterministic for a ``seed``: each cell uses its
    own generator keyed by (seed, experiment, task, level of degeneracy).
    """
    rows = []
    if meta is None or len(meta) == 0:
        return pd.DataFrame(columns=EFFECT_COLUMNS).astype({"agrees": "boolean"})
    meta = meta.copy()
    for (experiment, factor, task), group in meta.groupby(["experiment", "factor", "task"], sort=True):
        group = group.sort_values(["level", "condition"])
        conditions = group["condition"].astype(str).tolist()
        levels = group["level"].astype(float).to_numpy()
        seeds = {c: _converged_seeds(networks, c) for c in conditions}
        wmetric = weight_metric_for(str(factor), networks, conditions)
        for lod in LEVELS_OF_DEGENERACY:
            if lod == "behavior":
                metric, statistic = "ood_mse", "sd"
                samples = []
                for c in conditions:
                    if networks is None or len(networks) == 0:
                        samples.append(np.empty(0))
                        continue
                    r = networks[(networks["condition"] == c) & networks["seed"].isin(seeds[c])]
                    samples.append(pd.to_numeric(r["ood_mse"], errors="coerce").to_numpy(dtype=float))
            else:
                metric = "dsa" if lod == "dynamics" else wmetric
                statistic = "pairwise_mean"
                samples = [pair_matrix(_condition_pairs(pairwise, c, metric), seeds[c])[0] for c in conditions]
            eff = spearman_effect(
                levels,
                samples,
                statistic=statistic,
                n_boot=n_boot,
                rng=stable_rng(seed, experiment, factor, task, lod),
                ci=ci,
                min_levels=min_levels,
            )
            paper = PAPER_DIRECTIONS.get(str(factor), {}).get(lod)
            verdict = _verdict(eff.direction, paper)
            reason = eff.reason
            if paper is None and not reason:
                reason = f"no paper direction for factor {factor!r}"
            rows.append(
                {
                    "experiment": str(experiment),
                    "factor": str(factor),
                    "task": str(task),
                    "level_of_degeneracy": lod,
                    "metric": metric,
                    "n_conditions": eff.n_conditions,
                    "n_levels": eff.n_levels,
                    "rho": eff.rho,
                    "rho_lo": eff.lo,
                    "rho_hi": eff.hi,
                    "observed": eff.direction,
                    "paper": paper if paper is not None else "",
                    "verdict": verdict,
                    "agrees": pd.NA if verdict == "inconclusive" else verdict == "agree",
                    "reason": reason,
                }
            )
    df = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    df["agrees"] = df["agrees"].astype("boolean")
    for c in ("n_conditions", "n_levels"):
        df[c] = df[c].astype("int64")
    for c in ("rho", "rho_lo", "rho_hi"):
        df[c] = df[c].astype("float64")
    return df.reset_index(drop=True)


_ARROW = {"up": "up", "down": "down", "inconclusive": "?"}


def _fmt(x: float, digits: int = 2) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def effects_markdown(df: pd.DataFrame) -> str:
    """A Markdown table of :func:`effects_table` plus a counts line (agree / disagree / inconclusive)."""
    header = (
        "| experiment | task | level | metric | levels | rho [95% CI] | observed | paper | verdict | note |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    if df is None or len(df) == 0:
        body = "| (no data) | | | | | | | | | |\n"
        counts = {"agree": 0, "disagree": 0, "inconclusive": 0}
    else:
        for r in df.itertuples(index=False):
            lines.append(
                f"| {r.experiment} | {r.task} | {r.level_of_degeneracy} | {r.metric} | {r.n_levels} | "
                f"{_fmt(r.rho)} [{_fmt(r.rho_lo)}, {_fmt(r.rho_hi)}] | {_ARROW.get(r.observed, r.observed)} | "
                f"{r.paper or '-'} | {r.verdict} | {str(r.reason).replace('|', '/')} |"
            )
        body = "\n".join(lines) + "\n"
        vc = df["verdict"].value_counts()
        counts = {k: int(vc.get(k, 0)) for k in ("agree", "disagree", "inconclusive")}
    total = sum(counts.values())
    summary = (
        f"\nagree: {counts['agree']} / disagree: {counts['disagree']} / "
        f"inconclusive: {counts['inconclusive']} (of {total} cells)\n"
    )
    return header + body + summary
