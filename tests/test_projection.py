"""MatryoshkaProjection against its limit cases and against gradient descent.

Every expected value is computed here independently in float64. The sources are
scikit-learn's LinearDiscriminantAnalysis, Ridge and PCA, a QR-based canonical
correlation analysis, reduced-rank regression through the least-squares fit, and plain
gradient descent on the full-prefix loss written from the scatter matrices.
"""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import linalg
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_linnerud, load_wine
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mrl import (
    DegenerateObjectiveWarning,
    MatryoshkaPCA,
    MatryoshkaProjection,
    ScatterStatistics,
)


def unit_rows(matrix):
    matrix = np.atleast_2d(matrix)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def abs_cosines(rows_a, rows_b):
    """Return |cos| between matching rows, which ignores the sign of each direction."""
    return np.abs(np.sum(unit_rows(rows_a) * unit_rows(rows_b), axis=1))


def clear_gap_prefix(values, relative_gap=1e-3):
    """Return how many leading values are each separated from their neighbours."""
    values = np.asarray(values, dtype=np.float64)
    count = 0
    for j in range(values.size):
        above = np.inf if j == 0 else values[j - 1] - values[j]
        below = values[j] - values[j + 1] if j + 1 < values.size else values[j]
        if min(above, below) <= relative_gap * values[0]:
            break
        count += 1
    return count


def digits_without_constant_pixels():
    X, y = load_digits(return_X_y=True)
    return X[:, X.std(axis=0) > 0], y


def one_hot(y):
    classes = np.unique(y)
    return (y[:, np.newaxis] == classes).astype(np.float64)


def canonical_correlations(X, Y):
    """Return canonical correlations from orthonormal bases of the centered data."""
    q_x, r_x = np.linalg.qr(X - X.mean(axis=0))
    q_y, r_y = np.linalg.qr(Y - Y.mean(axis=0))
    keep_x = np.abs(np.diag(r_x)) > 1e-10 * np.abs(r_x).max()
    keep_y = np.abs(np.diag(r_y)) > 1e-10 * np.abs(r_y).max()
    return linalg.svdvals(q_x[:, keep_x].T @ q_y[:, keep_y])


# Limit cases: LDA, canonical correlations, Ridge, reduced-rank regression, PCA.


@pytest.mark.parametrize("load", [load_wine, digits_without_constant_pixels])
def test_canonical_equals_lda_directions(load):
    X, y = load(return_X_y=True) if load is load_wine else load()
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    projection = MatryoshkaProjection(objective="canonical").fit(X, y)

    n_classes = np.unique(y).size
    assert projection.n_components_ == n_classes - 1
    expected = lda.scalings_[:, : n_classes - 1].T
    n_clear = clear_gap_prefix(projection.informativeness_)
    assert n_clear >= 2
    cosines = abs_cosines(projection.components_[:n_clear], expected[:n_clear])
    np.testing.assert_array_less(1 - 1e-6, cosines)


@pytest.mark.parametrize("load", [load_wine, digits_without_constant_pixels])
def test_canonical_informativeness_is_squared_correlation(load):
    X, y = load(return_X_y=True) if load is load_wine else load()
    projection = MatryoshkaProjection().fit(X, y)

    expected = canonical_correlations(X, one_hot(y)) ** 2
    np.testing.assert_allclose(projection.informativeness_, expected[: projection.n_components_],
                               rtol=1e-9)
    np.testing.assert_allclose(projection.prefix_loss_[0], np.unique(y).size - 1, rtol=1e-12)


def test_canonical_predict_matches_lda():
    X, y = load_wine(return_X_y=True)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    projection = MatryoshkaProjection().fit(X, y)

    assert np.array_equal(projection.predict(X), lda.predict(X))
    assert projection.score(X, y) == lda.score(X, y)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 10.0])
def test_regression_direction_is_ridge_coef(alpha):
    X, y = load_diabetes(return_X_y=True)
    ridge = Ridge(alpha=alpha).fit(X, y)
    projection = MatryoshkaProjection(alpha=alpha).fit(X, y)

    assert projection.n_components_ == 1
    cosine = abs_cosines(projection.components_[0], ridge.coef_)[0]
    assert cosine > 1 - 1e-10
    np.testing.assert_allclose(projection.predict(X), ridge.predict(X), rtol=1e-9)


def test_regression_one_target_informativeness_is_r2():
    X, y = load_diabetes(return_X_y=True)
    ols = LinearRegression().fit(X, y)
    projection = MatryoshkaProjection().fit(X, y)

    np.testing.assert_allclose(projection.informativeness_ratio_.sum(), ols.score(X, y), rtol=1e-10)
    np.testing.assert_allclose(projection.informativeness_[0], np.var(ols.predict(X), ddof=1),
                               rtol=1e-10)


