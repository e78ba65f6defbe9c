"""End-to-end tests of the sklearn-mrl command line on CSV and Parquet files.

The reference for every output is the in-memory estimator fitted to features encoded
here with pandas and numpy: numeric columns standardized with the weighted mean and
standard deviation (denominator: the weight sum), text columns one-hot encoded with
sorted categories.
"""

import bz2
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from sklearn_mrl import MatryoshkaPCA, MatryoshkaProjection, _cli_output, _tabular, cli

pytest.importorskip("pyarrow")

ATOL = 1e-10
REPOSITORY = Path(__file__).resolve().parent.parent
DATASETS = {"wine": load_wine, "diabetes": load_diabetes, "breast_cancer": load_breast_cancer}


def dataset_frame(name):
    """Return a bundled dataset as a DataFrame with an "id" column and a "target" column."""
    frame = DATASETS[name](as_frame=True).frame.copy()
    frame.insert(0, "id", [f"{name}-{index:04d}" for index in range(len(frame))])
    return frame


def write_table(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, row_group_size=50)
    return path


def read_table(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def run(argv, capsys):
    """Run main(argv) in-process; return (exit status, stdout, stderr)."""
    status = cli.main([str(argument) for argument in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def standardized(frame, weights=None):
    """Return the numeric columns of frame as a float64 array, standardized."""
    values = frame.to_numpy(dtype=np.float64)
    weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    mean = weights @ values / weights.sum()
    std = np.sqrt(weights @ (values - mean) ** 2 / weights.sum())
    return (values - mean) / std


def one_hot(series):
    """Return 0/1 indicator columns of sorted categories, then of missing values if any."""
    categories = sorted(series.dropna().unique())
    columns = [(series == category).to_numpy(dtype=float) for category in categories]
    if series.isna().any():
        columns.append(series.isna().to_numpy(dtype=float))
    return np.column_stack(columns)


def reduced_columns(frame):
    return frame.filter(regex="^matryoshka").to_numpy()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("name", ["wine", "diabetes", "breast_cancer"])
def test_pca_output_matches_in_memory(tmp_path, capsys, name, suffix):
    frame = dataset_frame(name)
    path = write_table(frame, tmp_path / f"{name}{suffix}")
    output = tmp_path / f"out{suffix}"

    status, out, err = run(
        ["reduce", path, "-o", output, "--keep", "id", "--drop", "target"], capsys
    )

    assert status == 0, err
    assert err == ""
    features = standardized(frame.drop(columns=["id", "target"]))
    expected = MatryoshkaPCA().fit(features).transform(features)
    result = read_table(output)
    assert result["id"].tolist() == frame["id"].tolist()
    np.testing.assert_allclose(reduced_columns(result), expected, rtol=0, atol=ATOL)
    assert f"Kept {expected.shape[1]} dimensions" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_regression_target_matches_in_memory(tmp_path, capsys, suffix):
    frame = dataset_frame("diabetes")
    path = write_table(frame, tmp_path / f"diabetes{suffix}")
    output = tmp_path / f"out{suffix}"

    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--keep",
            "id",
            "--target",
            "target",
            "-k",
            "4",
            "--alpha",
            "2.5",
        ],
        capsys,
    )

    assert status == 0, err
    features = standardized(frame.drop(columns=["id", "target"]))
    projection = MatryoshkaProjection(4, alpha=2.5).fit(features, frame["target"])
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), projection.transform(features), rtol=0, atol=ATOL
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_class_label_target_matches_in_memory(tmp_path, capsys, suffix):
    frame = dataset_frame("wine")
    frame["target"] = load_wine().target_names[frame["target"]]
    path = write_table(frame, tmp_path / f"wine{suffix}")
    output = tmp_path / f"out{suffix}"
    report = tmp_path / "report.json"

    status, out, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--drop",
            "id",
            "--target",
            "target",
            "--report",
            report,
        ],
        capsys,
    )

    assert status == 0, err
    features = standardized(frame.drop(columns=["id", "target"]))
    projection = MatryoshkaProjection().fit(features, frame["target"])
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), projection.transform(features), rtol=0, atol=ATOL
    )
    assert "with 3 classes" in out
    assert json.loads(report.read_text())["classes"] == ["class_0", "class_1", "class_2"]


