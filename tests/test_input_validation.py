"""Bad input and hard data: non-finite values, small batches, rank deficiency, ties,
class labels, constant targets, integer input, sample weights, and input copies.

Every expected value is computed in the test from the same data, in float64 with numpy
and scipy, never taken from the code under test.
"""

import copy
import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import linalg
from scipy.linalg import hadamard
from sklearn.exceptions import NotFittedError

from sklearn_mrl import (
    DegenerateObjectiveWarning,
    MatryoshkaPCA,
    MatryoshkaProjection,
    ScatterStatistics,
)
from sklearn_mrl._statistics import MIN_BLOCK_ROWS

# Tolerance for float64 results compared with a two-pass float64 reference on
# well-conditioned data.
RTOL = 1e-9
ATOL = 1e-10

# Standard deviations of the principal axes of make_data: distinct, so every axis is
# identifiable and can be compared entry by entry.
AXIS_SCALES = np.array([5.0, 3.0, 2.0, 1.0, 0.5])


# ---------------------------------------------------------------------------------------
# Helpers


def make_data(n_samples=60, n_features=5, seed=0, offset=3.0):
    """Return X with well-separated principal variances and a non-zero mean."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    scales = np.resize(AXIS_SCALES, n_features)
    X = rng.standard_normal((n_samples, n_features)) * scales @ rotation
    return X + offset * rng.uniform(-1, 1, n_features)


def weighted_moments(X, sample_weight=None):
    """Return the weight sum, weighted mean and centered scatter of X in two passes."""
    X = np.asarray(X, dtype=np.float64)
    weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    weights = weights.astype(np.float64)
    weight_sum = weights.sum()
    mean = weights @ X / weight_sum
    centered = X - mean
    scatter = centered.T @ (centered * weights[:, np.newaxis])
    return weight_sum, mean, scatter


def reference_pca(X, sample_weight=None):
    """Return mean, variances (denominator sum(w) - 1) and unit axes as rows.

    Axes are in decreasing order of variance, and each axis has its entry of largest
    magnitude positive, the sign convention the package documents.
    """
    weight_sum, mean, scatter = weighted_moments(X, sample_weight)
    eigenvalues, vectors = linalg.eigh(scatter)
    order = np.argsort(eigenvalues)[::-1]
    axes = vectors[:, order].T
    largest = np.argmax(np.abs(axes), axis=1)
    axes = axes * np.sign(axes[np.arange(axes.shape[0]), largest])[:, np.newaxis]
    return mean, eigenvalues[order] / (weight_sum - 1), axes


def to_container(X, container):
    if container == "array":
        return X
    if container == "csr":
        return sp.csr_matrix(X)
    if container == "dataframe":
        return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    raise ValueError(f"Unknown container {container!r}; use 'array', 'csr' or 'dataframe'.")


def assert_identical(actual, expected, path="state"):
    """Assert that nested values are equal, and that arrays match bit for bit with dtype."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), path
        assert actual.dtype == expected.dtype, path
        assert actual.shape == expected.shape, path
        assert actual.tobytes() == expected.tobytes(), path
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), f"{path}: keys differ"
        for key, value in expected.items():
            assert_identical(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected), path
        assert len(actual) == len(expected), path
        for index, (left, right) in enumerate(zip(actual, expected)):
            assert_identical(left, right, f"{path}[{index}]")
    elif dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        assert type(actual) is type(expected), path
        for field in dataclasses.fields(expected):
            assert_identical(
                getattr(actual, field.name), getattr(expected, field.name),
                f"{path}.{field.name}",
            )
    elif hasattr(expected, "__dict__") and not isinstance(expected, type):
        assert type(actual) is type(expected), path
        assert_identical(vars(actual), vars(expected), path)
    elif isinstance(expected, float) and np.isnan(expected):
        assert np.isnan(actual), path
    else:
        assert type(actual) is type(expected), path
        assert actual == expected, path


def snapshot_array(array):
    """Return what must stay the same about an input array: bytes, dtype and flags."""
    return (
        array.tobytes(order="A"),
        array.dtype,
        array.shape,
        array.flags.c_contiguous,
        array.flags.f_contiguous,
        array.flags.writeable,
    )


def nonfinite_match(name, value):
    """Return scikit-learn's message for a NaN or an infinity in the named input."""
    return f"Input {name} contains {'NaN' if np.isnan(value) else 'infinity'}"


NONFINITE_VALUES = [np.nan, np.inf, -np.inf]


# ---------------------------------------------------------------------------------------
# NaN and infinity in X, y and sample_weight


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("container", ["array", "csr", "dataframe"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_pca_nonfinite_x_rejected(method, container, value):
    X = make_data()
    X[-1, 2] = value
    with pytest.raises(ValueError, match=nonfinite_match("X", value)):
        getattr(MatryoshkaPCA(), method)(to_container(X, container))


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_pca_nonfinite_sample_weight_rejected(method, value):
    X = make_data()
    weights = np.ones(X.shape[0])
    weights[5] = value
    with pytest.raises(ValueError, match=nonfinite_match("sample_weight", value)):
        getattr(MatryoshkaPCA(), method)(X, sample_weight=weights)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("method", ["transform", "score_samples"])
def test_pca_nonfinite_x_rejected_after_fit(method, value):
    X = make_data()
    pca = MatryoshkaPCA(n_components=2).fit(X)
    X_new = X.copy()
    X_new[0, 0] = value
    with pytest.raises(ValueError, match=nonfinite_match("X", value)):
        getattr(pca, method)(X_new)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("container", ["array", "csr", "dataframe"])
def test_statistics_nonfinite_x_rejected(container, value):
    # The bad value sits in a later row block, after earlier blocks were merged.
    X = make_data(n_samples=3 * MIN_BLOCK_ROWS)
    X[2 * MIN_BLOCK_ROWS + 5, 1] = value
    with pytest.raises(ValueError, match=nonfinite_match("X", value)):
        ScatterStatistics.from_data(to_container(X, container), block_bytes=1)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("name", ["Y", "sample_weight"])
def test_statistics_nonfinite_y_or_weight_rejected(name, value):
    X = make_data()
    inputs = {"Y": X[:, :2].copy(), "sample_weight": np.ones(X.shape[0])}
    inputs[name][-1, ...] = value
    with pytest.raises(ValueError, match=nonfinite_match(name, value)):
        ScatterStatistics.from_data(X, **inputs)


@pytest.mark.parametrize("value", [None, np.nan])
def test_statistics_polars_missing_rejected(value):
    polars = pytest.importorskip("polars")
    X = make_data(n_samples=2 * MIN_BLOCK_ROWS)
    columns = {f"x{j}": X[:, j].tolist() for j in range(X.shape[1])}
    columns["x2"][-1] = value
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ScatterStatistics.from_data(polars.DataFrame(columns, strict=False), block_bytes=1)


def test_statistics_update_rejected_keeps_state():
    X = make_data(n_samples=3 * MIN_BLOCK_ROWS)
    statistics = ScatterStatistics.from_data(X[:50])
    expected = copy.deepcopy(statistics)
    bad = pd.DataFrame(X)
    bad.iloc[-1, 0] = np.nan

    with pytest.raises(ValueError, match="Input X contains NaN"):
        statistics.update(bad, block_bytes=1)

    assert_identical(statistics, expected)


def test_statistics_overflow_rejected():
    X = make_data() * 1e200
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="rows 0 to 59 are not finite.*Rescale"):
            ScatterStatistics.from_data(X)


def _bad_batches(n_features):
    """Return batches that partial_fit must reject, each with the message it must give."""
    rng = np.random.default_rng(7)
    good = rng.standard_normal((10, n_features))
    with_nan = good.copy()
    with_nan[3, 0] = np.nan
    with_inf = good.copy()
    with_inf[9, -1] = np.inf
    weights = np.ones(10)
    return {
        "nan_x": ((with_nan,), {}, "Input X contains NaN"),
        "inf_x": ((with_inf,), {}, "Input X contains infinity"),
        "nan_sparse_x": ((sp.csr_matrix(with_nan),), {}, "Input X contains NaN"),
        "nan_weight": ((good,), {"sample_weight": np.where(np.arange(10) == 0, np.nan, 1)},
                       "Input sample_weight contains NaN"),
        "inf_weight": ((good,), {"sample_weight": np.where(np.arange(10) == 4, np.inf, 1)},
                       "Input sample_weight contains infinity"),
        "negative_weight": ((good,), {"sample_weight": np.where(np.arange(10) == 2, -0.5, 1)},
                            r"sample_weight must be non-negative; got .*-0\.5"),
        "short_weight": ((good,), {"sample_weight": weights[:4]},
                         r"sample_weight has shape \(4,\), but X has 10 samples"),
        "more_features": ((np.c_[good, good[:, :1]],), {},
                          rf"X has {n_features + 1} features, but MatryoshkaPCA is "
                          rf"expecting {n_features} features"),
        "fewer_features": ((good[:, :-1],), {},
                           rf"X has {n_features - 1} features, but MatryoshkaPCA is "
                           rf"expecting {n_features} features"),
        "one_dimensional": ((good[:, 0],), {}, "Expected 2D array, got 1D array"),
        "overflow": ((good * 1e200,), {}, "not finite"),
    }


@pytest.mark.parametrize("bad_batch", list(_bad_batches(5)))
@pytest.mark.parametrize("state", ["fitted", "partially_fitted", "deferred", "waiting"])
def test_pca_partial_fit_rejected_batch_keeps_state(state, bad_batch):
    # "deferred" has a basis still to solve; reading it gives "partially_fitted" or,
    # with too few samples, "waiting".
    X = make_data()
    if state == "fitted":
        pca = MatryoshkaPCA(n_components=3).fit(X)
    elif state == "waiting":
        pca = MatryoshkaPCA(n_components=3).partial_fit(X[:2])
        assert not hasattr(pca, "components_")
    else:
        pca = MatryoshkaPCA(n_components=3).partial_fit(X[:30]).partial_fit(X[30:])
        if state == "deferred":
            assert "components_" not in vars(pca)
        else:
            assert hasattr(pca, "components_")
    expected_state = copy.deepcopy(pca.__dict__)
    args, kwargs, message = _bad_batches(5)[bad_batch]

    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match=message):
            pca.partial_fit(*args, **kwargs)

    assert_identical(pca.__dict__, expected_state)


