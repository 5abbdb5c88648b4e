"""Metrics agree with scipy and sit at their noise floor on equal distributions."""

import numpy as np
import pytest
from scipy import stats

from pushforward import metrics


def test_energy_distance_matches_scipy_in_1d():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.normal(0.5, 1.2, size=200)
    # scipy returns the square root of the (V-statistic) energy distance
    assert metrics.energy_distance_sq(x, y) == pytest.approx(stats.energy_distance(x, y) ** 2,
                                                             rel=1e-10)


def test_energy_distance_chunking_does_not_change_the_value():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(257, 3)), rng.normal(size=(100, 3))
    a = metrics.energy_distance_sq(x, y, chunk=7)
    b = metrics.energy_distance_sq(x, y, chunk=10_000)
    assert a == pytest.approx(b, rel=1e-12)
    assert metrics.energy_distance_sq(x, x) == pytest.approx(0.0, abs=1e-12)
    # many dimensions take the matrix-product formula, also whatever the chunk size
    x, y = rng.normal(size=(257, 20)), rng.normal(size=(100, 20)) + 0.1
    a = metrics.energy_distance_sq(x, y, chunk=7)
    assert a == pytest.approx(metrics.energy_distance_sq(x, y, chunk=10_000), rel=1e-9)


def _draw(shift):
    return lambda n, s: np.random.default_rng(s).normal(size=(n, 2)) + shift


def test_ed_ratio_is_near_one_for_equal_and_large_for_shifted():
    test = _draw(0)(1000, 12345)
    kw = dict(mean=np.zeros(2), std=np.ones(2), n=1000)
    same = metrics.ed_ratio(_draw(0), _draw(0), test, **kw)
    shifted = metrics.ed_ratio(_draw(0.5), _draw(0), test, **kw)
    assert 0.6 < same.ratio < 1.6
    assert shifted.ratio > 10


def test_ks_statistics_match_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=500), rng.normal(0.1, size=700)
    assert metrics.ks_one_sample(x, stats.norm.cdf) == pytest.approx(
        stats.kstest(x, "norm").statistic, abs=1e-12)
    assert metrics.ks_two_sample(x, y) == pytest.approx(stats.ks_2samp(x, y).statistic,
                                                        abs=1e-12)


def test_ks_floor_is_the_mean_of_real_draws():
    rng = np.random.default_rng(3)
    d = [metrics.ks_one_sample(rng.normal(size=2000), stats.norm.cdf) for _ in range(300)]
    assert np.mean(d) == pytest.approx(metrics.ks_floor(2000), rel=0.08)
    assert metrics.ks_floor(20_000, 20_000) == pytest.approx(0.0087, abs=1e-4)
