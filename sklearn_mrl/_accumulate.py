"""Row-block kernels that compute ScatterStatistics from dense and CSR data.

Dense rows are centered, or shifted close to their mean, one block at a time, and
their scatter is accumulated by BLAS (syrk for X and Y, gemm between them). CSR blocks
keep their sparse columns sparse. Groups of blocks are merged as a balanced tree.
ScatterStatistics.update is the only caller.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas
from sklearn.utils import assert_all_finite

# Rows per dense block are chosen so that one float64 block of [X, Y] takes about this
# many bytes, which keeps the centered block in cache while its scatter is formed.
DEFAULT_BLOCK_BYTES = 2 * 2**20

# A block has at least this many rows, so that the O(n_features^2) work per block (the
# merge of a sparse block) stays small next to the O(rows * n_features^2) product that
# forms its scatter.
MIN_BLOCK_ROWS = 256


class OneHotTargets:
    """Class labels given as integer codes, read as one-hot indicator columns.

    The statistics see n_classes target columns, but no n_samples x n_classes matrix
    is ever allocated: each row block writes its indicator columns into the block
    buffer. ``codes[i]`` is the column of row i, in 0 .. n_classes - 1.
    """

    def __init__(self, codes, n_classes):
        self.codes = codes
        self.n_classes = n_classes

    @property
    def shape(self):
        return (self.codes.shape[0], self.n_classes)

    def __getitem__(self, rows):
        """Return the indicator columns of a slice of rows as a float64 array."""
        start, stop, _ = rows.indices(self.codes.shape[0])
        block = np.empty((stop - start, self.n_classes))
        self.write_rows(start, stop, block)
        return block

    def write_rows(self, start, stop, out):
        """Write the indicator columns of rows start:stop into out."""
        out[...] = 0.0
        out[np.arange(stop - start), self.codes[start:stop]] = 1.0


class _PairwiseMerge:
    """Merge block statistics as a balanced binary tree, as pairwise summation does.

    Merging k blocks one after another lets the rounding error of the running mean grow
    with k, and that error enters the scatter through every later update. A tree keeps
    the depth, and so the growth, at log2(k), and keeps one partial result per level.
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


def _block_result(weight_sum, n_samples, mean, scatter, n_targets):
    # Imported here because _statistics imports this module when it is loaded.
    from ._statistics import ScatterStatistics

    return ScatterStatistics._from_arrays(
        weight_sum, n_samples, mean, scatter, n_targets=n_targets
    )


