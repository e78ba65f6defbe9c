"""MatryoshkaPCA: the ordered basis of the full-prefix reconstruction objective."""

import numbers

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from ._base import (
    FLOAT_DTYPES,
    MatryoshkaTransformerMixin,
    restore_on_error,
)
from ._compat import Interval, RealNotInt, _fit_context
from ._eigen import (
    apply_sign_rule,
    eigengaps,
    eigh_descending,
    rank_tolerance,
    select_n_components,
)
from ._statistics import ScatterStatistics
from ._validation import (
    cast_fitted,
    check_sample_weight,
    check_total_variance_range,
    check_weight_sum,
    weight_sum_too_small,
)


class MatryoshkaPCA(MatryoshkaTransformerMixin):
    """Principal axes as the ordered basis of full-prefix linear reconstruction.

    Minimising the sum over every prefix m = 1..k of the reconstruction loss

    .. math::

        L_m(E, D) = \\sum_i w_i \\lVert x_i - \\bar{x} - D_{:, :m} E_{:m} (x_i - \\bar{x})
        \\rVert^2

    breaks the rotation symmetry of a linear autoencoder: the optimum encodes with the
    principal axes in decreasing order of variance, each up to a sign. The basis is
    computed in closed form from the weighted centered scatter matrix, accumulated in
    float64 in one pass, so the model supports sample weights, sparse input and exact
    incremental fitting with :meth:`partial_fit`.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Size of the kept prefix. An int keeps that many directions and must not exceed
        the numerical rank of the data. A float in (0, 1) keeps the smallest prefix whose
        cumulative ``informativeness_ratio_`` is greater than it. None keeps every
        direction up to the numerical rank; directions past the rank carry no variance,
        are arbitrary, and are never returned.
    whiten : bool, default=False
        If True, scale each output coordinate to unit variance.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features_in_)
        Principal axes, unit norm, in decreasing order of explained variance. The entry
        of largest magnitude in each row is positive.
    mean_ : ndarray of shape (n_features_in_,)
        Weighted mean of the training data.
    n_components_ : int
        Number of kept directions.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance along each direction, with denominator ``n_samples_seen_ - 1``.
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Fraction of the total variance along each direction.
    singular_values_ : ndarray of shape (n_components_,)
        Square roots of the eigenvalues of the weighted centered scatter matrix.
    noise_variance_ : float
        Mean variance of the discarded directions, as in probabilistic PCA.
    n_samples_seen_ : float
        Total sample weight seen, which is the number of samples without weights.
    informativeness_ : ndarray of shape (n_components_,)
        Decrease of the reconstruction loss when each direction is added to the prefix;
        equal to ``explained_variance_`` and non-increasing.
    informativeness_ratio_ : ndarray of shape (n_components_,)
        ``informativeness_`` divided by the loss of the empty prefix (total variance).
    prefix_loss_ : ndarray of shape (n_components_ + 1,)
        Reconstruction loss (mean squared error per sample, denominator
        ``n_samples_seen_ - 1``) of each prefix m = 0 .. n_components_.
    eigengaps_ : ndarray of shape (n_components_,)
        Distance from each explained variance to the nearest other eigenvalue of the
        covariance. A direction is identifiable only when its eigengap is large next to
        the sampling noise; a zero gap means tied directions that may rotate freely.
    statistics_ : ScatterStatistics
        Statistics of all data seen, which :meth:`partial_fit` updates.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, defined only when X has string column names.

    See Also
    --------
    MatryoshkaProjection : Ordered basis for a supervised objective.
    sklearn.decomposition.PCA : The same principal axes from a singular value decomposition.

    Notes
    -----
    Sample weights are frequency weights: a weight of 2 equals repeating the row. So
    multiplying every weight by a constant leaves ``components_``, ``mean_``, the ratios
    and non-whitened transforms unchanged, but not the variances, whose denominator is
    ``sum(sample_weight) - 1``.

    References
    ----------
    Baldi and Hornik (1989), "Neural networks and principal component analysis: learning
    from examples without local minima", Neural Networks 2(1).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_mrl import MatryoshkaPCA
    >>> X, _ = load_wine(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> pca = MatryoshkaPCA(n_components=3).fit(X)
    >>> pca.explained_variance_ratio_.round(3)
    array([0.362, 0.192, 0.111])
    >>> pca.prefix_loss_.round(2)
    array([13.07,  8.34,  5.83,  4.38])
    >>> pca.transform(X).shape
    (178, 3)
    """

    _parameter_constraints = {
        "n_components": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "whiten": ["boolean"],
    }

    _basis_attributes = frozenset({
        "components_",
        "mean_",
        "n_components_",
        "explained_variance_",
        "explained_variance_ratio_",
        "singular_values_",
        "noise_variance_",
        "informativeness_",
        "informativeness_ratio_",
        "prefix_loss_",
        "eigengaps_",
    })

    def __init__(self, n_components=None, *, whiten=False):
        self.n_components = n_components
        self.whiten = whiten

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the ordered basis to X in one pass.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is never densified as a whole.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights.

        Returns
        -------
        self : MatryoshkaPCA
            The fitted estimator.
        """
        X = self._validate_training_data(X, incremental=False)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        statistics = ScatterStatistics.from_data(X, sample_weight=sample_weight)
        self._fit_statistics(statistics, X.dtype, incremental=False)
        return self

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Add a batch of samples to the statistics that the basis is fitted to.

        The result equals :meth:`fit` on all batches together, for any split and order.
        The eigenproblem is solved when the basis is next read (a fitted attribute such
        as ``components_``, or :meth:`transform`), so many small batches cost one pass
        over the data and one eigendecomposition.
        A batch may have fewer samples than n_components: its statistics are kept, and
        :meth:`transform` works once the samples seen support n_components directions.
        A rejected batch leaves the estimator unchanged.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Batch of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights.

        Returns
        -------
        self : MatryoshkaPCA
            The fitted estimator.
        """
        first_batch = not hasattr(self, "statistics_")
        X = self._validate_training_data(X, incremental=True)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        batch = ScatterStatistics.from_data(X, sample_weight=sample_weight)
        statistics = batch if first_batch else self.statistics_ + batch
        check_total_variance_range(statistics, X.dtype)
        self._defer_basis(statistics, dtype=X.dtype)
        return self

    @restore_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_from_statistics(self, statistics):
        """Fit the ordered basis from precomputed statistics.

        Parameters
        ----------
        statistics : ScatterStatistics
            Statistics of the training data, for example merged from several parts or
            computed on a cluster. Target statistics, if any, are ignored.

        Returns
        -------
        self : MatryoshkaPCA
            The fitted estimator.
        """
        if not isinstance(statistics, ScatterStatistics):
            raise TypeError(
                f"statistics must be a ScatterStatistics; got {type(statistics).__name__}. "
                "Compute it with ScatterStatistics.from_data(X)."
            )
        for attribute in ("feature_names_in_", "statistics_"):
            self.__dict__.pop(attribute, None)
        self.n_features_in_ = statistics.n_features
        # A copy without targets: later updates of the caller's object must not change
        # this fit, and partial_fit merges batches of X alone into it.
        self._fit_statistics(statistics.without_targets(), np.float64, incremental=False)
        return self

    def _fit_statistics(self, statistics, dtype, *, incremental):
        """Solve the reconstruction eigenproblem and set every fitted attribute."""
        n_features = statistics.n_features

        # Eigendecomposition of the centered scatter matrix, cut at its numerical rank.
        scatter = statistics.scatter_xx
        basis = eigh_descending(scatter, statistics.n_samples)
        rank = basis.eigenvalues.size

        # Too little data for the requested prefix: the solve deferred by partial_fit
        # keeps the statistics and waits for more batches, because more samples can
        # raise the rank. fit raises.
        n_requested = self.n_components if isinstance(self.n_components, numbers.Integral) else 1
        if incremental and (rank < n_requested or weight_sum_too_small(statistics.weight_sum)):
            self._wait_for_samples(
                f"This MatryoshkaPCA has seen {statistics.n_samples} samples with positive "
                f"weight (total weight {statistics.weight_sum:g}), and their scatter matrix "
                f"has rank {rank}. n_components={self.n_components} needs rank "
                f"{n_requested} or more and a total weight above 1. Call partial_fit with "
                "more samples, or reduce n_components, before using the fitted basis.",
                statistics_=statistics,
                n_samples_seen_=statistics.weight_sum,
            )
            return
        check_weight_sum(statistics.weight_sum)
        if rank == 0:
            raise ValueError(
                "The scatter matrix of X is zero: every sample with positive weight is "
                "the same point, or the values are so small that their squares underflow "
                "float64 (below about 1e-154). Pass at least 2 distinct samples, or "
                "rescale X."
            )

        # Prefix size from n_components, then the sign rule on the kept directions.
        total_scatter = max(float(np.trace(scatter)), float(basis.eigenvalues.sum()))
        n_components = select_n_components(
            self.n_components, basis.eigenvalues, total_scatter, rank, "MatryoshkaPCA"
        )
        eigenvalues = basis.eigenvalues[:n_components]
        components = apply_sign_rule(basis.vectors[:, :n_components].T)
        next_eigenvalue = (
            basis.eigenvalues[n_components] if n_components < rank else basis.next_eigenvalue
        )

        # Variances, prefix losses and the probabilistic-PCA noise level.
        denominator = statistics.weight_sum - 1
        explained_variance = eigenvalues / denominator
        total_variance = total_scatter / denominator
        prefix_loss = np.maximum(
            total_variance - np.concatenate([[0.0], np.cumsum(explained_variance)]), 0.0
        )
        # Past the rank cut every direction is numerically zero, so a prefix of the whole
        # rank leaves no loss. The difference above is then rounding of either sign, and
        # a positive one would make noise_variance_ tiny instead of 0.
        if n_components == rank:
            prefix_loss[-1] = 0.0
        # Frequency weights: rows repeated by their weight, so up to floor(N) samples.
        n_effective = max(statistics.n_samples, int(statistics.weight_sum))
        n_discarded = min(n_effective, n_features) - n_components
        noise_variance = prefix_loss[-1] / n_discarded if n_discarded > 0 else 0.0

        # The cast that can fail comes before any attribute is set.
        fitted_variance = cast_fitted(explained_variance, dtype, "variances")
        self.__dict__.pop("_not_ready_message", None)
        self.__dict__.pop("_deferred_basis", None)
        self.statistics_ = statistics
        self.n_samples_seen_ = statistics.weight_sum
        self.components_ = np.ascontiguousarray(components, dtype=dtype)
        self.mean_ = statistics.mean_x.astype(dtype)
        self.n_components_ = n_components
        self.explained_variance_ = fitted_variance
        self.explained_variance_ratio_ = (eigenvalues / total_scatter).astype(dtype)
        self.singular_values_ = np.sqrt(eigenvalues).astype(dtype)
        self.noise_variance_ = float(noise_variance)
        self.informativeness_ = self.explained_variance_.copy()
        self.informativeness_ratio_ = self.explained_variance_ratio_.copy()
        self.prefix_loss_ = prefix_loss.astype(dtype)
        self.eigengaps_ = (
            eigengaps(eigenvalues, next_eigenvalue) / denominator
        ).astype(dtype)

    def _encoder(self):
        if self.whiten:
            return self.components_ / np.sqrt(self.explained_variance_)[:, np.newaxis]
        return self.components_

    def inverse_transform(self, X):
        """Map coordinates back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, m)
            Coordinates of the first m <= n_components_ directions. With m smaller than
            n_components_, the result is the reconstruction by that prefix alone.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
        """
        self._check_basis_ready()
        X = check_array(X, dtype=FLOAT_DTYPES, input_name="X")
        n_prefix = X.shape[1]
        if n_prefix > self.n_components_:
            raise ValueError(
                f"X has {n_prefix} columns, but this MatryoshkaPCA has only "
                f"n_components_={self.n_components_} directions; pass at most "
                f"{self.n_components_} leading coordinates."
            )
        components = self.components_[:n_prefix]
        if self.whiten:
            components = components * np.sqrt(self.explained_variance_[:n_prefix])[:, None]
        return X @ components.astype(X.dtype, copy=False) + self.mean_.astype(X.dtype)

    def get_covariance(self):
        """Return the data covariance of the probabilistic PCA model.

        ``cov = components_.T @ diag(explained_variance_ - noise_variance_) @ components_
        + noise_variance_ * I``

        Returns
        -------
        cov : ndarray of shape (n_features_in_, n_features_in_)
        """
        self._check_basis_ready()
        noise = self._model_noise_variance()
        components = self.components_.astype(np.float64)
        excess_variance = np.maximum(self.explained_variance_ - noise, 0.0)
        covariance = (components.T * excess_variance) @ components
        covariance.flat[:: covariance.shape[0] + 1] += noise
        return covariance

    def get_precision(self):
        """Return the inverse of :meth:`get_covariance`, by the matrix inversion lemma.

        Returns
        -------
        precision : ndarray of shape (n_features_in_, n_features_in_)
        """
        self._check_basis_ready()
        n_features = self.n_features_in_
        components = self.components_.astype(np.float64)
        variance = self.explained_variance_.astype(np.float64)

        if self.n_components_ == n_features:
            return (components.T / variance) @ components

        # cov = s2 I + C^T diag(v - s2) C with orthonormal rows C, so on span(C) the
        # precision is 1 / v and elsewhere 1 / s2.
        noise = self._model_noise_variance()
        precision = -(components.T * ((variance - noise) / variance)) @ components
        precision.flat[:: n_features + 1] += 1.0
        return precision / noise

    def _model_noise_variance(self):
        """Return the noise variance of the model, floored at the rank cut.

        When the kept directions explain all the variance of rank-deficient data,
        noise_variance_ is 0 and the model would be singular. The rank tolerance, the
        largest variance that counts as zero, replaces it. So score stays finite and
        penalizes samples off the fitted subspace heavily.
        """
        if self.noise_variance_ > 0:
            return self.noise_variance_
        return rank_tolerance(
            float(self.explained_variance_[0]), self.statistics_.n_samples, self.n_features_in_
        )

    def score_samples(self, X):
        """Return the log-likelihood of each sample under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Log density of each sample under the model of :meth:`get_covariance`.
        """
        self._check_basis_ready()
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        precision = self.get_precision()
        centered = X.astype(np.float64) - self.statistics_.mean_x
        mahalanobis = np.einsum("ij,ij->i", centered @ precision, centered)
        sign, log_determinant = np.linalg.slogdet(precision)
        if sign <= 0:
            log_determinant = -np.inf
        n_features = X.shape[1]
        return -0.5 * (mahalanobis + n_features * np.log(2 * np.pi) - log_determinant)

    def score(self, X, y=None):
        """Return the mean log-likelihood of the samples, for model selection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`; higher is better.
        """
        return float(np.mean(self.score_samples(X)))
