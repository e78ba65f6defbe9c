"""Time one contender once, in a fresh process, and print the measurement as JSON.

Usage: ``python -m benchmarks._worker '<json request>'``, with the request keys
``contender`` (a name in ``benchmarks._contenders.CONTENDERS``) and ``data_dir`` (a
directory written by ``benchmarks._data.write_data``). The run is:

1. map the data and touch every page of it (see ``benchmarks._data``);
2. prepare the operation (untimed setup) and run it once on the first WARM_UP_ROWS
   rows, which loads lazy imports and starts the BLAS threads;
3. reset the peak resident set size (writing 5 to /proc/self/clear_refs), record the
   resident set size, run the operation once under time.perf_counter, and read the
   peak again.

The extra peak memory is the peak resident set size during the operation minus the
resident set size just before it. It counts every allocation, BLAS and LAPACK
workspace included, which tracemalloc does not see. Where the peak cannot be reset,
the worker falls back to ru_maxrss minus its value before the operation, which is
exact as long as nothing before the operation peaked higher than the data itself.

``python -m benchmarks._worker --environment`` prints the BLAS libraries that
threadpoolctl finds after one BLAS and one LAPACK call, and
``python -m benchmarks._worker --write '<json data spec>' DIRECTORY`` writes the data
of a case, instead.
"""

import gc
import json
import os
import resource
import sys
import time

WARM_UP_ROWS = 2_000


def _read_status_bytes(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"/proc/self/status has no {field} line")


class PeakMemory:
    """Peak resident memory of the current process during a block of code."""

    def __init__(self):
        self.method = "VmHWM after clear_refs"
        try:
            _read_status_bytes("VmHWM")
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            self.method = "ru_maxrss"

    def start(self):
        if self.method == "ru_maxrss":
            self.before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        self.before = _read_status_bytes("VmRSS")

    def extra_bytes(self):
        if self.method == "ru_maxrss":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        else:
            peak = _read_status_bytes("VmHWM")
        return max(peak - self.before, 0)


def measure(request):
    from benchmarks._contenders import CONTENDERS
    from benchmarks._data import load_data

    data = load_data(request["data_dir"])
    prepare = CONTENDERS[request["contender"]]
    prepare(data.head(WARM_UP_ROWS))()

    operation = prepare(data)
    gc.collect()
    memory = PeakMemory()
    memory.start()
    start = time.perf_counter()
    operation()
    seconds = time.perf_counter() - start
    extra_bytes = memory.extra_bytes()
    return {
        "seconds": seconds,
        "extra_bytes": extra_bytes,
        "reference_bytes": data.reference_bytes,
        "n_samples": data.X.shape[0],
        "memory_method": memory.method,
    }


def environment():
    import numpy as np
    from scipy import linalg
    from threadpoolctl import threadpool_info

    matrix = np.random.default_rng(0).standard_normal((64, 64))
    linalg.eigh(matrix.T @ matrix)
    return {
        "threadpool_info": threadpool_info(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "numpy": np.__version__,
    }


def main(argv):
    try:
        if argv == ["--environment"]:
            result = environment()
        elif argv[:1] == ["--write"]:
            from benchmarks._data import write_data

            write_data(json.loads(argv[1]), argv[2])
            result = {"written": argv[2]}
        else:
            result = measure(json.loads(argv[0]))
    except MemoryError:
        result = {"error": "MemoryError"}
    except Exception as error:  # Reported in the table; the run goes on.
        result = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
