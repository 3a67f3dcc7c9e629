"""Example trial: what a converged network receives, what it should answer and what it answers,
with the time steps the loss counts (the mask) shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import empty, flag, no_data, num, pyplot, save
from .panels import wrap_note

__all__ = ["fig_example_trial", "pick_converged", "mask_spans"]

_NEED = {"condition", "time", "channel", "kind", "value"}


def _status_table(trial: pd.DataFrame, networks: pd.DataFrame | None) -> pd.DataFrame:
    """(condition, seed, converged) per network of ``trial``; converged is True/False, or None
    when nothing says."""
    keys = trial[["condition"] + (["seed"] if "seed" in trial.columns else [])].drop_duplicates()
    keys = keys.assign(condition=keys["condition"].astype(str))
    if "seed" not in keys.columns:
        keys = keys.assign(seed=pd.NA)
    conv: list[object] = []
    for r in keys.itertuples(index=False):
        rows = trial[trial["condition"].astype(str) == r.condition]
        if "seed" in trial.columns:
            rows = rows[rows["seed"] == r.seed]
        value: object = None
        if "converged" in rows.columns and rows["converged"].notna().any():
            value = bool(flag(rows.iloc[:1], "converged")[0])
        elif (
            not empty(networks) and {"condition", "seed", "converged"} <= set(networks.columns) and not pd.isna(r.seed)
        ):
            n = networks[(networks["condition"].astype(str) == r.condition) & (networks["seed"] == r.seed)]
            if len(n):
                value = bool(flag(n.iloc[:1], "converged")[0])
        elif "status" in rows.columns and rows["status"].notna().any():
            value = str(rows["status"].iloc[0]) == "converged"
        conv.append(value)
    return keys.assign(converged=conv)


def pick_converged(
    trial: pd.DataFrame, networks: pd.DataFrame | None = None
) -> tuple[list[tuple[str, object, object]], list[str]]:
    """Choose one network per condition of ``trial``: the lowest seed known to have converged.

    Convergence is read from the trial table's ``converged`` (or ``status``) column, else from
    ``networks`` (columns condition, seed, converged). Returns ([(condition, seed, converged)],
    [sentences about conditions left out]); seed is None when the table has no ``seed`` column and
    converged is None when nothing records it (such a network is shown and labelled so).
    """
    status = _status_table(trial, networks)
    shown, dropped = [], []
    for cond, g in status.groupby("condition", sort=True):
        g = g.sort_values("seed") if g["seed"].notna().all() else g
        good = g[g["converged"].map(lambda v: v is True)]
        unknown = g[g["converged"].map(lambda v: v is None)]
        if len(good):
            r = good.iloc[0]
            shown.append((str(cond), r["seed"], True))
        elif len(unknown):
            r = unknown.iloc[0]
            shown.append((str(cond), r["seed"], None))
        else:
            seeds = ", ".join(str(s) for s in g["seed"].tolist() if not pd.isna(s))
            dropped.append(f"{cond} (seed{'s' if ',' in seeds else ''} {seeds or '?'} did not converge)")
    return shown, dropped


def mask_spans(time: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """Contiguous runs of time steps where ``mask`` > 0, as (start, end) in time-step units
    (each step covers [t - 0.5, t + 0.5])."""
    order = np.argsort(time)
    t, m = np.asarray(time, dtype=float)[order], np.asarray(mask, dtype=float)[order] > 0
    spans, start, prev = [], None, None
    for ti, mi in zip(t, m):
        if mi and start is None:
            start = ti
        if not mi and start is not None:
            spans.append((start - 0.5, prev + 0.5))
            start = None
        prev = ti
    if start is not None:
        spans.append((start - 0.5, t[-1] + 0.5))
    return spans


def _mask_of(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(time, mask) with the mask of any output channel, from ``kind == "mask"`` rows or a
    ``mask`` column; None when the table records no mask."""
    rows = d[d["kind"].astype(str) == "mask"]
    if len(rows):
        g = rows.groupby("time")["value"].max()
    elif "mask" in d.columns and d["mask"].notna().any():
        g = d[d["kind"].astype(str).isin(["target", "output"])].groupby("time")["mask"].max()
    else:
        return None
    return g.index.to_numpy(dtype=float), pd.to_numeric(g, errors="coerce").fillna(0).to_numpy(dtype=float)


