"""Messages of the InputErrors that the table encoding raises, and their wording helpers."""

VALUE_TYPE_WORDS = {"float": "decimal numbers", "integer": "whole numbers", "text": "text"}


def _type_change_message(column, value_type, series, chunk, label):
    role = "target column" if column.role == "target" else "column"
    example = f" such as {_first_value(series)!r}" if value_type == "text" else ""
    fixes = f"pass --categorical {column.name} to read all its values as text"
    if column.role == "target" and value_type != "text":
        fixes = f"pass --objective regression to read it as numbers, or {fixes}"
    return (
        f"{role} {column.name!r} of {label} changes type between chunks: it has "
        f"{VALUE_TYPE_WORDS[column.value_type]} from data row {column.known_since} but "
        f"{VALUE_TYPE_WORDS[value_type]}{example} in rows {chunk.first_row}-"
        f"{chunk.last_row}; fix those values, or {fixes}."
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


def _first_value(series):
    present = series.dropna()
    return None if present.empty else present.iloc[0]
