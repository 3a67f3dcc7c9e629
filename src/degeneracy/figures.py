"""One function per figure (SPEC section 6), each writing a PNG and a PDF atomically.

Every ``fig_*`` function takes its tables plus ``out_png`` and ``out_pdf`` and returns None.
Inputs are the tables of :func:`degeneracy.aggregate.summarise` (``summary``),
:func:`degeneracy.stats.effects_table` (``effects``) and the stage outputs ``pairwise``, ``meta``,
``logs``, ``trial`` (README, "Outputs and their schemas"). Missing experiments and empty frames
give a panel that says "no data" instead of an error. Error bars/bands are the 95% bootstrap
intervals over networks (feature-learning metrics: +-1 standard error). Legends give
``n=converged/total`` networks per line, and a point whose condition lost networks is annotated
with ``conv/total``.

matplotlib (Agg backend) and seaborn are imported lazily, inside the functions.

``FIGURES`` maps a name to its function; call signatures::

    fig3(summary, pairwise, meta, out_png, out_pdf)
    fig4(summary, out_png, out_pdf)          # memory demand (delay) and auxiliary output
    fig5(summary, out_png, out_pdf)          # weight change, kernel alignment vs channels
    fig6(summary, out_png, out_pdf)          # gamma sweep (log x)
    fig7(summary, out_png, out_pdf)          # width sweep (log2 x, weights / n^2)
    fig8(summary, out_png, out_pdf)          # L1 and nuclear-norm regularisation (bands)
    fig_effects(effects, out_png, out_pdf)
    fig_training_curves(logs, out_png, out_pdf, threshold=None)
    fig_example_trial(trial, out_png, out_pdf)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "FIGURES",
    "classical_mds",
    "fig3",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "fig8",
    "fig_effects",
    "fig_training_curves",
    "fig_example_trial",
]

# (value column, low column, high column, y label); "se:" prefix = symmetric +-1 SE column.
METRICS: dict[str, tuple[str, str, str, str]] = {
    "dynamics": ("dsa_mean", "dsa_lo", "dsa_hi", "dynamics degeneracy\n(mean pairwise DSA)"),
    "weights": ("weight_mean", "weight_lo", "weight_hi", "weight degeneracy\n(aligned Frobenius distance)"),
    "weights_n2": (
        "weight_per_n2_mean",
        "weight_per_n2_lo",
        "weight_per_n2_hi",
        "weight degeneracy / n$^2$",
    ),
    "behavior": ("behavior_sd", "behavior_sd_lo", "behavior_sd_hi", "behavior degeneracy\n(SD of OOD MSE)"),
    "weight_change": ("weight_change_mean", "se:weight_change_se", "", "weight change\n$\\|W_T-W_0\\|_F$"),
    "weight_change_rel": ("weight_change_rel_mean", "", "", "relative weight change"),
    "kernel_alignment": ("kernel_alignment_mean", "se:kernel_alignment_se", "", "kernel alignment\n(lower = richer)"),
}

_TITLES = {
    "weights_n2": "weights / n$^2$",
    "weight_change_rel": "relative weight change",
    "kernel_alignment": "kernel alignment",
    "weight_change": "weight change",
}

_VERDICT_COLOURS = {"agree": "#4daf4a", "disagree": "#e41a1c", "inconclusive": "#bdbdbd"}
_ARROWS = {"up": "\u2191", "down": "\u2193", "inconclusive": "?", "": "-"}


# --------------------------------------------------------------------------------------------
# plumbing
# --------------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    # seaborn style, but keep rcParams the caller set explicitly (e.g. workflow figure settings)
    user_rc = {
        k: v
        for k, v in matplotlib.rcParams.items()
        if k in matplotlib.rcParamsDefault and _differs(v, matplotlib.rcParamsDefault[k]) and k != "backend"
    }
    sns.set_theme(style="whitegrid", context="paper")
    matplotlib.rcParams.update(user_rc)
    return plt, sns


def _differs(a, b) -> bool:
    try:
        return bool(a != b)
    except Exception:  # array-like values
        return True


def _save(fig, out_png: Path, out_pdf: Path) -> None:
    """Write ``fig`` to both paths, each via a temporary file in the same folder + os.replace."""
    import matplotlib.pyplot as plt

    try:
        for path, fmt in ((Path(out_png), "png"), (Path(out_pdf), "pdf")):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp.{fmt}")
            os.close(fd)
            try:
                fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
    finally:
        plt.close(fig)


def _no_data(ax, message: str = "no data") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _empty(df) -> bool:
    return df is None or not isinstance(df, pd.DataFrame) or len(df) == 0


def _select(summary: pd.DataFrame | None, factor: str, experiment: str | None = None) -> pd.DataFrame:
    """Rows of ``summary`` for a factor (or, failing that, an experiment name)."""
    if _empty(summary):
        return pd.DataFrame()
    sel = pd.Series(False, index=summary.index)
    if "factor" in summary.columns:
        sel |= summary["factor"].astype(str) == factor
    if experiment is not None and "experiment" in summary.columns:
        sel |= summary["experiment"].astype(str) == experiment
    out = summary[sel]
    if "level" not in out.columns or "task" not in out.columns:
        return pd.DataFrame()
    return out


def _num(df: pd.DataFrame, col: str) -> np.ndarray:
    if not col or col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _interval(df: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    col, lo_col, hi_col, _ = METRICS[metric]
    y = _num(df, col)
    if lo_col.startswith("se:"):
        se = _num(df, lo_col[3:])
        return y, y - se, y + se
    return y, _num(df, lo_col), _num(df, hi_col)


def _counts_label(df: pd.DataFrame) -> str:
    if "n_converged" not in df.columns or "n_seeds" not in df.columns:
        return ""
    conv = int(pd.to_numeric(df["n_converged"], errors="coerce").fillna(0).sum())
    tot = int(pd.to_numeric(df["n_seeds"], errors="coerce").fillna(0).sum())
    return f" (n={conv}/{tot})"


def _set_xscale(ax, levels: np.ndarray, scale: str | None) -> None:
    levels = np.asarray(levels, dtype=float)
    levels = levels[np.isfinite(levels)]
    if scale in ("log", "log2"):
        pos = levels[levels > 0]
        if pos.size and (levels <= 0).any():
            ax.set_xscale("symlog", linthresh=float(pos.min()))
        elif pos.size:
            if scale == "log2":
                ax.set_xscale("log", base=2)
            else:
                ax.set_xscale("log")
    elif scale == "auto":
        pos = levels[levels > 0]
        if pos.size >= 2 and pos.max() / pos.min() >= 50:
            if (levels <= 0).any():
                ax.set_xscale("symlog", linthresh=float(pos.min()))
            else:
                ax.set_xscale("log")


def _plot_metric(
    ax,
    df: pd.DataFrame,
    metric: str,
    xlabel: str,
    xscale: str | None = None,
    band: bool = False,
    palette: Mapping[str, object] | None = None,
    title: str | None = None,
    xticks: Mapping[float, str] | None = None,
) -> None:
    """One line per task of ``metric`` against level, with interval error bars (or bands)."""
    ylabel = METRICS[metric][3]
    if title:
        ax.set_title(title, fontsize=9)
    if _empty(df):
        _no_data(ax, "no data")
        ax.set_ylabel(ylabel)
        return
    from matplotlib.transforms import ScaledTranslation

    drawn = False
    tasks = sorted(df["task"].astype(str).unique())
    for i, task in enumerate(tasks):
        # dodge the tasks horizontally by a few points so overlapping error bars stay readable
        shift = ax.transData + ScaledTranslation((i - (len(tasks) - 1) / 2) * 0.04, 0, ax.figure.dpi_scale_trans)
        d = df[df["task"].astype(str) == task].sort_values("level")
        x = _num(d, "level")
        y, lo, hi = _interval(d, metric)
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            continue
        colour = palette[task] if palette and task in palette else f"C{i}"
        label = f"{task}{_counts_label(d)}"
        if band:
            ax.plot(x[ok], y[ok], "o-", color=colour, label=label, ms=3)
            bok = ok & np.isfinite(lo) & np.isfinite(hi)
            if bok.any():
                ax.fill_between(x[bok], lo[bok], hi[bok], color=colour, alpha=0.2, lw=0)
        else:
            err_lo = np.where(np.isfinite(lo), np.clip(y - lo, 0, None), 0.0)[ok]
            err_hi = np.where(np.isfinite(hi), np.clip(hi - y, 0, None), 0.0)[ok]
            ax.errorbar(
                x[ok], y[ok], yerr=[err_lo, err_hi], fmt="o-", color=colour, label=label, ms=3, capsize=2, transform=shift
            )
            # a non-data transform does not update the data limits: do it by hand
            ax.update_datalim(np.column_stack([np.r_[x[ok], x[ok]], np.r_[y[ok] - err_lo, y[ok] + err_hi]]))
            ax.autoscale_view()
        # annotate conditions that lost networks
        if "n_excluded" in d.columns:
            exc = _num(d, "n_excluded")
            conv = _num(d, "n_converged")
            tot = _num(d, "n_seeds")
            for xi, yi, e, c, t in zip(x[ok], y[ok], exc[ok], conv[ok], tot[ok]):
                if np.isfinite(e) and e > 0:
                    ax.annotate(f"{int(c)}/{int(t)}", (xi, yi), textcoords="offset points", xytext=(3, 4), fontsize=6, color=colour)
        drawn = True
    if not drawn:
        _no_data(ax, "no finite values\n(too few converged networks?)")
    else:
        _set_xscale(ax, _num(df, "level"), xscale)
        if xticks:
            ax.set_xticks(list(xticks.keys()))
            ax.set_xticklabels(list(xticks.values()))
            ax.set_xlim(min(xticks) - 0.5, max(xticks) + 0.5)
        ax.legend(fontsize=6, frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _task_palette(*frames: pd.DataFrame) -> dict[str, object]:
    tasks: list[str] = []
    for f in frames:
        if not _empty(f) and "task" in f.columns:
            tasks.extend(f["task"].astype(str).unique().tolist())
    tasks = sorted(set(tasks))
    return {t: f"C{i}" for i, t in enumerate(tasks)}


def classical_mds(distances: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Classical (Torgerson) MDS: k x n_components coordinates from a k x k distance matrix.

    Double-centres the squared distances (B = -J D^2 J / 2), keeps the top eigenvectors scaled
    by sqrt(eigenvalue) (negative eigenvalues -> 0). NaN off-diagonal entries are replaced by
    the mean finite distance; the diagonal is 0; the matrix is symmetrised.
    """
    d = np.array(distances, dtype=float)
    k = d.shape[0]
    if k == 0:
        return np.zeros((0, n_components))
    d = np.where(np.isfinite(d), d, d.T)  # a pair given in one order only
    off = d[~np.eye(k, dtype=bool)]
    fill = float(np.nanmean(off)) if np.isfinite(off).any() else 0.0
    d = np.where(np.isfinite(d), d, fill)
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    j = np.eye(k) - np.full((k, k), 1.0 / k)
    b = -0.5 * j @ (d**2) @ j
    w, v = np.linalg.eigh(b)
    order = np.argsort(w)[::-1][:n_components]
    w = np.clip(w[order], 0.0, None)
    coords = v[:, order] * np.sqrt(w)
    if coords.shape[1] < n_components:
        coords = np.pad(coords, ((0, 0), (0, n_components - coords.shape[1])))
    return coords


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------


