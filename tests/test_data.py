"""Data sources: toy recipes, distribution specs and mixtures, files, pictures, load_source."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from pushforward.data import TARGETS, Source, load_source, parse_distribution
from pushforward.data.files import load_file
from pushforward.data.mixture import Mixture
from pushforward.data.picture import load_picture
from pushforward.errors import PushforwardError

TOYS_2D = [name for name in TARGETS if name != "digits"]


def raises(match_all: list[str], fn, *args, **kwargs) -> str:
    """Call ``fn``; it must raise a one-line PushforwardError containing every string."""
    with pytest.raises(PushforwardError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    for part in match_all:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def ks(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ks_2samp(a, b).statistic)


def assert_same_2d(a: np.ndarray, b: np.ndarray, bound: float = 0.05) -> None:
    """Two 2-D samples agree in both coordinates, radius and angle (two-sample KS)."""
    for f in (lambda x: x[:, 0], lambda x: x[:, 1], lambda x: np.hypot(x[:, 0], x[:, 1]),
              lambda x: np.arctan2(x[:, 1], x[:, 0])):
        assert ks(f(a), f(b)) < bound


# ---------------------------------------------------------------------------- toy targets
@pytest.mark.parametrize("name", list(TARGETS))
def test_target_reproducible_and_fresh(name):
    source = TARGETS.get(name)()
    a, b = source.draw(300, seed=1), source.draw(300, seed=1)
    c = source.draw(300, seed=2)
    assert a.shape == (300, source.dim) and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    family = TARGETS.descriptions[name]
    assert any(f in family for f in ("WGAN-GP", "FFJORD", "scikit-learn"))


def nearest(points: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(points[:, None, :] - centres[None], axis=2)
    return d.argmin(axis=1), d.min(axis=1)


def assert_balanced(labels: np.ndarray, k: int) -> None:
    counts = np.bincount(labels, minlength=k)
    n, p = len(labels), 1 / k
    assert np.all(np.abs(counts - n * p) < 5 * np.sqrt(n * p * (1 - p))), counts


@pytest.mark.parametrize("name, radius, sd", [("8gaussians", 2.0, 0.02),
                                              ("8gaussians-ffjord", 4.0, 0.5)])
def test_eight_gaussians(name, radius, sd):
    x = load_source(name).draw(4000, seed=0)
    angles = np.arange(8) * np.pi / 4
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], 1) / 1.414
    label, dist = nearest(x, centres)
    assert dist.max() < 5 * sd / 1.414 * 1.3  # radial 2-D deviation: within ~5σ
    assert_balanced(label, 8)
    resid = x - centres[label]
    assert np.std(resid, axis=0) == pytest.approx([sd / 1.414] * 2, rel=0.1)
    # covariance of the mixture: (r²/2 + σ²) I; 8gaussians is scaled to std ≈ 1
    expected = ((radius / 1.414) ** 2 / 2 + (sd / 1.414) ** 2) * np.eye(2)
    assert np.allclose(np.cov(x.T), expected, rtol=0.05, atol=0.05 * expected[0, 0])


def test_25gaussians():
    x = load_source("25gaussians").draw(5000, seed=0)
    grid = np.array([(2 * i, 2 * j) for i in range(-2, 3) for j in range(-2, 3)]) / 2.828
    label, dist = nearest(x, grid)
    assert dist.max() < 6 * 0.05 / 2.828
    assert_balanced(label, 25)
    assert np.abs(x).max() < 1.5


def test_checkerboard_is_uniform_on_8_of_16_squares():
    x = load_source("checkerboard").draw(8000, seed=0)
    assert np.all(np.abs(x) <= 4)
    i, j = np.floor(x[:, 0] / 2).astype(int) + 2, np.floor(x[:, 1] / 2).astype(int) + 2
    squares = i * 4 + j
    assert len(np.unique(squares)) == 8
    assert len(np.unique((i + j) % 2)) == 1  # a checkerboard: one colour only
    assert_balanced(np.unique(squares, return_inverse=True)[1], 8)
    # uniform inside a square: the position within it is U[0, 2)²
    within = np.mod(x, 2.0)
    assert ks(within[:, 0], np.linspace(0, 2, 1001)) < 0.03


def test_rings_radii():
    x = load_source("rings").draw(6000, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    radii = np.array([3.0, 2.25, 1.5, 0.75])
    label = np.abs(r[:, None] - radii).argmin(axis=1)
    assert_balanced(label, 4)
    for k, rad in enumerate(radii):
        assert r[label == k].mean() == pytest.approx(rad, abs=0.01)
        assert np.std(r[label == k]) == pytest.approx(0.08, rel=0.15)


@pytest.mark.parametrize("name, make", [
    ("moons", lambda n, s: __import__("sklearn.datasets").datasets.make_moons(
        n, noise=0.1, random_state=s)[0] * 2 + np.array([-1, -0.2])),
    ("circles", lambda n, s: __import__("sklearn.datasets").datasets.make_circles(
        n, factor=0.5, noise=0.08, random_state=s)[0] * 3),
    ("swissroll", lambda n, s: __import__("sklearn.datasets").datasets.make_swiss_roll(
        n, noise=0.25, random_state=s)[0][:, [0, 2]] / 7.5),
    ("swissroll-ffjord", lambda n, s: __import__("sklearn.datasets").datasets.make_swiss_roll(
        n, noise=1.0, random_state=s)[0][:, [0, 2]] / 5),
])
def test_sklearn_recipes_match_sklearn(name, make):
    ours = load_source(name).draw(5000, seed=0)
    assert_same_2d(ours, make(5000, 0))


class ConstantGenerator:
    """Every uniform draw is U, every normal draw Z, every integer draw the second allowed value.

    Fed to a recipe it pins the published constants (radii, noise scales, divisors), which
    distribution-level tests only see blurred.
    """

    U, Z = 0.3, 1.0

    def random(self, size):
        return np.full(size, self.U)

    def standard_normal(self, size):
        return np.full(size, self.Z)

    def integers(self, low, high=None, size=None):
        return np.full(size, 1 if high is None else low + 1)


def _published(name: str) -> tuple[float, float]:
    """TOY_TARGETS.md's recipe at U = 0.3, Z = 1, integer draws 1 (or −1 for 25gaussians)."""
    u, z, c45 = 0.3, 1.0, np.cos(np.pi / 4)
    t_roll = 1.5 * np.pi * (1 + 2 * u)
    roll = np.array([t_roll * np.cos(t_roll), t_roll * np.sin(t_roll)])
    t_spiral = np.sqrt(u) * 3 * np.pi
    f0, f1 = 1 + 0.3 * z, 0.1 * z
    a = 2 * np.pi / 5 + 0.25 * np.exp(f0)
    return {
        "8gaussians": (np.array([2 * c45, 2 * c45]) + 0.02 * z) / 1.414,
        "25gaussians": (np.array([-2.0, -2.0]) + 0.05 * z) / 2.828,
        "swissroll": (roll + 0.25 * z) / 7.5,
        "8gaussians-ffjord": (np.array([4 * c45, 4 * c45]) + 0.5 * z) / 1.414,
        "swissroll-ffjord": (roll + 1.0 * z) / 5,
        "moons": 2 * (np.array([np.cos(np.pi * u), np.sin(np.pi * u)]) + 0.1 * z)
        + np.array([-1, -0.2]),
        "circles": 3 * (np.array([np.cos(2 * np.pi * u), np.sin(2 * np.pi * u)]) + 0.08 * z),
        "rings": 2.25 * np.array([np.cos(2 * np.pi * u), np.sin(2 * np.pi * u)]) + 0.08 * z,
        "pinwheel": 2 * np.array([f0 * np.cos(a) + f1 * np.sin(a),
                                  -f0 * np.sin(a) + f1 * np.cos(a)]),
        "2spirals": np.array([-np.cos(t_spiral) * t_spiral + 0.5 * u,
                              np.sin(t_spiral) * t_spiral + 0.5 * u]) / 3 + 0.1 * z,
        "checkerboard": 2 * np.array([4 * u - 2, u - 2 + np.floor(4 * u - 2) % 2]),
    }[name]


