"""Exact maps from more rows than fit in memory: KLL sketches per column (issue 15 §3)."""

import numpy as np
import pytest
from scipy import special

import pushforward
from pushforward.data import load_source
from pushforward.exact import GaussianCopula, QuantileMap
from pushforward.exact import sketch as sketching
from pushforward.exact.copula import fit_copula
from pushforward.exact.quantile import fit_quantile

N = 100_000


@pytest.fixture
def big_file(tmp_path, monkeypatch):
    """10⁵ rows on disk, counted as many: the sketch threshold lowered to 1,000 rows."""
    monkeypatch.setattr(sketching, "SKETCH_ROWS", 1000)
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(N, 2))
    x[:, 1] = 0.5 * x[:, 0] + rng.normal(size=N)
    path = tmp_path / "big.npy"
    np.save(path, x)
    return path


def _ranks(sorted_x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mid-ranks of values v among the sorted data, as shares of the rows."""
    return (np.searchsorted(sorted_x, v, "left") + np.searchsorted(sorted_x, v, "right")) / (
        2 * len(sorted_x))


def test_the_sketched_quantile_map_is_within_its_rank_error_of_the_exact_map(big_file):
    source = load_source(big_file)
    m = fit_quantile(source, seed=0)  # what pushforward.fit calls, without the closing check
    exact = QuantileMap().fit(np.asarray(source.data))
    keep = sketching.tail_rows(N)  # 317 exact order statistics at each end
    assert m.info["sketch"]["rows"] == N
    assert m.quantiles_.shape == (sketching.SKETCH_KNOTS + 2 * keep, 2)
    u = np.linspace(1e-4, 1 - 1e-4, 20_001)
    z = np.repeat(special.ndtri(u)[:, None], 2, axis=1)
    got, want = m.inverse_transform(z), exact.inverse_transform(z)
    for j in range(2):
        srt = np.sort(np.asarray(source.data[:, j]))
        error = np.abs(_ranks(srt, got[:, j]) - _ranks(srt, want[:, j]))
        assert error.max() <= sketching.RANK_ERROR + 2 / N, (j, error.max())
    # the ends and the tails come from the exact extremes: the same as the exact map's
    np.testing.assert_allclose(m.upper_tail_, exact.upper_tail_)
    np.testing.assert_allclose(m.lower_tail_, exact.lower_tail_)
    ends = np.concatenate([np.geomspace(1e-9, 0.9 * keep / N, 50),
                           1 - np.geomspace(1e-9, 0.9 * keep / N, 50)])
    far = np.repeat(special.ndtri(ends)[:, None], 2, axis=1)
    np.testing.assert_allclose(m.inverse_transform(far), exact.inverse_transform(far))


def test_a_sketched_copula_accumulates_the_correlation_of_the_normal_scores(big_file, tmp_path):
    source = load_source(big_file)
    m = fit_copula(source, seed=0)
    exact = GaussianCopula().fit(np.asarray(source.data))
    assert "sketch" in m.info
    np.testing.assert_allclose(m.correlation_, exact.correlation_, atol=2e-3)
    m.save(tmp_path / "m")
    z = np.random.default_rng(1).normal(size=(500, 2))
    np.testing.assert_array_equal(pushforward.load(tmp_path / "m").inverse_transform(z),
                                  m.inverse_transform(z))


def test_extremes_and_sketch_combine_exactly_where_they_are_kept():
    x = np.random.default_rng(2).standard_t(3, size=(5000, 1))
    s = sketching.ColumnSketches(1, keep=50)
    for i in range(0, 5000, 700):  # chunks of another size than the kept extremes
        s.update(x[i: i + 700])
    srt = np.sort(x[:, 0])
    index = np.array([1.0, 2.5, 50.0, 4951.0, 4999.5, 5000.0])
    np.testing.assert_allclose(s.values(index, 0), np.interp(index, np.arange(1, 5001), srt))


def test_a_sketched_fit_says_its_seed_repeats_it_only_within_the_rank_error(big_file, tmp_path):
    """DataSketches' KLL takes no seed: the same seed refits within the rank error, not exactly,
    and the command does not claim otherwise."""
    from typer.testing import CliRunner

    from pushforward.cli import app

    r = CliRunner().invoke(app, ["fit", str(big_file), "--method", "quantile", "--seed", "3",
                                 "--holdout", "0", "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "--seed 3 repeats this fit within the sketch's rank error" in r.stdout, r.stdout
    assert "repeatable" in pushforward.load(tmp_path / "m").info["sketch"]
