"""Weighted, mergeable second-moment statistics shared by every estimator.

The statistics of a data set are its total sample weight, the weighted means of X and Y
and the centered scatter matrices Sxx, Sxy and Syy, all in float64. Every fit in this
package reads nothing else, so fitting in batches, on a cluster or per cross-validation
fold is the same operation: compute the statistics of each part and merge them.

Each row block is centered on its own mean before its scatter is formed. The scatter of
the blocks and of their means then add up as in the pairwise update of Chan, Golub and
LeVeque (1979, "Updating formulae and a pairwise algorithm for computing sample
variances"). The naive form X^T X - N m m^T is never used for dense data, because it
cancels every significant digit when the mean is large next to the spread.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas
from sklearn.utils import assert_all_finite, check_array

# Rows per dense block are chosen so that one float64 block of [X, Y] takes about this
# many bytes, which keeps the centered block in cache while its scatter is formed.
DEFAULT_BLOCK_BYTES = 2 * 2**20

# A block has at least this many rows, so that the O(n_features^2) work per block (the
# merge of a sparse block) stays small next to the O(rows * n_features^2) product that
# forms its scatter.
MIN_BLOCK_ROWS = 256


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
            Approximate size of one float64 row block, the only extra memory of the
            pass apart from O((n_features + n_targets)^2).

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

        statistics = cls(width - n_targets, n_targets)
        statistics.weight_sum = float(weight_sum)
        statistics.n_samples = int(n_samples)
        statistics._mean = mean
        statistics._scatter = (scatter + scatter.T) / 2
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
        new = ScatterStatistics(self.n_features, self.n_targets)
        new.weight_sum = self.weight_sum
        new.n_samples = self.n_samples
        new._mean = self._mean.copy()
        new._scatter = self._scatter.copy()
        return new

    def without_targets(self):
        """Return an independent copy of the statistics of X alone, with n_targets=0."""
        new = ScatterStatistics(self.n_features)
        new.weight_sum = self.weight_sum
        new.n_samples = self.n_samples
        new._mean = self.mean_x.copy()
        new._scatter = self.scatter_xx.copy()
        return new

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

        result = ScatterStatistics(self.n_features, self.n_targets)
        if other.weight_sum == 0:
            return self.copy()
        if remaining_weight <= tolerance:
            return result

        # Invert the pairwise update: N m = Na ma + Nb mb, Sxx = Sa + Sb + (Na Nb / N) d d^T.
        delta_from_part = self._mean - other._mean
        remaining_mean = self._mean + delta_from_part * (other.weight_sum / remaining_weight)
        delta = other._mean - remaining_mean
        coefficient = remaining_weight * other.weight_sum / self.weight_sum
        result.weight_sum = remaining_weight
        result.n_samples = self.n_samples - other.n_samples
        result._mean = remaining_mean
        result._scatter = self._scatter - other._scatter - coefficient * np.outer(delta, delta)
        return result

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
        if Y is not None:
            Y = check_array(
                Y, ensure_2d=False, dtype=np.float64, ensure_min_samples=0, input_name="Y"
            )
            Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
            if Y.shape != (n_rows, self.n_targets):
                raise ValueError(
                    f"Y has shape {Y.shape}; expected ({n_rows}, {self.n_targets}) "
                    "to match X and these statistics."
                )

        if sample_weight is not None:
            sample_weight = check_array(
                sample_weight,
                ensure_2d=False,
                dtype=np.float64,
                ensure_min_samples=0,
                input_name="sample_weight",
            )
            if sample_weight.shape != (n_rows,):
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape}; expected ({n_rows},)."
                )
            if np.any(sample_weight < 0):
                raise ValueError(
                    f"sample_weight must be non-negative; got {sample_weight.min()!r}. "
                    "Remove rows instead of giving them negative weight."
                )
        return X, Y, sample_weight


class _PairwiseMerge:
    """Merge block statistics as a balanced binary tree, as pairwise summation does.

    Merging k blocks one after another lets the rounding error of the running mean grow
    with k, and that error enters the scatter through every later update. A tree keeps
    the depth, and so the growth, at log2(k), and holds one partial result per level.
    """

    def __init__(self):
        self._levels = []  # (number of blocks, statistics), sizes strictly decreasing

    def add(self, block):
        size = 1
        while self._levels and self._levels[-1][0] == size:
            _, partial = self._levels.pop()
            partial._merge(block)
            block = partial
            size *= 2
        self._levels.append((size, block))

    def result(self):
        combined = None
        for _, partial in reversed(self._levels):
            if combined is not None:
                partial._merge(combined)
            combined = partial
        return combined


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


def _dense_rows(X, start, stop):
    """Return rows start:stop of an array or DataFrame as a float64-convertible array.

    Rows of a DataFrame are checked for NaN and infinity here, because a DataFrame is
    never converted as a whole. Rows of an array are checked by the caller.
    """
    if hasattr(X, "iloc"):
        rows = X.iloc[start:stop].to_numpy(dtype=np.float64, na_value=np.nan)
    elif not isinstance(X, np.ndarray) and hasattr(X, "to_numpy"):
        rows = X[start:stop].to_numpy().astype(np.float64)
    else:
        return X[start:stop]
    assert_all_finite(rows, input_name="X")
    return rows


def _block_result(n_features, n_targets, weight_sum, n_samples, mean, scatter):
    block = ScatterStatistics(n_features, n_targets)
    block.weight_sum = float(weight_sum)
    block.n_samples = int(n_samples)
    block._mean = mean
    block._scatter = scatter
    return block


def _dense_statistics(X, Y, sample_weight, n_targets, block_bytes):
    """Compute the statistics of dense rows, in groups of row blocks.

    A group has at most as many blocks as a block has rows, so that the block means
    of a group take no more memory than one block. Groups are merged as a tree.
    """
    n_rows, n_features = X.shape
    width = n_features + n_targets
    block_rows = max(MIN_BLOCK_ROWS, block_bytes // (8 * width))
    group_rows = block_rows * block_rows
    buffer = np.empty((min(block_rows, n_rows), width))
    tree = _PairwiseMerge()
    for start in range(0, n_rows, group_rows):
        stop = min(start + group_rows, n_rows)
        tree.add(_dense_group_statistics(X, Y, sample_weight, start, stop, buffer))
    return tree.result()


def _dense_group_statistics(X, Y, sample_weight, start, stop, buffer):
    """Compute the statistics of rows start:stop, one block of len(buffer) rows at a time.

    Each block is centered on its own mean and its scatter is added into one
    accumulator by a BLAS rank-k update (syrk), which forms only the upper triangle
    and needs no temporary matrix per block. The scatter between the block means is
    added once, at the end:

        S = sum_b S_b + sum_b W_b (m_b - m) (m_b - m)^T,

    the decomposition that the pairwise update applies to two parts at a time. Block
    means are kept as offsets from the first row of the group, so that this term is
    formed from differences of nearby values and loses no digits to a large mean.
    """
    block_rows, width = buffer.shape
    n_features = X.shape[1]
    n_blocks = -(-(stop - start) // block_rows)
    within = np.zeros((width, width), order="F")
    mean_offsets = np.zeros((n_blocks, width))
    block_weights = np.zeros(n_blocks)
    n_samples = 0
    reference = None

    for index, block_start in enumerate(range(start, stop, block_rows)):
        block_stop = min(block_start + block_rows, stop)
        x_block = _dense_rows(X, block_start, block_stop)
        weights = None if sample_weight is None else sample_weight[block_start:block_stop]
        if weights is not None and not np.any(weights):
            assert_all_finite(x_block, input_name="X")
            continue

        # NaN or infinity in X is reported by _raise_if_block_not_finite below, by
        # name; the RuntimeWarning of the arithmetic on it would only precede that.
        with np.errstate(invalid="ignore"):
            shift, shifted_mean, weight_sum, n_block_samples = _center_block(
                x_block, Y, weights, block_start, block_stop, buffer
            )

        # joint.T is Fortran-ordered, so syrk reads the block in place: within += J^T J.
        joint = buffer[: block_stop - block_start]
        within = blas.dsyrk(1.0, joint.T, beta=1.0, c=within, overwrite_c=True)
        _raise_if_block_not_finite(shifted_mean, within, x_block, block_start, block_stop)

        if reference is None:
            reference = shift
        mean_offsets[index] = (shift - reference) + shifted_mean
        block_weights[index] = weight_sum
        n_samples += n_block_samples

    n_targets = width - n_features
    weight_sum = block_weights.sum()
    if weight_sum == 0:
        return _block_result(
            n_features, n_targets, 0.0, 0, np.zeros(width), np.zeros((width, width))
        )

    mean_offset = (block_weights @ mean_offsets) / weight_sum
    deviations = (mean_offsets - mean_offset) * np.sqrt(block_weights)[:, np.newaxis]
    scatter = np.triu(within)
    scatter += np.triu(within, 1).T
    scatter += deviations.T @ deviations
    mean = reference + mean_offset
    return _block_result(n_features, n_targets, weight_sum, n_samples, mean, scatter)


def _center_block(x_block, Y, weights, start, stop, buffer):
    """Write the centered (and weighted) rows start:stop of [X, Y] into buffer.

    Returns the first row of the block (the shift), the block mean minus the shift,
    the weight sum and the number of rows with positive weight. The rows in the
    buffer are sqrt(w_i) (z_i - mean), so that their Gram matrix is the block scatter.
    """
    n_rows, n_features = x_block.shape
    width = buffer.shape[1]
    joint = buffer[:n_rows]

    # Shift by the first row before the mean is formed, so that a constant column
    # becomes exactly 0 and gets an exact mean and a zero scatter. Without the shift,
    # the rounding of sum(x) / n leaves a constant column of a value such as 1.7e8 with
    # a spurious variance above the rank tolerance of the eigensolver.
    shift = np.empty(width)
    shift[:n_features] = x_block[0]
    np.subtract(x_block, shift[:n_features], out=joint[:, :n_features])
    if Y is not None:
        shift[n_features:] = Y[start]
        np.subtract(Y[start:stop], shift[n_features:], out=joint[:, n_features:])

    # The sums are matrix-vector products (BLAS gemv), several times faster than
    # numpy's sum along axis 0 for a C-ordered block.
    if weights is None:
        shifted_mean = (np.ones(n_rows) @ joint) / n_rows
        joint -= shifted_mean
        return shift, shifted_mean, float(n_rows), n_rows

    weight_sum = weights.sum()
    shifted_mean = (weights @ joint) / weight_sum
    joint -= shifted_mean
    joint *= np.sqrt(weights)[:, np.newaxis]
    return shift, shifted_mean, weight_sum, np.count_nonzero(weights)


def _sparse_statistics(X, Y, sample_weight, block_bytes):
    """Compute the statistics of CSR rows, block by block, merged as a balanced tree."""
    n_rows = X.shape[0]
    n_targets = 0 if Y is None else Y.shape[1]
    block_rows = _sparse_block_rows(X, n_targets, block_bytes)
    tree = _PairwiseMerge()
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        weights = None if sample_weight is None else sample_weight[start:stop]
        y_block = None if Y is None else Y[start:stop]
        block = _sparse_block_statistics(X[start:stop], y_block, weights)
        _raise_if_not_finite(block, start, stop)
        tree.add(block)
    return tree.result()


def _sparse_block_rows(X, n_targets, block_bytes):
    """Choose rows per sparse block from the average number of stored entries per row."""
    entries_per_row = max(X.nnz / max(X.shape[0], 1), 1.0) + n_targets
    return max(MIN_BLOCK_ROWS, int(block_bytes // (12 * entries_per_row)))


def _sparse_block_statistics(x_block, y_block, weights):
    """Compute the statistics of one CSR block without densifying its sparse columns.

    For a column with at most half of its entries stored, the cancellation in
    B^T W B - N m m^T is bounded: m_j^2 / var_j <= p / (1 - p) <= 1 for a stored
    fraction p. Such columns use that form. Denser columns, and every target, are
    densified within the block and centered before their products are formed.
    """
    n_rows, n_features = x_block.shape
    n_targets = 0 if y_block is None else y_block.shape[1]
    width = n_features + n_targets
    if weights is None:
        weights = np.ones(n_rows)
    weight_sum = weights.sum()
    if weight_sum == 0:
        return _block_result(
            n_features, n_targets, 0.0, 0, np.zeros(width), np.zeros((width, width))
        )

    x_block = x_block.astype(np.float64)
    stored_per_column = np.bincount(x_block.indices, minlength=n_features)
    dense_columns = np.flatnonzero(stored_per_column > n_rows / 2)
    sparse_columns = np.flatnonzero(stored_per_column <= n_rows / 2)

    # The dense part D holds the dense X columns and the targets, centered.
    dense_part = x_block[:, dense_columns].toarray()
    if y_block is not None:
        dense_part = np.hstack([dense_part, y_block])
    # Shift by the first row, as for dense blocks, so that constant columns stay exact.
    dense_shift = dense_part[0].copy()
    dense_part -= dense_shift
    dense_shifted_mean = (weights @ dense_part) / weight_sum
    dense_part -= dense_shifted_mean
    dense_mean = dense_shift + dense_shifted_mean
    weighted_dense = dense_part * weights[:, np.newaxis]

    sparse_part = x_block[:, sparse_columns]
    weighted_sparse = sp.diags(weights) @ sparse_part
    sparse_mean = np.asarray(weighted_sparse.sum(axis=0)).ravel() / weight_sum
    sparse_gram = (sparse_part.T @ weighted_sparse).toarray()
    sparse_scatter = sparse_gram - weight_sum * np.outer(sparse_mean, sparse_mean)
    # Centering the dense side alone is exact here, because sum_i w_i d_i = 0.
    cross_scatter = np.asarray(sparse_part.T @ weighted_dense)
    dense_scatter = dense_part.T @ weighted_dense

    dense_index = np.concatenate([dense_columns, np.arange(n_features, width)])
    mean = np.empty(width)
    mean[sparse_columns] = sparse_mean
    mean[dense_index] = dense_mean
    scatter = np.empty((width, width))
    scatter[np.ix_(sparse_columns, sparse_columns)] = sparse_scatter
    scatter[np.ix_(sparse_columns, dense_index)] = cross_scatter
    scatter[np.ix_(dense_index, sparse_columns)] = cross_scatter.T
    scatter[np.ix_(dense_index, dense_index)] = dense_scatter
    n_samples = np.count_nonzero(weights)
    return _block_result(n_features, n_targets, weight_sum, n_samples, mean, scatter)


def _raise_if_not_finite(block, start, stop):
    """Raise if a sparse block produced NaN or infinity from finite but very large input.

    NaN and infinity in the input are rejected before, by name, unless scikit-learn's
    assume_finite option turns that check off.
    """
    if np.isfinite(block._scatter).all() and np.isfinite(block._mean).all():
        return
    raise _not_finite_error(start, stop)


def _raise_if_block_not_finite(shifted_mean, within, x_block, start, stop):
    """Raise if a dense block made its mean or the accumulated scatter not finite.

    NaN or infinity in a row makes the block mean not finite; finite values whose
    squares overflow make a diagonal entry infinite, and every other entry is bounded
    by the diagonal. So O(width) values show both, and only a failing block is scanned
    again, to name NaN or infinity in X as scikit-learn does.
    """
    if np.isfinite(shifted_mean).all() and np.isfinite(np.diagonal(within)).all():
        return
    assert_all_finite(x_block, input_name="X")
    raise _not_finite_error(start, stop)


def _not_finite_error(start, stop):
    return ValueError(
        f"The statistics of rows {start} to {stop - 1} are not finite: X, Y or "
        "sample_weight contains values whose products overflow float64, or NaN or "
        "infinity while assume_finite is set. Rescale the data or remove those values."
    )
