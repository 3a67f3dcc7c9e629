"""Degeneracy metrics at three levels (behavior, dynamics, weights) and feature learning.

Usable on any set of trained networks; see docs/metrics.md.
"""

from .behavior import behavior_degeneracy, ood_mse
from .dsa import DSAFit, dsa_null, fit_operator, fit_operators, pairwise_distances
from .feature_learning import kernel_alignment, tangent_kernel, weight_change
from .mds import classical_mds
from .weights import pairwise_weight_distances, permutation_distance

__all__ = [
    "ood_mse",
    "behavior_degeneracy",
    "DSAFit",
    "fit_operator",
    "fit_operators",
    "pairwise_distances",
    "dsa_null",
    "permutation_distance",
    "pairwise_weight_distances",
    "weight_change",
    "tangent_kernel",
    "kernel_alignment",
    "classical_mds",
]
