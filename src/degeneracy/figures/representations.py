"""Representational degeneracy: mean pairwise SVCCA distance against each factor's levels, one
panel per experiment present in the summary, in the style of the factor figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import empty, no_data, pyplot, save
from .panels import plot_metric, shared_legend, task_labels, task_palette

__all__ = ["EXPERIMENT_ORDER", "fig_svcca"]

#: Panel order (experiments not listed follow, sorted by name), and each one's x scale.
EXPERIMENT_ORDER: dict[str, str | None] = {
    "complexity": None,
    "memory": None,
    "auxiliary": None,
    "gamma": "log",
    "width": "log2",
    "l1": "log",
    "nuclear": "log",
}
_FACTOR_SCALE = {"gamma": "log", "width": "log2", "l1": "log", "nuclear": "log"}


def _experiments(summary: pd.DataFrame) -> list[str]:
    present = [str(e) for e in summary["experiment"].astype(str).unique()]
    return [e for e in EXPERIMENT_ORDER if e in present] + sorted(e for e in present if e not in EXPERIMENT_ORDER)


def fig_svcca(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Representational degeneracy (``svcca_mean``: mean pairwise SVCCA distance among converged
    networks, 1 - mean canonical correlation, unitless) with its 95% bootstrap interval over
    networks, against the factor's levels: one panel per experiment of ``summary``, one line per
    task. A summary without ``svcca_mean`` or without rows gives a "no data" panel. Returns None."""
    plt = pyplot()
    if empty(summary) or not {"experiment", "level", "task"} <= set(summary.columns):
        fig, ax = plt.subplots(figsize=(4.5, 3.2), layout="constrained")
        ax.set_title("A  representations", fontsize=9, loc="left")
        no_data(ax)
        save(fig, out_png, out_pdf)
        return
    exps = _experiments(summary)
    frames = [summary[summary["experiment"].astype(str) == e] for e in exps]
    n = len(exps)
    ncols = min(4, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.7 * ncols + 2.2, 3.4 * nrows), layout="constrained", squeeze=False
    )
    pal = task_palette(*frames)
    extras: set[str] = set()
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for ax, e, frame in zip(axes.ravel(), exps, frames):
        factor = str(frame["factor"].iloc[0]) if "factor" in frame.columns and len(frame) else ""
        scale = EXPERIMENT_ORDER.get(e, _FACTOR_SCALE.get(factor))
        if "svcca_mean" not in frame.columns:
            ax.set_title(f"{next(letters)}  {e}: representations", fontsize=9, loc="left")
            no_data(ax, "no SVCCA in this summary")
            continue
        extras |= plot_metric(
            ax, frame, "representations", pal, title=f"{next(letters)}  {e}: representations", xscale=scale
        )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    shared_legend(fig, pal, task_labels(*frames), extras)
    fig.suptitle("Representational degeneracy: mean pairwise SVCCA distance (95% bootstrap intervals)", fontsize=10)
    save(fig, out_png, out_pdf)