def test_integer_target_is_class_labels(tmp_path, capsys):
    frame = dataset_frame("wine")
    path = write_table(frame, tmp_path / "wine.csv")

    status, out, err = run(["reduce", path, "--target", "target", "--drop", "id"], capsys)

    assert status == 0, err
    assert "with 3 classes" in out


def test_categories_and_imputation_match_in_memory(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns="target")
    frame["color"] = np.where(frame["alcohol"] > 13, "dark", "light")
    frame.loc[[3, 40], "color"] = None
    frame.loc[[5, 6, 100], "ash"] = np.nan
    path = write_table(frame, tmp_path / "wine.csv")
    output = tmp_path / "out.csv"

    status, out, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--keep",
            "id",
            "--impute",
            "mean",
            "--chunk-rows",
            "16",
        ],
        capsys,
    )

    assert status == 0, err
    numeric = frame.drop(columns=["id", "color"])
    numeric = numeric.fillna(numeric.mean())
    features = np.hstack([standardized(numeric), one_hot(frame["color"])])
    expected = MatryoshkaPCA().fit(features).transform(features)
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), expected, rtol=0, atol=ATOL
    )
    assert "1 categorical column (one-hot)" in out


def test_weight_column_matches_in_memory(tmp_path, capsys):
    frame = dataset_frame("breast_cancer")
    frame["w"] = np.arange(len(frame)) % 4
    path = write_table(frame, tmp_path / "cancer.parquet")
    output = tmp_path / "out.parquet"

    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--drop",
            "id",
            "--target",
            "target",
            "--weight",
            "w",
            "--reconstruction-weight",
            "0.3",
            "-k",
            "5",
        ],
        capsys,
    )

    assert status == 0, err
    features = standardized(frame.drop(columns=["id", "target", "w"]), frame["w"])
    projection = MatryoshkaProjection(5, reconstruction_weight=0.3)
    projection.fit(features, frame["target"], sample_weight=frame["w"])
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), projection.transform(features), rtol=0, atol=ATOL
    )


def test_no_standardize_keeps_units(tmp_path, capsys):
    frame = dataset_frame("diabetes").drop(columns="target")
    path = write_table(frame, tmp_path / "diabetes.csv")
    output = tmp_path / "out.csv"

    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--drop",
            "id",
            "--no-standardize",
            "--fraction",
            "0.8",
        ],
        capsys,
    )

    assert status == 0, err
    features = frame.drop(columns="id").to_numpy()
    expected = MatryoshkaPCA(0.8).fit(features).transform(features)
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), expected, rtol=0, atol=ATOL
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_small_chunks_equal_one_chunk(tmp_path, capsys, suffix):
    frame = dataset_frame("wine")
    frame["shade"] = np.array(["red", "white", "rose"])[np.arange(len(frame)) % 3]
    path = write_table(frame, tmp_path / f"wine{suffix}")
    outputs = {}
    for chunk_rows in (7, 100_000):
        output = tmp_path / f"out-{chunk_rows}{suffix}"
        status, _, err = run(
            [
                "reduce",
                path,
                "-o",
                output,
                "--keep",
                "id",
                "--target",
                "target",
                "--reconstruction-weight",
                "0.5",
                "--chunk-rows",
                chunk_rows,
            ],
            capsys,
        )
        assert status == 0, err
        outputs[chunk_rows] = read_table(output)

    assert outputs[7]["id"].tolist() == outputs[100_000]["id"].tolist()
    np.testing.assert_allclose(
        reduced_columns(outputs[7]), reduced_columns(outputs[100_000]), rtol=0, atol=ATOL
    )


