"""Ordered, task-aligned linear feature reduction by full-prefix Matryoshka learning."""

from ._pca import MatryoshkaPCA
from ._statistics import ScatterStatistics

__version__ = "0.1.0"

__all__ = ["MatryoshkaPCA", "ScatterStatistics", "__version__"]
