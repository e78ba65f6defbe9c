"""Property tests: invariances of the fitted basis, merging of statistics, monotonicity.

Hypothesis draws seeds, shapes, scales and splits, and numpy builds the data from them.
Every example is well-conditioned where a comparison needs it, because principal standard
deviations halve from one axis to the next. Directions are compared only where the
eigengap computed in the test is clear.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from sklearn_mrl import MatryoshkaPCA, MatryoshkaProjection, ScatterStatistics

EXAMPLES = settings(max_examples=200, deadline=None)

seeds = st.integers(0, 2**32 - 1)
n_features_values = st.integers(1, 6)
scales = st.integers(-3, 3).map(lambda exponent: 10.0**exponent)

# A direction is compared entry by entry only when its eigengap, relative to the largest
# eigenvalue, is above this. Its rounding error is then below about 1e-13 / CLEAR_GAP.
CLEAR_GAP = 1e-2

# Projection settings that the properties cover: regression, canonical correlation, the
# mixed objective and class labels. targets_for gives 2 targets or 3 classes, so each
# supervised objective has at most 2 informative directions.
PROJECTION_CASES = st.sampled_from(
    [
        ({}, "regression"),
        ({"objective": "canonical"}, "regression"),
        ({"reconstruction_weight": 0.4}, "regression"),
        ({}, "labels"),
    ]
)
MAX_SUPERVISED_DIRECTIONS = 2


def invariance_params(params):
    """Fix n_components for the invariance properties, so they compare only the basis.

    The number of directions is tested on its own in test_projection_direction_count.
    """
    if "reconstruction_weight" in params:
        return params
    return {**params, "n_components": MAX_SUPERVISED_DIRECTIONS}


def well_conditioned_data(seed, n_samples, n_features, scale=1.0, offset=0.0):
    """Return X whose principal standard deviations are scale * 2^-j, around an offset."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    deviations = scale * 2.0 ** -np.arange(n_features)
    X = rng.standard_normal((n_samples, n_features)) * deviations @ rotation
    return X + offset * rng.uniform(-1, 1, n_features)


def targets_for(X, kind, seed):
    """Return two noisy linear targets, or labels of 3 classes that depend on X."""
    # A stream other than that of well_conditioned_data, so the noise is independent of X.
    rng = np.random.default_rng([seed, 1])
    scores = X @ rng.standard_normal((X.shape[1], 2))
    noise = 0.3 * scores.std() * rng.standard_normal(scores.shape)
    if kind == "regression":
        return scores + noise + 1e-3
    labels = (scores[:, 0] + noise[:, 0] > np.median(scores[:, 0])).astype(int)
    # Every class gets members (classes 0 and 1 even with 2 samples), so the number of
    # directions does not depend on the draw.
    labels[: X.shape[0] // 3] = 2
    labels[-2:] = [0, 1]
    return labels


def clear_directions(eigenvalues):
    """Return a mask of directions whose eigengap is clear next to the largest value."""
    padded = np.concatenate([[np.inf], eigenvalues, [0.0]])
    gaps = np.minimum(padded[:-2] - padded[1:-1], padded[1:-1] - padded[2:])
    return gaps > CLEAR_GAP * eigenvalues[0]


def reference_eigenvalues(X, sample_weight=None):
    """Return the eigenvalues of the weighted centered scatter of X, descending."""
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    mean = weights @ X / weights.sum()
    centered = X - mean
    return linalg.eigvalsh(centered.T @ (centered * weights[:, np.newaxis]))[::-1]


def unit_rows(matrix):
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------
# Invariance of the fitted basis


@EXAMPLES
@given(seed=seeds, n_features=n_features_values, scale=scales, weighted=st.booleans())
def test_pca_row_order_invariance(seed, n_features, scale, weighted):
    n_samples = 4 * n_features + 5
    X = well_conditioned_data(seed, n_samples, n_features, scale, offset=scale)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 2.0, n_samples) if weighted else None
    order = rng.permutation(n_samples)

    pca = MatryoshkaPCA().fit(X, sample_weight=weights)
    permuted = MatryoshkaPCA().fit(
        X[order], sample_weight=None if weights is None else weights[order]
    )

    clear = clear_directions(reference_eigenvalues(X, weights))[: pca.n_components_]
    assert permuted.n_components_ == pca.n_components_
    np.testing.assert_allclose(permuted.mean_, pca.mean_, rtol=1e-12, atol=1e-14 * scale)
    np.testing.assert_allclose(
        permuted.explained_variance_, pca.explained_variance_, rtol=1e-9
    )
    np.testing.assert_allclose(permuted.components_[clear], pca.components_[clear], atol=1e-8)


