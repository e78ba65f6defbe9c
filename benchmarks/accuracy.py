"""Measure how closely the estimators agree with their limit cases and with descent.

Run from the repository root: python benchmarks/accuracy.py

Prints, for the data sets shipped with scikit-learn: parity with PCA(svd_solver="full")
where eigengaps are clear, the error of explained variances far from the origin for
MatryoshkaPCA and scikit-learn's PCA, 1 - |cos| against LDA, Ridge, reduced-rank
regression and PCA, and 1 - |cos| and prefix-loss errors of plain gradient descent on
the full-prefix loss. Every reference is computed independently in float64. The
descent helpers come from tests/test_projection.py and tests/test_pca.py.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPOSITORY), str(REPOSITORY / "tests")]

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits, load_breast_cancer, load_wine, load_diabetes, load_linnerud
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn_mrl import MatryoshkaPCA, MatryoshkaProjection
import test_pca  # noqa: E402
import test_projection as tp  # noqa: E402

def cos(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True); b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.abs(np.sum(a * b, axis=1))

print("PCA parity, min |cos| over clear-gap components (relative gap > 1e-6)")
for load in (load_digits, load_breast_cancer, load_wine):
    X, _ = load(return_X_y=True)
    ours = MatryoshkaPCA().fit(X); theirs = PCA(svd_solver="full").fit(X)
    ev = theirs.explained_variance_
    k = ours.n_components_
    gaps = np.minimum(np.r_[np.inf, -np.diff(ev)][:k], np.r_[-np.diff(ev), ev[-1]][:k])
    clear = gaps > 1e-6 * ev[0]
    c = cos(ours.components_[clear], theirs.components_[:k][clear])
    print(f"  {load.__name__}: {clear.sum()} of {k} clear, 1 - min|cos| = {1 - c.min():.1e}, "
          f"max rel var error {np.max(np.abs(ours.explained_variance_ - ev[:k]) / ev[0]):.1e}")

print("Large offset, relative error of explained variance vs float64 eigvalsh of centered values")
rng = np.random.default_rng(0)
base = rng.standard_normal((2000, 5)) @ np.diag([3, 2, 1.5, 1, 0.5])
for dtype, offset in ((np.float64, 1e8), (np.float32, 1e3)):
    X = (base + offset).astype(dtype)
    X64 = X.astype(np.float64); C = X64 - X64.mean(0)
    ref = np.sort(np.linalg.eigvalsh(C.T @ C / (len(C) - 1)))[::-1]
    for name, est in (("MatryoshkaPCA", MatryoshkaPCA()), ("sklearn PCA()", PCA()),
                      ("sklearn covariance_eigh", PCA(svd_solver="covariance_eigh"))):
        ev = est.fit(X).explained_variance_.astype(np.float64)
        print(f"  {np.dtype(dtype).name} offset {offset:g}: {name}: {np.max(np.abs(ev - ref[:len(ev)]) / ref[:len(ev)]):.1e}")

print("Projection limit cases, 1 - |cos|")
for name, (X, y) in (("wine", load_wine(return_X_y=True)), ("digits", tp.digits_without_constant_pixels())):
    p = MatryoshkaProjection(objective="canonical").fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(X, y)
    n = tp.clear_gap_prefix(p.informativeness_)
    c = cos(p.components_[:n], lda.scalings_[:, :p.n_components_].T[:n])
    rho2 = tp.canonical_correlations(X, tp.one_hot(y)) ** 2
    print(f"  LDA {name}: {n} clear directions, 1-min|cos| = {1 - c.min():.1e}; "
          f"max rel error of rho^2 {np.max(np.abs(p.informativeness_ - rho2[:p.n_components_]) / rho2[:p.n_components_]):.1e}")
X, y = load_diabetes(return_X_y=True)
for alpha in (0.0, 0.1, 10.0):
    p = MatryoshkaProjection(alpha=alpha).fit(X, y)
    print(f"  Ridge alpha={alpha}: 1-|cos| = {1 - cos(p.components_[:1], Ridge(alpha=alpha).fit(X, y).coef_[None])[0]:.1e}")
X, Y = load_linnerud(return_X_y=True)
Xc = X - X.mean(0); Yc = Y - Y.mean(0); B = np.linalg.lstsq(Xc, Yc, rcond=None)[0]
_, _, Vt = np.linalg.svd(Xc @ B)
print(f"  reduced-rank regression linnerud: 1-min|cos| = {1 - cos(MatryoshkaProjection().fit(X, Y).components_, (B @ Vt.T).T).min():.1e}")
X, y = load_wine(return_X_y=True); Xs = StandardScaler().fit_transform(X)
p = MatryoshkaProjection(reconstruction_weight=1.0).fit(Xs, y); q = PCA(svd_solver="full").fit(Xs)
print(f"  reconstruction_weight=1 vs PCA (wine standardized, all 13): 1-min|cos| = {1 - cos(p.components_, q.components_).min():.1e}")

print("Gradient descent, 1 - |cos| per direction and max prefix-loss relative error")
def run(name, X, Y, metric_fn, k, steps, step, fit, ridge=0.0, mixed=None, seed=1):
    cxx, cxy, cyy = tp.covariances(X, Y)
    if mixed is not None:
        wx = mixed / np.trace(cxx); wy = (1 - mixed) / np.trace(cyy)
        cross = np.hstack([np.sqrt(wx) * cxx, np.sqrt(wy) * cxy]); metric = np.eye(cross.shape[1]); total = 1.0
    else:
        cross = cxy; metric = np.eye(cyy.shape[0]) if metric_fn is None else metric_fn(cyy); total = np.trace(metric @ cyy)
    loss, grad = tp.weighted_prefix_loss(cross, total, metric, cxx + ridge / len(X) * np.eye(X.shape[1]))
    E, D = tp.full_prefix_descent(grad, k, X.shape[1], cross.shape[1], seed=seed, n_steps=steps, step=step)
    losses = np.array([loss(D[:, :m] @ E[:m]) for m in range(k + 1)])
    expected = fit.prefix_loss_ * ((len(X) - 1) / len(X) if (mixed is None and metric_fn is None) else 1)
    print(f"  {name}: 1-|cos| = {np.array2string(1 - cos(E, fit.components_), precision=1)}, "
          f"loss rel error {np.max(np.abs(losses - expected) / np.maximum(np.abs(expected), 1e-12)):.1e}")
X, Y = tp.synthetic_regression(seed=0)
run("regression", X, Y, None, 3, 6000, 0.005, MatryoshkaProjection().fit(X, Y))
X5, Y5 = tp.synthetic_regression(seed=5)
run("regression alpha=200", X5, Y5, None, 3, 6000, 0.005, MatryoshkaProjection(alpha=200.0).fit(X5, Y5), ridge=200.0, seed=6)
Xw, yw = load_wine(return_X_y=True); Xw = StandardScaler().fit_transform(Xw)[:, :6]
run("canonical", Xw, tp.one_hot(yw)[:, :-1], lambda c: np.linalg.inv(c), 2, 8000, 0.01, MatryoshkaProjection().fit(Xw, yw), seed=2)
X3, Y3 = tp.synthetic_regression(seed=3)
run("mixed beta=0.5", X3, Y3, None, 4, 20000, 0.05, MatryoshkaProjection(n_components=4, reconstruction_weight=0.5).fit(X3, Y3), mixed=0.5, seed=4)

pca, encoder, decoder, losses = test_pca.gradient_descent_result.__wrapped__()
print(f"  reconstruction (wine, k=4): encoder 1-|cos| = "
      f"{np.array2string(1 - cos(encoder, pca.components_), precision=1)}, decoder 1-|cos| = "
      f"{np.array2string(1 - cos(decoder.T, pca.components_), precision=1)}, loss rel error "
      f"{np.max(np.abs(losses - pca.prefix_loss_[1:]) / pca.prefix_loss_[1:]):.1e}")