def test_new_categories_in_late_chunks(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns="target")
    # Category "z" first appears in the last chunk and "a" only in the middle.
    frame["group"] = "m"
    frame.loc[60:70, "group"] = "a"
    frame.loc[170:, "group"] = "z"
    path = write_table(frame, tmp_path / "wine.csv")
    output = tmp_path / "out.csv"

    status, _, err = run(
        ["reduce", path, "-o", output, "--drop", "id", "--chunk-rows", "25"], capsys
    )

    assert status == 0, err
    numeric = frame.drop(columns=["id", "group"])
    features = np.hstack([standardized(numeric), one_hot(frame["group"])])
    expected = MatryoshkaPCA().fit(features).transform(features)
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), expected, rtol=0, atol=ATOL
    )


def test_columns_missing_in_first_chunks(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns="target")
    frame["shade"] = np.array(["red", "white", "rose"])[np.arange(len(frame)) % 3]
    frame.loc[:29, ["shade", "ash"]] = None
    frame.loc[90:99, "shade"] = None
    frame["w"] = np.arange(len(frame)) % 3
    path = write_table(frame, tmp_path / "wine.csv")
    output = tmp_path / "out.csv"

    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--drop",
            "id",
            "--weight",
            "w",
            "--impute",
            "mean",
            "--chunk-rows",
            "10",
        ],
        capsys,
    )

    assert status == 0, err
    weights = frame["w"].to_numpy(dtype=float)
    numeric = frame.drop(columns=["id", "shade", "w"])
    present = numeric.notna().to_numpy()
    fill = (numeric.fillna(0).to_numpy() * weights[:, None]).sum(0) / (
        present * weights[:, None]
    ).sum(0)
    numeric = numeric.fillna(pd.Series(fill, index=numeric.columns))
    features = np.hstack([standardized(numeric, weights), one_hot(frame["shade"])])
    pca = MatryoshkaPCA().fit(features, sample_weight=weights)
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), pca.transform(features), rtol=0, atol=ATOL
    )


def test_kept_csv_columns_are_verbatim(tmp_path, capsys):
    path = tmp_path / "ids.csv"
    path.write_text("code,x,y\n007,1.5,2\nNA,2.5,1\n,3.5,7\n1e3,4.5,3\n")
    output = tmp_path / "out.csv"

    status, _, err = run(["reduce", path, "-o", output, "--keep", "code"], capsys)

    assert status == 0, err
    lines = output.read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["code", "007", "NA", "", "1e3"]


def test_parquet_output_keeps_column_types(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns="target")
    frame.insert(0, "number", np.arange(len(frame), dtype=np.int64))
    path = write_table(frame, tmp_path / "wine.parquet")
    output = tmp_path / "out.parquet"

    status, _, err = run(["reduce", path, "-o", output, "--keep", "number", "id"], capsys)

    assert status == 0, err
    result = pd.read_parquet(output)
    assert list(result.columns[:2]) == ["number", "id"]
    assert result["number"].dtype == np.int64
    assert result["number"].tolist() == frame["number"].tolist()
    assert result["id"].tolist() == frame["id"].tolist()


def test_compressed_csv_round_trip(tmp_path, capsys):
    frame = dataset_frame("diabetes").drop(columns="target")
    path = tmp_path / "diabetes.csv.gz"
    frame.to_csv(path, index=False)
    output = tmp_path / "out.csv.gz"

    status, _, err = run(["reduce", path, "-o", output, "--keep", "id", "-k", "2"], capsys)

    assert status == 0, err
    features = standardized(frame.drop(columns="id"))
    expected = MatryoshkaPCA(2).fit(features).transform(features)
    result = pd.read_csv(output)
    np.testing.assert_allclose(reduced_columns(result), expected, rtol=0, atol=ATOL)


def test_categorical_option_one_hot_encodes_numbers(tmp_path, capsys):
    frame = dataset_frame("wine")
    path = write_table(frame, tmp_path / "wine.parquet")
    output = tmp_path / "out.csv"

    status, _, err = run(
        ["reduce", path, "-o", output, "--drop", "id", "--categorical", "target"], capsys
    )

    assert status == 0, err
    numeric = standardized(frame.drop(columns=["id", "target"]))
    features = np.hstack([numeric, one_hot(frame["target"])])
    expected = MatryoshkaPCA().fit(features).transform(features)
    np.testing.assert_allclose(
        reduced_columns(read_table(output)), expected, rtol=0, atol=ATOL
    )