# ---------------------------------------------------------------------------------------
# partial_fit with small first batches and a changing number of features


def test_pca_partial_fit_small_batches_accumulate():
    X = make_data(n_samples=9)
    pca = MatryoshkaPCA(n_components=3)

    # 2 rows span 1 direction and 3 rows span 2: not enough for 3 components yet.
    for start, stop, rank in ((0, 2, 1), (2, 3, 2)):
        pca.partial_fit(X[start:stop])
        weight_sum, mean, scatter = weighted_moments(X[:stop])
        assert pca.statistics_.weight_sum == weight_sum
        assert pca.statistics_.n_samples == stop
        np.testing.assert_allclose(pca.statistics_.mean_x, mean, rtol=RTOL)
        np.testing.assert_allclose(pca.statistics_.scatter_xx, scatter, rtol=RTOL, atol=ATOL)
        assert pca.n_samples_seen_ == stop
        assert not hasattr(pca, "components_")
        with pytest.raises(NotFittedError, match=rf"rank {rank}\. n_components=3"):
            pca.transform(X)

    pca.partial_fit(X[3:])
    mean, variances, axes = reference_pca(X)
    assert pca.n_components_ == 3
    np.testing.assert_allclose(pca.mean_, mean, rtol=RTOL)
    np.testing.assert_allclose(pca.explained_variance_, variances[:3], rtol=RTOL)
    np.testing.assert_allclose(pca.components_, axes[:3], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        pca.transform(X), (X - mean) @ axes[:3].T, rtol=1e-7, atol=1e-9
    )


def test_pca_partial_fit_single_row_first():
    X = make_data(n_samples=20)
    pca = MatryoshkaPCA().partial_fit(X[:1])
    with pytest.raises(NotFittedError, match="1 samples with positive weight"):
        pca.transform(X)

    pca.partial_fit(X[1:])
    _, variances, _ = reference_pca(X)
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=RTOL)


def test_pca_partial_fit_identical_rows_first():
    # A first batch of identical rows has rank 0, and partial_fit keeps it, not rejects it.
    X = make_data(n_samples=20)
    repeated = np.repeat(X[:1], 4, axis=0)
    pca = MatryoshkaPCA().partial_fit(repeated)
    assert pca.statistics_.n_samples == 4
    with pytest.raises(NotFittedError, match="rank 0"):
        pca.transform(X)

    pca.partial_fit(X)
    _, variances, axes = reference_pca(np.vstack([repeated, X]))
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=RTOL)
    np.testing.assert_allclose(pca.components_, axes, rtol=1e-7, atol=1e-9)


def test_pca_partial_fit_low_rank_first():
    # 10 rows spanning only 2 directions, with n_components=3.
    X = make_data(n_samples=30)
    low_rank = X[:10, :2] @ np.array([[1.0, 0.0, 2.0, 1.0, -1.0], [0.0, 1.0, 1.0, -3.0, 0.5]])
    pca = MatryoshkaPCA(n_components=3).partial_fit(low_rank)
    with pytest.raises(NotFittedError, match=r"rank 2\. n_components=3 needs rank 3"):
        pca.transform(X)

    pca.partial_fit(X[10:])
    _, variances, _ = reference_pca(np.vstack([low_rank, X[10:]]))
    np.testing.assert_allclose(pca.explained_variance_, variances[:3], rtol=RTOL)


def test_pca_partial_fit_too_many_components():
    X = make_data()
    pca = MatryoshkaPCA(n_components=6)
    with pytest.raises(ValueError, match=r"n_components=6 must be at most n_features=5"):
        pca.partial_fit(X)
    assert not hasattr(pca, "statistics_")


def test_pca_partial_fit_feature_change_waiting():
    X = make_data()
    pca = MatryoshkaPCA(n_components=3).partial_fit(X[:2])
    assert not hasattr(pca, "components_")
    expected_state = copy.deepcopy(pca.__dict__)
    with pytest.raises(ValueError, match="X has 4 features, but MatryoshkaPCA is expecting 5"):
        pca.partial_fit(X[2:, :4])
    assert_identical(pca.__dict__, expected_state)


def test_pca_partial_fit_keeps_set_output():
    X = make_data()
    pca = MatryoshkaPCA(n_components=3).set_output(transform="pandas")
    pca.partial_fit(X[:2]).partial_fit(X[2:])
    assert isinstance(pca.transform(X), pd.DataFrame)
    assert pca.get_params()["n_components"] == 3


def test_statistics_update_feature_change():
    X = make_data()
    statistics = ScatterStatistics.from_data(X[:10])
    expected = copy.deepcopy(statistics)
    with pytest.raises(ValueError, match="X has 3 features, but these statistics have 5"):
        statistics.update(X[10:, :3])
    assert_identical(statistics, expected)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_statistics_wrong_dimension_rejected(shape):
    with pytest.raises(ValueError, match=r"X must be 2-dimensional; got shape"):
        ScatterStatistics.from_data(np.zeros(shape))


def test_statistics_complex_and_string_rejected():
    X = make_data()
    with pytest.raises(ValueError, match="Complex data not supported"):
        ScatterStatistics.from_data(X + 1j)
    with pytest.raises(ValueError, match="bytes/strings"):
        ScatterStatistics.from_data(X.astype(str))


# ---------------------------------------------------------------------------------------
# Rank deficiency


