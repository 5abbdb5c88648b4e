"""The CLI: each bad input gives one clear line on stderr and exit code 2; good input works."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import pushforward
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
    # piped (not a terminal): each row as long as its own text, not padded to the widest
    lines = r.stdout.splitlines()
    assert not [ln for ln in lines if ln != ln.rstrip()], lines
    assert len(next(ln for ln in lines if ln.split()[:1] == ["seed"])) < 30, lines
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


def test_gaps_are_modelled_and_dropna_skips_them(csv, tmp_path):
    rows = [f"{'' if i % 5 == 2 else i * 0.37},{i % 11}" for i in range(100)]
    p = csv("a,b\n" + "\n".join(rows) + "\n")
    r = run("fit", p, "--out", tmp_path / "m", "--holdout", 0, "--method", "copula")
    assert r.exit_code == 0, r.output
    out = tmp_path / "s.csv"
    assert run("sample", tmp_path / "m", "-n", 2000, "--out", out).exit_code == 0
    assert ",," not in out.read_text() and "nan" not in out.read_text()  # gaps: empty fields
    gaps = np.isnan(np.genfromtxt(out, delimiter=",", skip_header=1)).mean(axis=0)
    assert abs(gaps[0] - 0.2) < 0.02 and gaps[1] == 0  # a: 1 row in 5 missing, b: none
    r = run("fit", p, "--dropna", "--out", tmp_path / "m2")
    assert r.exit_code == 0, r.output and "dropped 20 rows" in r.output


def test_inf_is_rejected(csv):
    fails_with(run("fit", csv("a\n1\n2\ninf\n4\n")), "d.csv", "'a'")


def test_unknown_column_lists_the_columns(csv):
    fails_with(run("fit", csv("a,b\n1,2\n3,4\n"), "--columns", "zz"), "zz", "a", "b")


def test_single_row(csv):
    fails_with(run("fit", csv("a,b\n1,2\n")), "d.csv")


def test_constant_column_passes_through(csv, tmp_path):
    r = run("fit", csv("a,b\n1.5,5\n2.25,5\n3.5,5\n4.75,5\n"), "--out", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert "schema: 1 continuous, 1 constant (b)" in r.stdout
    out = tmp_path / "s.csv"
    assert run("sample", tmp_path / "m", "-n", 50, "--out", out).exit_code == 0
    rows = np.loadtxt(out, delimiter=",", skiprows=1)
    assert (rows[:, 1] == 5).all() and np.unique(rows[:, 0]).size > 40


def test_all_constant_data(csv, tmp_path):
    fails_with(run("fit", csv("a,b\n1,5\n1,5\n"), "--out", tmp_path / "m"), "every column",
               "constant")


def test_schema_overrides(csv, tmp_path):
    data = csv("a,b\n1,5.5\n2,6\n3,7\n4,5\n")
    fails_with(run("fit", data, "--integer", "b", "--out", tmp_path / "m"), "'b'", "integer",
               "5.5")
    fails_with(run("fit", data, "--categorical", "zz", "--out", tmp_path / "m"), "'zz'", "a, b")


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


# ------------------------------------------------------------------------- terminal and pipes
# CliRunner's stdout is not a terminal: these tests see what a pipe or a log file sees.
def test_version_and_short_help():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"pushforward {pushforward.__version__}"
    for args in (["-h"], ["fit", "-h"], ["sample", "-h"]):
        r = run(*args)
        assert r.exit_code == 0 and "Usage" in r.stdout, args
    assert "--install-completion" in run("--help").stdout


def test_shell_completion_completes_command_names():
    env = {"_PUSHFORWARD_COMPLETE": "complete_bash", "COMP_WORDS": "pushforward ev",
           "COMP_CWORD": "1"}
    r = runner.invoke(app, [], prog_name="pushforward", env=env)
    assert r.exit_code == 0 and r.stdout.split() == ["evaluate"]


def test_fit_help_lists_every_method_key_and_completes_them():
    from pushforward.methods import METHODS

    r = run("fit", "--help")
    assert r.exit_code == 0 and not [k for k in METHODS if k not in r.stdout], r.stdout
    words = "pushforward fit x --method sl"
    env = {"_PUSHFORWARD_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "4"}
    r = runner.invoke(app, [], prog_name="pushforward", env=env)
    assert r.stdout.split() == ["sliced-js", "sliced-kl"]


def test_piped_lines_are_never_wrapped(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-for-a-model-" * 3) / "model"
    r = run("fit", "norm", "--method", "inverse-cdf", "--out", deep)
    assert r.exit_code == 0, r.output
    saved = [line for line in r.stdout.splitlines() if "saved" in line]
    assert len(saved) == 1 and saved[0].endswith(str(deep / "model.safetensors")), r.stdout


@pytest.fixture(scope="module")
def normal_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("normal") / "m"
    assert run("fit", "norm", "--method", "inverse-cdf", "--out", path).exit_code == 0
    return path


def test_evaluate_table_keeps_every_verdict_whole_when_piped(normal_model):
    r = run("evaluate", normal_model, "--data", "gamma(a=2)", "-n", 200)
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout
    rows = [line for line in r.stdout.splitlines() if line.startswith("│ C2ST")]
    assert len(rows) == 1 and "│ distinguishable " in rows[0], r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("distinguishable: C2ST")


def test_print_table_folds_instead_of_cutting():
    import io

    from rich.console import Console
    from rich.table import Table

    from pushforward.cli import _print_table

    t = Table("figure", "verdict")
    t.add_row("C2ST", "indistinguishable-from-real-data")
    buf = io.StringIO()
    _print_table(t, to=Console(file=buf, width=24))
    text = buf.getvalue()
    assert "…" not in text
    cells = "".join(line.split("│")[2].strip() for line in text.splitlines() if "│" in line)
    assert "indistinguishable-from-real-data" in cells.replace("verdict", "")


def test_json_is_one_flag_printing_json_to_stdout(normal_model):
    ev = json.loads(run("evaluate", normal_model, "-n", 200, "--json").stdout)
    assert ev["source"] == "norm" and ev["verdict"].startswith("indistinguishable")
    assert {r["key"] for r in ev["rows"]} >= {"energy", "c2st"}
    assert json.loads(run("info", normal_model, "--json").stdout)["method"] == "inverse-cdf"
    registries = json.loads(run("list", "--json").stdout)
    assert "quantile" in json.dumps(registries) and "moons" in json.dumps(registries)


def test_comparison_data_is_an_option_not_an_argument(normal_model):
    fails = run("evaluate", normal_model, "moons")
    assert fails.exit_code == 2 and "Traceback" not in fails.output
    r = run("evaluate", normal_model, "--data", "norm(1, 1)", "-n", 200, "--json")
    assert json.loads(r.stdout)["source"] == "norm(1, 1)"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pushforward.cli", *args]


def _env() -> dict[str, str]:
    src = str(Path(pushforward.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_sample_into_a_pipe_closed_early_exits_0_quietly(normal_model):
    # `pushforward sample MODEL -n 100000 | head -1`: the reader leaves after one line
    sampler = subprocess.Popen(_cli("sample", str(normal_model), "-n", "100000"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    first = sampler.stdout.readline()
    sampler.stdout.close()
    stderr = sampler.stderr.read()
    assert sampler.wait(timeout=60) == 0, stderr.decode()
    assert first == b"x\n" and stderr == b""


def test_interrupt_exits_130_with_one_line(monkeypatch, tmp_path):
    import pushforward.api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pushforward.api, "fit", interrupted)
    r = run("fit", "norm", "--out", tmp_path / "m")
    assert r.exit_code == 130 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert "--resume" in r.stderr and "Traceback" not in r.output


# -------------------------------------------------------------------------- model folders
@pytest.fixture
def table(csv):
    """200 rows of two normal columns: a learned fit of a few steps takes well under a second."""
    rows = np.random.default_rng(0).normal(size=(200, 2))
    return csv("a,b\n" + "\n".join(f"{x:.6f},{y:.6f}" for x, y in rows))


def test_fit_removes_the_checkpoint_and_refuses_to_replace_a_run(tmp_path, table):
    model = tmp_path / "m"
    args = ("fit", table, "--method", "sliced-js", "--steps", 5, "--seed", 0, "--out", model)
    r = run(*args)
    assert r.exit_code == 0, r.output
    start = r.stderr.splitlines()[0]
    assert start == f"fitting {table} (200 rows × 2 columns: a, b) with sliced-js, budget 5 steps"
    assert sorted(p.name for p in model.iterdir()) == ["model.safetensors", "settings.json"]
    fails_with(run(*args), "a model already exists", "--force")
    assert run(*args, "--force", "--keep-checkpoint").exit_code == 0
    assert (model / "checkpoint.safetensors").exists()
    # an interrupted run: its checkpoint without a finished model
    (model / "model.safetensors").unlink()
    fails_with(run(*args), "checkpoint", "--resume", "--force")
    fails_with(run("fit", "norm", "--out", model), "checkpoint")  # exact methods too
    assert run(*args, "--force").exit_code == 0
    assert not (model / "checkpoint.safetensors").exists()


def test_piped_fit_prints_plain_progress_lines(tmp_path, table, monkeypatch):
    import pushforward.train.callbacks as callbacks

    monkeypatch.setattr(callbacks, "PLAIN_EVERY", 0.0)  # a line every step instead of every 10 s
    r = run("fit", table, "--method", "sliced-js", "--steps", 4, "--seed", 0, "--out",
            tmp_path / "m")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"], r.stderr
    assert all(re.search(r"^step \S+  \d+ s  loss [-\d.e]+", line) for line in lines), lines
    assert "val ED" in lines[-1]  # the budget's last step is validated


def test_api_fit_removes_its_checkpoint_unless_kept(tmp_path):
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    x = np.random.default_rng(0).normal(size=(200, 2))
    pushforward.fit(x, method="sliced-js", steps=3, seed=0, out=gone)
    assert not (gone / "checkpoint.safetensors").exists()
    pushforward.fit(x, method="sliced-js", steps=3, seed=0, out=kept, keep_checkpoint=True)
    assert (kept / "checkpoint.safetensors").exists()


def test_fit_with_knots_keeps_that_many_points_and_says_so_in_the_file(tmp_path):
    data = tmp_path / "g.npy"
    np.save(data, np.random.default_rng(0).gamma(2.0, size=(3000, 1)))
    r = run("fit", data, "--method", "quantile", "--knots", 200, "--out", tmp_path / "m",
            "--seed", 0)
    assert r.exit_code == 0, r.output
    m = pushforward.load(tmp_path / "m")
    assert m.quantiles_.shape == (200, 1) and m.settings["knots"] == 200
    meta = json.loads((tmp_path / "m" / "settings.json").read_text())
    assert meta["settings"]["knots"] == 200
    fails_with(run("fit", data, "--method", "quantile", "--knots", 1, "--out", tmp_path / "m2"),
               "knots must be an integer of at least 2")
