"""Per-condition summary with bootstrap intervals over networks.

:func:`summarise` turns the ``meta``, ``networks`` and ``pairwise`` tables (README, "Outputs and
their schemas") into one row per (experiment, condition). Only converged networks enter the
degeneracy metrics; how many were excluded (and why) is reported in every row.
See ``docs/study.md`` for the definitions. This module imports neither torch nor matplotlib.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .stats import (
    bootstrap_sd,
    pair_matrix,
    pairwise_mean,
    pairwise_mean_replicates,
    percentile_interval,
    stable_rng,
)

__all__ = ["SUMMARY_COLUMNS", "summarise"]

SUMMARY_COLUMNS = [
    "experiment",
    "factor",
    "task",
    "level",
    "condition",
    "n_seeds",
    "n_converged",
    "n_excluded",
    "n_diverged",
    "n_not_converged",
    "behavior_sd",
    "behavior_sd_lo",
    "behavior_sd_hi",
    "ood_mse_mean",
    "dsa_mean",
    "dsa_lo",
    "dsa_hi",
    "dsa_null_mean",
    "weight_mean",
    "weight_lo",
    "weight_hi",
    "weight_per_n2_mean",
    "weight_per_n2_lo",
    "weight_per_n2_hi",
    "weight_unaligned_mean",
    "weight_change_mean",
    "weight_change_se",
    "weight_change_rel_mean",
    "kernel_alignment_mean",
    "kernel_alignment_se",
    "note",
]

_INT_COLUMNS = ["n_seeds", "n_converged", "n_excluded", "n_diverged", "n_not_converged"]
_STR_COLUMNS = ["experiment", "factor", "task", "condition", "note"]


def _mean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _se(x: np.ndarray) -> float:
    """Standard error of the mean (SD with ddof=1 over sqrt(n)); NaN for fewer than 2 values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size >= 2 else float("nan")


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)


def _pair_stats(pairs: pd.DataFrame, metric: str, seeds: list[int], n_boot: int, rng) -> tuple[float, float, float]:
    sel = pairs[pairs["metric"] == metric] if len(pairs) else pairs
    m, _ = pair_matrix(sel, seeds)
    mean = pairwise_mean(m)
    if not np.isfinite(mean):
        return float("nan"), float("nan"), float("nan")
    lo, hi = percentile_interval(pairwise_mean_replicates(m, n_boot, rng))
    return mean, lo, hi


def _condition_row(cond: str, nets: pd.DataFrame, pairs: pd.DataFrame, n_boot: int, seed: int) -> dict:
    notes: list[str] = []
    status = nets["status"].astype(str) if "status" in nets.columns else pd.Series("", index=nets.index)
    if "converged" in nets.columns:
        conv_mask = nets["converged"].astype("boolean").fillna(False).astype(bool)
    else:
        conv_mask = status == "converged"
    conv = nets[conv_mask.to_numpy()]
    n_seeds = int(len(nets))
    n_conv = int(len(conv))
    n_div = int((status == "diverged").sum())
    n_not = int((status == "not_converged").sum())
    row: dict = {
        "n_seeds": n_seeds,
        "n_converged": n_conv,
        "n_excluded": n_seeds - n_conv,
        "n_diverged": n_div,
        "n_not_converged": n_not,
    }
    if n_seeds == 0:
        notes.append("no networks")
    elif n_seeds > n_conv:
        notes.append(f"{n_seeds - n_conv} of {n_seeds} networks excluded ({n_div} diverged, {n_not} not converged)")
    if n_conv < 2:
        notes.append("fewer than 2 converged networks: distances and behavior SD are NaN")

    seeds = sorted(int(s) for s in conv["seed"]) if n_conv else []
    ood = _col(conv, "ood_mse")
    row["behavior_sd"], row["behavior_sd_lo"], row["behavior_sd_hi"] = bootstrap_sd(
        ood, n_boot, stable_rng(seed, cond, "behavior")
    )
    row["ood_mse_mean"] = _mean(ood)

    cpairs = pairs
    if len(cpairs):
        seedset = set(seeds)
        cpairs = cpairs[cpairs["seed_a"].isin(seedset) & cpairs["seed_b"].isin(seedset)]
    row["dsa_mean"], row["dsa_lo"], row["dsa_hi"] = _pair_stats(cpairs, "dsa", seeds, n_boot, stable_rng(seed, cond, "dsa"))
    if len(cpairs):
        null = cpairs[(cpairs["metric"] == "dsa_null") & (cpairs["seed_a"] == cpairs["seed_b"])]
        row["dsa_null_mean"] = _mean(_col(null, "value"))
    else:
        row["dsa_null_mean"] = float("nan")
    row["weight_mean"], row["weight_lo"], row["weight_hi"] = _pair_stats(
        cpairs, "weight_aligned", seeds, n_boot, stable_rng(seed, cond, "weight_aligned")
    )
    row["weight_per_n2_mean"], row["weight_per_n2_lo"], row["weight_per_n2_hi"] = _pair_stats(
        cpairs, "weight_aligned_per_n2", seeds, n_boot, stable_rng(seed, cond, "weight_aligned_per_n2")
    )
    row["weight_unaligned_mean"] = _pair_stats(cpairs, "weight_unaligned", seeds, 0, None)[0]

    if n_conv >= 2 and not np.isfinite(row["dsa_mean"]):
        notes.append("no finite DSA pairs")
    if n_conv >= 2 and not np.isfinite(row["weight_mean"]):
        notes.append("no finite weight pairs")

    wc = _col(conv, "weight_change")
    ka = _col(conv, "kernel_alignment")
    row["weight_change_mean"] = _mean(wc)
    row["weight_change_se"] = _se(wc)
    row["weight_change_rel_mean"] = _mean(_col(conv, "weight_change_rel"))
    row["kernel_alignment_mean"] = _mean(ka)
    row["kernel_alignment_se"] = _se(ka)
    row["note"] = "; ".join(notes)
    return row


