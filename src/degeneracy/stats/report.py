"""Markdown rendering of the effects table (``results/effects.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .effects import VERDICTS

__all__ = ["effects_markdown"]

_HEADER = (
    "| experiment | task | measure | metric | converged / trained per level | ratio highest / lowest [95% CI] "
    "| rho | adjusted p | observed | paper | verdict | checks and notes |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def _num(x, digits: int = 2) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "not available"
    return "not available" if not np.isfinite(x) else f"{x:.{digits}f}"


def _p(x) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "not tested"
    if not np.isfinite(x):
        return "not tested"
    return f"{x:.3f}" if x >= 0.001 else "< 0.001"


def _ratio(r) -> str:
    if not np.isfinite(float(r.ratio)):
        return "not available"
    return f"{float(r.ratio):.2f} [{_num(r.ratio_lo)}, {_num(r.ratio_hi)}]"


def _checks(r) -> str:
    parts = []
    if r.measure == "dynamics" and not pd.isna(r.above_noise_floor):
        parts.append("above noise floor" if bool(r.above_noise_floor) else "below noise floor")
    if r.measure == "dynamics" and str(r.robust_settings):
        if pd.isna(r.robust):
            parts.append(f"DSA grid: {r.robust_settings}")
        else:
            parts.append(
                f"robust to DSA settings ({r.robust_settings})"
                if bool(r.robust)
                else f"not robust to DSA settings ({r.robust_settings})"
            )
    if r.measure == "weights":
        if np.isfinite(float(r.init_ratio)):
            parts.append(
                f"initial matrices {float(r.init_ratio):.2f} [{_num(r.init_ratio_lo)}, {_num(r.init_ratio_hi)}]"
            )
        if not pd.isna(r.beyond_gap):
            parts.append(
                ("beyond" if bool(r.beyond_gap) else "within") + f" alignment gap (max {float(r.gap_max):.2%})"
            )
    if str(r.reason):
        parts.append(str(r.reason))
    return "; ".join(parts).replace("|", "/") or "none"


def effects_markdown(df: pd.DataFrame) -> str:
    """A Markdown table of :func:`degeneracy.stats.effects_table`, then one line of verdict counts
    and one line naming the multiplicity correction, alpha and the number of tested cells."""
    counts = {k: 0 for k in VERDICTS}
    if df is None or len(df) == 0:
        body = "| (no data) |" + " |" * 11 + "\n"
        footer = ""
    else:
        lines = []
        for r in df.itertuples(index=False):
            lines.append(
                f"| {r.experiment} | {r.task} | {r.measure} | {r.metric} | {r.networks or 'none'} | {_ratio(r)} | "
                f"{_num(r.rho)} | {_p(r.p_adjusted)} | {r.observed} | {r.paper or 'none'} | {r.verdict} | {_checks(r)} |"
            )
        body = "\n".join(lines) + "\n"
        vc = df["verdict"].value_counts()
        counts = {k: int(vc.get(k, 0)) for k in VERDICTS}
        tested = int(np.isfinite(df["p_value"].to_numpy(dtype=float)).sum())
        corr = str(df["correction"].iloc[0]) if "correction" in df.columns else ""
        alpha = float(df["alpha"].iloc[0]) if "alpha" in df.columns else float("nan")
        footer = (
            f"\nTest: paired bootstrap over seeds; p-values adjusted by {corr} over the {tested} tested cells; "
            f"a direction is called at adjusted p < {alpha:g}.\n"
        )
    # verdicts beyond the five of the degeneracy cells are listed only when they occur
    shown = {k: v for k, v in counts.items() if k in VERDICTS[:5] or v}
    summary = "\n" + " / ".join(f"{k}: {v}" for k, v in shown.items()) + f" (of {sum(counts.values())} cells)\n"
    return _HEADER + body + summary + footer
