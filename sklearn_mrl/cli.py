"""Command-line tool: reduce a CSV or Parquet table to its ordered, informative dimensions.

    sklearn-mrl reduce INPUT -o OUTPUT [--target COL ...] [-k N | --fraction F] ...

The input is read twice, in chunks, so files larger than memory work. Pass 1
discovers column types and categories and accumulates the statistics of the encoded
features (see ``sklearn_mrl._encoding``); the estimator is fitted from those
statistics alone. Pass 2 encodes and transforms each chunk and appends it to the
output. Without INPUT, the tool reduces scikit-learn's breast cancer data and writes
nothing.
"""

import argparse
import os
import re
import signal
import sys
import warnings

import numpy as np

from ._cli_output import Progress, StandardOutput, format_summary, write_report
from ._encoding import EncodingOptions, StatisticsPass
from ._encoding_messages import plural
from ._tabular import (
    AtomicFile,
    FrameTable,
    InputError,
    assign_roles,
    error_text,
    import_pyarrow,
    open_table,
    open_writer,
    table_format,
)
from ._validation import weight_sum_too_small

# Rows per chunk default to this many values divided by the number of columns read, so
# one chunk of float64 values takes about 8 MiB whatever the width of the table.
DEFAULT_CHUNK_VALUES = 2**20

EXAMPLE_LABEL = "scikit-learn's breast cancer data (load_breast_cancer)"
EXAMPLE_TARGET = "diagnosis"

# Signals that stop a run like Ctrl-C does, removing the temporary files. SIGHUP does
# not exist on Windows.
TERMINATION_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

# Phrases of the estimators' error messages and their words on the command line, in
# the order they are replaced.
CLI_TERMS = [
    (
        "reduce n_components or set it to None to keep every informative direction",
        "pass a smaller -k, or leave out -k to keep every informative dimension",
    ),
    ("reduce n_components or set it to None", "pass a smaller -k, or leave out -k"),
    (
        "set n_components to an int to use the principal axes of X",
        "pass -k N to keep N dimensions anyway, completed by principal axes of the features",
    ),
    ("Check y", "Check the --target column"),
    ("sum(sample_weight)", "the weight sum"),
    ("sample_weight", "the --weight column"),
    ("samples", "rows"),
    ("every sample", "every row"),
    ("rescale X", "rescale the features"),
    (" of X", " of the features"),
    (" with X", " with the features"),
]
N_COMPONENTS_PATTERN = re.compile(r"\bn_components=(\d+)")


