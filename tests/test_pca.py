"""Tests of MatryoshkaPCA against scikit-learn's PCA, float64 eigh and gradient descent."""

import functools
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mrl import MatryoshkaPCA, ScatterStatistics

RTOL = 1e-10

# A direction counts as identifiable when its distance to the nearest other eigenvalue
# exceeds this fraction of the largest eigenvalue. Rounding perturbs a float64 scatter
# matrix by at most about n_samples * eps times its norm, so such a direction is fixed
# to within about 4e-7 in angle for digits, which keeps |cos| above 1 - 1e-10.
CLEAR_GAP = 1e-6

# Bundled data sets, each with a prefix size whose trailing eigengap is clear and whose
# discarded variance is far above rounding, for the checks of the probabilistic model.
DATASETS = {
    "digits": (load_digits, 10),
    "breast_cancer": (load_breast_cancer, 3),
    "wine": (load_wine, 3),
}


def relative_error(actual, expected):
    """Return max |actual - expected| / max |expected|, the normwise relative error."""
    return np.max(np.abs(np.asarray(actual) - expected)) / np.max(np.abs(expected))


def abs_cosines(rows_a, rows_b):
    """Return |cos| of the angle between matching rows, which ignores their signs."""
    norms = np.linalg.norm(rows_a, axis=1) * np.linalg.norm(rows_b, axis=1)
    return np.abs(np.sum(rows_a * rows_b, axis=1)) / norms


def make_data(n_samples=300, seed=0):
    """Return data in 6 features with well-separated variances 36, 16, 9, 4, 2.25, 1."""
    rng = np.random.default_rng(seed)
    scales = np.array([6.0, 4.0, 3.0, 2.0, 1.5, 1.0])
    rotation, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    return rng.standard_normal((n_samples, 6)) * scales @ rotation.T + rng.uniform(-5, 5, 6)


def make_low_rank_data(rank=3, n_samples=50, seed=0):
    """Return data in 6 features whose centered matrix has exactly the given rank."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n_samples, rank)) * np.arange(rank, 0, -1)
    return factors @ rng.standard_normal((rank, 6)) + rng.uniform(-5, 5, 6)


def reference_pca(X, sample_weight=None):
    """Return the weighted mean and the eigenpairs of the covariance by float64 eigh.

    Eigenvalues are in decreasing order and eigenvectors are rows, with the frequency
    weight denominator sum(sample_weight) - 1.
    """
    X = np.asarray(X, dtype=np.float64)
    weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    mean = np.average(X, axis=0, weights=weights)
    centered = X - mean
    covariance = (centered.T * weights) @ centered / (weights.sum() - 1)
    eigenvalues, vectors = scipy.linalg.eigh(covariance)
    return mean, eigenvalues[::-1], vectors[:, ::-1].T


def nearest_eigengaps(eigenvalues):
    """Return the distance from each eigenvalue to its nearest neighbour in the list."""
    differences = -np.diff(eigenvalues)
    return np.minimum(np.r_[np.inf, differences], np.r_[differences, np.inf])


@functools.cache
def load_dataset(name):
    """Return X, its float64 eigenvalues, numerical rank and clear-gap mask."""
    loader, _ = DATASETS[name]
    X, _ = loader(return_X_y=True)
    rank = np.linalg.matrix_rank(X - X.mean(axis=0))
    _, eigenvalues, _ = reference_pca(X)
    clear = nearest_eigengaps(eigenvalues)[:rank] > CLEAR_GAP * eigenvalues[0]
    return X, eigenvalues[:rank], rank, clear


def fit_both(name, n_components):
    X, _, _, _ = load_dataset(name)
    ours = MatryoshkaPCA(n_components=n_components).fit(X)
    theirs = PCA(n_components=n_components, svd_solver="full").fit(X)
    return X, ours, theirs


def score_prefix(name):
    """Return the dataset's prefix size for model checks, after checking its gap is clear."""
    _, eigenvalues, _, _ = load_dataset(name)
    n_components = DATASETS[name][1]
    gap = eigenvalues[n_components - 1] - eigenvalues[n_components]
    assert gap > CLEAR_GAP * eigenvalues[0], "test setup: the prefix must end at a clear gap"
    return n_components


# Parity with scikit-learn's PCA on bundled data sets.


@pytest.mark.parametrize("name", DATASETS)
def test_parity_components_clear_gaps(name):
    _, _, rank, clear = load_dataset(name)
    _, ours, theirs = fit_both(name, rank)

    cosines = abs_cosines(ours.components_, theirs.components_)

    assert np.all(cosines[clear] >= 1 - RTOL)


