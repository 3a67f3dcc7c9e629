"""Effects grid: for each factor and task, the observed direction of degeneracy at each measure
(behavior, dynamics, weights, representations) against the paper's, the verdict as a symbol, a
word and a colour, with the highest/lowest ratio and its interval. Sized to read at a screen's
width: one column per measure (its primary metric), text of 9 pt or more at the saved size; the
other cells (relative behavior, feature learning, mean OOD loss, fixed points, secondary
metrics) are listed under the grid and stay in ``effects.md``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import empty, no_data, pyplot, save
from .labels import task_name

__all__ = ["fig_effects", "VERDICT_COLOURS", "VERDICT_SYMBOLS", "DIRECTION_WORDS", "DEGENERACY_MEASURES", "FONT_PT"]

VERDICT_COLOURS = {
    "agree": "#4daf4a",
    "disagree": "#e41a1c",
    "inconclusive": "#bdbdbd",
    "insufficient": "#fdbf6f",
    "below noise floor": "#a6cee3",
    "no paper direction": "#cab2d6",
}
_OTHER_COLOUR = "#dddddd"
#: The verdict as a symbol (beside its word), so the grid reads without colour.
VERDICT_SYMBOLS = {
    "agree": "\u2713",  # check mark
    "disagree": "\u2717",  # ballot x
    "inconclusive": "~",
    "insufficient": "\u2205",  # empty set
    "below noise floor": "\u2248",  # almost equal
    "no paper direction": "\u00b7",
}
#: The measures the grid shows by default (one column each).
DEGENERACY_MEASURES = ("behavior", "dynamics", "weights", "representations")
#: Smallest font (points) of the grid's text at the saved size.
FONT_PT = 9
#: Preferred metric of a measure when the table has several (first present wins).
_PREFERRED = {
    "behavior": ("behavior_sd", "ood_mse"),
    "dynamics": ("dsa",),
    "weights": ("weight_aligned_per_n2", "weight_aligned", "weight_scale_free"),
    "representations": ("svcca",),
}
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


def _primary_metric(eff: pd.DataFrame, measure_col: str, m: str) -> str:
    """The one metric shown for measure ``m``: among the primary-family metrics when the table
    has a ``family`` column (else all), the first of the preferred order, else the first listed."""
    sel = eff[eff[measure_col].astype(str) == m]
    if "metric" not in sel.columns:
        return ""
    candidates = list(dict.fromkeys(sel["metric"].astype(str)))
    if "family" in sel.columns:
        primary = list(dict.fromkeys(sel.loc[sel["family"].astype(str) == "primary", "metric"].astype(str)))
        candidates = primary or candidates
    ranked = [x for x in _PREFERRED.get(m, ()) if x in candidates]
    return ranked[0] if ranked else candidates[0]


def _cell_lines(r: pd.Series) -> tuple[str, str]:
    """(verdict line: symbol and word, detail lines: directions and effect size)."""
    verdict = str(r.get("verdict", ""))
    head = f"{VERDICT_SYMBOLS.get(verdict, '?')} {verdict}"
    lines = [f"observed: {_word(r.get('observed'))}", f"paper: {_word(r.get('paper'))}"]
    if "ratio" in r.index and np.isfinite(pd.to_numeric(r.get("ratio"), errors="coerce")):
        lines.append(f"ratio {_fmt(r.get('ratio'))} [{_fmt(r.get('ratio_lo'))}, {_fmt(r.get('ratio_hi'))}]")
    elif "rho" in r.index and np.isfinite(pd.to_numeric(r.get("rho"), errors="coerce")):
        lines.append(f"\u03c1 {_fmt(r.get('rho'))} [{_fmt(r.get('rho_lo'))}, {_fmt(r.get('rho_hi'))}]")
    return head, "\n".join(lines)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width, break_on_hyphens=False))


def fig_effects(
    effects: pd.DataFrame, out_png: Path, out_pdf: Path, measures: tuple[str, ...] = DEGENERACY_MEASURES
) -> None:
    """Grid of the observed against the paper's direction: one row per experiment/factor/task,
    one column per measure of ``measures`` (its primary metric, named under the measure when
    the table has several), each cell the verdict as a symbol and a word on its colour, the
    observed and the paper's direction and the highest/lowest-level ratio with its interval
    (Spearman rho when the table has no ratio). A legend of the verdicts (symbol, word, cells)
    and a line naming the cells not drawn (they are in ``effects.md``) sit below the grid.
    Reads the measure from ``measure`` or ``level_of_degeneracy``. Text is at least
    :data:`FONT_PT` points. Returns None."""
    plt = pyplot()
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    measure = _measure_column(effects) if not empty(effects) else None
    need = {"factor", "task", "verdict"}
    if empty(effects) or measure is None or not need <= set(effects.columns):
        fig, ax = plt.subplots(figsize=(5, 2))
        no_data(ax)
        ax.set_title("Effects against the paper", fontsize=FONT_PT + 1)
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
    present = [str(v) for v in eff[measure].astype(str).unique()]
    shown_measures = (
        [m for m in measures if m in present] or [c for c in _MEASURE_ORDER if c in present][:4] or present[:4]
    )
    cols = [(m, _primary_metric(eff, measure, m)) for m in shown_measures]
    keys = eff[eff[measure].astype(str).isin(shown_measures)][["experiment", "factor", "task"]].drop_duplicates()
    keys = keys.assign(_o=keys["factor"].map(lambda f: order.get(f, len(order))))
    rows = list(
        keys.sort_values(["_o", "experiment", "task"])[["experiment", "factor", "task"]].itertuples(
            index=False, name=None
        )
    )
    verdicts = list(VERDICT_COLOURS) + sorted(set(eff["verdict"].astype(str)) - set(VERDICT_COLOURS))
    colours = {v: VERDICT_COLOURS.get(v, _OTHER_COLOUR) for v in verdicts}
    drawn = set(cols)
    cell_w, cell_h = 2.1, 1.05
    fig_w = cell_w * len(cols) + 2.9
    fig = plt.figure(figsize=(fig_w, cell_h * len(rows) + 2.4), layout="constrained")
    ax = fig.add_subplot()
    rgba = np.ones((len(rows), len(cols), 4))
    for i, (exp, factor, task) in enumerate(rows):
        here = eff[(eff["factor"] == factor) & (eff["task"] == task) & (eff["experiment"] == exp)]
        for j, (m, metric) in enumerate(cols):
            sel = here[here[measure].astype(str) == m]
            own = sel
            if metric:
                sel = sel[sel["metric"].astype(str) == metric]
            if not len(sel) and "family" in own.columns:
                # this row's comparable (primary) metric differs from the column's (width: the
                # ratio to the initial matrices): draw it, named in the cell
                sel = own[own["family"].astype(str) == "primary"]
            if not len(sel):
                ax.text(j, i, "not measured", ha="center", va="center", fontsize=FONT_PT, color="0.35")
                continue
            r = sel.iloc[0]
            drawn.add((m, str(r.get("metric", ""))))
            rgba[i, j] = to_rgba(colours.get(str(r["verdict"]), _OTHER_COLOUR), alpha=0.55)
            head, detail = _cell_lines(r)
            if metric and str(r.get("metric", "")) != metric:
                head += f"\n({r['metric']})"
            ax.text(j, i - 0.27, head, ha="center", va="center", fontsize=FONT_PT + 1, fontweight="bold")
            ax.text(j, i + 0.14, detail, ha="center", va="center", fontsize=FONT_PT, linespacing=1.25)
    # cells not drawn, named under the grid
    left = eff[[measure] + (["metric"] if "metric" in eff.columns else [])].astype(str).drop_duplicates()
    hidden: dict[str, list[str]] = {}
    for r in left.itertuples(index=False):
        m, metric = r[0], (r[1] if len(r) > 1 else "")
        if (m, metric) not in drawn:
            hidden.setdefault(m, []).append(metric)
    ax.imshow(rgba, aspect="auto", interpolation="nearest")
    for k in range(1, len(rows)):
        ax.axhline(k - 0.5, color="white", lw=2)
    for k in range(1, len(cols)):
        ax.axvline(k - 0.5, color="white", lw=2)
    ax.set_xticks(range(len(cols)))
    several = (
        {m for m in shown_measures if len(eff.loc[eff[measure].astype(str) == m, "metric"].unique()) > 1}
        if "metric" in eff.columns
        else set()
    )
    ax.set_xticklabels(
        [
            (_MEAN_LABELS.get(m) or f"{_MEASURE_WORDS.get(m, m)}\ndegeneracy")
            + (f"\n({metric})" if m in several else "")
            for m, metric in cols
        ],
        fontsize=FONT_PT + 1,
    )
    ax.set_yticks(range(len(rows)))
    ylabels = [f"{f} / {task_name(t)}" + (f"\n({e})" if e and e != f else "") for e, f, t in rows]
    ax.set_yticklabels(ylabels, fontsize=FONT_PT + 1)
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.xaxis.tick_top()
    is_drawn = eff[measure].astype(str).isin(shown_measures)
    if "metric" in eff.columns:
        is_drawn &= pd.Series([(str(a), str(b)) in drawn for a, b in zip(eff[measure], eff["metric"])], index=eff.index)
    vc = eff.loc[is_drawn, "verdict"].astype(str).value_counts()
    shown = [k for k in verdicts if k in vc.index or k in ("agree", "disagree", "inconclusive")]
    handles = [
        Patch(color=colours[k], alpha=0.55, label=f"{VERDICT_SYMBOLS.get(k, '?')} {k} ({int(vc.get(k, 0))})")
        for k in shown
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(3, len(handles)),
        fontsize=FONT_PT,
        title="verdict (cells); ratio = degeneracy at the highest / lowest level, 95% interval",
        title_fontsize=FONT_PT,
        frameon=False,
    )
    if hidden:
        text = "Not drawn (see effects.md): " + "; ".join(
            f"{_MEAN_LABELS.get(m, m).replace(chr(10), ' ')} ({', '.join(v for v in ms if v)})" if any(ms) else m
            for m, ms in hidden.items()
        )
        ax.set_xlabel(_wrap(text, int(fig_w * 13)), fontsize=FONT_PT, color="0.3", labelpad=8)
    fig.suptitle(
        "Does degeneracy change as the paper says? Observed direction against the paper's", fontsize=FONT_PT + 2
    )
    save(fig, out_png, out_pdf)