class TerminationSignal(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so that partial output is removed.

    Like KeyboardInterrupt, it derives from BaseException, so that only the handlers
    that clean up and re-raise catch it.
    """

    def __init__(self, signal_number):
        super().__init__(signal_number)
        self.signal_number = signal_number


def main(argv=None):
    """Run the command line with argv (default: sys.argv[1:]) and return the exit status.

    Invalid input or options print one line on stderr and return 2. Invalid
    command-line syntax prints one line and exits with status 2 (SystemExit from
    argparse). Ctrl-C, SIGTERM and SIGHUP remove any partial output and return 128 plus
    the signal number. When the reader of stdout closes the pipe, as ``| head`` does,
    the run goes on without printing and returns 0.
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Reported by the command's parser, so that the message points to its --help.
        getattr(args, "command_parser", parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    stdout = StandardOutput(sys.stdout)
    previous_handlers = _handle_termination_signals()
    try:
        run_reduce(args, stdout, sys.stderr)
        stdout.flush()
    except InputError as error:
        print(f"sklearn-mrl: error: {error_text(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sklearn-mrl: interrupted; no partial output is left.", file=sys.stderr)
        return 130
    except TerminationSignal as stop:
        name = signal.Signals(stop.signal_number).name
        print(f"sklearn-mrl: stopped by {name}; no partial output is left.", file=sys.stderr)
        return 128 + stop.signal_number
    finally:
        for signal_number, handler in previous_handlers.items():
            signal.signal(signal_number, handler)
    return 0


def _handle_termination_signals():
    """Make SIGTERM and SIGHUP raise TerminationSignal; return the previous handlers.

    Handlers can be set only in the main thread, so elsewhere the signals keep theirs.
    """
    previous_handlers = {}
    for signal_number in TERMINATION_SIGNALS:
        try:
            previous_handlers[signal_number] = signal.signal(
                signal_number, _raise_termination_signal
            )
        except ValueError:
            break
    return previous_handlers


def _raise_termination_signal(signal_number, frame):
    # A second signal while the partial files are removed would leave them behind.
    for other_signal in TERMINATION_SIGNALS:
        signal.signal(other_signal, signal.SIG_IGN)
    raise TerminationSignal(signal_number)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line that points to --help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser():
    """Return the argparse parser of the sklearn-mrl command."""
    from . import __version__

    parser = ArgumentParser(
        prog="sklearn-mrl",
        description="Ordered, task-aligned linear feature reduction (full-prefix Matryoshka "
        "learning) of CSV and Parquet tables larger than memory.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    reduce = commands.add_parser(
        "reduce",
        help="reduce the feature columns of a table to ordered dimensions",
        description="Reduce the feature columns of INPUT to ordered dimensions and write "
        "them to OUTPUT. Without --target the basis is MatryoshkaPCA (principal axes); "
        "with --target it is MatryoshkaProjection (reduced-rank regression, or "
        "discriminant directions for class labels). Every column that is not a target, "
        "the weight, kept or dropped is a feature: numeric columns are standardized, and "
        "text, boolean and categorical columns are one-hot encoded. Give INPUT before "
        "the options that take several column names (--target, --keep, --drop, "
        "--categorical). Without INPUT, the command reduces scikit-learn's breast cancer "
        "data and writes nothing.",
    )
    reduce.set_defaults(command_parser=reduce)
    reduce.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="CSV (.csv, .csv.gz, .csv.bz2, .csv.xz) or Parquet (.parquet, "
        ".pq) file with a header of column names",
    )
    reduce.add_argument(
        "-o",
        "--output",
        metavar="OUTPUT",
        help="file to write, CSV or Parquet by its suffix: the --keep columns, "
        "then one column per kept dimension; without -o only the table of "
        "dimensions is printed",
    )
    size = reduce.add_mutually_exclusive_group()
    size.add_argument(
        "-k",
        "--n-components",
        type=_positive_int,
        metavar="N",
        help="number of dimensions to keep (default: every informative one)",
    )
    size.add_argument(
        "--fraction",
        type=_open_fraction,
        metavar="F",
        help="keep the smallest prefix whose cumulative informativeness ratio "
        "exceeds F, a number in (0, 1)",
    )
    reduce.add_argument(
        "--target",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="target column(s), for a supervised basis; float columns are "
        "continuous targets, and integer, boolean and text columns are class "
        "labels unless --objective regression",
    )
    reduce.add_argument(
        "--objective",
        choices=["auto", "regression", "canonical"],
        help="supervised objective (default: auto, which is canonical for "
        "class labels and regression otherwise); needs --target",
    )
    reduce.add_argument(
        "--reconstruction-weight",
        type=_closed_fraction,
        metavar="B",
        help="weight in [0, 1] of reconstructing the features in a mixed "
        "objective (default: 0); needs --target",
    )
    reduce.add_argument(
        "--alpha",
        type=_non_negative_float,
        metavar="A",
        help="ridge strength added to the feature scatter (default: 0); needs --target",
    )
    reduce.add_argument(
        "--weight",
        metavar="COL",
        help="column of non-negative sample weights (frequency weights)",
    )
    reduce.add_argument(
        "--keep",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns copied to OUTPUT, such as identifiers (as text when INPUT is CSV); "
        "they are not features",
    )
    reduce.add_argument(
        "--drop",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns left out entirely",
    )
    reduce.add_argument(
        "--categorical",
        nargs="+",
        action="extend",
        default=[],
        metavar="COL",
        help="columns read as text, so one-hot encoded (or "
        "class labels) even when their values look like numbers",
    )
    reduce.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="keep numeric features in their units instead of scaling them "
        "to mean 0 and standard deviation 1",
    )
    reduce.add_argument(
        "--impute",
        choices=["mean"],
        help="mean: replace a missing number by the column's weighted mean "
        "and encode a missing category as its own category (default: a "
        "missing feature value is an error)",
    )
    reduce.add_argument(
        "--max-categories",
        type=_positive_int,
        default=50,
        metavar="N",
        help="maximum number of categories of a text column, or of class labels (default: 50)",
    )
    reduce.add_argument(
        "--chunk-rows",
        type=_positive_int,
        metavar="N",
        help="rows read per chunk, which bounds memory (default: about "
        f"{DEFAULT_CHUNK_VALUES:,} values per chunk divided by the number "
        "of columns)",
    )
    reduce.add_argument(
        "--report",
        metavar="REPORT.json",
        help="also write the table of dimensions, the encoding and the "
        "fitted parameters as JSON",
    )
    return parser


