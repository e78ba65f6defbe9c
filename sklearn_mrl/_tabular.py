"""Chunked reading and writing of CSV and Parquet tables for the command-line tool.

CSV files are read with pandas' chunked reader and Parquet files one record batch at a
time with pyarrow, so memory is bounded by the chunk size, not by the file size. Output
files are written to a temporary file in the target's directory and renamed when
complete, so a failed run leaves no partial file behind.
"""

import bz2
import gzip
import lzma
import os
import re
import secrets
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_object_dtype, is_string_dtype

# Suffixes of the supported files, mapped to (format, compression).
TABLE_SUFFIXES = {
    ".csv": ("csv", None),
    ".csv.gz": ("csv", "gzip"),
    ".csv.bz2": ("csv", "bz2"),
    ".csv.xz": ("csv", "xz"),
    ".parquet": ("parquet", None),
    ".pq": ("parquet", None),
}

COMPRESSED_OPENERS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}

# Exceptions that gzip, bz2 and lzma raise for a truncated or corrupt file, other than
# OSError, which the readers catch separately. pandas does not wrap them.
DECOMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError)

# The message of pandas' C parser for a line with more fields than the header line.
FIELD_COUNT_PATTERN = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

# Spellings that pandas.read_csv reads as True and False when every value of a column
# in a chunk has one of them (the defaults of its true_values and false_values).
BOOLEAN_SPELLINGS = {
    **dict.fromkeys(["True", "TRUE", "true"], "True"),
    **dict.fromkeys(["False", "FALSE", "false"], "False"),
}
BOOLEAN_TEXT = {True: "True", False: "False"}

# Strings that pandas.read_csv reads as missing by default (the list in the read_csv
# documentation of its na_values parameter, the same from pandas 2.0 to 3.x). The tool
# applies them to feature, target and weight columns only, so that a passed-through
# identifier such as "NA" or "" is written back unchanged.
# fmt: off
CSV_MISSING_STRINGS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]
# fmt: on

# Size of the read buffer of a Parquet file: pages are read through it one at a time.
PARQUET_READ_BUFFER_BYTES = 2**16

PARQUET_INSTALL_HINT = (
    'Parquet files need pyarrow; install it with: pip install "sklearn-mrl[parquet]"'
)


class InputError(Exception):
    """Invalid input file, column or option.

    The message is one line that names the value and the fix; the command-line tool
    prints it and exits with status 2.
    """


@dataclass(frozen=True)
class Chunk:
    """One block of consecutive rows of the input table.

    ``frame`` contains the feature, target and weight columns, and ``passthrough`` the
    columns copied to the output unchanged (a DataFrame, or a pyarrow Table for
    Parquet input). ``first_row`` is the 1-based number of the first data row, and
    ``fraction_read`` estimates the fraction of the input read so far.
    """

    frame: pd.DataFrame
    passthrough: object
    first_row: int
    fraction_read: float

    @property
    def last_row(self):
        return self.first_row + len(self.frame) - 1


def error_text(error):
    """Return the message of an exception on one line, without surrounding whitespace."""
    return " ".join(str(error).split())


def table_format(path, option):
    """Return (format, compression) of a file from its suffix, or raise InputError."""
    name = os.path.basename(path).lower()
    for suffix, file_format in TABLE_SUFFIXES.items():
        if name.endswith(suffix):
            return file_format
    known = ", ".join(TABLE_SUFFIXES)
    raise InputError(
        f"unknown format of {option} {path!r}: the file name must end with one of {known}; "
        "rename the file or convert it to CSV or Parquet."
    )