def summarise(
    meta: pd.DataFrame,
    networks: pd.DataFrame,
    pairwise: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (experiment, condition) of ``meta``, columns :data:`SUMMARY_COLUMNS`.

    - counts: ``n_seeds`` rows in ``networks``; ``n_converged``; ``n_excluded`` = the rest,
      split into ``n_diverged`` / ``n_not_converged``;
    - behavior: ``behavior_sd`` = population SD (ddof=0) of the converged networks' OOD MSE,
      95% percentile bootstrap interval over networks; ``ood_mse_mean``;
    - dynamics: ``dsa_mean`` = mean pairwise DSA among converged networks, interval from the
      network bootstrap (:func:`degeneracy.stats.pairwise_mean_replicates`); ``dsa_null_mean``;
    - weights: ``weight_*`` (aligned), ``weight_per_n2_*`` (aligned / n^2), ``weight_unaligned_mean``;
    - feature learning: mean and standard error (ddof=1) over converged networks;
    - ``note``: why values are NaN, how many networks were excluded.

    Deterministic for a ``seed``: every interval uses a generator keyed by (seed, condition,
    metric), so a condition shared by two experiments gets identical values. A condition with 0
    or 1 converged networks gets NaN distances/SD and a note, never an error.
    """
    if meta is None or len(meta) == 0:
        return _typed(pd.DataFrame(columns=SUMMARY_COLUMNS))
    networks = networks if networks is not None else pd.DataFrame(columns=["condition", "seed", "status", "converged"])
    pairwise = pairwise if pairwise is not None else pd.DataFrame(columns=["condition", "seed_a", "seed_b", "metric", "value"])
    nets_by = {c: g for c, g in networks.groupby("condition", sort=False)} if len(networks) else {}
    pairs_by = {c: g for c, g in pairwise.groupby("condition", sort=False)} if len(pairwise) else {}
    empty_nets = networks.iloc[0:0]
    empty_pairs = pairwise.iloc[0:0]

    cache: dict[str, dict] = {}
    rows = []
    for m in meta.sort_values(["experiment", "task", "level", "condition"]).itertuples(index=False):
        cond = str(m.condition)
        if cond not in cache:
            cache[cond] = _condition_row(cond, nets_by.get(cond, empty_nets), pairs_by.get(cond, empty_pairs), n_boot, seed)
        row = {
            "experiment": str(m.experiment),
            "factor": str(m.factor),
            "task": str(m.task),
            "level": float(m.level),
            "condition": cond,
        }
        row.update(cache[cond])
        rows.append(row)
    return _typed(pd.DataFrame(rows, columns=SUMMARY_COLUMNS))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c in SUMMARY_COLUMNS:
        if c in _INT_COLUMNS:
            df[c] = df[c].astype("int64")
        elif c in _STR_COLUMNS:
            df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str) if len(df) else df[c].astype(str)
        else:
            df[c] = df[c].astype("float64")
    return df.reset_index(drop=True)