def rank_three_data(constant, n_samples=200, seed=0):
    """Return 5 columns: 3 independent, 1 constant and 1 copy of column 0."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_samples, 3)) * [3.0, 2.0, 1.0] + [1.0, -2.0, 0.5]
    return np.column_stack(
        [base[:, 0], np.full(n_samples, constant), base[:, 1], base[:, 0], base[:, 2]]
    )


# Constants whose float64 mean, formed as sum(x) / n, is not exact for most n.
CONSTANTS = [0.0, 1.0, 0.1, -12345.678, 175655620.602559, np.pi * 1e12]


def _null_space_residual(components):
    """Return the largest projection of the components on the null space of the data."""
    null_directions = np.array([[0, 1, 0, 0, 0], [1, 0, 0, -1, 0]]) / [[1.0], [np.sqrt(2)]]
    return np.abs(components @ null_directions.T).max()


@pytest.mark.parametrize("constant", CONSTANTS)
@pytest.mark.parametrize("path", ["fit", "weighted", "batches", "sparse"])
def test_pca_rank_deficient_columns(path, constant):
    X = rank_three_data(constant)
    weights = None
    pca = MatryoshkaPCA()
    if path == "fit":
        pca.fit(X)
    elif path == "weighted":
        weights = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
        pca.fit(X, sample_weight=weights)
    elif path == "batches":
        for start in range(0, X.shape[0], 37):
            pca.partial_fit(X[start : start + 37])
    else:
        pca.fit(sp.csr_matrix(X))

    _, variances, _ = reference_pca(X, weights)
    assert pca.n_components_ == 3
    np.testing.assert_allclose(pca.explained_variance_, variances[:3], rtol=1e-8)
    assert _null_space_residual(pca.components_) < 1e-8
    # The three directions carry the whole variance: nothing is left to a fourth.
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    assert pca.prefix_loss_[-1] <= 1e-12 * pca.prefix_loss_[0]


@pytest.mark.parametrize("constant", CONSTANTS)
def test_statistics_constant_column_exact(constant):
    X = rank_three_data(constant, n_samples=3 * MIN_BLOCK_ROWS + 11)
    for weights in (None, np.random.default_rng(2).uniform(0, 3, X.shape[0])):
        statistics = ScatterStatistics.from_data(X, sample_weight=weights, block_bytes=1)
        assert statistics.mean_x[1] == constant
        assert np.all(statistics.scatter_xx[1] == 0)
        assert np.all(statistics.scatter_xx[:, 1] == 0)


@pytest.mark.parametrize("constant", [0.1, 175655620.602559])
def test_pca_rank_deficient_n_components_too_large(constant):
    X = rank_three_data(constant)
    with pytest.raises(ValueError, match=r"n_components=4 must be at most the rank.*is 3"):
        MatryoshkaPCA(n_components=4).fit(X)

    # partial_fit keeps the statistics, since more samples could raise the rank.
    pca = MatryoshkaPCA(n_components=4).partial_fit(X)
    with pytest.raises(NotFittedError, match=r"rank 3\. n_components=4 needs rank 4"):
        pca.transform(X)


@pytest.mark.parametrize("n_samples", [2, 3, 6])
def test_pca_fewer_samples_than_features(n_samples):
    X = make_data(n_samples=n_samples, n_features=20, seed=3)
    _, variances, axes = reference_pca(X)
    rank = n_samples - 1

    pca = MatryoshkaPCA().fit(X)
    assert pca.n_components_ == rank
    np.testing.assert_allclose(pca.explained_variance_, variances[:rank], rtol=1e-8)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0, rtol=1e-12)
    # Compare only identifiable axes: the spectrum of random data has clear gaps here.
    np.testing.assert_allclose(pca.components_, axes[:rank], rtol=1e-6, atol=1e-8)

    with pytest.raises(ValueError, match=rf"n_components={rank + 1} .* is {rank}"):
        MatryoshkaPCA(n_components=rank + 1).fit(X)


def test_pca_fewer_samples_random():
    # Rounding in the scatter matrix and in the eigensolver must never lift a direction
    # past the rank above the rank cut, even for tiny matrices.
    rng = np.random.default_rng(13)
    for _ in range(2000):
        n_features = int(rng.integers(2, 9))
        n_samples = int(rng.integers(2, n_features + 1))
        offset = 10.0 ** rng.integers(-2, 4)
        X = rng.standard_normal((n_samples, n_features)) * 10.0 ** rng.uniform(-1, 1, n_features)
        X += offset * rng.uniform(-1, 1, n_features)
        assert MatryoshkaPCA().fit(X).n_components_ == n_samples - 1, (n_samples, n_features)


# ---------------------------------------------------------------------------------------
# A float n_components at an exact tie of the cumulative ratio


def tied_data(transform):
    """Return data whose variances are exactly 4, 1, 1, 1, 1 (times 8 / 7).

    Columns 1-5 of an 8 x 8 Hadamard matrix are orthogonal, have zero mean and entries
    +-1, so after scaling the first by 2 the cumulative explained variance ratios are
    exactly 0.5, 0.625, 0.75, 0.875 and 1.
    """
    X = hadamard(8)[:, 1:6] * np.array([2.0, 1.0, 1.0, 1.0, 1.0])
    if transform == "offset":
        return X + 1e3, None
    if transform == "scaled":
        # Powers of two keep every value, and so the variances, exact.
        return X * 0.375 + np.array([0.5, -7.25, 2.0**20, 3.0, 0.0]), None
    if transform == "rotated":
        rotation, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))
        return X @ rotation, None
    if transform == "weighted":
        # Weight 2 on every row equals every row twice.
        return X, np.full(8, 2.0)
    return X, None


EXPECTED_CUMULATIVE_RATIO = np.array([0.5, 0.625, 0.75, 0.875, 1.0])


@pytest.mark.parametrize("transform", ["none", "offset", "scaled", "rotated", "weighted"])
@pytest.mark.parametrize("path", ["fit", "partial_fit", "statistics"])
@pytest.mark.parametrize(
    "fraction, expected",
    [(0.4, 1), (0.5, 2), (0.6, 2), (0.625, 3), (0.7, 3), (0.75, 4), (0.875, 5)],
)
def test_pca_fraction_at_exact_tie(fraction, expected, path, transform):
    X, weights = tied_data(transform)
    _, variances, _ = reference_pca(X, weights)
    np.testing.assert_allclose(
        np.cumsum(variances) / variances.sum(), EXPECTED_CUMULATIVE_RATIO, rtol=1e-12
    )

    pca = MatryoshkaPCA(n_components=fraction)
    if path == "fit":
        pca.fit(X, sample_weight=weights)
    elif path == "partial_fit":
        pca.partial_fit(X[:3], sample_weight=None if weights is None else weights[:3])
        pca.partial_fit(X[3:], sample_weight=None if weights is None else weights[3:])
    else:
        pca.fit_from_statistics(ScatterStatistics.from_data(X, sample_weight=weights))

    assert pca.n_components_ == expected


# ---------------------------------------------------------------------------------------
# Integer and boolean X


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64, bool])
@pytest.mark.parametrize("container", ["array", "csr"])
def test_pca_integer_and_boolean_x(container, dtype):
    rng = np.random.default_rng(4)
    if dtype is bool:
        X = rng.uniform(size=(80, 5)) < [0.1, 0.3, 0.5, 0.7, 0.9]
    else:
        # int8 up to 100: squares and products overflow int8, so the statistics must not
        # be formed in the input dtype.
        X = (rng.standard_normal((80, 5)) * [40, 20, 10, 5, 2]).clip(-100, 100)
        X = np.abs(X) if dtype is np.uint8 else X
        X = X.astype(dtype)
    X_float = X.astype(np.float64)
    mean, variances, _ = reference_pca(X_float)

    pca = MatryoshkaPCA().fit(to_container(X, container))
    reference = MatryoshkaPCA().fit(to_container(X_float, container))
    np.testing.assert_allclose(pca.mean_, mean, rtol=RTOL)
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=1e-8)
    np.testing.assert_array_equal(pca.components_, reference.components_)
    X_new = pca.transform(to_container(X, container))
    assert X_new.dtype == np.float64
    np.testing.assert_array_equal(X_new, reference.transform(to_container(X_float, container)))


@pytest.mark.parametrize("dtype", [np.int8, np.int64, bool])
def test_statistics_integer_and_boolean_input(dtype):
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((70, 4)) * 50).clip(-120, 120).astype(dtype)
    Y = (rng.standard_normal((70, 2)) * 50).clip(-120, 120).astype(dtype)
    weights = rng.integers(0, 5, 70)
    statistics = ScatterStatistics.from_data(X, Y, sample_weight=weights)
    weight_sum, mean, scatter = weighted_moments(np.hstack([X, Y]).astype(float), weights)
    assert statistics.weight_sum == weight_sum
    np.testing.assert_allclose(statistics.mean_x, mean[:4], rtol=RTOL)
    np.testing.assert_allclose(statistics.mean_y, mean[4:], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_xx, scatter[:4, :4], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_xy, scatter[:4, 4:], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_yy, scatter[4:, 4:], rtol=RTOL)


# ---------------------------------------------------------------------------------------
# Sample weights


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    "weights, message",
    [
        (np.zeros(60), "sample_weight is zero for every sample"),
        (np.where(np.arange(60) == 7, -1e-3, 1.0), r"non-negative; got .*-0\.001"),
        (np.ones(59), r"sample_weight has shape \(59,\), but X has 60 samples"),
        (np.ones(61), r"sample_weight has shape \(61,\), but X has 60 samples"),
        (np.ones((60, 1)), r"sample_weight has shape \(60, 1\), but X has 60 samples"),
    ],
    ids=["zeros", "negative", "short", "long", "two_dimensional"],
)
def test_pca_invalid_sample_weight(method, weights, message):
    with pytest.raises(ValueError, match=message):
        getattr(MatryoshkaPCA(), method)(make_data(), sample_weight=weights)


def test_pca_sample_weight_sum_at_most_one():
    # Frequency weights: the variance denominator sum(w) - 1 must be positive.
    with pytest.raises(ValueError, match=r"sum to 0\.6.*rescale sample_weight"):
        MatryoshkaPCA().fit(make_data(), sample_weight=np.full(60, 0.01))


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.where(np.arange(60) == 7, -2.0, 1.0), r"non-negative; got .*-2\.0"),
        (np.ones(59), r"sample_weight has shape \(59,\), but X has 60 samples"),
    ],
    ids=["negative", "short"],
)
def test_statistics_invalid_sample_weight(weights, message):
    with pytest.raises(ValueError, match=message):
        ScatterStatistics.from_data(make_data(), sample_weight=weights)


def test_statistics_zero_weights_are_empty():
    # Statistics of rows that all have zero weight are the identity of merging, so a
    # fold or a batch without weight can be added without special cases.
    X = make_data()
    empty = ScatterStatistics.from_data(X[:10], sample_weight=np.zeros(10))
    assert empty.weight_sum == 0
    assert empty.n_samples == 0
    whole = ScatterStatistics.from_data(X[10:])
    assert_identical((whole + empty).__dict__, whole.__dict__)


@pytest.mark.parametrize("factor", [0.5, 3.0, 1000.0, 1 / 3])
def test_pca_weight_scaling_keeps_basis(factor):
    X = make_data()
    weights = np.random.default_rng(6).uniform(0.5, 2.0, X.shape[0])
    pca = MatryoshkaPCA(n_components=4).fit(X, sample_weight=weights)
    scaled = MatryoshkaPCA(n_components=4).fit(X, sample_weight=factor * weights)

    np.testing.assert_allclose(scaled.components_, pca.components_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(scaled.mean_, pca.mean_, rtol=1e-12)
    np.testing.assert_allclose(
        scaled.explained_variance_ratio_, pca.explained_variance_ratio_, rtol=1e-12
    )
    np.testing.assert_allclose(
        scaled.informativeness_ratio_, pca.informativeness_ratio_, rtol=1e-12
    )
    np.testing.assert_allclose(scaled.transform(X), pca.transform(X), rtol=1e-9, atol=1e-9)

    # Frequency weights, as documented: the variances divide by sum(w) - 1, which does
    # not scale with the weights.
    _, expected_variances, _ = reference_pca(X, factor * weights)
    np.testing.assert_allclose(scaled.explained_variance_, expected_variances[:4], rtol=1e-9)


def test_pca_fractional_weights_match_definition():
    X = make_data(n_samples=50)
    weights = np.random.default_rng(8).uniform(0.0, 1.5, 50)
    weights[[3, 17]] = 0.0
    mean, variances, axes = reference_pca(X, weights)

    pca = MatryoshkaPCA().fit(X, sample_weight=weights)
    np.testing.assert_allclose(pca.mean_, mean, rtol=RTOL)
    np.testing.assert_allclose(pca.explained_variance_, variances, rtol=1e-9)
    np.testing.assert_allclose(pca.components_, axes, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(pca.transform(X), (X - mean) @ axes.T, rtol=1e-7, atol=1e-9)
    assert pca.statistics_.n_samples == 48


def test_pca_integer_weights_equal_repeated_rows():
    X = make_data(n_samples=30)
    counts = np.random.default_rng(9).integers(0, 4, 30)
    weighted = MatryoshkaPCA().fit(X, sample_weight=counts)
    repeated = MatryoshkaPCA().fit(np.repeat(X, counts, axis=0))

    np.testing.assert_allclose(weighted.components_, repeated.components_, atol=1e-9)
    np.testing.assert_allclose(
        weighted.explained_variance_, repeated.explained_variance_, rtol=1e-10
    )
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)


def test_statistics_fractional_weights_match_definition():
    X = make_data(n_samples=2 * MIN_BLOCK_ROWS + 3)
    Y = X[:, :2] ** 2
    weights = np.random.default_rng(10).uniform(0.0, 2.0, X.shape[0])
    statistics = ScatterStatistics.from_data(X, Y, sample_weight=weights, block_bytes=1)
    weight_sum, mean, scatter = weighted_moments(np.hstack([X, Y]), weights)

    np.testing.assert_allclose(statistics.weight_sum, weight_sum, rtol=1e-13)
    np.testing.assert_allclose(statistics.mean_x, mean[:5], rtol=RTOL)
    np.testing.assert_allclose(statistics.mean_y, mean[5:], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_xx, scatter[:5, :5], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_xy, scatter[:5, 5:], rtol=RTOL)
    np.testing.assert_allclose(statistics.scatter_yy, scatter[5:, 5:], rtol=RTOL)


# ---------------------------------------------------------------------------------------
# Inputs unchanged, and pickling


def input_variants():
    """Return named copies of one data set in several memory layouts and dtypes."""
    X = make_data()
    read_only = X.copy()
    read_only.flags.writeable = False
    return {
        "float64": X.copy(),
        "float32": X.astype(np.float32),
        "fortran": np.asfortranarray(X),
        "fortran_float32": np.asfortranarray(X, dtype=np.float32),
        "read_only": read_only,
        "strided": np.vstack([X, X])[::2],
        "int64": (X * 10).astype(np.int64),
    }


@pytest.mark.parametrize("variant", list(input_variants()))
def test_pca_inputs_unchanged(variant):
    X = input_variants()[variant]
    weights = np.linspace(0.5, 2.0, X.shape[0])
    weights.flags.writeable = variant != "read_only"
    expected_x, expected_weights = snapshot_array(X), snapshot_array(weights)

    pca = MatryoshkaPCA(n_components=3).fit(X, sample_weight=weights)
    pca.transform(X)
    pca.score(X)
    pca.inverse_transform(pca.transform(X))
    incremental = MatryoshkaPCA(n_components=3)
    incremental.partial_fit(X[:20], sample_weight=weights[:20])
    incremental.partial_fit(X[20:], sample_weight=weights[20:])
    incremental.transform(X)
    ScatterStatistics.from_data(X, X[:, :2], sample_weight=weights)

    assert snapshot_array(X) == expected_x
    assert snapshot_array(weights) == expected_weights


def test_pca_dataframe_and_sparse_unchanged():
    X = make_data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    expected_frame = frame.copy()
    matrix = sp.csr_matrix(np.where(np.abs(X) > 2, X, 0.0))
    expected_matrix = matrix.copy()

    MatryoshkaPCA(n_components=2).fit(frame).transform(frame)
    ScatterStatistics.from_data(frame, block_bytes=1)
    MatryoshkaPCA(n_components=2).fit(matrix).transform(matrix)

    pd.testing.assert_frame_equal(frame, expected_frame)
    for name in ("data", "indices", "indptr"):
        assert_identical(getattr(matrix, name), getattr(expected_matrix, name))


@pytest.mark.parametrize(
    "state", ["fit", "partial_fit", "deferred", "waiting", "whiten", "float32"]
)
def test_pca_pickle_round_trip(state):
    X = make_data()
    if state == "fit":
        pca = MatryoshkaPCA(n_components=3).fit(X)
    elif state in ("partial_fit", "deferred"):
        pca = MatryoshkaPCA(n_components=0.9).partial_fit(X[:20]).partial_fit(X[20:40])
        if state == "deferred":
            assert "components_" not in vars(pca)
        else:
            assert hasattr(pca, "components_")
    elif state == "waiting":
        pca = MatryoshkaPCA(n_components=3).partial_fit(X[:2])
        assert not hasattr(pca, "components_")
    elif state == "whiten":
        pca = MatryoshkaPCA(n_components=3, whiten=True).fit(X)
    else:
        pca = MatryoshkaPCA(n_components=3).fit(X.astype(np.float32))

    restored = pickle.loads(pickle.dumps(pca))
    assert_identical(restored.__dict__, pca.__dict__)

    # Continuing to fit gives the same result on the original and on the copy.
    restored.partial_fit(X[40:])
    pca.partial_fit(X[40:])
    assert_identical(restored.__dict__, pca.__dict__)
    assert_identical(restored.transform(X), pca.transform(X))


def test_pca_fit_from_statistics_keeps_own_copy():
    X = make_data()
    statistics = ScatterStatistics.from_data(X[:30], X[:30, :2])
    pca = MatryoshkaPCA(n_components=3).fit_from_statistics(statistics)
    expected_state = copy.deepcopy(pca.__dict__)

    # Updating the caller's statistics afterwards must not change the fitted estimator.
    statistics.update(X[30:], X[30:, :2])
    assert_identical(pca.__dict__, expected_state)

    # The target statistics are dropped, so partial_fit can add batches of X alone.
    pca.partial_fit(X[30:])
    mean, variances, _ = reference_pca(X)
    np.testing.assert_allclose(pca.mean_, mean, rtol=RTOL)
    np.testing.assert_allclose(pca.explained_variance_, variances[:3], rtol=RTOL)


def test_statistics_pickle_round_trip():
    X = make_data()
    statistics = ScatterStatistics.from_data(X[:30], X[:30, :2], np.linspace(0, 1, 30))
    restored = pickle.loads(pickle.dumps(statistics))
    assert_identical(restored, statistics)

    # The views mean_x, scatter_xy and so on read the restored arrays.
    assert_identical(restored.scatter_xy, statistics.scatter_xy)
    assert_identical(restored.mean_y, statistics.mean_y)
    restored.update(X[30:], X[30:, :2])
    statistics.update(X[30:], X[30:, :2])
    assert_identical(restored, statistics)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: references and data


def range_eigenvalues(matrix, metric, relative_tolerance=1e-10):
    """Return the eigenvalues of matrix v = s2 metric v on the range of metric, descending."""
    metric_values, metric_vectors = linalg.eigh(metric)
    kept = metric_values > relative_tolerance * metric_values.max()
    whitening = metric_vectors[:, kept] / np.sqrt(metric_values[kept])
    return np.sort(linalg.eigvalsh(whitening.T @ matrix @ whitening))[::-1]


def reference_discriminant(X, labels, sample_weight=None):
    """Return squared canonical correlations of X with the labels (Fisher's LDA).

    The between-class scatter sum_c W_c (m_c - m)(m_c - m)^T is formed from per-class
    weights and means, and the eigenvalues are taken against the total scatter.
    """
    weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight)
    _, mean, total_scatter = weighted_moments(X, weights)
    between = np.zeros_like(total_scatter)
    for label in np.unique(labels):
        members = np.asarray(labels) == label
        class_weight = weights[members].sum()
        if class_weight == 0:
            continue
        difference = weights[members] @ X[members] / class_weight - mean
        between += class_weight * np.outer(difference, difference)
    n_directions = np.count_nonzero([weights[np.asarray(labels) == c].sum() > 0
                                     for c in np.unique(labels)]) - 1
    return range_eigenvalues(between, total_scatter)[:n_directions]


def reference_regression(X, Y, sample_weight=None):
    """Return reduced-rank regression informativeness in target variance units."""
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    weight_sum, _, scatter = weighted_moments(np.hstack([X, Y]), sample_weight)
    n_features = X.shape[1]
    scatter_xy = scatter[:n_features, n_features:]
    values = range_eigenvalues(scatter_xy @ scatter_xy.T, scatter[:n_features, :n_features])
    return values / (weight_sum - 1), np.trace(scatter[n_features:, n_features:]) / (weight_sum - 1)


def labelled_data(n_samples=90, n_classes=3, seed=0):
    """Return X with class-dependent means and integer labels 0 .. n_classes - 1."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_samples) % n_classes
    centers = rng.standard_normal((n_classes, 4)) * 2
    X = centers[labels] + rng.standard_normal((n_samples, 4)) * [1.0, 0.8, 0.6, 0.4]
    return X, labels


def regression_data(n_samples=80, seed=0):
    rng = np.random.default_rng(seed)
    X = make_data(n_samples=n_samples, seed=seed)
    Y = np.column_stack([
        X @ [1.0, -2.0, 0.5, 0.0, 0.0],
        X @ [0.0, 0.5, 0.0, 1.0, -1.0],
    ]) + 0.3 * rng.standard_normal((n_samples, 2))
    return X, Y


def assert_all_finite_state(estimator, allow_infinity=False):
    """Assert that no float in the fitted state of an estimator is NaN or infinite."""
    check = np.isnan if allow_infinity else lambda value: ~np.isfinite(value)
    for name, value in vars(estimator).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert not check(value).any(), name
        elif isinstance(value, float):
            assert not check(value), name
        elif dataclasses.is_dataclass(value):
            assert_all_finite_state(value, allow_infinity)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: NaN and infinity


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_projection_nonfinite_x_rejected(method, value):
    X, Y = regression_data()
    X[10, 3] = value
    with pytest.raises(ValueError, match=nonfinite_match("X", value)):
        getattr(MatryoshkaProjection(), method)(X, Y)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_projection_nonfinite_y_rejected(n_targets, method, value):
    X, Y = regression_data()
    y = Y[:, 0].copy() if n_targets == 1 else Y.copy()
    y[-1, ...] = value
    with pytest.raises(ValueError, match=nonfinite_match("y", value)):
        getattr(MatryoshkaProjection(), method)(X, y)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["a", "b", None] * 30, dtype=object),
        np.array(["a", "b", np.nan] * 30, dtype=object),
        pd.Series(["a", "b", np.nan] * 30),
        pd.Series(pd.Categorical(["a", "b", np.nan] * 30)),
        np.array([0.0, 1.0, np.nan] * 30),
    ],
    ids=["none_object", "nan_object", "nan_series", "nan_categorical", "nan_float"],
)
@pytest.mark.parametrize("objective", ["auto", "canonical"])
def test_projection_missing_labels_rejected(objective, labels):
    X, _ = labelled_data()
    with pytest.raises(ValueError, match="Input y contains (NaN|None|missing)"):
        MatryoshkaProjection(objective=objective).fit(X, labels)