def _dense_statistics(X, Y, sample_weight, n_targets, block_bytes):
    """Compute the statistics of dense rows, in groups of row blocks.

    A group has at most as many blocks as a block has rows, so that the block means
    of a group take no more memory than one block. Groups are merged as a tree, with
    their means kept as offsets from the call's first row with positive weight (the
    reference), so that merging sorted groups far from the origin subtracts nearby
    values. The reference is added to the mean of the result.
    """
    n_rows, n_features = X.shape
    width = n_features + n_targets
    block_rows = min(max(MIN_BLOCK_ROWS, block_bytes // (8 * width)), n_rows)
    group_rows = block_rows * block_rows
    buffers = _BlockBuffers(block_rows, n_features, n_targets)
    # The reference is a row with positive weight: a masked row may hold any value.
    first = _first_weighted_row(sample_weight)
    reference = _joint_row(_dense_rows(X, first, first + 1)[0], Y, first, n_targets)

    tree = _PairwiseMerge()
    for start in range(0, n_rows, group_rows):
        stop = min(start + group_rows, n_rows)
        tree.add(_dense_group_statistics(X, Y, sample_weight, start, stop, buffers, reference))
    result = tree.result()
    if result.weight_sum > 0:
        result._mean += reference
    return result


class _BlockBuffers:
    """The centered or shifted rows of one block of X and Y, and a group's scatter.

    X and Y rows are kept in separate C-ordered buffers, so that each is written with
    contiguous rows. The transpose of a C-ordered block is Fortran-ordered, so the BLAS
    routines read the blocks in place. Only the upper triangles of the X and Y scatter
    are formed (syrk); the cross scatter is a matrix product (gemm).
    """

    def __init__(self, block_rows, n_features, n_targets):
        self.x_rows = np.empty((block_rows, n_features))
        self.y_rows = np.empty((block_rows, n_targets))
        self.n_features = n_features
        self.n_targets = n_targets

    def start_group(self):
        d, k = self.n_features, self.n_targets
        self.scatter_xx = np.zeros((d, d), order="F")
        self.scatter_xy = np.zeros((d, k), order="F")
        self.scatter_yy = np.zeros((k, k), order="F")

    def add_block_scatter(self, n_rows, shifted_mean=None):
        """Add the scatter of the first n_rows rows in the buffers to the group's scatter.

        Centered rows add their Gram matrix. Rows that are only shifted, with mean
        shifted_mean, add their Gram matrix minus n_rows times the outer product of
        shifted_mean with itself.
        """
        x_rows = self.x_rows[:n_rows]
        self.scatter_xx = blas.dsyrk(
            1.0, x_rows.T, beta=1.0, c=self.scatter_xx, overwrite_c=True
        )
        if self.n_targets:
            y_rows = self.y_rows[:n_rows]
            self.scatter_xy = blas.dgemm(
                1.0, x_rows.T, y_rows.T, trans_b=True, beta=1.0, c=self.scatter_xy,
                overwrite_c=True,
            )
            self.scatter_yy = blas.dsyrk(
                1.0, y_rows.T, beta=1.0, c=self.scatter_yy, overwrite_c=True
            )
        if shifted_mean is None:
            return

        x_mean, y_mean = shifted_mean[: self.n_features], shifted_mean[self.n_features :]
        self.scatter_xx = blas.dsyr(-n_rows, x_mean, a=self.scatter_xx, overwrite_a=True)
        if self.n_targets:
            self.scatter_xy = blas.dger(
                -n_rows, x_mean, y_mean, a=self.scatter_xy, overwrite_a=True
            )
            self.scatter_yy = blas.dsyr(-n_rows, y_mean, a=self.scatter_yy, overwrite_a=True)

    def diagonal(self):
        return np.concatenate([np.diagonal(self.scatter_xx), np.diagonal(self.scatter_yy)])

    def group_scatter(self):
        """Return the joint scatter of the group's blocks as a full symmetric matrix."""
        d = self.n_features
        scatter = np.empty((d + self.n_targets,) * 2)
        scatter[:d, :d] = _symmetric_from_upper(self.scatter_xx)
        scatter[:d, d:] = self.scatter_xy
        scatter[d:, :d] = self.scatter_xy.T
        scatter[d:, d:] = _symmetric_from_upper(self.scatter_yy)
        return scatter


def _symmetric_from_upper(upper):
    """Return the symmetric matrix whose upper triangle BLAS wrote into zeros."""
    # syrk, syr and their callers never write the strictly lower triangle, so it is 0.
    full = upper + upper.T
    np.fill_diagonal(full, np.diagonal(upper))
    return full


def _dense_group_statistics(X, Y, sample_weight, start, stop, buffers, reference):
    """Compute the statistics of rows start:stop, with their mean minus reference.

    The scatter of each block is added into one accumulator by BLAS, with no
    temporary matrix per block. The scatter between the block means is added once, at
    the end:

        S = sum_b S_b + sum_b W_b (m_b - m) (m_b - m)^T,

    the decomposition that the pairwise update applies to two parts at a time. Block
    means are kept as offsets from the reference, so that this term is formed from
    differences of nearby values and loses no digits to a large mean.

    The first block of a group, and every weighted block, is centered on its own
    mean. An unweighted later block is shifted by the mean c of the block before it
    and not centered, which saves a pass over the block: its scatter is then
    B^T B - n (m_b - c) (m_b - c)^T with B = X_b - c. That difference cancels digits
    only in proportion to 1 + |m_b - c|^2 / var_b. For rows in random order the
    factor is about 1 + 2 / n_b. Sorted rows make consecutive blocks differ more than
    their rows do. The digits lost are then below eps times the scatter between the
    blocks, which is part of the total scatter.
    """
    block_rows = buffers.x_rows.shape[0]
    n_features, n_targets = buffers.n_features, buffers.n_targets
    width = n_features + n_targets
    n_blocks = -(-(stop - start) // block_rows)
    mean_offsets = np.zeros((n_blocks, width))
    block_weights = np.zeros(n_blocks)
    n_samples = 0
    previous_mean = None
    buffers.start_group()

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
            if weights is None and previous_mean is not None:
                shift = previous_mean
                shifted_mean = _shift_block(x_block, Y, block_start, block_stop, shift, buffers)
                buffers.add_block_scatter(block_stop - block_start, shifted_mean)
                n_block_samples = block_stop - block_start
                weight_sum = float(n_block_samples)
            else:
                shift, shifted_mean, weight_sum, n_block_samples = _center_block(
                    x_block, Y, weights, block_start, block_stop, buffers
                )
                buffers.add_block_scatter(block_stop - block_start)
        _raise_if_block_not_finite(
            shifted_mean, buffers.diagonal(), x_block, block_start, block_stop
        )
        previous_mean = shift + shifted_mean

        mean_offsets[index] = (shift - reference) + shifted_mean
        block_weights[index] = weight_sum
        n_samples += n_block_samples

    weight_sum = block_weights.sum()
    if weight_sum == 0:
        return _block_result(0.0, 0, np.zeros(width), np.zeros((width, width)), n_targets)

    mean_offset = (block_weights @ mean_offsets) / weight_sum
    deviations = (mean_offsets - mean_offset) * np.sqrt(block_weights)[:, np.newaxis]
    scatter = buffers.group_scatter()
    scatter += deviations.T @ deviations
    return _block_result(weight_sum, n_samples, mean_offset, scatter, n_targets)


def _first_weighted_row(weights):
    """Return the index of the first row with positive weight (0 without weights)."""
    return 0 if weights is None else int(np.argmax(weights > 0))


def _joint_row(x_row, Y, row, n_targets):
    """Return the float64 row [x_row, Y[row]], with 0 for indicator columns."""
    joint = np.zeros(x_row.shape[0] + n_targets)
    joint[: x_row.shape[0]] = x_row
    if Y is not None and not isinstance(Y, OneHotTargets):
        joint[x_row.shape[0] :] = Y[row]
    return joint


def _write_shifted_rows(x_block, Y, start, stop, shift, buffers):
    """Write the rows start:stop of X and Y minus shift into the buffers; return them.

    Indicator columns are written as they are, and their entries of shift are set to
    0 here: an indicator column that is constant in the block is all 0 or all 1, and
    its mean is exact without a shift.
    """
    n_rows, n_features = x_block.shape
    x_rows = buffers.x_rows[:n_rows]
    y_rows = buffers.y_rows[:n_rows]
    np.subtract(x_block, shift[:n_features], out=x_rows)
    if isinstance(Y, OneHotTargets):
        shift[n_features:] = 0.0
        Y.write_rows(start, stop, y_rows)
    elif Y is not None:
        np.subtract(Y[start:stop], shift[n_features:], out=y_rows)
    return x_rows, y_rows


def _shift_block(x_block, Y, start, stop, shift, buffers):
    """Write the rows start:stop of X and Y minus shift into the buffers.

    Returns the mean of the shifted rows. shift may be changed in place, as
    _write_shifted_rows describes.
    """
    x_rows, y_rows = _write_shifted_rows(x_block, Y, start, stop, shift, buffers)
    ones = np.ones(x_rows.shape[0])
    return np.concatenate([ones @ x_rows, ones @ y_rows]) / x_rows.shape[0]


def _center_block(x_block, Y, weights, start, stop, buffers):
    """Write the centered (and weighted) rows start:stop of X and Y into the buffers.

    Returns the shift (the first row of the block with positive weight, joint over
    [X, Y]), the block mean minus the shift, the weight sum and the number of rows
    with positive weight. The rows in the buffers are sqrt(w_i) (z_i - mean), so that
    their Gram matrix is the block scatter.
    """
    n_rows, n_features = x_block.shape

    # Shift by a row of the block before the mean is formed, so that a constant column
    # becomes exactly 0 and gets an exact mean and a zero scatter. Without the shift,
    # the rounding of sum(x) / n leaves a constant column of a value such as 1.7e8 with
    # a spurious variance above the rank tolerance of the eigensolver.
    first = _first_weighted_row(weights)
    shift = _joint_row(x_block[first], Y, start + first, buffers.n_targets)
    x_rows, y_rows = _write_shifted_rows(x_block, Y, start, stop, shift, buffers)

    # The sums are matrix-vector products (BLAS gemv), several times faster than
    # numpy's sum along axis 0 for a C-ordered block. The mean of X is subtracted by a
    # rank-1 update (BLAS ger) on the Fortran-ordered view, which gives the same values
    # as x_rows -= mean in about 60% of the time.
    if weights is None:
        ones = np.ones(n_rows)
        x_mean = (ones @ x_rows) / n_rows
        y_mean = (ones @ y_rows) / n_rows
        blas.dger(-1.0, x_mean, ones, a=x_rows.T, overwrite_a=True)
        y_rows -= y_mean
        return shift, np.concatenate([x_mean, y_mean]), float(n_rows), n_rows

    weight_sum = weights.sum()
    root_weights = np.sqrt(weights)[:, np.newaxis]
    x_mean = (weights @ x_rows) / weight_sum
    y_mean = (weights @ y_rows) / weight_sum
    x_rows -= x_mean
    x_rows *= root_weights
    y_rows -= y_mean
    y_rows *= root_weights
    return shift, np.concatenate([x_mean, y_mean]), weight_sum, np.count_nonzero(weights)


def _sparse_statistics(X, Y, sample_weight, block_bytes):
    """Compute the statistics of CSR rows, block by block, merged as a balanced tree."""
    n_targets = 0 if Y is None else Y.shape[1]
    tree = _PairwiseMerge()
    for start, stop in _sparse_block_ranges(X, sample_weight, n_targets, block_bytes):
        weights = None if sample_weight is None else sample_weight[start:stop]
        y_block = None if Y is None else Y[start:stop]
        block = _sparse_block_statistics(X[start:stop], y_block, weights)
        _raise_if_not_finite(block, start, stop)
        tree.add(block)
    return tree.result()


def _sparse_block_ranges(X, sample_weight, n_targets, block_bytes):
    """Yield the (start, stop) rows of each sparse block.

    Without weights, each densified column of a block stores entries in more than half
    of the block's rows, so the densified part contains fewer than 2 * nnz values.
    Weight on a few rows with many stored entries can densify far more columns. Such a
    block is cut into parts of max(rows of a dense block, width) rows, so that the
    densified part of each takes no more memory than a dense block or the scatter
    matrix of the result.
    """
    n_rows, n_features = X.shape
    width = n_features + n_targets
    block_rows = _sparse_block_rows(X, n_targets, block_bytes)
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        if sample_weight is None:
            yield start, stop
            continue

        x_block = X[start:stop]
        block_weights = sample_weight[start:stop]
        n_dense = np.count_nonzero(_mostly_stored_columns(x_block, block_weights))
        if (stop - start) * n_dense <= 2 * x_block.nnz:
            yield start, stop
            continue
        part_rows = max(MIN_BLOCK_ROWS, block_bytes // (8 * width), width)
        for part_start in range(start, stop, part_rows):
            yield part_start, min(part_start + part_rows, stop)


def _sparse_block_rows(X, n_targets, block_bytes):
    """Choose rows per sparse block from the average number of stored entries per row."""
    entries_per_row = max(X.nnz / max(X.shape[0], 1), 1.0) + n_targets
    return max(MIN_BLOCK_ROWS, int(block_bytes // (12 * entries_per_row)))


def _sparse_block_statistics(x_block, y_block, weights):
    """Compute the statistics of one CSR block without densifying its sparse columns.

    Let p be the weighted stored fraction of column j: the weight of the rows that
    store an entry of column j, divided by the weight sum N of the block. The
    cancellation in B^T W B - N m m^T is then bounded by m_j^2 / var_j <= p / (1 - p),
    which is at most 1 for p <= 1/2. Columns with p <= 1/2 use that form. Columns with
    a larger p, and every target, are densified within the block and centered before
    their products are formed.
    """
    n_rows, n_features = x_block.shape
    n_targets = 0 if y_block is None else y_block.shape[1]
    width = n_features + n_targets
    if weights is None:
        weights = np.ones(n_rows)
    weight_sum = weights.sum()
    if weight_sum == 0:
        return _block_result(0.0, 0, np.zeros(width), np.zeros((width, width)), n_targets)

    x_block = x_block.astype(np.float64)
    is_dense = _mostly_stored_columns(x_block, weights)
    dense_columns = np.flatnonzero(is_dense)
    sparse_columns = np.flatnonzero(~is_dense)

    # The dense part D contains the dense X columns and the targets, centered.
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
    return _block_result(weight_sum, n_samples, mean, scatter, n_targets)


def _mostly_stored_columns(x_block, weights):
    """Return a mask of the columns whose stored entries carry more than half the weight.

    The weight counts, not the number of stored entries: a column stored in few rows
    that carry most of the weight has a weighted stored fraction near 1.
    """
    entry_weights = np.repeat(weights, np.diff(x_block.indptr))
    n_features = x_block.shape[1]
    stored_weight = np.bincount(x_block.indices, weights=entry_weights, minlength=n_features)
    return stored_weight > weights.sum() / 2


def _raise_if_not_finite(block, start, stop):
    """Raise if a sparse block produced NaN or infinity from finite but very large input.

    NaN and infinity in the input are rejected before, by name, unless scikit-learn's
    assume_finite option turns that check off.
    """
    if np.isfinite(block._scatter).all() and np.isfinite(block._mean).all():
        return
    raise _not_finite_error(start, stop)


def _raise_if_block_not_finite(shifted_mean, diagonal, x_block, start, stop):
    """Raise if a dense block made its mean or the accumulated scatter not finite.

    NaN or infinity in a row makes the block mean not finite. Finite values whose
    squares overflow make a diagonal entry infinite, and every other entry is bounded
    by the diagonal. So O(width) values show both, and only a failing block is scanned
    again, to name NaN or infinity in X as scikit-learn does.
    """
    if np.isfinite(shifted_mean).all() and np.isfinite(diagonal).all():
        return
    assert_all_finite(x_block, input_name="X")
    raise _not_finite_error(start, stop)


def _not_finite_error(start, stop):
    return ValueError(
        f"The statistics of rows {start} to {stop - 1} are not finite: X, Y or "
        "sample_weight contains values whose products overflow float64, or NaN or "
        "infinity while assume_finite is set. Rescale the data or remove those values."
    )