def test_regression_equals_reduced_rank_regression():
    X, Y = load_linnerud(return_X_y=True)
    projection = MatryoshkaProjection().fit(X, Y)

    # Reduced-rank regression: the right singular vectors u_j of the least-squares fit
    # Y_hat order the directions B u_j, and the singular values give the variance.
    X_centered = X - X.mean(axis=0)
    Y_centered = Y - Y.mean(axis=0)
    coefficients = np.linalg.lstsq(X_centered, Y_centered, rcond=None)[0]
    _, singular_values, right_vectors = np.linalg.svd(X_centered @ coefficients)
    expected_directions = (coefficients @ right_vectors.T).T

    assert projection.n_components_ == 3
    np.testing.assert_allclose(projection.informativeness_,
                               singular_values**2 / (X.shape[0] - 1), rtol=1e-9)
    cosines = abs_cosines(projection.components_, expected_directions)
    np.testing.assert_array_less(1 - 1e-9, cosines)


def test_reconstruction_weight_one_equals_pca():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    pca = PCA(svd_solver="full").fit(X)
    projection = MatryoshkaProjection(reconstruction_weight=1.0).fit(X, y)

    n_clear = clear_gap_prefix(pca.explained_variance_)
    assert n_clear >= 5
    cosines = abs_cosines(projection.components_[:n_clear], pca.components_[:n_clear])
    np.testing.assert_array_less(1 - 1e-9, cosines)
    np.testing.assert_allclose(projection.informativeness_ratio_,
                               pca.explained_variance_ratio_, rtol=1e-9, atol=1e-14)


def test_mixed_informativeness_splits_into_parts():
    X, y = load_diabetes(return_X_y=True)
    projection = MatryoshkaProjection(reconstruction_weight=0.3).fit(X, y)

    np.testing.assert_allclose(
        projection.target_informativeness_ + projection.reconstruction_informativeness_,
        projection.informativeness_, rtol=1e-10,
    )
    assert projection.n_components_ == X.shape[1]
    assert projection.prefix_loss_[0] == pytest.approx(1.0)
    assert projection.prefix_loss_[-1] == pytest.approx(0.7 * (1 - LinearRegression().fit(X, y).score(X, y)))


def test_completion_directions_uncorrelated_with_target():
    X, y = load_diabetes(return_X_y=True)
    projection = MatryoshkaProjection(n_components=4).fit(X, y)
    Z = projection.transform(X)

    assert projection.n_informative_ == 1
    np.testing.assert_array_equal(projection.informativeness_[1:], 0.0)
    correlations = [np.corrcoef(Z[:, j], y)[0, 1] for j in range(1, 4)]
    np.testing.assert_allclose(correlations, 0.0, atol=1e-10)

    # The completed directions are the principal axes of X after removing the scores of
    # the first direction, and their output variance is the variance of X they capture.
    first = projection.components_[0] / np.linalg.norm(projection.components_[0])
    X_centered = X - X.mean(axis=0)
    scatter = X_centered.T @ X_centered
    scores = X_centered @ first
    residual = X_centered - np.outer(scores, scatter @ first) / (first @ scatter @ first)
    pca = PCA(svd_solver="full").fit(residual)
    np.testing.assert_allclose(np.var(Z[:, 1:], axis=0, ddof=1),
                               pca.explained_variance_[:3], rtol=1e-8)


def test_transform_variance_equals_informativeness():
    X, Y = load_linnerud(return_X_y=True)
    projection = MatryoshkaProjection().fit(X, Y)

    variances = np.var(projection.transform(X), axis=0, ddof=1)
    np.testing.assert_allclose(variances, projection.informativeness_, rtol=1e-9)

    whitened = MatryoshkaProjection(whiten=True).fit(X, Y).transform(X)
    np.testing.assert_allclose(np.var(whitened, axis=0, ddof=1), 1.0, rtol=1e-9)


# Gradient descent on the full-prefix loss, written from the statistics alone.


def full_prefix_descent(loss_gradient, n_components, n_features, n_outputs, seed, n_steps,
                        step):
    """Run plain gradient descent on sum_m L_m(E[:m], D[:, :m]) from a random start."""
    rng = np.random.default_rng(seed)
    encoder = 0.1 * rng.standard_normal((n_components, n_features))
    decoder = 0.1 * rng.standard_normal((n_outputs, n_components))
    for _ in range(n_steps):
        encoder_gradient = np.zeros_like(encoder)
        decoder_gradient = np.zeros_like(decoder)
        for m in range(1, n_components + 1):
            product_gradient = loss_gradient(decoder[:, :m] @ encoder[:m])
            encoder_gradient[:m] += decoder[:, :m].T @ product_gradient
            decoder_gradient[:, :m] += product_gradient @ encoder[:m].T
        encoder -= step * encoder_gradient
        decoder -= step * decoder_gradient
    return encoder, decoder


