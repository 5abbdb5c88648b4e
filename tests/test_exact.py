"""Exact maps: inverse CDF, parametric, quantile map, Gaussian copula (issue 2, §3 and §9)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

import pushforward
from pushforward.data.noise import get_noise
from pushforward.data.source import Source
from pushforward.errors import PushforwardError
from pushforward.exact import (
    GaussianCopula,
    InverseCDF,
    Parametric,
    QuantileMap,
    transform_between,
)
from pushforward.methods import METHODS
from pushforward.model import load

mp = pytest.importorskip("mpmath")

EXACT = ["inverse-cdf", "parametric", "quantile", "copula"]


def _rel(got, ref):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    return np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)


def _mp_norm_ppf(u: float) -> float:
    with mp.workdps(50):
        start = float(special.ndtri(u)) if 0.0 < u < 1.0 else 0.0
        return float(mp.findroot(lambda y: mp.ncdf(y) - mp.mpf(u), start))


def _t3(m: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_t(3, size=(m, 1))


def _gaussian_copula_sample(m: int, seed: int) -> np.ndarray:
    """A correlated 3-D sample with skewed, heavy and bounded marginals."""
    c = np.array([[1.0, 0.7, -0.4], [0.7, 1.0, -0.2], [-0.4, -0.2, 1.0]])
    g = np.random.default_rng(seed).multivariate_normal(np.zeros(3), c, size=m)
    return np.column_stack([np.exp(g[:, 0]), g[:, 1] ** 3, special.ndtr(g[:, 2])])


# ------------------------------------------------------------------------ inverse CDF accuracy
@pytest.mark.parametrize("target", [stats.norm(), stats.Normal()], ids=["norm", "Normal"])
def test_uniform_to_normal_matches_mpmath_in_both_tails(target):
    u = np.concatenate([10.0 ** -np.arange(300, 0, -7.5), np.linspace(0.05, 0.95, 19),
                        1 - 10.0 ** -np.arange(1, 16.5, 0.5)])
    ref = np.array([_mp_norm_ppf(float(p)) for p in u])
    got = InverseCDF(target, source="uniform").fit().inverse_transform(u[:, None]).ravel()
    assert _rel(got, ref).max() <= 1e-12
    assert got[-1] > 8.0  # u = 1 - 1e-16 rounds to 1 - 2^-53: Φ⁻¹ ≈ 8.21, not inf


def test_normal_to_exponential_matches_mpmath_on_minus_8_to_8():
    x = np.linspace(-8.0, 8.0, 161)
    with mp.workdps(50):
        ref = np.array([float(-mp.log(mp.ncdf(-mp.mpf(float(v))))) for v in x])
    got = transform_between(x, "normal", stats.expon())
    assert _rel(got, ref).max() <= 1e-12


def test_underflowed_probabilities_go_through_log_space():
    x = np.array([-45.0, -39.0, 39.0, 45.0])  # Φ(x) underflows float64
    assert np.allclose(transform_between(x, "normal", stats.Normal(mu=1.0, sigma=2.0)),
                       1.0 + 2.0 * x, rtol=1e-13)
    # t(3): scipy's own t.ppf(1e-300) is inf; in log space the tail is finite and exact
    y = transform_between(x, "normal", stats.t(3))
    assert np.all(np.isfinite(y)) and np.all(np.sign(y) == np.sign(x))
    with mp.workdps(50):
        tail = [mp.betainc(1.5, 0.5, 0, 3 / (3 + mp.mpf(float(v)) ** 2), regularized=True) / 2
                for v in y]  # P(T < -|y|) = P(T > |y|)
        prob = [mp.ncdf(-abs(mp.mpf(float(v)))) for v in x]
        assert max(abs(t / p - 1) for t, p in zip(tail, prob, strict=True)) < 1e-9


@pytest.mark.parametrize("source,target", [("normal", stats.gamma(2.0)),
                                           ("uniform", stats.t(3)),
                                           (stats.lognorm(0.5), stats.beta(2.0, 5.0))])
def test_inverse_cdf_round_trip(source, target):
    m = InverseCDF(target, source=source).fit()
    x = (m.source_.ppf(np.linspace(0.001, 0.5, 200)), m.source_.isf(np.linspace(0.499, 1e-4, 200)))
    x = np.concatenate(x)[:, None]
    assert np.allclose(m.transform(m.inverse_transform(x)), x, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ quantile map
@pytest.mark.parametrize("tails", ["extrapolate", "clip"])
@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_quantile_map_exact_at_training_quantiles_and_monotone(tails, noise):
    x = _t3(500, 1)
    m = QuantileMap(tails=tails, noise=noise).fit(x)
    z = get_noise(noise).ppf(m.positions_)[:, None]
    assert np.allclose(m.inverse_transform(z).ravel(), np.sort(x.ravel()), rtol=1e-10, atol=1e-12)
    grid = np.sort(get_noise(noise).sample(20_000, 1, seed=2), axis=0)
    assert np.all(np.diff(m.inverse_transform(grid).ravel()) >= 0)


def test_quantile_map_with_ties_is_monotone_and_reproduces_atoms():
    x = np.random.default_rng(3).poisson(2.0, size=(1000, 1)).astype(float)
    m = QuantileMap(noise="uniform").fit(x)
    u = np.sort(np.random.default_rng(4).random((50_000, 1)), axis=0)
    y = m.inverse_transform(u).ravel()
    assert np.all(np.diff(y) >= 0)
    for v in (0.0, 2.0, 4.0):  # atoms keep their training frequency (up to one gap, 1/(m+1))
        assert abs(np.mean(y == v) - np.mean(x == v)) < 2 / 1001 + 4 * np.sqrt(0.3 / 50_000)
    # a tied value maps back to the middle of its block of positions
    p = m.positions_[np.sort(x.ravel()) == 2.0]
    assert m.transform(np.array([[2.0]]))[0, 0] == pytest.approx(0.5 * (p[0] + p[-1]))


@pytest.mark.parametrize("m_train", [50, 400])
def test_extrapolated_tails_exceed_the_range_with_probability_two_over_m_plus_one(m_train):
    x = _t3(m_train, 5)
    m = QuantileMap(tails="extrapolate").fit(x)
    y = m.sample(200_000, seed=6).ravel()
    share = np.mean((y > x.max()) | (y < x.min()))
    expected = 2 / (m_train + 1)
    assert abs(share - expected) < 5 * np.sqrt(expected / 200_000) + 0.05 * expected
    assert np.mean(y > x.max()) > 0.3 * expected and np.mean(y < x.min()) > 0.3 * expected


def test_clipped_tails_never_leave_the_range():
    x = _t3(300, 7)
    y = QuantileMap(tails="clip").fit(x).sample(100_000, seed=8)
    assert y.min() >= x.min() and y.max() <= x.max()
    assert y.max() > np.sort(x.ravel())[-2]  # and still reach the outer gap


def test_quantile_map_pushes_noise_to_the_target():
    x = _t3(20_000, 9)
    y = QuantileMap().fit(x).sample(20_000, seed=10).ravel()
    # expected KS ≈ 0.87·√(1/m + 1/n) = 0.0087; 0.02 is far in its tail
    assert stats.kstest(y, stats.t(3).cdf).statistic < 0.02


def test_gpd_tail_estimate_recovers_the_t3_shape():
    m = QuantileMap().fit(_t3(200_000, 11))
    xi = np.concatenate([m.lower_tail_[0], m.upper_tail_[0]])
    assert np.all(np.abs(xi - 1 / 3) < 0.15)


# ---------------------------------------------------------------------------------- copula
def test_copula_keeps_spearman_correlations():
    x = _gaussian_copula_sample(4000, 12)
    m = GaussianCopula().fit(x)
    y = m.sample(20_000, seed=13)
    rho_x = stats.spearmanr(x).statistic
    rho_y = stats.spearmanr(y).statistic
    assert np.abs(rho_x - rho_y).max() < 0.03
    assert abs(rho_y[0, 2]) > 0.3  # the dependence is really there


def test_copula_with_duplicated_columns_still_fits():
    x = _gaussian_copula_sample(500, 14)[:, :2]
    m = GaussianCopula().fit(np.column_stack([x, x[:, 0]]))
    y = m.sample(2000, seed=15)
    assert np.corrcoef(y[:, 0], y[:, 2])[0, 1] > 0.99


# -------------------------------------------------------------------- all maps: round trips
def _fitted(kind: str, noise: str):
    if kind == "inverse-cdf":
        return InverseCDF(stats.gamma(2.0), source=noise).fit(), 1
    if kind == "parametric":
        x = np.random.default_rng(16).gamma(2.0, size=(2000, 2))
        return Parametric("gamma", noise=noise).fit(x), 2
    if kind == "quantile":
        return QuantileMap(noise=noise).fit(_t3(1000, 17)), 1
    return GaussianCopula(noise=noise).fit(_gaussian_copula_sample(1000, 18)), 3


@pytest.mark.parametrize("kind", EXACT)
@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_inverse_of_transform_is_the_identity(kind, noise):
    m, d = _fitted(kind, noise)
    z = get_noise(noise).sample(2000, d, seed=19)
    assert np.allclose(m.transform(m.inverse_transform(z)), z, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- methods, model files, errors
def _source(kind: str) -> Source:
    if kind == "inverse-cdf":
        spec = pytest.importorskip("pushforward.data.spec")
        return Source("gamma(a=2)", ["y"], dist=spec.parse_distribution("gamma(a=2)"),
                      sampler=lambda n, rng: rng.gamma(2.0, size=(n, 1)), spec="gamma(a=2)")
    x = _gaussian_copula_sample(800, 20)
    return Source("data", ["a", "b", "c"], data=x) if kind == "copula" else Source(
        "data", ["a"], data=x[:, :1])


@pytest.mark.parametrize("kind", EXACT)
def test_save_load_gives_identical_samples_at_any_chunk_size(kind, tmp_path):
    source = _source(kind)
    m = METHODS.get(kind)(source, noise="normal", latent_dim=source.dim, seed=3)
    path = m.save(tmp_path / "model")
    loaded = load(path)
    assert type(loaded) is type(m) and loaded.columns == m.columns
    ref = m.sample(3000, seed=21)
    assert np.array_equal(loaded.sample(3000, seed=21, chunk_size=1000), ref)
    assert np.array_equal(loaded.sample(3000, seed=21, chunk_size=65536), ref)


def test_inverse_cdf_on_a_mixture_target_passes_ks():
    spec = pytest.importorskip("pushforward.data.spec")
    mix = spec.parse_distribution("mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))")
    m = InverseCDF(mix, source="normal").fit()
    y = m.sample(20_000, seed=22).ravel()
    assert stats.kstest(y, mix.cdf).statistic < 1.63 / np.sqrt(20_000)  # 1 % level


def test_transform_between_parses_specs():
    pytest.importorskip("pushforward.data.spec")
    u = np.linspace(0.01, 0.99, 99)
    assert np.allclose(transform_between(u, "uniform", "gamma(a=2)"), stats.gamma(2.0).ppf(u),
                       rtol=1e-12)
    x = transform_between(u, "uniform", "t(df=3)")
    assert np.allclose(transform_between(x, "t(df=3)", "uniform"), u, rtol=1e-12)


@pytest.mark.parametrize("cls", [QuantileMap, GaussianCopula, Parametric])
def test_constant_columns_pass_through_exactly(cls):
    """A constant column is set aside by the codec: the core maps only the varying ones, the
    samples carry the constant bit for bit, and transform ∘ inverse_transform is the identity."""
    rng = np.random.default_rng(0)
    x = np.column_stack([np.full(200, 0.1), rng.gamma(2.0, size=200), np.full(200, -3.7),
                         rng.normal(size=200)])
    m = cls().fit(x, columns=["a", "b", "c", "d"])
    assert (m.latent_dim, m.core_dim, m.dim) == (2, 2, 4)
    assert m.schema.indices("constant") == [0, 2]
    s = m.sample(500, seed=1)
    assert (s[:, 0] == 0.1).all() and (s[:, 2] == -3.7).all()
    assert np.unique(s[:, 1]).size > 400
    z = rng.normal(size=(50, 2))
    assert np.allclose(m.transform(m.inverse_transform(z)), z, atol=1e-8)


@pytest.mark.parametrize("cls", [QuantileMap, GaussianCopula, Parametric])
def test_all_constant_data_says_there_is_nothing_to_model(cls):
    x = np.column_stack([np.full(10, 3.0), np.full(10, 1.0)])
    with pytest.raises(PushforwardError, match=r"every column is constant \(flat = 3.0"):
        cls().fit(x, columns=["flat", "one"])


def test_inverse_cdf_on_plain_data_points_to_quantile_and_parametric():
    source = Source("data.csv", ["x"], data=np.arange(10.0)[:, None])
    with pytest.raises(PushforwardError, match="'quantile'.*'parametric'"):
        METHODS.get("inverse-cdf")(source, noise="normal", latent_dim=1, seed=0)


def test_unknown_family_and_tails_and_latent_dim_are_user_errors():
    x = np.random.default_rng(0).normal(size=(50, 1))
    with pytest.raises(PushforwardError, match="unknown scipy.stats family 'gama'.*gamma"):
        Parametric("gama").fit(x)
    with pytest.raises(PushforwardError, match="unknown tails 'cut'; valid: extrapolate, clip"):
        QuantileMap(tails="cut").fit(x)
    with pytest.raises(PushforwardError, match="latent_dim must equal"):
        METHODS.get("quantile")(Source("d", ["x"], data=x), noise="normal", latent_dim=2, seed=0)
    with pytest.raises(PushforwardError, match="not a continuous distribution"):
        transform_between(np.ones(3), "normal", stats.poisson(2.0))


# --------------------------------------------------------------------------------- knots
GAMMA = np.random.default_rng(5).gamma(2.0, size=(20_000, 1))


@pytest.mark.parametrize("tails", ["extrapolate", "clip"])
def test_knots_keep_the_ends_and_the_full_maps_values_at_the_knots(tails):
    """With K knots the map holds K points: the full map's values at K evenly spaced positions
    from p₁ to pₘ, so the ends, the tails and the map at the knots are those of the full map."""
    full = QuantileMap(tails=tails).fit(GAMMA)
    small = QuantileMap(tails=tails, knots=1000).fit(GAMMA)
    assert small.quantiles_.shape == (1000, 1) and small.settings["knots"] == 1000
    assert small.quantiles_[[0, -1], 0].tolist() == [GAMMA.min(), GAMMA.max()]
    np.testing.assert_array_equal(small.upper_tail_, full.upper_tail_)
    np.testing.assert_array_equal(small.lower_tail_, full.lower_tail_)
    z = get_noise("normal").ppf(small.positions_)[:, None]
    np.testing.assert_allclose(small.inverse_transform(z), full.inverse_transform(z), atol=1e-9)
    np.testing.assert_allclose(small.transform(small.inverse_transform(z)), z, atol=1e-7)
    # between the knots the two maps differ by less than the sampling noise of 20,000 values
    a, b = full.sample(200_000, seed=1)[:, 0], small.sample(200_000, seed=1)[:, 0]
    assert stats.ks_2samp(a, b).statistic < 0.002
    # beyond the data (u < p₁ or u > pₘ), both follow the same tail or the same clipped end
    far = np.array([[-9.0], [9.0]])
    np.testing.assert_allclose(small.inverse_transform(far), full.inverse_transform(far))


def test_knots_beyond_the_row_count_keep_every_value():
    m = QuantileMap(knots=50_000).fit(GAMMA)
    np.testing.assert_array_equal(m.quantiles_[:, 0], np.sort(GAMMA[:, 0]))


@pytest.mark.parametrize("kind", ["quantile", "copula"])
def test_a_model_file_with_knots_is_small_and_loads_identically(kind, tmp_path):
    x = np.column_stack([GAMMA[:, 0], np.random.default_rng(6).normal(size=len(GAMMA))])
    x = x[:, :1] if kind == "quantile" else x
    source = Source("d", ["a", "b"][: x.shape[1]], data=x)
    full = METHODS.get(kind)(source, noise="normal", latent_dim=None, seed=0)
    small = METHODS.get(kind)(source, noise="normal", latent_dim=None, seed=0, knots=500)
    sizes = [m.save(tmp_path / f"{kind}-{i}").stat().st_size for i, m in enumerate((full, small))]
    assert sizes[1] < sizes[0] / 10
    back = load(tmp_path / f"{kind}-1")
    assert back.settings["knots"] == 500
    np.testing.assert_array_equal(back.sample(1000, seed=2), small.sample(1000, seed=2))


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "100"])
def test_knots_must_be_an_integer_of_at_least_two(bad):
    with pytest.raises(PushforwardError, match="knots must be an integer of at least 2"):
        QuantileMap(knots=bad).fit(GAMMA)


@pytest.mark.parametrize("change, needle", [
    (lambda t, s: t.update(positions=t["positions"][::-1].copy()), "positions"),
    (lambda t, s: t.update(positions=t["positions"] * 0.5), "positions"),
    (lambda t, s: t.update(positions=t["positions"][:-1].copy()), "positions"),
    (lambda t, s: s.update(knots=1), "knots"),
    (lambda t, s: s.update(knots="many"), "knots"),
])
def test_a_damaged_knotted_file_is_refused_in_one_line(tmp_path, change, needle):
    """Positions that do not increase from p to 1 − p, or a bad knots setting, are refused
    even in a file whose checksum was rewritten to match."""
    import json

    from safetensors.numpy import load_file
    from safetensors.numpy import save as st_save

    from pushforward._checks import checksum
    from pushforward.model import read_model_file

    path = QuantileMap(knots=50).fit(GAMMA).save(tmp_path / "m.safetensors")
    meta, _ = read_model_file(path)
    tensors = load_file(str(path))
    change(tensors, meta["settings"])
    meta["checksum"] = checksum(meta, tensors)
    path.write_bytes(st_save(tensors, metadata={"pushforward": json.dumps(meta)}))
    with pytest.raises(PushforwardError, match=needle) as e:
        load(path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("make", [
    lambda: QuantileMap(tails="clip", noise="uniform", knots=50),
    lambda: GaussianCopula(tails="clip", knots=40),
    lambda: Parametric("gamma", noise="uniform"),
    lambda: InverseCDF("gamma(a=2)", source="normal"),
])
def test_exact_maps_pass_sklearn_clone(make):
    """get_params declares the constructor's settings, so scikit-learn's clone gives an unfitted
    copy with the same settings, which fits to the same map."""
    from sklearn.base import clone

    x = np.random.default_rng(0).gamma(2.0, size=(300, 2))
    m = make()
    c = clone(m)
    assert type(c) is type(m) and c is not m and c.get_params() == m.get_params()
    assert not hasattr(c, "codec_")  # unfitted
    args = () if isinstance(m, InverseCDF) else (x,)
    np.testing.assert_array_equal(c.fit(*args).sample(20, seed=1), m.fit(*args).sample(20, seed=1))
    assert clone(m.set_params(**m.get_params())).get_params() == m.get_params()


def test_set_params_names_the_valid_ones():
    with pytest.raises(PushforwardError, match="QuantileMap has no parameter 'tail'; its "
                       "parameters: tails, noise, knots"):
        QuantileMap().set_params(tail="clip")


def test_unknown_options_name_the_declared_ones():
    x = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(PushforwardError, match="method 'copula' has no option 'famly'; its "
                       "options: tails, knots, n_train"):
        pushforward.fit(x, method="copula", famly="gamma")
    with pytest.raises(PushforwardError, match="method 'swd' has no option 'stepz'; its "
                       "options: net, width.*config"):
        pushforward.fit(x, method="swd", stepz=3)
