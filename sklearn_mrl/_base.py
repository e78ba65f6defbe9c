"""Behaviour shared by the Matryoshka transformers: input checks, transform and tags."""

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import NotFittedError
from sklearn.utils import assert_all_finite, check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from ._statistics import DEFAULT_BLOCK_BYTES, MIN_BLOCK_ROWS

ACCEPTED_SPARSE = ("csr", "csc", "coo")
FLOAT_DTYPES = (np.float64, np.float32)


def check_sample_weight(sample_weight, n_samples):
    """Validate sample_weight as a float64 vector of non-negative frequency weights.

    Returns None for None. Weights are frequency weights: a weight of 2 is the same as
    repeating the row, so unbiased variances divide by sum(weights) - 1.
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
    if n_samples > 0 and not np.any(sample_weight > 0):
        raise ValueError(
            "sample_weight is zero for every sample, so no sample carries weight; give at least two "
            "samples a positive weight."
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


def restore_on_error(method):
    """Decorate partial_fit so that a rejected batch leaves the estimator unchanged."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved_state = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved_state)
            raise

    return wrapper


class MatryoshkaTransformerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Transform, output feature names and tags of a fitted ordered linear basis.

    Subclasses set ``mean_``, ``n_components_`` and ``components_`` and implement
    ``_encoder``, the matrix M such that ``transform(X) = (X - mean_) @ M.T``.
    """

    def transform(self, X):
        """Project X onto the fitted ordered basis.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to project.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            Coordinates in the basis, ordered by informativeness; float32 for float32
            input, float64 otherwise.
        """
        self._check_basis_ready()
        # X is checked for NaN and infinity through the output, in _check_output_finite.
        X = validate_data(
            self,
            X,
            reset=False,
            accept_sparse=ACCEPTED_SPARSE,
            dtype=FLOAT_DTYPES,
            ensure_all_finite=False,
        )
        # The float64 mean of the statistics keeps float32 output accurate far from the
        # origin, where mean_ rounded to float32 would shift every sample.
        mean = self.statistics_.mean_x
        encoder = self._encoder()

        if sp.issparse(X):
            # Centering would densify X, so the mean is projected and subtracted instead.
            encoder = encoder.astype(np.float64)
            X_new = np.asarray(X @ encoder.T) - mean @ encoder.T
            X_new = X_new.astype(X.dtype, copy=False)
            self._check_output_finite(X, X_new)
            return X_new

        # Center one block at a time in float64, so that no centered copy of X is made,
        # then multiply in the input dtype.
        encoder = encoder.astype(X.dtype, copy=False)
        n_samples = X.shape[0]
        block_rows = max(MIN_BLOCK_ROWS, DEFAULT_BLOCK_BYTES // (8 * X.shape[1]))
        X_new = np.empty((n_samples, encoder.shape[0]), dtype=X.dtype)
        with np.errstate(invalid="ignore"):
            for start in range(0, n_samples, block_rows):
                stop = min(start + block_rows, n_samples)
                centered = (X[start:stop] - mean).astype(X.dtype, copy=False)
                np.matmul(centered, encoder.T, out=X_new[start:stop])
        self._check_output_finite(X, X_new)
        return X_new

    def _check_output_finite(self, X, X_new):
        """Raise scikit-learn's error for NaN or infinity in X, found through the output.

        A NaN or an infinity in a row of X makes that row of the output NaN or
        infinite, so X itself is scanned only when the output is not finite: a pass
        over n_components_ columns instead of n_features. A finite X whose projection
        overflows gives an infinite output without error, as in scikit-learn's PCA.
        """
        if not np.isfinite(X_new).all():
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)

    def _wait_for_samples(self, message, **kept):
        """Drop the fitted basis but keep the attributes in kept, until partial_fit has enough.

        message becomes the NotFittedError that methods needing the basis raise.
        """
        for attribute in list(self.__dict__):
            is_fitted = attribute.endswith("_") and not attribute.startswith("_")
            if is_fitted and attribute not in ("n_features_in_", "feature_names_in_"):
                del self.__dict__[attribute]
        self.__dict__.pop("_decoder", None)
        self.__dict__.update(kept)
        self._not_ready_message = message

    def _check_basis_ready(self):
        """Raise NotFittedError when partial_fit has not yet seen enough samples."""
        check_is_fitted(self, "statistics_")
        if not hasattr(self, "components_"):
            raise NotFittedError(self._not_ready_message)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