@pytest.mark.parametrize("name", TOYS_2D)
def test_toy_constants(name):
    got = TARGETS.get(name)().sampler(3, ConstantGenerator())
    assert got == pytest.approx(np.tile(_published(name), (3, 1)), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name, noise, scale", [("swissroll", 0.25, 7.5),
                                                ("swissroll-ffjord", 1.0, 5.0)])
def test_swissroll_noise(name, noise, scale):
    """Radial distance to the nearest turn of the spiral r = θ is the noise (sd as published)."""
    x = load_source(name).draw(6000, seed=0) * scale
    r, theta = np.hypot(x[:, 0], x[:, 1]), np.mod(np.arctan2(x[:, 1], x[:, 0]), 2 * np.pi)
    turns = theta[:, None] + 2 * np.pi * np.arange(4)
    resid = (r[:, None] - turns)[np.arange(len(r)), np.abs(r[:, None] - turns).argmin(1)]
    outer = r > 2.5 * np.pi  # away from the tight inner turn, radial ≈ normal direction
    assert np.std(resid[outer]) == pytest.approx(noise, rel=0.1)


def test_circles_radii():
    r = np.hypot(*load_source("circles").draw(5000, seed=3).T)
    outer = r > 2.25
    assert outer.mean() == pytest.approx(0.5, abs=0.03)
    assert r[outer].mean() == pytest.approx(3.0, abs=0.02)
    assert r[~outer].mean() == pytest.approx(1.5, abs=0.03)


