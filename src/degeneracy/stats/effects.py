"""The effects table: for each experiment, task and measure of degeneracy (behavior, dynamics,
weights), does degeneracy go up or down as the factor grows, and does that match the paper?

One cell = one (experiment, factor, task, measure, metric). Per cell (definitions in docs/study.md):

1. **Enough networks.** Every condition needs ``min_networks`` converged networks and the cell
   ``min_levels`` distinct levels; otherwise the verdict is ``insufficient`` and names the levels.
2. **Paired bootstrap.** One draw of the experiment's seeds per replicate, shared by every
   condition (same seed = same initial recurrent matrix at every level). Degeneracy per
   condition: behavior = sample SD (ddof=1) of the OOD MSE; dynamics / weights = mean pairwise
   distance over pairs of distinct networks. Conditions that share a level are averaged.
3. **Effect** on its scale (``effect_scale``): log of ``ratio`` = degeneracy at the highest level /
   at the lowest level, or, for quantities near 0 or 1 (kernel alignment), the ``difference``
   highest - lowest; each with its paired percentile interval. ``rho``: Spearman correlation of
   level and degeneracy (all levels).
4. **Test.** Two-sided p-value of "no effect": the effect over its paired bootstrap standard error,
   referred to Student's t with (networks at the extreme levels - 1) degrees of freedom; adjusted
   (Holm by default, or Benjamini-Hochberg) **within its family**: ``primary`` (the paper's three
   measures, one comparable metric each) or ``secondary`` (everything else). ``observed`` is up /
   down only when ``p_adjusted < alpha``.
5. **Gates** that turn a significant effect into ``inconclusive`` (or ``below noise floor``), each
   named in ``reason``: a middle level that goes significantly against the trend (``monotone``,
   ``steps``); an effect no larger than the probe-to-probe spread (``probe_spread``,
   ``beyond_probe``: kernel alignment, SVCCA); for weights, a quantity that already moves before
   training (``baseline_flat`` from ``init_ratio``) or a ratio within what the pairs' mean
   alignment gaps allow (``gap_mean``, ``beyond_gap``); for dynamics, a most degenerate level
   whose between-network DSA does not exceed the within-network null (the same network on two
   independent probe batches of the same size) by its interval (``above_noise_floor``).
6. **Robustness (dynamics).** With a DSA settings grid, ``robust`` says whether the direction of the
   ratio holds at every setting.

Besides the three measures of degeneracy, the table has secondary cells that go through the same
steps (:func:`cell_metrics`): ``behavior_relative`` (CV and SD of log OOD MSE), ``representations``
(mean pairwise SVCCA distance), and cells on *means* over networks: ``feature_learning`` (relative
weight change, kernel alignment uncentred and centred; complexity), ``ood_loss`` (mean OOD MSE;
gamma) and ``fixed_points`` (line-attractor-like fixed points per network).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .bootstrap import (
    pair_matrix,
    paired_draws,
    paired_mean_replicates,
    paired_pairwise_replicates,
    paired_sd_replicates,
    pairwise_mean,
    percentile_interval,
    stable_rng,
    studentized_p_value,
)
from .multiplicity import CORRECTIONS, adjust_p_values

from ..conditions import GLOBAL_DEFAULTS as _GLOBAL_DEFAULTS

__all__ = [
    "MEASURES",
    "EXTRA_MEASURES",
    "MEAN_METRICS",
    "EXTRA_PAPER_DIRECTIONS",
    "DIFFERENCE_METRICS",
    "RELATIVE_BEHAVIOR",
    "FAMILIES",
    "family_of",
    "paper_direction",
    "LEVELS_OF_DEGENERACY",
    "PAPER_DIRECTIONS",
    "DEFAULT_SETTINGS",
    "EFFECT_COLUMNS",
    "VERDICTS",
    "spearman_rho",
    "weight_metric_for",
    "cell_metrics",
    "effects_table",
]

#: The three measures of degeneracy.
MEASURES: tuple[str, ...] = ("behavior", "dynamics", "weights")
#: Former name of :data:`MEASURES` (kept for callers that still use it).
LEVELS_OF_DEGENERACY = MEASURES

#: Direction of degeneracy as the factor grows, as reported by the paper.
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

#: Measures beyond the three of degeneracy (see :func:`cell_metrics`).
EXTRA_MEASURES: tuple[str, ...] = (
    "behavior_relative",
    "representations",
    "feature_learning",
    "ood_loss",
    "fixed_points",
)

#: Metrics of cells on a mean over networks: metric -> per-network column of ``networks``.
MEAN_METRICS: dict[str, str] = {
    "weight_change_rel": "weight_change_rel",
    "kernel_alignment": "kernel_alignment",
    "kernel_alignment_centred": "kernel_alignment_centred",
    "ood_mse_mean": "ood_mse",
    "n_line_attractor_like": "n_line_attractor_like",
}

#: (factor, measure, metric) -> the paper's direction for the cells beyond :data:`PAPER_DIRECTIONS`.
#: "unknown": the paper shows the quantity but states no direction (verdict ``no paper direction``).
#: Representations (SVCCA), the centred kernel alignment and the scale-free behavior rows (CV, SD
#: of log OOD MSE) are "unknown": the paper states no direction for them and none is borrowed.
EXTRA_PAPER_DIRECTIONS: dict[tuple[str, str, str], str] = {
    ("channels", "feature_learning", "weight_change_rel"): "up",
    ("channels", "feature_learning", "kernel_alignment"): "down",
    # "feature learning increases both average OOD loss and its variability"
    ("gamma", "ood_loss", "ood_mse_mean"): "up",
    ("channels", "feature_learning", "kernel_alignment_centred"): "unknown",
    ("auxiliary", "fixed_points", "n_line_attractor_like"): "up",
}

#: Mean-over-networks metrics whose effect is the difference highest - lowest (numbers near 0 or 1,
#: where a ratio would be set by how close to 0 the lowest level happens to be).
DIFFERENCE_METRICS: frozenset[str] = frozenset({"kernel_alignment", "kernel_alignment_centred"})

#: Behavior rows on a scale-free spread of the OOD MSE (secondary): coefficient of variation
#: (SD / mean) and SD of log OOD MSE. Both are unchanged when every OOD MSE of a level is scaled.
RELATIVE_BEHAVIOR: tuple[str, ...] = ("ood_mse_cv", "ood_mse_log_sd")

#: The two families the p-values are adjusted within (docs/study.md, "Multiplicity").
FAMILIES: tuple[str, ...] = ("primary", "secondary")

#: Factor whose experiment gets each mean-over-networks cell (fixed points: any factor with rows).
_MEAN_CELLS: dict[str, list[tuple[str, str]]] = {
    "channels": [
        ("feature_learning", "weight_change_rel"),
        ("feature_learning", "kernel_alignment"),
        ("feature_learning", "kernel_alignment_centred"),
    ],
    "gamma": [("ood_loss", "ood_mse_mean")],
}


def paper_direction(factor: str, measure: str, metric: str) -> str | None:
    """The paper's direction ("up", "down", "unknown") of a cell as its factor grows, or None
    when the factor is not one of the paper's. Degeneracy measures: :data:`PAPER_DIRECTIONS`;
    ``weights`` cells on a quantity other than the primary one are that quantity's own, unknown;
    others: :data:`EXTRA_PAPER_DIRECTIONS`, else "unknown" for a factor of the paper (SVCCA
    included: the paper says representational degeneracy does not follow the same constraints)."""
    dirs = PAPER_DIRECTIONS.get(factor)
    if measure in MEASURES:
        return dirs.get(measure) if dirs else None
    if (factor, measure, metric) in EXTRA_PAPER_DIRECTIONS:
        return EXTRA_PAPER_DIRECTIONS[(factor, measure, metric)]
    return "unknown" if dirs else None


#: Defaults of the ``aggregate`` settings read here.
DEFAULT_SETTINGS: dict[str, Any] = dict(_GLOBAL_DEFAULTS["aggregate"])  # one home: degeneracy.conditions

#: Every value the ``verdict`` column takes.
VERDICTS: tuple[str, ...] = (
    "agree",
    "disagree",
    "inconclusive",
    "below noise floor",
    "insufficient",
    "no paper direction",
)

EFFECT_COLUMNS: dict[str, str] = {
    "experiment": "string",
    "factor": "string",
    "family": "string",
    "task": "string",
    "measure": "string",
    "level_of_degeneracy": "string",
    "metric": "string",
    "levels": "string",
    "networks": "string",
    "n_conditions": "int64",
    "n_levels": "int64",
    "sufficient": "bool",
    "degeneracy_lowest": "float64",
    "degeneracy_highest": "float64",
    "ratio": "float64",
    "ratio_lo": "float64",
    "ratio_hi": "float64",
    "rho": "float64",
    "rho_lo": "float64",
    "rho_hi": "float64",
    "effect_scale": "string",
    "difference": "float64",
    "difference_lo": "float64",
    "difference_hi": "float64",
    "monotone": "boolean",
    "steps": "string",
    "probe_spread": "float64",
    "beyond_probe": "boolean",
    "n_valid_replicates": "int64",
    "p_value": "float64",
    "p_adjusted": "float64",
    "correction": "string",
    "alpha": "float64",
    "significant": "boolean",
    "called": "boolean",
    "observed": "string",
    "paper": "string",
    "above_noise_floor": "boolean",
    "robust": "boolean",
    "robust_settings": "string",
    "init_ratio": "float64",
    "init_ratio_lo": "float64",
    "init_ratio_hi": "float64",
    "baseline_flat": "boolean",
    "gap_max": "float64",
    "gap_mean": "float64",
    "beyond_gap": "boolean",
    "verdict": "string",
    "agrees": "boolean",
    "reason": "string",
}


def spearman_rho(x: np.ndarray, y: np.ndarray) -> np.ndarray | float:
    """Spearman rho (ties: average ranks) of x against each row of y; NaN for constant rows.

    ``x`` has shape (m,); ``y`` has shape (m,) or (n_rep, m).
    """
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    single = y.ndim == 1
    rx = rankdata(x)
    ry = rankdata(np.atleast_2d(y), axis=-1)
    rx = rx - rx.mean()
    ry = ry - ry.mean(axis=1, keepdims=True)
    num = (ry * rx).sum(axis=1)
    den = np.sqrt((rx**2).sum() * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), np.nan)
    rho = np.clip(rho, -1.0, 1.0)
    return float(rho[0]) if single else rho


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


def _has_values(networks: pd.DataFrame | None, column: str, conditions: list[str]) -> bool:
    if networks is None or not len(networks) or column not in networks.columns:
        return False
    rows = networks.loc[networks["condition"].isin(conditions), column] if conditions else networks[column]
    return bool(np.isfinite(pd.to_numeric(rows, errors="coerce").to_numpy(dtype=float)).any())


def _has_pairs(pairwise: pd.DataFrame | None, metric: str, conditions: list[str]) -> bool:
    if pairwise is None or not len(pairwise) or "metric" not in pairwise.columns:
        return False
    sel = pairwise["metric"] == metric
    if conditions:
        sel &= pairwise["condition"].isin(conditions)
    return bool(sel.any())


def cell_metrics(
    factor: str,
    networks: pd.DataFrame | None = None,
    conditions: Iterable[str] = (),
    pairwise: pd.DataFrame | None = None,
) -> list[tuple[str, str]]:
    """[(measure, metric)] of the cells of one experiment and task.

    Behavior: ``ood_mse`` (its SD); dynamics: ``dsa``; weights: ``weight_aligned``, or, when widths
    differ, the per-pair ratio to the initial matrices ``weight_ratio_init`` (when the pairwise
    table has it; flat before training at every width) followed by ``weight_aligned_per_n2`` and
    the scale-free ``weight_scale_free``. The first cell of each of the three measures is the
    primary one (:func:`family_of`). Then the scale-free behavior rows
    (:data:`RELATIVE_BEHAVIOR`, measure ``behavior_relative``) and, where the data are there:
    representations ``svcca`` (when ``pairwise`` has svcca rows for these conditions); for task
    complexity (factor ``channels``) feature_learning ``weight_change_rel``, ``kernel_alignment``
    and ``kernel_alignment_centred``; for ``gamma`` ood_loss ``ood_mse_mean``; fixed_points
    ``n_line_attractor_like`` for any factor whose networks carry that column.
    """
    conditions = list(conditions)
    wmetric = weight_metric_for(factor, networks, conditions)
    weights = [("weights", wmetric)]
    if wmetric == "weight_aligned_per_n2":
        if _has_pairs(pairwise, "weight_ratio_init", conditions):
            weights.insert(0, ("weights", "weight_ratio_init"))
        weights.append(("weights", "weight_scale_free"))
    out = [("behavior", "ood_mse"), ("dynamics", "dsa"), *weights]
    out += [("behavior_relative", m) for m in RELATIVE_BEHAVIOR]
    if _has_pairs(pairwise, "svcca", conditions):
        out.append(("representations", "svcca"))
    for measure, metric in _MEAN_CELLS.get(factor, []):
        if metric == "ood_mse_mean" or _has_values(networks, MEAN_METRICS[metric], conditions):
            out.append((measure, metric))
    if _has_values(networks, MEAN_METRICS["n_line_attractor_like"], conditions):
        out.append(("fixed_points", "n_line_attractor_like"))
    return out


def family_of(cells: list[tuple[str, str]], measure: str, metric: str) -> str:
    """ "primary" for the first cell of each of the paper's three measures in ``cells`` (behavior
    SD of OOD MSE, DSA, the weight distance that is comparable across the factor's levels), else
    "secondary". Holm (or BH) runs within each family on its own."""
    if measure in MEASURES and next((m for ms, m in cells if ms == measure), None) == metric:
        return "primary"
    return "secondary"


# --------------------------------------------------------------------------------------------
# per experiment and task: the data of each condition over the experiment's seeds
# --------------------------------------------------------------------------------------------


def _fmt_level(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class _Group:
    """The conditions of one (experiment, factor, task), indexed by the union of their seeds."""

    def __init__(self, conditions: list[str], levels: np.ndarray, networks: pd.DataFrame, pairwise: pd.DataFrame):
        self.conditions = conditions
        self.levels = levels
        self.unique_levels = np.unique(levels)
        nets = networks[networks["condition"].isin(conditions)] if len(networks) else networks
        self.seeds = sorted(int(s) for s in nets["seed"].unique()) if len(nets) else []
        self.pos = {s: i for i, s in enumerate(self.seeds)}
        k = len(self.seeds)
        self.n_units: dict[str, float] = {}
        self.n_seeds: dict[str, int] = {}
        self.converged: dict[str, list[int]] = {}
        self.ood: dict[str, np.ndarray] = {}
        for c in conditions:
            rows = nets[nets["condition"] == c]
            if "converged" in rows.columns:
                conv = rows[rows["converged"].astype("boolean").fillna(False).astype(bool).to_numpy()]
            else:
                conv = rows[(rows["status"] == "converged").to_numpy()]
            self.n_seeds[c] = int(len(rows))
            self.converged[c] = sorted(int(x) for x in conv["seed"])
            v = np.full(k, np.nan)
            ood = pd.to_numeric(conv["ood_mse"], errors="coerce").to_numpy(dtype=float) if "ood_mse" in conv else []
            for seed_, x in zip(conv["seed"], ood):
                v[self.pos[int(seed_)]] = x
            self.ood[c] = v
            units = rows["n_units"].dropna().unique() if "n_units" in rows.columns else []
            self.n_units[c] = float(units[0]) if len(units) == 1 else float("nan")
        self._conv_rows = {}
        for c in conditions:
            rows = nets[nets["condition"] == c]
            self._conv_rows[c] = (
                rows[rows["seed"].astype(int).isin(self.converged[c]).to_numpy()] if len(rows) else rows
            )
        pw = pairwise[pairwise["condition"].isin(conditions)] if len(pairwise) else pairwise
        self.pairs = {c: g for c, g in pw.groupby("condition", sort=False)} if len(pw) else {}
        self.empty_pairs = pairwise.iloc[0:0] if pairwise is not None else pd.DataFrame()

    def _pairs(self, c: str, metric: str) -> pd.DataFrame:
        g = self.pairs.get(c, self.empty_pairs)
        return g[g["metric"] == metric] if len(g) else g

    def values(self, c: str, column: str) -> np.ndarray:
        """Per-seed values of a per-network column (NaN where absent or not converged)."""
        v = np.full(len(self.seeds), np.nan)
        rows = self._conv_rows[c]
        if column not in rows.columns or not len(rows):
            return v
        x = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
        for seed_, xi in zip(rows["seed"], x):
            v[self.pos[int(seed_)]] = xi
        return v

    def has_metric(self, metric: str) -> bool:
        return any(len(self._pairs(c, metric)) for c in self.conditions)

    def matrix(self, c: str, metric: str, scale: float = 1.0) -> np.ndarray:
        """k x k matrix over the group's seeds, NaN outside the condition's converged networks."""
        m, _ = pair_matrix(self._pairs(c, metric), self.seeds)
        conv = np.zeros(len(self.seeds), dtype=bool)
        conv[[self.pos[s] for s in self.converged[c]]] = True
        m[~conv, :] = np.nan
        m[:, ~conv] = np.nan
        return m * scale

    def null(self, c: str) -> np.ndarray:
        """Per-seed within-network DSA null (NaN where absent or not converged)."""
        g = self._pairs(c, "dsa_null")
        v = np.full(len(self.seeds), np.nan)
        conv = set(self.converged[c])
        for a, b, x in zip(g["seed_a"], g["seed_b"], pd.to_numeric(g["value"], errors="coerce")) if len(g) else []:
            if int(a) == int(b) and int(a) in conv and np.isfinite(x):
                v[self.pos[int(a)]] = float(x)
        return v

    def gaps(self, c: str) -> np.ndarray:
        """Finite alignment gaps of the condition's pairs of converged networks (fractions)."""
        g = self._pairs(c, "weight_gap")
        if not len(g):
            return np.empty(0)
        conv = set(self.converged[c])
        sel = g["seed_a"].isin(conv) & g["seed_b"].isin(conv)
        v = pd.to_numeric(g.loc[sel, "value"], errors="coerce").to_numpy(dtype=float)
        return v[np.isfinite(v)]

    def by_level(self, per_condition: np.ndarray) -> np.ndarray:
        """Average the last axis (conditions) over conditions that share a level."""
        x = np.asarray(per_condition, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.stack([x[..., self.levels == lv].mean(axis=-1) for lv in self.unique_levels], axis=-1)

    def networks_label(self) -> str:
        parts = []
        for lv in self.unique_levels:
            cs = [c for c, x in zip(self.conditions, self.levels) if x == lv]
            conv = sum(len(self.converged[c]) for c in cs)
            total = sum(self.n_seeds[c] for c in cs)
            parts.append(f"{_fmt_level(lv)}: {conv}/{total}")
        return ", ".join(parts)

    def insufficient(self, min_networks: int) -> list[str]:
        out = []
        for c, lv in zip(self.conditions, self.levels):
            n = len(self.converged[c])
            if n < min_networks:
                out.append(f"level {_fmt_level(lv)} ({c}: {n} of {self.n_seeds[c]} converged)")
        return out


def _scale_for(group: _Group, metric: str, c: str) -> tuple[str, float]:
    """(stored metric, factor) such that the cell's metric = factor * stored metric."""
    if metric == "weight_aligned_per_n2" and not group.has_metric(metric):
        return "weight_aligned", 1.0 / group.n_units[c] ** 2
    return metric, 1.0


def _init_metric(group: _Group, metric: str, c: str) -> tuple[str | None, float]:
    """Stored initial-matrix metric (and factor) matching a weights cell's metric, or (None, nan)."""
    if metric == "weight_aligned":
        return "weight_aligned_init", 1.0
    if metric == "weight_aligned_per_n2":
        return "weight_aligned_init", 1.0 / group.n_units[c] ** 2
    if metric == "weight_scale_free" and group.has_metric("weight_scale_free_init"):
        return "weight_scale_free_init", 1.0
    return None, float("nan")


def _points_and_replicates(group: _Group, measure: str, metric: str, draws: dict, init: bool = False):
    """Per condition: point degeneracy (array, conditions) and replicates (n_boot, conditions)."""
    pts, reps = [], []
    for c in group.conditions:
        d = draws[c]
        if measure == "behavior_relative":
            v = group.ood[c]
            v = np.where(v > 0, v, np.nan)
            finite = v[np.isfinite(v)]
            if metric == "ood_mse_log_sd":
                pts.append(float(np.log(finite).std(ddof=1)) if finite.size >= 2 else float("nan"))
                reps.append(paired_sd_replicates(np.log(v), d))
            else:
                pts.append(float(finite.std(ddof=1) / finite.mean()) if finite.size >= 2 else float("nan"))
                with np.errstate(invalid="ignore", divide="ignore"):
                    reps.append(paired_sd_replicates(v, d) / paired_mean_replicates(v, d))
            continue
        if measure == "behavior":
            v = group.ood[c]
            finite = v[np.isfinite(v)]
            pts.append(float(finite.std(ddof=1)) if finite.size >= 2 else float("nan"))
            reps.append(paired_sd_replicates(v, d))
            continue
        if metric in MEAN_METRICS and measure not in MEASURES:
            v = group.values(c, MEAN_METRICS[metric])
            finite = v[np.isfinite(v)]
            pts.append(float(finite.mean()) if finite.size else float("nan"))
            reps.append(paired_mean_replicates(v, d))
            continue
        stored, scale = _init_metric(group, metric, c) if init else _scale_for(group, metric, c)
        if stored is None:
            pts.append(float("nan"))
            reps.append(np.full(d.shape[0], np.nan))
            continue
        m = group.matrix(c, stored, scale)
        pts.append(pairwise_mean(m))
        reps.append(paired_pairwise_replicates(m, d))
    return np.asarray(pts, dtype=float), np.stack(reps, axis=1)


def _ratio(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), np.nan)