def weighted_prefix_loss(target_cross, target_total, metric, covariance_xx):
    """Return L(P) = tr(M Syy) - 2 tr(M P Sxy) + tr(M P Sxx P^T) and its gradient in P."""

    def loss(product):
        return (target_total - 2 * np.trace(metric @ product @ target_cross)
                + np.trace(metric @ product @ covariance_xx @ product.T))

    def gradient(product):
        return 2 * metric @ (product @ covariance_xx - target_cross.T)

    return loss, gradient


def synthetic_regression(seed, n_samples=400, n_features=6, n_targets=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) @ np.diag([2.0, 1.5, 1.2, 1.0, 0.8, 0.6])
    coefficients = rng.standard_normal((n_features, n_targets)) * np.array([3.0, 1.5, 0.7])
    Y = X @ coefficients + 0.5 * rng.standard_normal((n_samples, n_targets))
    return X, Y


def covariances(X, Y):
    joint = np.cov(np.hstack([X, Y]), rowvar=False, bias=True)
    n_features = X.shape[1]
    return (joint[:n_features, :n_features], joint[:n_features, n_features:],
            joint[n_features:, n_features:])


def assert_descent_reaches(encoder, components, prefix_losses, expected_losses):
    cosines = abs_cosines(encoder, components)
    np.testing.assert_array_less(0.999, cosines)
    np.testing.assert_allclose(prefix_losses, expected_losses, rtol=1e-4, atol=1e-8)


def test_descent_reaches_regression_basis():
    X, Y = synthetic_regression(seed=0)
    covariance_xx, covariance_xy, covariance_yy = covariances(X, Y)
    loss, gradient = weighted_prefix_loss(covariance_xy, np.trace(covariance_yy),
                                          np.eye(3), covariance_xx)
    encoder, decoder = full_prefix_descent(gradient, 3, 6, 3, seed=1, n_steps=6000, step=0.005)

    projection = MatryoshkaProjection().fit(X, Y)
    n = X.shape[0]
    losses = [loss(decoder[:, :m] @ encoder[:m]) for m in range(4)]
    assert_descent_reaches(encoder, projection.components_, losses,
                           projection.prefix_loss_ * (n - 1) / n)


def test_descent_reaches_canonical_basis():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :6]
    Y = one_hot(y)[:, :-1]  # C - 1 indicator columns give the same canonical directions.
    covariance_xx, covariance_xy, covariance_yy = covariances(X, Y)
    metric = np.linalg.inv(covariance_yy)
    loss, gradient = weighted_prefix_loss(covariance_xy, np.trace(metric @ covariance_yy),
                                          metric, covariance_xx)
    encoder, decoder = full_prefix_descent(gradient, 2, 6, 2, seed=2, n_steps=8000, step=0.01)

    projection = MatryoshkaProjection().fit(X, y)
    losses = [loss(decoder[:, :m] @ encoder[:m]) for m in range(3)]
    assert_descent_reaches(encoder, projection.components_, losses, projection.prefix_loss_)


def test_descent_reaches_mixed_basis():
    X, Y = synthetic_regression(seed=3)
    covariance_xx, covariance_xy, covariance_yy = covariances(X, Y)
    beta = 0.5
    weight_x = beta / np.trace(covariance_xx)
    weight_y = (1 - beta) / np.trace(covariance_yy)

    # The target of the mixed objective is [sqrt(b_x) x, sqrt(b_y) y].
    target_cross = np.hstack([np.sqrt(weight_x) * covariance_xx, np.sqrt(weight_y) * covariance_xy])
    loss, gradient = weighted_prefix_loss(target_cross, 1.0, np.eye(9), covariance_xx)
    encoder, decoder = full_prefix_descent(gradient, 4, 6, 9, seed=4, n_steps=20000, step=0.05)

    projection = MatryoshkaProjection(n_components=4, reconstruction_weight=beta).fit(X, Y)
    losses = [loss(decoder[:, :m] @ encoder[:m]) for m in range(5)]
    assert_descent_reaches(encoder, projection.components_, losses, projection.prefix_loss_)


# Sample weights, partial_fit and model selection.


