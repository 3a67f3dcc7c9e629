"""Solution degeneracy across task-trained recurrent networks.

Library stages: :mod:`degeneracy.tasks`, :mod:`degeneracy.models`, :mod:`degeneracy.training`,
:mod:`degeneracy.metrics`, :mod:`degeneracy.aggregate`, :mod:`degeneracy.figures`, and
:func:`degeneracy.measure` for networks trained elsewhere.

Importing the package imports nothing else: ``degeneracy.measure`` loads on first use (so a
workflow job's code hash, which follows import statements, covers only what the job runs).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["measure"]


def __getattr__(name: str) -> Any:
    if name == "measure":  # callable package: degeneracy.measure(networks, ...); docs/measure.md
        return importlib.import_module(".measure", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
