"""Messages of the InputErrors that the table encoding raises, and their wording helpers."""

import numpy as np
import pandas as pd

VALUE_TYPE_WORDS = {"float": "decimal numbers", "integer": "whole numbers", "text": "text"}


def _type_change_message(column, value_type, series, chunk, label):
    role = "target column" if column.role == "target" else "column"
    position, value = _example_value(series, value_type)
    fixes = f"pass --categorical {column.name} to read all its values as text"
    if column.role == "target" and value_type != "text":
        fixes = f"pass --objective regression to read it as numbers, or {fixes}"
    return (
        f"{role} {column.name!r} of {label} changes type between chunks: it has "
        f"{VALUE_TYPE_WORDS[column.value_type]} from data row {column.known_since} but "
        f"{VALUE_TYPE_WORDS[value_type]} such as {value!r} in data row "
        f"{chunk.first_row + position}; fix those values, or {fixes}."
    )


def _overflow_message(name, role, magnitude, chunk, label):
    """Return the message of statistics that overflow float64 in a chunk."""
    rows = f"data rows {chunk.first_row}-{chunk.last_row} of {label}"
    if role == "weight":
        return (
            f"the statistics of {rows} overflow float64, because the weight column "
            f"{name!r} has weights as large as {magnitude:.3g}; divide the weights by a "
            "common factor, keeping their sum above 1."
        )
    if name is None:
        return (
            f"the statistics of {rows} overflow float64; rescale the columns with the "
            "largest values, for example to larger units."
        )
    fix = "rescale it, for example to larger units"
    if role == "feature":
        fix += f", or leave it out with --drop {name}"
    return (
        f"the statistics of {rows} overflow float64, because column {name!r} has values "
        f"as large as {magnitude:.3g}, and the sum of their squares exceeds the float64 "
        f"maximum of about 1.8e308; {fix}."
    )


def _too_many_categories_message(column, n_rows, options, label):
    count = len(column.categories)
    if column.role == "target":
        return (
            f"target column {column.name!r} has more than {options.max_categories} class "
            f"labels ({count} in the first {n_rows} rows of {label}); raise "
            "--max-categories, or pass --objective regression for a numeric target."
        )
    return (
        f"column {column.name!r} has more than {options.max_categories} categories "
        f"({count} in the first {n_rows} rows of {label}); leave it out with --drop "
        f"{column.name}, pass it through with --keep {column.name}, or raise "
        "--max-categories."
    )


def plural(count, noun):
    """Return "1 row" or "2 rows": the count and the noun, with an s unless count is 1."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _example_value(series, value_type):
    """Return (position, value) of a value in a chunk's column that has value_type.

    For text, that is the first value that is not a number, and for decimal numbers
    the first that is not whole, so that a message shows a value to fix.
    """
    present = series.notna().to_numpy()
    if value_type == "text":
        # As object values, because to_numeric rejects a categorical series.
        numbers = pd.to_numeric(series.astype(object), errors="coerce")
        matches = present & numbers.isna().to_numpy()
    elif value_type == "float":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        matches = present & (values != np.round(values))
    else:
        matches = present
    if not matches.any():
        matches = present
    position = int(np.flatnonzero(matches)[0])
    value = series.iloc[position]
    return position, value.item() if isinstance(value, np.generic) else value
