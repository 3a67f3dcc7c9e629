"""Degeneracy of your own networks: ``degeneracy.measure(networks, ...)`` and the CLI
``python -m degeneracy measure`` (docs/measure.md).

The package is callable: ``degeneracy.measure(...)`` is :func:`degeneracy.measure.core.measure`
(the same as ``from degeneracy.measure import measure``). Heavy modules load on first use.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["measure", "MeasureResult", "MeasureInputError", "load_networks", "Network"]

_LAZY = {
    "measure": ".core",
    "MeasureResult": ".core",
    "MeasureInputError": ".formats",
    "load_networks": ".formats",
    "Network": ".formats",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """Lets ``degeneracy.measure`` (this package) be called like the function it exports."""

    def __call__(self, *args: Any, **kwargs: Any):
        from .core import measure

        return measure(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