def test_report_contains_fit(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns="target")
    path = write_table(frame, tmp_path / "wine.csv")
    report_path = tmp_path / "report.json"

    status, out, err = run(
        ["reduce", path, "--drop", "id", "-k", "3", "--report", report_path], capsys
    )

    assert status == 0, err
    report = json.loads(report_path.read_text())
    features = standardized(frame.drop(columns="id"))
    pca = MatryoshkaPCA(3).fit(features)
    assert report["estimator"] == "MatryoshkaPCA"
    assert report["parameters"]["n_components"] == 3
    assert [row["dimension"] for row in report["dimensions"]] == [1, 2, 3]
    np.testing.assert_allclose(
        [row["informativeness"] for row in report["dimensions"]],
        pca.informativeness_,
        rtol=1e-10,
    )
    np.testing.assert_allclose(report["components"], pca.components_, atol=ATOL)
    encoding = report["encoding"][0]
    assert encoding["column"] == "alcohol"
    assert encoding["mean"] == pytest.approx(frame["alcohol"].mean(), rel=1e-12)
    assert encoding["scale"] == pytest.approx(frame["alcohol"].std(ddof=0), rel=1e-12)
    assert "cumulative" in out


def test_example_without_input_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    status, out, err = run(["reduce"], capsys)

    assert status == 0, err
    assert "breast cancer" in out
    assert "Kept 30 dimensions" in out
    assert list(tmp_path.iterdir()) == []


def test_example_with_class_label_target(capsys):
    status, out, err = run(["reduce", "--target", "diagnosis"], capsys)

    assert status == 0, err
    assert "with 2 classes" in out
    assert "Kept 1 dimension," in out


