"""Markdown rendering of the effects table (``results/effects.md``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .effects import VERDICTS

__all__ = ["effects_markdown"]

_HEADER = (
    "| experiment | task | family | measure | metric | converged / trained per level "
    "| effect highest vs lowest [95% CI] | rho | adjusted p | observed | paper | verdict | checks and notes |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
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
    if str(getattr(r, "effect_scale", "")) == "difference":
        d = float(r.difference)
        if not np.isfinite(d):
            return "not available"
        return f"difference {d:+.3f} [{_num(r.difference_lo, 3)}, {_num(r.difference_hi, 3)}]"
    if not np.isfinite(float(r.ratio)):
        return "not available"
    return f"ratio {float(r.ratio):.2f} [{_num(r.ratio_lo)}, {_num(r.ratio_hi)}]"


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
                ("beyond" if bool(r.beyond_gap) else "within")
                + f" alignment gap (mean {float(r.gap_mean):.2%}, max {float(r.gap_max):.2%})"
            )
    if not pd.isna(getattr(r, "beyond_probe", pd.NA)):
        parts.append(
            ("beyond" if bool(r.beyond_probe) else "within") + f" probe-to-probe spread ({float(r.probe_spread):.3g})"
        )
    if not pd.isna(getattr(r, "monotone", pd.NA)) and not bool(r.monotone):
        parts.append(f"steps: {r.steps}")
    if str(r.reason):
        parts.append(str(r.reason))
    return "; ".join(parts).replace("|", "/") or "none"


def effects_markdown(df: pd.DataFrame) -> str:
    """A Markdown table of :func:`degeneracy.stats.effects_table`, then one line of verdict counts
    and one line naming the multiplicity correction, alpha and the number of tested cells."""
    counts = {k: 0 for k in VERDICTS}
    if df is None or len(df) == 0:
        body = "| (no data) |" + " |" * 12 + "\n"
        footer = ""
    else:
        lines = []
        for r in df.itertuples(index=False):
            lines.append(
                f"| {r.experiment} | {r.task} | {getattr(r, 'family', '')} | {r.measure} | {r.metric} | "
                f"{r.networks or 'none'} | {_ratio(r)} | "
                f"{_num(r.rho)} | {_p(r.p_adjusted)} | {r.observed} | {r.paper or 'none'} | {r.verdict} | {_checks(r)} |"
            )
        body = "\n".join(lines) + "\n"
        vc = df["verdict"].value_counts()
        counts = {k: int(vc.get(k, 0)) for k in VERDICTS}
        corr = str(df["correction"].iloc[0]) if "correction" in df.columns else ""
        alpha = float(df["alpha"].iloc[0]) if "alpha" in df.columns else float("nan")
        fam = df["family"].astype(str) if "family" in df.columns else pd.Series("primary", index=df.index)
        finite = np.isfinite(df["p_value"].to_numpy(dtype=float))
        per = ", ".join(f"{f}: {int((finite & (fam == f).to_numpy()).sum())}" for f in ("primary", "secondary"))
        footer = (
            f"\nTest: paired bootstrap over seeds; p-values adjusted by {corr} within each family "
            f"(tested cells {per}; primary = the paper's three measures); a direction is called at "
            f"adjusted p < {alpha:g}.\n"
        )
        prim = df[fam == "primary"]
        if len(prim) and len(prim) < len(df):
            pv = prim["verdict"].value_counts()
            footer = (
                "\nPrimary family: "
                + " / ".join(f"{k}: {int(pv.get(k, 0))}" for k in VERDICTS[:5])
                + f" (of {len(prim)} cells)\n"
                + footer
            )
    # verdicts beyond the five of the degeneracy cells are listed only when they occur
    shown = {k: v for k, v in counts.items() if k in VERDICTS[:5] or v}
    summary = "\n" + " / ".join(f"{k}: {v}" for k, v in shown.items()) + f" (of {sum(counts.values())} cells)\n"
    return _HEADER + body + summary + footer
