"""Text output of the command-line tool: the table of dimensions, progress and report."""

import json
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
        return (
            f"Kept {dimensions}, the smallest prefix whose cumulative ratio exceeds "
            f"{args.fraction} (--fraction {args.fraction})."
        )
    return (
        f"Kept {dimensions}, every informative one; pass -k N or --fraction F to keep fewer."
    )


def write_report(args, label, encoded, estimator, output_names):
    """Write the dimensions, the encoding and the fitted parameters to --report as JSON."""
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
        atomic_file.commit()
    except OSError as error:
        atomic_file.discard()
        raise InputError(
            f"cannot write --report {args.report!r}: {error_text(error)}; check free disk "
            "space and permissions."
        ) from None
    except BaseException:
        atomic_file.discard()
        raise


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