def _noise_floor(group: _Group, draws: dict, ci: float) -> tuple[bool, str]:
    """(passes, reason): at the most degenerate level (highest mean between-network DSA), does the
    between-network DSA exceed the within-network null (the same network on two independent probe
    batches of the same size) by its interval? Levels below the null are named in the reason
    (their distance is at the probe's floor, so the ratio understates the contrast) but do not
    fail the gate: a strong effect toward less degeneracy must be able to reach the floor."""
    excess_pt, notes = {}, []
    for c, lv in zip(group.conditions, group.levels):
        z = group.null(c)
        m = group.matrix(c, "dsa")
        if not np.isfinite(z).any():
            notes.append(f"level {_fmt_level(lv)}: no within-network null")
            continue
        excess = paired_pairwise_replicates(m, draws[c]) - paired_mean_replicates(z, draws[c])
        lo, _ = percentile_interval(excess, ci)
        point = pairwise_mean(m) - float(np.nanmean(z))
        excess_pt[c] = (pairwise_mean(m), point, lo, lv)
        if not (np.isfinite(lo) and lo > 0):
            notes.append(
                f"level {_fmt_level(lv)} within the DSA null (DSA - null = {point:.3g}, interval low {lo:.3g})"
            )
    if not excess_pt:
        return False, "; ".join(notes) or "no within-network null"
    top = max(excess_pt, key=lambda c: excess_pt[c][0] if np.isfinite(excess_pt[c][0]) else -np.inf)
    _, point, lo, lv = excess_pt[top]
    passes = bool(np.isfinite(lo) and lo > 0)
    if not passes:
        return False, (
            f"the most degenerate level ({_fmt_level(lv)}) is within the DSA null "
            f"(DSA - null = {point:.3g}, interval low {lo:.3g})"
        )
    return True, "; ".join(notes)