def import_pyarrow():
    """Import pyarrow and pyarrow.parquet, or raise InputError with the install command."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError(PARQUET_INSTALL_HINT + ".") from None
    return pyarrow, pyarrow.parquet


def open_table(path, text_columns=()):
    """Open a CSV or Parquet file for chunked reading, chosen by its suffix.

    ``text_columns`` are read as text whatever their values look like.
    """
    file_format, compression = table_format(path, "INPUT")
    if not os.path.exists(path):
        raise InputError(f"INPUT {path!r} not found; check the path.")
    if os.path.isdir(path):
        raise InputError(f"INPUT {path!r} is a directory; pass a CSV or Parquet file.")
    if file_format == "csv":
        return CsvTable(path, compression, text_columns)
    return ParquetTable(path, text_columns)


class CsvTable:
    """A CSV file read in chunks of rows with pandas.read_csv."""

    def __init__(self, path, compression, text_columns):
        self.path = path
        self.label = repr(path)
        self._compression = compression
        self._text_columns = set(text_columns)
        try:
            header = pd.read_csv(path, nrows=0, compression=compression)
            # With one more field in the first data row than in the header line, pandas
            # would use the first field as the index and shift every column. Read
            # without a header, the header line sets the field count and that row fails.
            pd.read_csv(path, header=None, nrows=2, dtype=str, compression=compression)
        except pd.errors.EmptyDataError:
            raise InputError(
                f"INPUT {path!r} is empty: it has no header line; pass a CSV file with "
                "a header line of column names and at least 2 data rows."
            ) from None
        except DECOMPRESSION_ERRORS as error:
            raise InputError(_decompression_message(path, error)) from None
        except pd.errors.ParserError as error:
            raise InputError(_parser_error_message(self.label, error, 1)) from None
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise InputError(
                f"cannot read INPUT {path!r}: {error_text(error)}; check that it is a "
                "UTF-8 CSV file with a header line, compressed as its suffix says."
            ) from None
        self.columns = list(header.columns)
        _check_separator(self.columns, self.label)

    def chunks(self, used, passthrough, chunk_rows):
        """Yield the rows of the file as Chunks of at most chunk_rows rows.

        Every column is parsed, because with ``usecols`` pandas silently accepts a line
        with too many fields, such as text with an unquoted comma.

        NOTE: a line with fewer fields than the header line is not rejected: pandas
        reads the missing fields as missing values, which --impute mean then fills.
        """
        wanted = list(dict.fromkeys([*used, *passthrough]))
        # Passed-through columns that are not also features or targets are read as
        # text without missing-value parsing, so that they are written back verbatim.
        dtypes = {name: str for name in wanted if name in self._text_columns}
        dtypes.update({name: str for name in passthrough if name not in used})
        missing_strings = {name: CSV_MISSING_STRINGS for name in used}

        size = max(os.path.getsize(self.path), 1)
        first_row = 1
        try:
            with open(self.path, "rb") as handle:
                reader = pd.read_csv(
                    handle,
                    compression=self._compression,
                    dtype=dtypes,
                    keep_default_na=False,
                    na_values=missing_strings,
                    index_col=False,
                    chunksize=chunk_rows,
                )
                with reader:
                    for frame in reader:
                        yield Chunk(
                            frame=self._normalize_booleans(frame[list(used)]),
                            passthrough=frame[list(passthrough)],
                            first_row=first_row,
                            fraction_read=min(handle.tell() / size, 1.0),
                        )
                        first_row += len(frame)
        except DECOMPRESSION_ERRORS as error:
            raise InputError(_decompression_message(self.path, error)) from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as error:
            raise InputError(_parser_error_message(self.label, error, first_row)) from None

    def _normalize_booleans(self, frame):
        """Replace True and False, and their other spellings, by the text "True" and "False".

        pandas parses a column as booleans only in chunks where every value is a
        boolean spelling, and keeps the text elsewhere, so without this the categories
        of such a column would depend on the chunk size. Columns named by --categorical
        are read as text in every chunk, so they keep their spelling.
        """
        replaced = {}
        for name in frame.columns:
            series = frame[name]
            if name in self._text_columns:
                continue
            if is_bool_dtype(series.dtype):
                replaced[name] = series.map(BOOLEAN_TEXT).astype(object)
            elif is_object_dtype(series.dtype) or is_string_dtype(series.dtype):
                first = series.first_valid_index()
                if first is not None and isinstance(series[first], (bool, np.bool_)):
                    # A chunk of booleans and missing values has object dtype.
                    replaced[name] = series.map(BOOLEAN_TEXT)
                else:
                    replaced[name] = series.replace(BOOLEAN_SPELLINGS)
        return frame.assign(**replaced) if replaced else frame


def _check_separator(columns, label):
    """Raise InputError when a single column's name shows another separator than commas."""
    if len(columns) != 1:
        return
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if separator in str(columns[0]):
            raise InputError(
                f"INPUT {label} has one column, named {columns[0]!r}, so its fields seem "
                f"to be separated by {name}; the tool reads comma-separated files, so "
                "convert the file to comma-separated CSV."
            )