# Transcriptions of FFJORD's lib/toy_data.py (global-RNG style, grids), the reference to match.
def ffjord_pinwheel(n, rs):
    rads = np.linspace(0, 2 * np.pi, 5, endpoint=False)
    features = rs.randn(5 * (n // 5), 2) * np.array([0.3, 0.1])
    features[:, 0] += 1.0
    labels = np.repeat(np.arange(5), n // 5)
    angles = rads[labels] + 0.25 * np.exp(features[:, 0])
    rotations = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)])
    rotations = np.reshape(rotations.T, (-1, 2, 2))
    return 2 * rs.permutation(np.einsum("ti,tij->tj", features, rotations))


def ffjord_2spirals(n, rs):
    t = np.sqrt(rs.rand(n // 2, 1)) * 540 * (2 * np.pi) / 360
    d1x = -np.cos(t) * t + rs.rand(n // 2, 1) * 0.5
    d1y = np.sin(t) * t + rs.rand(n // 2, 1) * 0.5
    x = np.vstack((np.hstack((d1x, d1y)), np.hstack((-d1x, -d1y)))) / 3
    return x + rs.randn(*x.shape) * 0.1


def ffjord_checkerboard(n, rs):
    x1 = rs.rand(n) * 4 - 2
    x2 = rs.rand(n) - rs.randint(0, 2, n) * 2 + np.floor(x1) % 2
    return np.concatenate([x1[:, None], x2[:, None]], 1) * 2


def ffjord_rings(n, rs):
    m = n // 4
    angle = np.linspace(0, 2 * np.pi, m, endpoint=False)
    x = np.vstack([np.hstack([np.cos(angle) * r for r in (1, 0.75, 0.5, 0.25)]),
                   np.hstack([np.sin(angle) * r for r in (1, 0.75, 0.5, 0.25)])]).T * 3.0
    return x + rs.normal(scale=0.08, size=x.shape)


@pytest.mark.parametrize("name, reference", [("pinwheel", ffjord_pinwheel),
                                             ("2spirals", ffjord_2spirals),
                                             ("checkerboard", ffjord_checkerboard),
                                             ("rings", ffjord_rings)])
def test_ffjord_recipes_match_reference(name, reference):
    ours = load_source(name).draw(6000, seed=0)
    assert_same_2d(ours, reference(6000, np.random.RandomState(0)))


def test_digits_is_finite_source():
    d = load_source("digits")
    assert d.finite and d.data.shape == (1797, 64) and d.data.dtype == np.float64
    assert d.columns[0] == "px0" and d.columns[-1] == "px63"
    assert set(np.unique(d.data)) <= set(range(17)) and d.data.max() == 16


# ---------------------------------------------------------------------------- specs
METHODS = ["cdf", "sf", "logcdf", "logsf", "ppf", "isf", "pdf", "logpdf", "rvs", "support"]


@pytest.mark.parametrize("text, mean, var", [
    ("norm", 0.0, 1.0), ("norm(-2, 0.5)", -2.0, 0.25), ("gamma(a=2)", 2.0, 2.0),
    ("t(df=3)", 0.0, 3.0), ("beta(a=0.5, b=0.5)", 0.5, 0.125), ("gamma(2, scale=3)", 6, 18),
    ("mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))", 0.3 * -2 + 0.7 * 2,
     0.3 * 4.25 + 0.7 * 6 - (0.3 * -2 + 0.7 * 2) ** 2),
    ("mix(norm(-1), norm(1))", 0.0, 2.0), ("mix(1/3*norm, 2/3*norm(3))", 2.0, 3.0),
])
def test_spec_parses(text, mean, var):
    d = parse_distribution(text)
    assert all(callable(getattr(d, m)) for m in METHODS)
    assert float(d.mean()) == pytest.approx(mean, abs=1e-12)
    assert float(d.var()) == pytest.approx(var, rel=1e-9)
    assert parse_distribution(d.spec).spec == d.spec  # the canonical spec round-trips
    assert np.asarray(d.rvs(size=5, random_state=np.random.default_rng(0))).shape == (5,)


def test_arcsine_cdf_exact():
    assert float(parse_distribution("beta(a=0.5, b=0.5)").cdf(0.25)) == pytest.approx(1 / 3)


@pytest.mark.parametrize("text, parts", [
    ("__import__('os').system('echo hi')", ["attribute access"]),
    ("__import__('os')", ["unknown distribution '__import__'"]),
    ("norm.__class__", ["attribute access"]),
    ("(lambda: 1)()", ["cannot be called"]),
    ("'norm'", ["str"]),
    ("norm('1')", ["expected a number"]),
    ("norm(*[1])", ["expected a number"]),
    ("norm(**{'loc': 1})", ["** is not allowed"]),
    ("[norm]", ["list is not allowed"]),
    ("norm; import os", ["not valid syntax"]),
    ("gamma(a=2) + 1", ["binop is not allowed"]),
    ("mix(0.3*norm, 0.7*open('x'))", ["unknown distribution 'open'"]),
    ("norm(9**9**9)", ["expected a number"]),
    ("norm(loc=x)", ["expected a number, got name 'x'"]),
    ("norm(1e999)", ["not a finite number"]),
    ("norm(1/0)", ["division by zero"]),
    ("", ["empty"]),
    ("norm(", ["not valid syntax"]),
    ("gamma", ["gamma takes gamma(a, loc=0, scale=1)", "missing"]),
    ("gamma(a=-1)", ["invalid parameters", "gamma(a=-1)"]),
    ("norm(0, -1)", ["invalid parameters"]),
    ("gamma(b=2)", ["unexpected keyword argument 'b'"]),
    ("norm(1, 2, 3)", ["got 3 positional values"]),
    ("poisson(mu=3)", ["discrete"]),
    ("nrom", ["unknown distribution 'nrom'", "did you mean norm"]),
    ("mix()", ["at least one component"]),
    ("mix", ["mix needs components"]),
    ("mix(0.3*norm, 0.6*norm(1))", ["sum to 0.9, not 1"]),
    ("mix(-0.5*norm, 1.5*norm(1))", ["positive"]),
    ("mix(0.5*norm, norm(1))", ["every mixture component a weight, or none"]),
    ("x" * 3000, ["longer than"]),
    ("norm(" + "-" * 1900 + "1)", ["nested too deeply"]),
])
def test_spec_rejects(text, parts):
    message = raises(parts, parse_distribution, text)
    assert message.startswith("distribution spec")


MIX = "mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))"


@pytest.fixture(scope="module")
def mix() -> Mixture:
    return parse_distribution(MIX)


def test_mixture_cdf_integrates_pdf(mix):
    assert integrate.quad(mix.pdf, -np.inf, np.inf, points=None)[0] == pytest.approx(1, abs=1e-9)
    for x in (-3.0, -2.0, 0.0, 0.5, 2.0, 7.0):
        lower = integrate.quad(mix.pdf, -np.inf, min(x, 0.0))[0]
        upper = integrate.quad(mix.pdf, 0.0, x)[0] if x > 0 else 0.0
        assert lower + upper == pytest.approx(float(mix.cdf(x)), abs=1e-10)
        assert float(mix.sf(x)) == pytest.approx(1 - float(mix.cdf(x)), abs=1e-14)


def test_mixture_logs_survive_underflow(mix):
    x = np.array([-0.5, 1.0, 3.0])
    assert np.allclose(mix.logpdf(x), np.log(mix.pdf(x)))
    assert np.allclose(mix.logcdf(x), np.log(mix.cdf(x)))
    # far tails where cdf / sf underflow to 0: the logs stay exact
    assert float(mix.cdf(-40.0)) == 0.0
    assert float(mix.logcdf(-40.0)) == pytest.approx(
        np.log(0.3) + stats.norm.logcdf(-40, -2, 0.5), rel=1e-12)
    # gamma(2) has sf (1 + x)e^{-x}: at 600 it is 1e-258, where log(sf) would still do, and
    # the normal component's share (e^{-7e5}) vanishes only in log space
    assert float(mix.logsf(600.0)) == pytest.approx(np.log(0.7) + np.log1p(600) - 600, rel=1e-12)
    assert float(mix.logsf(-40.0)) == pytest.approx(0.0, abs=1e-15)


def test_mixture_ppf_inverts_cdf(mix):
    u = np.concatenate([np.logspace(-12, -2.1, 23), np.linspace(0.01, 0.99, 99)])
    x = mix.ppf(u)
    assert np.all(np.diff(x) >= 0)
    assert np.max(np.abs(mix.cdf(x) - u)) < 1e-14
    grid = np.linspace(-4, 15, 200)
    assert np.allclose(mix.ppf(mix.cdf(grid)), grid, rtol=1e-8, atol=1e-8)
    lo, hi = mix.support()
    assert mix.ppf(0.0) == lo and mix.ppf(1.0) == hi and np.isnan(mix.ppf(1.5))
    assert mix.u_resolution_ == 1e-15


def test_mixture_isf_accurate_in_upper_tail(mix):
    s = np.logspace(-13, -1, 25)
    x = mix.isf(s)
    assert np.all(np.diff(x) < 0)
    assert np.allclose(mix.sf(x), s, rtol=1e-2, atol=0)
    assert float(mix.sf(mix.isf(1e-12))) == pytest.approx(1e-12, rel=2e-3)
    # 1 − s cancels: the ppf route cannot resolve s = 1e-17, the mirrored PINV still can
    assert mix.ppf(1 - 1e-17) == np.inf and np.isfinite(mix.isf(1e-17))
    single = parse_distribution("mix(1*gamma(a=2))")
    assert float(single.isf(1e-12)) == pytest.approx(stats.gamma(2).isf(1e-12), rel=1e-3)
    assert float(single.ppf(1e-12)) == pytest.approx(stats.gamma(2).ppf(1e-12), rel=1e-3)


def test_mixture_rvs_by_component(mix):
    a = mix.rvs(size=20000, random_state=np.random.default_rng(0))
    b = mix.rvs(size=20000, random_state=np.random.default_rng(0))
    assert np.array_equal(a, b)
    assert stats.kstest(a, mix.cdf).pvalue > 1e-3
    assert (a < -0.5).mean() == pytest.approx(0.3, abs=0.015)  # the normal component's share
    assert mix.rvs(size=(2, 3), random_state=1).shape == (2, 3)


def test_mixture_separated_modes_and_poles():
    far = parse_distribution("mix(norm(-10, 1), norm(10, 1))")
    u = np.linspace(0.001, 0.999, 201)
    assert np.max(np.abs(far.cdf(far.ppf(u)) - u)) < 1e-12  # PINV truncates; HINV is used
    assert far.ppf([0.25, 0.75]) == pytest.approx([-10, 10], abs=1e-9)
    pole = parse_distribution("mix(0.5*beta(0.5, 0.5), 0.5*norm(0.5, 0.1))")
    assert float(pole.cdf(0.5)) == pytest.approx(0.5)
    raises(["unbounded", "beta(0.5, 0.5)"], pole.ppf, 0.3)


def test_mixture_validates_weights():
    raises(["sum to"], Mixture, [stats.norm()], [0.5])
    raises(["positive"], Mixture, [stats.norm(), stats.norm()], [1.5, -0.5])


# ---------------------------------------------------------------------------- files
def write(path, text):
    path.write_text(text)
    return path


def test_csv_with_header_and_columns(tmp_path):
    p = write(tmp_path / "d.csv", "a,b,label\n1,2,x\n3,4,y\n5,6,z\n")
    s = load_file(p, columns=["b", "a"])
    assert s.columns == ["b", "a"] and s.data.tolist() == [[2, 1], [4, 3], [6, 5]]
    assert load_file(p, columns="1,0").data.tolist() == s.data.tolist()
    assert load_file(p, columns=[1]).data.dtype == np.float64
    assert s.meta["header"] is True and s.finite


@pytest.mark.parametrize("name, text, columns, expect", [
    ("n.csv", "1,2\n3,4\n5.5,-6e-1\n", ["x0", "x1"], [[1, 2], [3, 4], [5.5, -0.6]]),
    ("t.tsv", "u\tv\n1\t2\n3\t4\n", ["u", "v"], [[1, 2], [3, 4]]),
    ("s.txt", "1.5\n\n2.5\n-3\n", ["x"], [[1.5], [2.5], [-3]]),
    ("w.dat", "1 2\n3   4\n", ["x0", "x1"], [[1, 2], [3, 4]]),
    ("semi.dat", "a;b\n1;2\n3;4\n", ["a", "b"], [[1, 2], [3, 4]]),
    ("h.txt", "value\n1\n2\n", ["value"], [[1], [2]]),
    ("euro.csv", "a;b\n1;2\n3;4\n", ["a", "b"], [[1, 2], [3, 4]]),
    ("index.csv", ",a\n0,1.5\n1,2.5\n", ["unnamed0", "a"], [[0, 1.5], [1, 2.5]]),
    ("quoted.csv", '"a","b c"\n"1",2\n3,"4"\n', ["a", "b c"], [[1, 2], [3, 4]]),
])
def test_text_formats(tmp_path, name, text, columns, expect):
    s = load_file(write(tmp_path / name, text))
    assert s.columns == columns and s.data.tolist() == expect


def test_compressed_csv(tmp_path):
    p = tmp_path / "d.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("a,b\n1,2\n3,4\n")
    assert load_file(p).data.tolist() == [[1, 2], [3, 4]]


def test_binary_formats(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "v.npy", np.arange(4))
    np.savez(tmp_path / "one.npz", q=x)
    np.savez(tmp_path / "two.npz", a=x, b=np.ones(3))
    assert np.array_equal(load_file(tmp_path / "a.npy").data, x)
    assert load_file(tmp_path / "v.npy").data.shape == (4, 1)
    assert np.array_equal(load_file(tmp_path / "one.npz").data, x)
    s = load_file(tmp_path / "two.npz", key="a", columns=[1])
    assert s.data.tolist() == x[:, [1]].tolist() and s.meta["key"] == "a"
    raises(["two.npz", "2 arrays", "a, b"], load_file, tmp_path / "two.npz")
    raises(["no array 'c'", "a, b"], load_file, tmp_path / "two.npz", key="c")


def test_parquet(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [3, 4, 5], "s": ["1", "2", "x"]}).to_parquet(p)
    assert load_file(p, columns="b").data.tolist() == [[3], [4], [5]]
    s = load_file(p, columns=["a", "b"], dropna=True)
    assert s.data.tolist() == [[1, 3], [2, 4]] and s.meta["dropped_rows"] == 1
    raises(["d.parquet", "row index 2", "'s'", "'x'"], load_file, p)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    raises(['pip install "pushforward[parquet]"'], load_file, p)


BAD_TEXT = [
    ("empty.csv", "", {}, ["empty.csv", "empty"]),
    ("blank.csv", "\n \n", {}, ["empty"]),
    ("head.csv", "a,b\n", {}, ["head.csv", "header only"]),
    ("cell.csv", "a,b\n1,2\n\n3,abc\n", {}, ["cell.csv", "row 2 (line 4)", "'b'", "'abc'"]),
    ("gaps.csv", "a,b\n1,\n3,\n5,\n", {}, ["gaps.csv", "'b'", "every value is missing"]),
    ("inf.csv", "a,b\n1,2\n3,4\n5,-inf\n", {}, ["row 3 (line 4)", "'b'", "-inf"]),
    ("col.csv", "a,b\n1,2\n3,4\n", {"columns": "a,c"}, ["unknown column 'c'", "a, b"]),
    ("idx.csv", "a,b\n1,2\n3,4\n", {"columns": [5]}, ["index 5", "0..1"]),
    ("one.csv", "a,b\n1,2\n", {}, ["one.csv", "need at least 2 rows"]),
    ("ragged.csv", "a,b\n1,2\n3,4,5\n", {}, ["line 3 has 3 fields, expected 2"]),
    ("drop1.csv", "a\n1\nnan\n", {"dropna": True}, ["need at least 2 rows", "dropping 1"]),
]


@pytest.mark.parametrize("name, text, kwargs, parts", BAD_TEXT)
def test_bad_text_files(tmp_path, name, text, kwargs, parts):
    raises(parts, load_file, write(tmp_path / name, text), **kwargs)


def test_bad_binary_files(tmp_path):
    raises(["nothere.csv", "no such file"], load_file, tmp_path / "nothere.csv")
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2, 2, 2)))  # 3-D and 4-D ones are images
    raises(["cube.npy", "(2, 2, 2, 2, 2)"], load_file, tmp_path / "cube.npy")
    np.save(tmp_path / "obj.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    raises(["obj.npy", "object"], load_file, tmp_path / "obj.npy")
    np.save(tmp_path / "str.npy", np.array(["1", "2"]))
    raises(["str.npy", "need numbers"], load_file, tmp_path / "str.npy")
    np.save(tmp_path / "ok.npy", np.arange(10.0))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "ok.npy").read_bytes()[:70])
    raises(["cut.npy", "not a valid .npy"], load_file, tmp_path / "cut.npy")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\xff\xfe\x89PNG")
    raises(["bin.csv", "not a UTF-8 text file"], load_file, tmp_path / "bin.csv")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    raises(["bad.npz", "not a valid .npz"], load_file, tmp_path / "bad.npz")
    np.save(tmp_path / "nan.npy", np.array([[1.0, 2.0], [3.0, np.inf]]))
    raises(["nan.npy", "row index 1", "'x1'", "inf"], load_file, tmp_path / "nan.npy")


