"""Run the benchmarks and print Markdown tables: ``python -m benchmarks --help``."""

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time

from benchmarks._contenders import projection_available
from benchmarks._plan import FULL, GROUPS, QUICK, build_plan
from benchmarks._report import (
    GROUP_TITLES,
    case_table,
    environment_lines,
    targets_table,
)
from benchmarks._runner import collect_environment, run_case
from benchmarks._targets import build_targets


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time sklearn-mrl against numpy and scikit-learn, one fresh process "
        "per measurement, and print Markdown tables with the target verdicts.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, for development (a few minutes)")
    parser.add_argument("--groups", default=",".join(GROUPS),
                        help=f"comma-separated groups to run (default: all of {','.join(GROUPS)})")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repetitions per contender (default: 3, and 4 on the main "
                        "cases of the full run)")
    parser.add_argument("--size", action="append", default=None, metavar="NxD",
                        help="run only the cases of this n_samples x n_features, for "
                        "example 1000000x100; may be repeated")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads per worker, set through OPENBLAS_NUM_THREADS, "
                        "OMP_NUM_THREADS and MKL_NUM_THREADS (default: the library's own "
                        "choice, all cores)")
    parser.add_argument("--list", action="store_true",
                        help="print the cases and the number of worker runs, run nothing")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds before one worker process is stopped (default: 600)")
    parser.add_argument("--output", help="also write the Markdown report to this file")
    parser.add_argument("--json", help="write every raw measurement to this JSON file")
    arguments = parser.parse_args(argv)

    groups = [group.strip() for group in arguments.groups.split(",") if group.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}; choose from {', '.join(GROUPS)}")
    arguments.groups = groups
    if arguments.size is not None:
        try:
            arguments.size = {tuple(int(part) for part in size.lower().split("x"))
                              for size in arguments.size}
        except ValueError:
            parser.error(f"--size must look like 1000000x100; got {arguments.size}")
    return arguments


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    arguments = parse_arguments(argv)
    sizes = QUICK if arguments.quick else FULL
    if arguments.repeats is not None:
        sizes = dataclasses.replace(sizes, repeats=arguments.repeats,
                                    main_repeats=arguments.repeats)
    cases = build_plan(sizes, arguments.groups)
    if arguments.size is not None:
        cases = [case for case in cases
                 if (case.label["n_samples"], case.label["n_features"]) in arguments.size]

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if arguments.list:
        for case in cases:
            runs = {name: case.repeats_of(name) for name in case.contenders}
            print(f"{case.group} {case.label}: {runs}")
        runs = sum(case.repeats_of(name) for case in cases for name in case.contenders)
        print(f"{len(cases)} cases, {runs} worker runs")
        return
    if arguments.threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(arguments.threads)

    if "projection" in arguments.groups and not projection_available():
        log("MatryoshkaProjection is not importable: the projection group is skipped.")

    started = time.perf_counter()
    environment = collect_environment(arguments.timeout)
    results = {}
    for index, case in enumerate(cases, start=1):
        log(f"[{index}/{len(cases)}] {case.group} {case.label}")
        results[case.key] = run_case(case, arguments.timeout, log)
    elapsed = time.perf_counter() - started

    command = "python -m benchmarks " + shlex.join(argv)
    report = render(command.strip(), environment, cases, results, sizes, elapsed)
    print(report)
    if arguments.output:
        with open(arguments.output, "w") as output:
            output.write(report + "\n")
    if arguments.json:
        write_json(arguments.json, cases, results, environment)


def render(command, environment, cases, results, sizes, elapsed):
    sections = ["## Run record", "", *environment_lines(command, environment),
                f"- Wall time of the whole run: {elapsed / 60:.1f} minutes", ""]
    sections += ["## Targets", "", targets_table(build_targets(sizes), results), ""]
    for group, title in GROUP_TITLES.items():
        group_cases = [case for case in cases if case.group == group]
        if group_cases:
            sections += [f"## {title}", "", case_table(group, group_cases, results), ""]
    return "\n".join(sections).rstrip()


def write_json(path, cases, results, environment):
    records = []
    for case in cases:
        for name, summary in results[case.key].items():
            records.append({
                "group": case.group,
                "label": case.label,
                "contender": name,
                "baseline": case.baseline,
                **dataclasses.asdict(summary),
            })
    with open(path, "w") as output:
        json.dump({"environment": environment, "results": records}, output, indent=1,
                  default=str)


if __name__ == "__main__":
    main()
