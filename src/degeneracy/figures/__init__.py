"""One function per figure, each writing a PNG and a PDF atomically and returning None.

:data:`FIGURES` maps every figure name of :data:`degeneracy.conditions.FIGURE_NAMES` to its
function (the workflow's only registry; the default experiments of each figure are in
:data:`degeneracy.conditions.FIGURE_EXPERIMENTS`). Call signatures::

    fig3(summary, pairwise, meta, out_png, out_pdf)   # task complexity, with MDS of DSA distances
    fig4(summary, out_png, out_pdf)                   # memory demand and auxiliary output
    fig5(summary, out_png, out_pdf)                   # feature learning vs task complexity
    fig6(summary, out_png, out_pdf)                   # feature-learning strength gamma
    fig7(summary, out_png, out_pdf)                   # width
    fig8(summary, out_png, out_pdf)                   # L1 and nuclear-norm regularisation
    fig_effects(effects, out_png, out_pdf)
    fig_training_curves(logs, out_png, out_pdf, threshold=None)
    fig_example_trial(trial, out_png, out_pdf, max_conditions=6, networks=None)
    fig_svcca(summary, out_png, out_pdf)              # representations (SVCCA), one panel per experiment

Inputs are the tables of :func:`degeneracy.aggregate.summarise` (``summary``),
:func:`degeneracy.stats.effects_table` (``effects``) and the stage outputs ``pairwise``,
``meta``, ``logs`` and ``trial``. Missing experiments and empty frames give panels that say
"no data"; levels without a value are named in their panel; unknown extra columns are ignored.
matplotlib (Agg backend) and seaborn are imported inside the functions.

Modules: :mod:`.base` (saving, table helpers), :mod:`.labels` (factor and task words, ticks),
:mod:`.panels` (one measure against a factor, shared legend), :mod:`.factors` (fig3-fig8),
:mod:`.representations` (SVCCA), :mod:`.effects`, :mod:`.training`, :mod:`.trial`.
"""

from __future__ import annotations

from typing import Callable

from .effects import fig_effects
from .factors import fig3, fig4, fig5, fig6, fig7, fig8
from .representations import fig_svcca
from .training import fig_training_curves
from .trial import fig_example_trial

__all__ = [
    "FIGURES",
    "fig3",
    "fig4",
    "fig5",
    "fig6",
    "fig7",
    "fig8",
    "fig_effects",
    "fig_svcca",
    "fig_training_curves",
    "fig_example_trial",
]

#: Figure name -> function (names: degeneracy.conditions.FIGURE_NAMES).
FIGURES: dict[str, Callable[..., None]] = {
    "fig3": fig3,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": fig8,
    "svcca": fig_svcca,
    "effects": fig_effects,
    "training_curves": fig_training_curves,
    "example_trial": fig_example_trial,
}