def test_large_csv_finds_the_bad_cell(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50_000, 3))
    lines = ["a,b,c"] + [",".join(repr(float(v)) for v in r) for r in x]
    lines[40_001] = "1.0,oops,2.0"
    p = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    raises(["row 40001 (line 40002)", "'b'", "'oops'"], load_file, p)
    lines[40_001] = "1.0,2.0,3.0"
    assert np.allclose(load_file(write(p, "\n".join(lines))).data[:10], x[:10], rtol=0, atol=0)


# ---------------------------------------------------------------------------- pictures
def png(path, grey, alpha=None):
    from PIL import Image

    array = np.asarray(grey, dtype=np.uint8)
    if alpha is not None:
        array = np.stack([array] * 3 + [np.asarray(alpha, dtype=np.uint8)], axis=-1)
    Image.fromarray(array).save(path)
    return path


def test_picture_left_half(tmp_path):
    img = np.full((10, 20), 255)
    img[:, :10] = 0
    x = load_source(f"image:{png(tmp_path / 'left.png', img)}").draw(4000, seed=0)
    assert x[:, 0].min() >= 0 and x[:, 0].max() < 0.5  # longer side (20 px) spans [0, 1]
    assert x[:, 1].min() >= 0 and x[:, 1].max() <= 0.5
    assert x.mean(axis=0) == pytest.approx([0.25, 0.25], abs=0.01)  # uniform within the ink


