"""Peak memory of `sklearn-mrl reduce` on files of 2 and 8 million rows.

The script writes synthetic tables of 50 correlated float64 columns in chunks to a
temporary directory and reduces each with the command line in a fresh subprocess. It
prints the peak resident memory of each run, ru_maxrss from os.wait4, so each child is
measured alone. Streaming works when the two peaks are close to each other and well
below the size of the smaller table in memory. Nothing is asserted.

Parquet tables are written in row groups of WRITE_CHUNK_ROWS rows (100 MB of float64
values), with plain encoding, since dictionary encoding cannot compress continuous
values. --dictionary keeps pyarrow's default, which tries dictionary encoding first and
makes the reader allocate more.

    python benchmarks/cli_memory.py [--rows 2000000 8000000] [--format parquet]
        [--dictionary]

Needs pyarrow for Parquet files. The files are deleted at the end unless --keep-files.
"""

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
WRITE_CHUNK_ROWS = 250_000
N_KEPT_DIMENSIONS = 10


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[2_000_000, 8_000_000],
        help="rows of each generated table (default: 2000000 8000000)",
    )
    parser.add_argument(
        "--columns", type=int, default=50, help="numeric columns (default: 50)"
    )
    parser.add_argument(
        "--format",
        choices=["parquet", "csv"],
        default="parquet",
        help="file format of the generated tables (default: parquet)",
    )
    parser.add_argument(
        "--dictionary",
        action="store_true",
        help="write Parquet with pyarrow's default dictionary encoding (default: plain)",
    )
    parser.add_argument(
        "--directory", help="where to write the tables (default: a new temporary directory)"
    )
    parser.add_argument(
        "--keep-files", action="store_true", help="keep the generated tables and outputs"
    )
    return parser.parse_args()


def write_table(path, n_rows, n_columns, file_format, seed, use_dictionary):
    """Write n_rows rows of correlated Gaussian columns, WRITE_CHUNK_ROWS at a time."""
    rng = np.random.default_rng(seed)
    # A decaying spectrum, so the principal axes are well separated.
    mixing = (
        rng.standard_normal((n_columns, n_columns)) * np.geomspace(3, 0.1, n_columns)[:, None]
    )
    offsets = rng.uniform(-5, 5, n_columns)
    names = [f"x{index:02d}" for index in range(n_columns)]
    writer = None
    for start in range(0, n_rows, WRITE_CHUNK_ROWS):
        n_chunk = min(WRITE_CHUNK_ROWS, n_rows - start)
        values = rng.standard_normal((n_chunk, n_columns)) @ mixing + offsets
        if file_format == "csv":
            import pandas as pd

            frame = pd.DataFrame(values, columns=names)
            frame.to_csv(path, mode="a", header=start == 0, index=False)
            continue

        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_arrays(list(values.T), names=names)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, use_dictionary=use_dictionary)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def run_measured(command):
    """Run command in a fresh process; return (peak RSS in bytes, seconds, exit status)."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")])
    )
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux.
    return usage.ru_maxrss * 1024, elapsed, process.returncode


def main():
    args = parse_arguments()
    directory = Path(args.directory or tempfile.mkdtemp(prefix="sklearn-mrl-cli-memory-"))
    directory.mkdir(parents=True, exist_ok=True)
    bytes_per_row = 8 * args.columns
    needed = sum(args.rows) * bytes_per_row * (3 if args.format == "csv" else 1.3)
    free = shutil.disk_usage(directory).free
    if free < needed:
        sys.exit(
            f"{directory} has {free / 1e9:.1f} GB free, but the tables need about "
            f"{needed / 1e9:.1f} GB; pass --directory on a larger disk or fewer --rows."
        )

    baseline_command = [
        sys.executable,
        "-c",
        "import pyarrow.parquet, sklearn_mrl.cli, sklearn_mrl._encoding",
    ]
    baseline, _, _ = run_measured(baseline_command)
    print(f"Python with sklearn_mrl, pandas and pyarrow imported: {baseline / 2**20:.0f} MiB")

    results = []
    for seed, n_rows in enumerate(args.rows):
        path = directory / f"table-{n_rows}.{args.format}"
        output = directory / f"reduced-{n_rows}.{args.format}"
        start = time.perf_counter()
        # The child's ru_maxrss counts the pages it shares with the parent after fork, so
        # the tables are generated in a spawned process and this process stays small.
        writer = multiprocessing.get_context("spawn").Process(
            target=write_table,
            args=(path, n_rows, args.columns, args.format, seed, args.dictionary),
        )
        writer.start()
        writer.join()
        if writer.exitcode != 0:
            sys.exit(f"writing {path} failed with exit code {writer.exitcode}")
        print(
            f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )

        command = [
            sys.executable,
            "-m",
            "sklearn_mrl",
            "reduce",
            str(path),
            "-o",
            str(output),
            "-k",
            str(N_KEPT_DIMENSIONS),
        ]
        peak, seconds, status = run_measured(command)
        results.append((n_rows, path.stat().st_size, peak, seconds, status))
        print(f"reduced {n_rows} rows in {seconds:.0f} s, exit status {status}", flush=True)
        if not args.keep_files:
            path.unlink()
            output.unlink(missing_ok=True)

    print()
    print(f"command: python -m sklearn_mrl reduce TABLE -o OUTPUT -k {N_KEPT_DIMENSIONS}")
    print(
        f"{'rows':>10}  {'file GB':>8}  {'in-memory MB':>12}  {'peak RSS MiB':>12}  "
        f"{'seconds':>8}  {'status':>6}"
    )
    for n_rows, file_size, peak, seconds, status in results:
        print(
            f"{n_rows:>10}  {file_size / 1e9:>8.2f}  {n_rows * bytes_per_row / 1e6:>12.0f}  "
            f"{peak / 2**20:>12.0f}  {seconds:>8.0f}  {status:>6}"
        )
    peaks = [peak for _, _, peak, _, _ in results]
    smallest_rows = min(args.rows)
    print(f"largest / smallest peak: {max(peaks) / min(peaks):.3f}")
    print(
        f"peak of the {smallest_rows}-row run / its table in memory "
        f"({smallest_rows * bytes_per_row / 1e6:.0f} MB): "
        f"{peaks[args.rows.index(smallest_rows)] / (smallest_rows * bytes_per_row):.3f}"
    )
    if not args.keep_files and args.directory is None:
        shutil.rmtree(directory)


if __name__ == "__main__":
    main()
