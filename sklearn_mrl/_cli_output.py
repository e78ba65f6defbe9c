"""Text output of the command-line tool: the table of dimensions, progress and report."""

import json
import os
import time

import numpy as np

from ._encoding_messages import plural
from ._tabular import AtomicFile, InputError, error_text

# The progress display appears only for runs longer than this many seconds.
PROGRESS_DELAY_SECONDS = 1.0


def format_summary(args, label, encoded, estimator):
    """Return the description of the fit, the table of dimensions and the kept size."""
    lines = [
        f"{type(estimator).__name__} of {encoded.n_rows} rows of {label}",
        _describe_features(args, encoded),
    ]
    if args.target:
        targets = ", ".join(repr(name) for name in encoded.target_names)
        if encoded.classes is not None:
            targets += f" with {len(encoded.classes)} classes"
        lines.append(f"target: {targets}")
    lines.append("")
    lines.append(
        f"{'dimension':>9}  {'informativeness':>15}  {'ratio':>8}  "
        f"{'cumulative':>10}  {'eigengap':>10}"
    )
    for row in dimension_rows(estimator):
        lines.append(
            f"{row['dimension']:>9}  {row['informativeness']:>15.6g}  "
            f"{row['ratio']:>8.4f}  {row['cumulative_ratio']:>10.4f}  "
            f"{row['eigengap']:>10.3g}"
        )
    lines.append("")
    lines.append(_kept_sentence(args, estimator))
    return "\n".join(lines) + "\n"


def _describe_features(args, encoded):
    columns = encoded.encoder.columns
    n_numeric = sum(column.kind == "numeric" for column in columns)
    n_categorical = len(columns) - n_numeric
    parts = []
    if n_numeric:
        scaling = "standardized" if args.standardize else "in their units"
        parts.append(f"{plural(n_numeric, 'numeric column')} ({scaling})")
    if n_categorical:
        parts.append(f"{plural(n_categorical, 'categorical column')} (one-hot)")
    n_features = encoded.statistics.n_features
    return f"features: {n_features} from " + " and ".join(parts)


def dimension_rows(estimator):
    """Return one dict per kept dimension with its informativeness, ratios and eigengap."""
    cumulative = np.cumsum(estimator.informativeness_ratio_)
    return [
        {
            "dimension": index + 1,
            "informativeness": float(estimator.informativeness_[index]),
            "ratio": float(estimator.informativeness_ratio_[index]),
            "cumulative_ratio": float(cumulative[index]),
            "eigengap": float(estimator.eigengaps_[index]),
        }
        for index in range(estimator.n_components_)
    ]


def _kept_sentence(args, estimator):
    kept = estimator.n_components_
    dimensions = plural(kept, "dimension")
    if args.n_components is not None:
        return f"Kept {dimensions} (-k {args.n_components})."
    if args.fraction is not None:
        reached = float(np.sum(estimator.informativeness_ratio_))
        if reached <= args.fraction:
            return (
                f"Kept {dimensions}, every informative one: together they explain "
                f"{reached:.4f} of the objective, not more than --fraction {args.fraction}."
            )
        return (
            f"Kept {dimensions}, the smallest prefix whose cumulative ratio exceeds "
            f"{args.fraction} (--fraction {args.fraction})."
        )
    if kept == 1:
        return "Kept 1 dimension, the only informative one."
    return (
        f"Kept {dimensions}, every informative one; pass -k N or --fraction F to keep fewer."
    )


def write_report(args, label, encoded, estimator, output_names):
    """Write the dimensions, the encoding and the fitted parameters as JSON for --report.

    The JSON goes to a temporary file next to --report, whose AtomicFile is returned:
    the caller commits it once OUTPUT is written, or discards it.
    """
    report = {
        "input": label if args.input is None else args.input,
        "output": args.output,
        "rows": encoded.n_rows,
        "weight_sum": encoded.statistics.weight_sum,
        "estimator": type(estimator).__name__,
        "parameters": estimator.get_params(),
        "n_components": int(estimator.n_components_),
        "dimensions": dimension_rows(estimator),
        "prefix_loss": estimator.prefix_loss_.tolist(),
        "targets": list(encoded.target_names),
        "weight": args.weight,
        "classes": None if encoded.classes is None else encoded.classes.tolist(),
        "features": encoded.encoder.feature_names,
        "encoding": encoded.encoder.to_dict(),
        "output_columns": output_names,
        "mean": estimator.mean_.tolist(),
        "components": estimator.components_.tolist(),
    }
    atomic_file = AtomicFile(args.report, "--report")
    try:
        with open(atomic_file.temporary_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, default=_json_default)
            handle.write("\n")
    except OSError as error:
        atomic_file.discard()
        raise InputError(
            f"cannot write --report {args.report!r}: {error_text(error)}; check free disk "
            "space and permissions."
        ) from None
    except BaseException:
        atomic_file.discard()
        raise
    return atomic_file


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    # Categories of other types, such as the dates and bytes of Parquet date32 and
    # binary columns, are written as their text, which is also in the feature names.
    return str(value)


class StandardOutput:
    """A wrapper of stdout that stops writing once the reader has closed the pipe.

    After BrokenPipeError, as when the output goes to ``head -1``, writes are dropped
    and the run goes on. Other write errors, such as ENOSPC on /dev/full, stop
    writing too and raise InputError.
    """

    def __init__(self, stream):
        self._stream = stream
        self._failed = False

    def write(self, text):
        self._call(self._stream.write, text)

    def flush(self):
        self._call(self._stream.flush)

    def _call(self, method, *arguments):
        if self._failed:
            return
        try:
            method(*arguments)
        except OSError as error:
            self._failed = True
            self._discard_buffer()
            if not isinstance(error, BrokenPipeError):
                raise InputError(
                    f"cannot write to standard output: {error_text(error)}; redirect it "
                    "to a file or device with free space."
                ) from None

    def _discard_buffer(self):
        """Point the stream's file descriptor at os.devnull.

        Python flushes sys.stdout again at exit, and without this that flush would
        print a second error about the text still in its buffer.
        """
        try:
            descriptor = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, descriptor)
        finally:
            os.close(devnull)


class Progress:
    """A one-line percentage on stderr, shown only when stderr is a terminal.

    It appears once a pass has run for PROGRESS_DELAY_SECONDS and is updated at most
    five times a second; close() erases it.
    """

    def __init__(self, stream, label):
        self._stream = stream
        self._label = label
        self._enabled = hasattr(stream, "isatty") and stream.isatty()
        self._start = time.monotonic()
        self._last_update = 0.0
        self._shown = False

    def update(self, fraction):
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._start < PROGRESS_DELAY_SECONDS or now - self._last_update < 0.2:
            return
        self._stream.write(f"\r{self._label}: {fraction:4.0%}")
        self._stream.flush()
        self._last_update = now
        self._shown = True

    def close(self):
        if self._shown:
            self._stream.write("\r" + " " * (len(self._label) + 7) + "\r")
            self._stream.flush()
            self._shown = False
