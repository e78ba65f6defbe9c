"""Performance benchmarks of sklearn-mrl against numpy and scikit-learn.

Run ``python -m benchmarks`` from the repository root (``--quick`` for small sizes,
``--groups`` to choose groups). Every measurement runs in a fresh worker process.
``benchmarks/_worker.py`` describes what is timed and how peak memory is read, and
docs/benchmarks.md contains the latest results.
"""
