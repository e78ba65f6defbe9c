"""Supervised full-prefix objectives as ordered eigenproblems, built from statistics.

Every objective of MatryoshkaProjection has the form A v = s2 S v with V^T S V = I,
where S = Sxx + alpha I is the ridge metric and

    A = b_x Sxx^2 + b_y Sxy M Syx.

M is the identity for regression and Syy^+ for the canonical objective. In whitened
coordinates u = W^T x, with W^T S W = I, this is an ordinary symmetric eigenproblem.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ._eigen import eigengaps, eigh_descending, whitening_basis

# A squared canonical correlation this close to 1 means that X predicts part of the
# targets exactly. Several of them form a tie that the objective cannot order.
DEGENERATE_CORRELATION = 1 - 1e-8

# Relative ridge added to the within-class covariance of the output space before the
# discriminant functions are formed.
WITHIN_CLASS_RIDGE = 1e-10


class DegenerateObjectiveWarning(UserWarning):
    """Warning that the objective ties several directions, so a secondary rule orders them."""


@dataclass(frozen=True)
class Objective:
    """Whitened matrices of one objective, before its weights are chosen.

    ``rank_x`` is the rank of Sxx, the most directions a completed basis can have, and
    ``n_target_directions`` bounds the rank of the target term: rank(Syy), or C - 1
    for C classes present.
    """

    whitening: np.ndarray
    target_matrix: np.ndarray
    reconstruction_matrix: np.ndarray
    whitened_scatter_xx: np.ndarray
    target_total: float
    reconstruction_total: float
    canonical: bool
    rank_x: int
    n_target_directions: int


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights b_y and b_x of the target and reconstruction terms, and the loss L_0."""

    target: float
    reconstruction: float
    empty_prefix_loss: float


@dataclass(frozen=True)
class OrderedSolution:
    """Ordered directions V (columns, V^T S V = I) with the parts of their eigenvalues.

    The first ``n_informative`` directions lower the objective. The others complete the
    basis, and ``completion_scatter`` contains ||Sxx v||^2 for each of them. ``sxx_norms``
    contains v^T Sxx v, which is 1 when alpha = 0. ``n_tied`` counts the directions of a
    tie at canonical correlation 1, which were ordered by the variance of X.
    """

    directions: np.ndarray
    eigenvalues: np.ndarray
    target_part: np.ndarray
    reconstruction_part: np.ndarray
    n_informative: int
    completion_scatter: np.ndarray
    eigengaps: np.ndarray
    completion_eigengaps: np.ndarray
    sxx_norms: np.ndarray
    n_tied: int


@dataclass(frozen=True)
class Decoder:
    """Affine map from output coordinates to targets or to class scores."""

    coefficients: np.ndarray
    intercept: np.ndarray


def build_objective(statistics, classes, *, canonical, alpha):
    """Return the whitened target and reconstruction matrices of the objective."""
    n_features = statistics.n_features
    scatter_xx = statistics.scatter_xx
    metric = scatter_xx + alpha * np.eye(n_features)
    whitening = whitening_basis(metric, statistics.n_samples)
    rank_x = eigh_descending(scatter_xx, statistics.n_samples).eigenvalues.size

    if canonical:
        target_matrix, target_total = _canonical_target_matrix(statistics, classes)
        n_target_directions = int(target_total)
    else:
        target_matrix = statistics.scatter_xy @ statistics.scatter_xy.T
        target_total = float(np.trace(statistics.scatter_yy))
        scatter_yy_basis = eigh_descending(statistics.scatter_yy, statistics.n_samples)
        n_target_directions = scatter_yy_basis.eigenvalues.size

    whitened_xx = whitening.T @ scatter_xx
    return Objective(
        whitening=whitening,
        target_matrix=whitening.T @ target_matrix @ whitening,
        reconstruction_matrix=whitened_xx @ whitened_xx.T,
        whitened_scatter_xx=whitened_xx @ whitening,
        target_total=target_total,
        reconstruction_total=float(np.trace(scatter_xx)),
        canonical=canonical,
        rank_x=rank_x,
        n_target_directions=n_target_directions,
    )


def class_weights(statistics):
    """Return the weight W_c = N * mean of indicator c of each class, and which are present."""
    weights = statistics.weight_sum * statistics.mean_y
    return weights, weights > 0


