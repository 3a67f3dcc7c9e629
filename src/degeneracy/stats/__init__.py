"""Statistics of the study: bootstrap helpers (:mod:`.bootstrap`), multiplicity corrections
(:mod:`.multiplicity`), the effects table (:mod:`.effects`) and its Markdown (:mod:`.report`).

Everything resamples *networks* (seeds), never pairs. See ``docs/study.md``.
This package imports neither torch nor matplotlib.
"""

from .bootstrap import (
    bootstrap_mean_pairwise,
    bootstrap_sd,
    pair_matrix,
    paired_draws,
    paired_mean_replicates,
    paired_pairwise_replicates,
    paired_sd_replicates,
    pairwise_mean,
    pairwise_mean_replicates,
    percentile_interval,
    sd_replicates,
    stable_rng,
    studentized_p_value,
    wilson_interval,
)
from .effects import (
    DEFAULT_SETTINGS,
    EFFECT_COLUMNS,
    LEVELS_OF_DEGENERACY,
    MEASURES,
    PAPER_DIRECTIONS,
    VERDICTS,
    cell_metrics,
    effects_table,
    spearman_rho,
    weight_metric_for,
)
from .multiplicity import CORRECTIONS, adjust_p_values, benjamini_hochberg, holm
from .report import effects_markdown

__all__ = [
    "CORRECTIONS",
    "DEFAULT_SETTINGS",
    "EFFECT_COLUMNS",
    "LEVELS_OF_DEGENERACY",
    "MEASURES",
    "PAPER_DIRECTIONS",
    "VERDICTS",
    "adjust_p_values",
    "benjamini_hochberg",
    "bootstrap_mean_pairwise",
    "bootstrap_sd",
    "cell_metrics",
    "effects_markdown",
    "effects_table",
    "holm",
    "pair_matrix",
    "paired_draws",
    "paired_mean_replicates",
    "paired_pairwise_replicates",
    "paired_sd_replicates",
    "pairwise_mean",
    "pairwise_mean_replicates",
    "percentile_interval",
    "sd_replicates",
    "spearman_rho",
    "stable_rng",
    "studentized_p_value",
    "weight_metric_for",
    "wilson_interval",
]