def run_reduce(args, stdout, stderr):
    """Run the reduce command: check options, pass 1, fit, print, pass 2, report."""
    _check_options(args)
    table, is_example = _open_input(args)
    drop = list(args.drop)
    if is_example and EXAMPLE_TARGET not in args.target:
        drop.append(EXAMPLE_TARGET)
    roles = assign_roles(
        table.columns,
        targets=args.target,
        weight=args.weight,
        keep=args.keep,
        drop=drop,
        text=args.categorical,
        label=table.label,
    )
    options = EncodingOptions(
        standardize=args.standardize,
        impute=args.impute == "mean",
        max_categories=args.max_categories,
        objective=args.objective or "auto",
    )
    chunk_rows = args.chunk_rows or _default_chunk_rows(
        len(roles.used) + len(roles.passthrough)
    )

    statistics_pass = StatisticsPass(roles, options, table.label)
    progress = Progress(stderr, "pass 1 of 2, statistics" if args.output else "statistics")
    for chunk in table.chunks(roles.used, (), chunk_rows):
        statistics_pass.add(chunk)
        progress.update(chunk.fraction_read)
    progress.close()
    encoded = statistics_pass.finish()

    estimator = _fit_estimator(args, table.label, encoded, stderr)
    output_names = list(estimator.get_feature_names_out())
    if args.output:
        _check_output_names(roles.passthrough, output_names)
    stdout.write(format_summary(args, table.label, encoded, estimator))
    if is_example:
        stdout.write(
            "This is a built-in example: pass INPUT -o OUTPUT to reduce a CSV or Parquet "
            f"file, or --target {EXAMPLE_TARGET} for the supervised basis.\n"
        )
    # A failing stdout, such as a full disk, stops the run before OUTPUT is written.
    stdout.flush()

    # The report goes to a temporary file first and is renamed only after OUTPUT, so a
    # failure in pass 2 leaves neither file.
    report = None
    try:
        if args.report:
            report = write_report(args, table.label, encoded, estimator, output_names)
        n_written = None
        if args.output:
            n_written = write_output(
                table,
                roles,
                encoded,
                estimator,
                args.output,
                chunk_rows,
                Progress(stderr, "pass 2 of 2, writing"),
            )
        if report is not None:
            _commit_report(report)
    except BaseException:
        if report is not None:
            report.discard()
        raise

    if n_written is not None:
        stdout.write(
            f"Wrote {plural(n_written, 'row')} of {len(roles.passthrough)} kept and "
            f"{len(output_names)} reduced columns to {args.output}\n"
        )
    if report is not None:
        stdout.write(f"Wrote the report to {args.report}\n")


def _commit_report(report):
    try:
        report.commit()
    except OSError as error:
        raise InputError(
            f"cannot write --report {report.path!r}: {error_text(error)}; check free "
            "disk space and permissions."
        ) from None


