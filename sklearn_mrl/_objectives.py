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
    """Whitened matrices of one objective, before its weights are chosen."""

    whitening: np.ndarray
    target_matrix: np.ndarray
    reconstruction_matrix: np.ndarray
    target_total: float
    reconstruction_total: float
    canonical: bool
    classes: object
    n_target_directions: int


@dataclass(frozen=True)
class OrderedSolution:
    """Ordered directions V (columns, V^T S V = I) with the parts of their eigenvalues.

    The first ``n_informative`` directions lower the objective; the others complete the
    basis and carry the variance of X they capture in ``completion_scatter``.
    """

    directions: np.ndarray
    eigenvalues: np.ndarray
    target_part: np.ndarray
    reconstruction_part: np.ndarray
    n_informative: int
    completion_scatter: np.ndarray
    eigengaps: np.ndarray
    completion_eigengaps: np.ndarray


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

    # The target term has rank at most rank(Syy), or C - 1 for C classes present.
    if canonical:
        target_matrix, target_total = _canonical_target_matrix(statistics, classes)
        n_target_directions = int(target_total)
    else:
        target_matrix = statistics.scatter_xy @ statistics.scatter_xy.T
        target_total = float(np.trace(statistics.scatter_yy))
        n_target_directions = eigh_descending(statistics.scatter_yy, statistics.n_samples)
        n_target_directions = n_target_directions.eigenvalues.size

    whitened_xx = whitening.T @ scatter_xx
    return Objective(
        whitening=whitening,
        target_matrix=whitening.T @ target_matrix @ whitening,
        reconstruction_matrix=whitened_xx @ whitened_xx.T,
        target_total=target_total,
        reconstruction_total=float(np.trace(scatter_xx)),
        canonical=canonical,
        classes=classes,
        n_target_directions=n_target_directions,
    )


def _canonical_target_matrix(statistics, classes):
    """Return Sxy Syy^+ Syx and its empty-prefix loss tr(Syy^+ Syy) = rank(Syy)."""
    scatter_xy = statistics.scatter_xy
    if classes is not None:
        # Between-class scatter sum_c W_c (m_c - m)(m_c - m)^T: column c of Sxy is
        # W_c (m_c - m), with class weight W_c = N * mean of indicator c. This avoids
        # a pseudo-inverse of the one-hot scatter. Absent classes add nothing.
        class_weights = statistics.weight_sum * statistics.mean_y
        present = class_weights > 0
        scaled = scatter_xy[:, present] / np.sqrt(class_weights[present])
        return scaled @ scaled.T, float(np.count_nonzero(present) - 1)

    # Syy^+ on the numerical range of Syy, so a constant target column adds nothing.
    basis = eigh_descending(statistics.scatter_yy, statistics.n_samples)
    projected = scatter_xy @ basis.vectors / np.sqrt(basis.eigenvalues)
    return projected @ projected.T, float(basis.eigenvalues.size)


def objective_weights(objective, reconstruction_weight):
    """Return (b_y, b_x, loss of the empty prefix) for the reconstruction weight beta."""
    if reconstruction_weight == 0:
        return 1.0, 0.0, objective.target_total
    target_weight = 0.0
    if objective.target_total > 0:
        target_weight = (1 - reconstruction_weight) / objective.target_total
    return target_weight, reconstruction_weight / objective.reconstruction_total, 1.0