def _robustness(group: _Group, grid: pd.DataFrame | None, direction: str) -> tuple[Any, str, str]:
    """(robust, "k/m settings", note) for a dynamics cell from the DSA settings grid."""
    if grid is None or len(grid) == 0:
        return pd.NA, "", ""
    g = grid[grid["condition"].isin(group.conditions) & (grid["metric"] == "dsa")]
    if not len(g):
        return pd.NA, "", "no DSA grid rows for these conditions"
    keys = ["rank", "delay_interval", "n_delays"]
    holds, total, skipped, ratios = 0, 0, 0, []
    for _, s in g.groupby(keys, sort=True):
        per_cond = []
        for c in group.conditions:
            rows = s[s["condition"] == c]
            m, _ = pair_matrix(rows[["seed_a", "seed_b", "value"]], group.converged[c])
            per_cond.append(pairwise_mean(m))
        lv = group.by_level(np.asarray(per_cond))
        if not np.isfinite(lv[[0, -1]]).all():
            skipped += 1
            continue
        r = float(_ratio(np.array(lv[-1]), np.array(lv[0])))
        total += 1
        ratios.append(r)
        holds += int((r > 1) if direction == "up" else (r < 1))
    note = f"{skipped} grid setting(s) lack a level" if skipped else ""
    if total == 0 or direction not in ("up", "down"):
        label = f"{total} settings" if total else ""
        return pd.NA, label, note
    return holds == total, f"{holds}/{total}", note


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _level_replicates(group: _Group, measure: str, metric: str, draws: dict, init: bool = False):
    """(per-level points, per-level replicates (n_boot, levels))."""
    pts, reps = _points_and_replicates(group, measure, metric, draws, init=init)
    return group.by_level(pts), group.by_level(reps)


