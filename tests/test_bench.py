"""``pushforward bench`` (issue 16 §4): cells through the public API, cached and reused, perfect
samplers, user files, the table, JSON and HTML."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pushforward.bench import run_bench, split_list
from pushforward.cli import app
from pushforward.errors import PushforwardError


def test_a_cell_is_cached_and_a_second_run_reuses_it(tmp_path):
    variants = {"swd, 20 steps": ("swd", {"steps": 20})}
    first = run_bench(["moons"], methods=["copula"], budget=30, n=200, out=tmp_path,
                      variants=variants)
    copula, swd = first.cells
    assert not copula["cached"] and copula["picked"] == "copula"
    # the copula cannot bend: its energy distance is several times real data's at n = 200
    assert copula["ed_ratio"] > 1.5 and copula["floor"] > 0 and copula["fit_s"] > 0
    assert swd["label"] == "swd, 20 steps" and swd["method"] == "swd" and swd["steps"] == 20
    files = sorted(p.name for p in (tmp_path / "cells").iterdir())
    assert len(files) == 2
    again = run_bench(["moons"], methods=["copula"], budget=30, n=200, out=tmp_path,
                      variants=variants)
    assert all(c["cached"] for c in again.cells)
    strip = lambda cells: [{k: v for k, v in c.items() if k != "cached"} for c in cells]  # noqa: E731
    assert strip(again.cells) == strip(first.cells)
    # another budget is another cell: computed, not reused
    other = run_bench(["moons"], methods=["copula"], budget=31, n=200, out=tmp_path)
    assert not other.cells[0]["cached"]
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["settings"]["budget"] == 31.0 and len(saved["cells"]) == 1


def test_bench_on_a_user_csv_with_perfect_samplers(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mine.csv"
    x = np.column_stack([rng.gamma(2.0, size=1200), rng.normal(size=1200)])
    np.savetxt(data, x, delimiter=",", header="a,b", comments="")
    b = run_bench([str(data)], methods=["copula", "kde"], budget=10, perfect=2, n=300,
                  out=tmp_path / "out")
    assert [c["label"] for c in b.cells] == ["copula", "kde"]
    # judged on the 120 rows the fit held out (the file's split), real blocks for the floor
    # 108 = min(n, 120 held-out rows, 1,080 training rows / 10 real blocks)
    assert all(c["n"] == 108 for c in b.cells + b.perfect)
    spread = b.spread(str(data))
    assert len(spread) == 2 and all(0.2 < v < 5 for v in spread)
    page = (tmp_path / "out" / "bench.html").read_text()
    assert "data:image/png;base64," in page and "perfect samplers" in page


def test_the_command_prints_the_table_and_refuses_bad_keys_in_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["bench", "moons", "--methods", "copula", "--budget", "5", "-n",
                            "200", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "copula" in r.stdout and "ed_ratio" in r.stdout and "bench.html" in r.stdout
    bad = runner.invoke(app, ["bench", "moons", "--methods", "copula,nope", "--out",
                              str(tmp_path)])
    assert bad.exit_code == 2 and "unknown method 'nope'" in bad.stderr
    assert "\n" not in bad.stderr.strip()
    with pytest.raises(PushforwardError, match="perfect must be an integer"):
        run_bench(["moons"], methods=["copula"], perfect=-1)


def test_targets_split_at_top_level_commas_only():
    assert split_list("a.csv,mix(0.5*norm(0,1), 0.5*norm(2,1)) , moons") == [
        "a.csv", "mix(0.5*norm(0,1), 0.5*norm(2,1))", "moons"]
