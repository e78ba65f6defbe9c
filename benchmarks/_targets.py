"""The performance targets, each a bound on a ratio of medians measured in one run.

Three kinds of ratio:

- ``time``: median time of the contender / median time of the reference; the target
  is an upper bound.
- ``speedup``: median time of the reference / median time of the contender; the target
  is a lower bound. For transform this is the throughput ratio.
- ``peak``: peak memory during the operation, counting the input once, divided by the
  input size (X.nbytes, or the stored bytes of a sparse matrix). The target is an
  upper bound.

For sparse input the memory bound is 1.5 times the stored bytes plus SPARSE_SQUARE_MATRICES
dense n_features x n_features float64 matrices: the scatter matrix being accumulated,
the scatter of one block, a temporary of the merge, and the matrix that the
eigensolver overwrites.
"""

from dataclasses import dataclass

SPARSE_SQUARE_MATRICES = 4


@dataclass(frozen=True)
class Target:
    text: str
    group: str
    label: dict
    contender: str
    reference: str
    kind: str
    bound: float

    @property
    def key(self):
        return (self.group, tuple(sorted(self.label.items())))


def build_targets(sizes):
    n, d = sizes.main_n_samples, sizes.main_n_features
    main64 = {"n_samples": n, "n_features": d, "dtype": "float64"}
    main32 = {"n_samples": n, "n_features": d, "dtype": "float32"}
    sparse_n, sparse_d = sizes.sparse_shape
    sparse = {"n_samples": sparse_n, "n_features": sparse_d, "dtype": "float64"}
    sparse_bound = (1.5, SPARSE_SQUARE_MATRICES * 8 * sparse_d**2)
    floor = "floor: X.T @ X + eigh"
    joint_floor = "floor: [X, Y].T @ [X, Y] + eigh"
    covariance_eigh = "PCA(svd_solver='covariance_eigh')"

    targets = [
        Target("MatryoshkaPCA.fit <= 1.15 x floor", "pca", main64,
               "MatryoshkaPCA", floor, "time", 1.15),
        Target("MatryoshkaPCA.fit <= 1.1 x PCA(covariance_eigh)", "pca", main64,
               "MatryoshkaPCA", covariance_eigh, "time", 1.1),
        Target("MatryoshkaPCA.fit >= 5 x faster than PCA(full)", "pca", main64,
               "MatryoshkaPCA", "PCA(svd_solver='full')", "speedup", 5.0),
        Target("float32: MatryoshkaPCA.fit <= 1.25 x PCA(covariance_eigh)", "pca", main32,
               "MatryoshkaPCA", covariance_eigh, "time", 1.25),
        Target("MatryoshkaPCA.fit peak memory <= 1.1 x X", "pca", main64,
               "MatryoshkaPCA", None, "peak", 1.1),
        Target("float32: MatryoshkaPCA.fit peak memory <= 1.1 x X", "pca", main32,
               "MatryoshkaPCA", None, "peak", 1.1),
    ]
    for y in ("10 classes", "1 target", "5 targets"):
        label = {**main64, "y": y}
        targets.append(Target(f"{y}: MatryoshkaProjection.fit <= 1.2 x floor on [X, Y]",
                              "projection", label, "MatryoshkaProjection", joint_floor,
                              "time", 1.2))
        if y == "10 classes":
            targets.append(Target(
                f"{y}: MatryoshkaProjection.fit faster than LDA(solver='eigen')",
                "projection", label, "MatryoshkaProjection",
                "LinearDiscriminantAnalysis(solver='eigen')", "speedup", 1.0,
            ))
        else:
            targets.append(Target(
                f"{y}: MatryoshkaProjection.fit >= 10 x faster than PLSRegression",
                "projection", label, "MatryoshkaProjection",
                "PLSRegression(n_components=10)", "speedup", 10.0,
            ))
        targets.append(Target(f"{y}: MatryoshkaProjection.fit peak memory <= 1.1 x X",
                              "projection", label, "MatryoshkaProjection", None,
                              "peak", 1.1))
    targets += [
        Target("transform throughput >= 0.9 x PCA.transform", "transform", main64,
               "MatryoshkaPCA.transform", "PCA.transform", "speedup", 0.9),
        Target("float32: transform throughput >= 0.9 x PCA.transform", "transform", main32,
               "MatryoshkaPCA.transform", "PCA.transform", "speedup", 0.9),
        Target("partial_fit over 100 batches <= 1.3 x one fit", "partial_fit", main64,
               "MatryoshkaPCA.partial_fit x 100 batches", "MatryoshkaPCA", "time", 1.3),
        Target(f"sparse: peak memory <= 1.5 x storage + {SPARSE_SQUARE_MATRICES} "
               "d x d float64", "sparse", sparse, "MatryoshkaPCA", None, "peak",
               sparse_bound),
    ]
    return targets


def evaluate(target, results):
    """Return (measured text, bound text, verdict) for a target; results maps case keys."""
    summaries = results.get(target.key)
    if summaries is None or target.contender not in summaries:
        return "not run", _bound_text(target, None), "not run"
    contender = summaries[target.contender]
    if not contender.ok:
        return "failed", _bound_text(target, None), "not run"

    if target.kind == "peak":
        measured = contender.peak_multiple
        bound = target.bound
        if isinstance(bound, tuple):
            multiple, square_bytes = bound
            bound = multiple + square_bytes / contender.reference_bytes
        return f"{measured:.2f}", _bound_text(target, bound), _verdict(measured <= bound)

    reference = summaries.get(target.reference)
    if reference is None or not reference.ok:
        return "reference not run", _bound_text(target, None), "not run"
    if target.kind == "time":
        measured = contender.median / reference.median
        return f"{measured:.2f}", f"<= {target.bound:g}", _verdict(measured <= target.bound)
    measured = reference.median / contender.median
    passed = measured > target.bound if target.bound == 1.0 else measured >= target.bound
    relation = "> 1" if target.bound == 1.0 else f">= {target.bound:g}"
    return f"{measured:.2f}", relation, _verdict(passed)


def _bound_text(target, bound):
    if target.kind == "peak":
        if bound is None:
            return "<= " + (f"{target.bound:g}" if not isinstance(target.bound, tuple)
                            else f"{target.bound[0]:g} + d^2 term")
        return f"<= {bound:.2f}"
    if target.kind == "time":
        return f"<= {target.bound:g}"
    return "> 1" if target.bound == 1.0 else f">= {target.bound:g}"


def _verdict(passed):
    return "pass" if passed else "MISS"
