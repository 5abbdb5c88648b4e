"""Evaluation figures: identities, their noise floors, and the verdicts of ``evaluate``."""

import json

import numpy as np
import pytest
import torch
from rich.console import Console
from scipy import stats

import pushforward
from pushforward import metrics
from pushforward.data import load_source
from pushforward.data.split import holdout_split
from pushforward.evaluation import (
    METRICS,
    MODES,
    c2st_test,
    dcr,
    evaluate,
    prdc,
)
from pushforward.evaluation.floors import _chunks
from pushforward.evaluation.two_sample import (
    holm,
    ks_columns,
    mmd,
    permutation_p_value,
    sliced_wasserstein,
    w1_columns,
)
from pushforward.losses import kernel
from pushforward.model import FittedMap

N = 600


def _mixture(n, rng, shift=0.0):
    """A 2-D mixture of two elongated Gaussians: not a shape any figure is tuned to."""
    side = rng.integers(2, size=n)[:, None]
    x = rng.normal(size=(n, 2)) * [1.0, 0.4] + np.where(side, [2.0, 0.0], [-1.0, 1.0])
    return x + shift


def _measure(key, shift):
    m = METRICS.get(key)
    rng = np.random.default_rng(7)
    ref = _mixture(N, rng)
    values = [m(_mixture(N, rng, shift), ref) for _ in range(m.repeats)]
    floors = [m(_mixture(N, rng), ref) for _ in range(m.floor_repeats)]
    return m, values, floors


@pytest.mark.parametrize("key", list(METRICS))
def test_every_figure_sits_at_its_floor_for_one_distribution(key):
    m, values, floors = _measure(key, 0.0)
    assert m.indistinguishable(values, floors, N)
    assert 0.5 < np.mean(values) / np.mean(floors) < 2.0


@pytest.mark.parametrize("key", list(METRICS))
def test_every_figure_flags_a_shifted_sample(key):
    # about 1 sd along each axis: precision and recall, made to be robust to a shift of the
    # support, need that much at n = 600
    m, values, floors = _measure(key, np.array([1.5, 0.8]))
    assert not m.indistinguishable(values, floors, N)
    ratio = np.mean(values) / np.mean(floors)
    assert ratio > (1.2 if key == "c2st" else 1.5) if m.better == "lower" else ratio < 0.9


def test_divergences_equal_their_reference_implementations():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(301, 3)), rng.normal(0.2, 1.1, size=(257, 3))
    assert METRICS.get("energy")(x, y) == pytest.approx(metrics.energy_distance_sq(x, y), rel=1e-10)
    x1, y1 = x[:, :1], y[:, :1]  # 1-D: by sorting
    assert METRICS.get("energy")(x1, y1) == pytest.approx(metrics.energy_distance_sq(x1, y1),
                                                      rel=1e-10)
    h = kernel.median_distance(torch.from_numpy(y), max_points=1000)
    ref = kernel.mmd(torch.from_numpy(x), torch.from_numpy(y), bandwidth=h, scales=(1.0,))
    assert mmd(x, y) == pytest.approx(float(ref), rel=1e-10)
    assert mmd(x, x) == pytest.approx(0.0, abs=1e-12)
    assert sliced_wasserstein(x1, y1) == pytest.approx(stats.wasserstein_distance(x1[:, 0],
                                                                                  y1[:, 0]))
    for j in range(3):
        assert ks_columns(x, y)[j] == pytest.approx(stats.ks_2samp(x[:, j], y[:, j]).statistic)
        assert w1_columns(x, y)[j] == pytest.approx(stats.wasserstein_distance(x[:, j], y[:, j]))


