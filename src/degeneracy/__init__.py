"""Solution degeneracy across task-trained recurrent networks.

Library stages: :mod:`degeneracy.tasks`, :mod:`degeneracy.models`, :mod:`degeneracy.training`,
:mod:`degeneracy.metrics`, :mod:`degeneracy.aggregate`, :mod:`degeneracy.figures`.
"""

__version__ = "0.1.0"