@pytest.mark.parametrize("kind", ["classes", "targets"])
def test_sample_weight_equals_repetition(kind):
    X, y = load_wine(return_X_y=True)
    if kind == "targets":
        y = X[:, 0] + 0.1 * X[:, 3]
        X = X[:, 1:]
    repeats = np.random.default_rng(0).integers(0, 4, size=X.shape[0])

    weighted = MatryoshkaProjection().fit(X, y, sample_weight=repeats)
    repeated = MatryoshkaProjection().fit(np.repeat(X, repeats, axis=0), np.repeat(y, repeats))

    np.testing.assert_allclose(weighted.components_, repeated.components_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(weighted.informativeness_, repeated.informativeness_, rtol=1e-9)
    if kind == "classes":
        np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))
    else:
        np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


@pytest.mark.parametrize("kind", ["classes", "targets"])
def test_partial_fit_equals_fit(kind):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if kind == "targets":
        y = np.column_stack([X[:, 0], X[:, 3] - X[:, 5]])
        X = X[:, 6:]
    rng = np.random.default_rng(1)
    order = rng.permutation(X.shape[0])
    batches = np.array_split(order, [5, 40, 41, 120])

    incremental = MatryoshkaProjection()
    for batch in batches:
        classes = np.unique(y) if kind == "classes" else None
        incremental.partial_fit(X[batch], y[batch], classes=classes)
    whole = MatryoshkaProjection().fit(X, y)

    np.testing.assert_allclose(incremental.components_, whole.components_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(incremental.informativeness_, whole.informativeness_, rtol=1e-10)
    np.testing.assert_allclose(incremental.transform(X), whole.transform(X), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kind", ["principal axes", "classes", "targets"])
def test_partial_fit_sets_every_attribute_of_fit(kind):
    X, y = load_wine(return_X_y=True)
    if kind == "targets":
        X, y = X[:, 2:], X[:, :2]
    if kind == "principal axes":
        estimator = MatryoshkaPCA(n_components=3)
    else:
        estimator = MatryoshkaProjection()
    whole = clone(estimator).fit(X, y)
    pending = clone(estimator)
    for batch in np.array_split(np.arange(X.shape[0]), 3):
        classes = {"classes": np.unique(y)} if kind == "classes" else {}
        pending.partial_fit(X[batch], y[batch], **classes)

    # Each attribute is read first on its own copy, so that every one must solve the
    # basis by itself.
    fitted = [name for name in vars(whole) if name.endswith("_") and not name.startswith("_")]
    assert "components_" in fitted
    for name in fitted:
        expected, actual = getattr(whole, name), getattr(copy.deepcopy(pending), name)
        if isinstance(expected, ScatterStatistics):
            expected, actual = expected._scatter, actual._scatter
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, err_msg=name)
    if kind != "principal axes":
        np.testing.assert_allclose(pending.predict(X), whole.predict(X), rtol=1e-9)


@pytest.mark.parametrize("whiten", [False, True])
def test_partial_fit_failed_solve_raises_on_every_read(whiten):
    # Targets of about 1e20 have a variance that overflows float32; partial_fit keeps
    # the batch, and every read of the basis must raise, leaving no part of it behind.
    rng = np.random.default_rng(13)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] + rng.normal(size=40)) * np.float32(1e20)
    with pytest.raises(ValueError, match="outside the range of float32"):
        MatryoshkaProjection(whiten=whiten).fit(X, y)
    projection = MatryoshkaProjection(whiten=whiten).partial_fit(X, y)

    for _ in range(2):
        with pytest.raises(ValueError, match="outside the range of float32"):
            projection.transform(X)
        assert "components_" not in vars(projection)


@pytest.mark.parametrize("estimator", [MatryoshkaPCA(), MatryoshkaProjection()])
def test_basis_attributes_are_those_fit_derives(estimator):
    # partial_fit drops exactly these attributes and solves them when one is read.
    X, y = load_wine(return_X_y=True)
    fitted = estimator.fit(X, y)
    not_derived = {"n_features_in_", "statistics_", "n_samples_seen_", "classes_"}
    derived = {name for name in vars(fitted) if name.endswith("_") or name == "_decoder"}

    assert derived - not_derived == fitted._basis_attributes