def test_module_entry_point_runs_example():
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    completed = subprocess.run(
        [sys.executable, "-m", "sklearn_mrl", "reduce"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=REPOSITORY,
    )

    assert completed.returncode == 0, completed.stderr
    assert "informativeness" in completed.stdout
    assert completed.stderr == ""


def test_progress_appears_on_terminal(monkeypatch):
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    monkeypatch.setattr(_cli_output, "PROGRESS_DELAY_SECONDS", 0.0)
    terminal = Terminal()
    progress = _cli_output.Progress(terminal, "pass 1 of 2")
    progress.update(0.5)
    progress.close()

    assert "\rpass 1 of 2:  50%" in terminal.text
    assert terminal.text.endswith("\r")


def write_bad_input(tmp_path, case):
    """Write the input of one bad-input case; return (argv after INPUT, INPUT path)."""
    frame = dataset_frame("wine")
    if case == "missing file":
        return [], tmp_path / "absent.csv"

    if case == "unknown format":
        path = tmp_path / "wine.txt"
        path.write_text("a,b\n1,2\n")
        return [], path

    if case == "unknown target column":
        return ["--target", "quality"], write_table(frame, tmp_path / "wine.csv")

    if case == "text target for regression":
        frame["target"] = load_wine().target_names[frame["target"]]
        path = write_table(frame, tmp_path / "wine.parquet")
        return ["--target", "target", "--objective", "regression"], path

    if case == "empty file":
        path = tmp_path / "empty.csv"
        path.write_text("")
        return [], path

    if case == "header only":
        path = tmp_path / "header.csv"
        path.write_text("a,b,c\n")
        return [], path

    if case == "type change between chunks":
        # The chunk of rows 151-200 starts with "150", a number, so the message must
        # pick the text value.
        frame["code"] = [str(index) for index in range(len(frame))]
        frame.loc[160, "code"] = "A7"
        return ["--chunk-rows", "50", "--drop", "id"], write_table(frame, tmp_path / "w.csv")

    if case == "text in weight column":
        frame["w"] = [str(index % 3) for index in range(len(frame))]
        frame.loc[29, "w"] = "heavy"
        return ["--drop", "id", "--weight", "w"], write_table(frame, tmp_path / "w.csv")

    if case == "too many categories":
        return [], write_table(frame, tmp_path / "wine.csv")

    if case == "missing values":
        frame.loc[[2, 9], "ash"] = np.nan
        return ["--drop", "id"], write_table(frame, tmp_path / "wine.csv")

    if case == "negative weight":
        frame["w"] = 1.0
        frame.loc[17, "w"] = -1.0
        return ["--drop", "id", "--weight", "w"], write_table(frame, tmp_path / "w.parquet")

    if case == "ragged csv":
        path = tmp_path / "ragged.csv"
        path.write_text("a,b\n1,2\n3,4,5\n6,7\n")
        return [], path

    if case == "extra field in every row":
        # pandas would read the first field as the index and shift the columns.
        path = tmp_path / "extra.csv"
        path.write_text("a,b\n1,10,100\n2,20,300\n3,35,200\n4,41,400\n")
        return [], path

    if case == "trailing comma in every row":
        path = tmp_path / "trailing.csv"
        path.write_text("a,b\n1,10,\n2,20,\n3,35,\n4,41,\n")
        return [], path

    if case == "semicolon separated":
        path = tmp_path / "semicolon.csv"
        path.write_text("a;b\n1;10\n2;20\n3;35\n")
        return [], path

    if case == "tab separated":
        path = tmp_path / "tab.csv"
        path.write_text("a\tb\n1\t10\n2\t20\n3\t35\n")
        return [], path

    if case in ("truncated gzip", "truncated bz2", "truncated xz"):
        # Truncated inside the header for gzip and inside the rows for the others.
        suffix, compress = {
            "truncated gzip": (".gz", gzip.compress),
            "truncated bz2": (".bz2", bz2.compress),
            "truncated xz": (".xz", lzma.compress),
        }[case]
        content = compress(frame.to_csv(index=False).encode())
        path = tmp_path / f"wine.csv{suffix}"
        path.write_bytes(content[:10] if case == "truncated gzip" else content[:-20])
        return ["--drop", "id", "--chunk-rows", "20"], path

    if case == "squares overflow":
        path = tmp_path / "big.csv"
        path.write_text("a,b\n1e200,2\n-1e200,1\n4,7\n0,0\n")
        return [], path

    if case == "squares overflow across chunks":
        # Each chunk's statistics are finite, and only their sum overflows.
        path = tmp_path / "big.csv"
        rows = [f"{3e153 if index % 2 else -3e153},{index}" for index in range(100)]
        path.write_text("a,b\n" + "\n".join(rows) + "\n")
        return ["--chunk-rows", "10"], path

    if case == "weights overflow":
        path = tmp_path / "heavy.csv"
        path.write_text("a,b,w\n1e5,2,1e300\n-1,1,1e300\n4,7,1\n0,0,1\n")
        return ["--weight", "w"], path

    if case == "list column":
        frame["tags"] = [[index % 3, 1] for index in range(len(frame))]
        return ["--drop", "id"], write_table(frame, tmp_path / "tags.parquet")

    if case == "one row":
        path = tmp_path / "one.csv"
        path.write_text("a,b\n1,2\n")
        return [], path

    if case == "weights sum to 1":
        frame["w"] = 0.0
        frame.loc[4, "w"] = 1.0
        return ["--drop", "id", "--weight", "w"], write_table(frame, tmp_path / "w.csv")

    if case == "one class":
        frame["target"] = "red"
        return ["--drop", "id", "--target", "target"], write_table(frame, tmp_path / "w.csv")

    if case == "constant target":
        frame["target"] = 1.5
        return ["--drop", "id", "--target", "target"], write_table(frame, tmp_path / "w.csv")

    if case == "corrupt parquet":
        path = tmp_path / "broken.parquet"
        path.write_bytes(b"not a parquet file")
        return [], path

    if case == "date column":
        frame["day"] = pd.date_range("2024-01-01", periods=len(frame), freq="D")
        return ["--drop", "id"], write_table(frame, tmp_path / "dated.parquet")

    if case == "too large k":
        return ["--drop", "id", "-k", "40"], write_table(frame, tmp_path / "wine.csv")

    raise AssertionError(case)


BAD_INPUTS = {
    "missing file": "not found",
    "unknown format": "unknown format",
    "unknown target column": "'quality' not found",
    "text target for regression": "needs numeric targets",
    "empty file": "is empty",
    "header only": "no data rows",
    "type change between chunks": "text such as 'A7' in data row 161",
    "text in weight column": "text such as 'heavy' in data row 30",
    "too many categories": "more than 50 categories",
    "missing values": "2 missing values",
    "negative weight": "data row 18",
    "ragged csv": "line 3 of INPUT",
    "extra field in every row": "line 2 of INPUT",
    "trailing comma in every row": "has 3 fields, but the header line has 2",
    "semicolon separated": "separated by semicolons",
    "tab separated": "separated by tabs",
    "truncated gzip": "cannot decompress INPUT",
    "truncated bz2": "cannot decompress INPUT",
    "truncated xz": "cannot decompress INPUT",
    "squares overflow": "because column 'a' has values as large as 1e+200",
    "squares overflow across chunks": "because column 'a' has values as large as 3e+153",
    "weights overflow": "the weight column 'w' has weights as large as 1e+300",
    "list column": "nested type",
    "corrupt parquet": "not a readable Parquet file",
    "date column": "--drop day",
    "too large k": "-k 40 is more than the 14 features",
    "one row": "has 1 data row; reducing needs at least 2",
    "weights sum to 1": "--weight column 'w' sums to 1",
    "one class": "one class label, 'red'",
    "constant target": "pass -k N",
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_fails_cleanly(tmp_path, capsys, case):
    argv, path = write_bad_input(tmp_path, case)
    output = tmp_path / "out" / "reduced.csv"
    output.parent.mkdir()
    report = output.parent / "report.json"

    status, out, err = run(["reduce", path, "-o", output, "--report", report, *argv], capsys)

    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("sklearn-mrl: error: ")
    assert BAD_INPUTS[case] in err
    assert "Traceback" not in err
    assert "n_components" not in err
    assert "sample_weight" not in err
    assert list(output.parent.iterdir()) == []


def test_failed_write_keeps_previous_output(tmp_path, capsys, monkeypatch):
    frame = dataset_frame("wine")
    path = write_table(frame, tmp_path / "wine.csv")
    output = tmp_path / "out.csv"
    output.write_text("previous\n")

    def fail_to_write(self, passthrough, coordinates, names):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sklearn_mrl._tabular.CsvWriter.write", fail_to_write)
    status, _, err = run(
        ["reduce", path, "-o", output, "--drop", "id", "--report", tmp_path / "r.json"],
        capsys,
    )

    assert status == 2
    assert "No space left on device" in err
    assert output.read_text() == "previous\n"
    assert sorted(item.name for item in tmp_path.iterdir()) == ["out.csv", "wine.csv"]


def test_failed_report_leaves_no_output(tmp_path, capsys, monkeypatch):
    path = write_table(dataset_frame("wine"), tmp_path / "wine.csv")

    def fail_to_dump(*arguments, **keywords):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_cli_output.json, "dump", fail_to_dump)
    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            tmp_path / "out.csv",
            "--drop",
            "id",
            "--report",
            tmp_path / "r.json",
        ],
        capsys,
    )

    assert status == 2
    assert "cannot write --report" in err
    assert sorted(item.name for item in tmp_path.iterdir()) == ["wine.csv"]