def test_picture_is_upright_and_weighs_darkness(tmp_path):
    img = np.full((4, 4), 255)
    img[0, 0] = 0  # top-left: full mass
    img[3, 3] = 191  # bottom-right: a quarter of the mass
    s = load_picture(png(tmp_path / "two.png", img))
    x = s.draw(20000, seed=1)
    top = x[:, 1] > 0.75
    assert np.all(x[top, 0] < 0.25) and np.all(x[~top, 0] >= 0.75) and np.all(x[~top, 1] < 0.25)
    assert top.mean() == pytest.approx(255 / (255 + 64), abs=0.01)
    assert s.meta["extent"] == [0.0, 1.0, 0.0, 1.0]


def test_picture_alpha_and_jpeg(tmp_path):
    grey = np.zeros((2, 2))
    alpha = np.array([[255, 0], [0, 0]])  # black everywhere, but only one pixel is opaque
    x = load_picture(png(tmp_path / "a.png", grey, alpha)).draw(500, seed=0)
    assert np.all(x[:, 0] < 0.5) and np.all(x[:, 1] >= 0.5)
    from PIL import Image

    img = np.full((8, 8), 255, dtype=np.uint8)
    img[:, :4] = 0
    Image.fromarray(img).save(tmp_path / "p.jpg", quality=95)
    x = load_source(tmp_path / "p.jpg").draw(2000, seed=0)  # by extension, without image:
    assert np.mean(x[:, 0] < 0.5) > 0.97