@pytest.mark.parametrize("name", DATASETS)
def test_parity_explained_variance(name):
    _, eigenvalues, rank, _ = load_dataset(name)
    _, ours, theirs = fit_both(name, rank)

    assert relative_error(ours.explained_variance_, theirs.explained_variance_) <= RTOL
    assert relative_error(ours.explained_variance_, eigenvalues) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_variance_ratio(name):
    _, _, rank, _ = load_dataset(name)
    _, ours, theirs = fit_both(name, rank)

    assert relative_error(ours.explained_variance_ratio_, theirs.explained_variance_ratio_) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_singular_values(name):
    _, _, rank, _ = load_dataset(name)
    _, ours, theirs = fit_both(name, rank)

    assert relative_error(ours.singular_values_, theirs.singular_values_) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_transform_up_to_sign(name):
    _, _, rank, clear = load_dataset(name)
    X, ours, theirs = fit_both(name, rank)
    signs = np.sign(np.sum(ours.components_ * theirs.components_, axis=1))

    expected = theirs.transform(X) * signs

    assert relative_error(ours.transform(X)[:, clear], expected[:, clear]) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_inverse_transform(name):
    X, ours, theirs = fit_both(name, score_prefix(name))

    expected = theirs.inverse_transform(theirs.transform(X))

    assert relative_error(ours.inverse_transform(ours.transform(X)), expected) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_score(name):
    X, ours, theirs = fit_both(name, score_prefix(name))

    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=RTOL)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=RTOL)
    assert relative_error(ours.score_samples(X), theirs.score_samples(X)) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_get_covariance(name):
    _, ours, theirs = fit_both(name, score_prefix(name))

    assert relative_error(ours.get_covariance(), theirs.get_covariance()) <= RTOL


@pytest.mark.parametrize("name", DATASETS)
def test_parity_get_precision(name):
    _, ours, theirs = fit_both(name, score_prefix(name))

    assert relative_error(ours.get_precision(), theirs.get_precision()) <= 1e-8


# The full-prefix theorem: gradient descent on the summed prefix losses, written from
# the covariance alone, reaches the closed-form basis.


def prefix_losses(encoder, decoder, covariance):
    """Return L_m = tr((I - D_m E_m) S (I - D_m E_m)^T) for m = 1..k."""
    identity = np.eye(covariance.shape[0])
    losses = []
    for m in range(1, encoder.shape[0] + 1):
        residual = identity - decoder[:, :m] @ encoder[:m]
        losses.append(np.trace(residual @ covariance @ residual.T))
    return np.array(losses)


def full_prefix_gradient(encoder, decoder, covariance):
    """Return the gradients of sum_m L_m with respect to E (k, d) and D (d, k).

    dL_m/dD_m = -2 R_m S E_m^T and dL_m/dE_m = -2 D_m^T R_m S, with R_m = I - D_m E_m,
    so row j of E and column j of D collect terms from every prefix m >= j.
    """
    identity = np.eye(covariance.shape[0])
    encoder_gradient = np.zeros_like(encoder)
    decoder_gradient = np.zeros_like(decoder)
    for m in range(1, encoder.shape[0] + 1):
        residual_covariance = (identity - decoder[:, :m] @ encoder[:m]) @ covariance
        decoder_gradient[:, :m] -= 2 * residual_covariance @ encoder[:m].T
        encoder_gradient[:m] -= 2 * decoder[:, :m].T @ residual_covariance
    return encoder_gradient, decoder_gradient


@pytest.fixture(scope="module")
def gradient_descent_result():
    """Run gradient descent on standardized wine, whose first 5 variances are distinct.

    The covariance eigenvalues are about 4.73, 2.51, 1.45, 0.92 and 0.86, so the
    smallest gap within the first 5 is 0.066, and 20000 steps shrink the slowest error
    mode by a factor of roughly exp(-20000 * step * gap) = exp(-17).
    """
    X = StandardScaler().fit_transform(load_wine().data)
    covariance = np.cov(X, rowvar=False)
    largest_eigenvalue = scipy.linalg.eigvalsh(covariance)[-1]
    n_components = 4

    # Each factor entry appears in up to k prefix losses, each of curvature at most
    # about 2 * lambda_1 near unit-norm factors, so steps are stable below
    # 2 / (2 k lambda_1). A quarter of that leaves margin for the coupling of E and D.
    step = 1 / (4 * n_components * largest_eigenvalue)
    rng = np.random.default_rng(0)
    encoder = 0.1 * rng.standard_normal((n_components, X.shape[1]))
    decoder = 0.1 * rng.standard_normal((X.shape[1], n_components))
    for _ in range(20000):
        encoder_gradient, decoder_gradient = full_prefix_gradient(encoder, decoder, covariance)
        encoder -= step * encoder_gradient
        decoder -= step * decoder_gradient

    pca = MatryoshkaPCA(n_components=n_components).fit(X)
    return pca, encoder, decoder, prefix_losses(encoder, decoder, covariance)


