"""Built-in toy targets: the published recipes of the WGAN-GP and FFJORD toy sets, and digits.

The two families share names but not parameters, so each recipe has its own name (the FFJORD
versions of ``8gaussians`` and ``swissroll`` carry a ``-ffjord`` suffix). Every sampler draws
fresh i.i.d. points from the numpy Generator it is given; where an original used a deterministic
grid of angles or a fixed number per class (``make_moons``, ``make_circles``, ``rings``,
``pinwheel``, ``2spirals``), the class and the angle are drawn uniformly instead: the same
distribution, a truly i.i.d. and reproducible sample.

References:
    Gulrajani et al. (2017), "Improved Training of Wasserstein GANs", arXiv:1704.00028
    (``gan_toy.py``). Grathwohl et al. (2019), "FFJORD: Free-form Continuous Dynamics for
    Scalable Reversible Generative Models", arXiv:1810.01367 (``lib/toy_data.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..registry import Registry
from .source import Source

Factory = Callable[[], Source]

#: Built-in targets: name → factory returning a :class:`Source`.
TARGETS: Registry[Factory] = Registry("target")

WGAN = "WGAN-GP toy set (Gulrajani et al. 2017)"
FFJORD = "FFJORD toy set (Grathwohl et al. 2019)"


def _toy(name: str, description: str, family: str):
    """Register a 2-D sampler ``f(n, rng) -> (n, 2)`` as the target ``name``."""

    def add(sampler: Callable[[int, np.random.Generator], np.ndarray]):
        def factory() -> Source:
            return Source(name=name, columns=["x", "y"], sampler=sampler, spec=name,
                          meta={"family": family})

        factory.__doc__ = f"{description} [{family}]"
        TARGETS.register(name, f"{description} [{family}]")(factory)
        return sampler

    return add


def _unit_circle(angle: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


#: The mixture toys' modes: name → (centres, σ) after the toy's scaling, as the samplers draw
#: them and as ``docs/measures.md``'s mode coverage counts them (the one copy).
MODES: dict[str, tuple[np.ndarray, float]] = {
    "8gaussians": (2.0 * _unit_circle(np.arange(8) * (np.pi / 4)) / 1.414, 0.02 / 1.414),
    "25gaussians": (2.0 * np.array([(i, j) for i in range(-2, 3) for j in range(-2, 3)],
                                   dtype=float) / 2.828, 0.05 / 2.828),
}


def _mixture(name: str, mode: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    centres, sigma = MODES[name]
    return centres[mode] + sigma * rng.standard_normal((len(mode), 2))


@_toy("8gaussians", "8 Gaussians (sd 0.02) on a circle of radius 2, divided by 1.414", WGAN)
def eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """Centre 2·(cos kπ/4, sin kπ/4), k uniform in 0..7, plus N(0, 0.02²); divided by 1.414.

    Example:
        >>> x = eight_gaussians(1000, np.random.default_rng(0))
        >>> bool(np.allclose(np.hypot(*x.T).mean(), 2 / 1.414, atol=0.01))
        True
    """
    return _mixture("8gaussians", rng.integers(8, size=n), rng)


@_toy("25gaussians", "5×5 grid of Gaussians (sd 0.05) at (2i, 2j), divided by 2.828", WGAN)
def twenty_five_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """Centre (2i, 2j), i and j uniform in −2..2, plus N(0, 0.05²); divided by 2.828."""
    i, j = rng.integers(-2, 3, size=(n, 2)).T + 2  # the grid's row and column
    return _mixture("25gaussians", 5 * i + j, rng)


def _swiss_roll(n: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Columns 0 and 2 of ``make_swiss_roll``: t = 1.5π(1 + 2U), (t cos t, t sin t) + noise."""
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    return t[:, None] * _unit_circle(t) + noise * rng.standard_normal((n, 2))


@_toy("swissroll", "swiss roll with noise 0.25 (make_swiss_roll), divided by 7.5", WGAN)
def swissroll(n: int, rng: np.random.Generator) -> np.ndarray:
    """(t cos t, t sin t) + N(0, 0.25²), t = 1.5π(1 + 2U); divided by 7.5."""
    return _swiss_roll(n, rng, 0.25) / 7.5


@_toy("8gaussians-ffjord", "8 Gaussians (sd 0.5) on a circle of radius 4, divided by 1.414",
      FFJORD)
def eight_gaussians_ffjord(n: int, rng: np.random.Generator) -> np.ndarray:
    """Centre 4·(cos kπ/4, sin kπ/4), k uniform in 0..7, plus N(0, 0.5²); divided by 1.414."""
    centre = 4.0 * _unit_circle(rng.integers(8, size=n) * (np.pi / 4))
    return (centre + 0.5 * rng.standard_normal((n, 2))) / 1.414


@_toy("swissroll-ffjord", "swiss roll with noise 1.0 (make_swiss_roll), divided by 5", FFJORD)
def swissroll_ffjord(n: int, rng: np.random.Generator) -> np.ndarray:
    """(t cos t, t sin t) + N(0, 1), t = 1.5π(1 + 2U); divided by 5."""
    return _swiss_roll(n, rng, 1.0) / 5.0