def _mds_panel(ax, task: str, conds: pd.DataFrame, pairwise: pd.DataFrame | None, summary: pd.DataFrame) -> None:
    from .stats import pair_matrix

    ax.set_title(f"A  {task}: MDS of DSA distances", fontsize=9)
    if _empty(conds) or _empty(pairwise) or not {"condition", "metric", "seed_a", "seed_b", "value"} <= set(pairwise.columns):
        _no_data(ax)
        return
    import matplotlib as mpl

    levels = sorted(conds["level"].astype(float).unique())
    cmap = mpl.colormaps["viridis"]
    colours = {lv: cmap(i / max(1, len(levels) - 1)) for i, lv in enumerate(levels)}
    drawn = False
    for c in conds.sort_values("level").itertuples(index=False):
        sel = pairwise[(pairwise["condition"] == c.condition) & (pairwise["metric"] == "dsa")]
        sel = sel[sel["seed_a"] != sel["seed_b"]]
        m, seeds = pair_matrix(sel)
        if len(seeds) < 2 or not np.isfinite(m).any():
            continue
        xy = classical_mds(m, 2)
        xy = xy - xy.mean(axis=0)
        n_lab = ""
        if not _empty(summary) and "condition" in summary.columns:
            s = summary[summary["condition"] == c.condition]
            if len(s):
                n_lab = f" (n={int(s['n_converged'].iloc[0])}/{int(s['n_seeds'].iloc[0])})"
        ax.scatter(xy[:, 0], xy[:, 1], s=10, color=colours[float(c.level)], alpha=0.8, label=f"{c.level:g}{n_lab}")
        drawn = True
    if not drawn:
        _no_data(ax)
        return
    ax.set_xlabel("MDS 1")
    ax.set_ylabel("MDS 2")
    ax.legend(title="channels", fontsize=6, title_fontsize=7, frameon=False)