def _check_options(args):
    """Reject option combinations and unusable paths before any input is read."""
    for option, path in (("-o", args.output), ("--report", args.report)):
        if path == "":
            raise InputError(
                f"{option} is an empty string; pass a file name, or leave out {option}."
            )
    if args.input is None:
        for option, value in (("-o", args.output), ("--keep", args.keep)):
            if value:
                raise InputError(
                    f"{option} needs INPUT: without INPUT the command reduces a built-in "
                    "example and writes no table; pass INPUT before the options."
                )
    if args.keep and not args.output:
        raise InputError(
            f"--keep {args.keep[0]} needs -o OUTPUT to copy the column to; "
            "pass -o OUTPUT or remove --keep."
        )
    if not args.target:
        for option, value in (
            ("--objective", args.objective),
            ("--reconstruction-weight", args.reconstruction_weight),
            ("--alpha", args.alpha),
        ):
            if value is not None:
                raise InputError(
                    f"{option} applies only to a supervised basis; name a target "
                    f"column with --target or remove {option}."
                )
    if args.output:
        output_format, _ = table_format(args.output, "OUTPUT")
        _check_directory(args.output, "OUTPUT")
        if output_format == "parquet":
            import_pyarrow()
    if args.report:
        _check_directory(args.report, "--report")
    _check_distinct_files(args)


def _check_directory(path, option):
    """Raise InputError unless path can become a file in an existing directory."""
    if os.path.isdir(path):
        raise InputError(f"{option} {path!r} is a directory; pass the path of a file instead.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(
            f"the directory of {option} {path!r} does not exist; create "
            f"{directory!r} or choose another path."
        )


def _check_distinct_files(args):
    """Raise InputError when INPUT, OUTPUT and --report name the same file.

    Symbolic links, hard links and paths through linked directories count as the same
    file, because writing one would overwrite the other.
    """
    paths = [("INPUT", args.input), ("OUTPUT", args.output), ("--report", args.report)]
    for index, (first_name, first) in enumerate(paths):
        for second_name, second in paths[index + 1 :]:
            if first and second and _same_file(first, second):
                reason = (
                    "writing it would replace INPUT"
                    if first_name == "INPUT"
                    else "one would overwrite the other"
                )
                raise InputError(
                    f"{second_name} {second!r} is the same file as {first_name} "
                    f"{first!r}; choose another {second_name} path, because {reason}."
                )


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        # samefile needs both files to exist. A file not created yet can match only
        # through symbolic links, which realpath resolves.
        return os.path.realpath(first) == os.path.realpath(second)


def _open_input(args):
    """Return the input table and whether it is the built-in example."""
    if args.input is not None:
        return open_table(args.input, text_columns=args.categorical), False

    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame[EXAMPLE_TARGET] = data.target_names[data.target.to_numpy()]
    return FrameTable(frame, EXAMPLE_LABEL), True