def test_picture_errors(tmp_path):
    raises(["image:", "no such file"], load_source, f"image:{tmp_path / 'none.png'}")
    raises(["all white"], load_picture, png(tmp_path / "white.png", np.full((3, 3), 255)))
    (tmp_path / "fake.png").write_text("hello")
    raises(["fake.png", "cannot read the image"], load_picture, tmp_path / "fake.png")


# ---------------------------------------------------------------------------- load_source
def test_load_source_in_memory():
    s = load_source(np.arange(5.0))
    assert s.data.shape == (5, 1) and s.columns == ["x"] and s.finite
    assert load_source(s) is s
    frame = pd.DataFrame({"u": [1, 2, 3], "v": [0.5, 1.5, 2.5], "w": ["a", "b", "c"]})
    t = load_source(frame, columns="v,u")
    assert t.columns == ["v", "u"] and t.data.tolist() == [[0.5, 1], [1.5, 2], [2.5, 3]]
    assert load_source([[1, 2], [3, 4]]).data.dtype == np.float64
    assert load_source(frame["v"]).columns == ["v"]
    dropped = load_source(np.array([[1.0], [np.nan], [2.0]]), dropna=True)
    assert dropped.data.tolist() == [[1], [2]] and dropped.meta["dropped_rows"] == 1


