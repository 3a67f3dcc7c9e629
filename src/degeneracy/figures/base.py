"""Plumbing shared by every figure: lazy matplotlib, atomic saving, table helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["pyplot", "save", "no_data", "empty", "select", "num", "flag"]


def pyplot():
    """matplotlib.pyplot (Agg backend) with seaborn's whitegrid style; rcParams the caller set
    explicitly (e.g. the workflow's figure settings) are kept. Returns the pyplot module."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    user_rc = {
        k: v
        for k, v in matplotlib.rcParams.items()
        if k in matplotlib.rcParamsDefault and _differs(v, matplotlib.rcParamsDefault[k]) and k != "backend"
    }
    sns.set_theme(style="whitegrid", context="paper")
    matplotlib.rcParams.update(user_rc)
    return plt


def _differs(a, b) -> bool:
    try:
        return bool(a != b)
    except Exception:  # array-like values
        return True


def save(fig, out_png: str | Path, out_pdf: str | Path) -> None:
    """Write ``fig`` to both paths, each via a temporary file in the same folder and
    ``os.replace`` (a killed job leaves the old file or the new one, never half a file);
    closes the figure. Returns None."""
    import matplotlib.pyplot as plt

    from degeneracy.io import _atomic_write  # the project's one atomic writer (umask-aware)

    try:
        for path, fmt in ((Path(out_png), "png"), (Path(out_pdf), "pdf")):
            _atomic_write(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight"))
    finally:
        plt.close(fig)


def no_data(ax, message: str = "no data") -> None:
    """Write ``message`` in the middle of an empty panel and hide its ticks."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=8, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def empty(df) -> bool:
    """True when ``df`` is not a DataFrame or has no rows."""
    return df is None or not isinstance(df, pd.DataFrame) or len(df) == 0


def select(summary: pd.DataFrame | None, factor: str, experiment: str | None = None) -> pd.DataFrame:
    """Rows of ``summary`` whose factor is ``factor`` or whose experiment is ``experiment``
    (an empty frame when there are none or the table lacks ``level``/``task``)."""
    if empty(summary):
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


def num(df: pd.DataFrame, col: str | None) -> np.ndarray:
    """Column ``col`` as float64 (NaN where missing or not numeric; all NaN if absent)."""
    if not col or col not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def flag(df: pd.DataFrame, col: str) -> np.ndarray:
    """Column ``col`` read as booleans (True, 1, "true", "yes", "insufficient"...); all False
    when absent or missing."""
    if col not in df.columns:
        return np.zeros(len(df), dtype=bool)
    out = []
    for v in df[col].tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(False)
        elif isinstance(v, str):
            out.append(v.strip().lower() not in ("", "false", "0", "no", "nan", "none", "<na>"))
        else:
            out.append(bool(v))
    return np.asarray(out, dtype=bool)