@EXAMPLES
@given(
    seed=seeds,
    n_features=n_features_values,
    scale=scales,
    shift=st.floats(-1e3, 1e3, allow_nan=False),
)
def test_pca_translation_invariance(seed, n_features, scale, shift):
    n_samples = 4 * n_features + 5
    X = well_conditioned_data(seed, n_samples, n_features, scale)
    translation = shift * scale * np.random.default_rng(seed).uniform(-1, 1, n_features)

    pca = MatryoshkaPCA().fit(X)
    translated = MatryoshkaPCA().fit(X + translation)

    clear = clear_directions(reference_eigenvalues(X))[: pca.n_components_]
    assert translated.n_components_ == pca.n_components_
    np.testing.assert_allclose(
        translated.mean_, pca.mean_ + translation, rtol=1e-12, atol=1e-11 * scale
    )
    np.testing.assert_allclose(
        translated.explained_variance_, pca.explained_variance_, rtol=1e-8
    )
    np.testing.assert_allclose(
        translated.components_[clear], pca.components_[clear], atol=1e-7
    )


@EXAMPLES
@given(
    seed=seeds,
    n_features=n_features_values,
    factor=st.floats(0.25, 1e3),
)
def test_pca_weight_scaling_invariance(seed, n_features, factor):
    n_samples = 4 * n_features + 5
    X = well_conditioned_data(seed, n_samples, n_features, offset=1.0)
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, n_samples)

    pca = MatryoshkaPCA().fit(X, sample_weight=weights)
    scaled = MatryoshkaPCA().fit(X, sample_weight=factor * weights)

    clear = clear_directions(reference_eigenvalues(X, weights))[: pca.n_components_]
    np.testing.assert_allclose(scaled.mean_, pca.mean_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        scaled.explained_variance_ratio_, pca.explained_variance_ratio_, rtol=1e-9
    )
    np.testing.assert_allclose(scaled.components_[clear], pca.components_[clear], atol=1e-8)
    np.testing.assert_allclose(
        scaled.transform(X)[:, clear], pca.transform(X)[:, clear], rtol=1e-7, atol=1e-8
    )


@EXAMPLES
@given(seed=seeds, n_features=st.integers(2, 6), scale=scales)
def test_pca_rotation_equivariance(seed, n_features, scale):
    # With X' = X R for an orthogonal R, the scatter is R^T S R, so each principal axis u
    # becomes R^T u: as rows, components' = components @ R, up to the sign of each row.
    n_samples = 4 * n_features + 5
    X = well_conditioned_data(seed, n_samples, n_features, scale)
    rotation, _ = np.linalg.qr(
        np.random.default_rng(seed + 1).standard_normal((n_features, n_features))
    )

    pca = MatryoshkaPCA().fit(X)
    rotated = MatryoshkaPCA().fit(X @ rotation)

    clear = clear_directions(reference_eigenvalues(X))[: pca.n_components_]
    np.testing.assert_allclose(
        rotated.explained_variance_, pca.explained_variance_, rtol=1e-8
    )
    cosines = np.sum(rotated.components_ * (pca.components_ @ rotation), axis=1)
    np.testing.assert_allclose(np.abs(cosines[clear]), 1.0, atol=1e-8)
    # Both fits follow the sign rule: the largest entry of each row is positive.
    for components in (pca.components_, rotated.components_):
        largest = components[np.arange(components.shape[0]), np.abs(components).argmax(1)]
        assert np.all(largest > 0)


@EXAMPLES
@given(seed=seeds, n_features=st.integers(2, 5), case=PROJECTION_CASES)
def test_projection_row_order_invariance(seed, n_features, case):
    params, kind = case
    params = invariance_params(params)
    n_samples = 6 * n_features + 12
    X = well_conditioned_data(seed, n_samples, n_features, offset=2.0)
    y = targets_for(X, kind, seed)
    order = np.random.default_rng(seed).permutation(n_samples)

    projection = MatryoshkaProjection(**params).fit(X, y)
    permuted = MatryoshkaProjection(**params).fit(X[order], y[order])

    assert permuted.n_components_ == projection.n_components_
    np.testing.assert_allclose(permuted.mean_, projection.mean_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        permuted.informativeness_, projection.informativeness_, rtol=1e-8, atol=1e-12
    )
    clear = _clear_projection_directions(projection)
    np.testing.assert_allclose(
        unit_rows(permuted.components_[clear]), unit_rows(projection.components_[clear]),
        atol=1e-7,
    )


