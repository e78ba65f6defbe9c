"""Input checks shared by the estimators and ScatterStatistics."""

import numpy as np
from sklearn.utils import check_array


def check_sample_weight(sample_weight, n_samples, *, allow_all_zero=False):
    """Validate sample_weight as a float64 vector of non-negative frequency weights.

    Returns None for None. Weights are frequency weights: a weight of 2 is the same as
    repeating the row, so unbiased variances divide by sum(weights) - 1. All-zero
    weights raise a ValueError unless allow_all_zero is set. ScatterStatistics sets it,
    because the statistics of rows without weight are the identity of merging.
    """
    if sample_weight is None:
        return None

    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=np.float64,
        input_name="sample_weight",
        ensure_min_samples=0,
    )
    if sample_weight.ndim != 1 or sample_weight.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}, but X has {n_samples} "
            f"samples; pass one weight per sample, shape ({n_samples},)."
        )
    if np.any(sample_weight < 0):
        raise ValueError(
            f"sample_weight must be non-negative; got {sample_weight.min()!r}. "
            "Remove rows instead of giving them negative weight."
        )
    if not allow_all_zero and n_samples > 0 and not np.any(sample_weight > 0):
        raise ValueError(
            "sample_weight is zero for every sample, so no sample carries weight; give "
            "the samples positive weights that sum to more than 1."
        )
    return sample_weight


def weight_sum_message(weight_sum):
    return (
        f"The sample weights sum to {weight_sum!r}. Variances divide by "
        "sum(sample_weight) - 1, as for repeated rows, so the weights must sum to "
        "more than 1; rescale sample_weight."
    )


def weight_sum_too_small(weight_sum):
    """Return whether the frequency-weight denominator N - 1 is zero up to rounding.

    Weights normalised to sum to 1 often add up to 1 + 2.2e-16, and dividing by that
    N - 1 would multiply every variance by about 1e16. The rounding of the weight sum
    stays far below sqrt(eps) = 1.5e-8 unless it is merged from billions of blocks or
    batches, so a smaller excess over 1 counts as rounding.
    """
    return weight_sum <= 1 + np.sqrt(np.finfo(np.float64).eps)


def check_weight_sum(weight_sum):
    """Raise unless the frequency-weight denominator N - 1 is positive."""
    if weight_sum_too_small(weight_sum):
        raise ValueError(weight_sum_message(weight_sum))


def cast_fitted(values, dtype, name, *, allow_underflow=False):
    """Return fitted values in the dtype of X, raising if that dtype cannot hold them.

    float32 represents magnitudes from about 1e-38 to 3e38 (1e-45 with subnormals).
    The variances of data beyond about 1e19 overflow to infinity, and those below about
    1e-23 round to zero, which would make whitened output infinite or NaN. Values
    for which a zero is harmless, such as tiny entries of a direction, may underflow.
    """
    values = np.asarray(values)
    with np.errstate(over="ignore", under="ignore"):
        cast = values.astype(dtype)
    underflow = not allow_underflow and np.any((cast == 0) & (values != 0))
    if not np.all(np.isfinite(cast)) or underflow:
        raise ValueError(
            f"The fitted {name} lie outside the range of {np.dtype(dtype).name}, whose "
            "magnitudes run from about 1e-38 to 3e38. Pass X as float64, or rescale it."
        )
    return cast


def check_total_variance_range(statistics, dtype):
    """Raise if the total variance of X lies outside the range of dtype.

    partial_fit leaves the solve, and its casts to dtype, until the basis is read. This
    check rejects a batch that puts the whole scale of X out of range, so that the
    batch never enters the statistics. A single variance out of range is found by the
    solve, when the basis is read.
    """
    if weight_sum_too_small(statistics.weight_sum):
        return
    total_variance = np.trace(statistics.scatter_xx) / (statistics.weight_sum - 1)
    cast_fitted(np.array([total_variance]), dtype, "variances")