@pytest.mark.parametrize("key", list(METRICS))
def test_figures_take_numpy_or_torch_alike(key):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 2)), rng.normal(size=(150, 2))
    m = METRICS.get(key)
    assert m(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(m(x, y), rel=1e-9)


def test_permutation_p_value_is_exact():
    # 5 values above 10 floors: only 1 of the C(15, 5) = 3003 splits is as extreme
    assert permutation_p_value(np.arange(10, 15), np.arange(10)) == pytest.approx(1 / 3003)
    assert permutation_p_value(np.arange(10, 15), np.arange(10), larger_is_worse=False) == 1.0


def test_c2st_is_one_half_on_one_distribution_and_one_on_disjoint_ones():
    rng = np.random.default_rng(2)
    same = c2st_test(rng.normal(size=(1500, 2)), rng.normal(size=(1500, 2)))
    assert abs(same.accuracy - 0.5) < 0.04 and same.p_value > 0.01
    far = c2st_test(rng.uniform(0, 1, size=(1500, 2)), rng.uniform(2, 3, size=(1500, 2)))
    assert far.accuracy > 0.99 and far.p_value < 1e-100
    assert same.n_test == far.n_test == 1500


def test_coverage_drops_by_the_dropped_modes_share():
    centres, _ = MODES["8gaussians"]
    source = load_source("8gaussians")
    real, twin = source.draw(2000, seed=0), source.draw(2000, seed=1)
    pool = source.draw(4000, seed=2)
    nearest = np.argmin(((pool[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    dropped = pool[nearest != 0][:2000]  # seven modes of eight, 2,000 points
    floor, fake = prdc(twin, real), prdc(dropped, real)
    assert fake.coverage == pytest.approx(floor.coverage - 1 / 8, abs=0.03)
    assert fake.precision == pytest.approx(floor.precision, abs=0.02)
    assert fake.recall == pytest.approx(floor.recall - 1 / 8, abs=0.03)


def test_dcr_flags_a_copy_of_the_training_set():
    rng = np.random.default_rng(3)
    train, held, fresh = (rng.normal(size=(1500, 3)) for _ in range(3))
    copy = dcr(train, train, held)
    assert copy.copies and copy.ratio < 1e-6
    honest = dcr(fresh, train, held)
    assert not honest.copies and 0.85 < honest.ratio < 1.15


class _Replay(FittedMap):
    """A 'model' that hands back its training rows: the memorisation check must catch it."""

    def __init__(self, rows):
        self.rows = rows
        self._init_map(method="replay", noise="uniform", latent_dim=1, dim=rows.shape[1])

    def inverse_transform(self, z):
        return self.rows[(np.asarray(z)[:, 0] * len(self.rows)).astype(int)]


def test_evaluate_flags_a_model_that_replays_its_training_rows():
    rng = np.random.default_rng(4)
    train, held = rng.normal(size=(1500, 2)), rng.normal(size=(500, 2))
    e = evaluate(_Replay(train), held, train=train, n=500, metrics=["ks"])
    assert e["ks"].ok  # its marginals are perfect...
    assert not e["dcr"].ok and e["dcr"].ratio < 0.1  # ...but it copies
    assert not e.ok and "nearer the training rows than new data" in e.verdict


def test_evaluate_reports_the_exact_map_error_of_a_quantile_map():
    source = load_source("gamma(a=2)")
    m = pushforward.fit(source.draw(3000, seed=0), method="quantile", seed=0)
    e = evaluate(m, "gamma(a=2)", n=1000, metrics=["ks", "c2st"])
    row = e["exact_map"]
    expected = metrics.exact_map_error(m.inverse_transform, source.dist.ppf, m.noise_)
    assert row.value == pytest.approx(expected["max"])
    assert row.details["mean"] == pytest.approx(expected["mean"])
    assert 0 < row.value < 0.5 and row.floor > 0  # a 3,000-point sample's quantile error
    json.dumps(e.as_dict(), allow_nan=False)


def test_the_energy_row_is_the_ed_ratio_of_measures():
    source = load_source("moons")
    m = pushforward.fit(source.draw(2000, seed=0), method="copula", seed=0)
    e = evaluate(m, "moons", n=300, seed=5, metrics=["energy"])
    ref = source.draw(20_000, seed=5 + 3)
    r = metrics.ed_ratio(lambda k, s: m.sample(k, seed=s), lambda k, s: source.draw(k, seed=s),
                         source.draw(300, seed=5 + 500), mean=ref.mean(0), std=ref.std(0),
                         n=300, seed=5)
    assert e["energy"].value == pytest.approx(r.value, rel=1e-9)
    assert e["energy"].floor == pytest.approx(r.floor, rel=1e-9)


def test_evaluate_verdicts_in_plain_words():
    exact = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
    good = evaluate(exact, "norm", n=800)
    assert good.ok and good.verdict.startswith("indistinguishable from real data at n = 800 (C2ST")
    bad = evaluate(exact, "norm(0.5, 1)", n=800, metrics=["c2st", "ks"])
    assert not bad.ok and bad.verdict.startswith("distinguishable: C2ST 0.")
    console = Console(record=True, width=140)
    console.print(bad.table())
    text = console.export_text()
    assert "real vs real" in text and "distinguishable" in text


@pytest.fixture(scope="module")
def normal_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "normal.csv"
    x = np.random.default_rng(5).normal(size=(400, 2))
    np.savetxt(path, x, delimiter=",", header="a,b", comments="")
    return path, load_source(str(path)).data


@pytest.mark.parametrize("method", ["copula", "swd"])
def test_evaluate_takes_the_fits_held_out_rows_of_a_loaded_model(normal_csv, tmp_path, method):
    path, x = normal_csv
    options = {"steps": 3} if method == "swd" else {}
    m = pushforward.load(pushforward.fit(str(path), method=method, seed=3,
                                         **options).save(tmp_path / "m"))
    e = evaluate(m, str(path), n=1000, metrics=["ks"])  # its own file: found by fingerprint
    assert e.reference == "held-out" and "held out" in e.notes[0] and "dcr" in [
        r.key for r in e.rows]
    assert e.n == 36  # 40 rows held out; 10 disjoint real samples of the 360 others
    # exactly the rows of the recorded rule: the same figures when they are given by hand
    train, held = holdout_split(400, 0.1, seed=3)
    by_hand = evaluate(m, x[held], train=x[train], n=1000, metrics=["ks"])
    assert by_hand["ks"].details == e["ks"].details and by_hand["dcr"].value == e["dcr"].value


def test_evaluation_on_training_rows_says_so_and_is_never_a_pass(normal_csv):
    path, x = normal_csv
    m = pushforward.fit(str(path), method="copula", seed=0, holdout=0.0)
    e = evaluate(m, str(path), n=1000, metrics=["ks", "c2st"])
    assert e.ok and e.reference == "training" and not e.passed and e.colour == "yellow"
    assert e.verdict.startswith("measured on the model's own training rows (optimistic): "
                                "indistinguishable")
    assert "dcr" in e.skipped and m.info["holdout"]["reference"] == "training"
    table = e.table()  # no green anywhere: the caption and the "at floor" tags are yellow
    assert table.caption.startswith("[yellow]") and "[yellow]at floor[/]" in table.columns[4]._cells
    assert not any("green" in str(c) for col in table.columns for c in col._cells)
    del m.info["split"]  # a model file from before split records: it may have seen any row
    unknown = evaluate(m, x, n=1000, metrics=["ks"])
    assert unknown.reference == "unknown" and unknown.verdict.startswith("measured on rows the "
                                                                         "model may have")
    other = evaluate(pushforward.fit(str(path), method="copula", seed=0), x[::-1][:300],
                     n=1000, metrics=["ks"])  # not its data: taken as unseen
    assert other.reference == "held-out" and other.n == 300 // 11 and "dcr" in other.skipped


def test_the_floors_real_samples_are_disjoint_blocks():
    pool = np.arange(100.0)[:, None]
    real = _chunks(pool, 9, np.random.default_rng(0))
    blocks = [real(j)[:, 0] for j in range(11)]
    assert all(len(b) == 9 for b in blocks)
    assert len(np.unique(np.concatenate(blocks))) == 99  # no row twice


def test_holm_matches_its_definition():
    p = np.random.default_rng(0).uniform(0, 0.05, size=7)
    order = np.argsort(p)
    m = len(p)
    expected = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        expected[j] = running
    np.testing.assert_allclose(holm(p), expected)
    assert holm([0.004, 0.2])[0] == pytest.approx(0.008)  # rejected at 0.01 after correction
    assert holm([0.006, 0.2])[0] == pytest.approx(0.012)  # not rejected: 2 × 0.006


def test_mode_coverage_rows_for_the_mixture_toys():
    source = load_source("8gaussians")
    m = pushforward.fit(source.draw(4000, seed=0), method="copula", seed=0)
    e = evaluate(m, "8gaussians", n=300, metrics=["ks"])
    assert e["modes"].value == e["modes"].floor == 8
    # a Gaussian copula smears the modes: few of its points lie within 3σ of a centre
    assert not e["high_quality"].ok and e["high_quality"].floor > 0.95


def test_evaluate_rejects_data_it_cannot_judge():
    m = pushforward.fit("norm", method="inverse-cdf", seed=0)
    with pytest.raises(pushforward.PushforwardError, match="columns"):
        evaluate(m, "moons")
    with pytest.raises(pushforward.PushforwardError, match="only 2 reference rows"):
        evaluate(m, np.random.default_rng(0).normal(size=(30, 1)))  # 11 parts of 30 rows