@pytest.mark.parametrize(
    "container", ["category", "object", "Int64", "Int64 beyond 2**53", "Int64 column"]
)
def test_integer_labels_in_other_containers(container):
    X, y = load_wine(return_X_y=True)
    large = container in ("Int64 beyond 2**53", "Int64 column")
    labels = np.array([0, 2**53, 2**53 + 1])[y] if large else y
    expected = MatryoshkaProjection().fit(X, labels)
    if container == "category":
        wrapped = pd.Series(labels).astype("category")
    elif container == "object":
        wrapped = labels.astype(object)
    elif container == "Int64 column":
        wrapped = pd.DataFrame({"label": pd.array(labels, dtype="Int64")})
    else:
        wrapped = pd.Series(labels, dtype="Int64")

    projection = MatryoshkaProjection().fit(X, wrapped)

    np.testing.assert_array_equal(projection.classes_, np.unique(labels))
    assert projection.classes_.dtype.kind == "i"
    np.testing.assert_allclose(projection.components_, expected.components_, rtol=1e-12)


def test_partial_fit_two_dimensional_labels_rejected():
    X, y = load_wine(return_X_y=True)
    projection = MatryoshkaProjection().partial_fit(X[:100], y[:100], classes=[0, 1, 2])

    with pytest.raises(ValueError, match=r"y has shape \(78, 2\), but the first fit"):
        projection.partial_fit(X[100:], np.c_[y[100:], y[100:]])


def test_tie_warning_as_error_raises_on_every_read():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 20))
    projection = MatryoshkaProjection().partial_fit(X, np.repeat([0, 1, 2], 4))

    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateObjectiveWarning)
        for _ in range(2):
            with pytest.raises(DegenerateObjectiveWarning):
                projection.transform(X)


def test_partial_fit_integer_labels_with_float_classes():
    X, y = load_wine(return_X_y=True)
    labels = np.array([0, 1, 3])[y]
    classes = np.array([0.0, 0.5, 1.0, 3.0])
    indicators = (labels[:, np.newaxis] == classes).astype(float)
    reference = MatryoshkaProjection().fit_from_statistics(
        ScatterStatistics.from_data(X, indicators), classes=classes
    )

    projection = MatryoshkaProjection().partial_fit(X, labels, classes=classes)

    np.testing.assert_allclose(projection.statistics_.mean_y, indicators.mean(axis=0))
    np.testing.assert_allclose(projection.components_, reference.components_, rtol=1e-9)
    with pytest.raises(ValueError, match=r"y contains labels \[2\] that are not in"):
        MatryoshkaProjection().partial_fit(X, labels - 1, classes=[-1.0, 0.0, 0.5])


def test_grid_search_pipeline_digits():
    X, y = load_digits(return_X_y=True)
    pipeline = make_pipeline(MatryoshkaProjection(alpha=1.0),
                             LogisticRegression(max_iter=200))
    grid = [2, 5, 9]
    search = GridSearchCV(pipeline, {"matryoshkaprojection__n_components": grid}, cv=3)
    search.fit(X, y)

    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_["matryoshkaprojection__n_components"] in grid
    best_size = search.best_params_["matryoshkaprojection__n_components"]
    assert search.best_estimator_[0].transform(X).shape == (X.shape[0], best_size)


def test_grid_search_pipeline_matches_lda():
    # Fisher's directions feed the same downstream LDA, so every fold scores the same.
    X, y = load_wine(return_X_y=True)
    cv = KFold(4, shuffle=True, random_state=0)
    ours = GridSearchCV(make_pipeline(MatryoshkaProjection(), LinearDiscriminantAnalysis()),
                        {"matryoshkaprojection__n_components": [1, 2]}, cv=cv).fit(X, y)
    reference = make_pipeline(LinearDiscriminantAnalysis(solver="eigen"),
                              LinearDiscriminantAnalysis())
    theirs = GridSearchCV(reference, {"lineardiscriminantanalysis-1__n_components": [1, 2]},
                          cv=cv).fit(X, y)

    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"],
                                  theirs.cv_results_["mean_test_score"])


def test_grid_search_pipeline_diabetes():
    # One direction proportional to the least-squares fit, so a downstream linear
    # regression on it reproduces ordinary least squares in every fold.
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(3, shuffle=True, random_state=0)
    pipeline = make_pipeline(MatryoshkaProjection(), LinearRegression())
    search = GridSearchCV(pipeline, {"matryoshkaprojection__n_components": [1, 3]}, cv=cv)
    search.fit(X, y)

    expected = cross_val_score(LinearRegression(), X, y, cv=cv).mean()
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert scores[0] == pytest.approx(expected, rel=1e-10)


def test_grid_search_standalone_matches_ridge():
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(3, shuffle=True, random_state=0)
    grid = {"alpha": [0.0, 0.1, 10.0]}
    ours = GridSearchCV(MatryoshkaProjection(), grid, cv=cv).fit(X, y)
    theirs = GridSearchCV(Ridge(), grid, cv=cv).fit(X, y)

    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-10)
    assert ours.best_params_ == theirs.best_params_