def fig_example_trial(
    trial: pd.DataFrame,
    out_png: Path,
    out_pdf: Path,
    max_conditions: int = 6,
    networks: pd.DataFrame | None = None,
) -> None:
    """One probe trial per condition from a converged network: inputs (top) and targets (dashed)
    against outputs (solid) per output channel (bottom), the time steps the loss counts shaded.

    Networks known not to have converged are left out and named; networks whose convergence is
    not recorded are shown and labelled "convergence not recorded". At most ``max_conditions``
    columns. ``networks`` (optional) supplies convergence when the trial table has none.
    Returns None.
    """
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    if empty(trial) or not _NEED <= set(trial.columns):
        fig, ax = plt.subplots(figsize=(5, 2.5))
        no_data(ax)
        ax.set_title("Example trial")
        save(fig, out_png, out_pdf)
        return
    shown, dropped = pick_converged(trial, networks)
    if len(shown) > max_conditions:
        dropped.append(f"{len(shown) - max_conditions} more condition(s) beyond max_conditions={max_conditions}")
        shown = shown[:max_conditions]
    width_in = 4.2 * max(1, min(len(shown), max_conditions)) + 1.5
    note = wrap_note("not shown: ", dropped, width=int(11 * width_in))
    if not shown:
        fig, ax = plt.subplots(figsize=(6, 2.5))
        no_data(ax, "no converged network to show\n" + note)
        ax.set_title("Example trial")
        save(fig, out_png, out_pdf)
        return
    fig, axes = plt.subplots(2, len(shown), figsize=(width_in, 5.4), squeeze=False, sharex="col", layout="constrained")
    any_mask, no_mask = False, False
    for j, (cond, seed, converged) in enumerate(shown):
        d = trial[trial["condition"].astype(str) == cond]
        if seed is not None and not pd.isna(seed) and "seed" in d.columns:
            d = d[d["seed"] == seed]
        ax_in, ax_out = axes[0, j], axes[1, j]
        state = "converged" if converged else "convergence not recorded"
        seed_text = f"seed {seed}, " if seed is not None and not pd.isna(seed) else ""
        ax_in.set_title(f"{cond}\n({seed_text}{state})", fontsize=8)
        inp = d[d["kind"].astype(str) == "input"]
        if len(inp):
            for k, (ch, g) in enumerate(inp.groupby("channel", sort=True)):
                g = g.sort_values("time")
                ax_in.plot(num(g, "time"), num(g, "value"), lw=0.9, color=f"C{k % 10}")
        else:
            no_data(ax_in, "no inputs")
        ax_in.set_ylabel("input (colour: input channel)", fontsize=7)
        mask = _mask_of(d)
        if mask is not None:
            spans = mask_spans(*mask)
            if len(spans) == 1 and spans[0][0] <= mask[0].min() - 0.5 and spans[0][1] >= mask[0].max() + 0.5:
                ax_out.text(
                    0.01,
                    1.01,
                    "loss counts every time step",
                    transform=ax_out.transAxes,
                    fontsize=6,
                    color="0.3",
                    va="bottom",
                )
            else:
                for a, b in spans:
                    for ax in (ax_in, ax_out):
                        ax.axvspan(a, b, color="0.6", alpha=0.25, lw=0)
                any_mask = True
        else:
            no_mask = True
        out = d[d["kind"].astype(str).isin(["target", "output"])]
        if len(out):
            for k, (ch, g) in enumerate(out.groupby("channel", sort=True)):
                for kind, ls in (("target", "--"), ("output", "-")):
                    gg = g[g["kind"].astype(str) == kind].sort_values("time")
                    if len(gg):
                        ax_out.plot(num(gg, "time"), num(gg, "value"), ls=ls, color=f"C{k % 10}", lw=1.0)
        else:
            no_data(ax_out, "no targets or outputs")
        ax_out.set_ylabel("target (dashed), output (solid)\ncolour: output channel", fontsize=7)
        ax_out.set_xlabel("time step")
        ax_out.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles = [
        Line2D([], [], color="k", ls="--", label="target"),
        Line2D([], [], color="k", ls="-", label="network output"),
    ]
    if any_mask:
        handles.append(Patch(color="0.6", alpha=0.25, label="time steps the loss counts\n(response window)"))
    if no_mask:
        handles.append(Patch(color="white", label="(loss mask not recorded)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False)
    if all(c is True for _, _, c in shown):
        title = "Example trial of a converged network per condition"
    else:
        title = "Example trial per condition (convergence not recorded for some: see column titles)"
    fig.suptitle(title + ("\n" + note if note else ""), fontsize=9)
    save(fig, out_png, out_pdf)