def fig3(summary: pd.DataFrame, pairwise: pd.DataFrame, meta: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Task complexity (channels). A: classical MDS of each condition's DSA distance matrix
    (one panel per task, all channel levels overlaid, each embedding centred, coloured by level;
    spread = degeneracy). B-D: dynamics, weights, behavior degeneracy vs channels per task."""
    plt, _ = _plt()
    sub = _select(summary, "channels", "complexity")
    mconds = _select(meta, "channels", "complexity")
    tasks = sorted(set(mconds["task"].astype(str)) | set(sub["task"].astype(str))) if not (_empty(mconds) and _empty(sub)) else []
    n_top = max(1, len(tasks))
    fig = plt.figure(figsize=(max(3.2 * n_top, 10), 6.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    axes_top = np.atleast_1d(top.subplots(1, n_top))
    if not tasks:
        _mds_panel(axes_top[0], "complexity", pd.DataFrame(), None, summary)
    for ax, task in zip(axes_top, tasks):
        conds = mconds[mconds["task"].astype(str) == task] if not _empty(mconds) else pd.DataFrame()
        if _empty(conds) and not _empty(sub):
            conds = sub[sub["task"].astype(str) == task][["condition", "level"]]
        _mds_panel(ax, task, conds, pairwise, summary)
    axes = bottom.subplots(1, 3)
    pal = _task_palette(sub)
    for ax, metric, letter in zip(axes, ("dynamics", "weights", "behavior"), "BCD"):
        _plot_metric(ax, sub, metric, "channels (task complexity)", palette=pal, title=f"{letter}  {_TITLES.get(metric, metric)}")
    fig.suptitle("Task complexity", fontsize=10)
    _save(fig, out_png, out_pdf)


def _two_factor_rows(rows: list[tuple[pd.DataFrame, str, str, dict]], suptitle: str, out_png: Path, out_pdf: Path) -> None:
    """Two rows (one factor each: frame, x label, row title, extra _plot_metric kwargs) by three
    columns (dynamics, weights, behavior)."""
    plt, _ = _plt()
    pal = _task_palette(*(frame for frame, _, _, _ in rows))
    fig, axes = plt.subplots(len(rows), 3, figsize=(11, 3.2 * len(rows)), layout="constrained")
    for i, (frame, xlabel, row_title, extra) in enumerate(rows):
        for j, metric in enumerate(("dynamics", "weights", "behavior")):
            _plot_metric(axes[i, j], frame, metric, xlabel, palette=pal, title=f"{row_title}: {metric}", **extra)
    fig.suptitle(suptitle, fontsize=10)
    _save(fig, out_png, out_pdf)


def fig4(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Memory demand (max delay) and auxiliary output: dynamics, weights, behavior."""
    rows = [
        (_select(summary, "delay", "memory"), "max delay (steps)", "memory demand", {}),
        (_select(summary, "auxiliary", "auxiliary"), "auxiliary output", "auxiliary loss", {"xticks": {0.0: "off", 1.0: "on"}}),
    ]
    _two_factor_rows(rows, "Memory demand and auxiliary loss", out_png, out_pdf)


def fig5(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Feature learning vs task complexity: weight change and kernel alignment (+-1 SE)."""
    plt, _ = _plt()
    sub = _select(summary, "channels", "complexity")
    pal = _task_palette(sub)
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained")
    _plot_metric(axes[0], sub, "weight_change", "channels (task complexity)", palette=pal, title="A  weight change")
    _plot_metric(axes[1], sub, "kernel_alignment", "channels (task complexity)", palette=pal, title="B  kernel alignment")
    fig.suptitle("Feature learning vs task complexity (mean \u00b1 1 SE)", fontsize=10)
    _save(fig, out_png, out_pdf)


def fig6(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Feature-learning strength gamma (log x): degeneracy at three levels, plus relative weight
    change and kernel alignment showing lazy -> rich."""
    plt, _ = _plt()
    sub = _select(summary, "gamma", "gamma")
    pal = _task_palette(sub)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4), layout="constrained")
    for ax, metric, letter in zip(
        axes, ("dynamics", "weights", "behavior", "weight_change_rel", "kernel_alignment"), "ABCDE"
    ):
        _plot_metric(ax, sub, metric, "$\\gamma$ (feature learning)", xscale="log", palette=pal, title=f"{letter}  {_TITLES.get(metric, metric)}")
    fig.suptitle("Feature learning strength $\\gamma$ (\u03bcP)", fontsize=10)
    _save(fig, out_png, out_pdf)


