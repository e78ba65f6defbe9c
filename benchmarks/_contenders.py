"""The timed operations, by name.

Each contender is a function ``prepare(data) -> operation``: ``prepare`` does the
untimed setup (for a transform, fitting the model) and returns a callable without
arguments that performs exactly the operation being timed. The worker calls it once
on a small head of the data to warm up imports and BLAS threads, then once on the
whole data under the timer.

Estimators are imported inside ``prepare``, so that a worker process imports only
what its contender needs: a floor worker starts without scikit-learn, which saves
about a second per process.
"""

import numpy as np
from scipy import linalg

# Components kept by every estimator that takes n_components; the solvers that compute
# every direction anyway cost the same whatever this number.
N_COMPONENTS = 10
N_PARTIAL_FIT_BATCHES = 100

# Rows of the training sample for the transform contenders: the speed of transform does
# not depend on how many rows the basis was fitted on.
TRANSFORM_FIT_ROWS = 100_000

CONTENDERS = {}


def projection_available():
    """Return whether this checkout of sklearn_mrl exports MatryoshkaProjection."""
    try:
        from sklearn_mrl import MatryoshkaProjection  # noqa: F401
    except ImportError:
        return False
    return True


def contender(name):
    def register(prepare):
        CONTENDERS[name] = prepare
        return prepare

    return register


def _n_components(X):
    return min(N_COMPONENTS, X.shape[1] - 1)


# Floors: the product that every covariance-based fit needs, and its eigendecomposition.


@contender("floor: X.T @ X + eigh")
def _floor(data):
    X = data.X
    return lambda: linalg.eigh(X.T @ X)


@contender("floor: [X, Y].T @ [X, Y] + eigh")
def _floor_joint(data):
    joint = np.hstack([data.X, data.target_matrix().astype(data.X.dtype)])
    return lambda: linalg.eigh(joint.T @ joint)


@contender("floor: sparse X.T @ X + eigh")
def _floor_sparse(data):
    X = data.X
    return lambda: linalg.eigh((X.T @ X).toarray())


@contender("eigh of the d x d scatter")
def _eigh_only(data):
    head = np.asarray(data.X[: max(4 * data.X.shape[1], 1_000)], dtype=np.float64)
    head = head - head.mean(axis=0)
    scatter = head.T @ head
    return lambda: linalg.eigh(scatter)


# Principal component analysis.


@contender("MatryoshkaPCA")
def _matryoshka_pca(data):
    from sklearn_mrl import MatryoshkaPCA

    X = data.X
    return lambda: MatryoshkaPCA(n_components=_n_components(X)).fit(X)


def _sklearn_pca(svd_solver):
    def prepare(data):
        from sklearn.decomposition import PCA

        X = data.X
        kwargs = {} if svd_solver is None else {"svd_solver": svd_solver}
        return lambda: PCA(n_components=_n_components(X), random_state=0, **kwargs).fit(X)

    return prepare


contender("PCA(svd_solver='covariance_eigh')")(_sklearn_pca("covariance_eigh"))
contender("PCA(svd_solver='full')")(_sklearn_pca("full"))
contender("PCA(svd_solver='randomized')")(_sklearn_pca("randomized"))
contender("PCA(svd_solver='arpack')")(_sklearn_pca("arpack"))
contender("PCA() default solver")(_sklearn_pca(None))


@contender("IncrementalPCA")
def _incremental_pca(data):
    from sklearn.decomposition import IncrementalPCA

    X = data.X
    return lambda: IncrementalPCA(n_components=_n_components(X)).fit(X)


@contender("TruncatedSVD")
def _truncated_svd(data):
    from sklearn.decomposition import TruncatedSVD

    X = data.X
    return lambda: TruncatedSVD(n_components=_n_components(X), random_state=0).fit(X)


# Supervised projections.


@contender("MatryoshkaProjection")
def _matryoshka_projection(data):
    from sklearn_mrl import MatryoshkaProjection

    X, y = data.X, data.y
    return lambda: MatryoshkaProjection().fit(X, y)


@contender("LinearDiscriminantAnalysis(solver='eigen')")
def _lda(data):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    X, y = data.X, data.y
    return lambda: LinearDiscriminantAnalysis(solver="eigen").fit(X, y)


@contender("PLSRegression(n_components=10)")
def _pls(data):
    from sklearn.cross_decomposition import PLSRegression

    X, y = data.X, data.y
    n_components = min(N_COMPONENTS, X.shape[1])
    return lambda: PLSRegression(n_components=n_components).fit(X, y)


@contender("CCA")
def _cca(data):
    from sklearn.cross_decomposition import CCA

    X, y = data.X, data.y
    n_components = 1 if np.ndim(y) == 1 else min(y.shape[1], X.shape[1])
    return lambda: CCA(n_components=n_components).fit(X, y)


# Transform throughput: the basis is fitted in the untimed setup.


@contender("MatryoshkaPCA.transform")
def _matryoshka_transform(data):
    from sklearn_mrl import MatryoshkaPCA

    X = data.X
    model = MatryoshkaPCA(n_components=_n_components(X)).fit(X[:TRANSFORM_FIT_ROWS])
    return lambda: model.transform(X)


@contender("PCA.transform")
def _pca_transform(data):
    from sklearn.decomposition import PCA

    X = data.X
    model = PCA(n_components=_n_components(X), svd_solver="covariance_eigh")
    model.fit(X[:TRANSFORM_FIT_ROWS])
    return lambda: model.transform(X)


# Fitting in batches.


def _batch_bounds(n_samples):
    edges = np.linspace(0, n_samples, N_PARTIAL_FIT_BATCHES + 1).astype(int)
    return list(zip(edges[:-1], edges[1:]))


@contender("MatryoshkaPCA.partial_fit x 100 batches")
def _matryoshka_partial_fit(data):
    from sklearn_mrl import MatryoshkaPCA

    X = data.X
    bounds = _batch_bounds(X.shape[0])

    def operation():
        model = MatryoshkaPCA(n_components=_n_components(X))
        for start, stop in bounds:
            model.partial_fit(X[start:stop])
        # partial_fit leaves the eigenproblem until the basis is read. Reading
        # components_ solves it, so that the time covers what one fit does.
        return model.components_

    return operation


@contender("IncrementalPCA.partial_fit x 100 batches")
def _incremental_partial_fit(data):
    from sklearn.decomposition import IncrementalPCA

    X = data.X
    bounds = _batch_bounds(X.shape[0])

    def operation():
        model = IncrementalPCA(n_components=_n_components(X))
        for start, stop in bounds:
            model.partial_fit(X[start:stop])
        return model

    return operation
