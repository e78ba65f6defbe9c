"""scikit-learn's estimator checks, over several configurations of each estimator.

Add a configuration by appending an instance to ESTIMATORS: it then runs every check
that check_estimator runs, plus the public checks listed in EXTRA_CHECKS. No check is
marked as an expected failure.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_global_output_transform_pandas,
    check_global_set_output_transform_polars,
    check_param_validation,
    check_set_output_transform_pandas,
    check_set_output_transform_polars,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from sklearn_mrl import MatryoshkaPCA, MatryoshkaProjection

ESTIMATORS = [
    MatryoshkaPCA(),
    MatryoshkaPCA(n_components=2),
    MatryoshkaPCA(n_components=0.9),
    MatryoshkaPCA(whiten=True),
    MatryoshkaProjection(),
    MatryoshkaProjection(objective="regression"),
    MatryoshkaProjection(objective="canonical"),
    MatryoshkaProjection(reconstruction_weight=0.5),
    MatryoshkaProjection(alpha=1.0),
    MatryoshkaProjection(n_components=1, whiten=True),
]

# Public checks that check_estimator does not run by default: scikit-learn runs them on
# its own estimators from its test suite.
EXTRA_CHECKS = [
    check_dataframe_column_names_consistency,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_set_output_transform_polars,
    check_global_set_output_transform_polars,
    check_param_validation,
]


@parametrize_with_checks(ESTIMATORS)
def test_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("check", EXTRA_CHECKS, ids=lambda check: check.__name__)
def test_extra_estimator_checks(estimator, check):
    check(type(estimator).__name__, estimator)