def _canonical_target_matrix(statistics, classes):
    """Return Sxy Syy^+ Syx and its empty-prefix loss tr(Syy^+ Syy) = rank(Syy)."""
    scatter_xy = statistics.scatter_xy
    if classes is not None:
        # Between-class scatter sum_c W_c (m_c - m)(m_c - m)^T, because column c of Sxy
        # is W_c (m_c - m). This avoids a pseudo-inverse of the one-hot scatter, and
        # absent classes add nothing.
        weights, present = class_weights(statistics)
        scaled = scatter_xy[:, present] / np.sqrt(weights[present])
        return scaled @ scaled.T, float(np.count_nonzero(present) - 1)

    # Syy^+ on the numerical range of Syy, so a constant target column adds nothing.
    basis = eigh_descending(statistics.scatter_yy, statistics.n_samples)
    projected = scatter_xy @ basis.vectors / np.sqrt(basis.eigenvalues)
    return projected @ projected.T, float(basis.eigenvalues.size)


def objective_weights(objective, reconstruction_weight):
    """Return b_y, b_x and the empty-prefix loss for the reconstruction weight beta.

    With beta > 0 the weights are unit-free, b_x = beta / tr(Sxx) and
    b_y = (1 - beta) / L_y, so the empty prefix loses beta + (1 - beta) = 1, or beta
    alone when the targets are constant.
    """
    beta = reconstruction_weight
    if beta == 0:
        return ObjectiveWeights(1.0, 0.0, objective.target_total)
    if objective.target_total > 0:
        return ObjectiveWeights((1 - beta) / objective.target_total,
                                beta / objective.reconstruction_total, 1.0)
    return ObjectiveWeights(0.0, beta / objective.reconstruction_total, beta)


def solve_objective(objective, weights, prefix_size, n_samples):
    """Solve the ordered eigenproblem and complete the basis up to the prefix size.

    prefix_size maps the informative eigenvalues to the number of directions to return.
    A size beyond the informative directions is filled with the beta -> 0+ limit of the
    mixed objective: the principal axes of the part of X whose scores are uncorrelated
    with the targets.
    """
    combined = (weights.target * objective.target_matrix
                + weights.reconstruction * objective.reconstruction_matrix)

    # The ordered eigenbasis, with a tie at correlation 1 ordered by the variance of X.
    basis = eigh_descending(combined, n_samples)
    rotation, n_tied = basis.vectors, 0
    if objective.canonical and weights.reconstruction == 0:
        rotation, n_tied = _order_tie_at_one(basis.eigenvalues, rotation, objective)
    eigenvalues = basis.eigenvalues
    if weights.reconstruction == 0:
        # Whitening amplifies rounding by up to the condition number of S, so eigenvalues
        # past the rank of the target term are rounding noise, not directions.
        eigenvalues = eigenvalues[: objective.n_target_directions]

    n_informative = eigenvalues.size
    n_components = prefix_size(eigenvalues)
    n_kept = min(n_components, n_informative)
    rotation = rotation[:, :n_kept]
    next_eigenvalue = basis.next_eigenvalue
    if n_kept < basis.eigenvalues.size:
        next_eigenvalue = basis.eigenvalues[n_kept]
    gaps = eigengaps(eigenvalues[:n_kept], next_eigenvalue)

    completion = _complete(objective, rotation, n_components - n_kept, n_samples)
    rotation = np.hstack([rotation, completion.rotation])
    return OrderedSolution(
        directions=objective.whitening @ rotation,
        eigenvalues=np.concatenate([eigenvalues[:n_kept], np.zeros(completion.scatter.size)]),
        target_part=weights.target * _quadratic_forms(objective.target_matrix, rotation),
        reconstruction_part=weights.reconstruction
        * _quadratic_forms(objective.reconstruction_matrix, rotation),
        n_informative=n_kept,
        completion_scatter=completion.scatter,
        eigengaps=gaps,
        completion_eigengaps=completion.eigengaps,
        sxx_norms=_quadratic_forms(objective.whitened_scatter_xx, rotation),
        n_tied=n_tied,
    )


@dataclass(frozen=True)
class _Completion:
    rotation: np.ndarray
    scatter: np.ndarray
    eigengaps: np.ndarray


