"""Run every contender of a case in fresh worker processes, in round-robin order.

Repetition r runs the contenders in their listed order rotated by r, so no contender
runs all its repetitions in a row and a slow period of the machine is shared out
between contenders instead of landing on one.
"""

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks._data import data_directory_root

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Summary:
    """Times and peak memory of one contender on one case, over its repetitions."""

    seconds: tuple
    extra_bytes: tuple
    reference_bytes: int
    n_samples: int
    errors: tuple

    @property
    def ok(self):
        return bool(self.seconds)

    @property
    def median(self):
        return statistics.median(self.seconds)

    @property
    def minimum(self):
        return min(self.seconds)

    @property
    def maximum(self):
        return max(self.seconds)

    @property
    def peak_multiple(self):
        """Peak memory during the operation, counting the input once, as a multiple of it.

        The largest over the repetitions: 1 + max(extra peak) / reference bytes.
        """
        return 1.0 + max(self.extra_bytes) / self.reference_bytes


def run_worker(request, timeout):
    """Run one measurement in a fresh interpreter and return its JSON result."""
    command = [sys.executable, "-m", "benchmarks._worker", *request]
    try:
        completed = subprocess.run(
            command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}

    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        stderr_tail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"worker exited with {completed.returncode}: {stderr_tail[0]}"}
    return json.loads(lines[-1])


def run_case(case, timeout, log):
    """Time every contender of a case case.repeats_of(name) times; return name -> Summary.

    The data of the case is written once, by a worker, to a directory that is removed
    when the case is done.
    """
    directory = tempfile.mkdtemp(prefix="sklearn-mrl-benchmark-", dir=data_directory_root())
    try:
        written = run_worker(["--write", json.dumps(case.data), directory], timeout)
        if "error" in written:
            log(f"    data: {written['error']}")
            runs = [written]
            return {name: _summarise(runs) for name in case.contenders}
        return _run_contenders(case, directory, timeout, log)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run_contenders(case, directory, timeout, log):
    results = {name: [] for name in case.contenders}
    for repetition in range(case.repeats):
        shift = repetition % len(case.contenders)
        order = case.contenders[shift:] + case.contenders[:shift]
        for name in order:
            if repetition >= case.repeats_of(name):
                continue
            request = json.dumps({"contender": name, "data_dir": directory})
            result = run_worker([request], timeout)
            results[name].append(result)
            if "error" in result:
                log(f"    {name}: {result['error']}")
            else:
                log(f"    {name}: {result['seconds']:.3f} s")
    return {name: _summarise(runs) for name, runs in results.items()}


def collect_environment(timeout):
    """Return the BLAS record of a worker process: threadpoolctl's view after BLAS calls."""
    return run_worker(["--environment"], timeout)


def _summarise(runs):
    measured = [run for run in runs if "error" not in run]
    return Summary(
        seconds=tuple(run["seconds"] for run in measured),
        extra_bytes=tuple(run["extra_bytes"] for run in measured),
        reference_bytes=measured[0]["reference_bytes"] if measured else 0,
        n_samples=measured[0]["n_samples"] if measured else 0,
        errors=tuple(run["error"] for run in runs if "error" in run),
    )
