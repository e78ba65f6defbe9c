"""Every private scikit-learn name this package uses, imported in one place.

scikit-learn may move or change these between releases. Keeping them here means a new
release needs a change to this file only, and the test suite runs against the oldest
and newest supported versions to catch such a change.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

__all__ = ["Interval", "RealNotInt", "StrOptions", "_fit_context"]
