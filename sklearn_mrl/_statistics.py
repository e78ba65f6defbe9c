"""Weighted, mergeable second-moment statistics shared by every estimator.

The statistics of a data set are its total sample weight, the weighted means of X and Y
and the centered scatter matrices Sxx, Sxy and Syy, all in float64. Every fit in this
package reads nothing else, so fitting in batches, on a cluster or per cross-validation
fold is the same operation: compute the statistics of each part and merge them.

Each row block is centered on its own mean before its scatter is formed. The scatter of
the blocks and of their means then add up as in the pairwise update of Chan, Golub and
LeVeque (1979, "Updating formulae and a pairwise algorithm for computing sample
variances"). The naive form X^T X - N m m^T is never used for dense data, because it
cancels every significant digit when the mean is large next to the spread. The
row-block kernels are in _accumulate.py.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils import check_array

# _base.py and the tests import both block-size constants from this module.
from ._accumulate import (  # noqa: F401
    DEFAULT_BLOCK_BYTES,
    MIN_BLOCK_ROWS,
    OneHotTargets,
    _dense_statistics,
    _sparse_statistics,
)
from ._validation import check_sample_weight

# Relative size of a negative variance, or of a mismatch, that subtraction accepts as
# rounding; anything larger means the subtracted rows were not a subset.
SUBSET_TOLERANCE = 1e-6

_NOT_SUBSET_MESSAGE = (
    "The subtracted statistics are not those of a subset of these rows: the remainder "
    "would have a negative variance. Subtract only statistics of rows that were merged "
    "into these."
)

class ScatterStatistics:
    """Weighted count, means and centered scatter matrices of X and optional targets Y.

    The statistics of X (n_samples, n_features) with targets Y (n_samples, n_targets)
    and non-negative sample weights w are N = sum(w), the weighted means m_x and m_y,
    and the centered scatter sums::

        Sxx = sum_i w_i (x_i - m_x) (x_i - m_x)^T
        Sxy = sum_i w_i (x_i - m_x) (y_i - m_y)^T
        Syy = sum_i w_i (y_i - m_y) (y_i - m_y)^T

    Statistics of disjoint row sets merge exactly with ``a + b``, and the statistics of
    a part are removed from those of the whole with ``whole - part``.

    Parameters
    ----------
    n_features : int
        Number of columns of X.
    n_targets : int, default=0
        Number of columns of Y; 0 when there are no targets.

    Attributes
    ----------
    weight_sum : float
        Total sample weight N of the rows seen.
    n_samples : int
        Number of rows seen with a positive weight.
    mean_x : ndarray of shape (n_features,)
        Weighted mean of X.
    mean_y : ndarray of shape (n_targets,)
        Weighted mean of Y.
    scatter_xx : ndarray of shape (n_features, n_features)
        Centered scatter matrix Sxx.
    scatter_xy : ndarray of shape (n_features, n_targets)
        Centered cross-scatter matrix Sxy.
    scatter_yy : ndarray of shape (n_targets, n_targets)
        Centered scatter matrix Syy.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mrl import ScatterStatistics
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    >>> whole = ScatterStatistics.from_data(X)
    >>> merged = ScatterStatistics.from_data(X[:1]) + ScatterStatistics.from_data(X[1:])
    >>> bool(np.allclose(whole.scatter_xx, merged.scatter_xx))
    True
    >>> whole.scatter_xx
    array([[ 8., 14.],
           [14., 26.]])
    """

    def __init__(self, n_features, n_targets=0):
        for name, value, low in (("n_features", n_features, 1), ("n_targets", n_targets, 0)):
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")

        self.n_features = int(n_features)
        self.n_targets = int(n_targets)
        self.weight_sum = 0.0
        self.n_samples = 0
        size = self.n_features + self.n_targets
        self._mean = np.zeros(size)
        self._scatter = np.zeros((size, size))

    # The blocks of the joint statistics of Z = [X, Y] are views, so merges update them.

    @property
    def mean_x(self):
        return self._mean[: self.n_features]

    @property
    def mean_y(self):
        return self._mean[self.n_features :]

    @property
    def scatter_xx(self):
        return self._scatter[: self.n_features, : self.n_features]

    @property
    def scatter_xy(self):
        return self._scatter[: self.n_features, self.n_features :]

    @property
    def scatter_yy(self):
        return self._scatter[self.n_features :, self.n_features :]

    @classmethod
    def from_data(cls, X, Y=None, sample_weight=None, *, block_bytes=DEFAULT_BLOCK_BYTES):
        """Compute the statistics of X, and of Y when given, in one pass over row blocks.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Numeric data. A sparse matrix is never densified as a whole, and a
            DataFrame is converted one row block at a time.
        Y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Numeric targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; None gives every row weight 1.
        block_bytes : int, default=2 MiB
            Approximate size of one float64 row block. For a NumPy array of numeric
            dtype, a CSR matrix or a DataFrame, the row blocks are the only extra
            memory of the pass apart from O((n_features + n_targets)^2). Other X is
            first converted as a whole: a CSC or COO matrix to one CSR copy, a list
            or an object array to one NumPy array. Y and sample_weight are copied
            when they are not float64 arrays.

        Returns
        -------
        statistics : ScatterStatistics
        """
        n_targets = 0 if Y is None else _n_columns(Y, "Y", allow_1d=True)
        statistics = cls(_n_columns(X, "X"), n_targets)
        return statistics.update(X, Y, sample_weight, block_bytes=block_bytes)

    @classmethod
    def from_moments(cls, weight_sum, n_samples, mean, scatter, *, n_targets=0):
        """Build statistics from a known weight sum, mean and centered scatter matrix.

        Use it for moments computed elsewhere, for example on a cluster, or for an
        affine transform of known statistics: the statistics of A z + b are
        (A m + b, A S A^T).

        Parameters
        ----------
        weight_sum : float
            Total sample weight N, non-negative.
        n_samples : int
            Number of rows with a positive weight.
        mean : array-like of shape (n_features + n_targets,)
            Weighted mean of the joint rows [x, y].
        scatter : array-like of shape (n_features + n_targets, n_features + n_targets)
            Centered scatter sum of the joint rows, symmetric.
        n_targets : int, default=0
            How many trailing columns of the joint rows are targets.

        Returns
        -------
        statistics : ScatterStatistics
        """
        if not isinstance(n_targets, numbers.Integral) or n_targets < 0:
            raise ValueError(f"n_targets must be an integer >= 0; got {n_targets!r}.")
        if not isinstance(weight_sum, numbers.Real) or not isinstance(n_samples, numbers.Integral):
            raise TypeError(
                f"weight_sum must be a real number and n_samples an integer; got "
                f"{weight_sum!r} and {n_samples!r}."
            )
        mean = np.array(mean, dtype=np.float64)
        scatter = np.array(scatter, dtype=np.float64)
        width = mean.shape[0] if mean.ndim == 1 else -1
        if width <= n_targets or scatter.shape != (width, width):
            raise ValueError(
                f"mean has shape {mean.shape} and scatter has shape {scatter.shape}; "
                "expected (width,) and (width, width) with width = n_features + "
                f"n_targets > n_targets={n_targets}."
            )
        if not (np.isfinite(mean).all() and np.isfinite(scatter).all()):
            raise ValueError("mean and scatter must be finite; remove NaN or infinity.")
        if not weight_sum >= 0 or n_samples < 0:
            raise ValueError(
                f"weight_sum={weight_sum!r} and n_samples={n_samples!r} must be "
                "non-negative."
            )

        symmetric_scatter = (scatter + scatter.T) / 2
        return cls._from_arrays(
            weight_sum, n_samples, mean, symmetric_scatter, n_targets=n_targets
        )

    @classmethod
    def _from_arrays(cls, weight_sum, n_samples, mean, scatter, *, n_targets):
        """Build statistics that store the given mean and scatter arrays, not copies.

        The arrays are not checked, so the caller passes float64 arrays of matching
        shapes and does not modify them afterwards.
        """
        statistics = cls(mean.shape[0] - n_targets, n_targets)
        statistics.weight_sum = float(weight_sum)
        statistics.n_samples = int(n_samples)
        statistics._mean = mean
        statistics._scatter = scatter
        return statistics

    def update(self, X, Y=None, sample_weight=None, *, block_bytes=DEFAULT_BLOCK_BYTES):
        """Add the rows of X (and Y) to these statistics in place and return self.

        Takes the same arguments as :meth:`from_data`. On error the statistics are
        left unchanged.
        """
        X, Y, sample_weight = self._check_input(X, Y, sample_weight)
        n_rows = X.shape[0]
        if n_rows == 0:
            return self

        if sp.issparse(X):
            batch = _sparse_statistics(X, Y, sample_weight, block_bytes)
        else:
            batch = _dense_statistics(X, Y, sample_weight, self.n_targets, block_bytes)

        # Merge into a copy of self, so that an invalid block leaves self unchanged.
        total = self.copy()
        total._merge(batch)
        self.__dict__.update(total.__dict__)
        return self

    def copy(self):
        """Return an independent copy."""
        return ScatterStatistics._from_arrays(
            self.weight_sum,
            self.n_samples,
            self._mean.copy(),
            self._scatter.copy(),
            n_targets=self.n_targets,
        )

    def without_targets(self):
        """Return an independent copy of the statistics of X alone, with n_targets=0."""
        return ScatterStatistics._from_arrays(
            self.weight_sum,
            self.n_samples,
            self.mean_x.copy(),
            self.scatter_xx.copy(),
            n_targets=0,
        )

    def __add__(self, other):
        self._check_compatible(other)
        result = self.copy()
        result._merge(other)
        return result

    def __sub__(self, other):
        """Remove the statistics of a subset of the rows, such as one fold of a split."""
        self._check_compatible(other)
        remaining_weight = self.weight_sum - other.weight_sum
        tolerance = 1e-12 * max(self.weight_sum, 1.0)
        if remaining_weight < -tolerance or other.n_samples > self.n_samples:
            raise ValueError(
                "Cannot subtract statistics of more rows than were seen: "
                f"weight_sum {self.weight_sum!r} - {other.weight_sum!r} is negative. "
                "Subtract only statistics of a subset of the rows."
            )

        if other.weight_sum == 0:
            return self.copy()
        if remaining_weight <= tolerance:
            self._check_same_rows(other)
            return ScatterStatistics(self.n_features, self.n_targets)

        # Invert the pairwise update: N m = Na ma + Nb mb, Sxx = Sa + Sb + (Na Nb / N) d d^T.
        delta_from_part = self._mean - other._mean
        remaining_mean = self._mean + delta_from_part * (other.weight_sum / remaining_weight)
        delta = other._mean - remaining_mean
        coefficient = remaining_weight * other.weight_sum / self.weight_sum
        correction = coefficient * np.outer(delta, delta)
        remaining_scatter = self._scatter - other._scatter - correction
        self._check_remaining_variance(remaining_scatter)
        return ScatterStatistics._from_arrays(
            remaining_weight,
            self.n_samples - other.n_samples,
            remaining_mean,
            remaining_scatter,
            n_targets=self.n_targets,
        )

    def __radd__(self, other):
        """Support sum() over statistics, which starts from 0."""
        if isinstance(other, numbers.Number) and other == 0:
            return self.copy()
        return NotImplemented

    def _check_remaining_variance(self, remaining_scatter):
        """Raise if a subtraction left a clearly negative variance in some direction.

        Rounding leaves errors of about eps * offset / spread of the variances, far below
        SUBSET_TOLERANCE, so a larger negative eigenvalue means the part had rows that
        self never had. Not every such part is detectable: one whose rows stay within
        the spread of self can leave a valid-looking remainder.
        """
        largest = max(float(np.abs(np.diag(self._scatter)).max()), np.finfo(np.float64).tiny)
        if linalg.eigvalsh(remaining_scatter)[0] < -SUBSET_TOLERANCE * largest:
            raise ValueError(_NOT_SUBSET_MESSAGE)

    def _check_same_rows(self, other):
        """Raise unless other, which has all of self's weight, has its mean and scatter."""
        spread = np.sqrt(np.maximum(np.diag(self._scatter), 0) / self.weight_sum)
        mean_error = np.abs(self._mean - other._mean)
        scatter_error = np.abs(self._scatter - other._scatter).max()
        scale = max(np.abs(self._scatter).max(), np.finfo(np.float64).tiny)
        same_mean = np.all(mean_error <= SUBSET_TOLERANCE * (np.abs(self._mean) + spread))
        if not same_mean or scatter_error > SUBSET_TOLERANCE * scale:
            raise ValueError(_NOT_SUBSET_MESSAGE)

    def __repr__(self):
        return (
            f"ScatterStatistics(n_features={self.n_features}, n_targets={self.n_targets}, "
            f"weight_sum={self.weight_sum!r}, n_samples={self.n_samples})"
        )

    def _merge(self, other):
        """Merge the statistics of disjoint rows into self (Chan, Golub and LeVeque)."""
        if other.weight_sum == 0:
            self.n_samples += other.n_samples
            return
        if self.weight_sum == 0:
            self.weight_sum = other.weight_sum
            self.n_samples += other.n_samples
            self._mean = other._mean.copy()
            self._scatter = other._scatter.copy()
            return

        total_weight = self.weight_sum + other.weight_sum
        delta = other._mean - self._mean
        coefficient = self.weight_sum * other.weight_sum / total_weight
        self._mean = self._mean + delta * (other.weight_sum / total_weight)
        self._scatter = self._scatter + other._scatter + coefficient * np.outer(delta, delta)
        self.weight_sum = total_weight
        self.n_samples += other.n_samples

    def _check_compatible(self, other):
        if not isinstance(other, ScatterStatistics):
            raise TypeError(
                f"Expected ScatterStatistics, got {type(other).__name__}. "
                "Compute the statistics of the other rows with ScatterStatistics.from_data."
            )
        if (other.n_features, other.n_targets) != (self.n_features, self.n_targets):
            raise ValueError(
                "Cannot combine statistics of different shapes: "
                f"(n_features, n_targets) = {(self.n_features, self.n_targets)} and "
                f"{(other.n_features, other.n_targets)}."
            )

    def _check_input(self, X, Y, sample_weight):
        # A DataFrame is converted and checked for NaN one row block at a time, in
        # _dense_rows, so that no float64 copy of the whole frame is made.
        is_dataframe = hasattr(X, "iloc") or (
            not sp.issparse(X) and not isinstance(X, np.ndarray) and hasattr(X, "to_numpy")
        )
        if not is_dataframe:
            # Dense rows are checked for NaN and infinity one block at a time, in
            # _dense_group_statistics, which saves a pass over X.
            X = check_array(
                X,
                accept_sparse="csr",
                dtype="numeric",
                ensure_all_finite=sp.issparse(X),
                ensure_min_samples=0,
                input_name="X",
            )
        n_rows, n_features = X.shape
        if n_features != self.n_features:
            raise ValueError(
                f"X has {n_features} features, but these statistics have "
                f"{self.n_features} features."
            )

        if (Y is None) != (self.n_targets == 0):
            raise ValueError(
                f"These statistics have n_targets={self.n_targets}; pass Y exactly when "
                "n_targets > 0."
            )
        # OneHotTargets, the class labels of MatryoshkaProjection, are valid already.
        if Y is not None and not isinstance(Y, OneHotTargets):
            Y = check_array(
                Y, ensure_2d=False, dtype=np.float64, ensure_min_samples=0, input_name="Y"
            )
            Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if Y is not None and Y.shape != (n_rows, self.n_targets):
            raise ValueError(
                f"Y has shape {Y.shape}; expected ({n_rows}, {self.n_targets}) "
                "to match X and these statistics."
            )

        # All-zero weights give empty statistics, the identity of merging.
        sample_weight = check_sample_weight(sample_weight, n_rows, allow_all_zero=True)
        return X, Y, sample_weight


def _n_columns(array, name, allow_1d=False):
    """Return the number of columns of a 2-D input (or 1 for a 1-D one if allowed)."""
    shape = array.shape if sp.issparse(array) or hasattr(array, "shape") else np.shape(array)
    if allow_1d and len(shape) == 1:
        return 1
    if len(shape) != 2:
        expected = "1- or 2-dimensional" if allow_1d else "2-dimensional"
        raise ValueError(
            f"{name} must be {expected}; got shape {shape}. Reshape a single sample with "
            f"{name}.reshape(1, -1) or a single feature with {name}.reshape(-1, 1)."
        )
    return shape[1]
