"""The CLI: each bad input gives one clear line on stderr and exit code 2; good input works."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pushforward.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def fails_with(result, *needles):
    assert result.exit_code == 2, result.output
    msg = result.stderr.strip()
    assert msg.startswith("error:") and "\n" not in msg, msg
    assert "Traceback" not in result.output
    for n in needles:
        assert n in msg, (n, msg)


@pytest.fixture
def csv(tmp_path):
    def make(text, name="d.csv"):
        p = tmp_path / name
        p.write_text(text)
        return p

    return make


def test_fit_sample_info_round_trip(tmp_path, csv):
    rng = np.random.default_rng(0)
    data = csv("a,b\n" + "\n".join(f"{x:.6f},{y:.6f}" for x, y in rng.normal(size=(200, 2))))
    model = tmp_path / "m"
    r = run("fit", data, "--columns", "b", "--out", model, "--seed", "3")
    assert r.exit_code == 0, r.output
    assert "method auto → quantile" in r.stdout
    out = tmp_path / "s.csv"
    assert run("sample", model, "-n", 500, "--out", out, "--seed", 1).exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "b" and len(lines) == 501
    r = run("info", model)
    assert r.exit_code == 0 and "quantile" in r.stdout
    meta = json.loads(run("info", model, "--json").stdout)
    assert meta["columns"] == ["b"] and meta["seed"] == 3


@pytest.mark.parametrize("ext", [".npy", ".parquet", ".tsv"])
def test_sample_formats_hold_the_same_rows(tmp_path, ext):
    model = tmp_path / "m"
    assert run("fit", "norm", "--method", "inverse-cdf", "--out", model).exit_code == 0
    a, b = tmp_path / "a.csv", tmp_path / f"b{ext}"
    assert run("sample", model, "-n", 300, "--seed", 4, "--out", a).exit_code == 0
    assert run("sample", model, "-n", 300, "--seed", 4, "--out", b, "--chunk-size", 7
               ).exit_code == 0
    ref = np.loadtxt(a, skiprows=1)
    if ext == ".npy":
        got = np.load(b).ravel()
    elif ext == ".parquet":
        import pandas as pd

        got = pd.read_parquet(b)["x"].to_numpy()
    else:
        got = np.loadtxt(b, skiprows=1)
    np.testing.assert_array_equal(got, ref)


def test_transform_is_the_exact_inverse_cdf(tmp_path):
    from scipy import stats

    u = np.array([1e-10, 0.25, 0.5, 0.975])
    p = tmp_path / "u.txt"
    np.savetxt(p, u)
    r = run("transform", p, "--from", "uniform", "--to", "norm")
    assert r.exit_code == 0, r.output
    y = np.loadtxt(r.stdout.splitlines()[1:])
    np.testing.assert_allclose(y, stats.norm.ppf(u), rtol=1e-14)


def test_list_shows_every_registry():
    r = run("list")
    for key in ("quantile", "inverse-cdf", "copula", "parametric", "hist-js", "sliced-js",
                "uniform", "normal", "moons", "8gaussians-ffjord", "monotone", "digits"):
        assert key in r.stdout


# ------------------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    fails_with(run("fit", tmp_path / "nope.csv"), "nope.csv")


def test_empty_file(csv):
    fails_with(run("fit", csv("")), "d.csv", "empty")


def test_header_only(csv):
    fails_with(run("fit", csv("a,b\n")), "d.csv")


def test_non_numeric_cell_names_row_and_column(csv):
    fails_with(run("fit", csv("a,b\n1,2\n3,abc\n5,6\n")), "d.csv", "'b'", "abc")


def test_nan_names_row_and_column_and_dropna_skips(csv, tmp_path):
    p = csv("a,b\n1,2\n3,4\nnan,6\n7,8\n9,1\n")
    fails_with(run("fit", p), "d.csv", "'a'")
    r = run("fit", p, "--dropna", "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output


def test_inf_is_rejected(csv):
    fails_with(run("fit", csv("a\n1\n2\ninf\n4\n")), "d.csv", "'a'")


def test_unknown_column_lists_the_columns(csv):
    fails_with(run("fit", csv("a,b\n1,2\n3,4\n"), "--columns", "zz"), "zz", "a", "b")


def test_single_row(csv):
    fails_with(run("fit", csv("a,b\n1,2\n")), "d.csv")


def test_constant_column(csv, tmp_path):
    fails_with(run("fit", csv("a,b\n1,5\n2,5\n3,5\n4,5\n"), "--out", tmp_path / "m"), "'b'",
               "constant")


@pytest.mark.parametrize("flag,value,valid", [("--method", "nope", "quantile"),
                                              ("--noise", "nope", "uniform")])
def test_unknown_names_list_the_valid_ones(flag, value, valid, tmp_path):
    fails_with(run("fit", "norm", flag, value, "--out", tmp_path / "m"), value, valid)


def test_unknown_target_points_to_list(tmp_path):
    fails_with(run("fit", "moonz", "--out", tmp_path / "m"), "moonz")


def test_malformed_spec(tmp_path):
    fails_with(run("fit", "gamma(a=", "--out", tmp_path / "m"), "gamma(a=")
    fails_with(run("fit", "__import__('os')", "--out", tmp_path / "m"))


def test_inverse_cdf_on_plain_data_points_to_quantile(csv, tmp_path):
    fails_with(run("fit", csv("a\n1\n2\n3\n"), "--method", "inverse-cdf", "--out",
                   tmp_path / "m"), "quantile", "parametric")


@pytest.mark.parametrize("n", [0, -5])
def test_non_positive_n(tmp_path, n):
    model = tmp_path / "m"
    run("fit", "norm", "--out", model)
    fails_with(run("sample", model, "-n", n), str(n))


def test_output_not_writable_and_existing_output(tmp_path):
    model = tmp_path / "m"
    assert run("fit", "norm", "--out", model).exit_code == 0
    # a folder that is a file: cannot be created
    fails_with(run("sample", model, "-n", 5, "--out", model / "model.safetensors" / "x.csv"),
               "x.csv")
    out = tmp_path / "s.csv"
    assert run("sample", model, "-n", 5, "--out", out).exit_code == 0
    fails_with(run("sample", model, "-n", 5, "--out", out), "s.csv", "--force")
    assert run("sample", model, "-n", 5, "--out", out, "--force").exit_code == 0
    fails_with(run("fit", "norm", "--out", model), "--force")


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    fails_with(run("info", bad), "bad.safetensors")
    fails_with(run("sample", bad, "-n", 3), "bad.safetensors")


def test_debug_shows_the_traceback(tmp_path):
    r = runner.invoke(app, ["--debug", "fit", str(tmp_path / "nope.csv")])
    assert r.exit_code != 2 and r.exception is not None
