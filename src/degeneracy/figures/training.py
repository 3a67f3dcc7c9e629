"""Training curves: the loss of every network against training steps."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .base import empty, no_data, num, pyplot, save

__all__ = ["fig_training_curves"]


def fig_training_curves(
    logs: pd.DataFrame,
    out_png: Path,
    out_pdf: Path,
    threshold: float | Mapping[str, float] | None = None,
) -> None:
    """Training MSE (epoch mean, log y) against steps, one thin line per network and one colour
    per condition, legend outside below the axes. ``threshold``: a float (one dashed line) or
    {condition: threshold} (one line per distinct value). Returns None."""
    plt = pyplot()
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8.5, 4.2), layout="constrained")
    need = {"condition", "seed", "steps", "loss"}
    if empty(logs) or not need <= set(logs.columns):
        no_data(ax)
        ax.set_title("Training curves")
        save(fig, out_png, out_pdf)
        return
    conds = sorted(logs["condition"].astype(str).unique())
    n_nets = 0
    ymin, ymax, xmax = np.inf, 0.0, 0.0
    handles = []
    for i, cond in enumerate(conds):
        colour = f"C{i % 10}"
        d = logs[logs["condition"].astype(str) == cond]
        segs = []
        for _, g in d.groupby("seed", sort=True):
            g = g.sort_values("steps")
            x, y = num(g, "steps"), num(g, "loss")
            ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
            if ok.any():
                pts = np.column_stack([x[ok], y[ok]])
                if len(pts) == 1:
                    ax.plot(pts[:, 0], pts[:, 1], ".", color=colour, ms=2)
                segs.append(pts)
                ymin, ymax, xmax = min(ymin, y[ok].min()), max(ymax, y[ok].max()), max(xmax, x[ok].max())
        if segs:
            ax.add_collection(LineCollection(segs, colors=[colour], linewidths=0.6, alpha=0.5))
            handles.append(Line2D([], [], color=colour, label=f"{cond} ({len(segs)} networks)"))
            n_nets += len(segs)
    if n_nets == 0:
        no_data(ax, "no finite positive losses")
        save(fig, out_png, out_pdf)
        return
    if threshold is not None:
        values = set(threshold.values()) if isinstance(threshold, Mapping) else {threshold}
        values = {float(v) for v in values if v is not None and np.isfinite(v) and v > 0}
        for v in sorted(values):
            ax.axhline(v, ls="--", lw=0.8, color="k", alpha=0.6)
            ymin, ymax = min(ymin, v), max(ymax, v)
        if values:
            handles.append(Line2D([], [], ls="--", color="k", alpha=0.6, label="convergence threshold"))
    ax.set_yscale("log")
    ax.set_xlim(0, max(xmax, 1.0) * 1.02)
    ax.set_ylim(ymin / 1.5, ymax * 1.5)
    ax.set_xlabel("training steps")
    ax.set_ylabel("training MSE (epoch mean)")
    ax.set_title(f"Training curves ({n_nets} networks, {len(conds)} conditions)", fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(handles) <= 25:
        longest = max(len(h.get_label()) for h in handles)
        ncol = max(1, min(3, 150 // max(longest, 1)))
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=6, frameon=False)
    save(fig, out_png, out_pdf)