def test_gradient_descent_encoder_rows(gradient_descent_result):
    pca, encoder, _, _ = gradient_descent_result

    assert np.all(abs_cosines(encoder, pca.components_) >= 0.999)


def test_gradient_descent_decoder_columns(gradient_descent_result):
    pca, _, decoder, _ = gradient_descent_result

    assert np.all(abs_cosines(decoder.T, pca.components_) >= 0.999)


def test_gradient_descent_prefix_losses(gradient_descent_result):
    pca, _, _, losses = gradient_descent_result

    np.testing.assert_allclose(losses, pca.prefix_loss_[1:], rtol=1e-6)


# Data far from the origin.


def offset_data(dtype, offset):
    rng = np.random.default_rng(0)
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5])
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    X = (rng.standard_normal((1000, 5)) * scales @ rotation.T + offset).astype(dtype)
    centered = X.astype(np.float64) - X.astype(np.float64).mean(axis=0)
    expected = scipy.linalg.eigvalsh(np.cov(centered, rowvar=False))[::-1]
    return X, expected


OFFSET_CASES = [(np.float64, 1e8), (np.float32, 1e3)]
OFFSET_IDS = ["float64-1e8", "float32-1e3"]


@pytest.mark.parametrize(("dtype", "offset"), OFFSET_CASES, ids=OFFSET_IDS)
def test_large_offset_explained_variance(dtype, offset):
    X, expected = offset_data(dtype, offset)

    explained_variance = MatryoshkaPCA(n_components=5).fit(X).explained_variance_

    assert np.max(np.abs(explained_variance - expected) / expected) <= 1e-6


@pytest.mark.parametrize(("dtype", "offset"), OFFSET_CASES, ids=OFFSET_IDS)
def test_large_offset_partial_fit(dtype, offset):
    # Each merge of batch statistics rounds the batch means to about eps * offset. The
    # measured errors were 1e-9 (float64) and 3e-8 (float32) with 10 batches.
    X, expected = offset_data(dtype, offset)
    pca = MatryoshkaPCA(n_components=5)
    for batch in np.array_split(X, 10):
        pca.partial_fit(batch)

    assert np.max(np.abs(pca.explained_variance_ - expected) / expected) <= 1e-6


@pytest.mark.parametrize("svd_solver", ["auto", "covariance_eigh"])
@pytest.mark.parametrize(("dtype", "offset"), OFFSET_CASES, ids=OFFSET_IDS)
def test_sklearn_covariance_eigh_offset_error(dtype, offset, svd_solver):
    # scikit-learn's covariance_eigh solver, which "auto" selects for this shape, forms
    # X^T X - n m m^T in the input dtype. The measured relative errors were 1.9
    # (float64) and 1.0 (float32) with scikit-learn 1.9.1.
    X, expected = offset_data(dtype, offset)

    explained_variance = PCA(n_components=5, svd_solver=svd_solver).fit(X).explained_variance_

    assert np.max(np.abs(explained_variance - expected) / expected) > 1e-6


# Equivalent inputs give the same fit.


def assert_same_fit(actual, expected, rtol=RTOL):
    """Assert equal fits: components with their signs, variances, mean and weight."""
    assert actual.n_components_ == expected.n_components_
    assert relative_error(actual.components_, expected.components_) <= rtol
    assert relative_error(actual.explained_variance_, expected.explained_variance_) <= rtol
    assert relative_error(actual.mean_, expected.mean_) <= rtol
    assert actual.n_samples_seen_ == pytest.approx(expected.n_samples_seen_, rel=rtol)
    assert relative_error(actual.prefix_loss_, expected.prefix_loss_) <= rtol