def same_file_case(tmp_path, case):
    """Create the files of one clash case; return the argv after "reduce"."""
    data = write_table(dataset_frame("wine").drop(columns="id"), tmp_path / "data.csv")
    if case == "symbolic link to INPUT":
        (tmp_path / "link.csv").symlink_to(data)
        return [tmp_path / "link.csv", "-o", data]
    if case == "linked directory":
        (tmp_path / "here").symlink_to(tmp_path, target_is_directory=True)
        return [data, "-o", tmp_path / "here" / "data.csv"]
    if case == "hard link":
        os.link(data, tmp_path / "hard.csv")
        return [tmp_path / "hard.csv", "-o", data]
    if case == "report is INPUT":
        return [data, "--report", data]
    if case == "report is OUTPUT":
        return [data, "-o", tmp_path / "o.csv", "--report", tmp_path / "o.csv"]
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "symbolic link to INPUT",
        "linked directory",
        "hard link",
        "report is INPUT",
        "report is OUTPUT",
    ],
)
def test_same_file_paths_rejected(tmp_path, capsys, case):
    argv = same_file_case(tmp_path, case)
    before = (tmp_path / "data.csv").read_bytes()
    names_before = sorted(item.name for item in tmp_path.iterdir())

    status, out, err = run(["reduce", *argv], capsys)

    assert status == 2
    assert len(err.splitlines()) == 1, err
    assert "is the same file as" in err
    assert out == ""
    assert (tmp_path / "data.csv").read_bytes() == before
    assert sorted(item.name for item in tmp_path.iterdir()) == names_before


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("-o", "", "-o is an empty string"),
        ("--report", "", "--report is an empty string"),
        ("-o", "folder.csv", "OUTPUT 'folder.csv' is a directory"),
        ("--report", "folder.csv", "--report 'folder.csv' is a directory"),
    ],
)
def test_unusable_output_paths_rejected(tmp_path, capsys, monkeypatch, option, value, message):
    monkeypatch.chdir(tmp_path)
    write_table(dataset_frame("wine").drop(columns="id"), tmp_path / "data.csv")
    (tmp_path / "folder.csv").mkdir()

    status, out, err = run(["reduce", "data.csv", option, value], capsys)

    assert status == 2
    assert message in err
    assert len(err.splitlines()) == 1, err
    assert out == ""
    assert list((tmp_path / "folder.csv").iterdir()) == []