@pytest.mark.parametrize("value", NONFINITE_VALUES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_projection_nonfinite_sample_weight_rejected(method, value):
    X, labels = labelled_data()
    weights = np.ones(X.shape[0])
    weights[0] = value
    with pytest.raises(ValueError, match=nonfinite_match("sample_weight", value)):
        getattr(MatryoshkaProjection(), method)(X, labels, sample_weight=weights)


def _bad_projection_batches():
    """Return batches that partial_fit on 5 features and labels 0-2 must reject."""
    X, labels = labelled_data(n_samples=30, seed=3)
    X = np.c_[X, X[:, 0] - X[:, 1]]
    with_nan = X.copy()
    with_nan[4, 4] = np.nan
    return {
        "nan_x": ((with_nan, labels), {}, "Input X contains NaN"),
        "inf_weight": ((X, labels), {"sample_weight": np.where(labels == 2, np.inf, 1.0)},
                       "Input sample_weight contains infinity"),
        "negative_weight": ((X, labels), {"sample_weight": np.where(labels == 2, -1.0, 1.0)},
                            "sample_weight must be non-negative"),
        "fewer_features": ((X[:, :4], labels), {},
                           "X has 4 features, but MatryoshkaProjection is expecting 5"),
        "unseen_label": ((X, np.where(labels == 2, 9, labels)), {},
                         r"y contains labels \[9\] that are not in the classes"),
        "negative_label": ((X, np.where(labels == 2, -1, labels)), {},
                           r"y contains labels \[-1\] that are not in the classes"),
        "short_y": ((X, labels[:-1]), {}, "inconsistent numbers of samples"),
    }


@pytest.mark.parametrize("bad_batch", list(_bad_projection_batches()))
@pytest.mark.parametrize("state", ["fitted", "partially_fitted", "deferred", "waiting"])
def test_projection_partial_fit_rejected_batch_keeps_state(state, bad_batch):
    X, labels = labelled_data(n_samples=60, seed=4)
    X = np.c_[X, X[:, 0] - X[:, 1]]
    projection = MatryoshkaProjection()
    if state == "fitted":
        projection.fit(X, labels)
    elif state == "waiting":
        projection.partial_fit(X[:1], labels[:1], classes=[0, 1, 2])
        assert not hasattr(projection, "components_")
    else:
        projection.partial_fit(X[:30], labels[:30]).partial_fit(X[30:], labels[30:])
        if state == "deferred":
            assert "components_" not in vars(projection)
        else:
            assert hasattr(projection, "components_")
    expected_state = copy.deepcopy(projection.__dict__)
    args, kwargs, message = _bad_projection_batches()[bad_batch]

    with pytest.raises(ValueError, match=message):
        projection.partial_fit(*args, **kwargs)

    assert_identical(projection.__dict__, expected_state)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: small first batches and a changing number of features


@pytest.mark.parametrize("n_first", [1, 2])
@pytest.mark.parametrize("objective", ["regression", "canonical"])
def test_projection_partial_fit_small_first_batch(objective, n_first):
    X, Y = regression_data()
    projection = MatryoshkaProjection(n_components=2, objective=objective)
    projection.partial_fit(X[:n_first], Y[:n_first])
    assert projection.statistics_.n_samples == n_first
    with pytest.raises(NotFittedError, match=f"{n_first} samples seen"):
        projection.transform(X)

    projection.partial_fit(X[n_first:], Y[n_first:])
    weight_sum, mean, scatter = weighted_moments(np.hstack([X, Y]))
    assert projection.statistics_.weight_sum == weight_sum
    np.testing.assert_allclose(projection.statistics_.mean_x, mean[:5], rtol=RTOL)
    np.testing.assert_allclose(projection.statistics_.scatter_xy, scatter[:5, 5:], rtol=RTOL)
    fitted = MatryoshkaProjection(n_components=2, objective=objective).fit(X, Y)
    np.testing.assert_allclose(projection.components_, fitted.components_, rtol=1e-8)
    np.testing.assert_allclose(projection.transform(X), fitted.transform(X), rtol=1e-8)


def test_projection_partial_fit_one_label_first():
    X, labels = labelled_data()
    projection = MatryoshkaProjection()
    projection.partial_fit(X[labels == 0], labels[labels == 0], classes=[0, 1, 2])
    with pytest.raises(NotFittedError, match="30 samples seen"):
        projection.transform(X)

    projection.partial_fit(X[labels != 0], labels[labels != 0])
    np.testing.assert_allclose(
        projection.informativeness_, reference_discriminant(X, labels), rtol=1e-8
    )


def test_projection_partial_fit_feature_change():
    X, Y = regression_data()
    projection = MatryoshkaProjection().partial_fit(X[:40], Y[:40])
    expected_state = copy.deepcopy(projection.__dict__)
    with pytest.raises(ValueError, match="X has 6 features, but MatryoshkaProjection is expecting 5"):
        projection.partial_fit(np.c_[X[40:], X[40:, :1]], Y[40:])
    assert_identical(projection.__dict__, expected_state)


def test_projection_partial_fit_target_change():
    X, Y = regression_data()
    projection = MatryoshkaProjection().partial_fit(X[:40], Y[:40])
    expected_state = copy.deepcopy(projection.__dict__)
    with pytest.raises(ValueError, match=r"y has shape \(40,\), but the first fit or "
                       "partial_fit call had 2 target or class columns"):
        projection.partial_fit(X[40:], Y[40:, 0])
    assert_identical(projection.__dict__, expected_state)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: rank deficiency


def _unit_rows(matrix):
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.mark.parametrize("constant", [0.1, 175655620.602559])
def test_projection_rank_deficient_labels(constant):
    X = rank_three_data(constant)
    labels = (X[:, 0] + X[:, 2] > 0).astype(int) + (X[:, 4] > 0.5)
    expected = reference_discriminant(X, labels)

    projection = MatryoshkaProjection().fit(X, labels)
    assert projection.n_components_ == 2
    np.testing.assert_allclose(projection.informativeness_, expected, rtol=1e-8)
    assert _null_space_residual(_unit_rows(projection.components_)) < 1e-8

    # Completion up to the rank of X is allowed, but a fourth direction does not exist.
    completed = MatryoshkaProjection(n_components=3).fit(X, labels)
    assert _null_space_residual(_unit_rows(completed.components_)) < 1e-8
    np.testing.assert_array_equal(completed.informativeness_[2:], 0.0)
    with pytest.raises(ValueError, match=r"n_components=4 must be at most 3, the rank of X"):
        MatryoshkaProjection(n_components=4).fit(X, labels)


@pytest.mark.parametrize("constant", [0.1, 175655620.602559])
@pytest.mark.parametrize("reconstruction_weight", [0.0, 0.5])
def test_projection_rank_deficient_regression(reconstruction_weight, constant):
    X = rank_three_data(constant)
    y = X[:, 0] - 2 * X[:, 4] + 0.1 * np.random.default_rng(3).standard_normal(X.shape[0])

    projection = MatryoshkaProjection(reconstruction_weight=reconstruction_weight).fit(X, y)
    expected_components = 1 if reconstruction_weight == 0 else 3
    assert projection.n_components_ == expected_components
    assert _null_space_residual(_unit_rows(projection.components_)) < 1e-8
    assert np.all(projection.informativeness_ > 1e-6 * projection.informativeness_[0])
    if reconstruction_weight == 0:
        expected, _ = reference_regression(X, y)
        np.testing.assert_allclose(projection.informativeness_, expected[:1], rtol=1e-8)
    with pytest.raises(ValueError, match=r"n_components=4 must be at most 3"):
        MatryoshkaProjection(
            n_components=4, reconstruction_weight=reconstruction_weight
        ).fit(X, y)


@pytest.mark.parametrize("objective", ["regression", "canonical"])
def test_projection_ill_conditioned_direction_count(objective):
    # Two targets give at most two informative directions, however badly X is scaled:
    # here the principal standard deviations of X span a factor of 10^3.5.
    n_directions = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
        deviations = np.geomspace(1.0, 10.0**-3.5, 6)
        X = rng.standard_normal((60, 6)) * deviations @ rotation + rng.uniform(-5, 5, 6)
        Y = X @ rng.standard_normal((6, 2)) + 0.3 * rng.standard_normal((60, 2))
        projection = MatryoshkaProjection(objective=objective).fit(X, Y)
        n_directions.append(projection.n_components_)
    assert max(n_directions) <= 2, n_directions


def test_projection_fewer_samples_than_features():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 20))
    labels = np.array([0, 0, 1, 1, 2, 2])
    with pytest.warns(DegenerateObjectiveWarning, match="canonical correlations equal 1"):
        projection = MatryoshkaProjection().fit(X, labels)
    np.testing.assert_allclose(projection.informativeness_, [1.0, 1.0], rtol=1e-8)

    y = X[:, 0] + rng.standard_normal(6)
    regression = MatryoshkaProjection().fit(X, y)
    np.testing.assert_allclose(regression.informativeness_ratio_, [1.0], rtol=1e-8)
    with pytest.raises(ValueError, match=r"n_components=6 must be at most 5"):
        MatryoshkaProjection(n_components=6).fit(X, y)


