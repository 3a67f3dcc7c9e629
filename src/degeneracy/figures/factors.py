"""The factor figures: degeneracy (dynamics, weights, behavior) against one factor per row.

Inputs are tables of :func:`degeneracy.aggregate.summarise` (``summary``), the long pairwise
table and the meta rows. Each function writes a PNG and a PDF and returns None; missing
experiments give panels that say "no data".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from degeneracy.metrics.mds import classical_mds, count_missing_pairs

from .base import empty, no_data, pyplot, save, select
from .labels import axis_label, level_phrase, parameter_of, task_name, tick_text
from .panels import plot_metric, shared_legend, task_labels, task_palette, wrap_note

__all__ = ["fig3", "fig4", "fig5", "fig6", "fig7", "fig8"]

_DEGENERACY = ("dynamics", "weights", "behavior")
_TITLES = {
    "dynamics": "dynamics degeneracy",
    "weights": "weight degeneracy",
    "weights_n2": "weight degeneracy / n$^2$",
    "weights_scale_free": "weight degeneracy, scale-free",
    "behavior": "behavior degeneracy",
    "weight_change": "weight change (\u00b11 SE)",
    "weight_change_rel": "relative weight change (\u00b11 SE)",
    "kernel_alignment": "kernel alignment (\u00b11 SE)",
}


def _counts(summary: pd.DataFrame, condition: str) -> tuple[int, int] | None:
    if empty(summary) or not {"condition", "n_converged", "n_seeds"} <= set(summary.columns):
        return None
    s = summary[summary["condition"].astype(str) == condition]
    if not len(s):
        return None
    return int(s["n_converged"].iloc[0]), int(s["n_seeds"].iloc[0])


def _mds_panel(
    ax, task: str, conds: pd.DataFrame, pairwise: pd.DataFrame | None, summary: pd.DataFrame, letter: str
) -> None:
    """One task: each condition's networks embedded by classical MDS of their DSA distances
    (each embedding centred on the origin), coloured by level; spread = dynamics degeneracy."""
    import matplotlib as mpl

    from degeneracy.stats import pair_matrix

    factor = str(conds["factor"].iloc[0]) if "factor" in conds.columns and len(conds) else "channels"
    param = parameter_of(conds, factor, task) if len(conds) else None
    ax.set_title(f"{letter}  {task_name(task)}: DSA distances (MDS)", fontsize=9, loc="left")
    need = {"condition", "metric", "seed_a", "seed_b", "value"}
    if empty(conds) or empty(pairwise) or not need <= set(pairwise.columns):
        no_data(ax)
        return
    levels = sorted(conds["level"].astype(float).unique())
    cmap = mpl.colormaps["viridis"]
    colours = {lv: cmap(0.85 * i / max(1, len(levels) - 1)) for i, lv in enumerate(levels)}
    dropped, filled = [], 0
    for c in conds.sort_values("level").drop_duplicates("condition").itertuples(index=False):
        sel = pairwise[(pairwise["condition"].astype(str) == str(c.condition)) & (pairwise["metric"] == "dsa")]
        sel = sel[sel["seed_a"] != sel["seed_b"]]
        m, seeds = pair_matrix(sel)
        counts = _counts(summary, str(c.condition))
        phrase = level_phrase(factor, param, c.level)
        if len(seeds) < 2 or not np.isfinite(m).any():
            why = f"{counts[0]} of {counts[1]} networks converged" if counts else "fewer than 2 networks with distances"
            dropped.append(f"{phrase}: {why}")
            continue
        filled += count_missing_pairs(m)
        xy = classical_mds(m, 2, missing="fill")
        n_lab = f" ({counts[0]}/{counts[1]} converged)" if counts and counts[0] < counts[1] else ""
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=12,
            color=colours[float(c.level)],
            alpha=0.85,
            label=f"{tick_text(param, c.level)}{n_lab}",
        )
    notes = []
    if filled:
        notes.append(f"{filled} missing pair(s) estimated from the embedding")
    note = wrap_note("not shown: ", dropped, width=44)
    ax.set_xlabel(
        "MDS 1 (DSA distance units)" + ("\n" + note if note else "") + ("\n" + "; ".join(notes) if notes else ""),
        fontsize=8,
    )
    ax.set_ylabel("MDS 2")
    if not ax.collections:
        no_data(ax, "no condition with 2 or more\nconverged networks")
        return
    _fit_square(ax, np.vstack([c.get_offsets() for c in ax.collections]))
    _legend_right(ax, axis_label(factor, param))


def _legend_right(ax, title: str) -> None:
    """The level legend, frameless, outside the panel below its axis label (a legend beside a
    square MDS panel squeezes it into a sliver)."""
    ax.legend(
        title=title,
        fontsize=7,
        title_fontsize=7,
        frameon=False,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        borderaxespad=0,
    )


def _fit_square(ax, xy: np.ndarray) -> None:
    """Equal axes fitted to the points: one half-width (the larger data half-range, plus 15%)
    around the data's centre, so the points fill the panel; at most 4 ticks per axis, so tick
    labels never run into each other."""
    from matplotlib.ticker import MaxNLocator

    xy = np.asarray(xy, dtype=float)
    xy = xy[np.isfinite(xy).all(axis=1)] if xy.ndim == 2 else xy
    if xy.size:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        mid = (lo + hi) / 2
        half = max(float((hi - lo).max()) / 2 * 1.15, 1e-9)
        ax.set_xlim(mid[0] - half, mid[0] + half)
        ax.set_ylim(mid[1] - half, mid[1] + half)
    ax.set_aspect("equal", adjustable="box")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))


def _joint_panel(
    ax, task: str, conds: pd.DataFrame, joint: pd.DataFrame, spread: pd.DataFrame | None, letter: str
) -> bool:
    """One task in its joint DSA space: every converged network of every level embedded by ONE
    classical MDS of the cross-condition distances (degeneracy.pipeline.joint_dsa), coloured by
    level, so spreads compare across levels; the legend gives each level's mean distance to its
    centroid with its interval. Returns False when the table has no pair for the task."""
    import matplotlib as mpl

    from degeneracy.pipeline.joint_dsa import joint_matrix

    ids = set(conds["condition"].astype(str))
    sel = joint[joint["condition_a"].astype(str).isin(ids) & joint["condition_b"].astype(str).isin(ids)]
    if sel.empty:
        return False
    D, labels, _ = joint_matrix(sel)
    xy = classical_mds(D, 2, missing="fill")
    factor = str(conds["factor"].iloc[0]) if "factor" in conds.columns else "channels"
    param = parameter_of(conds, factor, task)
    level_of = {str(c.condition): float(c.level) for c in conds.itertuples(index=False)}
    levels = sorted({level_of[c] for c in labels})
    cmap = mpl.colormaps["viridis"]
    ax.set_title(f"{letter}  {task_name(task)}: joint DSA space (MDS)", fontsize=9, loc="left")
    for i, lv in enumerate(levels):
        rows = [k for k, c in enumerate(labels) if level_of[c] == lv]
        text = tick_text(param, lv)
        if spread is not None and not spread.empty:
            hit = spread[spread["label"].astype(str).isin([c for c in ids if level_of.get(c) == lv])]
            if len(hit) and np.isfinite(hit["spread"].iloc[0]):
                r = hit.iloc[0]
                text += f": spread {r['spread']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"
        ax.scatter(
            xy[rows, 0], xy[rows, 1], s=12, color=cmap(0.85 * i / max(1, len(levels) - 1)), alpha=0.85, label=text
        )
    ax.set_xlabel("MDS 1 (DSA distance units)", fontsize=8)
    ax.set_ylabel("MDS 2")
    _fit_square(ax, xy)
    _legend_right(ax, axis_label(factor, param) + "\n(mean distance to centroid)")
    return True


def fig3(
    summary: pd.DataFrame,
    pairwise: pd.DataFrame,
    meta: pd.DataFrame,
    out_png: Path,
    out_pdf: Path,
    joint: pd.DataFrame | None = None,
    spread: pd.DataFrame | None = None,
) -> None:
    """Task complexity. A: per task, the networks of all levels in one joint DSA space (one
    classical MDS of the cross-condition distances, ``joint``; legend: each level's mean distance
    to its centroid, ``spread``); without a joint table, each condition's own MDS (levels
    overlaid, each embedding centred). B-D: dynamics (with the within-network DSA null band),
    weights and behavior degeneracy against each task's complexity knob (channels; path
    integration: 2-D vs 3-D). Returns None."""
    plt = pyplot()
    sub = select(summary, "channels", "complexity")
    mconds = select(meta, "channels", "complexity")
    tasks = sorted(
        set(mconds.get("task", pd.Series(dtype=str)).astype(str))
        | set(sub.get("task", pd.Series(dtype=str)).astype(str))
    )
    n_top = max(1, len(tasks))
    fig = plt.figure(figsize=(max(3.6 * n_top, 11), 7.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.05])
    axes_top = np.atleast_1d(top.subplots(1, n_top))
    if not tasks:
        _mds_panel(axes_top[0], "complexity", pd.DataFrame(), None, summary, "A")
    for ax, task in zip(axes_top, tasks):
        conds = mconds[mconds["task"].astype(str) == task] if not empty(mconds) else pd.DataFrame()
        if empty(conds) and not empty(sub):
            conds = sub[sub["task"].astype(str) == task]
        if joint is not None and not empty(conds) and _joint_panel(ax, task, conds, joint, spread, "A"):
            continue
        _mds_panel(ax, task, conds, pairwise, summary, "A")
    axes = bottom.subplots(1, 3)
    pal = task_palette(sub)
    extras: set[str] = set()
    for ax, metric, letter in zip(axes, _DEGENERACY, "BCD"):
        extras |= plot_metric(ax, sub, metric, pal, title=f"{letter}  {_TITLES[metric]}")
    shared_legend(bottom, pal, task_labels(sub), extras)
    fig.suptitle("Task complexity: mean over networks with 95% bootstrap intervals", fontsize=10)
    save(fig, out_png, out_pdf)


#: Most panels side by side in a one-factor figure before it wraps onto a second row.
MAX_COLUMNS = 4


def _rows_figure(
    rows: list[tuple[pd.DataFrame, str, dict]], metrics: tuple[str, ...], suptitle: str, out_png: Path, out_pdf: Path
) -> None:
    """One row per factor (frame, row title, plot_metric keyword arguments), one column per
    metric, and one legend outside on the right. A single factor with more than
    :data:`MAX_COLUMNS` metrics wraps onto further rows, so the figure keeps a page's width."""
    plt = pyplot()
    frames = [frame for frame, _, _ in rows]
    pal = task_palette(*frames)
    panels = [(row, metric) for row in rows for metric in metrics]
    ncols = len(metrics) if len(rows) > 1 or len(metrics) <= MAX_COLUMNS else 3
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.7 * ncols + 2.2, 3.4 * nrows), layout="constrained", squeeze=False
    )
    extras: set[str] = set()
    letters = iter("ABCDEFGHIJKL")
    for ax, ((frame, row_title, kwargs), metric) in zip(axes.flat, panels):
        title = (
            f"{next(letters)}  {row_title}: {_TITLES.get(metric, metric)}"
            if row_title
            else f"{next(letters)}  {_TITLES.get(metric, metric)}"
        )
        extras |= plot_metric(ax, frame, metric, pal, title=title, **kwargs)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    shared_legend(fig, pal, task_labels(*frames), extras)
    fig.suptitle(suptitle, fontsize=10)
    save(fig, out_png, out_pdf)