def test_grid_search_standalone_classes():
    X, y = load_digits(return_X_y=True)
    grid = [1, 5, 9]
    search = GridSearchCV(MatryoshkaProjection(alpha=1.0), {"n_components": grid}, cv=3)
    search.fit(X, y)

    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores > 0) & (scores <= 1))
    assert search.best_params_["n_components"] in grid


# Degenerate and incomplete data.


def test_canonical_tie_at_one_warns():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 30))
    y = np.repeat([0, 1, 2], [7, 7, 6])

    with pytest.warns(DegenerateObjectiveWarning, match="alpha > 0"):
        projection = MatryoshkaProjection().fit(X, y)
    np.testing.assert_allclose(projection.informativeness_, 1.0, rtol=1e-8)

    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateObjectiveWarning)
        regularized = MatryoshkaProjection(alpha=1.0).fit(X, y)
    assert np.all(regularized.informativeness_ < 1.0)


def test_float_n_components_selects_prefix():
    X, Y = load_linnerud(return_X_y=True)
    # The cumulative ratios of reduced-rank regression: explained target variance of
    # each singular direction of the least-squares fit, over the total target variance.
    X_centered = X - X.mean(axis=0)
    Y_centered = Y - Y.mean(axis=0)
    fitted = X_centered @ np.linalg.lstsq(X_centered, Y_centered, rcond=None)[0]
    cumulative = np.cumsum(linalg.svdvals(fitted) ** 2) / np.sum(Y_centered**2)

    fraction = (cumulative[0] + cumulative[1]) / 2
    projection = MatryoshkaProjection(n_components=fraction).fit(X, Y)
    assert projection.n_components_ == 2


def test_n_components_above_rank_raises():
    X, y = load_wine(return_X_y=True)
    with pytest.raises(ValueError, match="n_components=14 must be at most 13"):
        MatryoshkaProjection(n_components=14).fit(X, y)
    with pytest.raises(ValueError, match="n_components=3 must be at most 2"):
        MatryoshkaProjection(n_components=3, reconstruction_weight=0.5).fit(X[:, :2], y)


def test_tie_at_one_ordered_by_explained_variance():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 30)) * np.linspace(3, 1, 30)
    y = np.repeat([0, 1, 2, 3], 5)

    with pytest.warns(DegenerateObjectiveWarning):
        projection = MatryoshkaProjection().fit(X, y)

    # The variance of X that each score explains: ||Sxx v||^2 / (v^T Sxx v).
    covariance = np.cov(X, rowvar=False)
    directions = projection.components_
    explained = (np.sum((directions @ covariance) ** 2, axis=1)
                 / np.einsum("ij,jk,ik->i", directions, covariance, directions))
    assert np.all(np.diff(explained) < 0)


def test_tie_warning_points_at_caller():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12, 20))
    y = np.repeat([0, 1, 2], 4)

    with pytest.warns(DegenerateObjectiveWarning) as record:
        MatryoshkaProjection().fit(X, y)
    assert record[0].filename == __file__

    # partial_fit leaves the basis to be solved when it is read, by an attribute or by
    # a method, and the read warns.
    projection = MatryoshkaProjection().partial_fit(X, y)
    with pytest.warns(DegenerateObjectiveWarning) as record:
        components = projection.components_
    assert components.shape[0] >= 2
    assert record[0].filename == __file__

    projection = MatryoshkaProjection().partial_fit(X, y)
    with pytest.warns(DegenerateObjectiveWarning) as record:
        projection.predict(X)
    assert record[0].filename == __file__


# Ridge metric, completion and fitted state.


@pytest.mark.parametrize("alpha", [0.0, 100.0, 1e4])
def test_transform_variance_with_ridge(alpha):
    X, Y = load_linnerud(return_X_y=True)
    projection = MatryoshkaProjection(alpha=alpha).fit(X, Y)
    variances = np.var(projection.transform(X), axis=0, ddof=1)
    np.testing.assert_allclose(variances, projection.informativeness_, rtol=1e-9)

    whitened = MatryoshkaProjection(alpha=alpha, whiten=True).fit(X, Y).transform(X)
    np.testing.assert_allclose(np.var(whitened, axis=0, ddof=1), 1.0, rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 1000.0])
def test_canonical_mean_square_is_informativeness(alpha):
    X, y = load_wine(return_X_y=True)
    projection = MatryoshkaProjection(alpha=alpha).fit(X, y)
    Z = projection.transform(X)

    np.testing.assert_allclose(np.mean(Z**2, axis=0), projection.informativeness_, rtol=1e-9)


