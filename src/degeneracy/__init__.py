"""Solution degeneracy across task-trained recurrent networks.

Library stages: :mod:`degeneracy.tasks`, :mod:`degeneracy.models`, :mod:`degeneracy.training`,
:mod:`degeneracy.metrics`, :mod:`degeneracy.aggregate`, :mod:`degeneracy.figures`, and
:func:`degeneracy.measure` for networks trained elsewhere.
"""

__version__ = "0.1.0"
__all__ = ["measure"]

from . import measure  # noqa: E402  (callable: degeneracy.measure(networks, ...); docs/measure.md)