def _default_chunk_rows(n_columns):
    return int(np.clip(DEFAULT_CHUNK_VALUES // max(n_columns, 1), 1024, 1_000_000))


def _fit_estimator(args, label, encoded, stderr):
    """Fit MatryoshkaPCA, or MatryoshkaProjection with targets, from the pass-1 statistics."""
    from . import MatryoshkaPCA, MatryoshkaProjection

    _check_fit_size(args, label, encoded)
    n_components = args.n_components if args.n_components is not None else args.fraction
    if args.target:
        estimator = MatryoshkaProjection(
            n_components,
            objective=args.objective or "auto",
            reconstruction_weight=args.reconstruction_weight or 0.0,
            alpha=args.alpha or 0.0,
        )
        fit_arguments = {"classes": encoded.classes}
    else:
        estimator = MatryoshkaPCA(n_components)
        fit_arguments = {}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator.fit_from_statistics(encoded.statistics, **fit_arguments)
        except ValueError as error:
            raise InputError(
                f"cannot fit {type(estimator).__name__} to "
                f"{plural(encoded.n_rows, 'row')} and "
                f"{plural(encoded.statistics.n_features, 'feature')} of {label}: "
                f"{_in_cli_terms(error_text(error))}"
            ) from None
    for warning in caught:
        stderr.write(f"sklearn-mrl: warning: {error_text(warning.message)}\n")
    return estimator


def _check_fit_size(args, label, encoded):
    """Raise InputError, in the words of the command line, when the fit cannot succeed."""
    weight_sum = encoded.statistics.weight_sum
    if weight_sum_too_small(weight_sum):
        if args.weight is None:
            raise InputError(
                f"INPUT {label} has {plural(encoded.n_rows, 'data row')}; reducing "
                "needs at least 2."
            )
        raise InputError(
            f"the --weight column {args.weight!r} sums to {weight_sum:g} over the "
            f"{plural(encoded.n_rows, 'row')} of {label}, but variances divide by the "
            "weight sum minus 1, as for repeated rows; give the rows weights that sum "
            "to more than 1."
        )
    n_features = encoded.statistics.n_features
    if args.n_components is not None and args.n_components > n_features:
        raise InputError(
            f"-k {args.n_components} is more than the "
            f"{plural(n_features, 'feature')} of {label} (one per numeric column and "
            f"category); pass -k {n_features} or less, or leave out -k."
        )
    if encoded.classes is not None and len(encoded.classes) < 2:
        raise InputError(
            f"target column {encoded.target_names[0]!r} has one class label, "
            f"{encoded.classes.tolist()[0]!r}, in every row of {label}; class labels need "
            "at least 2 classes, so check the column or choose another --target."
        )


def _in_cli_terms(message):
    """Return an estimator's error message with option names in place of parameters."""
    for phrase, replacement in CLI_TERMS:
        message = message.replace(phrase, replacement)
    message = N_COMPONENTS_PATTERN.sub(r"-k \1", message)
    return message[:1].lower() + message[1:]


def _check_output_names(passthrough, output_names):
    clashes = sorted(set(passthrough) & set(output_names))
    if clashes:
        raise InputError(
            f"--keep column {clashes[0]!r} has the name of a reduced output "
            "column; rename it in INPUT or do not keep it."
        )


def write_output(table, roles, encoded, estimator, path, chunk_rows, progress):
    """Pass 2: encode, transform and append each chunk to OUTPUT; return the rows written.

    The rows go to a temporary file that replaces OUTPUT only when every chunk is
    written, so a failed or interrupted run leaves no partial OUTPUT.
    """
    names = list(estimator.get_feature_names_out())
    atomic_file = AtomicFile(path, "OUTPUT")
    writer = None
    n_written = 0
    try:
        writer = open_writer(atomic_file)
        for chunk in table.chunks(roles.features, roles.passthrough, chunk_rows):
            features = encoded.encoder.transform(chunk.frame, chunk.first_row)
            writer.write(chunk.passthrough, estimator.transform(features), names)
            n_written += len(chunk.frame)
            progress.update(chunk.fraction_read)
        writer.close()
        if n_written != encoded.n_rows:
            raise InputError(
                f"INPUT {table.label} had {encoded.n_rows} rows in pass 1 but {n_written} "
                "in pass 2; it changed while it was read, so run the command again."
            )
        atomic_file.commit()
    except BaseException as error:
        if writer is not None:
            _close_quietly(writer)
        atomic_file.discard()
        if isinstance(error, OSError):
            raise InputError(
                f"cannot write OUTPUT {path!r}: {error_text(error)}; check free disk "
                "space and permissions."
            ) from None
        raise
    finally:
        progress.close()
    return n_written


def _close_quietly(writer):
    try:
        writer.close()
    except Exception:  # noqa: BLE001 - the error that stopped the run is the one to report
        pass


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid integer {text!r}; pass a whole number such as 10"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive; pass an integer >= 1")
    return value


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid number {text!r}; pass a number such as 0.5"
        ) from None


def _open_fraction(text):
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{value} is not strictly between 0 and 1; pass a "
            "fraction such as 0.9, or use -k for a count"
        )
    return value


def _closed_fraction(text):
    value = _float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"{value} is not in [0, 1]; pass a weight such as 0.5"
        )
    return value


def _non_negative_float(text):
    value = _float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"{value} is not a finite number >= 0; pass for example 1.0"
        )
    return value
