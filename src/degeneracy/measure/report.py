"""Files of a ``measure`` run: Parquet tables, figures and a short Markdown report.

Written into one folder (every file atomically): ``networks.parquet``, ``pairwise.parquet``,
``distances.parquet``, ``summary.parquet``, ``effects.parquet`` (ordered groups only),
``mds_dsa.png`` (classical MDS of the DSA distances, coloured by group),
``distances.png`` (one heatmap per distance metric, networks sorted by group) and ``report.md``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .core import MeasureResult

__all__ = ["write_outputs", "fig_mds", "fig_heatmaps", "report_markdown"]

_LABELS = {
    "dsa": "DSA distance",
    "svcca": "SVCCA distance",
    "weight_aligned": "weight distance (aligned)",
}


def _savefig(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from degeneracy.io import _atomic_write  # the project's one atomic writer (umask-aware)

    try:
        _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight"))
    finally:
        plt.close(fig)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(order: list[str]) -> dict[str, tuple]:
    plt = _plt()
    cmap = plt.get_cmap("viridis" if len(order) > 10 else "tab10")
    n = max(1, len(order) - 1) if len(order) > 10 else 10
    return {g: cmap(i / n if len(order) > 10 else i % 10) for i, g in enumerate(order)}


def fig_mds(D: np.ndarray, groups: list[str], order: list[str], path: str | Path, title: str = "DSA distances") -> None:
    """Classical MDS (2-D) of a k x k distance matrix, one colour per group; writes a PNG."""
    from degeneracy.metrics.mds import classical_mds

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    if D is None or not np.isfinite(D).all() or D.shape[0] < 2:
        ax.text(0.5, 0.5, "no finite distances", ha="center", va="center", transform=ax.transAxes)
    else:
        X = classical_mds(D, 2)
        col = _colours(order)
        for g in order:
            idx = [i for i, x in enumerate(groups) if x == g]
            ax.scatter(
                X[idx, 0], X[idx, 1], color=col[g], label=f"{g} (n={len(idx)})", s=28, edgecolor="k", linewidth=0.4
            )
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.set_xlabel("MDS 1")
        ax.set_ylabel("MDS 2")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"MDS of {title}", fontsize=9)
    _savefig(fig, Path(path))


def fig_heatmaps(
    matrices: dict[str, np.ndarray],
    groups: list[str],
    order: list[str],
    path: str | Path,
    names: list[str] | None = None,
) -> None:
    """One heatmap per distance metric (networks sorted by group, group borders drawn); PNG."""
    plt = _plt()
    shown = [m for m in ("dsa", "svcca", "weight_aligned") if m in matrices]
    perm = sorted(range(len(groups)), key=lambda i: (order.index(groups[i]), i))
    fig, axes = plt.subplots(
        1, max(1, len(shown)), figsize=(4.2 * max(1, len(shown)), 3.6), squeeze=False, layout="constrained"
    )
    labels = [names[i] for i in perm] if names is not None and len(perm) <= 24 else None
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no distances computed", ha="center", va="center")
    bounds = np.cumsum([groups.count(g) for g in order])[:-1] - 0.5
    for ax, m in zip(axes[0], shown):
        D = np.asarray(matrices[m], dtype=float)[np.ix_(perm, perm)].copy()
        np.fill_diagonal(D, np.nan)  # the zero diagonal would set the colour scale
        im = ax.imshow(np.ma.masked_invalid(D), cmap="magma_r", interpolation="nearest")
        for b in bounds:
            ax.axhline(b, color="w", lw=1.0)
            ax.axvline(b, color="w", lw=1.0)
        ax.set_title(_LABELS.get(m, m), fontsize=9)
        ax.set_xlabel("network (sorted by group)", fontsize=8)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)), labels, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    _savefig(fig, Path(path))


def _fmt(x, digits: int = 3) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "-" if not math.isfinite(x) else f"{x:.{digits}g}"


def _interval(r, col: str) -> str:
    mean = getattr(r, f"{col}_mean", math.nan)
    lo, hi = getattr(r, f"{col}_lo", math.nan), getattr(r, f"{col}_hi", math.nan)
    return f"{_fmt(mean)} [{_fmt(lo)}, {_fmt(hi)}]" if math.isfinite(float(mean)) else "-"


def report_markdown(result: "MeasureResult", figures: list[str]) -> str:
    """A short Markdown report of a :class:`~degeneracy.measure.core.MeasureResult`."""
    s = result.settings
    nets = result.networks
    lines = ["# Degeneracy of the measured networks", ""]
    lines.append(
        f"{len(nets)} networks in {len(s['levels'])} group(s) (group key `{s['group_by']}`"
        + (", ordered" if s["ordered"] else "")
        + f"); metrics: {', '.join(s['metrics']) or 'none'}."
    )
    d = s["dsa"]
    lines.append(
        f"DSA: rank {d['rank']}, {d['n_delays']} delays x interval {d['delay_interval']}, mode {d['mode']}. "
        f"SVCCA keeps {s['svcca']['variance']:.0%} of the variance. Intervals: 95% bootstrap over networks "
        f"({s['aggregate']['n_boot']} replicates)."
    )
    lines += ["", "## Networks", "", "| name | group | units | trials x time | OOD loss |", "|---|---|---|---|---|"]
    for r in nets.itertuples(index=False):
        lines.append(f"| {r.name} | {r.group} | {r.n_units} | {r.n_trials} x {r.n_time} | {_fmt(r.ood_mse)} |")
    lines += [
        "",
        "## Degeneracy per group",
        "",
        "Behavior: SD of the OOD loss; dynamics: mean pairwise DSA (noise floor: two halves of one "
        "network's trials); weights: mean permutation-aligned distance; representations: mean pairwise SVCCA.",
        "",
        "| group | n | behavior SD | DSA | DSA null | weights | SVCCA |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result.summary.itertuples(index=False):
        beh = (
            f"{_fmt(r.behavior_sd)} [{_fmt(r.behavior_sd_lo)}, {_fmt(r.behavior_sd_hi)}]"
            if math.isfinite(r.behavior_sd)
            else "-"
        )
        lines.append(
            f"| {r.condition} | {r.n_converged} | {beh} | {_interval(r, 'dsa')} | {_fmt(r.dsa_null_mean)} | "
            f"{_interval(r, 'weight')} | {_interval(r, 'svcca')} |"
        )
    if result.effects is not None and len(result.effects):
        lines += [
            "",
            "## Trend across groups",
            "",
            "Spearman rho between the group level and each group's degeneracy, 95% bootstrap interval; "
            "`up`/`down` when the interval excludes 0.",
            "",
            "| level of degeneracy | metric | groups | rho [95% CI] | observed | note |",
            "|---|---|---|---|---|---|",
        ]
        for r in result.effects.itertuples(index=False):
            lines.append(
                f"| {r.level_of_degeneracy} | {r.metric} | {r.n_levels} | {_fmt(r.rho, 2)} [{_fmt(r.rho_lo, 2)}, "
                f"{_fmt(r.rho_hi, 2)}] | {r.observed} | {str(r.reason).replace('|', '/')} |"
            )
    if figures:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes]
    lines += [
        "",
        "Tables: `networks.parquet`, `pairwise.parquet` (pairs within groups, study schema), "
        "`distances.parquet` (all pairs), `summary.parquet`"
        + (", `effects.parquet`" if result.effects is not None else "")
        + " (docs/measure.md).",
        "",
    ]
    return "\n".join(lines)


def write_outputs(result: "MeasureResult", out: str | Path, figures: bool = True) -> list[Path]:
    """Write every table, the figures (``figures=True``) and ``report.md`` into ``out``;
    returns the written paths."""
    from degeneracy.io import atomic_write_parquet, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        atomic_write_parquet(result.networks, out / "networks.parquet"),
        atomic_write_parquet(result.pairwise, out / "pairwise.parquet"),
        atomic_write_parquet(result.distances, out / "distances.parquet"),
        atomic_write_parquet(result.summary, out / "summary.parquet"),
    ]
    if result.effects is not None:
        written.append(atomic_write_parquet(result.effects, out / "effects.parquet"))
    figs: list[str] = []
    if figures:
        groups = result.networks["group"].astype(str).tolist()
        order = list(result.settings["levels"])
        if "dsa" in result.matrices:
            fig_mds(result.matrices["dsa"], groups, order, out / "mds_dsa.png")
            figs.append("mds_dsa.png")
        if result.matrices:
            fig_heatmaps(
                result.matrices, groups, order, out / "distances.png", result.networks["name"].astype(str).tolist()
            )
            figs.append("distances.png")
        written += [out / f for f in figs]
    written.append(atomic_write_text(report_markdown(result, figs), out / "report.md"))
    return written