@pytest.mark.parametrize("x, parts", [
    (np.array([[1.0, np.nan], [2.0, np.nan]]), ["'x1'", "every value is missing"]),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), ["row index 0", "'x1'", "inf"]),
    (np.array([1.0]), ["need at least 2 rows"]),
    (np.zeros((3, 2, 2)), ["(3, 2, 2)"]),
    ([[1, 2], [3]], ["different lengths"]),
    (["1", "a"], ["need numbers"]),
    (pd.DataFrame({"u": [1, 2, 3], "v": ["1", "2", "a"]}), ["row index 2", "'v'", "'a'"]),
])
def test_load_source_bad_memory(x, parts):
    raises(parts, load_source, x)


def test_load_source_strings(tmp_path, monkeypatch):
    assert load_source("moons").spec == "moons" and load_source(" moons ").dim == 2
    s = load_source("gamma(a=2)")
    assert s.dist is not None and s.columns == ["x"] and s.spec == "gamma(a=2)"
    assert np.array_equal(s.draw(10, seed=4), s.draw(10, seed=4)) and s.draw(10).shape == (10, 1)
    assert stats.kstest(s.draw(5000, seed=0)[:, 0], s.dist.cdf).pvalue > 1e-3
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n")
    assert load_source("d.csv", columns="b").data.tolist() == [[2], [4]]
    assert load_source(tmp_path / "d.csv").dim == 2
    assert load_source("digits", columns="px1,px2").data.shape == (1797, 2)
    raises(["'nothing.csv'", "no such file", "built-in target", "pushforward list"],
           load_source, "nothing.csv")
    raises(["did you mean moons"], load_source, "mons")
    raises(["distribution spec", "invalid parameters"], load_source, "gamma(a=-1)")
    raises(["unknown column"], load_source, "moons", columns="z")