def _effect(hi, lo, difference: bool):
    """Effect on its scale: hi - lo, or log(hi / lo) (NaN where undefined)."""
    if difference:
        return np.asarray(hi, dtype=float) - np.asarray(lo, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(_ratio(np.asarray(hi, dtype=float), np.asarray(lo, dtype=float)))


def _steps(lv_pts: np.ndarray, lv_reps: np.ndarray, levels: np.ndarray, difference: bool, ci: float):
    """(monotone, text, against): each adjacent step's effect with its interval. ``against`` lists
    the steps whose interval lies wholly on one side of 0 (in the effect's scale); the caller
    compares their sign with the trend's. NA / "" for two levels."""
    if len(levels) < 3:
        return [], ""
    out, parts = [], []
    for i in range(len(levels) - 1):
        e = float(_effect(lv_pts[i + 1], lv_pts[i], difference))
        lo, hi = percentile_interval(_effect(lv_reps[:, i + 1], lv_reps[:, i], difference), ci)
        shown = (e, lo, hi) if difference else tuple(np.exp([e, lo, hi]))
        name = "diff" if difference else "ratio"
        parts.append(
            f"{_fmt_level(levels[i])}->{_fmt_level(levels[i + 1])}: {name} {shown[0]:.3g} [{shown[1]:.3g}, {shown[2]:.3g}]"
        )
        sign = 1 if (np.isfinite(lo) and lo > 0) else -1 if (np.isfinite(hi) and hi < 0) else 0
        out.append((levels[i], levels[i + 1], sign))
    return out, "; ".join(parts)


def _probe_variance(group: _Group, measure: str, metric: str, draws: dict, effect: float, difference: bool):
    """(variance, note): the probe batch's contribution to the variance of the effect (on its scale),
    which a bootstrap over networks cannot see because every network of a condition sees the same
    probe. Kernel alignment: each network's ``<column>_probe_sd`` (SD over disjoint quarter-probe
    subsets) stands for the probe standard error of its value, conservatively (it is larger); the level mean's is at most the mean of those (errors shared by every network), so the
    difference gets ``sd_lo^2 + sd_hi^2``. SVCCA: the same effect on the second probe batch
    (``svcca_probe2``) gives ``(e1 - e2)^2 / 2`` (one degree of freedom). (NaN, "") elsewhere."""
    ext = (group.unique_levels[0], group.unique_levels[-1])
    if metric in DIFFERENCE_METRICS:
        col = f"{MEAN_METRICS[metric]}_probe_sd"
        sds = []
        for lv in ext:
            v = np.concatenate([group.values(c, col) for c, x in zip(group.conditions, group.levels) if x == lv])
            v = v[np.isfinite(v)]
            sds.append(float(v.mean()) if v.size else float("nan"))
        if not np.isfinite(sds).all():
            return float("nan"), ""
        return float(sds[0] ** 2 + sds[1] ** 2), f"probe SE {sds[0]:.3g} and {sds[1]:.3g} at the extremes"
    if metric == "svcca" and group.has_metric("svcca_probe2"):
        lv2, _ = _level_replicates(group, measure, "svcca_probe2", draws)
        e2 = float(_effect(lv2[-1], lv2[0], difference))
        if not np.isfinite(e2):
            return float("nan"), "no probe-2 effect"
        return float((effect - e2) ** 2 / 2.0), f"probe 2 ratio {np.exp(e2):.3g}"
    return float("nan"), ""


def _cell(
    group: _Group, measure: str, metric: str, factor: str, draws: dict, s: Mapping[str, Any], grid
) -> dict[str, Any]:
    paper = paper_direction(factor, measure, metric)
    difference = metric in DIFFERENCE_METRICS
    row: dict[str, Any] = {
        "measure": measure,
        "level_of_degeneracy": measure,
        "metric": metric,
        "levels": ", ".join(_fmt_level(x) for x in group.unique_levels),
        "networks": group.networks_label(),
        "n_conditions": len(group.conditions),
        "paper": paper or "",
        "effect_scale": "difference" if difference else "log ratio",
        "above_noise_floor": pd.NA,
        "robust": pd.NA,
        "robust_settings": "",
        "monotone": pd.NA,
        "steps": "",
        "probe_spread": float("nan"),
        "beyond_probe": pd.NA,
        "baseline_flat": pd.NA,
        "gap_max": float("nan"),
        "gap_mean": float("nan"),
        "beyond_gap": pd.NA,
        "significant": pd.NA,
        "p_value": float("nan"),
    }
    lv_pts, lv_reps = _level_replicates(group, measure, metric, draws)
    finite = np.isfinite(lv_pts)
    row["n_levels"] = int(finite.sum())
    row["degeneracy_lowest"], row["degeneracy_highest"] = float(lv_pts[0]), float(lv_pts[-1])
    ci = float(s["ci"])
    row["ratio"] = float(_ratio(np.array(lv_pts[-1]), np.array(lv_pts[0])))
    row["difference"] = float(lv_pts[-1] - lv_pts[0])
    point = float(_effect(lv_pts[-1], lv_pts[0], difference))
    effect_reps = _effect(lv_reps[:, -1], lv_reps[:, 0], difference)
    # probe noise: added to every replicate (and so to the intervals and the test's standard error)
    probe_var, probe_note = _probe_variance(group, measure, metric, draws, point, difference)
    if np.isfinite(probe_var) and probe_var > 0:
        rng = stable_rng(int(s["seed"]), "probe", measure, metric, *group.conditions)
        effect_reps = effect_reps + np.sqrt(probe_var) * rng.standard_normal(len(effect_reps))
    diff_reps = effect_reps if difference else lv_reps[:, -1] - lv_reps[:, 0]
    ratio_reps = _ratio(lv_reps[:, -1], lv_reps[:, 0]) if difference else np.exp(effect_reps)
    row["ratio_lo"], row["ratio_hi"] = percentile_interval(ratio_reps, ci)
    row["difference_lo"], row["difference_hi"] = percentile_interval(diff_reps, ci)
    row["n_valid_replicates"] = int(np.isfinite(effect_reps).sum())
    x = group.unique_levels[finite]
    row["rho"] = spearman_rho(x, lv_pts[finite]) if finite.sum() >= 2 else float("nan")
    ok = np.isfinite(lv_reps).all(axis=1) & finite.all()
    rhos = spearman_rho(group.unique_levels, lv_reps[ok]) if ok.any() and finite.all() else np.empty(0)
    row["rho_lo"], row["rho_hi"] = percentile_interval(np.asarray(rhos), ci)

    if measure == "weights":
        ip, ir = _level_replicates(group, measure, metric, draws, init=True)
        row["init_ratio"] = float(_ratio(np.array(ip[-1]), np.array(ip[0])))
        row["init_ratio_lo"], row["init_ratio_hi"] = percentile_interval(_ratio(ir[:, -1], ir[:, 0]), ci)
        if np.isfinite([row["init_ratio_lo"], row["init_ratio_hi"]]).all():
            # a quantity that already moves between levels before training is not comparable
            row["baseline_flat"] = bool(row["init_ratio_lo"] <= 1.0 <= row["init_ratio_hi"])
        gaps = [group.gaps(c) for c in group.conditions]
        every = np.concatenate(gaps)
        row["gap_max"] = float(every.max()) if every.size else float("nan")
        gm = group.by_level(np.array([v.mean() if v.size else np.nan for v in gaps]))
        if np.isfinite(gm[[0, -1]]).any():
            row["gap_mean"] = float(np.nanmax(gm[[0, -1]]))
        if np.isfinite(row["ratio"]) and np.isfinite(gm[[0, -1]]).all():
            # each level's mean distance may sit up to its mean pair gap above the optimum, so the
            # true ratio lies in [ratio / (1 + g_hi), ratio * (1 + g_lo)]; an effect must leave it
            g_lo, g_hi = float(gm[0]), float(gm[-1])
            r = row["ratio"]
            row["beyond_gap"] = bool(r / (1.0 + g_hi) > 1.0 or r * (1.0 + g_lo) < 1.0)
    else:
        row["init_ratio"] = row["init_ratio_lo"] = row["init_ratio_hi"] = float("nan")

    # 1. enough networks and levels
    missing = group.insufficient(int(s["min_networks"]))
    if missing:
        row["reason"] = f"fewer than {int(s['min_networks'])} converged networks at " + ", ".join(missing)
        row["sufficient"], row["observed"], row["verdict"] = False, "not tested", "insufficient"
        return row
    row["sufficient"] = True
    mean_cell = metric in MEAN_METRICS and measure not in MEASURES
    if len(group.unique_levels) < int(s["min_levels"]) or not finite.all():
        row["reason"] = (
            f"only {int(finite.sum())} of {len(group.unique_levels)} levels have a finite degeneracy "
            f"(need all, and at least {int(s['min_levels'])})"
        )
        stored = _scale_for(group, metric, group.conditions[0])[0]
        if mean_cell:
            if finite.any() and not finite.all():
                row["reason"] += f" ({MEAN_METRICS[metric]} missing at a level)"
        elif measure not in ("behavior", "behavior_relative") and not group.has_metric(stored):
            row["reason"] = f"no {metric} pairs in the pairwise table"
        row["observed"], row["verdict"] = "not tested", _untested_verdict(paper)
        return row
    if row["n_valid_replicates"] < max(1, s["n_boot"] // 2):
        row["reason"] = f"only {row['n_valid_replicates']} of {s['n_boot']} bootstrap replicates defined"
        if not difference and not row["degeneracy_lowest"] > 0:
            row["reason"] += " (the lowest level's value is 0: the ratio is undefined)"
        row["observed"], row["verdict"] = "not tested", _untested_verdict(paper)
        return row
    # 2. the test (adjusted later, within the cell's family)
    extremes = (group.unique_levels[0], group.unique_levels[-1])
    n_units = min(len(group.converged[c]) for c, x in zip(group.conditions, group.levels) if x in extremes)
    # a mean's bootstrap SD is the plug-in SE (divisor n): scale it back to the usual SE
    se_scale = float(np.sqrt(n_units / (n_units - 1))) if mean_cell and n_units > 1 else 1.0
    row["p_value"] = studentized_p_value(point, effect_reps, n_units, se_scale=se_scale)
    if not np.isfinite(row["p_value"]):
        row["reason"] = (
            f"the bootstrap replicates of the effect do not vary ({n_units} networks at an extreme level): "
            "its uncertainty cannot be estimated"
        )
        row["observed"], row["verdict"] = "not tested", _untested_verdict(paper)
        return row
    direction = "up" if point > 0 else "down" if point < 0 else "none"
    row["_direction"] = direction
    notes, blockers = [], []
    # 3. the middle levels must not go against the trend
    steps, row["steps"] = _steps(lv_pts, lv_reps, group.unique_levels, difference, ci)
    if steps:
        want = 1 if direction == "up" else -1
        against = [(a, b) for a, b, sgn in steps if sgn == -want]
        row["monotone"] = not against
        if against:
            blockers.append(
                "non-monotone: "
                + ", ".join(f"{_fmt_level(a)}->{_fmt_level(b)}" for a, b in against)
                + f" goes {'down' if want == 1 else 'up'} (interval excludes no change)"
            )
    # 4. probe noise (already inside the test; an effect within one probe SE is not called either)
    if np.isfinite(probe_var):
        spread = float(np.sqrt(probe_var))
        row["probe_spread"] = spread
        row["beyond_probe"] = bool(abs(point) > spread)
        if not row["beyond_probe"]:
            blockers.append(
                f"effect {abs(point):.3g} not larger than the probe's standard error {spread:.3g} ({probe_note})"
            )
    if measure == "dynamics":
        passes, why = _noise_floor(group, draws, ci)
        row["above_noise_floor"] = passes
        if why:
            notes.append(why)
    if measure == "weights":
        if row["baseline_flat"] is False:
            blockers.append(
                f"not comparable across levels: the initial matrices already give {row['init_ratio']:.3g} "
                f"[{row['init_ratio_lo']:.3g}, {row['init_ratio_hi']:.3g}]"
            )
        if row["beyond_gap"] is False:
            blockers.append(
                f"ratio {row['ratio']:.3g} within what the alignment gaps allow (mean pair gap {row['gap_mean']:.3g})"
            )
    row["_notes"] = notes
    row["_blockers"] = blockers
    row["_grid"] = (group, grid) if measure == "dynamics" else None
    return row


def _untested_verdict(paper: str | None) -> str:
    return "no paper direction" if paper == "unknown" else "inconclusive"


def _finish(rows: list[dict[str, Any]], s: Mapping[str, Any]) -> None:
    """Adjust the p-values within each family, then set observed, verdict, robustness, reasons."""
    alpha = float(s["alpha"])
    method = str(s["correction"])
    name = CORRECTIONS[method]
    p = np.array([r["p_value"] for r in rows], dtype=float)
    adj = np.full(p.shape, np.nan)
    fam = np.array([r.get("family", "secondary") for r in rows], dtype=object)
    n_tests = {}
    for f in FAMILIES:
        sel = fam == f
        if sel.any():
            adj[sel] = adjust_p_values(p[sel], method)
        n_tests[f] = int(np.isfinite(p[sel]).sum())
    for r, q in zip(rows, adj):
        r["p_adjusted"], r["correction"], r["alpha"] = float(q), name, alpha
        if "_direction" not in r:
            r["agrees"], r["called"] = pd.NA, False
            continue
        sig = bool(np.isfinite(q) and q < alpha and r["_direction"] in ("up", "down"))
        r["significant"] = sig
        notes = list(r.pop("_notes"))
        blockers = list(r.pop("_blockers"))
        grid = r.pop("_grid")
        direction = r.pop("_direction")
        r["observed"] = direction if sig else "no clear trend"
        if grid is not None:
            robust, label, note = _robustness(grid[0], grid[1], direction)
            r["robust"], r["robust_settings"] = (robust if sig else pd.NA), label
            if note:
                notes.append(note)
            if sig and robust is False:
                notes.append(f"direction holds at {label} DSA settings")
        paper = r["paper"] or None
        family = f"{r.get('family', 'secondary')} family, {n_tests.get(r.get('family', 'secondary'), 0)} cells"
        if paper == "unknown":
            r["verdict"] = "no paper direction"
            notes.insert(
                0,
                "the paper states no direction for this quantity"
                + ("" if sig else f"; no trend at {alpha:g} after {name} ({family}; adjusted p = {q:.3g})"),
            )
            notes.extend(blockers if sig else [])
        elif not sig:
            r["verdict"] = "inconclusive"
            notes.insert(0, f"no trend at {alpha:g} after {name} ({family}; adjusted p = {q:.3g})")
        elif r["measure"] == "dynamics" and r["above_noise_floor"] is not True:
            r["verdict"] = "below noise floor"
            notes.extend(blockers)
        elif blockers:
            # non-monotone, within the probe noise, not comparable across levels, or within the
            # alignment's optimisation error: not called an effect
            r["verdict"] = "inconclusive"
            notes = blockers + notes
        elif paper is None:
            r["verdict"] = "inconclusive"
            notes.append(f"no paper direction for factor {r['factor']!r}")
        else:
            r["verdict"] = "agree" if direction == paper else "disagree"
            notes.insert(0, f"{direction} at adjusted p = {q:.3g} ({name}, {family}); every gate passed")
        r["called"] = bool(sig and not blockers and (r["measure"] != "dynamics" or r["above_noise_floor"] is True))
        r["reason"] = _join(*notes)
        r["agrees"] = (r["verdict"] == "agree") if r["verdict"] in ("agree", "disagree") else pd.NA


def effects_table(
    meta: pd.DataFrame,
    networks: pd.DataFrame,
    pairwise: pd.DataFrame,
    n_boot: int = DEFAULT_SETTINGS["n_boot"],
    seed: int = DEFAULT_SETTINGS["seed"],
    ci: float = DEFAULT_SETTINGS["ci"],
    min_levels: int = DEFAULT_SETTINGS["min_levels"],
    min_networks: int = DEFAULT_SETTINGS["min_networks"],
    alpha: float = DEFAULT_SETTINGS["alpha"],
    correction: str = DEFAULT_SETTINGS["correction"],
    dsa_grid: pd.DataFrame | None = None,
    paired: bool = True,
) -> pd.DataFrame:
    """One row per cell (experiment, factor, task, measure, metric); columns :data:`EFFECT_COLUMNS`.

    ``meta``: experiment, factor, task, level, condition. ``networks``: condition, seed, converged,
    ood_mse, n_units. ``pairwise``: condition, seed_a, seed_b, metric, value (metrics dsa,
    dsa_null, weight_aligned, weight_aligned_per_n2, weight_scale_free, weight_aligned_init,
    weight_gap). ``paired=False`` draws every condition's seeds independently (the unpaired
    bootstrap, for comparison only). ``dsa_grid`` (optional): the long table of :mod:`degeneracy.pipeline.dsa_grid`
    (condition, seed_a, seed_b, rank, delay_interval, n_delays, metric, value) for ``robust``.

    ``ratio`` is unitless (degeneracy at the highest level / at the lowest level); ``p_value`` and
    ``p_adjusted`` are probabilities; ``verdict`` is one of :data:`VERDICTS`. Deterministic for a
    ``seed``: the draws of each experiment and task come from a generator keyed by (seed,
    experiment, factor, task), shared by its measures.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction={correction!r} is invalid; choose one of {sorted(CORRECTIONS)}")
    s = dict(
        n_boot=int(n_boot),
        seed=int(seed),
        ci=float(ci),
        min_levels=int(min_levels),
        min_networks=int(min_networks),
        alpha=float(alpha),
        correction=correction,
    )
    if meta is None or len(meta) == 0:
        return _typed(pd.DataFrame(columns=list(EFFECT_COLUMNS)))
    if networks is None or not len(networks):
        networks = _empty(condition=str, seed="int64", converged=bool, ood_mse=float)
    if pairwise is None or not len(pairwise):
        pairwise = _empty(condition=str, seed_a="int64", seed_b="int64", metric=str, value=float)
    rows: list[dict[str, Any]] = []
    for (experiment, factor, task), g in meta.groupby(["experiment", "factor", "task"], sort=True):
        g = g.sort_values(["level", "condition"])
        conditions = g["condition"].astype(str).tolist()
        group = _Group(conditions, g["level"].astype(float).to_numpy(), networks, pairwise)
        rng = stable_rng(s["seed"], experiment, factor, task)
        k = len(group.seeds)
        if paired:
            shared = paired_draws(k, s["n_boot"], rng)
            draws = {c: shared for c in conditions}
        else:
            draws = {c: paired_draws(k, s["n_boot"], rng) for c in conditions}
        cells = cell_metrics(str(factor), networks, conditions, pairwise)
        for measure, metric in cells:
            row = {
                "experiment": str(experiment),
                "factor": str(factor),
                "task": str(task),
                "family": family_of(cells, measure, metric),
            }
            if k == 0:
                row.update(
                    measure=measure,
                    level_of_degeneracy=measure,
                    metric=metric,
                    levels="",
                    networks="",
                    n_conditions=len(conditions),
                    n_levels=0,
                    sufficient=False,
                    observed="not tested",
                    verdict="insufficient",
                    reason="no networks",
                    paper=paper_direction(str(factor), measure, metric) or "",
                )
            else:
                row.update(_cell(group, measure, metric, str(factor), draws, s, dsa_grid))
            rows.append(row)
    _finish(rows, s)
    return _typed(pd.DataFrame(rows).reindex(columns=list(EFFECT_COLUMNS)))


def _empty(**dtypes) -> pd.DataFrame:
    """An empty table with these columns and dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dt) for name, dt in dtypes.items()})


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for c, t in EFFECT_COLUMNS.items():
        if t == "string":
            df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str).astype("string")
        elif t == "int64":
            df[c] = pd.to_numeric(df[c], errors="coerce").fillna(0).astype("int64")
        elif t == "bool":
            df[c] = df[c].fillna(False).astype(bool)
        elif t == "boolean":
            df[c] = df[c].astype("boolean")
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df.reset_index(drop=True)