@EXAMPLES
@given(
    seed=seeds,
    n_features=st.integers(2, 5),
    case=PROJECTION_CASES,
    shift=st.floats(-1e3, 1e3, allow_nan=False),
)
def test_projection_translation_invariance(seed, n_features, case, shift):
    params, kind = case
    params = invariance_params(params)
    n_samples = 6 * n_features + 12
    X = well_conditioned_data(seed, n_samples, n_features)
    y = targets_for(X, kind, seed)
    rng = np.random.default_rng(seed)
    translation = shift * rng.uniform(-1, 1, n_features)
    y_translated = y + shift * rng.uniform(-1, 1, 2) if kind == "regression" else y

    projection = MatryoshkaProjection(**params).fit(X, y)
    translated = MatryoshkaProjection(**params).fit(X + translation, y_translated)

    assert translated.n_components_ == projection.n_components_
    np.testing.assert_allclose(
        translated.mean_, projection.mean_ + translation, rtol=1e-12, atol=1e-11
    )
    np.testing.assert_allclose(
        translated.informativeness_, projection.informativeness_, rtol=1e-7, atol=1e-10
    )
    clear = _clear_projection_directions(projection)
    np.testing.assert_allclose(
        unit_rows(translated.components_[clear]), unit_rows(projection.components_[clear]),
        atol=1e-6,
    )


@EXAMPLES
@given(seed=seeds, n_features=st.integers(2, 5), case=PROJECTION_CASES,
       factor=st.floats(0.25, 1e3))
def test_projection_weight_scaling_invariance(seed, n_features, case, factor):
    params, kind = case
    params = invariance_params(params)
    n_samples = 6 * n_features + 12
    X = well_conditioned_data(seed, n_samples, n_features, offset=2.0)
    y = targets_for(X, kind, seed)
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, n_samples)

    projection = MatryoshkaProjection(**params).fit(X, y, sample_weight=weights)
    scaled = MatryoshkaProjection(**params).fit(X, y, sample_weight=factor * weights)

    clear = _clear_projection_directions(projection)
    np.testing.assert_allclose(scaled.mean_, projection.mean_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        scaled.informativeness_ratio_, projection.informativeness_ratio_,
        rtol=1e-8, atol=1e-12,
    )
    # The whole rows, not only their directions: the scale of each output coordinate
    # must not depend on the unit of the weights.
    np.testing.assert_allclose(
        scaled.components_[clear], projection.components_[clear], rtol=1e-6, atol=1e-10
    )


def _clear_projection_directions(projection):
    """Return a mask of informative directions with a clear eigengap."""
    informativeness = projection.informativeness_
    clear = np.zeros(informativeness.size, dtype=bool)
    if informativeness.size and informativeness[0] > 0:
        clear = projection.eigengaps_ > CLEAR_GAP * informativeness[0]
        clear &= informativeness > 0
    return clear


# ---------------------------------------------------------------------------------------
# Merging statistics


