"""Ordered symmetric eigenproblems: rank cut, prefix size, eigengaps and the sign rule.

Every full-prefix objective in this package reduces to A v = s2 S v with V^T S V = I.
Its eigenvalues, sorted in decreasing order, are the informativeness of each direction,
and the first m eigenvectors minimise the loss of every prefix m at once.
"""

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import linalg

# A cumulative informativeness ratio counts as greater than a requested fraction only if it
# exceeds it by this much, so that an exact tie does not depend on rounding.
RATIO_TOLERANCE = 1e-10


@dataclass(frozen=True)
class OrderedEigenbasis:
    """Eigenvalues in decreasing order and their eigenvectors as columns.

    ``next_eigenvalue`` is the largest eigenvalue removed by the rank cut, or 0 when none
    was removed; it bounds the eigengap of the last kept direction.
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    next_eigenvalue: float


# Safety factor on the rounding bound below, because scipy.linalg.eigh adds its own
# error of a few n_features * eps times the norm. We drew 100,000 random rank-deficient
# scatter matrices with 2 to 8 features, as in test_pca_fewer_samples_random (scipy
# 1.17, LAPACK evr driver). Their largest eigenvalue past the rank reached 4.4 times
# max(n_samples, n_features) * eps * norm, and without the factor 3% of them kept a
# spurious direction.
EIGENSOLVER_ERROR_FACTOR = 10


def rank_tolerance(largest_eigenvalue, n_samples, n_features):
    """Return the eigenvalue below which a direction is numerically zero.

    The eigensolver errs by about n_features * eps times the norm. Each entry of a
    scatter matrix summed in float64 over n_samples rows errs by about
    sqrt(n_samples) * eps relative to its diagonal, because rounding errors of a long
    sum add up like a random walk. The larger of the two is scaled by
    EIGENSOLVER_ERROR_FACTOR.
    """
    eps = np.finfo(np.float64).eps
    size = max(n_features, np.sqrt(max(n_samples, 0)))
    return largest_eigenvalue * size * eps * EIGENSOLVER_ERROR_FACTOR


def numerical_rank(matrix, n_samples):
    """Return the rank of a symmetric positive semi-definite matrix, free of units.

    The rank is judged on the correlation form D^-1/2 S D^-1/2, with D the diagonal of
    S. So a feature with a small variance in its units, such as a rate next to an amount
    in dollars, is not mistaken for rounding noise. Features with no variance do not
    count.
    """
    diagonal = np.diag(matrix)
    positive = np.flatnonzero(diagonal > 0)
    if positive.size == 0:
        return 0
    scale = 1 / np.sqrt(diagonal[positive])
    correlation = matrix[np.ix_(positive, positive)] * np.outer(scale, scale)
    values = linalg.eigvalsh((correlation + correlation.T) / 2)
    tolerance = rank_tolerance(values[-1], n_samples, positive.size)
    return int(np.count_nonzero(values > tolerance))


def eigh_descending(matrix, n_samples):
    """Return the eigenpairs of a symmetric matrix above the rank cut, largest first.

    The rank comes from numerical_rank. Eigenvalues below the eigensolver's own error
    are cut too, because they are not resolved even when the rank counts them.
    """
    matrix = (matrix + matrix.T) / 2
    eigenvalues, vectors = linalg.eigh(matrix)
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]

    largest = max(eigenvalues[0], 0.0) if eigenvalues.size else 0.0
    resolved = rank_tolerance(largest, 0, matrix.shape[0])
    rank = 0
    if largest > 0:
        rank = min(numerical_rank(matrix, n_samples),
                   int(np.count_nonzero(eigenvalues > resolved)))
    next_eigenvalue = max(float(eigenvalues[rank]), 0.0) if rank < eigenvalues.size else 0.0
    return OrderedEigenbasis(eigenvalues[:rank], vectors[:, :rank], next_eigenvalue)


def whitening_basis(metric, n_samples):
    """Return W with W^T metric W = I, spanning the numerical range of the metric.

    The metric is scaled to its correlation form first, so that features of very
    different units are whitened as accurately as features of one unit.
    """
    diagonal = np.diag(metric)
    scale = np.zeros_like(diagonal)
    positive = diagonal > 0
    scale[positive] = 1 / np.sqrt(diagonal[positive])
    basis = eigh_descending(metric * np.outer(scale, scale), n_samples)
    return scale[:, np.newaxis] * basis.vectors / np.sqrt(basis.eigenvalues)


def sign_rule_signs(directions):
    """Return the sign (+1 or -1) that makes the largest-magnitude entry of each row positive.

    This is the only sign convention in the package: every fit, whatever the input
    path (whole data, batches or merged statistics), passes its directions through it.
    """
    directions = np.asarray(directions)
    if directions.size == 0:
        return np.ones(directions.shape[0])
    largest = np.argmax(np.abs(directions), axis=1)
    signs = np.sign(directions[np.arange(directions.shape[0]), largest])
    signs[signs == 0] = 1
    return signs


def apply_sign_rule(directions):
    """Flip each row so that its entry of largest magnitude is positive."""
    return directions * sign_rule_signs(directions)[:, np.newaxis]


def eigengaps(eigenvalues, next_eigenvalue):
    """Return the distance from each eigenvalue to its nearest neighbour in the spectrum.

    A direction is identifiable only when its eigengap is large next to the noise in
    the statistics: its error grows roughly as noise / eigengap, and a zero eigengap
    (a tie) leaves the tied directions free to rotate among themselves.
    """
    if eigenvalues.size == 0:
        return eigenvalues.copy()
    padded = np.concatenate([[np.inf], eigenvalues, [next_eigenvalue]])
    gap_above = padded[:-2] - padded[1:-1]
    gap_below = padded[1:-1] - padded[2:]
    return np.minimum(gap_above, gap_below)


def select_n_components(n_components, informativeness, total, rank, estimator_name):
    """Resolve n_components (None, an int or a fraction) to a prefix size.

    A fraction selects the smallest prefix whose cumulative informativeness ratio is
    greater than the fraction by more than RATIO_TOLERANCE.
    """
    if n_components is None:
        return rank

    if isinstance(n_components, numbers.Integral):
        if n_components > rank:
            raise ValueError(
                f"n_components={n_components} must be at most the rank of the "
                f"{estimator_name} objective for this data, which is {rank}; reduce "
                "n_components or set it to None to keep every informative direction."
            )
        return int(n_components)

    cumulative_ratio = np.cumsum(informativeness) / total
    n_selected = np.searchsorted(cumulative_ratio, n_components + RATIO_TOLERANCE, side="right")
    return int(min(n_selected + 1, rank))