def test_weights_equal_row_repetition():
    X = make_data()
    weights = np.random.default_rng(1).integers(1, 4, X.shape[0])

    weighted = MatryoshkaPCA().fit(X, sample_weight=weights)
    repeated = MatryoshkaPCA().fit(np.repeat(X, weights, axis=0))

    assert_same_fit(weighted, repeated)
    assert relative_error(weighted.transform(X), repeated.transform(X)) <= RTOL


def test_weights_match_reference():
    X = make_data()
    weights = np.random.default_rng(1).uniform(0.5, 3.0, X.shape[0])
    mean, eigenvalues, vectors = reference_pca(X, weights)

    pca = MatryoshkaPCA().fit(X, sample_weight=weights)

    assert relative_error(pca.mean_, mean) <= RTOL
    assert relative_error(pca.explained_variance_, eigenvalues) <= RTOL
    assert np.all(abs_cosines(pca.components_, vectors) >= 1 - RTOL)


def test_zero_weight_equals_removal():
    X = make_data()
    weights = np.ones(X.shape[0])
    weights[[3, 50, 299]] = 0.0

    weighted = MatryoshkaPCA().fit(X, sample_weight=weights)
    removed = MatryoshkaPCA().fit(X[weights > 0])

    assert_same_fit(weighted, removed)


@pytest.mark.parametrize("seed", range(5))
def test_partial_fit_equals_fit(seed):
    X = make_data(n_samples=400)
    rng = np.random.default_rng(seed)
    boundaries = np.sort(rng.choice(np.arange(1, X.shape[0]), size=7, replace=False))
    batches = np.split(rng.permutation(X.shape[0]), boundaries)

    incremental = MatryoshkaPCA()
    for batch in rng.permutation(len(batches)):
        incremental.partial_fit(X[batches[batch]])

    assert_same_fit(incremental, MatryoshkaPCA().fit(X))


def test_partial_fit_weighted_batches():
    X = make_data()
    weights = np.random.default_rng(2).uniform(0, 2, X.shape[0])

    incremental = MatryoshkaPCA()
    for batch in np.array_split(np.arange(X.shape[0]), 4):
        incremental.partial_fit(X[batch], sample_weight=weights[batch])

    assert_same_fit(incremental, MatryoshkaPCA().fit(X, sample_weight=weights))


def test_partial_fit_waits_for_samples():
    X = make_data()
    pca = MatryoshkaPCA(n_components=3).partial_fit(X[:2])

    with pytest.raises(NotFittedError, match="n_components=3 needs rank 3 or more"):
        pca.transform(X)


def test_partial_fit_solves_the_basis_once_when_read(monkeypatch):
    X = make_data()
    solves = []
    solve = MatryoshkaPCA._fit_statistics

    def counting_solve(self, *args, **kwargs):
        solves.append(kwargs["incremental"])
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(MatryoshkaPCA, "_fit_statistics", counting_solve)
    pca = MatryoshkaPCA(n_components=3)
    for batch in np.array_split(X, 10):
        pca.partial_fit(batch)
    assert solves == []
    assert pca.n_samples_seen_ == X.shape[0]

    pca.transform(X)
    assert pca.explained_variance_.shape == (3,)
    assert solves == [True]

    pca.partial_fit(X[:5])
    assert pca.n_samples_seen_ == X.shape[0] + 5
    assert pca.components_.shape == (3, X.shape[1])
    assert solves == [True, True]


def test_partial_fit_pickles_before_the_basis_is_read():
    X = make_data()
    pca = MatryoshkaPCA(n_components=3).partial_fit(X)

    restored = pickle.loads(pickle.dumps(pca))

    assert_same_fit(restored, MatryoshkaPCA(n_components=3).fit(X))


def test_partial_fit_rejects_float32_batch_out_of_range():
    rng = np.random.default_rng(13)
    pca = MatryoshkaPCA().partial_fit(rng.normal(size=(30, 3)).astype(np.float32))
    expected = pca.components_.copy()

    batch = (rng.normal(size=(30, 3)) * 1e20).astype(np.float32)
    with pytest.raises(ValueError, match="outside the range of float32"):
        pca.partial_fit(batch)

    assert pca.n_samples_seen_ == 30
    np.testing.assert_array_equal(pca.components_, expected)

    tiny = (rng.normal(size=(30, 3)) * 1e-24).astype(np.float32)
    with pytest.raises(ValueError, match="outside the range of float32"):
        MatryoshkaPCA().partial_fit(tiny)