def _decompression_message(path, error):
    return (
        f"cannot decompress INPUT {path!r}: {error_text(error)}; the file is truncated "
        "or corrupt, so copy or compress it again."
    )


def _parser_error_message(label, error, first_row):
    """Return the message of a CSV parser error, naming the line of a wrong field count."""
    match = FIELD_COUNT_PATTERN.search(str(error))
    if match is not None:
        expected, line, seen = match.groups()
        return (
            f"line {line} of INPUT {label} has {seen} fields, but the header line has "
            f"{expected}; remove the extra fields, quote values that contain commas, or "
            "add the missing column names to the header line (a comma at the end of a "
            "line adds an empty field)."
        )
    return (
        f"cannot parse INPUT {label} at or after data row {first_row}: "
        f"{error_text(error)}; fix the file, which must be comma-separated UTF-8 "
        "with a header line."
    )


class ParquetTable:
    """A Parquet file read one record batch at a time with pyarrow."""

    def __init__(self, path, text_columns):
        pyarrow, parquet = import_pyarrow()
        self.path = path
        self.label = repr(path)
        self._text_columns = set(text_columns)
        try:
            # Without pre-buffering, pages are read through a small buffer as they are
            # decoded. Pre-buffering, pyarrow's default, reads column chunks ahead: with
            # pyarrow 26 on 50 float64 columns it allocated 548 MiB instead of 119 MiB.
            self._file = parquet.ParquetFile(
                path, pre_buffer=False, buffer_size=PARQUET_READ_BUFFER_BYTES
            )
        except (pyarrow.ArrowException, OSError) as error:
            raise InputError(
                f"INPUT {path!r} is not a readable Parquet file ({error_text(error)}); "
                "check that the file is complete and its suffix matches its format."
            ) from None
        self.columns = list(self._file.schema_arrow.names)
        self.n_rows = self._file.metadata.num_rows

    def chunks(self, used, passthrough, chunk_rows):
        """Yield the rows of the file as Chunks of at most chunk_rows rows.

        NOTE: the memory of the pyarrow reader depends on how the file was written,
        whatever chunk_rows is. With pyarrow 26, 50 float64 columns and row groups of
        250,000 rows, it allocated at most 119 MiB when the writer had tried dictionary
        encoding (pyarrow's default) and 25 MiB without it (measured).
        """
        pyarrow, _ = import_pyarrow()
        for name in used:
            column_type = self._file.schema_arrow.field(name).type
            if pyarrow.types.is_nested(column_type):
                raise InputError(
                    f"column {name!r} of {self.label} has the nested type {column_type}, "
                    "which cannot be encoded as features; leave it out with --drop "
                    f"{name}."
                )
        wanted = list(dict.fromkeys([*used, *passthrough]))
        total = max(self.n_rows, 1)
        first_row = 1
        try:
            batches = self._file.iter_batches(
                batch_size=chunk_rows, columns=wanted, use_threads=False
            )
            for batch in batches:
                table = pyarrow.Table.from_batches([batch])
                yield Chunk(
                    frame=self._to_pandas(table.select(list(used))),
                    passthrough=table.select(list(passthrough)),
                    first_row=first_row,
                    fraction_read=min((first_row - 1 + batch.num_rows) / total, 1.0),
                )
                first_row += batch.num_rows
        except (pyarrow.ArrowException, OSError) as error:
            raise InputError(
                f"cannot read INPUT {self.label} at or after data row {first_row}: "
                f"{error_text(error)}; check that the file is complete."
            ) from None

    def _to_pandas(self, table):
        """Convert to pandas, decimals to float64 and text columns to strings."""
        pyarrow, _ = import_pyarrow()
        for index, field in enumerate(table.schema):
            if field.name in self._text_columns and not pyarrow.types.is_string(field.type):
                table = table.set_column(
                    index, field.name, table.column(index).cast(pyarrow.string())
                )
            elif pyarrow.types.is_decimal(field.type):
                table = table.set_column(
                    index, field.name, table.column(index).cast(pyarrow.float64())
                )
        return table.to_pandas(split_blocks=True, self_destruct=True)