# ---------------------------------------------------------------------------------------
# Class labels


def test_projection_class_with_one_member():
    X, labels = labelled_data()
    labels = labels.copy()
    labels[7] = 3
    projection = MatryoshkaProjection().fit(X, labels)
    np.testing.assert_array_equal(projection.classes_, [0, 1, 2, 3])
    assert projection.n_components_ == 3
    np.testing.assert_allclose(
        projection.informativeness_, reference_discriminant(X, labels), rtol=1e-8
    )
    assert_all_finite_state(projection)
    assert set(projection.predict(X)) <= {0, 1, 2, 3}


def test_projection_two_classes():
    X, labels = labelled_data(n_classes=2)
    projection = MatryoshkaProjection().fit(X, labels)
    assert projection.n_components_ == 1
    np.testing.assert_allclose(
        projection.informativeness_, reference_discriminant(X, labels), rtol=1e-8
    )

    # Fisher's direction: the within-class scatter solved against the mean difference.
    means = np.array([X[labels == c].mean(axis=0) for c in (0, 1)])
    within = sum(
        (X[labels == c] - means[c]).T @ (X[labels == c] - means[c]) for c in (0, 1)
    )
    fisher = linalg.solve(within, means[1] - means[0])
    cosine = _unit_rows(projection.components_) @ (fisher / np.linalg.norm(fisher))
    np.testing.assert_allclose(np.abs(cosine), [1.0], rtol=1e-10)


