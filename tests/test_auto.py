"""auto's race beyond the cheap candidates (issue 16): learned candidates, exclude,
prefer_learned, small budgets, and the leaderboard in the model file, ``info`` and the report."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import pushforward
from pushforward.auto import portfolio
from pushforward.cli import app
from pushforward.data import load_source
from pushforward.data.schema import infer_schema
from pushforward.errors import PushforwardError


def clusters(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])[rng.integers(0, 3, n)]
    return centres + 0.15 * rng.standard_normal((n, 2))


def without_times(board):
    return [{k: v for k, v in r.items() if k not in ("fit_s", "budget_s")} for r in board]


def test_the_portfolio_follows_the_data_shape_not_its_name():
    many = load_source(clusters(1200))
    assert portfolio(many, infer_schema(many))[:2] == (["copula", "gmm", "kde"],
                                                       ["nsf", "ot-flow-matching"])
    few = load_source(clusters(400))
    cheap, learned, why = portfolio(few, infer_schema(few))
    assert learned == [] and "400 rows" in why["nsf"]
    assert portfolio(few, infer_schema(few), prefer_learned=True)[:2] == (
        [], ["nsf", "ot-flow-matching"])
    wide = load_source(np.random.default_rng(0).normal(size=(1200, 20)))
    _, learned, why = portfolio(wide, infer_schema(wide))
    assert learned == ["ot-flow-matching"] and "20 encoded columns" in why["nsf"]
    wider = load_source(np.random.default_rng(0).normal(size=(1200, 40)))
    _, learned, why = portfolio(wider, infer_schema(wider))
    assert learned == [] and "40 encoded columns" in why["ot-flow-matching"]
    counts = load_source(np.random.default_rng(0).poisson(3.0, size=(1200, 3)).astype(float))
    _, learned, why = portfolio(counts, infer_schema(counts))
    assert learned == ["ot-flow-matching"] and "integer" in why["nsf"]


def test_prefer_learned_races_only_learned_maps_reproducibly_with_steps():
    x = clusters(1200, seed=2)
    a = pushforward.fit(x, seed=0, prefer_learned=True, steps=25, exclude="ot-flow-matching")
    b = pushforward.fit(x, seed=0, prefer_learned=True, steps=25, exclude="ot-flow-matching")
    assert a.method == b.method == "nsf" and hasattr(a, "log_prob")
    (row,) = a.info["leaderboard"]
    assert row["method"] == "nsf" and row["kind"] == "learned" and row["chosen"]
    assert row["steps"] == 25 and row["score"] > 0 and row["ratio"] == row["score"] / row["floor"]
    assert without_times(a.info["leaderboard"]) == without_times(b.info["leaderboard"])
    assert np.array_equal(a.sample(100, seed=1), b.sample(100, seed=1))


def test_a_learned_candidate_must_beat_the_cheap_winner_beyond_the_noise():
    # the copula cannot make three clusters (several times the floor); 20 steps of a spline
    # flow cannot either: whatever the scores, the learned map is kept only past the margin
    m = pushforward.fit(clusters(1500), seed=0, exclude="gmm,kde,ot-flow-matching", steps=20)
    board = {r["method"]: r for r in m.info["leaderboard"]}
    assert board["nsf"]["steps"] == 20 and "score" in board["nsf"]
    margin = 2 * board["copula"]["noise"]
    learned_won = board["copula"]["score"] - board["nsf"]["score"] > margin
    assert m.method == ("nsf" if learned_won else "copula")
    assert board[m.method]["chosen"] and not board[
        "copula" if learned_won else "nsf"]["chosen"]


def test_a_budget_too_small_for_learned_candidates_skips_them_and_says_so():
    m = pushforward.fit(clusters(1500), seed=0, exclude="gmm,kde", time_budget=6)
    board = {r["method"]: r for r in m.info["leaderboard"]}
    assert m.method == "copula"
    for key in ("nsf", "ot-flow-matching"):
        assert board[key]["skipped"].startswith("time budget too small")


@pytest.mark.parametrize("options, needle", [
    ({"exclude": "gmm,flows"}, "exclude: flows not among auto's candidates"),
    ({"exclude": 3}, "exclude must name candidates"),
    ({"prefer_learned": "yes"}, "prefer_learned must be True or False"),
    ({"steps": 0}, "steps must be an integer"),
])
def test_bad_race_options_are_one_line_before_any_work(options, needle):
    with pytest.raises(PushforwardError, match=needle):
        pushforward.fit(clusters(300), seed=0, **options)


def test_the_leaderboard_is_saved_and_shown_by_info_and_the_report(tmp_path):
    runner = CliRunner()
    data = tmp_path / "c.csv"
    np.savetxt(data, clusters(600), delimiter=",", header="a,b", comments="")
    r = runner.invoke(app, ["fit", str(data), "--out", str(tmp_path / "m"), "--seed", "0",
                            "--exclude", "kde"])
    assert r.exit_code == 0, r.output
    assert "← chosen" in r.stdout and "kde" not in r.stdout.split("method auto")[1]
    info = runner.invoke(app, ["info", str(tmp_path / "m")])
    assert info.exit_code == 0 and "info.leaderboard" in info.stdout
    assert "← chosen" in info.stdout and "× floor" in info.stdout
    saved = pushforward.load(tmp_path / "m").info["leaderboard"]
    assert {r["method"] for r in saved} >= {"copula", "gmm"}
    page = runner.invoke(app, ["report", str(tmp_path / "m"), "--data", str(data), "-n", "300",
                               "--out", str(tmp_path / "r.html")])
    assert page.exit_code == 0, page.output
    html = (tmp_path / "r.html").read_text()
    assert "auto&#x27;s race" in html and "← chosen" in html
    bad = runner.invoke(app, ["fit", str(data), "--out", str(tmp_path / "m2"), "--exclude",
                              "gmm,nope"])
    assert bad.exit_code == 2 and "nope not among auto's candidates" in bad.stderr


def test_the_race_passes_over_a_candidate_that_copies_its_training_rows():
    from types import SimpleNamespace

    from pushforward.auto import _pick

    rows = [{"method": "kde", "score": 0.010, "dcr": 0.4, "copies": True},
            {"method": "copula", "score": 0.030, "dcr": 1.1, "copies": False}]
    scorer = SimpleNamespace(noise=0.001, n=1000)
    assert _pick(rows, {}, scorer)["method"] == "copula"  # the lower score copies
    every = [dict(r, copies=True) for r in rows]
    assert _pick(every, {}, scorer)["method"] == "kde"  # all copy: the score decides


def test_leaderboard_rows_carry_the_dcr_ratio():
    import pushforward

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    m = pushforward.fit(x, seed=0, time_budget=5, exclude="gmm,kde")
    scored = [r for r in m.info["leaderboard"] if "score" in r]
    assert scored and all(r["dcr"] > 0.8 and r["copies"] is False for r in scored)


def test_the_lowest_score_wins_cheap_or_learned_and_a_clear_c2st_breaks_ties():
    """One scale for every candidate: a learned map wins by a lower score alone; within twice
    the floor's noise a C2ST nearer 0.5 by more than twice its binomial sd decides, else the
    lower score stays."""
    from types import SimpleNamespace

    from pushforward.auto import _pick

    def scorer(c2st):
        return SimpleNamespace(noise=0.001, check_rows=400, c2st=lambda m: c2st[m])

    fitted = {"nsf": "nsf", "gmm": "gmm"}
    rows = [{"method": "gmm", "kind": "cheap", "score": 0.0200},
            {"method": "nsf", "kind": "learned", "score": 0.0100}]
    assert _pick(rows, fitted, scorer({}))["method"] == "nsf"  # apart by 10 noises
    tied = [dict(rows[0], score=0.0105), rows[1]]
    sd = 0.5 / 400**0.5
    assert _pick(tied, fitted, scorer({"nsf": 0.5 + 3 * sd, "gmm": 0.5}))["method"] == "gmm"
    assert _pick(tied, fitted, scorer({"nsf": 0.5 + sd, "gmm": 0.5}))["method"] == "nsf"


def test_scores_compare_ten_thousand_rows_on_the_directions_every_candidate_shares():
    """The race scores on up to 10⁴ held-out rows; its sliced energy figure is the pairwise ED²
    up to the directions' Monte Carlo error (exact in 1-D)."""
    import torch

    from pushforward.losses.sliced import random_projections
    from pushforward.metrics import energy_distance_sq, sliced_energy_sq

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(500, 3)), rng.normal(size=(400, 3)) * 1.3 + 0.2
    theta = random_projections(3, 3000, generator=0, dtype=torch.float64).numpy()
    assert sliced_energy_sq(x, y, theta) == pytest.approx(energy_distance_sq(x, y), rel=0.01)
    assert sliced_energy_sq(x[:, :1], y[:, :1], np.ones((1, 1))) == pytest.approx(
        energy_distance_sq(x[:, :1], y[:, :1]), rel=1e-9)
    assert sliced_energy_sq(x, y, theta, x_rows=len(x)) == pytest.approx(
        sliced_energy_sq(x, y, theta), rel=1e-12)
    # a smaller generated sample is put on the full-size scale: same expectation (the V-statistic
    # of 100 rows is E‖X − X'‖/100 higher than that of 2,000 rows, the rescaled one is not)
    one = np.ones((1, 1))
    ref = rng.normal(size=(2000, 1))
    full = np.mean([sliced_energy_sq(rng.normal(size=(2000, 1)), ref, one) for _ in range(50)])
    small = [sliced_energy_sq(rng.normal(size=(100, 1)), ref, one, x_rows=2000)
             for _ in range(1000)]
    raw = np.mean([sliced_energy_sq(rng.normal(size=(100, 1)), ref, one) for _ in range(1000)])
    assert abs(np.mean(small) - full) < 0.1 * (raw - full)
    m = pushforward.fit("moons", seed=0, time_budget=8, exclude="nsf,ot-flow-matching")
    assert "10,000 held-out rows" in m.info["auto"]