def test_partial_fit_failed_solve_leaves_no_basis(monkeypatch):
    X = make_data()
    pca = MatryoshkaPCA(n_components=2).partial_fit(X)

    def failing_solve(self, statistics, **kwargs):
        self.components_ = np.zeros((2, X.shape[1]))
        raise ValueError("the solve failed")

    monkeypatch.setattr(MatryoshkaPCA, "_fit_statistics", failing_solve)
    for _ in range(2):
        with pytest.raises(ValueError, match="the solve failed"):
            pca.transform(X)
        assert "components_" not in vars(pca)

    monkeypatch.undo()
    assert_same_fit(pca, MatryoshkaPCA(n_components=2).fit(X))


def test_partial_fit_solves_with_its_own_parameters():
    X = make_data()
    pca = MatryoshkaPCA(n_components=3).partial_fit(X)

    pca.set_params(n_components=2)

    assert pca.n_components_ == 3
    assert pca.get_params()["n_components"] == 2
    assert pca.partial_fit(X[:10]).n_components_ == 2


def test_partial_fit_basis_read_by_several_threads():
    X = make_data()
    expected = MatryoshkaPCA(n_components=3).fit(X).transform(X)
    pending = pickle.dumps(MatryoshkaPCA(n_components=3).partial_fit(X))

    for _ in range(5):
        pca = pickle.loads(pending)
        barrier = threading.Barrier(4)

        def read(pca=pca, barrier=barrier):
            barrier.wait()
            return pca.transform(X)

        with ThreadPoolExecutor(4) as pool:
            outputs = list(pool.map(lambda _: read(), range(4)))
        for output in outputs:
            assert relative_error(output, expected) <= RTOL


def test_partial_fit_waiting_feature_names_raise_the_reason():
    pca = MatryoshkaPCA(n_components=3).partial_fit(make_data()[:2])

    with pytest.raises(NotFittedError, match="n_components=3 needs rank 3 or more"):
        pca.get_feature_names_out()


def test_fit_from_statistics_equals_fit():
    X = make_data()

    from_statistics = MatryoshkaPCA().fit_from_statistics(ScatterStatistics.from_data(X))

    assert_same_fit(from_statistics, MatryoshkaPCA().fit(X))


@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_sparse_equals_dense(sparse_format):
    X = make_data()
    X[np.abs(X) < 3] = 0.0
    X_sparse = sp.csr_matrix(X).asformat(sparse_format)

    sparse_fit = MatryoshkaPCA(n_components=4).fit(X_sparse)
    dense_fit = MatryoshkaPCA(n_components=4).fit(X)

    assert_same_fit(sparse_fit, dense_fit)
    assert relative_error(sparse_fit.transform(X_sparse), dense_fit.transform(X)) <= RTOL


def test_row_order_is_irrelevant():
    X = make_data()
    permutation = np.random.default_rng(3).permutation(X.shape[0])

    assert_same_fit(MatryoshkaPCA().fit(X[permutation]), MatryoshkaPCA().fit(X))


def test_refit_is_bitwise_identical():
    X = make_data(n_samples=5000)
    first = MatryoshkaPCA(n_components=4).fit(X)
    first_components = first.components_.copy()
    first_transform = first.transform(X)

    second = MatryoshkaPCA(n_components=4).fit(X)
    first.fit(X)

    assert np.array_equal(second.components_, first_components)
    assert np.array_equal(second.explained_variance_, first.explained_variance_)
    assert np.array_equal(first.components_, first_components)
    assert np.array_equal(second.transform(X), first_transform)


FLOAT_ATTRIBUTES = [
    "components_",
    "mean_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "informativeness_",
    "informativeness_ratio_",
    "prefix_loss_",
    "eigengaps_",
]


@pytest.mark.parametrize("attribute", FLOAT_ATTRIBUTES)
def test_float32_attribute_dtype(attribute):
    X32 = make_data().astype(np.float32)

    pca = MatryoshkaPCA().fit(X32)

    assert getattr(pca, attribute).dtype == np.float32


@pytest.mark.parametrize("whiten", [False, True])
def test_float32_output_dtype(whiten):
    X32 = make_data().astype(np.float32)
    pca = MatryoshkaPCA(whiten=whiten).fit(X32)

    X_new = pca.transform(X32)

    assert X_new.dtype == np.float32
    assert pca.inverse_transform(X_new).dtype == np.float32


