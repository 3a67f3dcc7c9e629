"""Words on the figures: task names, each factor's axis label per task, level texts, ticks.

A factor is drawn with the name of the knob that a task really varies: the complexity factor is
the number of channels for most tasks but the number of spatial dimensions (2-D or 3-D) for path
integration. The knob is read from the table's ``parameter`` column when it has one (the
config's ``parameter`` of the experiment), otherwise from :data:`TASK_PARAMETERS` and
:data:`FACTOR_PARAMETERS`, which mirror the default study.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "FACTOR_LABELS",
    "FACTOR_PARAMETERS",
    "PARAMETER_LABELS",
    "TASK_PARAMETERS",
    "axis_label",
    "level_phrase",
    "parameter_of",
    "set_level_ticks",
    "task_name",
    "tick_text",
]

TASK_NAMES = {
    "flipflop": "flip-flop",
    "delayed_discrimination": "delayed discrimination",
    "path_integration": "path integration",
}

#: The knob each factor sets in the default study.
FACTOR_PARAMETERS: dict[str, str] = {
    "channels": "task.n_channels",
    "delay": "task.delay_max",
    "auxiliary": "task.auxiliary",
    "gamma": "model.gamma",
    "width": "model.n_units",
    "l1": "training.regulariser.lambda",
    "nuclear": "training.regulariser.lambda",
}
#: (factor, task) pairs whose knob is not the factor's usual one.
TASK_PARAMETERS: dict[tuple[str, str], str] = {("channels", "path_integration"): "task.dim"}

FACTOR_LABELS: dict[str, str] = {
    "channels": "number of channels",
    "delay": "maximum delay (time steps)",
    "auxiliary": "auxiliary output",
    "gamma": "feature-learning strength $\\gamma$",
    "width": "width n (units)",
    "l1": "L1 strength $\\lambda$",
    "nuclear": "nuclear-norm strength $\\lambda$",
}
PARAMETER_LABELS: dict[str, str] = {
    "task.n_channels": "number of channels",
    "task.dim": "spatial dimensions",
    "task.delay_max": "maximum delay (time steps)",
    "task.auxiliary": "auxiliary output",
    "model.gamma": "feature-learning strength $\\gamma$",
    "model.n_units": "width n (units)",
    "training.regulariser.lambda": "regularisation strength $\\lambda$",
}

_PHRASES: dict[str, Callable[[float], str]] = {
    "task.n_channels": lambda v: f"{v:g} channel{'' if v == 1 else 's'}",
    "task.dim": lambda v: f"{v:g}-D",
    "task.delay_max": lambda v: f"max delay {v:g}",
    "task.auxiliary": lambda v: f"auxiliary {'on' if v else 'off'}",
    "model.gamma": lambda v: f"$\\gamma$={v:g}",
    "model.n_units": lambda v: f"n={v:g}",
    "training.regulariser.lambda": lambda v: f"$\\lambda$={_number(v)}",
}
_TICKS: dict[str, Callable[[float], str]] = {
    "task.dim": lambda v: f"{v:g}-D",
    "task.auxiliary": lambda v: "on" if v else "off",
}


def task_name(task: str) -> str:
    """Readable task name, e.g. ``delayed_discrimination`` -> ``delayed discrimination``."""
    return TASK_NAMES.get(str(task), str(task).replace("_", " "))


def parameter_of(rows: pd.DataFrame, factor: str, task: str) -> str | None:
    """The knob (dotted config path) that ``factor`` varies for ``task``: the rows' own
    ``parameter`` column when present, else the default study's; None when unknown."""
    if "parameter" in rows.columns and "task" in rows.columns:
        values = rows.loc[rows["task"].astype(str) == task, "parameter"].dropna().astype(str)
        values = values[values != ""]
        if len(values):
            return str(values.iloc[0])
    return TASK_PARAMETERS.get((factor, task), FACTOR_PARAMETERS.get(factor))


def axis_label(factor: str, parameter: str | None) -> str:
    """Axis label of ``factor`` when it sets ``parameter`` (e.g. "spatial dimensions")."""
    if parameter is None or parameter == FACTOR_PARAMETERS.get(factor):
        return FACTOR_LABELS.get(factor, PARAMETER_LABELS.get(parameter or "", factor))
    return PARAMETER_LABELS.get(parameter, parameter.rsplit(".", 1)[-1].replace("_", " "))


def level_phrase(factor: str, parameter: str | None, level: float) -> str:
    """A level in words, e.g. "2 channels", "3-D", "auxiliary on", "n=64"."""
    fmt = _PHRASES.get(parameter or FACTOR_PARAMETERS.get(factor, ""))
    return fmt(float(level)) if fmt else f"{factor} {_number(float(level))}"


def tick_text(parameter: str | None, level: float) -> str:
    """Tick label of a level: "2-D", "on"/"off", or the number (integers without a decimal)."""
    fmt = _TICKS.get(parameter or "")
    return fmt(float(level)) if fmt else _number(float(level))


def _number(v: float) -> str:
    """Short number: 3, 0.3, 1e-5 (no zero-padded exponent)."""
    return f"{v:g}".replace("e-0", "e-").replace("e+0", "e")


def set_level_ticks(ax, levels: Iterable[float], parameter: str | None = None, max_ticks: int = 10) -> None:
    """Ticks exactly at the factor's levels (so integer factors get integer ticks), labelled with
    :func:`tick_text`; with more than ``max_ticks`` levels, integer factors get a locator that
    only places integers. Returns None."""
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator

    lv = np.unique(np.asarray([float(v) for v in levels], dtype=float))
    lv = lv[np.isfinite(lv)]
    if ax.get_xscale() == "log":
        lv = lv[lv > 0]
    if not lv.size:
        return
    if lv.size <= max_ticks:
        ax.xaxis.set_major_locator(FixedLocator(lv))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([tick_text(parameter, v) for v in lv])
        # half a level's spacing either side, measured on the axis' own scale (log or linear)
        scale = ax.xaxis.get_transform()
        t = np.asarray(scale.transform(lv.reshape(-1, 1)), dtype=float).ravel()
        step = np.diff(t).min() if t.size > 1 else (1.0 if ax.get_xscale() == "linear" else 0.3)
        lims = np.asarray(
            scale.inverted().transform(np.array([[t[0] - step / 2], [t[-1] + step / 2]])), dtype=float
        ).ravel()
        ax.set_xlim(lims[0], lims[1])
    elif np.all(lv == np.round(lv)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