def fig7(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Width sweep (log2 x); weight degeneracy normalised by n^2."""
    plt, _ = _plt()
    sub = _select(summary, "width", "width")
    pal = _task_palette(sub)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
    for ax, metric, letter in zip(axes, ("dynamics", "weights_n2", "behavior"), "ABC"):
        _plot_metric(ax, sub, metric, "width n", xscale="log2", palette=pal, title=f"{letter}  {_TITLES.get(metric, metric)}")
    fig.suptitle("Network width (\u03bcP, fixed $\\gamma$)", fontsize=10)
    _save(fig, out_png, out_pdf)


def fig8(summary: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """L1 and nuclear-norm regularisation: dynamics, weights, behavior with interval bands."""
    bands = {"xscale": "auto", "band": True}
    rows = [
        (_select(summary, "l1", "l1"), "L1 strength $\\lambda$", "L1", bands),
        (_select(summary, "nuclear", "nuclear"), "nuclear-norm strength $\\lambda$", "low rank", bands),
    ]
    _two_factor_rows(rows, "Regularisation (bands: 95% bootstrap interval over networks)", out_png, out_pdf)


def _fmt(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "nan"
    return "nan" if not np.isfinite(x) else f"{x:.2f}"


def fig_effects(effects: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Grid (factor/task rows x level-of-degeneracy columns) of observed vs paper directions,
    coloured by verdict, with rho and its interval."""
    plt, _ = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from .stats import LEVELS_OF_DEGENERACY, PAPER_DIRECTIONS

    need = {"factor", "task", "level_of_degeneracy", "verdict"}
    if _empty(effects) or not need <= set(effects.columns):
        fig, ax = plt.subplots(figsize=(5, 2))
        _no_data(ax)
        ax.set_title("Effects vs paper")
        _save(fig, out_png, out_pdf)
        return
    order = {f: i for i, f in enumerate(PAPER_DIRECTIONS)}
    keys = (
        effects[["experiment", "factor", "task"]].drop_duplicates()
        if "experiment" in effects.columns
        else effects[["factor", "task"]].drop_duplicates().assign(experiment="")
    )
    keys = keys.assign(_o=keys["factor"].map(lambda f: order.get(f, len(order)))).sort_values(["_o", "experiment", "task"])
    rows = list(keys[["experiment", "factor", "task"]].itertuples(index=False, name=None))
    cols = list(LEVELS_OF_DEGENERACY)
    codes = {"agree": 0, "disagree": 1, "inconclusive": 2}
    grid = np.full((len(rows), len(cols)), 2.0)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6), layout="constrained")
    for i, (exp, factor, task) in enumerate(rows):
        for j, lod in enumerate(cols):
            sel = effects[(effects["factor"] == factor) & (effects["task"] == task) & (effects["level_of_degeneracy"] == lod)]
            if "experiment" in effects.columns:
                sel = sel[sel["experiment"] == exp]
            if not len(sel):
                ax.text(j, i, "no data", ha="center", va="center", fontsize=6, color="0.3")
                continue
            r = sel.iloc[0]
            grid[i, j] = codes.get(str(r["verdict"]), 2)
            obs = _ARROWS.get(str(r.get("observed", "")), "?")
            pap = _ARROWS.get(str(r.get("paper", "")), "-")
            ax.text(
                j,
                i,
                f"obs {obs}  paper {pap}\n\u03c1={_fmt(r.get('rho'))} [{_fmt(r.get('rho_lo'))}, {_fmt(r.get('rho_hi'))}]",
                ha="center",
                va="center",
                fontsize=6.5,
            )
    cmap = ListedColormap([_VERDICT_COLOURS["agree"], _VERDICT_COLOURS["disagree"], _VERDICT_COLOURS["inconclusive"]])
    ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=2.5, aspect="auto", alpha=0.6)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{f} / {t}" for _, f, t in rows], fontsize=7)
    ax.grid(False)
    ax.xaxis.tick_top()
    vc = effects["verdict"].value_counts()
    handles = [Patch(color=_VERDICT_COLOURS[k], alpha=0.6, label=f"{k} ({int(vc.get(k, 0))})") for k in codes]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=7, frameon=False)
    ax.set_title("Direction of degeneracy as the factor grows: observed vs paper", fontsize=9)
    _save(fig, out_png, out_pdf)