@pytest.mark.parametrize(
    "encode",
    [
        lambda codes: np.array(["ant", "bee", "cat"])[codes],
        lambda codes: np.array(["ant", "bee", "cat"], dtype=object)[codes],
        lambda codes: pd.Series(np.array(["ant", "bee", "cat"])[codes]),
        lambda codes: pd.Categorical(np.array(["ant", "bee", "cat"])[codes]),
        lambda codes: pd.Series(pd.Categorical.from_codes(codes, ["ant", "bee", "cat"])),
    ],
    ids=["str", "object", "series", "categorical", "categorical_series"],
)
def test_projection_string_and_categorical_labels(encode):
    X, codes = labelled_data()
    by_code = MatryoshkaProjection().fit(X, codes)
    projection = MatryoshkaProjection().fit(X, encode(codes))

    np.testing.assert_array_equal(projection.classes_, ["ant", "bee", "cat"])
    np.testing.assert_array_equal(projection.components_, by_code.components_)
    np.testing.assert_array_equal(
        projection.predict(X), np.array(["ant", "bee", "cat"])[by_code.predict(X)]
    )
    assert projection.score(X, encode(codes)) == by_code.score(X, codes)


def test_projection_partial_fit_labels_unseen_early():
    X, labels = labelled_data(n_samples=120, n_classes=4)
    names = np.array(["w", "x", "y", "z"])[labels]
    order = np.argsort(labels, kind="stable")
    projection = MatryoshkaProjection()
    for batch in np.array_split(order, 6):
        projection.partial_fit(X[batch], names[batch], classes=["z", "y", "x", "w"])

    np.testing.assert_array_equal(projection.classes_, ["w", "x", "y", "z"])
    np.testing.assert_allclose(
        projection.informativeness_, reference_discriminant(X, labels), rtol=1e-8
    )
    fitted = MatryoshkaProjection().fit(X, names)
    np.testing.assert_allclose(projection.components_, fitted.components_, rtol=1e-8)
    np.testing.assert_array_equal(projection.predict(X), fitted.predict(X))