@_toy("moons", "two interleaved half circles (make_moons, noise 0.1) × 2 − (1, 0.2)", FFJORD)
def moons(n: int, rng: np.random.Generator) -> np.ndarray:
    """scikit-learn's ``make_moons(noise=0.1)`` × 2 + (−1, −0.2), moon and angle i.i.d.

    Upper moon (cos θ, sin θ), lower moon (1 − cos θ, 0.5 − sin θ), θ ~ U[0, π], each moon with
    probability ½, plus N(0, 0.1²).
    """
    theta = np.pi * rng.random(n)
    upper = _unit_circle(theta)
    lower = np.array([1.0, 0.5]) - upper
    x = np.where((rng.random(n) < 0.5)[:, None], upper, lower)
    x = x + 0.1 * rng.standard_normal((n, 2))
    return 2.0 * x + np.array([-1.0, -0.2])


@_toy("circles", "two circles of radius 3 and 1.5 (make_circles, noise 0.08) × 3", FFJORD)
def circles(n: int, rng: np.random.Generator) -> np.ndarray:
    """scikit-learn's ``make_circles(factor=0.5, noise=0.08)`` × 3, circle and angle i.i.d."""
    radius = np.where(rng.random(n) < 0.5, 1.0, 0.5)
    x = radius[:, None] * _unit_circle(2 * np.pi * rng.random(n))
    return 3.0 * (x + 0.08 * rng.standard_normal((n, 2)))


@_toy("rings", "4 concentric circles of radius 3, 2.25, 1.5, 0.75 plus N(0, 0.08²)", FFJORD)
def rings(n: int, rng: np.random.Generator) -> np.ndarray:
    """Radius 3·r, r uniform in {1, 0.75, 0.5, 0.25}, angle U[0, 2π), plus N(0, 0.08²)."""
    radius = 3.0 * np.array([1.0, 0.75, 0.5, 0.25])[rng.integers(4, size=n)]
    x = radius[:, None] * _unit_circle(2 * np.pi * rng.random(n))
    return x + 0.08 * rng.standard_normal((n, 2))


@_toy("pinwheel", "5 spiral arms: radial N(1, 0.3²), tangential N(0, 0.1²), × 2", FFJORD)
def pinwheel(n: int, rng: np.random.Generator) -> np.ndarray:
    """Features (N(1, 0.3²), N(0, 0.1²)) turned by a = 2πk/5 + 0.25·exp(radial), × 2.

    Exactly the reference's ``einsum("ti,tij->tj", f, [[cos a, −sin a], [sin a, cos a]])``,
    i.e. the row vector f times that matrix; the arm k is uniform in 0..4.
    """
    f = rng.standard_normal((n, 2)) * np.array([0.3, 0.1])
    f[:, 0] += 1.0
    a = 2 * np.pi * rng.integers(5, size=n) / 5 + 0.25 * np.exp(f[:, 0])
    c, s = np.cos(a), np.sin(a)
    return 2.0 * np.stack([f[:, 0] * c + f[:, 1] * s, -f[:, 0] * s + f[:, 1] * c], axis=1)


@_toy("2spirals", "two interleaved spirals, t = √U·3π, plus N(0, 0.1²)", FFJORD)
def two_spirals(n: int, rng: np.random.Generator) -> np.ndarray:
    """t = √U·3π; (−t cos t + 0.5U₁, t sin t + 0.5U₂), negated w.p. ½; /3 + N(0, 0.1²)."""
    t = np.sqrt(rng.random(n)) * 3 * np.pi
    x = np.stack([-np.cos(t) * t + 0.5 * rng.random(n), np.sin(t) * t + 0.5 * rng.random(n)], 1)
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    return sign[:, None] * x / 3.0 + 0.1 * rng.standard_normal((n, 2))


@_toy("checkerboard", "uniform on 8 of the 16 squares of a checkerboard on [-4, 4]²", FFJORD)
def checkerboard(n: int, rng: np.random.Generator) -> np.ndarray:
    """x₁ ~ U[−2, 2], x₂ = U[0, 1] − 2·Bernoulli(½) + (⌊x₁⌋ mod 2); both × 2."""
    x1 = 4.0 * rng.random(n) - 2.0
    x2 = rng.random(n) - 2.0 * rng.integers(2, size=n) + np.floor(x1) % 2
    return 2.0 * np.stack([x1, x2], axis=1)


@TARGETS.register("digits", "scikit-learn's 8×8 handwritten digits: 1797 images, 64 pixels 0..16"
                  " [scikit-learn]")
def digits() -> Source:
    """scikit-learn's digits (shipped with it, nothing downloaded): a finite (1797, 64) source,
    its labels 0 … 9 in ``meta["labels"]`` (for the class histogram of evaluation, not modelled).

    Example:
        >>> d = TARGETS.get("digits")()
        >>> d.data.shape, d.columns[:2], d.finite
        ((1797, 64), ['px0', 'px1'], True)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    data = np.ascontiguousarray(bunch.data, dtype=np.float64)
    # the labels are kept aside (never modelled): evaluation's class histogram reads them
    return Source(name="digits", columns=[f"px{i}" for i in range(64)], data=data,
                  spec="digits", meta={"family": "scikit-learn", "image_shape": [8, 8],
                                       "labels": bunch.target.tolist()})
