"""Behaviour shared by the Matryoshka transformers: input checks, transform and tags."""

import functools
import numbers
import os
import sys
import threading

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import NotFittedError
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_is_fitted, validate_data

from ._objectives import warn_tie_at_one
from ._statistics import DEFAULT_BLOCK_BYTES, MIN_BLOCK_ROWS

ACCEPTED_SPARSE = ("csr", "csc", "coo")
FLOAT_DTYPES = (np.float64, np.float32)


# One lock for every deferred solve, so that threads reading one pending basis wait
# for a single solve. It serializes the deferred solves of different estimators too,
# which a lock per estimator would avoid, but that lock would have to be left out of
# pickling and copying.
_DEFERRED_SOLVE_LOCK = threading.RLock()

# Frames in these packages are skipped to find the user's frame: scikit-learn wraps
# transform for set_output, and pipelines call the estimator from inside scikit-learn.
_LIBRARY_DIRECTORIES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def _stacklevel_outside_libraries():
    """Return the warnings stacklevel, seen from the caller, of the user's first frame.

    A deferred solve runs below whichever public method or attribute read needed the
    basis, at a depth that varies, so the user's frame is found by walking the stack.
    """
    frame = sys._getframe(1)
    stacklevel = 1
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRECTORIES):
        frame = frame.f_back
        stacklevel += 1
    return stacklevel


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
    ``_encoder``, the matrix M such that ``transform(X) = (X - mean_) @ M.T``. They
    list in ``_basis_attributes`` every attribute that ``_fit_statistics`` derives from
    the eigenproblem, which partial_fit leaves to be solved when first read.
    """

    _basis_attributes = frozenset()

    def _defer_basis(self, statistics, **solve_arguments):
        """Keep the statistics merged by partial_fit and drop the basis until it is read.

        Solving the eigenproblem after every batch would cost more than accumulating a
        small batch. Instead, the first read of a basis attribute, by the user or by a
        method such as transform, calls _fit_statistics with solve_arguments and with
        the parameters of this partial_fit call, as an eager solve would have used. The
        parameters are kept as references, which is enough for the numbers, strings and
        booleans that these estimators take.
        """
        for name in self._basis_attributes:
            self.__dict__.pop(name, None)
        self.__dict__.pop("_not_ready_message", None)
        self.statistics_ = statistics
        self.n_samples_seen_ = statistics.weight_sum
        self._deferred_basis = (self.get_params(deep=False), solve_arguments)

    def __getattr__(self, name):
        # Python calls this only for an attribute that normal lookup did not find.
        if name not in self._basis_attributes:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        # Threads that read the basis at once wait for the first one to solve it. The
        # check is made under the lock, because the solving thread removes the pending
        # solve before it sets the basis.
        with _DEFERRED_SOLVE_LOCK:
            if "_deferred_basis" in self.__dict__:
                self._solve_deferred_basis()
        return object.__getattribute__(self, name)

    def _solve_deferred_basis(self):
        """Solve the basis that partial_fit deferred, then publish it in one step.

        The solve runs on a shallow copy with the parameters of the partial_fit call.
        So other threads never see a half-set basis or swapped parameters. A failed
        solve, or a warning raised as an error, leaves this estimator pending, and every
        later read raises the same error.
        """
        parameters, solve_arguments = self._deferred_basis
        solver = object.__new__(type(self))
        solver.__dict__.update(self.__dict__)
        del solver._deferred_basis
        solver.__dict__.update(parameters)
        n_tied = solver._fit_statistics(solver.statistics_, incremental=True, **solve_arguments)

        # Only MatryoshkaProjection returns a count, of directions tied at correlation 1.
        if n_tied:
            warn_tie_at_one(n_tied, stacklevel=_stacklevel_outside_libraries())

        # The parameters stay those set on this estimator, which may have changed since
        # partial_fit. Assigning __dict__ replaces the whole state at once.
        current_parameters = {name: self.__dict__[name] for name in parameters}
        self.__dict__ = {**solver.__dict__, **current_parameters}

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
        # X is checked for NaN and infinity through the output (see _check_output_finite).
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

        # Center one block at a time, so that no centered copy of X is made, and multiply
        # in the input dtype. For float32 input the float64 mean is split into its
        # float32 rounding and a residual. x - float32(mean) is exact wherever x is within
        # a factor 2 of the mean (Sterbenz lemma), so a large mean costs no digits. The
        # residual is removed from the output as residual @ encoder.T, which keeps the
        # accuracy of centering in float64 without a float64 pass over X.
        mean_in_dtype = mean.astype(X.dtype)
        residual_output = (mean - mean_in_dtype) @ encoder.astype(np.float64).T
        residual_output = residual_output.astype(X.dtype) if np.any(residual_output) else None
        encoder = encoder.astype(X.dtype, copy=False)
        n_samples = X.shape[0]
        row_bytes = X.itemsize * X.shape[1]
        block_rows = min(max(MIN_BLOCK_ROWS, DEFAULT_BLOCK_BYTES // row_bytes), n_samples)
        centered = np.empty((block_rows, X.shape[1]), dtype=X.dtype)
        X_new = np.empty((n_samples, encoder.shape[0]), dtype=X.dtype)

        # The residual and the finiteness check are applied to each output block while
        # it is in cache. A block with NaN or infinity has a sum that is not finite. A
        # sum that overflows on finite values only makes X be scanned, and X passes.
        output_sum = 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            for start in range(0, n_samples, block_rows):
                stop = min(start + block_rows, n_samples)
                block = X_new[start:stop]
                rows = np.subtract(X[start:stop], mean_in_dtype, out=centered[: stop - start])
                np.matmul(rows, encoder.T, out=block)
                if residual_output is not None:
                    block -= residual_output
                output_sum += float(block.sum())
        if not np.isfinite(output_sum):
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
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

    def _validate_training_data(self, X, *, incremental):
        """Validate X for fit (incremental=False) or for a partial_fit batch.

        NaN and infinity are left to the statistics, which check each row block and raise
        scikit-learn's message, so a separate pass over X would only cost time. A batch
        may have a single row, but n_components must not exceed its number of features,
        which no later batch can raise.
        """
        first_batch = not incremental or not hasattr(self, "statistics_")
        X = validate_data(
            self,
            X,
            reset=first_batch,
            accept_sparse=ACCEPTED_SPARSE,
            dtype=FLOAT_DTYPES,
            ensure_min_samples=1 if incremental else 2,
            ensure_all_finite=False,
        )
        n_components = self.n_components
        if incremental and isinstance(n_components, numbers.Integral) and n_components > X.shape[1]:
            raise ValueError(
                f"n_components={n_components} must be at most n_features={X.shape[1]}; "
                "reduce n_components or set it to None."
            )
        return X

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
            raise NotFittedError(getattr(
                self, "_not_ready_message",
                f"This {type(self).__name__} has no fitted basis; call fit or partial_fit.",
            ))

    def get_feature_names_out(self, input_features=None):
        """Return the output feature names, one per kept direction of the basis.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the feature names seen in fit, if any.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Names such as ``"matryoshkapca0"``, in the order of the basis.
        """
        self._check_basis_ready()
        return super().get_feature_names_out(input_features)

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