def fig_training_curves(
    logs: pd.DataFrame,
    out_png: Path,
    out_pdf: Path,
    threshold: float | Mapping[str, float] | None = None,
) -> None:
    """Training loss vs steps, one thin line per network, one colour per condition (log y).

    ``threshold``: a float (one dashed line) or {condition: threshold} (a line per condition).
    """
    plt, _ = _plt()
    from matplotlib.collections import LineCollection

    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    need = {"condition", "seed", "steps", "loss"}
    if _empty(logs) or not need <= set(logs.columns):
        _no_data(ax)
        ax.set_title("Training curves")
        _save(fig, out_png, out_pdf)
        return
    conds = sorted(logs["condition"].astype(str).unique())
    n_nets = 0
    ymin, ymax, xmax = np.inf, 0.0, 0.0
    for i, cond in enumerate(conds):
        colour = f"C{i % 10}"
        d = logs[logs["condition"].astype(str) == cond]
        segs = []
        for _, g in d.groupby("seed", sort=True):
            g = g.sort_values("steps")
            x = _num(g, "steps")
            y = _num(g, "loss")
            ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
            if ok.sum() >= 1:
                pts = np.column_stack([x[ok], y[ok]])
                if len(pts) == 1:
                    ax.plot(pts[:, 0], pts[:, 1], ".", color=colour, ms=2)
                segs.append(pts)
                ymin, ymax, xmax = min(ymin, y[ok].min()), max(ymax, y[ok].max()), max(xmax, x[ok].max())
        if segs:
            ax.add_collection(LineCollection(segs, colors=[colour], linewidths=0.6, alpha=0.5))
            ax.plot([], [], color=colour, label=f"{cond} ({len(segs)} nets)")
            n_nets += len(segs)
    if n_nets == 0:
        _no_data(ax, "no finite positive losses")
        _save(fig, out_png, out_pdf)
        return
    if threshold is not None:
        items = threshold.items() if isinstance(threshold, Mapping) else [("threshold", threshold)]
        for k, (name, thr) in enumerate(items):
            if thr is not None and np.isfinite(thr) and thr > 0:
                ax.axhline(thr, ls="--", lw=0.8, color="k", alpha=0.6, label="threshold" if k == 0 else None)
                ymin = min(ymin, thr)
                ymax = max(ymax, thr)
    ax.set_yscale("log")
    ax.set_xlim(0, max(xmax, 1.0) * 1.02)
    ax.set_ylim(ymin / 1.5, ymax * 1.5)
    ax.set_xlabel("training steps")
    ax.set_ylabel("training MSE (epoch mean)")
    ax.set_title(f"Training curves ({n_nets} networks, {len(conds)} conditions)", fontsize=9)
    if len(conds) <= 15:
        ax.legend(fontsize=6, frameon=False, loc="upper right")
    _save(fig, out_png, out_pdf)