def test_float32_matches_float64():
    X32 = make_data().astype(np.float32)
    mean, eigenvalues, vectors = reference_pca(X32.astype(np.float64))

    pca = MatryoshkaPCA().fit(X32)

    assert relative_error(pca.explained_variance_, eigenvalues) <= 1e-6
    assert relative_error(pca.mean_, mean) <= 1e-6
    assert np.all(abs_cosines(pca.components_.astype(np.float64), vectors) >= 1 - 1e-6)


def fit_by_path(path):
    X = make_data()
    if path == "dense":
        return MatryoshkaPCA().fit(X)
    if path == "sparse":
        return MatryoshkaPCA().fit(sp.csr_matrix(X))
    if path == "weighted":
        return MatryoshkaPCA().fit(X, sample_weight=np.arange(X.shape[0]) % 3)
    if path == "float32":
        return MatryoshkaPCA().fit(X.astype(np.float32))
    if path == "partial_fit":
        pca = MatryoshkaPCA()
        for batch in np.array_split(X, 3):
            pca.partial_fit(batch)
        return pca
    return MatryoshkaPCA().fit_from_statistics(ScatterStatistics.from_data(X))


@pytest.mark.parametrize(
    "path", ["dense", "sparse", "weighted", "float32", "partial_fit", "statistics"]
)
def test_sign_rule_largest_entry_positive(path):
    components = fit_by_path(path).components_
    largest = np.argmax(np.abs(components), axis=1)

    assert np.all(components[np.arange(components.shape[0]), largest] > 0)


# n_components: an int, a fraction or None.


def test_n_components_int_prefix():
    X = make_data()
    _, _, vectors = reference_pca(X)

    pca = MatryoshkaPCA(n_components=3).fit(X)

    assert pca.n_components_ == 3
    assert pca.components_.shape == (3, 6)
    assert np.all(abs_cosines(pca.components_, vectors[:3]) >= 1 - RTOL)


def test_n_components_none_is_rank():
    X = make_low_rank_data(rank=3)
    rank = np.linalg.matrix_rank(X - X.mean(axis=0))

    pca = MatryoshkaPCA().fit(X)

    assert rank == 3
    assert pca.n_components_ == rank


@pytest.mark.parametrize("n_components", [4, 6])
def test_n_components_above_rank_raises(n_components):
    X = make_low_rank_data(rank=3)

    with pytest.raises(ValueError, match=f"n_components={n_components} must be at most .* is 3"):
        MatryoshkaPCA(n_components=n_components).fit(X)


def test_n_components_above_n_samples_raises():
    X = make_data(n_samples=4)

    with pytest.raises(ValueError, match="n_components=5 must be at most .* is 3"):
        MatryoshkaPCA(n_components=5).fit(X)


def hadamard_data():
    """Return 8 samples whose covariance is (8 / 7) diag(16, 9, 4, 1, 1, 1) exactly.

    Columns 1-6 of an 8 x 8 Hadamard matrix are orthogonal, sum to zero and have
    squared norm 8, so the cumulative variance ratios are exactly 16/32, 25/32, 29/32,
    30/32, 31/32 and 1.
    """
    return scipy.linalg.hadamard(8)[:, 1:7] * np.array([4.0, 3.0, 2.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.49, 1), (0.5, 2), (0.6, 2), (25 / 32, 3), (0.95, 5), (0.97, 6)],
)
def test_n_components_fraction_exceeded(fraction, expected):
    pca = MatryoshkaPCA(n_components=fraction).fit(hadamard_data())

    assert pca.n_components_ == expected


@pytest.mark.parametrize("fraction", [0.3, 0.8, 0.95, 0.999])
def test_n_components_fraction_matches_eigenvalues(fraction):
    X = make_data()
    _, eigenvalues, _ = reference_pca(X)
    cumulative_ratio = np.cumsum(eigenvalues) / eigenvalues.sum()
    expected = int(np.argmax(cumulative_ratio > fraction)) + 1

    pca = MatryoshkaPCA(n_components=fraction).fit(X)

    assert pca.n_components_ == expected


# inverse_transform of a prefix.


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("n_prefix", [1, 2, 4])
def test_inverse_transform_prefix(n_prefix, whiten):
    X = make_data()
    mean, _, vectors = reference_pca(X)
    prefix = vectors[:n_prefix]
    expected = mean + (X - mean) @ prefix.T @ prefix
    pca = MatryoshkaPCA(n_components=4, whiten=whiten).fit(X)

    reconstruction = pca.inverse_transform(pca.transform(X)[:, :n_prefix])

    assert relative_error(reconstruction, expected) <= RTOL