def test_boolean_text_column_independent_of_chunks(tmp_path, capsys):
    # The first 24 rows contain only True and False, which pandas parses as booleans
    # in a chunk of 12 rows, while later chunks also contain "unknown".
    frame = dataset_frame("wine").drop(columns=["id", "target"]).iloc[:60].copy()
    flags = np.array(["True", "False", "unknown"])[np.arange(60) % 3]
    flags[:24] = np.where(np.arange(24) % 2, "True", "False")
    frame["flag"] = flags
    path = write_table(frame, tmp_path / "flags.csv")
    outputs = {}
    for target in ([], ["--target", "flag"]):
        for chunk_rows in ([], ["--chunk-rows", "12"]):
            output = tmp_path / f"out-{len(target)}-{len(chunk_rows)}.csv"
            status, out, err = run(
                ["reduce", path, "-o", output, *target, *chunk_rows], capsys
            )
            assert status == 0, err
            outputs[len(target), len(chunk_rows)] = read_table(output)

    for target in (0, 2):
        default, small = outputs[target, 0], outputs[target, 2]
        assert list(small.columns) == list(default.columns)
        np.testing.assert_allclose(
            reduced_columns(small), reduced_columns(default), rtol=0, atol=ATOL
        )
    features = np.hstack([standardized(frame.drop(columns="flag")), one_hot(frame["flag"])])
    expected = MatryoshkaPCA().fit(features).transform(features)
    np.testing.assert_allclose(reduced_columns(outputs[0, 2]), expected, rtol=0, atol=ATOL)


