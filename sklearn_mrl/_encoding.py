"""Encoding of table columns as features and targets, with exact streaming statistics.

The first pass over a table accumulates the ScatterStatistics of a raw encoding g of
each row. A numeric column contributes its value minus a reference value (its first
value), 0 where the value is missing and, when missing values are imputed, a 0/1
indicator of a present value. A categorical column contributes a 0/1 indicator per
category. Categories are discovered during the pass: a new raw column is appended with
the constant it had on every earlier row (0 for a new category). A column that is
constant on the rows seen so far has that constant as its mean and a zero row and
column of scatter, so appending it keeps the statistics exact.

After the pass, the features are an affine function of the raw encoding, f = T g + c:
categories in sorted order, a missing numeric value replaced by the weighted mean of
the column's present values, numeric columns standardized with their weighted mean and
standard deviation. Their statistics follow exactly: mean T m_g + c and scatter
T S_g T^T. The estimator is therefore fitted to the same statistics as the
standardized table in memory, up to rounding, and the second pass computes f directly
from each chunk.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_float_dtype,
    is_integer_dtype,
    is_object_dtype,
    is_string_dtype,
)

from ._encoding_messages import (
    _example_value,
    _overflow_message,
    _too_many_categories_message,
    _type_change_message,
    plural,
)
from ._statistics import ScatterStatistics
from ._tabular import InputError


@dataclass(frozen=True)
class EncodingOptions:
    """Options of the encoding; ``objective`` decides how integer targets are read."""

    standardize: bool = True
    impute: bool = False
    max_categories: int = 50
    objective: str = "auto"


@dataclass
class _ColumnState:
    """Pass-1 state of one feature or target column.

    ``kind`` is "numeric" or "categorical", None until a value is seen. The ``*_index``
    fields are raw columns: the value minus ``reference`` (0 where missing), a 0/1
    indicator of a present value, and a 0/1 indicator of a missing category.
    ``categories`` maps each category to its raw column, in order of discovery.
    """

    name: str
    role: str
    kind: object = None
    value_type: object = None
    known_since: int = 0
    reference: float = 0.0
    value_index: object = None
    present_index: object = None
    categories: dict = field(default_factory=dict)
    missing_index: object = None
    n_missing: int = 0


@dataclass(frozen=True)
class FeatureColumn:
    """Encoding of one input column as features: numeric (one feature) or categorical.

    A numeric feature is (value - center) / scale, with a missing value replaced by
    ``fill_value`` first. ``mean`` and ``std`` are the column's weighted mean and
    standard deviation (denominator: the weight sum) after imputation. A categorical
    column gives one 0/1 indicator per category, sorted, then one for missing values
    when ``missing_category`` is set.
    """

    name: str
    kind: str
    mean: float = 0.0
    std: float = 0.0
    center: float = 0.0
    scale: float = 1.0
    fill_value: object = None
    categories: tuple = ()
    missing_category: bool = False

    @property
    def feature_names(self):
        if self.kind == "numeric":
            return [self.name]
        names = [f"{self.name}_{category}" for category in self.categories]
        return names + [f"{self.name}_nan"] if self.missing_category else names


class FeatureEncoder:
    """Encoding of the feature columns of a chunk as a float64 feature matrix."""

    def __init__(self, columns):
        self.columns = tuple(columns)
        self.feature_names = [name for column in self.columns for name in column.feature_names]

    def transform(self, frame, first_row):
        """Return the features of a chunk; raise InputError on values pass 1 did not see."""
        features = np.empty((len(frame), len(self.feature_names)))
        start = 0
        for column in self.columns:
            series = frame[column.name]
            if column.kind == "numeric":
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
                if column.fill_value is not None:
                    values = np.where(np.isnan(values), column.fill_value, values)
                features[:, start] = (values - column.center) / column.scale
                start += 1
                continue

            width = len(column.feature_names)
            block = features[:, start : start + width]
            block[:] = 0.0
            missing = series.isna().to_numpy()
            codes = pd.Categorical(series[~missing], categories=list(column.categories)).codes
            if np.any(codes < 0) or (missing.any() and not column.missing_category):
                raise InputError(
                    f"column {column.name!r} has values in rows {first_row}-"
                    f"{first_row + len(frame) - 1} that the first pass did not see; the "
                    "input changed while it was read, so run the command again."
                )
            block[np.flatnonzero(~missing), codes] = 1.0
            if column.missing_category:
                block[missing, width - 1] = 1.0
            start += width
        if np.isnan(features).any():
            raise InputError(
                f"rows {first_row}-{first_row + len(frame) - 1} contain missing values that "
                "the first pass did not see; the input changed while it was read, so run "
                "the command again."
            )
        return features

    def to_dict(self):
        """Return the encoding as JSON-compatible data, for the report."""
        description = []
        for column in self.columns:
            entry = {"column": column.name, "kind": column.kind}
            if column.kind == "numeric":
                entry.update(
                    mean=column.mean,
                    std=column.std,
                    center=column.center,
                    scale=column.scale,
                    fill_value=column.fill_value,
                )
            else:
                entry.update(
                    categories=list(column.categories),
                    missing_category=column.missing_category,
                )
            description.append(entry)
        return description


@dataclass(frozen=True)
class EncodedStatistics:
    """Result of the first pass: the statistics of the encoded features and targets.

    ``classes`` contains the sorted class labels when the target is a class-label
    column, whose indicator columns are then the targets of ``statistics``.
    """

    statistics: ScatterStatistics
    encoder: FeatureEncoder
    target_names: tuple
    classes: object
    n_rows: int


class StatisticsPass:
    """First pass over a table: discover column types and categories, accumulate statistics.

    Call :meth:`add` with each chunk in order, then :meth:`finish`.
    """

    def __init__(self, roles, options, label):
        self.roles = roles
        self.options = options
        self.label = label
        self.n_rows = 0
        self._columns = {name: _ColumnState(name, "feature") for name in roles.features}
        self._columns.update({name: _ColumnState(name, "target") for name in roles.targets})
        self._weight_missing = 0
        # Raw column 0 is the constant 1, so that the raw encoding is never empty, even
        # while every feature column has been missing so far.
        self._width = 1
        self._new_constants = []
        self._statistics = None
        self._missing_values_found = False

    def add(self, chunk):
        frame = chunk.frame
        for column in self._columns.values():
            self._check_column(column, frame[column.name], chunk)
        weights = self._read_weights(frame, chunk)
        n_rows_before = self.n_rows
        self.n_rows += len(frame)
        if self._missing_values_found:
            # The run fails in finish(); the rest of the pass only counts missing values.
            return

        for column in self._columns.values():
            self._discover(column, frame[column.name], n_rows_before)
        raw = self._encode_raw(frame)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                block = ScatterStatistics.from_data(raw, sample_weight=weights)
        except ValueError:
            # Infinity is rejected above and a missing value is 0 in raw, so from_data
            # raises only for weighted squares that overflow float64.
            raise InputError(self._overflow_message(frame, weights, chunk)) from None
        if self._statistics is None:
            self._statistics = block
        else:
            self._statistics = _append_constant_columns(self._statistics, self._new_constants)
            with np.errstate(over="ignore", invalid="ignore"):
                self._statistics = self._statistics + block
        self._new_constants = []
        # Merging does not check for overflow, and an infinite entry of the scatter
        # shows on its diagonal.
        if not np.isfinite(np.diagonal(self._statistics.scatter_xx)).all():
            raise InputError(self._overflow_message(frame, weights, chunk))

    def _overflow_message(self, frame, weights, chunk):
        """Return the message of statistics that overflow, naming the likely column.

        That is the numeric column with the largest magnitude in the chunk, or the
        weight column when the square root of its largest weight is larger.
        """
        likely = (None, "", 0.0)
        for column in self._columns.values():
            if column.kind != "numeric":
                continue
            values = frame[column.name].to_numpy(dtype=np.float64, na_value=np.nan)
            magnitude = float(np.nanmax(np.abs(values), initial=0.0))
            if magnitude > likely[2]:
                likely = (column.name, column.role, magnitude)
        if weights is not None and np.sqrt(weights.max(initial=0.0)) > likely[2]:
            likely = (self.roles.weight, "weight", float(weights.max()))
        return _overflow_message(*likely, chunk, self.label)

    def _check_column(self, column, series, chunk):
        """Count missing values and raise when the column's type changes or is unusable."""
        missing = int(series.isna().sum())
        column.n_missing += missing
        imputable = column.role == "feature" and self.options.impute
        if missing and not imputable:
            self._missing_values_found = True
        if missing == len(series) or (missing and column.role == "target"):
            # A column without values here gives no type. A target with missing values
            # fails in finish(), whose message names the count.
            return

        value_type = _value_type(series, self.label)
        kind = self._kind_for_role(column, value_type, series, chunk)
        if column.kind is None:
            column.kind, column.value_type, column.known_since = (
                kind,
                value_type,
                chunk.first_row,
            )
        elif kind != column.kind:
            raise InputError(
                _type_change_message(column, value_type, series, chunk, self.label)
            )

        if kind == "numeric":
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                row = chunk.first_row + int(np.flatnonzero(np.isinf(values))[0])
                raise InputError(
                    f"column {column.name!r} contains infinity in data row {row} of "
                    f"{self.label}; replace it with a finite value or remove the row."
                )

    def _kind_for_role(self, column, value_type, series, chunk):
        """Return "numeric" or "categorical" for a column with values of value_type."""
        if column.role == "feature":
            return "categorical" if value_type == "text" else "numeric"
        if self.options.objective == "regression":
            if value_type == "text":
                position, value = _example_value(series, "text")
                raise InputError(
                    f"target column {column.name!r} contains text such as {value!r} in "
                    f"data row {chunk.first_row + position}, but --objective regression "
                    "needs numeric targets; use --objective auto or canonical to read it "
                    "as class labels."
                )
            return "numeric"
        # As in MatryoshkaProjection: integer, boolean and text targets are class
        # labels, and float targets are continuous.
        return "numeric" if value_type == "float" else "categorical"

    def _read_weights(self, frame, chunk):
        if self.roles.weight is None:
            return None
        series = frame[self.roles.weight]
        missing = int(series.isna().sum())
        self._weight_missing += missing
        if missing:
            self._missing_values_found = True
            return None
        value_type = _value_type(series, self.label)
        if value_type == "text":
            position, value = _example_value(series, "text")
            raise InputError(
                f"weight column {self.roles.weight!r} contains text such as {value!r} in "
                f"data row {chunk.first_row + position}; sample weights must be numbers, "
                "so fix the column or choose another with --weight."
            )
        weights = series.to_numpy(dtype=np.float64)
        invalid = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
        if invalid.size:
            row = chunk.first_row + int(invalid[0])
            raise InputError(
                f"weight column {self.roles.weight!r} has the value "
                f"{float(weights[invalid[0]])!r} "
                f"in data row {row}; sample weights must be finite and non-negative, so "
                "fix the value or remove the row."
            )
        return weights

    def _discover(self, column, series, n_rows_before):
        """Add the raw columns that new kinds, categories and missing values need."""
        if column.kind is None:
            return
        present = series.dropna()
        first_values = column.value_index is None and not column.categories

        if column.kind == "numeric":
            if first_values:
                # Every earlier row was missing, which encodes as value 0, not present.
                column.reference = float(present.iloc[0])
                column.value_index = self._new_raw_column(0.0)
                if self.options.impute and column.role == "feature":
                    column.present_index = self._new_raw_column(0.0)
            return

        if first_values and n_rows_before and column.missing_index is None:
            # Every earlier row was missing, so their missing-value indicator is 1.
            column.missing_index = self._new_raw_column(1.0)
        if len(present) < len(series) and column.missing_index is None:
            column.missing_index = self._new_raw_column(0.0)
        for value in pd.unique(present):
            key = value.item() if isinstance(value, np.generic) else value
            if key not in column.categories:
                column.categories[key] = self._new_raw_column(0.0)
        if len(column.categories) > self.options.max_categories:
            raise InputError(
                _too_many_categories_message(column, self.n_rows, self.options, self.label)
            )

    def _new_raw_column(self, constant):
        """Append a raw column whose value on every earlier row was constant."""
        self._new_constants.append(constant)
        self._width += 1
        return self._width - 1

    def _encode_raw(self, frame):
        raw = np.zeros((len(frame), self._width))
        raw[:, 0] = 1.0
        for column in self._columns.values():
            series = frame[column.name]
            if column.kind == "numeric" and column.value_index is not None:
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
                present = ~np.isnan(values)
                raw[:, column.value_index] = np.where(present, values - column.reference, 0.0)
                if column.present_index is not None:
                    raw[:, column.present_index] = present
            elif column.kind == "categorical":
                missing = series.isna().to_numpy()
                keys = list(column.categories)
                indices = np.array([column.categories[key] for key in keys], dtype=np.intp)
                codes = pd.Categorical(series[~missing], categories=keys).codes
                raw[np.flatnonzero(~missing), indices[codes]] = 1.0
                if column.missing_index is not None:
                    raw[missing, column.missing_index] = 1.0
        return raw

    def finish(self):
        """Return the EncodedStatistics of everything added, or raise InputError."""
        if self.n_rows == 0:
            raise InputError(
                f"INPUT {self.label} has a header but no data rows; pass a file with at "
                "least 2 data rows."
            )
        self._raise_for_missing_values()
        for column in self._columns.values():
            if column.kind is None:
                raise InputError(
                    f"column {column.name!r} has no values in any of the {self.n_rows} "
                    f"rows of {self.label}; leave it out with --drop {column.name}."
                )
        statistics = self._statistics
        if statistics.weight_sum <= 0:
            raise InputError(
                f"every row of {self.label} has weight 0 in the weight column "
                f"{self.roles.weight!r}; give some rows a positive weight."
            )

        target_columns = [self._columns[name] for name in self.roles.targets]
        label_columns = [
            column.name for column in target_columns if column.kind == "categorical"
        ]
        if label_columns and len(target_columns) > 1:
            raise InputError(
                f"the targets {list(self.roles.targets)} include the class-label column "
                f"{label_columns[0]!r}; pass a single class-label target, or only numeric "
                "targets (--objective regression reads whole numbers as numbers)."
            )

        feature_rows, feature_offsets, feature_columns = [], [], []
        for name in self.roles.features:
            rows, offsets, description = self._feature_map(self._columns[name], statistics)
            feature_rows += rows
            feature_offsets += offsets
            feature_columns.append(description)
        target_rows, target_offsets, classes = [], [], None
        for column in target_columns:
            if column.kind == "numeric":
                row, offset = self._numeric_map(column, statistics)
                target_rows.append(row)
                target_offsets.append(offset)
            else:
                classes = _sorted_keys(column.categories)
                for key in classes:
                    target_rows.append(self._indicator(column.categories[key]))
                    target_offsets.append(0.0)

        transform = np.array(feature_rows + target_rows)
        offset = np.array(feature_offsets + target_offsets)
        mean = transform @ statistics.mean_x + offset
        scatter = transform @ statistics.scatter_xx @ transform.T
        if not (np.isfinite(mean).all() and np.isfinite(scatter).all()):
            raise InputError(
                f"the statistics of the encoded features of {self.label} overflow "
                "float64; rescale the columns with the largest values, for example to "
                "larger units."
            )
        encoded = ScatterStatistics.from_moments(
            statistics.weight_sum,
            statistics.n_samples,
            mean,
            scatter,
            n_targets=len(target_rows),
        )
        return EncodedStatistics(
            statistics=encoded,
            encoder=FeatureEncoder(feature_columns),
            target_names=self.roles.targets,
            classes=None if classes is None else np.asarray(classes),
            n_rows=self.n_rows,
        )

    def _raise_for_missing_values(self):
        targets = [c for c in self._columns.values() if c.role == "target" and c.n_missing]
        if targets:
            raise InputError(
                f"target column {targets[0].name!r} has "
                f"{plural(targets[0].n_missing, 'missing value')} in {self.label}; targets "
                "are never imputed, so remove those rows."
            )
        if self._weight_missing:
            raise InputError(
                f"weight column {self.roles.weight!r} has "
                f"{plural(self._weight_missing, 'missing value')} in {self.label}; fill "
                "them in (0 drops a row) or remove those rows."
            )
        features = [c for c in self._columns.values() if c.role == "feature" and c.n_missing]
        if features and not self.options.impute:
            others = ""
            if len(features) > 1:
                names = ", ".join(repr(column.name) for column in features[1:4])
                others = f" (and {len(features) - 1} more columns have some: {names}"
                others += ", ...)" if len(features) > 4 else ")"
            raise InputError(
                f"column {features[0].name!r} has "
                f"{plural(features[0].n_missing, 'missing value')} in {self.label}{others}; "
                "pass --impute mean to replace a missing number by the column mean and "
                "encode a missing category as its own category, or remove those rows."
            )

    def _indicator(self, index):
        row = np.zeros(self._width)
        row[index] = 1.0
        return row

    def _numeric_map(self, column, statistics):
        """Return (t, c) such that the imputed column is t @ g + c."""
        row = self._indicator(column.value_index)
        offset = column.reference
        if column.present_index is not None:
            present_fraction = statistics.mean_x[column.present_index]
            if present_fraction <= 0:
                raise InputError(
                    f"column {column.name!r} has values only in rows of weight 0 in "
                    f"{self.label}, so its mean is undefined; leave it out with --drop "
                    f"{column.name}."
                )
            # Mean of the present values, minus the reference: E[z] / E[present].
            present_mean = statistics.mean_x[column.value_index] / present_fraction
            row[column.present_index] = -present_mean
            offset += present_mean
        return row, offset

    def _feature_map(self, column, statistics):
        """Return the rows of T, the entries of c and the FeatureColumn of one column."""
        if column.kind == "categorical":
            categories = _sorted_keys(column.categories)
            rows = [self._indicator(column.categories[key]) for key in categories]
            if column.missing_index is not None:
                rows.append(self._indicator(column.missing_index))
            description = FeatureColumn(
                column.name,
                "categorical",
                categories=tuple(categories),
                missing_category=column.missing_index is not None,
            )
            return rows, [0.0] * len(rows), description

        row, offset = self._numeric_map(column, statistics)
        weight_sum = statistics.weight_sum
        mean = float(row @ statistics.mean_x + offset)
        variance = max(float(row @ statistics.scatter_xx @ row) / weight_sum, 0.0)
        std = float(np.sqrt(variance))
        scale = 1.0 if _is_constant(variance, mean, weight_sum) else std
        center = 0.0
        if self.options.standardize:
            center = mean
            row, offset = row / scale, (offset - mean) / scale
        else:
            scale = 1.0
        description = FeatureColumn(
            column.name,
            "numeric",
            mean=mean,
            std=std,
            center=center,
            scale=scale,
            fill_value=mean if column.present_index is not None else None,
        )
        return [row], [offset], description