def solve_objective(objective, reconstruction_weight, n_components, n_samples):
    """Solve the ordered eigenproblem and complete the basis up to n_components.

    n_components is a function of the informative eigenvalues that returns the prefix
    size; a size beyond the informative directions is filled with the beta -> 0+ limit
    of the mixed objective: the principal axes of the part of X whose scores are
    uncorrelated with the targets.
    """
    target_weight, weight_x, _ = objective_weights(objective, reconstruction_weight)
    combined = target_weight * objective.target_matrix + weight_x * objective.reconstruction_matrix

    # The ordered eigenbasis, with a tie at correlation 1 ordered by the variance of X.
    basis = eigh_descending(combined, n_samples)
    rotation = basis.vectors
    if objective.canonical and reconstruction_weight == 0:
        rotation = _order_tie_at_one(basis.eigenvalues, rotation, objective)
    eigenvalues = basis.eigenvalues
    if reconstruction_weight == 0:
        # Whitening amplifies rounding by up to the condition number of S, so eigenvalues
        # past the rank of the target term are rounding noise, not directions.
        eigenvalues = eigenvalues[: objective.n_target_directions]
    n_informative = eigenvalues.size
    n_kept = min(n_components(eigenvalues), n_informative)
    n_completed = n_components(eigenvalues) - n_kept
    rotation = rotation[:, :n_kept]
    next_eigenvalue = basis.next_eigenvalue
    if n_kept < basis.eigenvalues.size:
        next_eigenvalue = basis.eigenvalues[n_kept]
    gaps = eigengaps(eigenvalues[:n_kept], next_eigenvalue)

    # Completion on the orthogonal complement of the informative directions.
    completion_scatter = np.zeros(0)
    completion_gaps = np.zeros(0)
    if n_completed > 0:
        complement = linalg.null_space(rotation.T) if n_kept else np.eye(combined.shape[0])
        residual = complement.T @ objective.reconstruction_matrix @ complement
        completion = eigh_descending(residual, n_samples)
        completion_scatter = completion.eigenvalues[:n_completed]
        following = completion.eigenvalues[n_completed:n_completed + 1]
        completion_gaps = eigengaps(
            completion_scatter, following[0] if following.size else 0.0
        )
        rotation = np.hstack([rotation, complement @ completion.vectors[:, :n_completed]])

    target_part = target_weight * _quadratic_forms(objective.target_matrix, rotation)
    reconstruction_part = weight_x * _quadratic_forms(objective.reconstruction_matrix, rotation)
    return OrderedSolution(
        directions=objective.whitening @ rotation,
        eigenvalues=np.concatenate([eigenvalues[:n_kept], np.zeros(n_completed)]),
        target_part=target_part,
        reconstruction_part=reconstruction_part,
        n_informative=n_kept,
        completion_scatter=completion_scatter,
        eigengaps=gaps,
        completion_eigengaps=completion_gaps,
    )


def _quadratic_forms(matrix, vectors):
    return np.einsum("ij,ij->j", vectors, matrix @ vectors)


def _order_tie_at_one(eigenvalues, rotation, objective):
    """Order tied directions with canonical correlation 1 by the variance of X.

    Squared canonical correlations of 1 occur when X separates the targets exactly
    (more features than samples, or a singular within-class scatter). Several of them
    tie, and the objective leaves their rotation free. The principal axes within the
    tied subspace order them instead, and a DegenerateObjectiveWarning reports it.
    """
    n_tied = int(np.count_nonzero(eigenvalues >= DEGENERATE_CORRELATION))
    if n_tied < 2:
        return rotation

    warnings.warn(
        f"{n_tied} squared canonical correlations equal 1, so X separates the targets "
        "exactly (more features than samples, or a singular within-class scatter) and "
        "the objective cannot order these directions; they are ordered by the variance "
        "of X instead. Set alpha > 0 to regularize, for example alpha=1e-3 * "
        "trace(Sxx) / n_features.",
        DegenerateObjectiveWarning,
        stacklevel=4,
    )
    tied = rotation[:, :n_tied]
    _, order = linalg.eigh(tied.T @ objective.reconstruction_matrix @ tied)
    rotation = rotation.copy()
    rotation[:, :n_tied] = tied @ order[:, ::-1]
    return rotation


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

    class_weights = statistics.weight_sum * statistics.mean_y
    present = class_weights > 0
    class_means = np.zeros((directions.shape[1], class_weights.size))
    class_means[:, present] = (
        directions.T @ statistics.scatter_xy[:, present] / class_weights[present]
    )
    class_means *= safe_scales[:, np.newaxis]

    # Within-class covariance in the output space: total scatter minus between-class.
    # It is zero up to rounding when X separates the classes exactly. A ridge of
    # WITHIN_CLASS_RIDGE times the mean total variance keeps it invertible, so the rule
    # then tends to the nearest class mean.
    scaled_directions = directions * safe_scales
    total_scatter = scaled_directions.T @ statistics.scatter_xx @ scaled_directions
    between_scatter = (class_means * class_weights) @ class_means.T
    within_covariance = (total_scatter - between_scatter) / statistics.weight_sum
    ridge = WITHIN_CLASS_RIDGE * np.trace(total_scatter) / (statistics.weight_sum * len(scales))
    within_covariance.flat[:: len(scales) + 1] += ridge
    coefficients = linalg.solve(within_covariance, class_means, assume_a="pos")

    with np.errstate(divide="ignore"):
        log_priors = np.log(class_weights / statistics.weight_sum)
    intercept = log_priors - 0.5 * np.einsum("ij,ij->j", class_means, coefficients)
    return Decoder(coefficients, intercept)