def test_source_type_is_exported():
    assert Source is load_source("moons").__class__


# ------------------------------------------------------------------ data larger than memory
def test_a_float_npy_file_stays_on_disk_memory_mapped(tmp_path):
    x = np.random.default_rng(0).normal(size=(1000, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    s = load_file(tmp_path / "x.npy")
    assert isinstance(s.data, np.memmap) and s.data.dtype == np.float32  # not read, not copied
    np.testing.assert_array_equal(s.data, x)
    picked = load_file(tmp_path / "x.npy", columns="x2,x0").data  # a column choice copies
    np.testing.assert_array_equal(picked, x[:, [2, 0]].astype(np.float64))


def test_a_memory_mapped_file_is_still_checked_row_by_row(tmp_path, monkeypatch):
    import pushforward.data.files as files

    monkeypatch.setattr(files, "SCAN_ROWS", 7)  # several blocks: the bad row is in the third
    x = np.arange(40.0).reshape(20, 2)
    x[17, 1] = np.inf
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(PushforwardError, match=r"row index 17, column 'x1': value inf is not"):
        load_file(tmp_path / "x.npy")
    kept = load_file(tmp_path / "x.npy", dropna=True)
    assert len(kept.data) == 19 and kept.meta["dropped_rows"] == 1
    x[17, 1] = np.nan  # a gap is kept for the map to model
    np.save(tmp_path / "x.npy", x)
    assert np.isnan(load_file(tmp_path / "x.npy").data[17, 1])
