"""Benchmark groups and their sizes: the contenders timed on each data set.

A case is one data set and the contenders timed on it; each group is a list of cases.
The full sizes are chosen so that ``python -m benchmarks`` finishes in under 20 minutes
on 2 cores. Every worker process spends about a second importing scikit-learn before
it times anything, so the number of worker runs matters as much as their sizes.
``--quick`` runs the same cases at small sizes for development.

Slow contenders are skipped above a limit on n_samples * n_features**2, the work of
forming a scatter matrix (WORK_LIMITS). The report lists every skipped pair.
"""

import dataclasses
from dataclasses import dataclass, field

from benchmarks._contenders import projection_available

FLOOR = "floor: X.T @ X + eigh"
JOINT_FLOOR = "floor: [X, Y].T @ [X, Y] + eigh"
SPARSE_FLOOR = "floor: sparse X.T @ X + eigh"
COVARIANCE_EIGH = "PCA(svd_solver='covariance_eigh')"
DEFAULT_SOLVER = "PCA() default solver"
FULL_SVD = "PCA(svd_solver='full')"

PCA_CONTENDERS = (
    FLOOR,
    "MatryoshkaPCA",
    COVARIANCE_EIGH,
    DEFAULT_SOLVER,
    "PCA(svd_solver='randomized')",
    FULL_SVD,
    "IncrementalPCA",
)

# For n_samples >= 10 * n_features and n_features <= 1000, which holds for every dense
# size here, PCA's default solver is covariance_eigh. It runs on the float64 main case
# only, to show that.
MAIN_CASE_ONLY = (DEFAULT_SOLVER,)

# float32 cases compare with the solvers that keep float32 (the float32 target is
# against covariance_eigh); the SVD solvers are timed in float64.
FLOAT32_SKIPPED = (FULL_SVD, "IncrementalPCA")

# Slow contenders whose targets have wide margins: they get the ordinary number of
# repetitions on the main cases too, not the extra ones.
FEWER_REPEATS = (FULL_SVD, "PCA(svd_solver='randomized')", "PLSRegression(n_components=10)")

# Largest n_samples * n_features**2 at which a contender runs in the full benchmark.
# The times below are single runs on this machine, while other jobs were running.
WORK_LIMITS = {
    # A full SVD: 12 to 18 s at 1M x 100, and about 4 copies of X.
    FULL_SVD: 1e10,
    # One SVD per batch of 5 * n_features rows: 3 s at 1M x 20, 4 minutes at 1M x 100.
    "IncrementalPCA": 4e8,
    "IncrementalPCA.partial_fit x 100 batches": 1e10,
    "PCA(svd_solver='randomized')": 4e10,
    # NIPALS iterations and a deflated copy of X per component.
    "PLSRegression(n_components=10)": 1e10,
    # Up to 500 iterations per component: about 6 s at 200k x 20 with 5 targets.
    "CCA": 1e8,
}


@dataclass(frozen=True)
class Sizes:
    n_samples: tuple
    n_features: tuple
    float32_shapes: tuple
    projection_shapes: tuple
    transform_shapes: tuple
    partial_fit_shapes: tuple
    main_n_samples: int
    main_n_features: int
    sparse_shape: tuple
    scaling_n_samples: tuple
    scaling_n_features: tuple
    scaling_fixed_n_samples: int
    repeats: int
    main_repeats: int


FULL = Sizes(
    n_samples=(200_000, 1_000_000),
    n_features=(20, 100, 400),
    float32_shapes=((1_000_000, 20), (1_000_000, 100), (200_000, 400)),
    projection_shapes=((1_000_000, 100), (200_000, 20), (200_000, 100), (200_000, 400)),
    transform_shapes=((1_000_000, 20), (1_000_000, 100), (250_000, 400)),
    partial_fit_shapes=((1_000_000, 100), (250_000, 400)),
    main_n_samples=1_000_000,
    main_n_features=100,
    sparse_shape=(1_000_000, 1_000),
    scaling_n_samples=(125_000, 250_000, 500_000, 1_000_000),
    scaling_n_features=(50, 100, 200, 400, 800, 1_600),
    scaling_fixed_n_samples=20_000,
    repeats=3,
    main_repeats=4,
)

QUICK = Sizes(
    n_samples=(20_000, 50_000),
    n_features=(20, 100),
    float32_shapes=((50_000, 20), (50_000, 100)),
    projection_shapes=((50_000, 100), (20_000, 20), (20_000, 100)),
    transform_shapes=((50_000, 20), (50_000, 100)),
    partial_fit_shapes=((50_000, 100),),
    main_n_samples=50_000,
    main_n_features=100,
    sparse_shape=(50_000, 1_000),
    scaling_n_samples=(12_500, 25_000, 50_000),
    scaling_n_features=(50, 100, 200),
    scaling_fixed_n_samples=10_000,
    repeats=2,
    main_repeats=3,
)

GROUPS = ("pca", "projection", "transform", "sparse", "partial_fit", "scaling")

TARGET_KINDS = {
    "10 classes": {"kind": "classes"},
    "1 target": {"kind": "targets", "n_targets": 1},
    "5 targets": {"kind": "targets", "n_targets": 5},
}