class FrameTable:
    """An in-memory DataFrame read in chunks, for the built-in example."""

    def __init__(self, frame, label):
        self.label = label
        self.columns = list(frame.columns)
        self._frame = frame

    def chunks(self, used, passthrough, chunk_rows):
        n_rows = len(self._frame)
        for start in range(0, n_rows, chunk_rows):
            rows = self._frame.iloc[start : start + chunk_rows]
            yield Chunk(
                frame=rows[list(used)],
                passthrough=rows[list(passthrough)],
                first_row=start + 1,
                fraction_read=min((start + len(rows)) / n_rows, 1.0),
            )


class AtomicFile:
    """A temporary file in the directory of ``path``, renamed to ``path`` on commit.

    The temporary file is created with the permissions of a new file (0666 minus the
    umask). ``discard`` removes it; nothing is left at ``path`` unless commit succeeds.
    """

    def __init__(self, path, option):
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise InputError(
                f"the directory of {option} {path!r} does not exist; create {directory!r} "
                "or choose another path."
            )
        self.path = path
        self.temporary_path = os.path.join(
            directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp"
        )
        try:
            descriptor = os.open(
                self.temporary_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666
            )
        except OSError as error:
            raise InputError(
                f"cannot create {option} {path!r}: {error.strerror}; check the permissions "
                f"of {directory!r}."
            ) from None
        os.close(descriptor)

    def commit(self):
        os.replace(self.temporary_path, self.path)

    def discard(self):
        try:
            os.unlink(self.temporary_path)
        except FileNotFoundError:
            pass


def open_writer(atomic_file):
    """Return a CsvWriter or ParquetWriter for the temporary file of an AtomicFile."""
    file_format, compression = table_format(atomic_file.path, "OUTPUT")
    if file_format == "csv":
        return CsvWriter(atomic_file.temporary_path, compression)
    return ParquetWriter(atomic_file.temporary_path)


class CsvWriter:
    """Appends chunks of output rows to one CSV file, writing the header once."""

    def __init__(self, path, compression):
        opener = COMPRESSED_OPENERS.get(compression, open)
        self._handle = opener(path, "wt", newline="", encoding="utf-8")
        self._header_written = False

    def write(self, passthrough, coordinates, names):
        if not isinstance(passthrough, pd.DataFrame):
            passthrough = passthrough.to_pandas()
        frame = pd.DataFrame(coordinates, columns=names, index=passthrough.index)
        frame = pd.concat([passthrough, frame], axis=1)
        frame.to_csv(self._handle, header=not self._header_written, index=False)
        self._header_written = True

    def close(self):
        self._handle.close()