def test_report_of_date_and_binary_categories(tmp_path, capsys):
    frame = dataset_frame("wine").drop(columns=["id", "target"])
    frame["day"] = pd.to_datetime(["2024-01-01", "2024-01-02"] * 89).date
    frame["code"] = [b"x", b"y"] * 89
    path = write_table(frame, tmp_path / "dated.parquet")
    output = tmp_path / "out.parquet"
    report_path = tmp_path / "report.json"

    status, _, err = run(["reduce", path, "-o", output, "--report", report_path], capsys)

    assert status == 0, err
    encoding = {
        entry["column"]: entry for entry in json.loads(report_path.read_text())["encoding"]
    }
    assert encoding["day"]["categories"] == ["2024-01-01", "2024-01-02"]
    assert encoding["code"]["categories"] == ["b'x'", "b'y'"]
    assert output.exists()


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_termination_signal_removes_partial_output(tmp_path, capsys, monkeypatch, signal_name):
    signal_number = getattr(signal, signal_name, None)
    if signal_number is None:
        pytest.skip(f"{signal_name} does not exist on this platform")
    path = write_table(dataset_frame("wine"), tmp_path / "wine.csv")
    output = tmp_path / "out.csv"
    handler_before = signal.getsignal(signal_number)
    original_write = _tabular.CsvWriter.write
    chunks_written = []

    def write_then_signal(self, passthrough, coordinates, names):
        original_write(self, passthrough, coordinates, names)
        chunks_written.append(len(coordinates))
        if len(chunks_written) == 2:
            os.kill(os.getpid(), signal_number)

    monkeypatch.setattr(_tabular.CsvWriter, "write", write_then_signal)
    status, _, err = run(
        [
            "reduce",
            path,
            "-o",
            output,
            "--drop",
            "id",
            "--chunk-rows",
            "20",
            "--report",
            tmp_path / "report.json",
        ],
        capsys,
    )

    assert status == 128 + signal_number
    assert err == f"sklearn-mrl: stopped by {signal_name}; no partial output is left.\n"
    assert len(chunks_written) == 2
    assert sorted(item.name for item in tmp_path.iterdir()) == ["wine.csv"]
    assert signal.getsignal(signal_number) == handler_before


def run_module(argv, stdout, cwd):
    """Run python -m sklearn_mrl with argv and the given stdout; return the process."""
    return subprocess.run(
        [sys.executable, "-m", "sklearn_mrl", *map(str, argv)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPOSITORY)),
        cwd=cwd,
    )


def test_closed_stdout_pipe_is_quiet(tmp_path):
    path = write_table(dataset_frame("wine"), tmp_path / "wine.csv")
    output = tmp_path / "out.csv"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        completed = run_module(
            ["reduce", path, "-o", output, "--drop", "id"], write_end, tmp_path
        )
    finally:
        os.close(write_end)

    assert completed.stderr == ""
    assert completed.returncode == 0
    assert len(read_table(output)) == 178


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_stdout_fails_in_one_line(tmp_path):
    path = write_table(dataset_frame("wine"), tmp_path / "wine.csv")
    output = tmp_path / "out.csv"
    with open("/dev/full", "w") as full:
        completed = run_module(["reduce", path, "-o", output, "--drop", "id"], full, tmp_path)

    assert completed.returncode == 2
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    assert "cannot write to standard output" in completed.stderr
    assert sorted(item.name for item in tmp_path.iterdir()) == ["wine.csv"]


def test_parquet_without_pyarrow_names_extra(tmp_path, capsys, monkeypatch):
    path = write_table(dataset_frame("wine"), tmp_path / "wine.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    status, _, err = run(["reduce", path], capsys)

    assert status == 2
    assert 'pip install "sklearn-mrl[parquet]"' in err
    assert len(err.splitlines()) == 1


def test_parquet_output_without_pyarrow_fails_first(tmp_path, capsys, monkeypatch):
    path = write_table(dataset_frame("wine"), tmp_path / "wine.csv")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    def fail_if_read(*arguments):
        raise AssertionError("pass 1 started before the output format was checked")

    monkeypatch.setattr(_tabular.CsvTable, "chunks", fail_if_read)
    status, _, err = run(["reduce", path, "-o", tmp_path / "out.parquet"], capsys)

    assert status == 2
    assert 'pip install "sklearn-mrl[parquet]"' in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reduce", "-o", "out.csv"], "-o needs INPUT"),
        (["reduce", "--alpha", "1"], "--alpha applies only to a supervised basis"),
        (["reduce", "--keep", "id"], "--keep needs INPUT"),
    ],
)
def test_option_errors_name_fix(capsys, argv, message):
    status, _, err = run(argv, capsys)

    assert status == 2
    assert message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["reduce", "--fraction", "1.5"], "not strictly between 0 and 1"),
        (["reduce", "data.csv", "--bogus"], "unrecognized arguments: --bogus"),
        (["reduce", "-k", "2", "--fraction", "0.5"], "not allowed with argument"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)

    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.splitlines()) == 1, err
    assert err.rstrip().endswith("see sklearn-mrl reduce --help")