@EXAMPLES
@given(
    seed=seeds,
    n_features=n_features_values,
    n_targets=st.integers(0, 2),
    cuts=st.lists(st.integers(0, 40), min_size=2, max_size=2),
    offset=st.sampled_from([0.0, 1.0, 1e6]),
)
def test_statistics_merge_associative(seed, n_features, n_targets, cuts, offset):
    rng = np.random.default_rng(seed)
    X = well_conditioned_data(seed, 40, n_features, offset=offset)
    Y = rng.standard_normal((40, n_targets)) + X[:, :1] if n_targets else None
    weights = rng.uniform(0.0, 2.0, 40)
    first, second = sorted(cuts)
    parts = [slice(0, first), slice(first, second), slice(second, 40)]
    a, b, c = (
        ScatterStatistics.from_data(
            X[part], None if Y is None else Y[part], sample_weight=weights[part]
        )
        for part in parts
    )
    whole = ScatterStatistics.from_data(X, Y, sample_weight=weights)

    left = (a + b) + c
    right = a + (b + c)
    for merged in (left, right, c + (b + a)):
        assert merged.n_samples == whole.n_samples
        np.testing.assert_allclose(merged.weight_sum, whole.weight_sum, rtol=1e-13)
        np.testing.assert_allclose(merged._mean, whole._mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            merged._scatter, whole._scatter, rtol=1e-9,
            atol=1e-9 * np.abs(whole._scatter).max(),
        )

    # Removing a part inverts merging it.
    remaining = whole - c
    ab = a + b
    if ab.weight_sum > 0:
        np.testing.assert_allclose(remaining._mean, ab._mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(
            remaining._scatter, ab._scatter, rtol=1e-7,
            atol=1e-7 * np.abs(whole._scatter).max(),
        )


# ---------------------------------------------------------------------------------------
# Monotonicity of informativeness and prefix losses


data_kinds = st.sampled_from(["full", "duplicate_column", "few_samples", "constant_column"])


def hard_data(seed, n_features, kind):
    """Return data that is full rank, rank deficient, or has fewer samples than features.

    Returns X and the rank of its centered scatter, known from the construction.
    """
    rng = np.random.default_rng(seed)
    if kind == "few_samples":
        n_samples = max(n_features - 1, 2)
        return rng.standard_normal((n_samples, n_features)) * 3 + 1, n_samples - 1
    X = well_conditioned_data(seed, 5 * n_features + 6, n_features, offset=2.0)
    if kind == "full" or n_features == 1:
        return X, n_features
    if kind == "duplicate_column":
        X[:, -1] = X[:, 0]
    else:
        X[:, -1] = 1.7e8 + 0.3
    return X, n_features - 1


@EXAMPLES
@given(seed=seeds, n_features=st.integers(2, 6), case=PROJECTION_CASES)
def test_projection_direction_count(seed, n_features, case):
    # Rounding must not add a direction: 2 targets, or 3 classes, give at most 2.
    params, kind = case
    X = well_conditioned_data(seed, 6 * n_features + 12, n_features, offset=2.0)
    y = targets_for(X, kind, seed)
    projection = MatryoshkaProjection(**params).fit(X, y)
    if "reconstruction_weight" in params:
        assert projection.n_components_ == n_features
    else:
        assert projection.n_components_ == MAX_SUPERVISED_DIRECTIONS
        assert projection.n_informative_ == MAX_SUPERVISED_DIRECTIONS


def assert_monotone(estimator):
    informativeness = estimator.informativeness_.astype(np.float64)
    prefix_loss = estimator.prefix_loss_.astype(np.float64)
    assert np.all(informativeness >= 0)
    assert np.all(np.diff(informativeness) <= 0)
    assert np.all(estimator.informativeness_ratio_ >= 0)
    assert np.all(prefix_loss >= 0)
    assert np.all(np.diff(prefix_loss) <= 0)
    assert prefix_loss.size == estimator.n_components_ + 1


@EXAMPLES
@given(seed=seeds, n_features=n_features_values, kind=data_kinds,
       whiten=st.booleans(), float32=st.booleans())
def test_pca_informativeness_monotone(seed, n_features, kind, whiten, float32):
    X, rank = hard_data(seed, n_features, kind)
    X = X.astype(np.float32) if float32 else X
    pca = MatryoshkaPCA(whiten=whiten).fit(X)
    assert_monotone(pca)
    if not float32:
        assert pca.n_components_ == rank
    assert np.sum(pca.explained_variance_ratio_) <= 1 + 1e-6


@EXAMPLES
@given(seed=seeds, n_features=st.integers(2, 6), kind=data_kinds,
       case=PROJECTION_CASES, complete=st.booleans())
def test_projection_informativeness_monotone(seed, n_features, kind, case, complete):
    params, target_kind = case
    X, rank = hard_data(seed, n_features, kind)
    y = targets_for(X, target_kind, seed)
    if complete and not params:
        # Completed directions need the rank of X, and a completion beyond it is an error.
        params = {"n_components": rank}
    projection = MatryoshkaProjection(**params, alpha=1e-6 if kind == "few_samples" else 0)
    projection.fit(X, y)
    assert_monotone(projection)
    np.testing.assert_allclose(
        projection.prefix_loss_[0] - projection.prefix_loss_[1:],
        np.cumsum(projection.informativeness_),
        rtol=1e-6, atol=1e-9 * max(projection.prefix_loss_[0], 1.0),
    )
