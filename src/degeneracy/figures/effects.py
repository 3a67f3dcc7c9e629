"""Effects grid: for each factor and task, the observed direction of degeneracy at each measure
(behavior, dynamics, weights) against the paper's, coloured by verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import empty, no_data, pyplot, save
from .labels import task_name

__all__ = ["fig_effects", "VERDICT_COLOURS", "DIRECTION_WORDS"]

VERDICT_COLOURS = {
    "agree": "#4daf4a",
    "disagree": "#e41a1c",
    "inconclusive": "#bdbdbd",
    "insufficient": "#fdbf6f",
    "below noise floor": "#a6cee3",
    "no paper direction": "#cab2d6",
}
_OTHER_COLOUR = "#dddddd"
#: Direction codes of the effects table in words (never a bare "?").
DIRECTION_WORDS = {"up": "up", "down": "down", "inconclusive": "unclear", "none": "none", "": "not stated"}
_MEASURE_ORDER = ("behavior", "dynamics", "weights", "representations", "feature_learning", "ood_loss", "fixed_points")
_MEASURE_WORDS = {"weights": "weight", "representations": "representational"}
#: Column titles of the cells that are not a degeneracy (means over networks).
_MEAN_LABELS = {
    "feature_learning": "feature learning",
    "ood_loss": "mean OOD loss",
    "fixed_points": "line-attractor-like\nfixed points",
}


def _measure_column(effects: pd.DataFrame) -> str | None:
    for col in ("measure", "level_of_degeneracy"):
        if col in effects.columns:
            return col
    return None


def _fmt(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(x) else f"{x:.2f}"


def _word(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "not stated"
    return DIRECTION_WORDS.get(str(value), str(value))


def _cell_text(r: pd.Series) -> str:
    lines = [f"observed {_word(r.get('observed'))}, paper {_word(r.get('paper'))}"]
    if "ratio" in r.index and np.isfinite(pd.to_numeric(r.get("ratio"), errors="coerce")):
        lines.append(f"highest/lowest {_fmt(r.get('ratio'))} [{_fmt(r.get('ratio_lo'))}, {_fmt(r.get('ratio_hi'))}]")
    elif "rho" in r.index:
        lines.append(f"\u03c1={_fmt(r.get('rho'))} [{_fmt(r.get('rho_lo'))}, {_fmt(r.get('rho_hi'))}]")
    networks = r.get("networks")
    if isinstance(networks, str) and networks:
        lines.append(f"networks per level: {networks}")
    verdict = str(r.get("verdict", ""))
    if verdict not in ("agree", "disagree"):
        lines.append(verdict)
    return "\n".join(lines)


def _columns(eff: pd.DataFrame, measure: str) -> list[tuple[str, str]]:
    """(measure, metric) per grid column: measures in behavior, dynamics, weights order, one
    column per metric where a measure has several (e.g. aligned-per-n^2 and scale-free weights)."""
    pairs = eff[[measure, "metric"]].astype(str).drop_duplicates() if "metric" in eff.columns else None
    present = [str(v) for v in eff[measure].astype(str).unique()]
    ordered = [c for c in _MEASURE_ORDER if c in present] + sorted(c for c in present if c not in _MEASURE_ORDER)
    if pairs is None:
        return [(m, "") for m in ordered]
    return [(m, metric) for m in ordered for metric in sorted(pairs.loc[pairs[measure] == m, "metric"])]


def _column_label(col: tuple[str, str], cols: list[tuple[str, str]]) -> str:
    m, metric = col
    label = _MEAN_LABELS.get(m) or f"{_MEASURE_WORDS.get(m, m)} degeneracy"
    return label + (f"\n({metric})" if sum(c[0] == m for c in cols) > 1 else "")


def fig_effects(effects: pd.DataFrame, out_png: Path, out_pdf: Path) -> None:
    """Grid (one row per experiment/factor/task, one column per measure of degeneracy and, where
    a measure has several, per metric) of the observed against the paper's direction, coloured
    by verdict, with the effect size and its interval (highest/lowest-level ratio when the table
    has ``ratio``, else Spearman rho) and the networks per level. Reads the measure from
    ``measure`` or ``level_of_degeneracy``. Returns None."""
    plt = pyplot()
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    measure = _measure_column(effects) if not empty(effects) else None
    need = {"factor", "task", "verdict"}
    if empty(effects) or measure is None or not need <= set(effects.columns):
        fig, ax = plt.subplots(figsize=(5, 2))
        no_data(ax)
        ax.set_title("Effects against the paper")
        save(fig, out_png, out_pdf)
        return
    try:
        from degeneracy.stats import PAPER_DIRECTIONS

        order = {f: i for i, f in enumerate(PAPER_DIRECTIONS)}
    except ImportError:
        order = {}
    eff = effects.copy()
    if "experiment" not in eff.columns:
        eff["experiment"] = ""
    keys = eff[["experiment", "factor", "task"]].drop_duplicates()
    keys = keys.assign(_o=keys["factor"].map(lambda f: order.get(f, len(order))))
    rows = list(
        keys.sort_values(["_o", "experiment", "task"])[["experiment", "factor", "task"]].itertuples(
            index=False, name=None
        )
    )
    cols = _columns(eff, measure)
    verdicts = list(VERDICT_COLOURS) + sorted(set(eff["verdict"].astype(str)) - set(VERDICT_COLOURS))
    colours = {v: VERDICT_COLOURS.get(v, _OTHER_COLOUR) for v in verdicts}
    fig, ax = plt.subplots(figsize=(2.6 * len(cols) + 2.5, 0.75 * len(rows) + 1.6), layout="constrained")
    rgba = np.ones((len(rows), len(cols), 4))
    for i, (exp, factor, task) in enumerate(rows):
        here = eff[(eff["factor"] == factor) & (eff["task"] == task) & (eff["experiment"] == exp)]
        for j, (m, metric) in enumerate(cols):
            sel = here[here[measure].astype(str) == m]
            if metric:
                sel = sel[sel["metric"].astype(str) == metric]
            if not len(sel):
                ax.text(j, i, "not measured", ha="center", va="center", fontsize=6, color="0.3")
                continue
            r = sel.iloc[0]
            rgba[i, j] = to_rgba(colours.get(str(r["verdict"]), _OTHER_COLOUR), alpha=0.6)
            ax.text(j, i, _cell_text(r), ha="center", va="center", fontsize=6)
    ax.imshow(rgba, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([_column_label(c, cols) for c in cols], fontsize=7)
    ax.set_yticks(range(len(rows)))
    ylabels = [f"{f} / {task_name(t)}" + (f" ({e})" if e and e != f else "") for e, f, t in rows]
    ax.set_yticklabels(ylabels, fontsize=7)
    ax.grid(False)
    ax.xaxis.tick_top()
    vc = eff["verdict"].astype(str).value_counts()
    shown = [k for k in verdicts if k in vc.index or k in ("agree", "disagree", "inconclusive")]
    handles = [Patch(color=colours[k], alpha=0.6, label=f"{k} ({int(vc.get(k, 0))})") for k in shown]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=7,
        frameon=False,
        title="verdict (cells)",
    )
    ax.set_title(
        "Direction as the factor grows (degeneracy, feature learning, OOD loss, fixed points): observed against the paper",
        fontsize=9,
    )
    save(fig, out_png, out_pdf)