def test_projection_declared_class_never_seen():
    X, labels = labelled_data()
    projection = MatryoshkaProjection().partial_fit(X, labels, classes=[0, 1, 2, 3])
    np.testing.assert_array_equal(projection.classes_, [0, 1, 2, 3])
    np.testing.assert_allclose(
        projection.informativeness_, reference_discriminant(X, labels), rtol=1e-8
    )
    # The absent class has prior 0, so its log prior is -inf, but nothing is NaN.
    assert_all_finite_state(projection, allow_infinity=True)
    assert 3 not in set(projection.predict(X))


@pytest.mark.parametrize(
    "labels", [np.zeros(90, dtype=int), np.array(["only"] * 90), np.ones(90, dtype=bool)],
    ids=["int", "str", "bool"],
)
def test_projection_single_class_rejected(labels):
    X, _ = labelled_data()
    with pytest.raises(ValueError, match=r"only 1 class .*needs at least 2 classes"):
        MatryoshkaProjection().fit(X, labels)
    with pytest.raises(ValueError, match=r"only 1 class .*needs at least 2 classes"):
        MatryoshkaProjection().partial_fit(X, labels, classes=labels[:1])


def test_projection_mixed_label_types_rejected():
    X, _ = labelled_data()
    labels = np.array([1, "a", 2.5] * 30, dtype=object)
    with pytest.raises(ValueError, match="y") as error:
        MatryoshkaProjection().fit(X, labels)
    # The message must not tell the user to choose the objective that was used.
    assert "Use objective='auto'" not in str(error.value)


# ---------------------------------------------------------------------------------------
# Multi-output y with a constant column


@pytest.mark.parametrize("constant", [0.0, 3.7, 175655620.602559])
@pytest.mark.parametrize(
    "params",
    [{}, {"objective": "canonical"}, {"reconstruction_weight": 0.5}, {"n_components": 3}],
    ids=["regression", "canonical", "mixed", "completed"],
)
def test_projection_constant_target_column(params, constant):
    X, Y = regression_data()
    y = Y[:, 0]
    Y_constant = np.column_stack([y, np.full(X.shape[0], constant)])

    projection = MatryoshkaProjection(**params).fit(X, Y_constant)
    single = MatryoshkaProjection(**params).fit(X, y)

    assert_all_finite_state(projection)
    prediction = projection.predict(X)
    assert np.isfinite(prediction).all()
    np.testing.assert_allclose(prediction[:, 1], constant, rtol=1e-12, atol=1e-12)

    # The constant column explains nothing: the fit equals the fit without it.
    assert projection.n_components_ == single.n_components_
    np.testing.assert_allclose(
        projection.informativeness_, single.informativeness_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        projection.informativeness_ratio_, single.informativeness_ratio_, rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        projection.transform(X), single.transform(X), rtol=1e-8, atol=1e-10
    )
    if not params or "n_components" in params:
        expected, total = reference_regression(X, y)
        np.testing.assert_allclose(projection.informativeness_[:1], expected[:1], rtol=1e-9)
        np.testing.assert_allclose(
            projection.informativeness_ratio_[:1], expected[:1] / total, rtol=1e-9
        )


def test_projection_all_target_columns_constant():
    X, _ = regression_data()
    Y = np.column_stack([np.full(X.shape[0], 2.5), np.full(X.shape[0], -1.0)])
    with pytest.raises(ValueError, match="No direction of X is informative"):
        MatryoshkaProjection().fit(X, Y)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: integer and boolean X


