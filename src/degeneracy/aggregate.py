"""Per-condition summary with bootstrap intervals over networks.

:func:`summarise` turns the ``meta``, ``networks`` and ``pairwise`` tables (docs/outputs.md)
into one row per (experiment, condition). Only converged networks enter the
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
    wilson_interval,
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
    "min_networks",
    "sufficient",
    "convergence_rate",
    "convergence_lo",
    "convergence_hi",
    "eval_mse_mean",
    "eval_mse_aux_mean",
    "behavior_sd",
    "behavior_sd_lo",
    "behavior_sd_hi",
    "ood_mse_mean",
    "ood_mse_aux_mean",
    "dsa_mean",
    "dsa_lo",
    "dsa_hi",
    "dsa_null_mean",
    "dsa_null_lo",
    "dsa_null_hi",
    "svcca_mean",
    "svcca_lo",
    "svcca_hi",
    "svcca_probe2_mean",
    "svcca_probe_diff",
    "weight_mean",
    "weight_lo",
    "weight_hi",
    "weight_per_n2_mean",
    "weight_per_n2_lo",
    "weight_per_n2_hi",
    "weight_unaligned_mean",
    "weight_scale_free_mean",
    "weight_scale_free_lo",
    "weight_scale_free_hi",
    "weight_aligned_init_mean",
    "weight_aligned_init_lo",
    "weight_aligned_init_hi",
    "weight_aligned_init_per_n2_mean",
    "weight_scale_free_init_mean",
    "weight_scale_free_init_lo",
    "weight_scale_free_init_hi",
    "weight_ratio_init_mean",
    "weight_ratio_init_lo",
    "weight_ratio_init_hi",
    "weight_gap_mean",
    "weight_gap_max",
    "weight_change_mean",
    "weight_change_se",
    "weight_change_rel_mean",
    "weight_change_rel_se",
    "kernel_alignment_mean",
    "kernel_alignment_se",
    "kernel_alignment_centred_mean",
    "kernel_alignment_centred_se",
    "kernel_alignment_probe_sd_mean",
    "kernel_alignment_centred_probe_sd_mean",
    "n_fixed_points_mean",
    "n_line_attractor_like_mean",
    "n_line_attractor_like_lo",
    "n_line_attractor_like_hi",
    "frac_line_attractor_like_mean",
    "note",
]

_INT_COLUMNS = ["n_seeds", "n_converged", "n_excluded", "n_diverged", "n_not_converged", "min_networks"]
_BOOL_COLUMNS = ["sufficient"]
_STR_COLUMNS = ["experiment", "factor", "task", "condition", "note"]


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[np.isfinite(x)]


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


def _mean_stats(values: np.ndarray, n_boot: int, rng) -> tuple[float, float, float]:
    """(mean, lo, hi) of the finite values with a 95% percentile bootstrap interval over networks."""
    v = _finite(values)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    if v.size < 2 or n_boot <= 0:
        return float(v.mean()), float("nan"), float("nan")
    reps = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    lo, hi = percentile_interval(reps)
    return float(v.mean()), lo, hi


def _pair_values(pairs: pd.DataFrame, metric: str) -> np.ndarray:
    sel = pairs[(pairs["metric"] == metric) & (pairs["seed_a"] != pairs["seed_b"])] if len(pairs) else pairs
    return _finite(_col(sel, "value")) if len(sel) else np.empty(0)


def _condition_row(
    cond: str, nets: pd.DataFrame, pairs: pd.DataFrame, n_boot: int, seed: int, min_networks: int
) -> dict:
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
    n_not = n_seeds - n_conv - n_div
    rate, rate_lo, rate_hi = wilson_interval(n_conv, n_seeds)
    row: dict = {
        "n_seeds": n_seeds,
        "n_converged": n_conv,
        "n_excluded": n_seeds - n_conv,
        "n_diverged": n_div,
        "n_not_converged": n_not,
        "min_networks": int(min_networks),
        "sufficient": n_conv >= int(min_networks),
        "convergence_rate": rate,
        "convergence_lo": rate_lo,
        "convergence_hi": rate_hi,
    }
    if n_seeds == 0:
        notes.append("no networks")
    elif n_seeds > n_conv:
        notes.append(
            f"{n_seeds - n_conv} of {n_seeds} networks excluded ({n_div} diverged, {n_not} not below threshold)"
        )
    if n_conv < int(min_networks):
        notes.append(f"insufficient: {n_conv} converged networks, fewer than min_networks = {int(min_networks)}")
    if n_conv < 2:
        notes.append("fewer than 2 converged networks: distances and behavior SD are NaN")

    seeds = sorted(int(s) for s in conv["seed"]) if n_conv else []
    row["eval_mse_mean"] = _mean(_col(conv, "eval_mse"))
    row["eval_mse_aux_mean"] = _mean(_col(conv, "eval_mse_aux"))
    ood = _col(conv, "ood_mse")
    row["behavior_sd"], row["behavior_sd_lo"], row["behavior_sd_hi"] = bootstrap_sd(
        ood, n_boot, stable_rng(seed, cond, "behavior")
    )
    row["ood_mse_mean"] = _mean(ood)
    row["ood_mse_aux_mean"] = _mean(_col(conv, "ood_mse_aux"))

    cpairs = pairs
    if len(cpairs):
        seedset = set(seeds)
        cpairs = cpairs[cpairs["seed_a"].isin(seedset) & cpairs["seed_b"].isin(seedset)]
    row["dsa_mean"], row["dsa_lo"], row["dsa_hi"] = _pair_stats(
        cpairs, "dsa", seeds, n_boot, stable_rng(seed, cond, "dsa")
    )
    null = cpairs[(cpairs["metric"] == "dsa_null") & (cpairs["seed_a"] == cpairs["seed_b"])] if len(cpairs) else cpairs
    row["dsa_null_mean"], row["dsa_null_lo"], row["dsa_null_hi"] = _mean_stats(
        _col(null, "value"), n_boot, stable_rng(seed, cond, "dsa_null")
    )
    row["svcca_mean"], row["svcca_lo"], row["svcca_hi"] = _pair_stats(
        cpairs, "svcca", seeds, n_boot, stable_rng(seed, cond, "svcca")
    )
    # the same on the second, independent probe batch: |difference| = the probe-sampling noise
    row["svcca_probe2_mean"] = _pair_stats(cpairs, "svcca_probe2", seeds, 0, None)[0]
    row["svcca_probe_diff"] = abs(row["svcca_mean"] - row["svcca_probe2_mean"])
    for prefix, metric in (
        ("weight", "weight_aligned"),
        ("weight_per_n2", "weight_aligned_per_n2"),
        ("weight_scale_free", "weight_scale_free"),
        ("weight_aligned_init", "weight_aligned_init"),
        ("weight_scale_free_init", "weight_scale_free_init"),
        ("weight_ratio_init", "weight_ratio_init"),
    ):
        row[f"{prefix}_mean"], row[f"{prefix}_lo"], row[f"{prefix}_hi"] = _pair_stats(
            cpairs, metric, seeds, n_boot, stable_rng(seed, cond, metric)
        )
    row["weight_unaligned_mean"] = _pair_stats(cpairs, "weight_unaligned", seeds, 0, None)[0]
    units = _finite(_col(conv, "n_units"))
    n2 = float(units[0]) ** 2 if units.size and (units == units[0]).all() else float("nan")
    row["weight_aligned_init_per_n2_mean"] = row["weight_aligned_init_mean"] / n2
    gap = _pair_values(cpairs, "weight_gap")
    row["weight_gap_mean"] = float(gap.mean()) if gap.size else float("nan")
    row["weight_gap_max"] = float(gap.max()) if gap.size else float("nan")

    if n_conv >= 2 and not np.isfinite(row["dsa_mean"]):
        notes.append("no finite DSA pairs")
    if n_conv >= 2 and not np.isfinite(row["weight_mean"]):
        notes.append("no finite weight pairs")

    wc = _col(conv, "weight_change")
    ka = _col(conv, "kernel_alignment")
    row["weight_change_mean"] = _mean(wc)
    row["weight_change_se"] = _se(wc)
    wcr = _col(conv, "weight_change_rel")
    row["weight_change_rel_mean"] = _mean(wcr)
    row["weight_change_rel_se"] = _se(wcr)
    row["kernel_alignment_mean"] = _mean(ka)
    row["kernel_alignment_se"] = _se(ka)
    kac = _col(conv, "kernel_alignment_centred")
    row["kernel_alignment_centred_mean"] = _mean(kac)
    row["kernel_alignment_centred_se"] = _se(kac)
    # the probe-to-probe spread of one network's KA: a trend across levels must exceed it
    row["kernel_alignment_probe_sd_mean"] = _mean(_col(conv, "kernel_alignment_probe_sd"))
    row["kernel_alignment_centred_probe_sd_mean"] = _mean(_col(conv, "kernel_alignment_centred_probe_sd"))
    row["n_fixed_points_mean"] = _mean(_col(conv, "n_fixed_points"))
    row["n_line_attractor_like_mean"], row["n_line_attractor_like_lo"], row["n_line_attractor_like_hi"] = _mean_stats(
        _col(conv, "n_line_attractor_like"), n_boot, stable_rng(seed, cond, "n_line_attractor_like")
    )
    row["frac_line_attractor_like_mean"] = _mean(_col(conv, "frac_line_attractor_like"))
    row["note"] = "; ".join(notes)
    return row


def summarise(
    meta: pd.DataFrame,
    networks: pd.DataFrame,
    pairwise: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    min_networks: int = 3,
) -> pd.DataFrame:
    """One row per (experiment, condition) of ``meta``, columns :data:`SUMMARY_COLUMNS`.

    - counts: ``n_seeds`` rows in ``networks``; ``n_converged`` (held-out error below threshold,
      see :func:`degeneracy.pipeline.extract.trajectories`); ``n_excluded`` = the rest, split into
      ``n_diverged`` / ``n_not_converged``; ``sufficient`` = n_converged >= ``min_networks``;
      ``convergence_rate`` = n_converged / n_seeds with its 95% Wilson interval (fractions);
    - ``eval_mse_mean`` (and ``_aux``): mean held-out MSE of the converged networks;
    - behavior: ``behavior_sd`` = sample SD (ddof=1) of the converged networks' OOD MSE,
      95% percentile bootstrap interval over networks; ``ood_mse_mean`` (and ``_aux``);
    - dynamics: ``dsa_mean`` = mean pairwise DSA among converged networks, interval from the
      network bootstrap (:func:`degeneracy.stats.pairwise_mean_replicates`); ``dsa_null_*`` =
      mean within-network null with its bootstrap interval;
    - weights: ``weight_*`` (aligned), ``weight_per_n2_*`` (aligned / n^2), ``weight_scale_free_*``
      (aligned / RMS Frobenius norm), ``weight_aligned_init_*`` (aligned distance between the same
      seeds' initial matrices; ``_per_n2_mean`` divided by n^2), ``weight_scale_free_init_*`` (its
      scale-free distance), ``weight_ratio_init_*`` (mean over pairs of the per-pair ratio
      weight_aligned / weight_aligned_init: 1 before training at every width, so the quantity to
      compare across widths), ``weight_unaligned_mean``,
      ``weight_gap_mean`` / ``_max`` (relative optimisation gap of the alignment, a fraction);
    - representations: ``svcca_*`` = mean pairwise SVCCA distance (1 - mean canonical
      correlation, unitless in [0, 1]) among converged networks, interval as for DSA;
      ``svcca_probe2_mean`` the same mean on the second probe batch (metric ``svcca_probe2``),
      ``svcca_probe_diff`` = |svcca_mean - svcca_probe2_mean| (the probe-to-probe spread);
    - feature learning: mean and standard error (ddof=1) over converged networks;
    - fixed points (when ``networks`` carries the columns of
      :data:`degeneracy.metrics.fixed_points.SUMMARY_COLUMNS`, else NaN): mean number of fixed
      points and of line-attractor-like ones per converged network (the latter with a 95%
      bootstrap interval over networks), mean fraction line-attractor-like;
    - ``note``: why values are NaN, how many networks were excluded, whether it is insufficient.

    Deterministic for a ``seed``: every interval uses a generator keyed by (seed, condition,
    metric), so a condition shared by two experiments gets identical values. A condition with 0
    or 1 converged networks gets NaN distances/SD and a note, never an error.
    """
    if meta is None or len(meta) == 0:
        return _typed(pd.DataFrame(columns=SUMMARY_COLUMNS))
    networks = networks if networks is not None else pd.DataFrame(columns=["condition", "seed", "status", "converged"])
    pairwise = (
        pairwise if pairwise is not None else pd.DataFrame(columns=["condition", "seed_a", "seed_b", "metric", "value"])
    )
    nets_by = {c: g for c, g in networks.groupby("condition", sort=False)} if len(networks) else {}
    pairs_by = {c: g for c, g in pairwise.groupby("condition", sort=False)} if len(pairwise) else {}
    empty_nets = networks.iloc[0:0]
    empty_pairs = pairwise.iloc[0:0]

    cache: dict[str, dict] = {}
    rows = []
    for m in meta.sort_values(["experiment", "task", "level", "condition"]).itertuples(index=False):
        cond = str(m.condition)
        if cond not in cache:
            cache[cond] = _condition_row(
                cond, nets_by.get(cond, empty_nets), pairs_by.get(cond, empty_pairs), n_boot, seed, min_networks
            )
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
        elif c in _BOOL_COLUMNS:
            df[c] = df[c].fillna(False).astype(bool)
        elif c in _STR_COLUMNS:
            df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str) if len(df) else df[c].astype(str)
        else:
            df[c] = df[c].astype("float64")
    return df.reset_index(drop=True)
