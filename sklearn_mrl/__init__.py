"""Ordered, task-aligned linear feature reduction by full-prefix Matryoshka learning."""

from ._objectives import DegenerateObjectiveWarning
from ._pca import MatryoshkaPCA
from ._projection import MatryoshkaProjection
from ._statistics import ScatterStatistics

__version__ = "0.1.0"

__all__ = [
    "DegenerateObjectiveWarning",
    "MatryoshkaPCA",
    "MatryoshkaProjection",
    "ScatterStatistics",
    "__version__",
]
