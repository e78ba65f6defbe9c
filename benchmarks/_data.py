"""Synthetic benchmark data, written once per case and mapped by every worker process.

On the virtual machines this project runs on, the first touch of fresh memory is slow:
allocating and filling 3.2 GB took 4 to 5.5 s in a new process and 0.4 s when the same
process allocated it again. Creating a 3.2 GB X in each worker of a case would then
cost more than the operations being timed. The runner therefore creates the arrays of a case once, as .npy files in a
directory on /dev/shm (memory, not disk), and each worker maps them copy-on-write:
reading them costs no fresh page, and a contender that writes into X gets private
copies of the pages it writes, as it would with its own array. The worker touches
every page before it takes the memory baseline, so X counts in that baseline and
the peak measured during the operation is the operation's own.

Dense X is uniform noise with decreasing column scales, plus a rank-8 Gaussian signal
and a column offset. The values do not change the speed of the direct solvers, but
the decaying spectrum with a clear leading subspace keeps the iterative solvers
(randomized SVD, ARPACK) at their usual number of iterations. Uniform noise is
drawn because numpy draws it several times faster than Gaussian noise.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.lib.format import open_memmap

# Rows are filled in chunks of about this many bytes of float64, small enough for the
# temporaries of a chunk to stay in cache.
CHUNK_BYTES = 4 * 2**20
SIGNAL_RANK = 8
N_CLASSES = 10

# One-hot data: N_GROUPS categorical variables, each with n_features / N_GROUPS levels,
# so that every row stores exactly N_GROUPS ones.
N_GROUPS = 10

SPARSE_PARTS = ("data", "indices", "indptr")


@dataclass
class BenchmarkData:
    """The arrays of one benchmark case.

    ``y`` is None, a vector of class labels, or continuous targets of shape
    (n_samples,) or (n_samples, n_targets). ``reference_bytes`` is the size that peak
    memory is reported against: X.nbytes for dense X, the bytes of data, indices and
    indptr for sparse X.
    """

    X: object
    y: object = None

    @property
    def reference_bytes(self):
        if sp.issparse(self.X):
            return sum(getattr(self.X, part).nbytes for part in SPARSE_PARTS)
        return self.X.nbytes

    def head(self, n_rows):
        """Return the first n_rows rows, as views where possible, for warm-up runs."""
        return BenchmarkData(self.X[:n_rows], None if self.y is None else self.y[:n_rows])

    def target_matrix(self):
        """Return the targets as a float64 matrix: one-hot columns for class labels."""
        y = np.asarray(self.y)
        if y.dtype.kind in "iu":
            return (y[:, np.newaxis] == np.arange(N_CLASSES)).astype(np.float64)
        return y.reshape(y.shape[0], -1).astype(np.float64, copy=False)


def data_directory_root():
    """Return /dev/shm when it exists and is writable, else the temporary directory."""
    shared_memory = Path("/dev/shm")
    if shared_memory.is_dir() and os.access(shared_memory, os.W_OK):
        return str(shared_memory)
    return None


def write_data(spec, directory):
    """Create the data described by a spec dictionary as .npy files in directory."""
    directory = Path(directory)
    kind = spec["kind"]
    rng = np.random.default_rng(spec.get("seed", 0))
    n_samples, n_features = spec["n_samples"], spec["n_features"]
    if kind == "sparse":
        X = make_one_hot(rng, n_samples, n_features)
        for part in SPARSE_PARTS:
            np.save(directory / f"X_{part}.npy", getattr(X, part))
        np.save(directory / "X_shape.npy", np.array(X.shape))
        return

    dtype = np.dtype(spec.get("dtype", "float64"))
    X = open_memmap(directory / "X.npy", mode="w+", dtype=dtype, shape=(n_samples, n_features))
    if kind == "dense":
        fill_dense(rng, X)
    elif kind == "classes":
        labels = rng.integers(0, N_CLASSES, size=n_samples)
        fill_dense(rng, X, labels=labels)
        np.save(directory / "y.npy", labels)
    elif kind == "targets":
        fill_dense(rng, X)
        np.save(directory / "y.npy", make_targets(rng, X, spec["n_targets"]))
    else:
        raise ValueError(f"Unknown data kind {kind!r}; expected dense, classes, targets or sparse.")
    X.flush()


def load_data(directory):
    """Map the data of a directory copy-on-write and touch every page of X once."""
    directory = Path(directory)
    if (directory / "X.npy").exists():
        X = np.asarray(np.load(directory / "X.npy", mmap_mode="c"))
        _touch(X.reshape(-1))
    else:
        parts = [np.asarray(np.load(directory / f"X_{part}.npy", mmap_mode="c"))
                 for part in SPARSE_PARTS]
        for part in parts:
            _touch(part)
        shape = tuple(int(size) for size in np.load(directory / "X_shape.npy"))
        X = sp.csr_matrix(tuple(parts), shape=shape)
    y_path = directory / "y.npy"
    y = np.load(y_path) if y_path.exists() else None
    return BenchmarkData(X, y)


def _touch(array):
    # Reading one value per 4 KiB page maps every page; the sum itself is not needed.
    step = max(1, 4096 // array.itemsize)
    np.add.reduce(array[::step])


def fill_dense(rng, X, labels=None):
    """Fill X; with labels, each class is shifted by its own mean vector."""
    n_samples, n_features = X.shape
    dtype = X.dtype
    rank = min(SIGNAL_RANK, n_features)
    loadings = rng.standard_normal((rank, n_features))
    scales = (1.0 / np.sqrt(1.0 + np.arange(n_features))).astype(dtype)
    offset = rng.uniform(-10.0, 10.0, size=n_features).astype(dtype)
    class_means = None
    if labels is not None:
        class_means = rng.standard_normal((N_CLASSES, n_features)).astype(dtype)

    chunk_rows = _chunk_rows(n_features)
    for start in range(0, n_samples, chunk_rows):
        chunk = X[start : start + chunk_rows]
        noise = rng.random(chunk.shape, dtype=dtype)
        noise -= dtype.type(0.5)
        noise *= scales
        noise += offset
        noise += rng.standard_normal((chunk.shape[0], rank)) @ loadings
        if class_means is not None:
            noise += class_means[labels[start : start + chunk_rows]]
        chunk[...] = noise


def make_targets(rng, X, n_targets):
    """Return float64 targets linear in X plus noise; a vector when n_targets is 1."""
    coefficients = rng.standard_normal((X.shape[1], n_targets))
    Y = np.empty((X.shape[0], n_targets))
    chunk_rows = _chunk_rows(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        np.matmul(X[rows], coefficients, out=Y[rows])
        Y[rows] += rng.standard_normal((Y[rows].shape[0], n_targets))
    return Y[:, 0].copy() if n_targets == 1 else Y


def _chunk_rows(n_features):
    return max(1, CHUNK_BYTES // (8 * n_features))


def make_one_hot(rng, n_samples, n_features):
    """Return a float64 CSR one-hot encoding of N_GROUPS categorical variables.

    Level j of a variable has probability proportional to 1 / (j + 1), so a few
    columns are common and most are rare, as in real categorical data. Each row has
    N_GROUPS stored ones out of n_features columns.
    """
    levels = n_features // N_GROUPS
    if levels * N_GROUPS != n_features:
        raise ValueError(f"n_features={n_features} must be a multiple of {N_GROUPS}.")
    cumulative = np.cumsum(1.0 / np.arange(1, levels + 1))
    cumulative /= cumulative[-1]

    indices = np.empty((n_samples, N_GROUPS), dtype=np.int32)
    for group in range(N_GROUPS):
        codes = np.searchsorted(cumulative, rng.random(n_samples), side="right")
        indices[:, group] = group * levels + np.minimum(codes, levels - 1)
    indptr = np.arange(0, N_GROUPS * n_samples + 1, N_GROUPS, dtype=np.int32)
    data = np.ones(N_GROUPS * n_samples)
    return sp.csr_matrix((data, indices.ravel(), indptr), shape=(n_samples, n_features))
