"""``pushforward demo``: everything in its folder, small files, failed runs marked as failed."""

import io
import re

import numpy as np
from rich.console import Console

from pushforward.demo import CSV_ROWS, QUICK, Sizes, run_demo, step1_exact
from pushforward.story import steps_text


def test_step1_writes_a_small_sample_of_many_draws_into_its_folder(tmp_path):
    out = io.StringIO()
    figures = step1_exact(tmp_path, n=4 * CSV_ROWS, console=Console(file=out, width=300))
    rows = np.loadtxt(tmp_path / "step1_samples.csv", delimiter=",", skiprows=1)
    assert rows.shape == (CSV_ROWS, 2)
    from scipy import special

    np.testing.assert_allclose(rows[:, 1], special.ndtri(rows[:, 0]), rtol=1e-12)
    assert figures["max_rel_error"] < 1e-12 and "40,000 uniform draws" in out.getvalue()


def test_quick_sizes_are_small():
    assert QUICK.budget_1d + 3 * QUICK.budget_2d <= 10 and QUICK.exact_n <= CSV_ROWS


def test_demo_writes_only_into_its_folder_and_marks_failed_runs(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = io.StringIO()
    # budgets of a fraction of a second: no run can cover the eight modes
    tiny = Sizes(exact_n=2000, budget_1d=0.2, budget_2d=0.2, points_2d=500)
    figures = run_demo(tmp_path / "demo", sizes=tiny, console=Console(file=out, width=300))
    assert list(cwd.iterdir()) == []
    files = {p.name: p.stat().st_size for p in (tmp_path / "demo").iterdir()}
    assert set(files) == {"step1_samples.csv", "step1.png", "report.html"}
    assert max(files.values()) < 2_000_000, files
    text, page = out.getvalue(), (tmp_path / "demo" / "report.html").read_text()
    for method, r in figures["step4"].items():
        cov, steps = r["coverage"], r["model"].info["steps"]
        assert cov.covered < cov.modes and r["steps"] == steps
        mark = f"failed: {cov.covered}/{cov.modes} modes after {steps_text(steps)}"
        assert re.search(rf"^{re.escape(method)} .*{re.escape(mark)}$", text, re.M), text
        assert f"<td>{mark}</td>" in page
    assert "<th>result</th>" in page
