"""One degeneracy measure against a factor's levels, one line per task, and the shared legend.

A panel states everything it leaves out: each (task, level) without a value is listed under the
x axis with the reason ("sine at 2 channels: 1 of 5 networks converged, not shown"). Optional
summary columns are drawn when present: the within-network DSA null as a band on dynamics
panels, the initial-matrix distance as a dotted baseline on weight panels, and hollow markers
for conditions flagged ``insufficient``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from .base import empty, flag, no_data, num
from .labels import axis_label, level_phrase, parameter_of, set_level_ticks, task_name

__all__ = ["METRICS", "Metric", "plot_metric", "task_palette", "task_labels", "x_label", "shared_legend", "wrap_note"]


@dataclass(frozen=True)
class Metric:
    """Summary columns of one measure: value, 95% interval (``lo``/``hi``) or standard error
    (``se``), y label, panel title, an optional baseline column (dotted line) and whether the
    within-network DSA null band belongs on the panel."""

    value: str
    lo: str = ""
    hi: str = ""
    se: str = ""
    label: str = ""
    title: str = ""
    baseline: str = ""
    null: bool = False


METRICS: dict[str, Metric] = {
    "dynamics": Metric("dsa_mean", "dsa_lo", "dsa_hi", label="mean pairwise DSA distance", title="dynamics", null=True),
    "weights": Metric(
        "weight_mean",
        "weight_lo",
        "weight_hi",
        label="mean aligned weight distance\n(Frobenius)",
        title="weights",
        baseline="weight_aligned_init_mean",
    ),
    "weights_n2": Metric(
        "weight_per_n2_mean",
        "weight_per_n2_lo",
        "weight_per_n2_hi",
        label="aligned weight distance / n$^2$",
        title="weights / n$^2$",
        baseline="weight_aligned_init_per_n2_mean",
    ),
    "weights_scale_free": Metric(
        "weight_scale_free_mean",
        "weight_scale_free_lo",
        "weight_scale_free_hi",
        label="aligned weight distance /\nRMS norm of the two matrices",
        title="weights, scale-free",
        baseline="weight_scale_free_init_mean",
    ),
    "behavior": Metric(
        "behavior_sd", "behavior_sd_lo", "behavior_sd_hi", label="SD of OOD MSE over networks", title="behavior"
    ),
    "representations": Metric(
        "svcca_mean",
        "svcca_lo",
        "svcca_hi",
        label="mean pairwise SVCCA distance\n(1 - mean canonical correlation)",
        title="representations",
    ),
    "weight_change": Metric(
        "weight_change_mean", se="weight_change_se", label="weight change $\\|W_T-W_0\\|_F$", title="weight change"
    ),
    "weight_change_rel": Metric(
        "weight_change_rel_mean",
        se="weight_change_rel_se",
        label="relative weight change",
        title="relative weight change",
    ),
    "kernel_alignment": Metric(
        "kernel_alignment_mean",
        se="kernel_alignment_se",
        label="kernel alignment\n(lower = richer)",
        title="kernel alignment",
    ),
}

#: What a factor is called when its tasks vary different knobs on one axis.
FACTOR_NOUNS = {"channels": "task complexity"}

#: Keys :func:`plot_metric` returns for the extra artists it drew (used by :func:`shared_legend`).
EXTRAS = ("null_band", "null_interval", "baseline", "insufficient", "lost")


def task_palette(*frames: pd.DataFrame) -> dict[str, str]:
    """One colour per task over all ``frames`` (sorted task names -> C0, C1, ...)."""
    tasks: set[str] = set()
    for f in frames:
        if not empty(f) and "task" in f.columns:
            tasks.update(f["task"].astype(str).unique().tolist())
    return {t: f"C{i % 10}" for i, t in enumerate(sorted(tasks))}


def _parameters(df: pd.DataFrame) -> dict[str, str | None]:
    factor = str(df["factor"].iloc[0]) if "factor" in df.columns and len(df) else ""
    return {t: parameter_of(df, factor, t) for t in sorted(df["task"].astype(str).unique())}


def _factor(df: pd.DataFrame) -> str:
    return str(df["factor"].iloc[0]) if "factor" in df.columns and len(df) else ""


def x_label(df: pd.DataFrame) -> str:
    """The x label of a factor's panels: the knob's name when every task varies the same knob,
    else the knobs joined (the legend then says which task uses which)."""
    if empty(df):
        return ""
    factor = _factor(df)
    labels = sorted({axis_label(factor, p) for p in _parameters(df).values()})
    return labels[0] if len(labels) == 1 else f"{FACTOR_NOUNS.get(factor, factor)} (each task's knob: legend)"


def task_labels(*frames: pd.DataFrame) -> dict[str, str]:
    """Legend text per task: its name, plus "x: <knob>" when the tasks of a frame vary
    different knobs on the same axis (path integration's 2-D vs 3-D beside channel counts)."""
    out: dict[str, str] = {}
    for df in frames:
        if empty(df) or "task" not in df.columns:
            continue
        factor = _factor(df)
        params = _parameters(df)
        mixed = len({axis_label(factor, p) for p in params.values()}) > 1
        for task, p in params.items():
            label = task_name(task) + (f" (x: {axis_label(factor, p)})" if mixed else "")
            out.setdefault(task, label)
    return out


def wrap_note(prefix: str, items: list[str], width: int = 58) -> str:
    """``prefix`` + items joined by "; ", wrapped to lines of ``width`` characters ("" if none)."""
    if not items:
        return ""
    return "\n".join(textwrap.wrap(prefix + "; ".join(items), width=width, break_long_words=False))


def why_missing(row: Mapping, metric_needs_pairs: bool = True) -> str:
    """Reason a condition has no value: too few converged networks, an ``insufficient`` reason,
    or the summary's ``note``."""
    conv, tot = row.get("n_converged"), row.get("n_seeds")
    try:
        conv_i, tot_i = int(conv), int(tot)
    except (TypeError, ValueError):
        conv_i = tot_i = None
    if conv_i is not None and conv_i < (2 if metric_needs_pairs else 1):
        return f"{conv_i} of {tot_i} networks converged"
    for key in ("insufficient_reason", "insufficient", "reason", "note"):
        text = row.get(key)
        if isinstance(text, str) and text.strip():
            return text.strip()[:80]
    return "no value"


def _interval(d: pd.DataFrame, m: Metric) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = num(d, m.value)
    if m.se:
        se = num(d, m.se)
        return y, y - se, y + se
    return y, num(d, m.lo), num(d, m.hi)


def _set_xscale(ax, levels: np.ndarray, scale: str | None) -> None:
    levels = np.asarray(levels, dtype=float)
    levels = levels[np.isfinite(levels)]
    pos = levels[levels > 0]
    if scale == "auto":
        scale = "log" if pos.size >= 2 and pos.max() / pos.min() >= 50 else None
    if scale in ("log", "log2") and pos.size:
        if (levels <= 0).any():
            ax.set_xscale("symlog", linthresh=float(pos.min()), linscale=1.0)
        else:
            ax.set_xscale("log", base=2 if scale == "log2" else 10)


def plot_metric(
    ax,
    df: pd.DataFrame,
    metric: str,
    palette: Mapping[str, str],
    title: str | None = None,
    xscale: str | None = None,
    band: bool = False,
) -> set[str]:
    """Draw ``METRICS[metric]`` against ``level``, one line per task, on ``ax``.

    Points are means with their 95% bootstrap interval (error bars, or a shaded band with
    ``band=True``); ``se`` metrics show +-1 standard error. Levels sit at exact ticks; conditions
    that lost networks carry "converged/trained"; levels without a value are named under the axis.
    Returns the keys of :data:`EXTRAS` that were drawn (for :func:`shared_legend`).
    """
    from matplotlib.transforms import ScaledTranslation

    m = METRICS[metric]
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    ax.set_ylabel(m.label)
    if empty(df):
        no_data(ax, "no data\n(experiment not in this study)")
        return set()
    factor = _factor(df)
    params = _parameters(df)
    xlabel = x_label(df)
    extras: set[str] = set()
    dropped: list[str] = []
    tasks = sorted(params)
    drawn = False
    for i, task in enumerate(tasks):
        d = df[df["task"].astype(str) == task].sort_values("level").drop_duplicates("condition")
        colour = palette.get(task, f"C{i % 10}")
        x = num(d, "level")
        y, lo, hi = _interval(d, m)
        ok = np.isfinite(x) & np.isfinite(y)
        for r, good in zip(d.to_dict("records"), ok):
            if not good:
                dropped.append(
                    f"{task_name(task)} at {level_phrase(factor, params[task], r['level'])}: {why_missing(r)}"
                )
        if m.null and "dsa_null_mean" in d.columns:
            extras |= _null_band(ax, x, d, colour)
        if m.baseline and m.baseline in d.columns:
            b = num(d, m.baseline)
            bok = np.isfinite(x) & np.isfinite(b)
            if bok.any():
                ax.plot(x[bok], b[bok], ls=":", marker="x", ms=3, lw=1.0, color=colour)
                extras.add("baseline")
        if not ok.any():
            continue
        drawn = True
        insufficient = flag(d, "insufficient") & ok
        face = np.where(insufficient, "white", colour)
        if band:
            ax.plot(x[ok], y[ok], "-", color=colour, lw=1.2)
            bok = ok & np.isfinite(lo) & np.isfinite(hi)
            if bok.any():
                ax.fill_between(x[bok], lo[bok], hi[bok], color=colour, alpha=0.2, lw=0)
            ax.scatter(x[ok], y[ok], s=14, c=list(face[ok]), edgecolors=colour, zorder=3)
        else:
            # dodge the tasks by a few points so that overlapping error bars stay readable
            dx = (i - (len(tasks) - 1) / 2) * 0.04
            shift = ax.transData + ScaledTranslation(dx, 0, ax.figure.dpi_scale_trans)
            err_lo = np.where(np.isfinite(lo), np.clip(y - lo, 0, None), 0.0)[ok]
            err_hi = np.where(np.isfinite(hi), np.clip(hi - y, 0, None), 0.0)[ok]
            ax.errorbar(x[ok], y[ok], yerr=[err_lo, err_hi], fmt="-", color=colour, lw=1.2, capsize=2, transform=shift)
            ax.scatter(x[ok], y[ok], s=14, c=list(face[ok]), edgecolors=colour, zorder=3, transform=shift)
            # an offset transform does not update the data limits: do it by hand
            ax.update_datalim(np.column_stack([np.r_[x[ok], x[ok]], np.r_[y[ok] - err_lo, y[ok] + err_hi]]))
        if insufficient.any():
            extras.add("insufficient")
        conv, tot = num(d, "n_converged"), num(d, "n_seeds")
        for xi, yi, c, t in zip(x[ok], y[ok], conv[ok], tot[ok]):
            if np.isfinite(c) and np.isfinite(t) and c < t:
                ax.annotate(
                    f"{int(c)}/{int(t)}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=6, color=colour
                )
                extras.add("lost")
    ax.autoscale_view()
    if not drawn:
        no_data(ax, "no finite values")
    else:
        _set_xscale(ax, num(df, "level"), xscale)
        ax.ticklabel_format(axis="y", useOffset=False)
        shared = {p for p in params.values()}
        set_level_ticks(ax, num(df, "level"), shared.pop() if len(shared) == 1 else None)
    note = wrap_note("not shown: ", dropped, width=44)
    ax.set_xlabel(xlabel + ("\n" + note if note else ""), fontsize=8)
    return extras


def _null_band(ax, x: np.ndarray, d: pd.DataFrame, colour: str) -> set[str]:
    """Within-network DSA null of one task: its 95% interval when the summary has
    ``dsa_null_lo``/``dsa_null_hi``, else the region from 0 up to its mean; a dashed line at
    the mean."""
    mean = num(d, "dsa_null_mean")
    lo, hi = num(d, "dsa_null_lo"), num(d, "dsa_null_hi")
    has_interval = bool((np.isfinite(lo) & np.isfinite(hi)).any())
    if not has_interval:
        lo, hi = np.zeros_like(mean), mean
    ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return set()
    xs, los, his = x[ok], lo[ok], hi[ok]
    if xs.size == 1:  # a band needs width: half a tick either side
        xs, los, his = np.r_[xs * 0.9, xs * 1.1] if xs[0] else np.r_[-0.2, 0.2], np.r_[los, los], np.r_[his, his]
    ax.fill_between(xs, los, his, color=colour, alpha=0.12, lw=0, hatch="///", edgecolor=colour)
    mok = np.isfinite(x) & np.isfinite(mean)
    ax.plot(x[mok], mean[mok], ls="--", lw=0.8, color=colour, alpha=0.8)
    return {"null_interval" if has_interval else "null_band"}


def shared_legend(container, palette: Mapping[str, str], labels: Mapping[str, str], extras: set[str]) -> None:
    """One legend for all panels of ``container`` (a figure or subfigure), outside the axes on
    the right: the task colours, then one entry per extra artist that some panel drew."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=palette[t], marker="o", ms=4, lw=1.2, label=labels.get(t, task_name(t)))
        for t in sorted(palette)
    ]
    grey = "0.45"
    if "null_band" in extras:
        handles.append(
            Patch(
                facecolor=grey,
                alpha=0.25,
                hatch="///",
                label="within-network DSA null\n(dashed: mean; shaded: 0 to mean)",
            )
        )
    if "null_interval" in extras:
        handles.append(
            Patch(
                facecolor=grey,
                alpha=0.25,
                hatch="///",
                label="within-network DSA null\n(dashed: mean; shaded: 95% interval)",
            )
        )
    if "baseline" in extras:
        handles.append(
            Line2D([], [], color=grey, ls=":", marker="x", ms=4, label="same distance between the\ninitial matrices")
        )
    if "insufficient" in extras:
        handles.append(
            Line2D(
                [],
                [],
                color=grey,
                marker="o",
                ms=4,
                mfc="white",
                ls="",
                label="open marker: too few networks\nfor a verdict",
            )
        )
    if "lost" in extras:
        handles.append(Line2D([], [], ls="", label="c/n: c of n trained networks\nconverged (only where c < n)"))
    if handles:
        container.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False)
