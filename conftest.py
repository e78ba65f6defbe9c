"""Configuration shared by the tests and the doctests."""

import os

# scikit-learn's array API estimator check needs this before scipy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