class ParquetWriter:
    """Appends chunks of output rows to one Parquet file, one row group per chunk."""

    def __init__(self, path):
        self._pyarrow, self._parquet = import_pyarrow()
        self._path = path
        self._passthrough_schema = None
        self._writer = None

    def write(self, passthrough, coordinates, names):
        pyarrow = self._pyarrow
        if isinstance(passthrough, pd.DataFrame):
            passthrough = pyarrow.Table.from_pandas(passthrough, preserve_index=False)
        if self._passthrough_schema is None:
            # Every chunk takes the column types of the first one, which for
            # columns parsed from CSV may otherwise differ between chunks.
            self._passthrough_schema = passthrough.schema
        try:
            passthrough = passthrough.cast(self._passthrough_schema)
        except (pyarrow.ArrowException, ValueError) as error:
            raise InputError(
                "a passed-through column changes type between chunks "
                f"({error_text(error)}); write a CSV OUTPUT instead, or make the column's "
                "values of one type."
            ) from None
        columns = [
            *passthrough.columns,
            *(coordinates[:, index] for index in range(len(names))),
        ]
        table = pyarrow.Table.from_arrays(columns, names=[*passthrough.column_names, *names])
        if self._writer is None:
            self._writer = self._parquet.ParquetWriter(self._path, table.schema)
        self._writer.write_table(table)

    def close(self):
        if self._writer is not None:
            self._writer.close()


@dataclass(frozen=True)
class ColumnRoles:
    """Names of the input columns by role; passthrough columns are copied to the output."""

    features: tuple
    targets: tuple
    weight: object
    passthrough: tuple

    @property
    def used(self):
        """Columns read as numbers or categories: features, targets and weight."""
        weight = () if self.weight is None else (self.weight,)
        return tuple(dict.fromkeys([*self.features, *self.targets, *weight]))


def assign_roles(
    columns, *, targets=(), weight=None, keep=(), drop=(), text=(), label="INPUT"
):
    """Check the named columns against the table and return their ColumnRoles.

    Features are every column that is not a target, the weight, passed through or
    dropped, so targets and weights never enter the features.
    """
    named = [
        ("--target", targets),
        ("--weight", [] if weight is None else [weight]),
        ("--keep", keep),
        ("--drop", drop),
        ("--categorical", text),
    ]
    for option, names in named:
        for name in names:
            if name not in columns:
                raise InputError(_unknown_column_message(option, name, columns, label))

    conflicts = [
        ("--target", targets, "--weight", [weight]),
        ("--keep", keep, "--drop", drop),
        ("--target", targets, "--drop", drop),
        ("--weight", [weight], "--drop", drop),
    ]
    for first_option, first, second_option, second in conflicts:
        common = [name for name in first if name is not None and name in second]
        if common:
            raise InputError(
                f"column {common[0]!r} is named by both {first_option} and "
                f"{second_option}; name it in one of them."
            )

    excluded = {*targets, *keep, *drop, weight}
    features = tuple(name for name in columns if name not in excluded)
    if not features:
        raise InputError(
            f"no feature columns are left in {label}: every column is a target, the "
            "weight, kept or dropped; name fewer columns with --keep or --drop."
        )
    return ColumnRoles(
        features=features,
        targets=tuple(dict.fromkeys(targets)),
        weight=weight,
        passthrough=tuple(dict.fromkeys(keep)),
    )


def _unknown_column_message(option, name, columns, label):
    shown = ", ".join(repr(column) for column in columns[:10])
    more = f" and {len(columns) - 10} more" if len(columns) > 10 else ""
    message = f"{option} column {name!r} not found in {label}, whose columns are {shown}{more}"
    if name.lower().endswith((".csv", ".parquet", ".pq", ".gz", ".bz2", ".xz")):
        message += (
            "; put INPUT before options that take several column names, such as "
            "--target, --keep, --drop and --categorical"
        )
    return message + "; check the spelling, which is case-sensitive."
