"""Tests of ScatterStatistics against a direct two-pass float64 computation."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sklearn_mrl import ScatterStatistics
from sklearn_mrl._statistics import MIN_BLOCK_ROWS, OneHotTargets

# A block_bytes of 1 gives the smallest block, MIN_BLOCK_ROWS rows, so every data set
# below (N_ROWS rows, with a shorter last block) spans several blocks.
SMALL_BLOCK_BYTES = 1
N_ROWS = 5 * MIN_BLOCK_ROWS + 37
N_FEATURES = 5
N_TARGETS = 2
RTOL = 1e-12


def dense_data(seed=0, n_rows=N_ROWS, offset=0.0):
    """Return well-conditioned X, Y and integer-valued sample weights with some zeros."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((N_FEATURES, N_FEATURES)) + 3 * np.eye(N_FEATURES)
    X = rng.standard_normal((n_rows, N_FEATURES)) @ mixing + rng.uniform(-2, 2, N_FEATURES)
    Y = X[:, :N_TARGETS] @ rng.standard_normal((N_TARGETS, N_TARGETS))
    Y += rng.standard_normal((n_rows, N_TARGETS))
    weights = rng.integers(0, 4, n_rows).astype(np.float64)
    return X + offset, Y, weights


def sparse_data(seed=0, offset=1e4):
    """Return a CSR matrix whose columns 0-2 are sparse and columns 3-4 stored densely.

    Column 3 has about 80% of its entries stored, more than half, and column 4 has
    every entry stored around a large offset. Without centering, X^T X - N m m^T would
    lose about log10(offset^2) of the 16 digits in column 4.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    density = np.array([0.05, 0.2, 0.4, 0.8, 1.0])
    X[rng.uniform(size=X.shape) >= density] = 0.0
    X[:, 4] += offset
    return sp.csr_matrix(X)


def to_dense(X):
    if sp.issparse(X):
        return X.toarray()
    if isinstance(X, pd.DataFrame):
        return X.to_numpy(dtype=np.float64)
    return np.asarray(X, dtype=np.float64)


def reference_statistics(X, Y=None, sample_weight=None):
    """Return weight sum, mean and scatter of [X, Y] by two passes.

    The passes run in numpy's extended precision (80-bit on x86), so that the reference
    is more accurate than the float64 code under test even far from the origin.
    """
    joint = to_dense(X)
    if Y is not None:
        joint = np.hstack([joint, np.asarray(Y, dtype=np.float64).reshape(joint.shape[0], -1)])
    weights = np.ones(joint.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    joint = joint.astype(np.longdouble)
    weights = weights.astype(np.longdouble)

    mean = (weights @ joint) / weights.sum()
    centered = joint - mean
    scatter = (centered * weights[:, np.newaxis]).T @ centered
    return float(weights.sum()), mean.astype(np.float64), scatter.astype(np.float64)


def relative_error(actual, expected):
    """Return max |actual - expected| / max |expected|, the normwise relative error."""
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


def assert_matches_reference(statistics, X, Y=None, sample_weight=None, rtol=RTOL):
    weight_sum, mean, scatter = reference_statistics(X, Y, sample_weight)
    n_features = X.shape[1]
    weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    spread = np.sqrt(np.diag(scatter) / weight_sum).max()

    assert statistics.weight_sum == pytest.approx(weight_sum, rel=rtol)
    assert statistics.n_samples == np.count_nonzero(weights)
    np.testing.assert_allclose(statistics.mean_x, mean[:n_features], rtol=rtol, atol=rtol * spread)
    np.testing.assert_allclose(statistics.mean_y, mean[n_features:], rtol=rtol, atol=rtol * spread)
    assert relative_error(statistics.scatter_xx, scatter[:n_features, :n_features]) <= rtol
    if Y is not None:
        assert relative_error(statistics.scatter_xy, scatter[:n_features, n_features:]) <= rtol
        assert relative_error(statistics.scatter_yy, scatter[n_features:, n_features:]) <= rtol


def assert_statistics_equal(actual, expected):
    """Assert that two statistics agree to RTOL in every field."""
    spread = np.sqrt(np.diag(expected._scatter) / max(expected.weight_sum, 1.0)).max()
    assert actual.weight_sum == pytest.approx(expected.weight_sum, rel=RTOL)
    assert actual.n_samples == expected.n_samples
    np.testing.assert_allclose(actual._mean, expected._mean, rtol=RTOL, atol=RTOL * spread)
    assert relative_error(actual._scatter, expected._scatter) <= RTOL


def assert_statistics_identical(actual, expected):
    """Assert that two statistics agree bit for bit."""
    assert actual.weight_sum == expected.weight_sum
    assert actual.n_samples == expected.n_samples
    assert np.array_equal(actual._mean, expected._mean)
    assert np.array_equal(actual._scatter, expected._scatter)


def assert_empty(statistics):
    assert statistics.weight_sum == 0
    assert statistics.n_samples == 0
    assert not np.any(statistics._scatter)


# One pass over row blocks, against the two-pass reference.


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("use_targets", [False, True], ids=["x_only", "with_y"])
def test_from_data_dense_blocks(use_weights, use_targets):
    X, Y, weights = dense_data()
    Y = Y if use_targets else None
    weights = weights if use_weights else None

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, weights)


def test_from_data_default_blocks():
    X, Y, weights = dense_data()

    statistics = ScatterStatistics.from_data(X, Y, weights)

    assert_matches_reference(statistics, X, Y, weights)


def test_from_data_large_offset():
    X, Y, weights = dense_data(offset=1e6)

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    # Each block mean carries a rounding error of about eps * offset = 2e-10, which
    # enters every pairwise merge, so 1e-11 relative is the accuracy to expect here.
    assert_matches_reference(statistics, X, Y, weights, rtol=1e-11)


@pytest.mark.parametrize("use_targets", [False, True], ids=["x_only", "with_y"])
def test_from_data_large_offset_unweighted(use_targets):
    # Unweighted blocks after the first are shifted by the previous block mean instead
    # of centered. Far from the origin this must be as accurate as centering.
    X, Y, _ = dense_data(offset=1e6)
    Y = Y if use_targets else None

    statistics = ScatterStatistics.from_data(X, Y, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, rtol=1e-11)


def test_from_data_sorted_rows():
    # Sorted rows make consecutive block means differ by more than the spread within
    # a block. Column 1 is constant within each block and steps between blocks.
    X, Y, _ = dense_data(offset=1e6)
    X = X[np.argsort(X[:, 0])]
    X[:, 1] = 1e6 + np.arange(N_ROWS) // MIN_BLOCK_ROWS

    statistics = ScatterStatistics.from_data(X, Y, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, rtol=1e-11)


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
def test_from_data_sorted_groups_far_from_origin(use_weights):
    # More than MIN_BLOCK_ROWS^2 rows make several groups of blocks, whose means differ
    # by far more than eps * 1e8 when the rows are sorted.
    n_rows = 2 * MIN_BLOCK_ROWS**2 + 123
    X, Y, weights = dense_data(n_rows=n_rows, offset=1e8)
    order = np.argsort(X[:, 0])
    X, Y, weights = X[order], Y[order], weights[order]
    weights = weights if use_weights else None

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, weights, rtol=1e-12)


@pytest.mark.parametrize("block_bytes", [SMALL_BLOCK_BYTES, None], ids=["small", "default"])
def test_from_data_masked_far_row_is_ignored(block_bytes):
    # A row with zero weight may hold any value, here one far from the data, at the
    # start of the call and at the start of a weighted block.
    X, Y, weights = dense_data()
    weights[: MIN_BLOCK_ROWS + 10] = 0.0
    weights[2 * MIN_BLOCK_ROWS] = 0.0
    X[0] = 1e20
    X[2 * MIN_BLOCK_ROWS] = -1e20
    options = {} if block_bytes is None else {"block_bytes": block_bytes}

    statistics = ScatterStatistics.from_data(X, Y, weights, **options)

    positive = weights > 0
    assert_matches_reference(statistics, X[positive], Y[positive], weights[positive])


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
def test_from_data_constant_column_is_exact(use_weights):
    X, Y, weights = dense_data()
    X[:, 2] = 1.7e8
    weights = weights if use_weights else None

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert statistics.mean_x[2] == 1.7e8
    assert not np.any(statistics.scatter_xx[2])
    assert not np.any(statistics.scatter_xy[2])


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
def test_from_data_one_hot_targets(use_weights):
    # Class codes are read as indicator columns without an n_rows x n_classes matrix.
    X, _, weights = dense_data()
    weights = weights if use_weights else None
    codes = np.random.default_rng(3).integers(0, 4, N_ROWS)
    codes[: 2 * MIN_BLOCK_ROWS] = 2  # blocks where one class is constant
    indicators = np.eye(4)[codes]

    statistics = ScatterStatistics.from_data(
        X, OneHotTargets(codes, 4), weights, block_bytes=SMALL_BLOCK_BYTES
    )

    assert statistics.n_targets == 4
    assert_matches_reference(statistics, X, indicators, weights)


def test_from_data_one_dimensional_y():
    X, Y, _ = dense_data()

    statistics = ScatterStatistics.from_data(X, Y[:, 0], block_bytes=SMALL_BLOCK_BYTES)

    assert statistics.n_targets == 1
    assert_matches_reference(statistics, X, Y[:, :1])


@pytest.mark.parametrize("sparse_format", ["csr", "csc", "coo"])
@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("use_targets", [False, True], ids=["x_only", "with_y"])
def test_from_data_sparse_blocks(sparse_format, use_weights, use_targets):
    X = sparse_data().asformat(sparse_format)
    _, Y, weights = dense_data()
    Y = Y if use_targets else None
    weights = weights if use_weights else None

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, weights)


@pytest.mark.parametrize("density", [0.1, 0.9], ids=["all_sparse", "all_dense"])
def test_from_data_sparse_uniform_columns(density):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    X[rng.uniform(size=X.shape) >= density] = 0.0
    X = sp.csr_matrix(X)

    statistics = ScatterStatistics.from_data(X, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X)


def test_from_data_sparse_weight_on_stored_rows():
    # Column 0 is stored in about 10% of the rows, but those rows carry almost all the
    # weight, so its weighted mean 1e6 is large next to its weighted spread of about 3.5.
    # The form B^T W B - N m m^T would cancel about 11 of the 16 digits of its scatter.
    rng = np.random.default_rng(2)
    stored = rng.uniform(size=N_ROWS) < 0.1
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    X[:, 0] = np.where(stored, 1e6 + rng.standard_normal(N_ROWS), 0.0)
    weights = np.where(stored, 1.0, 1e-12)

    statistics = ScatterStatistics.from_data(
        sp.csr_matrix(X), sample_weight=weights, block_bytes=SMALL_BLOCK_BYTES
    )

    # 1e-11 relative, as for dense data with offset 1e6 in test_from_data_large_offset.
    assert_matches_reference(statistics, X, sample_weight=weights, rtol=1e-11)


def heavy_dense_rows_data(n_rows, n_features, seed=3):
    """Return CSR data with one entry per row, except every 1000th row, which stores
    every column, and weights of 10000 on those rows and 1 on the others.

    Those rows carry about 90% of the weight, so every column is densified.
    """
    rng = np.random.default_rng(seed)
    is_heavy = np.arange(n_rows) % 1000 == 0
    light_rows = np.flatnonzero(~is_heavy)
    heavy_rows = np.flatnonzero(is_heavy)
    rows = np.concatenate([light_rows, np.repeat(heavy_rows, n_features)])
    columns = np.concatenate(
        [
            rng.integers(0, n_features, light_rows.size),
            np.tile(np.arange(n_features), heavy_rows.size),
        ]
    )
    values = rng.standard_normal(rows.size)
    X = sp.csr_matrix((values, (rows, columns)), shape=(n_rows, n_features))
    weights = np.where(is_heavy, 10000.0, 1.0)
    return X, weights


def test_from_data_sparse_heavy_dense_rows():
    X, weights = heavy_dense_rows_data(n_rows=8000, n_features=100)

    statistics = ScatterStatistics.from_data(X, sample_weight=weights)

    assert_matches_reference(statistics, X, sample_weight=weights)


def test_from_data_sparse_heavy_rows_memory():
    # The 30000 rows fit in one default block. Densified whole, that block would take
    # 30000 * 200 * 8 bytes = 46 MiB per copy, but its parts of 1310 rows take 2 MiB
    # each. The bound of 24 MiB leaves room for several copies of a part.
    X, weights = heavy_dense_rows_data(n_rows=30000, n_features=200)

    tracemalloc.start()
    try:
        ScatterStatistics.from_data(X, sample_weight=weights)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak_bytes < 24 * 2**20


def test_from_data_sparse_equals_dense():
    X = sparse_data()
    _, Y, weights = dense_data()

    from_sparse = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)
    from_dense = ScatterStatistics.from_data(X.toarray(), Y, weights)

    assert_statistics_equal(from_sparse, from_dense)


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
def test_from_data_dataframe(use_weights):
    X, Y, weights = dense_data()
    weights = weights if use_weights else None
    frame = pd.DataFrame(
        {
            "float64": X[:, 0],
            "float32": X[:, 1].astype(np.float32),
            "int64": np.round(10 * X[:, 2]).astype(np.int64),
            "rest_a": X[:, 3],
            "rest_b": X[:, 4],
        }
    )

    statistics = ScatterStatistics.from_data(frame, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, frame, Y, weights)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_from_data_float32_exact(sparse):
    X = sparse_data() if sparse else dense_data()[0]
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)

    from_float32 = ScatterStatistics.from_data(X32, block_bytes=SMALL_BLOCK_BYTES)
    from_float64 = ScatterStatistics.from_data(X64, block_bytes=SMALL_BLOCK_BYTES)

    assert_statistics_identical(from_float32, from_float64)


def test_update_equals_concatenation():
    X, Y, weights = dense_data()
    split = 400

    statistics = ScatterStatistics.from_data(X[:split], Y[:split], weights[:split])
    statistics.update(X[split:], Y[split:], weights[split:], block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, weights)


# Merging with a + b and removing with total - part.


def sorted_parts(X, Y, weights, boundaries):
    """Split rows sorted by the first feature, so that the parts have different means."""
    order = np.argsort(X[:, 0])
    X, Y, weights = X[order], Y[order], weights[order]
    starts = [0, *boundaries]
    stops = [*boundaries, X.shape[0]]
    return [(X[a:b], Y[a:b], weights[a:b]) for a, b in zip(starts, stops)]


def test_add_equals_whole():
    X, Y, weights = dense_data()
    parts = sorted_parts(X, Y, weights, [300, 310, 900])

    merged = ScatterStatistics(N_FEATURES, N_TARGETS)
    for part in parts:
        merged = merged + ScatterStatistics.from_data(*part, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(merged, X, Y, weights)


def test_add_is_associative():
    X, Y, weights = dense_data()
    parts = sorted_parts(X, Y, weights, [200, 700])
    a, b, c = (ScatterStatistics.from_data(*part) for part in parts)

    left = (a + b) + c
    right = a + (b + c)

    assert_statistics_equal(left, right)


def test_add_is_commutative():
    X, Y, weights = dense_data()
    a, b = (ScatterStatistics.from_data(*part) for part in sorted_parts(X, Y, weights, [500]))

    assert_statistics_equal(a + b, b + a)


def test_add_leaves_operands_unchanged():
    X, Y, weights = dense_data()
    a, b = (ScatterStatistics.from_data(*part) for part in sorted_parts(X, Y, weights, [500]))
    a_before, b_before = a.copy(), b.copy()

    _ = a + b

    assert_statistics_identical(a, a_before)
    assert_statistics_identical(b, b_before)


def test_add_empty_is_identity():
    X, Y, weights = dense_data()
    statistics = ScatterStatistics.from_data(X, Y, weights)
    empty = ScatterStatistics(N_FEATURES, N_TARGETS)

    assert_statistics_identical(statistics + empty, statistics)
    assert_statistics_identical(empty + statistics, statistics)


@pytest.mark.parametrize("use_weights", [False, True], ids=["unweighted", "weighted"])
def test_subtract_part_equals_rest(use_weights):
    X, Y, weights = dense_data()
    weights = weights if use_weights else np.ones(X.shape[0])
    part = sorted_parts(X, Y, weights, [450])[0]
    rest = sorted_parts(X, Y, weights, [450])[1]

    total = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)
    remaining = total - ScatterStatistics.from_data(*part)

    assert_matches_reference(remaining, *rest)


def test_subtract_sparse_fold():
    # Merging and subtracting round each mean to about eps * |mean|, which enters the
    # pairwise update term and limits the relative error to about eps * offset / spread
    # (1.5e-12 measured with offset 1e4), so this test uses a smaller offset.
    X = sparse_data(offset=1e3)
    _, Y, weights = dense_data()
    fold = np.arange(N_ROWS) % 3 == 0

    total = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)
    remaining = total - ScatterStatistics.from_data(X[fold], Y[fold], weights[fold])

    assert_matches_reference(remaining, X[~fold], Y[~fold], weights[~fold])


def test_subtract_undoes_add():
    X, Y, weights = dense_data()
    a, b = (ScatterStatistics.from_data(*part) for part in sorted_parts(X, Y, weights, [600]))

    assert_statistics_equal((a + b) - b, a)


def test_subtract_empty_is_identity():
    X, Y, weights = dense_data()
    statistics = ScatterStatistics.from_data(X, Y, weights)

    assert_statistics_identical(statistics - ScatterStatistics(N_FEATURES, N_TARGETS), statistics)


def test_subtract_whole_gives_empty():
    X, Y, weights = dense_data()
    statistics = ScatterStatistics.from_data(X, Y, weights)

    assert_empty(statistics - statistics.copy())


def test_subtract_superset_raises():
    X, Y, _ = dense_data()
    part = ScatterStatistics.from_data(X[:10], Y[:10])
    whole = ScatterStatistics.from_data(X, Y)

    with pytest.raises(ValueError, match="Cannot subtract statistics of more rows than were seen"):
        part - whole


# Empty data and zero weights.


def test_from_data_no_rows():
    statistics = ScatterStatistics.from_data(np.empty((0, N_FEATURES)))

    assert_empty(statistics)


def test_zero_weights_equal_removal():
    X, Y, weights = dense_data()
    positive = weights > 0

    weighted = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)
    removed = ScatterStatistics.from_data(X[positive], Y[positive], weights[positive])

    assert_statistics_equal(weighted, removed)


def test_zero_weight_block_is_skipped():
    X, Y, weights = dense_data()
    weights[: 2 * MIN_BLOCK_ROWS] = 0.0

    statistics = ScatterStatistics.from_data(X, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_matches_reference(statistics, X, Y, weights)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_all_zero_weights_give_empty(sparse):
    X = sparse_data() if sparse else dense_data()[0]

    statistics = ScatterStatistics.from_data(X, sample_weight=np.zeros(N_ROWS))

    assert_empty(statistics)


def test_merge_with_zero_weight_part():
    X, Y, weights = dense_data()
    zero_weight = ScatterStatistics.from_data(X[:5], Y[:5], np.zeros(5))
    statistics = ScatterStatistics.from_data(X, Y, weights)

    assert_statistics_identical(statistics + zero_weight, statistics)


# Input errors.


def test_update_wrong_n_features_raises():
    statistics = ScatterStatistics(N_FEATURES)

    with pytest.raises(ValueError, match="X has 3 features, but these statistics have 5 features"):
        statistics.update(np.ones((4, 3)))


def test_update_wrong_y_rows_raises():
    X, Y, _ = dense_data()
    statistics = ScatterStatistics(N_FEATURES, N_TARGETS)

    with pytest.raises(ValueError, match=r"Y has shape \(10, 2\); expected \(20, 2\)"):
        statistics.update(X[:20], Y[:10])


def test_update_wrong_y_columns_raises():
    X, Y, _ = dense_data()
    statistics = ScatterStatistics(N_FEATURES, n_targets=3)

    with pytest.raises(ValueError, match=r"Y has shape \(20, 2\); expected \(20, 3\)"):
        statistics.update(X[:20], Y[:20])


def test_update_missing_y_raises():
    X, _, _ = dense_data()
    statistics = ScatterStatistics(N_FEATURES, N_TARGETS)

    with pytest.raises(ValueError, match="n_targets=2; pass Y exactly when n_targets > 0"):
        statistics.update(X)


def test_update_unexpected_y_raises():
    X, Y, _ = dense_data()
    statistics = ScatterStatistics(N_FEATURES)

    with pytest.raises(ValueError, match="n_targets=0; pass Y exactly when n_targets > 0"):
        statistics.update(X, Y)


def test_update_wrong_weight_shape_raises():
    X, _, _ = dense_data()
    statistics = ScatterStatistics(N_FEATURES)

    with pytest.raises(ValueError, match=r"sample_weight has shape \(3,\), but X has 20 samples"):
        statistics.update(X[:20], sample_weight=np.ones(3))


def test_update_negative_weight_raises():
    X, _, _ = dense_data()
    weights = np.ones(20)
    weights[7] = -0.5

    with pytest.raises(ValueError, match=r"sample_weight must be non-negative; got .*-0\.5"):
        ScatterStatistics.from_data(X[:20], sample_weight=weights)


def test_update_nan_weight_raises():
    X, _, _ = dense_data()
    weights = np.ones(20)
    weights[3] = np.nan

    with pytest.raises(ValueError, match="Input sample_weight contains NaN"):
        ScatterStatistics.from_data(X[:20], sample_weight=weights)


def test_from_data_one_dimensional_x_raises():
    with pytest.raises(ValueError, match=r"X must be 2-dimensional; got shape \(5,\)"):
        ScatterStatistics.from_data(np.ones(5))


def test_update_one_dimensional_x_raises():
    statistics = ScatterStatistics(N_FEATURES)

    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        statistics.update(np.ones(5))


@pytest.mark.parametrize("container", ["array", "dataframe"])
def test_update_nan_raises(container):
    X, _, _ = dense_data()
    X[3 * MIN_BLOCK_ROWS + 1, 2] = np.nan
    X = pd.DataFrame(X) if container == "dataframe" else X

    with pytest.raises(ValueError, match="Input X contains NaN"):
        ScatterStatistics.from_data(X, block_bytes=SMALL_BLOCK_BYTES)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_update_overflow_raises():
    X, _, _ = dense_data()
    X[3 * MIN_BLOCK_ROWS + 1, 2] = 1e300
    message = f"The statistics of rows {3 * MIN_BLOCK_ROWS} to {4 * MIN_BLOCK_ROWS - 1} are not"

    with pytest.raises(ValueError, match=message):
        ScatterStatistics.from_data(X, block_bytes=SMALL_BLOCK_BYTES)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_update_error_keeps_statistics():
    X, Y, weights = dense_data()
    statistics = ScatterStatistics.from_data(X[:100], Y[:100], weights[:100])
    before = statistics.copy()
    X_bad = X.copy()
    X_bad[-1, 0] = 1e300

    with pytest.raises(ValueError, match="are not finite"):
        statistics.update(X_bad, Y, weights, block_bytes=SMALL_BLOCK_BYTES)

    assert_statistics_identical(statistics, before)


def test_add_different_shapes_raises():
    a = ScatterStatistics(N_FEATURES, N_TARGETS)
    b = ScatterStatistics(N_FEATURES, 1)

    with pytest.raises(ValueError, match=r"Cannot combine statistics of different shapes"):
        a + b


def test_subtract_different_shapes_raises():
    a = ScatterStatistics(N_FEATURES)
    b = ScatterStatistics(N_FEATURES + 1)

    with pytest.raises(ValueError, match=r"Cannot combine statistics of different shapes"):
        a - b


def test_add_non_statistics_raises():
    statistics = ScatterStatistics(N_FEATURES)

    with pytest.raises(TypeError, match="Expected ScatterStatistics, got ndarray"):
        statistics + np.zeros(N_FEATURES)


@pytest.mark.parametrize(
    ("n_features", "n_targets", "message"),
    [
        (0, 0, "n_features must be an integer >= 1; got 0"),
        (2.5, 0, "n_features must be an integer >= 1; got 2.5"),
        (3, -1, "n_targets must be an integer >= 0; got -1"),
    ],
)
def test_constructor_invalid_sizes_raise(n_features, n_targets, message):
    with pytest.raises(ValueError, match=message):
        ScatterStatistics(n_features, n_targets)


def test_from_moments_affine_transform():
    X, Y, weights = dense_data()
    transform = np.random.default_rng(5).standard_normal((3, N_FEATURES))
    shift = np.array([1.0, -2.0, 0.5])
    statistics = ScatterStatistics.from_data(X, Y, weights)

    mapped = ScatterStatistics.from_moments(
        statistics.weight_sum,
        statistics.n_samples,
        np.concatenate([transform @ statistics.mean_x + shift, statistics.mean_y]),
        np.block([
            [transform @ statistics.scatter_xx @ transform.T, transform @ statistics.scatter_xy],
            [statistics.scatter_xy.T @ transform.T, statistics.scatter_yy],
        ]),
        n_targets=N_TARGETS,
    )

    assert mapped.n_features == 3
    assert_matches_reference(mapped, X @ transform.T + shift, Y, weights)


def test_from_moments_shape_mismatch_raises():
    with pytest.raises(ValueError, match="expected \\(width,\\) and \\(width, width\\)"):
        ScatterStatistics.from_moments(3.0, 3, np.zeros(2), np.zeros((3, 3)))


def test_subtract_non_subset_raises():
    X, _, _ = dense_data(n_rows=12)
    whole = ScatterStatistics.from_data(X)
    outside = ScatterStatistics.from_data(X[:5] * 3)

    # The remainder would have a negative variance in some direction.
    assert np.linalg.eigvalsh((whole.scatter_xx - outside.scatter_xx))[0] < 0
    with pytest.raises(ValueError, match="not those of a subset"):
        whole - outside
    with pytest.raises(ValueError, match="not those of a subset"):
        whole - ScatterStatistics.from_data(X + 100)


def test_subtract_reordered_whole_gives_empty():
    X, _, _ = dense_data()
    whole = ScatterStatistics.from_data(X)

    remainder = whole - ScatterStatistics.from_data(X[::-1])
    assert remainder.weight_sum == 0


def test_sum_merges_parts():
    X, Y, weights = dense_data()
    parts = [ScatterStatistics.from_data(X[i::3], Y[i::3], weights[i::3]) for i in range(3)]

    assert_matches_reference(sum(parts), np.vstack([X[i::3] for i in range(3)]),
                             np.vstack([Y[i::3] for i in range(3)]),
                             np.concatenate([weights[i::3] for i in range(3)]))