def test_completion_with_ridge_stops_at_rank():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    X = np.column_stack([X, X[:, 0]])  # rank 4 of 5 columns
    y = X[:, 1] + 0.1 * rng.standard_normal(60)

    with pytest.raises(ValueError, match="n_components=5 must be at most 4"):
        MatryoshkaProjection(n_components=5, alpha=1.0).fit(X, y)
    projection = MatryoshkaProjection(n_components=4, alpha=1.0).fit(X, y)
    assert projection.n_components_ == 4


@pytest.mark.parametrize(
    "params",
    [{}, {"n_components": 4}, {"n_components": 4, "alpha": 1.0},
     {"reconstruction_weight": 0.5}, {"objective": "canonical", "n_components": 3}],
    ids=repr,
)
def test_per_direction_attribute_lengths(params):
    X, y = load_diabetes(return_X_y=True)
    X = np.column_stack([X, X[:, :3] @ [1.0, 2.0, 0.5]])  # rank 10 of 11 columns
    projection = MatryoshkaProjection(**params).fit(X, y)

    k = projection.n_components_
    assert projection.components_.shape == (k, X.shape[1])
    for name in ("informativeness_", "informativeness_ratio_", "target_informativeness_",
                 "reconstruction_informativeness_", "eigengaps_"):
        assert getattr(projection, name).shape == (k,), name
    assert projection.prefix_loss_.shape == (k + 1,)


def test_failed_refit_keeps_state():
    X, y = load_wine(return_X_y=True)
    projection = MatryoshkaProjection().fit(X, y)
    state = dict(projection.__dict__)

    with pytest.raises(ValueError, match="No direction of X is informative"):
        projection.fit(X, np.full(X.shape[0], 3.5))

    assert projection.__dict__.keys() == state.keys()
    for name, value in state.items():
        assert projection.__dict__[name] is value, name


def test_fit_from_statistics_rejects_unsorted_classes():
    X, y = load_wine(return_X_y=True)
    indicators = (y[:, np.newaxis] == np.array([2, 0, 1])).astype(float)
    statistics = ScatterStatistics.from_data(X, indicators)

    with pytest.raises(ValueError, match="must be unique and sorted"):
        MatryoshkaProjection().fit_from_statistics(statistics, classes=[2, 0, 1])
    with pytest.raises(ValueError, match="must be unique and sorted"):
        MatryoshkaProjection().fit_from_statistics(statistics, classes=[0, 0, 1])


def test_partial_fit_rejects_changed_classes():
    X, y = load_wine(return_X_y=True)
    projection = MatryoshkaProjection().partial_fit(X[:100], y[:100], classes=[0, 1, 2])

    with pytest.raises(ValueError, match="differs from the classes"):
        projection.partial_fit(X[100:], y[100:], classes=[0, 1, 2, 3])


def test_mixed_constant_targets_prefix_loss():
    X, _ = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    projection = MatryoshkaProjection(reconstruction_weight=0.5).fit(X, np.full(len(X), 2.0))

    assert projection.prefix_loss_[-1] == pytest.approx(0.0, abs=1e-12)
    assert projection.informativeness_ratio_.sum() == pytest.approx(1.0)


def test_descent_reaches_ridge_basis():
    X, Y = synthetic_regression(seed=5)
    n_samples = X.shape[0]
    alpha = 200.0
    covariance_xx, covariance_xy, covariance_yy = covariances(X, Y)

    # The ridge penalty alpha ||P||^2 on the prefix map adds alpha / N to the covariance.
    ridge_covariance = covariance_xx + alpha / n_samples * np.eye(6)
    loss, gradient = weighted_prefix_loss(covariance_xy, np.trace(covariance_yy),
                                          np.eye(3), ridge_covariance)
    encoder, decoder = full_prefix_descent(gradient, 3, 6, 3, seed=6, n_steps=6000, step=0.005)

    projection = MatryoshkaProjection(alpha=alpha).fit(X, Y)
    losses = [loss(decoder[:, :m] @ encoder[:m]) for m in range(4)]
    assert_descent_reaches(encoder, projection.components_, losses,
                           projection.prefix_loss_ * (n_samples - 1) / n_samples)


# float32 and the sign rule.