def _append_constant_columns(statistics, constants):
    """Return statistics with new columns that were constant on every row seen so far.

    Such a column has the constant as its mean and zero scatter with every column, so
    the result equals the statistics of the wider rows exactly.
    """
    if not constants:
        return statistics
    old_width = statistics.n_features
    width = old_width + len(constants)
    scatter = np.zeros((width, width))
    scatter[:old_width, :old_width] = statistics.scatter_xx
    mean = np.concatenate([statistics.mean_x, constants])
    return ScatterStatistics.from_moments(
        statistics.weight_sum, statistics.n_samples, mean, scatter
    )


def _is_constant(variance, mean, weight_sum):
    """Return whether a variance is rounding error, by scikit-learn's StandardScaler rule.

    The bound is that of sklearn.preprocessing.StandardScaler (scikit-learn 1.9), from
    the error analysis of Chan, Golub and LeVeque; a constant column keeps scale 1.
    """
    eps = np.finfo(np.float64).eps
    # A bound that overflows exceeds every finite variance, so infinity gives the same result.
    with np.errstate(over="ignore"):
        return variance <= weight_sum * eps * variance + (weight_sum * mean * eps) ** 2


def _value_type(series, label):
    """Return "float", "integer" or "text" for the values of a chunk's column."""
    dtype = series.dtype
    if is_bool_dtype(dtype):
        return "text"
    if is_integer_dtype(dtype):
        return "integer"
    if is_float_dtype(dtype):
        return "float"
    if (
        isinstance(dtype, pd.CategoricalDtype)
        or is_string_dtype(dtype)
        or is_object_dtype(dtype)
    ):
        return "text"
    name = series.name
    raise InputError(
        f"column {name!r} of {label} has the type {dtype}, which cannot be encoded as "
        f"features; leave it out with --drop {name} or pass it through with --keep {name}."
    )


def _sorted_keys(categories):
    """Return category keys sorted by value, grouped by type if the types differ."""
    return sorted(categories, key=lambda key: (type(key).__name__, key))