def _complete(objective, rotation, n_completed, n_samples):
    """Return the principal axes of the reconstruction term orthogonal to rotation."""
    n_rows = rotation.shape[0]
    if n_completed <= 0:
        return _Completion(np.zeros((n_rows, 0)), np.zeros(0), np.zeros(0))

    complement = linalg.null_space(rotation.T) if rotation.shape[1] else np.eye(n_rows)
    residual = complement.T @ objective.reconstruction_matrix @ complement
    basis = eigh_descending(residual, n_samples)
    if basis.eigenvalues.size < n_completed:
        # The limit is rank(Sxx) up to the rounding of the two rank cuts.
        raise ValueError(
            f"Only {rotation.shape[1] + basis.eigenvalues.size} directions of X carry "
            f"variance, fewer than the {rotation.shape[1] + n_completed} requested; "
            "reduce n_components."
        )
    scatter = basis.eigenvalues[:n_completed]
    following = basis.eigenvalues[n_completed:n_completed + 1]
    gaps = eigengaps(scatter, following[0] if following.size else 0.0)
    return _Completion(complement @ basis.vectors[:, :n_completed], scatter, gaps)


def _quadratic_forms(matrix, vectors):
    return np.einsum("ij,ij->j", vectors, matrix @ vectors)


def _order_tie_at_one(eigenvalues, rotation, objective):
    """Order tied directions with canonical correlation 1 by the variance of X.

    Squared canonical correlations of 1 occur when X separates the targets exactly
    (more features than samples, or a singular within-class scatter). Several of them
    tie, and the objective leaves their rotation free, so the principal axes within the
    tied subspace order them instead. Returns the rotation and the number tied.
    """
    n_tied = int(np.count_nonzero(eigenvalues >= DEGENERATE_CORRELATION))
    if n_tied < 2:
        return rotation, 0

    tied = rotation[:, :n_tied]
    _, order = linalg.eigh(tied.T @ objective.reconstruction_matrix @ tied)
    rotation = rotation.copy()
    rotation[:, :n_tied] = tied @ order[:, ::-1]
    return rotation, n_tied


def warn_tie_at_one(n_tied, stacklevel):
    """Warn that n_tied canonical correlations equal 1, if there are at least two."""
    if n_tied < 2:
        return
    warnings.warn(
        f"{n_tied} squared canonical correlations equal 1, so X separates the targets "
        "exactly (more features than samples, or a singular within-class scatter) and "
        "the objective cannot order these directions. They are ordered by the variance "
        "of X instead. Set alpha > 0 to regularize, for example alpha=1e-3 * "
        "trace(Sxx) / n_features.",
        DegenerateObjectiveWarning,
        stacklevel=stacklevel + 1,
    )


def build_decoder(classes, statistics, directions, scales):
    """Return the affine map from output coordinates to targets or class scores.

    Output coordinates are z = scales * V^T (x - m). For targets, the decoder of the
    S-orthonormal codes V^T (x - m) is Syx V, the least-squares decoder when alpha = 0.
    For class labels, the scores are the linear discriminant functions in the projected
    space, with the within-class covariance Sw / N there and the log class priors.
    """
    safe_scales = np.where(scales > 0, scales, 1.0)
    if classes is None:
        coefficients = (directions.T @ statistics.scatter_xy) / safe_scales[:, np.newaxis]
        return Decoder(coefficients, statistics.mean_y.copy())

    weights, present = class_weights(statistics)
    class_means = np.zeros((directions.shape[1], weights.size))
    class_means[:, present] = directions.T @ statistics.scatter_xy[:, present] / weights[present]
    class_means *= safe_scales[:, np.newaxis]

    # Within-class covariance in the output space: total scatter minus between-class.
    # It is zero up to rounding when X separates the classes exactly. A ridge of
    # WITHIN_CLASS_RIDGE times the mean total variance keeps it invertible, so the rule
    # then tends to the nearest class mean.
    scaled_directions = directions * safe_scales
    total_scatter = scaled_directions.T @ statistics.scatter_xx @ scaled_directions
    between_scatter = (class_means * weights) @ class_means.T
    within_covariance = (total_scatter - between_scatter) / statistics.weight_sum
    ridge = WITHIN_CLASS_RIDGE * np.trace(total_scatter) / (statistics.weight_sum * len(scales))
    within_covariance.flat[:: len(scales) + 1] += ridge
    coefficients = linalg.solve(within_covariance, class_means, assume_a="pos")

    with np.errstate(divide="ignore"):
        log_priors = np.log(weights / statistics.weight_sum)
    intercept = log_priors - 0.5 * np.einsum("ij,ij->j", class_means, coefficients)
    return Decoder(coefficients, intercept)