@dataclass(frozen=True)
class Case:
    """One data set and the contenders timed on it, in round-robin order."""

    group: str
    label: dict
    data: dict
    contenders: tuple
    baseline: str
    repeats: int
    skipped: tuple = field(default=())
    fewer_repeats: dict = field(default_factory=dict)

    @property
    def key(self):
        return (self.group, tuple(sorted(self.label.items())))

    def repeats_of(self, name):
        return self.fewer_repeats.get(name, self.repeats)


def build_plan(sizes, groups=GROUPS):
    builders = {
        "pca": _pca_cases,
        "projection": _projection_cases,
        "transform": _transform_cases,
        "sparse": _sparse_cases,
        "partial_fit": _partial_fit_cases,
        "scaling": _scaling_cases,
    }
    cases = []
    for group in groups:
        cases.extend(builders[group](sizes))
    return cases


def is_main(sizes, n_samples, n_features):
    return (n_samples, n_features) == (sizes.main_n_samples, sizes.main_n_features)


def _dense_case(group, sizes, n_samples, n_features, dtype, contenders, baseline, **label):
    main = is_main(sizes, n_samples, n_features)
    kept, skipped = [], []
    for name in contenders:
        limit = WORK_LIMITS.get(name, float("inf"))
        if name in MAIN_CASE_ONLY and not (main and dtype == "float64"):
            continue
        if n_samples * n_features**2 > limit or (dtype == "float32" and name in FLOAT32_SKIPPED):
            skipped.append(name)
        else:
            kept.append(name)

    data = {"kind": "dense", "n_samples": n_samples, "n_features": n_features,
            "dtype": dtype, "seed": 0}
    data.update(label.pop("data", {}))
    return Case(
        group=group,
        label={"n_samples": n_samples, "n_features": n_features, "dtype": dtype, **label},
        data=data,
        contenders=tuple(kept),
        baseline=baseline,
        repeats=sizes.main_repeats if main else sizes.repeats,
        skipped=tuple(skipped),
        fewer_repeats={name: sizes.repeats for name in kept if name in FEWER_REPEATS},
    )


def _pca_cases(sizes):
    shapes = [("float64", n, d) for n in sizes.n_samples for d in sizes.n_features]
    shapes += [("float32", n, d) for n, d in sizes.float32_shapes]
    return [
        _dense_case("pca", sizes, n_samples, n_features, dtype, PCA_CONTENDERS, FLOOR)
        for dtype, n_samples, n_features in shapes
    ]


def _projection_cases(sizes):
    if not projection_available():
        return []
    cases = []
    for targets, data in TARGET_KINDS.items():
        if targets == "10 classes":
            contenders = (JOINT_FLOOR, "MatryoshkaProjection",
                          "LinearDiscriminantAnalysis(solver='eigen')")
        else:
            contenders = (JOINT_FLOOR, "MatryoshkaProjection",
                          "PLSRegression(n_components=10)", "CCA")
        for n_samples, n_features in sizes.projection_shapes:
            cases.append(_dense_case(
                "projection", sizes, n_samples, n_features, "float64", contenders,
                JOINT_FLOOR, y=targets, data=data,
            ))
    return cases


def _transform_cases(sizes):
    contenders = ("MatryoshkaPCA.transform", "PCA.transform")
    return [
        _dense_case("transform", sizes, n_samples, n_features, dtype, contenders,
                    "PCA.transform")
        for dtype in ("float64", "float32")
        for n_samples, n_features in sizes.transform_shapes
    ]


def _sparse_cases(sizes):
    n_samples, n_features = sizes.sparse_shape
    contenders = (SPARSE_FLOOR, "MatryoshkaPCA", "TruncatedSVD",
                  "PCA(svd_solver='arpack')", COVARIANCE_EIGH)
    return [Case(
        group="sparse",
        label={"n_samples": n_samples, "n_features": n_features, "dtype": "float64"},
        data={"kind": "sparse", "n_samples": n_samples, "n_features": n_features, "seed": 0},
        contenders=contenders,
        baseline=SPARSE_FLOOR,
        repeats=sizes.main_repeats,
    )]


def _partial_fit_cases(sizes):
    contenders = ("MatryoshkaPCA", "MatryoshkaPCA.partial_fit x 100 batches",
                  "IncrementalPCA.partial_fit x 100 batches")
    return [
        _dense_case("partial_fit", sizes, n_samples, n_features, "float64", contenders,
                    "MatryoshkaPCA")
        for n_samples, n_features in sizes.partial_fit_shapes
    ]


def _scaling_cases(sizes):
    cases = []
    for n_samples in sizes.scaling_n_samples:
        case = _dense_case("scaling", sizes, n_samples, sizes.main_n_features, "float64",
                           ("MatryoshkaPCA",), "MatryoshkaPCA", sweep="n_samples")
        # The main size gets the ordinary repeats here: it is a point of a sweep.
        cases.append(dataclasses.replace(case, repeats=sizes.repeats))
    for n_features in sizes.scaling_n_features:
        # The eigendecomposition alone is timed where it can matter next to the product.
        contenders = ("MatryoshkaPCA",)
        if n_features >= sizes.scaling_n_features[-3]:
            contenders += ("eigh of the d x d scatter",)
        case = _dense_case("scaling", sizes, sizes.scaling_fixed_n_samples, n_features,
                           "float64", contenders, "MatryoshkaPCA", sweep="n_features")
        cases.append(case)
    return cases
