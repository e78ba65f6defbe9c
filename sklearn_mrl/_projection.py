"""MatryoshkaProjection: the ordered basis of a supervised full-prefix objective."""

import numbers

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.multiclass import type_of_target

from ._base import (
    MatryoshkaTransformerMixin,
    restore_on_error,
)
from ._compat import Interval, RealNotInt, StrOptions, _fit_context
from ._eigen import select_n_components, sign_rule_signs
from ._objectives import (
    build_decoder,
    build_objective,
    objective_weights,
    solve_objective,
    warn_tie_at_one,
)
from ._statistics import OneHotTargets, ScatterStatistics
from ._validation import (
    cast_fitted,
    check_sample_weight,
    weight_sum_message,
    weight_sum_too_small,
)

# Stack depth of the user's call, seen from a public fitting method: the method itself,
# the _fit_context wrapper, then the restore_on_error wrapper.
PUBLIC_CALLER = 4


class _TooFewSamples(ValueError):
    """The samples seen support fewer directions than n_components, or too little weight.

    partial_fit keeps the statistics and waits for more batches; fit raises it.
    """


class MatryoshkaProjection(MatryoshkaTransformerMixin):
    """Ordered basis of a supervised full-prefix objective, for targets or class labels.

    Each prefix m of the encoder E predicts the targets through a linear decoder D, and
    the sum of the prefix losses over m = 1..k is minimised. With the metric M on the
    targets and the ridge metric S = Sxx + alpha I, the optimum solves one generalized
    symmetric eigenproblem from the centered scatter matrices:

    .. math::

        (b_x S_{xx}^2 + b_y S_{xy} M S_{yx}) v_j = \\sigma_j^2 S v_j,
        \\qquad V^T S V = I,

    and the loss of prefix m is the loss of the empty prefix minus the sum of the first
    m eigenvalues, so ``informativeness_`` is the eigenvalue sequence. The objectives:

    - ``"regression"`` (reduced-rank regression): M = I. One target gives one
      informative direction, proportional to the ridge coefficients.
    - ``"canonical"`` (canonical correlation): M = Syy^+, and the informativeness is the
      squared canonical correlations. For class labels the between-class scatter is built
      from per-class weights and means, which gives Fisher's discriminant directions.
    - ``"auto"``: canonical for class labels (binary or multiclass, stored as integers,
      booleans, strings or categories), regression for float targets.

    With ``reconstruction_weight`` beta > 0, the objective mixes reconstruction of X and
    prediction of Y with unit-free weights b_x = beta / tr(Sxx) and
    b_y = (1 - beta) / L_y, where L_y is the target loss of the empty prefix. With
    beta = 0 the weights are b_x = 0 and b_y = 1.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Size of the kept prefix. None keeps every informative direction. A float in
        (0, 1) keeps the smallest prefix whose cumulative ``informativeness_ratio_`` is
        greater than it, or every informative direction when none is (squared canonical
        correlations below 1 never sum to the whole objective). With
        reconstruction_weight=0, an int above the number of
        informative directions completes the basis with the beta -> 0+ limit of the
        mixed objective: the principal axes of the part of X whose scores are
        uncorrelated with the targets. An int above the rank of X is an error.
    objective : {"auto", "regression", "canonical"}, default="auto"
        Supervised objective; see above.
    reconstruction_weight : float in [0, 1], default=0.0
        Weight beta of the reconstruction of X in the mixed objective; 1 gives the
        principal axes.
    alpha : float >= 0, default=0.0
        Ridge strength, in the units of :class:`sklearn.linear_model.Ridge`: the metric is
        Sxx + alpha I, with Sxx the weighted centered scatter sum.
    whiten : bool, default=False
        If True, scale each output coordinate to unit variance (exactly when alpha = 0).

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features_in_)
        Encoder rows: ``transform(X) = (X - mean_) @ components_.T``. Without whitening,
        the variance of output coordinate j equals informativeness_j: the unbiased
        variance for regression, and the weighted mean square for the canonical and
        mixed objectives. A completed direction has informativeness 0 and is scaled as
        a principal component score instead: its variance is the variance of X that its
        score explains. The entry of largest magnitude in each row is positive.
    mean_ : ndarray of shape (n_features_in_,)
        Weighted mean of X.
    n_components_ : int
        Number of kept directions.
    n_informative_ : int
        Number of directions with positive informativeness; later ones are completed.
    informativeness_ : ndarray of shape (n_components_,)
        Decrease of the objective when each direction is added to the prefix,
        non-increasing. For regression with reconstruction_weight=0, in units of target
        variance (scatter divided by ``n_samples_seen_ - 1``); for the canonical
        objective, squared canonical correlations (in the ridge metric when alpha > 0);
        for the mixed objective, unit-free.
    informativeness_ratio_ : ndarray of shape (n_components_,)
        ``informativeness_`` divided by the objective of the empty prefix, so the
        cumulative sum is the fraction of the objective a prefix explains (the in-sample
        R^2 for regression with alpha = 0).
    target_informativeness_ : ndarray of shape (n_components_,)
        Part of ``informativeness_`` from predicting the targets.
    reconstruction_informativeness_ : ndarray of shape (n_components_,)
        Part of ``informativeness_`` from reconstructing X; zero when
        reconstruction_weight=0.
    prefix_loss_ : ndarray of shape (n_components_ + 1,)
        Objective of each prefix m = 0 .. n_components_, in the units of
        ``informativeness_``, including the ridge penalty when alpha > 0.
    eigengaps_ : ndarray of shape (n_components_,)
        Distance from each eigenvalue to its nearest neighbour, in the units of
        ``informativeness_`` (for completed directions, in units of X variance). Small
        gaps mark directions that sampling noise can rotate.
    classes_ : ndarray of shape (n_classes,)
        Class labels, defined only when fitted on class labels.
    n_samples_seen_ : float
        Total sample weight seen.
    statistics_ : ScatterStatistics
        Statistics of X and the (one-hot encoded) targets seen.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, defined only when X has string column names.

    See Also
    --------
    MatryoshkaPCA : The unsupervised ordered basis.
    sklearn.discriminant_analysis.LinearDiscriminantAnalysis : Fisher's directions.
    sklearn.cross_decomposition.CCA : Canonical correlation analysis.

    References
    ----------
    Izenman (1975), "Reduced-rank regression for the multivariate linear model",
    Journal of Multivariate Analysis 5(2).
    de Jong and Kiers (1992), "Principal covariates regression", Chemometrics and
    Intelligent Laboratory Systems 14.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn_mrl import MatryoshkaProjection
    >>> X, y = load_wine(return_X_y=True)
    >>> projection = MatryoshkaProjection().fit(X, y)
    >>> projection.n_components_
    2
    >>> projection.informativeness_.round(3)
    array([0.901, 0.805])
    >>> float(projection.score(X, y))
    1.0
    """

    _basis_attributes = frozenset({
        "components_",
        "mean_",
        "n_components_",
        "n_informative_",
        "informativeness_",
        "informativeness_ratio_",
        "target_informativeness_",
        "reconstruction_informativeness_",
        "prefix_loss_",
        "eigengaps_",
        "_decoder",
    })

    _parameter_constraints = {
        "n_components": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "objective": [StrOptions({"auto", "regression", "canonical"})],
        "reconstruction_weight": [Interval(numbers.Real, 0, 1, closed="both")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "whiten": ["boolean"],
    }

    def __init__(
        self,
        n_components=None,
        *,
        objective="auto",
        reconstruction_weight=0.0,
        alpha=0.0,
        whiten=False,
    ):
        self.n_components = n_components
        self.objective = objective
        self.reconstruction_weight = reconstruction_weight
        self.alpha = alpha
        self.whiten = whiten

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the ordered basis to X and the targets y in one pass.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is never densified as a whole.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Continuous targets, or class labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights.

        Returns
        -------
        self : MatryoshkaProjection
            The fitted estimator.
        """
        X = self._validate_training_data(X, incremental=False)
        y, stored_as_float = _check_targets(y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])

        classes = _unique_labels(y) if self._is_class_labels(y, stored_as_float) else None
        Y = self._encode_targets(y, classes)
        statistics = ScatterStatistics.from_data(X, Y, sample_weight)
        n_tied = self._fit_statistics(statistics, X.dtype, classes, y.ndim, incremental=False)
        warn_tie_at_one(n_tied, stacklevel=PUBLIC_CALLER)
        return self

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Add a batch of samples to the statistics that the basis is fitted to.

        The result equals :meth:`fit` on all batches together, for any split and order.
        The eigenproblem is solved when the basis is next read (a fitted attribute such
        as ``components_``, or a method such as :meth:`transform`), so many small
        batches cost one pass over the data and one eigendecomposition.
        A rejected batch leaves the estimator unchanged.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Batch of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets or class labels of the batch.
        classes : array-like of shape (n_classes,), default=None
            Every class label, needed on the first call when later batches may contain
            labels the first batch lacks. Passing it declares y to be class labels.
            Ignored after the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights.

        Returns
        -------
        self : MatryoshkaProjection
            The fitted estimator.
        """
        first_batch = not hasattr(self, "statistics_")
        X = self._validate_training_data(X, incremental=True)
        y, stored_as_float = _check_targets(y)
        check_consistent_length(X, y)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])

        if first_batch:
            if classes is not None and self.objective == "regression":
                raise ValueError(
                    "classes declares y to be class labels, but objective='regression' "
                    "reads y as numeric targets. Use objective='auto' or 'canonical' for "
                    "class labels, or drop classes."
                )
            if classes is not None:
                classes = _unique_labels(np.asarray(classes))
            elif self._is_class_labels(y, stored_as_float):
                classes = _unique_labels(y)
            y_ndim = y.ndim
        else:
            fitted_classes = getattr(self, "classes_", None)
            if classes is not None and not np.array_equal(np.unique(classes), fitted_classes):
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()!r} differs from the classes "
                    f"{None if fitted_classes is None else fitted_classes.tolist()!r} fixed "
                    "by the first fit or partial_fit call; pass the same classes or none."
                )
            classes = fitted_classes
            y_ndim = self._y_ndim

        Y = self._encode_targets(y, classes)
        if not first_batch and Y.shape != (X.shape[0], self.statistics_.n_targets):
            raise ValueError(
                f"y has shape {y.shape}, but the first fit or partial_fit call had "
                f"{self.statistics_.n_targets} target or class columns; pass y in the "
                "same form."
            )
        batch = ScatterStatistics.from_data(X, Y, sample_weight)
        statistics = batch if first_batch else self.statistics_ + batch
        self._defer_basis(statistics, dtype=X.dtype, classes=classes, y_ndim=y_ndim)
        if classes is not None:
            self.classes_ = classes
        self._y_ndim = y_ndim
        return self

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_from_statistics(self, statistics, classes=None):
        """Fit the ordered basis from precomputed statistics of X and the targets.

        Parameters
        ----------
        statistics : ScatterStatistics
            Statistics with targets. For class labels, the targets must be the one-hot
            indicator columns of ``classes``, in that order.
        classes : array-like of shape (n_classes,), default=None
            Class labels of the indicator columns; None for continuous targets.

        Returns
        -------
        self : MatryoshkaProjection
            The fitted estimator.
        """
        if not isinstance(statistics, ScatterStatistics) or statistics.n_targets == 0:
            raise TypeError(
                "statistics must be a ScatterStatistics with targets; got "
                f"{statistics!r}. Compute it with ScatterStatistics.from_data(X, Y)."
            )
        if classes is not None:
            classes = np.asarray(classes)
            if classes.shape != (statistics.n_targets,):
                raise ValueError(
                    f"classes has shape {classes.shape}, but the statistics have "
                    f"{statistics.n_targets} target columns; pass one label per "
                    "indicator column."
                )
            if not np.array_equal(np.unique(classes), classes):
                raise ValueError(
                    f"classes={classes.tolist()!r} must be unique and sorted, as "
                    "np.unique returns them; order the indicator columns of the "
                    "statistics the same way."
                )
            _unique_labels(classes)
        for attribute in ("feature_names_in_", "statistics_", "classes_"):
            self.__dict__.pop(attribute, None)
        self.n_features_in_ = statistics.n_features
        y_ndim = 1 if classes is not None or statistics.n_targets == 1 else 2
        n_tied = self._fit_statistics(
            statistics.copy(), np.float64, classes, y_ndim, incremental=False
        )
        warn_tie_at_one(n_tied, stacklevel=PUBLIC_CALLER)
        return self

    def _is_class_labels(self, y, stored_as_float):
        """Return whether y is read as class labels under this objective.

        "canonical" reads any binary or multiclass y as labels. "auto" does so only for
        labels stored as integers, booleans, strings or categories, in numpy, pandas or
        Arrow dtypes: float targets are continuous even when their values are whole.
        """
        if self.objective == "regression":
            return False
        if self.objective == "auto" and stored_as_float:
            return False
        # A 1-D integer or boolean y is binary or multiclass; this skips a pass over y.
        if y.ndim == 1 and y.dtype.kind in "iub":
            return True
        return type_of_target(y, input_name="y") in ("binary", "multiclass")

    def _encode_targets(self, y, classes):
        """Return the targets as a float64 matrix, or class labels as one-hot targets."""
        if classes is None:
            try:
                Y = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                if self.objective == "regression":
                    fix = "Use objective='auto' or 'canonical' for class labels."
                else:
                    fix = "Pass numeric targets, or class labels that all have one type."
                raise ValueError(
                    f"y is neither numeric targets nor class labels of one type: it has "
                    f"dtype {y.dtype}, type {type_of_target(y)!r} and values such as "
                    f"{y.flat[0]!r}. {fix}"
                ) from None
            if not np.isfinite(Y).all():
                raise ValueError("Input y contains NaN or infinity.")
            return Y.reshape(-1, 1) if Y.ndim == 1 else Y

        # Integer labels 0 .. n_classes - 1, the most common kind, are their own
        # positions in classes; other labels are looked up.
        labels = y.ravel()
        integer_labels = labels.dtype.kind in "iu" and classes.dtype.kind in "iu"
        if integer_labels and classes[0] == 0 and classes[-1] == classes.size - 1:
            positions = labels
            unknown = (labels < 0) | (labels >= classes.size)
        else:
            positions = np.searchsorted(classes, labels)
            positions = np.minimum(positions, classes.size - 1)
            unknown = classes[positions] != labels
        if np.any(unknown):
            raise ValueError(
                f"y contains labels {np.unique(labels[unknown])[:5].tolist()} that are "
                f"not in the classes {classes.tolist()} fixed by the first fit or "
                "partial_fit call. Pass every label with the classes parameter of the "
                "first partial_fit call."
            )
        return OneHotTargets(positions, classes.size)

    def _fit_statistics(self, statistics, dtype, classes, y_ndim, *, incremental):
        """Solve the eigenproblem of the objective and set every fitted attribute.

        Returns the number of directions tied at canonical correlation 1, for the
        caller to warn about. In the solve deferred by partial_fit, statistics that
        support too few directions are kept and the basis waits for more batches; fit
        raises instead.
        """
        # Whitened matrices of the objective in the ridge metric S = Sxx + alpha I.
        canonical = classes is not None or self.objective == "canonical"
        objective = build_objective(statistics, classes, canonical=canonical, alpha=self.alpha)
        weights = objective_weights(objective, self.reconstruction_weight)

        # Ordered eigenbasis. Regression informativeness is in target variance units,
        # the others are unit-free.
        regression_units = self.reconstruction_weight == 0 and not canonical
        try:
            if weight_sum_too_small(statistics.weight_sum):
                raise _TooFewSamples(weight_sum_message(statistics.weight_sum))
            units = statistics.weight_sum - 1 if regression_units else 1.0
            total = weights.empty_prefix_loss / units
            solution = solve_objective(
                objective,
                weights,
                lambda eigenvalues: self._prefix_size(eigenvalues / units, total, objective.rank_x),
                statistics.n_samples,
            )
        except _TooFewSamples as error:
            if not incremental:
                raise
            self._wait_for_samples(
                f"This MatryoshkaProjection cannot fit its basis yet from the "
                f"{statistics.n_samples} samples seen: {error} Call partial_fit with more "
                "samples first.",
                statistics_=statistics,
                n_samples_seen_=statistics.weight_sum,
                **({} if classes is None else {"classes_": classes}),
            )
            self._y_ndim = y_ndim
            return 0

        scales = self._output_scales(solution, statistics.weight_sum, regression_units)
        directions = solution.directions * sign_rule_signs(solution.directions.T)
        components = directions.T * scales[:, np.newaxis]
        decoder = build_decoder(classes, statistics, directions, scales)
        informativeness = solution.eigenvalues / units
        prefix_loss = np.maximum(total - np.concatenate([[0.0], np.cumsum(informativeness)]), 0)
        gaps = np.concatenate([
            solution.eigengaps / units,
            solution.completion_eigengaps / (statistics.weight_sum - 1),
        ])

        # Every value is cast before any attribute is set, so that a value outside the
        # range of float32 leaves no part of a basis behind. Informativeness in target
        # units overflows float32 for targets beyond about 1e19. Parts, losses and gaps
        # may underflow to 0 next to the informativeness.
        fitted_components = np.ascontiguousarray(
            cast_fitted(components, dtype, "components", allow_underflow=True)
        )
        name = "informativeness values"
        fitted_informativeness = cast_fitted(informativeness, dtype, name)
        ratio = informativeness / total if total > 0 else np.zeros_like(informativeness)
        target_part = cast_fitted(solution.target_part / units, dtype, name, allow_underflow=True)
        reconstruction_part = cast_fitted(
            solution.reconstruction_part / units, dtype, name, allow_underflow=True
        )
        fitted_prefix_loss = cast_fitted(prefix_loss, dtype, name, allow_underflow=True)
        fitted_gaps = cast_fitted(gaps, dtype, name, allow_underflow=True)

        self.__dict__.pop("_not_ready_message", None)
        self.__dict__.pop("_deferred_basis", None)
        self.__dict__.pop("classes_", None)
        if classes is not None:
            self.classes_ = classes
        self.statistics_ = statistics
        self.n_samples_seen_ = statistics.weight_sum
        self.components_ = fitted_components
        self.mean_ = statistics.mean_x.astype(dtype)
        self.n_components_ = components.shape[0]
        self.n_informative_ = solution.n_informative
        self.informativeness_ = fitted_informativeness
        self.informativeness_ratio_ = ratio.astype(dtype)
        self.target_informativeness_ = target_part
        self.reconstruction_informativeness_ = reconstruction_part
        self.prefix_loss_ = fitted_prefix_loss
        self.eigengaps_ = fitted_gaps
        self._decoder = decoder
        self._y_ndim = y_ndim
        return solution.n_tied

    def _output_scales(self, solution, weight_sum, regression_units):
        """Return the factor of each direction v_j (with V^T S V = I) in components_.

        A coordinate z = c v^T x has scatter c^2 q with q = v^T Sxx v, which is 1 when
        alpha = 0. So c = sqrt(s2 / q) gives scatter s2: the unbiased variance is then
        the regression informativeness, in target variance units. Unit-free objectives
        use c = sqrt(s2 N / q), so the weighted mean square is s2. A completed direction
        gets the scatter ||Sxx v||^2 / q of X that its score explains, and whitened output
        has unit variance.
        """
        norms = np.maximum(solution.sxx_norms, np.finfo(np.float64).tiny)
        if self.whiten:
            return np.sqrt((weight_sum - 1) / norms)

        n_informative = solution.n_informative
        target_scatter = solution.eigenvalues[:n_informative]
        if not regression_units:
            target_scatter = target_scatter * weight_sum
        informative = np.sqrt(target_scatter / norms[:n_informative])
        completed = np.sqrt(solution.completion_scatter) / norms[n_informative:]
        return np.concatenate([informative, completed])

    def _prefix_size(self, informativeness, total, rank_x):
        """Resolve n_components against the informative eigenvalues of this fit."""
        n_informative = informativeness.size
        n_components = self.n_components
        if isinstance(n_components, numbers.Integral) and n_components > n_informative:
            limit = rank_x if self.reconstruction_weight == 0 else n_informative
            if n_components <= limit:
                return int(n_components)
            raise _TooFewSamples(
                f"n_components={n_components} must be at most {limit}, the rank of X "
                "for this objective and data; reduce n_components or set it to None."
            )
        if n_informative == 0:
            raise _TooFewSamples(
                "No direction of X is informative for this objective: the targets are "
                "constant or uncorrelated with X. Check y, or set n_components to an int "
                "to use the principal axes of X."
            )
        return select_n_components(
            n_components, informativeness, total, n_informative, "MatryoshkaProjection"
        )

    def _encoder(self):
        return self.components_

    def predict(self, X):
        """Predict targets or class labels from the n_components_ prefix.

        For continuous targets this is the reduced-rank prediction of the decoder. For
        class labels it is the nearest class mean in the projected space, measured in
        the within-class covariance there and corrected by the log class priors, as in
        linear discriminant analysis.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Class labels, or targets in the shape y had during fit.
        """
        Z = self.transform(X).astype(np.float64)
        decoder = self._decoder
        if hasattr(self, "classes_"):
            scores = Z @ decoder.coefficients + decoder.intercept
            return self.classes_[np.argmax(scores, axis=1)]

        Y = Z @ decoder.coefficients + decoder.intercept
        return Y.ravel() if self._y_ndim == 1 else Y

    def score(self, X, y, sample_weight=None):
        """Return the accuracy for class labels, or the R^2 of :meth:`predict`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True targets or class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the score.

        Returns
        -------
        score : float
            Accuracy, or R^2 averaged uniformly over targets; higher is better.
        """
        y_pred = self.predict(X)
        if hasattr(self, "classes_"):
            return float(accuracy_score(y, y_pred, sample_weight=sample_weight))
        return float(r2_score(y, y_pred, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _check_targets(y):
    """Validate y and return it as an array, with whether it arrived as floats."""
    if y is None:
        raise ValueError(
            "MatryoshkaProjection requires y to be passed, but the target y is None. "
            "Pass the targets or class labels, or use MatryoshkaPCA without targets."
        )
    # check_array does not name y for missing labels in object arrays, so those are
    # found here first. Categorical labels become an object array of their values.
    if hasattr(y, "dtype") and str(y.dtype) == "category":
        y = np.asarray(y, dtype=object)
    values = np.asarray(y)
    if values.dtype == object:
        n_missing = int(np.count_nonzero(pd.isna(values)))
        if n_missing:
            raise ValueError(
                f"Input y contains None or NaN as the label of {n_missing} samples. Remove "
                "those samples or give them a label."
            )
        _unique_labels(values, minimum=1)
    # The dtype before conversion decides "auto": check_array turns pandas nullable and
    # Arrow integer or boolean labels into float64.
    dtypes = list(y.dtypes) if hasattr(y, "columns") else [getattr(y, "dtype", values.dtype)]
    stored_as_float = all(
        pd.api.types.is_float_dtype(dtype) or pd.api.types.is_complex_dtype(dtype)
        for dtype in dtypes
    )

    # Integer and boolean labels continue as a numpy array of their kind. check_array
    # would turn pandas nullable labels into float64, which rounds integers above 2**53,
    # and type_of_target reads an object array of integers, such as the values of an
    # integer categorical, as "unknown".
    is_one_column = values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)
    if is_one_column and pd.api.types.infer_dtype(values.ravel(), skipna=False) in (
        "integer", "boolean"
    ):
        y = values if values.dtype.kind in "iub" else np.array(values.tolist())

    y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
    if y.ndim == 2 and y.shape[1] == 1 and type_of_target(y) in ("binary", "multiclass"):
        y = y.ravel()
    return y, stored_as_float


def _unique_labels(y, minimum=2):
    """Return the sorted unique labels, raising unless there are at least minimum."""
    try:
        classes = np.unique(y)
    except TypeError:
        types = sorted({type(label).__name__ for label in np.ravel(y)})
        raise ValueError(
            f"The class labels mix the types {types}, which cannot be sorted; convert "
            "them to one type, for example with y.astype(str)."
        ) from None
    if classes.size < minimum:
        raise ValueError(
            f"The class labels contain only 1 class ({classes.tolist()}); "
            "MatryoshkaProjection needs at least 2 classes."
        )
    return classes
