"""Degeneracy metrics at three levels (behavior, dynamics, weights) and feature learning.

Usable on any set of trained networks; see docs/metrics.md. Import the submodule you need
(``from degeneracy.metrics.dsa import pairwise_distances``); the names below are also reachable
from this package, loaded on first use (so importing one metric never loads the others, and a
workflow job's code hash covers only the metrics it runs).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule that defines it
_NAMES = {
    "ood_mse": "behavior",
    "behavior_degeneracy": "behavior",
    "DSAFit": "dsa",
    "fit_operator": "dsa",
    "fit_operators": "dsa",
    "pairwise_distances": "dsa",
    "dsa_null": "dsa",
    "permutation_distance": "weights",
    "pairwise_weight_distances": "weights",
    "weight_change": "feature_learning",
    "tangent_kernel": "feature_learning",
    "kernel_alignment": "feature_learning",
    "classical_mds": "mds",
    "svd_basis": "svcca",
    "svcca_distance": "svcca",
    "pairwise_svcca": "svcca",
    "pairwise_svcca_spectrum": "svcca",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