@pytest.mark.parametrize("dtype", [np.int8, np.int64, bool])
@pytest.mark.parametrize("target", ["labels", "regression"])
def test_projection_integer_and_boolean_x(target, dtype):
    X, labels = labelled_data()
    X_typed = (X > 0) if dtype is bool else (X * 20).clip(-120, 120).astype(dtype)
    X_float = X_typed.astype(np.float64)
    y = labels if target == "labels" else X_float @ [1.0, 0.0, -1.0, 2.0] + labels

    projection = MatryoshkaProjection().fit(X_typed, y)
    reference = MatryoshkaProjection().fit(X_float, y)
    np.testing.assert_array_equal(projection.components_, reference.components_)
    np.testing.assert_array_equal(projection.transform(X_typed), reference.transform(X_float))
    np.testing.assert_array_equal(projection.predict(X_typed), reference.predict(X_float))
    expected = (
        reference_discriminant(X_float, labels) if target == "labels"
        else reference_regression(X_float, y)[0][:1]
    )
    np.testing.assert_allclose(projection.informativeness_, expected, rtol=1e-8)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: sample weights


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    "weights, message",
    [
        (np.zeros(90), "sample_weight is zero for every sample"),
        (np.where(np.arange(90) == 3, -0.25, 1.0), r"non-negative; got .*-0\.25"),
        (np.ones(89), r"sample_weight has shape \(89,\), but X has 90 samples"),
    ],
    ids=["zeros", "negative", "short"],
)
def test_projection_invalid_sample_weight(method, weights, message):
    X, labels = labelled_data()
    with pytest.raises(ValueError, match=message):
        getattr(MatryoshkaProjection(), method)(X, labels, sample_weight=weights)


@pytest.mark.parametrize(
    "params, target",
    [({}, "regression"), ({"objective": "canonical"}, "regression"), ({}, "labels")],
    ids=["regression", "canonical", "labels"],
)
def test_projection_weight_sum_one_rejected(params, target):
    # Frequency weights need sum(w) - 1 > 0, so a sum of exactly 1 must be a clear error.
    X, labels = labelled_data()
    y = labels if target == "labels" else X @ [1.0, 2.0, 0.0, -1.0]
    weights = np.zeros(90)
    weights[[0, 1, 2, 4]] = 0.25
    with pytest.raises(ValueError, match=r"sum to 1\.0.*rescale sample_weight"):
        MatryoshkaProjection(**params).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("factor", [0.5, 3.0, 1000.0])
@pytest.mark.parametrize(
    "params, target",
    [
        ({}, "regression"),
        ({"objective": "canonical"}, "regression"),
        ({"reconstruction_weight": 0.3}, "regression"),
        ({"n_components": 4}, "regression"),
        ({}, "labels"),
    ],
    ids=["regression", "canonical", "mixed", "completed", "labels"],
)
def test_projection_weight_scaling_keeps_basis(params, target, factor):
    X, labels = labelled_data()
    _, Y = regression_data(n_samples=90)
    y = labels if target == "labels" else Y + X[:, :2]
    weights = np.random.default_rng(11).uniform(0.5, 2.0, X.shape[0])
    projection = MatryoshkaProjection(**params).fit(X, y, sample_weight=weights)
    scaled = MatryoshkaProjection(**params).fit(X, y, sample_weight=factor * weights)

    np.testing.assert_allclose(scaled.mean_, projection.mean_, rtol=1e-12)
    np.testing.assert_allclose(
        scaled.informativeness_ratio_, projection.informativeness_ratio_, rtol=1e-9
    )
    np.testing.assert_allclose(
        scaled.components_, projection.components_, rtol=1e-8, atol=1e-12
    )
    np.testing.assert_allclose(
        scaled.transform(X), projection.transform(X), rtol=1e-8, atol=1e-10
    )
    if target == "labels":
        np.testing.assert_array_equal(scaled.predict(X), projection.predict(X))
    else:
        np.testing.assert_allclose(scaled.predict(X), projection.predict(X), rtol=1e-10)


@pytest.mark.parametrize("target", ["labels", "regression"])
def test_projection_fractional_weights_match_definition(target):
    X, labels = labelled_data()
    weights = np.random.default_rng(12).uniform(0.0, 1.5, X.shape[0])
    weights[[1, 5]] = 0.0
    projection = MatryoshkaProjection()
    if target == "labels":
        projection.fit(X, labels, sample_weight=weights)
        expected = reference_discriminant(X, labels, weights)
    else:
        y = X @ [1.0, 2.0, 0.0, -1.0] + labels
        projection.fit(X, y, sample_weight=weights)
        expected = reference_regression(X, y, weights)[0][:1]
    _, mean, _ = weighted_moments(X, weights)
    np.testing.assert_allclose(projection.mean_, mean, rtol=RTOL)
    np.testing.assert_allclose(projection.informativeness_, expected, rtol=1e-8)


# ---------------------------------------------------------------------------------------
# MatryoshkaProjection: inputs unchanged, and pickling


@pytest.mark.parametrize("variant", list(input_variants()))
def test_projection_inputs_unchanged(variant):
    X = input_variants()[variant]
    labels = np.array(["a", "b", "c"])[np.arange(X.shape[0]) % 3]
    Y = np.asfortranarray(np.column_stack([np.arange(X.shape[0]) % 7, np.arange(X.shape[0]) % 5]))
    Y = Y.astype(X.dtype if X.dtype.kind == "f" else np.float64)
    weights = np.linspace(0.5, 2.0, X.shape[0])
    for array in (labels, Y, weights):
        array.flags.writeable = variant != "read_only"
    expected = [snapshot_array(array) for array in (X, labels, Y, weights)]

    for y in (labels, Y):
        projection = MatryoshkaProjection().fit(X, y, sample_weight=weights)
        projection.transform(X)
        projection.predict(X)
        projection.score(X, y, sample_weight=weights)
        incremental = MatryoshkaProjection()
        incremental.partial_fit(X[:30], y[:30], sample_weight=weights[:30])
        incremental.partial_fit(X[30:], y[30:], sample_weight=weights[30:])

    assert [snapshot_array(array) for array in (X, labels, Y, weights)] == expected


def test_projection_fit_from_statistics_keeps_own_copy():
    X, Y = regression_data()
    statistics = ScatterStatistics.from_data(X[:40], Y[:40])
    projection = MatryoshkaProjection().fit_from_statistics(statistics)
    expected_state = copy.deepcopy(projection.__dict__)

    # Updating the caller's statistics afterwards must not change the fitted estimator.
    statistics.update(X[40:], Y[40:])
    assert_identical(projection.__dict__, expected_state)


def test_projection_categorical_labels_unchanged():
    X, codes = labelled_data()
    labels = pd.Series(pd.Categorical.from_codes(codes, ["ant", "bee", "cat"]))
    expected = labels.copy()
    MatryoshkaProjection().fit(X, labels).score(X, labels)
    MatryoshkaProjection().partial_fit(X, labels)
    pd.testing.assert_series_equal(labels, expected)


@pytest.mark.parametrize(
    "params, target",
    [({}, "labels"), ({}, "regression"), ({"reconstruction_weight": 0.5}, "regression"),
     ({"whiten": True}, "labels")],
    ids=["labels", "regression", "mixed", "whiten"],
)
def test_projection_pickle_round_trip(params, target):
    X, labels = labelled_data()
    y = np.array(["a", "b", "c"])[labels] if target == "labels" else X @ [1.0, 0, 2, 0]
    projection = MatryoshkaProjection(**params).partial_fit(X[:60], y[:60])

    restored = pickle.loads(pickle.dumps(projection))
    assert_identical(restored.__dict__, projection.__dict__)
    assert_identical(restored.predict(X), projection.predict(X))

    restored.partial_fit(X[60:], y[60:])
    projection.partial_fit(X[60:], y[60:])
    assert_identical(restored.__dict__, projection.__dict__)
    assert_identical(restored.transform(X), projection.transform(X))