def fig4(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Memory demand (maximum delay) and the auxiliary output: dynamics, weights, behavior
    degeneracy. Returns None."""
    rows = [
        (select(summary, "delay", "memory"), "memory demand", {}),
        (select(summary, "auxiliary", "auxiliary"), "auxiliary output", {}),
    ]
    _rows_figure(rows, _DEGENERACY, "Memory demand and auxiliary output (95% bootstrap intervals)", out_png, out_pdf)


def fig5(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Feature learning against task complexity: weight change and kernel alignment (mean +-1
    standard error over converged networks). Returns None."""
    rows = [(select(summary, "channels", "complexity"), "", {})]
    _rows_figure(
        rows,
        ("weight_change", "kernel_alignment"),
        "Feature learning against task complexity (mean \u00b1 1 SE)",
        out_png,
        out_pdf,
    )


def fig6(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Feature-learning strength gamma (log x): degeneracy at three levels, and relative weight
    change and kernel alignment showing the move from lazy to rich learning. Returns None."""
    rows = [(select(summary, "gamma", "gamma"), "", {"xscale": "log"})]
    metrics = (*_DEGENERACY, "weight_change_rel", "kernel_alignment")
    _rows_figure(rows, metrics, "Feature-learning strength $\\gamma$ (\u03bcP networks)", out_png, out_pdf)


def fig7(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Width sweep (log2 x): dynamics, weights per n^2 (and scale-free weights when the summary
    has ``weight_scale_free_mean``), behavior. Returns None."""
    sub = select(summary, "width", "width")
    metrics = ("dynamics", "weights_n2", "behavior")
    if not empty(sub) and "weight_scale_free_mean" in sub.columns:
        metrics = ("dynamics", "weights_n2", "weights_scale_free", "behavior")
    _rows_figure([(sub, "", {"xscale": "log2"})], metrics, "Network width (\u03bcP, fixed $\\gamma$)", out_png, out_pdf)


def fig8(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """L1 and nuclear-norm regularisation: dynamics, weights, behavior with 95% interval bands
    (x: regularisation strength, symmetric-log when 0 is a level). Returns None."""
    kwargs = {"xscale": "log", "band": True}
    rows = [
        (select(summary, "l1", "l1"), "L1", kwargs),
        (select(summary, "nuclear", "nuclear"), "low rank", kwargs),
    ]
    _rows_figure(rows, _DEGENERACY, "Regularisation (bands: 95% bootstrap interval over networks)", out_png, out_pdf)