def fig_example_trial(trial: pd.DataFrame, out_png: Path, out_pdf: Path, max_conditions: int = 6) -> None:
    """Example trial: inputs (top) and targets (dashed) vs network outputs (solid) per channel;
    one column per condition (at most ``max_conditions``)."""
    plt, _ = _plt()
    need = {"condition", "time", "channel", "kind", "value"}
    if _empty(trial) or not need <= set(trial.columns):
        fig, ax = plt.subplots(figsize=(5, 2.5))
        _no_data(ax)
        ax.set_title("Example trial")
        _save(fig, out_png, out_pdf)
        return
    conds = sorted(trial["condition"].astype(str).unique())[:max_conditions]
    fig, axes = plt.subplots(2, len(conds), figsize=(4.2 * len(conds), 4.8), squeeze=False, sharex="col", layout="constrained")
    for j, cond in enumerate(conds):
        d = trial[trial["condition"].astype(str) == cond]
        ax_in, ax_out = axes[0, j], axes[1, j]
        ax_in.set_title(cond, fontsize=8)
        inp = d[d["kind"] == "input"]
        if len(inp):
            for ch, g in inp.groupby("channel", sort=True):
                g = g.sort_values("time")
                ax_in.plot(_num(g, "time"), _num(g, "value"), lw=0.9, label=f"in {ch}")
            ax_in.set_ylabel("input")
        else:
            _no_data(ax_in, "no inputs")
        out = d[d["kind"].isin(["target", "output"])]
        if len(out):
            for k, (ch, g) in enumerate(out.groupby("channel", sort=True)):
                colour = f"C{k % 10}"
                for kind, ls in (("target", "--"), ("output", "-")):
                    gg = g[g["kind"] == kind].sort_values("time")
                    if len(gg):
                        ax_out.plot(_num(gg, "time"), _num(gg, "value"), ls=ls, color=colour, lw=1.0, label=f"{kind} {ch}")
            ax_out.set_ylabel("target (--) / output (-)")
            if out["channel"].nunique() <= 6:
                ax_out.legend(fontsize=6, frameon=False, ncol=2)
        else:
            _no_data(ax_out, "no targets/outputs")
        ax_out.set_xlabel("time step")
    fig.suptitle("Example trial", fontsize=10)
    _save(fig, out_png, out_pdf)


#: Figure name -> function, for the workflow (signatures in the module docstring).
FIGURES: dict[str, Callable[..., None]] = {
    "fig3": fig3,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": fig8,
    "effects": fig_effects,
    "training_curves": fig_training_curves,
    "example_trial": fig_example_trial,
}