def test_inverse_transform_too_many_columns_raises():
    X = make_data()
    pca = MatryoshkaPCA(n_components=4).fit(X)

    with pytest.raises(ValueError, match="X has 5 columns, but this MatryoshkaPCA has only"):
        pca.inverse_transform(np.zeros((3, 5)))


def test_whiten_unit_variance():
    X = make_data()

    X_new = MatryoshkaPCA(whiten=True).fit(X).transform(X)

    assert relative_error(np.cov(X_new, rowvar=False), np.eye(6)) <= RTOL


# Informativeness, prefix losses and eigengaps.


@pytest.mark.parametrize("name", DATASETS)
def test_informativeness_non_increasing(name):
    X, _, _, _ = load_dataset(name)

    informativeness = MatryoshkaPCA().fit(X).informativeness_

    assert np.all(np.diff(informativeness) <= 0)


def test_informativeness_equals_explained_variance():
    X = make_data()
    _, eigenvalues, _ = reference_pca(X)

    pca = MatryoshkaPCA().fit(X)

    assert np.array_equal(pca.informativeness_, pca.explained_variance_)
    assert relative_error(pca.informativeness_, eigenvalues) <= RTOL


def test_informativeness_ratio_matches_eigenvalues():
    X = make_data()
    _, eigenvalues, _ = reference_pca(X)

    pca = MatryoshkaPCA(n_components=3).fit(X)

    assert relative_error(pca.informativeness_ratio_, eigenvalues[:3] / eigenvalues.sum()) <= RTOL


@pytest.mark.parametrize("name", ["digits", "wine"])
def test_prefix_loss_matches_eigenvalues(name):
    X, eigenvalues, _, _ = load_dataset(name)
    total_variance = np.trace(np.cov(X, rowvar=False))
    n_components = DATASETS[name][1]
    expected = total_variance - np.r_[0.0, np.cumsum(eigenvalues[:n_components])]

    prefix_loss = MatryoshkaPCA(n_components=n_components).fit(X).prefix_loss_

    assert prefix_loss.shape == (n_components + 1,)
    assert np.max(np.abs(prefix_loss - expected)) <= RTOL * total_variance


def test_prefix_loss_is_reconstruction_error():
    X = make_data()
    mean, _, vectors = reference_pca(X)
    centered = X - mean
    expected = [
        np.sum((centered - centered @ vectors[:m].T @ vectors[:m]) ** 2) / (X.shape[0] - 1)
        for m in range(5)
    ]

    prefix_loss = MatryoshkaPCA(n_components=4).fit(X).prefix_loss_

    assert relative_error(prefix_loss, expected) <= RTOL


def test_eigengaps_match_eigenvalues():
    X = make_data()
    _, eigenvalues, _ = reference_pca(X)
    expected = nearest_eigengaps(eigenvalues)[:4]

    eigengaps = MatryoshkaPCA(n_components=4).fit(X).eigengaps_

    assert relative_error(eigengaps, expected) <= RTOL


# The probabilistic PCA model.


@pytest.mark.parametrize("n_components", [2, 6])
def test_get_covariance_matches_sklearn(n_components):
    X = make_data()
    expected = PCA(n_components=n_components, svd_solver="full").fit(X).get_covariance()

    covariance = MatryoshkaPCA(n_components=n_components).fit(X).get_covariance()

    assert relative_error(covariance, expected) <= RTOL


@pytest.mark.parametrize("n_components", [2, 6])
def test_get_precision_matches_sklearn(n_components):
    X = make_data()
    expected = PCA(n_components=n_components, svd_solver="full").fit(X).get_precision()

    precision = MatryoshkaPCA(n_components=n_components).fit(X).get_precision()

    assert relative_error(precision, expected) <= RTOL


@pytest.mark.parametrize("n_components", [2, 6])
def test_get_precision_inverts_covariance(n_components):
    pca = MatryoshkaPCA(n_components=n_components).fit(make_data())

    product = pca.get_precision() @ pca.get_covariance()

    assert relative_error(product, np.eye(6)) <= RTOL


def test_prefix_loss_zero_at_rank():
    pca = MatryoshkaPCA().fit(make_low_rank_data(rank=3))

    assert pca.prefix_loss_[-1] == 0
    assert pca.noise_variance_ == 0


