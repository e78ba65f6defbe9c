"""Markdown tables of the results, the machine record and the target verdicts."""

import datetime
import os
import platform
import subprocess

import numpy as np

from benchmarks._plan import FLOAT32_SKIPPED
from benchmarks._runner import REPOSITORY_ROOT
from benchmarks._targets import evaluate

# Environment variables that change which BLAS kernel runs or how many threads it uses.
BLAS_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)

GROUP_TITLES = {
    "pca": "Principal axes: fit on dense X",
    "projection": "Supervised projections: fit on dense X and targets (float64)",
    "transform": "Transform throughput (n_components=10)",
    "sparse": "Sparse one-hot input: fit",
    "partial_fit": "partial_fit over 100 batches against one fit (float64)",
    "scaling": "Scaling of MatryoshkaPCA.fit",
}


def environment_lines(command, environment):
    """Return the record of the machine, libraries, BLAS and its variables."""
    import scipy
    import sklearn

    import sklearn_mrl

    lines = [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command}`",
        f"- Commit: {_git_commit()}",
        f"- Machine: {platform.machine()}, {environment.get('cpu_count')} logical CPUs, "
        f"{environment.get('affinity')} usable by the workers; Python "
        f"{platform.python_version()}",
        f"- Versions: numpy {environment.get('numpy')}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, sklearn-mrl {sklearn_mrl.__version__}",
    ]
    for library in environment.get("threadpool_info", []):
        lines.append(
            f"- BLAS: {library.get('internal_api')} {library.get('version')}, kernel "
            f"{library.get('architecture')}, {_threads(library.get('num_threads'))}, "
            f"threading layer {library.get('threading_layer')} "
            f"(`{os.path.basename(library.get('filepath', ''))}`)"
        )
    if "error" in environment:
        lines.append(f"- BLAS: not recorded ({environment['error']})")
    variables = ", ".join(
        f"{name}={os.environ[name]}" if name in os.environ else f"{name} unset"
        for name in BLAS_VARIABLES
    )
    lines.append(f"- BLAS variables: {variables}")
    return lines


def case_table(group, cases, results):
    """Return the Markdown table of one group."""
    if group == "scaling":
        return _scaling_table(cases, results)

    throughput = group == "transform"
    memory_unit = "peak / storage" if group == "sparse" else "peak / X"
    header = ["n_samples", "n_features", "dtype"]
    if group == "projection":
        header.append("y")
    header += ["contender", "median s", "min-max s", "x baseline", memory_unit]
    if throughput:
        header.append("Mrows/s")

    rows = []
    for case in cases:
        summaries = results[case.key]
        baseline = summaries.get(case.baseline)
        prefix = [f"{case.label['n_samples']:,}", str(case.label["n_features"]),
                  case.label["dtype"]]
        if group == "projection":
            prefix.append(case.label["y"])
        for name in case.contenders:
            summary = summaries[name]
            if not summary.ok:
                rows.append(prefix + [name, "error: " + summary.errors[0][:60], "", "", ""]
                            + ([""] if throughput else []))
                continue
            ratio = (f"{summary.median / baseline.median:.2f}"
                     if baseline is not None and baseline.ok else "")
            row = prefix + [
                _contender_cell(name, case.baseline),
                f"{summary.median:.3f}",
                f"{summary.minimum:.3f}-{summary.maximum:.3f}",
                ratio,
                f"{summary.peak_multiple:.2f}",
            ]
            if throughput:
                row.append(f"{summary.n_samples / summary.median / 1e6:.1f}")
            rows.append(row)
        for name in case.skipped:
            reason = ("not run on float32" if case.label["dtype"] == "float32"
                      and name in FLOAT32_SKIPPED else "not run: above its size limit")
            rows.append(prefix + [name, reason, "", "", ""] + ([""] if throughput else []))
    return _markdown(header, rows)


def targets_table(targets, results):
    rows = []
    for target in targets:
        measured, bound, verdict = evaluate(target, results)
        label = target.label
        case = f"{label['n_samples']:,} x {label['n_features']} {label['dtype']}"
        rows.append([target.text, case, measured, bound, verdict])
    return _markdown(["target", "case", "measured", "bound", "result"], rows)


def _scaling_table(cases, results):
    lines = []
    for sweep in ("n_samples", "n_features"):
        sweep_cases = [case for case in cases if case.label.get("sweep") == sweep]
        if not sweep_cases:
            continue
        sizes, fit_times = [], []
        rows = []
        for case in sweep_cases:
            summaries = results[case.key]
            fit = summaries["MatryoshkaPCA"]
            eigh = summaries.get("eigh of the d x d scatter")
            if not fit.ok:
                continue
            sizes.append(case.label[sweep])
            fit_times.append(fit.median)
            row = [f"{case.label['n_samples']:,}", str(case.label["n_features"]),
                   f"{fit.median:.4f}", f"{fit.minimum:.4f}-{fit.maximum:.4f}"]
            if sweep == "n_features":
                row.append(f"{eigh.median:.4f}" if eigh is not None and eigh.ok else "")
            rows.append(row)
        slopes = _local_exponents(sizes, fit_times)
        for row, slope in zip(rows, slopes):
            row.append(slope)
        header = ["n_samples", "n_features", "fit median s", "min-max s"]
        if sweep == "n_features":
            header.append("eigh alone s")
        header.append("local exponent")
        lines.append(f"Sweep over {sweep}:")
        lines.append("")
        lines.append(_markdown(header, rows))
        lines.append("")
        if len(sizes) >= 2:
            exponent = np.polyfit(np.log(sizes), np.log(fit_times), 1)[0]
            lines.append(f"Fitted exponent (least squares on log time against log "
                         f"{sweep}, all points): {exponent:.2f}")
            if sweep == "n_features" and len(sizes) >= 4:
                upper = np.polyfit(np.log(sizes[-3:]), np.log(fit_times[-3:]), 1)[0]
                lines.append("")
                lines.append(f"Fitted exponent over the largest three n_features: "
                             f"{upper:.2f}")
            lines.append("")
    return "\n".join(lines).rstrip()


def _threads(count):
    return f"{count} thread" if count == 1 else f"{count} threads"


def _local_exponents(sizes, times):
    slopes = [""]
    for index in range(1, len(sizes)):
        slope = np.log(times[index] / times[index - 1]) / np.log(sizes[index] / sizes[index - 1])
        slopes.append(f"{slope:.2f}")
    return slopes


def _contender_cell(name, baseline):
    return f"{name} (baseline)" if name == baseline else name


def _markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _git_commit():
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPOSITORY_ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "sklearn_mrl"], cwd=REPOSITORY_ROOT,
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} with uncommitted changes to sklearn_mrl" if changed else commit