@pytest.mark.parametrize("kind", ["classes", "targets"])
def test_float32_far_from_origin(kind):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if kind == "targets":
        y = X[:, 0] + 0.5 * X[:, 4]
        X = X[:, 1:]
    X32 = (X + 1e3).astype(np.float32)

    projection = MatryoshkaProjection().fit(X32, y)
    # Reference: the same float32 values in float64, centered before fitting.
    X64 = X32.astype(np.float64)
    reference = MatryoshkaProjection().fit(X64 - X64.mean(axis=0), y)

    assert projection.components_.dtype == np.float32
    assert projection.informativeness_.dtype == np.float32
    np.testing.assert_allclose(projection.informativeness_, reference.informativeness_,
                               rtol=1e-6)
    Z = projection.transform(X32)
    assert Z.dtype == np.float32
    expected = reference.transform(X64 - X64.mean(axis=0))
    np.testing.assert_allclose(Z, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_sign_rule_on_every_path():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.random.default_rng(3).integers(1, 4, size=len(y))
    incremental = MatryoshkaProjection()
    for batch in np.array_split(np.arange(len(y)), 4):
        incremental.partial_fit(X[batch], y[batch], classes=[0, 1, 2])
    indicators = (y[:, np.newaxis] == [0, 1, 2]).astype(float)
    fitted = {
        "dense": MatryoshkaProjection().fit(X, y),
        "sparse": MatryoshkaProjection().fit(sp.csr_matrix(X), y),
        "weighted": MatryoshkaProjection().fit(X, y, sample_weight=weights),
        "float32": MatryoshkaProjection().fit(X.astype(np.float32), y),
        "partial_fit": incremental,
        "statistics": MatryoshkaProjection().fit_from_statistics(
            ScatterStatistics.from_data(X, indicators), classes=[0, 1, 2]),
        "completed": MatryoshkaProjection(n_components=6).fit(X, y),
        "mixed": MatryoshkaProjection(reconstruction_weight=0.5).fit(X, y),
    }
    for name, projection in fitted.items():
        components = projection.components_
        largest = components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)]
        assert np.all(largest > 0), name


def unit_mixed_data(n_samples=20_000, seed=0):
    """Return an amount in dollars next to a rate, whose variances differ by 1e14."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(5e4, 1e5, n_samples), rng.normal(0.05, 0.02, n_samples)])
    return X, rng


def test_rank_ignores_feature_units():
    X, rng = unit_mixed_data()
    y = 100 * X[:, 1] + rng.normal(0, 0.5, len(X))
    labels = (X[:, 1] > 0.05).astype(int)

    regression = MatryoshkaProjection().fit(X, y)
    classes = MatryoshkaProjection().fit(X, labels)

    # Least squares on standardized columns; scikit-learn's LinearRegression cuts the
    # rate's singular value on these raw units (version 1.9.1) and scores about 0.
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    centered_y = y - y.mean()
    residual = centered_y - standardized @ np.linalg.lstsq(standardized, centered_y, rcond=None)[0]
    expected = 1 - residual @ residual / (centered_y @ centered_y)
    assert regression.score(X, y) == pytest.approx(expected, rel=1e-9)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, labels)
    assert classes.score(X, labels) == lda.score(X, labels)


def test_rank_resolves_near_collinear_pair():
    # Two sensors of one quantity; only their tiny difference carries the label.
    rng = np.random.default_rng(4)
    signal = rng.standard_normal(50_000)
    X = np.column_stack([signal + 1e-6 * rng.standard_normal(50_000),
                         signal + 1e-6 * rng.standard_normal(50_000)])
    labels = (X[:, 0] > X[:, 1]).astype(int)

    projection = MatryoshkaProjection().fit(X, labels)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, labels)
    assert projection.score(X, labels) == lda.score(X, labels)


@pytest.mark.parametrize(
    "labels",
    [
        pd.Series([0, 1] * 30, dtype="Int64"),
        pd.Series([False, True] * 30, dtype="boolean"),
        pd.Series([0, 1] * 30, dtype="int64[pyarrow]"),
    ],
    ids=["Int64", "boolean", "int64_pyarrow"],
)
def test_auto_reads_nullable_labels_as_classes(labels):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)) + np.asarray(labels, dtype=float)[:, np.newaxis]

    projection = MatryoshkaProjection().fit(X, labels)
    reference = MatryoshkaProjection().fit(X, np.asarray(labels, dtype=int))

    assert projection.classes_.size == 2
    np.testing.assert_allclose(projection.informativeness_, reference.informativeness_)


def test_mixed_label_types_rejected():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="mix the types"):
        MatryoshkaProjection(objective="canonical").fit(X, np.array(["a", 1] * 10, dtype=object))


def test_constant_target_completion_has_zero_ratio():
    X, _ = load_wine(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        projection = MatryoshkaProjection(n_components=2).fit(X, np.full(len(X), 1.5))
    np.testing.assert_array_equal(projection.informativeness_ratio_, 0.0)