def test_score_at_full_rank_penalizes_off_subspace():
    X = make_low_rank_data(rank=3)
    pca = MatryoshkaPCA().fit(X)
    off_subspace = X[:5] + 1e-3 * np.linalg.svd(X - X.mean(axis=0))[2][-1]

    on_scores = pca.score_samples(X[:5])
    off_scores = pca.score_samples(off_subspace)

    assert np.all(np.isfinite(on_scores))
    assert np.all(np.isfinite(off_scores))
    assert np.all(off_scores < on_scores - 1e3)


# Feature names, pipelines and model selection.


def test_get_feature_names_out_prefix():
    pca = MatryoshkaPCA(n_components=3).fit(make_data())

    names = pca.get_feature_names_out()

    assert list(names) == ["matryoshkapca0", "matryoshkapca1", "matryoshkapca2"]


def test_get_feature_names_out_dataframe():
    frame = pd.DataFrame(make_data(), columns=[f"f{i}" for i in range(6)])
    pca = MatryoshkaPCA(n_components=2).fit(frame)

    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        pca.get_feature_names_out(["a", "b", "c", "d", "e", "f"])


def test_grid_search_matches_sklearn():
    X, _ = load_digits(return_X_y=True)
    grid = [2, 5, 10, 20]
    cv = KFold(n_splits=3)
    ours = GridSearchCV(
        make_pipeline(StandardScaler(), MatryoshkaPCA()),
        {"matryoshkapca__n_components": grid},
        cv=cv,
    ).fit(X)
    theirs = GridSearchCV(
        make_pipeline(StandardScaler(), PCA(svd_solver="full")),
        {"pca__n_components": grid},
        cv=cv,
    ).fit(X)

    our_scores = ours.cv_results_["mean_test_score"]
    their_scores = theirs.cv_results_["mean_test_score"]

    assert np.all(np.isfinite(our_scores))
    assert relative_error(our_scores, their_scores) <= 1e-8
    assert ours.best_index_ == theirs.best_index_


# Rejected inputs.


def test_fit_zero_weights_raises():
    X = make_data()

    with pytest.raises(ValueError, match="sample_weight is zero for every sample"):
        MatryoshkaPCA().fit(X, sample_weight=np.zeros(X.shape[0]))


def test_fit_small_weight_sum_raises():
    X = make_data()
    weights = np.full(X.shape[0], 1 / X.shape[0])

    with pytest.raises(ValueError, match=r"Variances divide by sum\(sample_weight\) - 1"):
        MatryoshkaPCA().fit(X, sample_weight=weights)


def test_fit_constant_data_raises():
    X = np.full((10, 3), 1.7e8)

    with pytest.raises(ValueError, match="The scatter matrix of X is zero"):
        MatryoshkaPCA().fit(X)


def test_failed_refit_keeps_state():
    pca = MatryoshkaPCA(n_components=2).fit(make_data())
    state = dict(pca.__dict__)

    with pytest.raises(ValueError, match="scatter matrix of X is zero"):
        pca.fit(np.ones((10, 6)))

    assert pca.__dict__.keys() == state.keys()
    for name, value in state.items():
        assert pca.__dict__[name] is value, name


def test_rank_ignores_feature_units():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(5e4, 1e5, 20_000), rng.normal(0.05, 0.02, 20_000)])

    ours = MatryoshkaPCA(n_components=2).fit(X)
    theirs = PCA(n_components=2, svd_solver="full").fit(X)

    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-6)


def test_weights_equal_repetition_few_rows():
    # Fewer distinct rows than features: the noise variance averages over as many
    # discarded directions as the repeated data has.
    X = np.random.default_rng(17).normal(size=(4, 6))
    weighted = MatryoshkaPCA(n_components=1).fit(X, sample_weight=[3, 3, 3, 3])
    reference = PCA(n_components=1, svd_solver="full").fit(np.repeat(X, 3, axis=0))

    assert weighted.noise_variance_ == pytest.approx(reference.noise_variance_, rel=1e-10)
    assert weighted.score(X) == pytest.approx(reference.score(X), rel=1e-10)


@pytest.mark.parametrize("scale", [1e20, 1e-24])
def test_float32_out_of_range_raises(scale):
    X = (np.random.default_rng(13).normal(size=(30, 3)) * scale).astype(np.float32)

    with pytest.raises(ValueError, match="outside the range of float32"):
        MatryoshkaPCA(whiten=True).fit(X)
    assert np.all(np.isfinite(MatryoshkaPCA().fit(X.astype(np.float64)).explained_variance_))
