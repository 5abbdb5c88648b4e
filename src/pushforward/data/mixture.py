"""Finite mixtures of continuous distributions, with exact cdf/pdf and numerical inversion.

The inverse cdf uses scipy's numerical inverters (``NumericalInversePolynomial``, and
``NumericalInverseHermite`` where PINV's checks fail); none is written here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import special

from .._random import as_rng
from ..errors import PushforwardError

U_RESOLUTIONS = (1e-15, 2e-15, 1e-14, 1e-13, 1e-12)


def fmt_number(x: float) -> str:
    """A number as a spec writes it: ``2`` for an int, ``2.0`` for a float."""
    return repr(int(x)) if isinstance(x, int) else repr(float(x))


class Mixture:
    """A finite mixture p(x) = Σᵢ wᵢ pᵢ(x) of continuous distributions.

    pdf, cdf, sf are exact weighted sums (their logs by log-sum-exp, so tails do not
    underflow). ``ppf`` inverts the exact cdf with scipy's ``NumericalInversePolynomial``
    (PINV) at the smallest u-resolution it accepts (``u_resolution_``, 1e-15 where the setup
    succeeds): ``|cdf(ppf(u)) − u| ≤ u_resolution_``. ``isf`` uses a second PINV built on the
    mirrored mixture, ``isf(s) = −ppf₋(s)``, so the upper tail keeps the same absolute accuracy
    in s instead of losing it to ``1 − s``. PINV needs a bounded density whose positive region is
    connected; when its check fails (modes separated by a numerically zero density) scipy's
    ``NumericalInverseHermite`` on the exact cdf is used instead, and a density with a pole
    (e.g. ``beta(a=0.5, b=0.5)``) cannot be inverted: ``ppf`` raises a one-line error.
    Beyond PINV's computational domain (tail mass below the resolution) ppf returns its ends.

    Arguments:
        components: frozen scipy distributions (or Mixtures).
        weights: positive, summing to 1 within 1e-9.

    References:
        Derflinger, Hörmann, Leydold (2010), "Random variate generation by numerical inversion
        when only the density is known", ACM TOMACS 20(4).

    Example:
        >>> from scipy import stats
        >>> m = Mixture([stats.norm(-1), stats.norm(1)], [0.5, 0.5])
        >>> round(float(m.cdf(0.0)), 12), abs(round(float(m.ppf(0.5)), 9))
        (0.5, 0.0)
        >>> m.rvs(size=3, random_state=0).shape
        (3,)
    """

    def __init__(self, components: Sequence, weights: Sequence[float], *, spec: str | None = None):
        w = np.asarray(weights, dtype=float)
        if len(components) == 0 or w.shape != (len(components),):
            raise PushforwardError("mixture needs one weight per component")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise PushforwardError(f"mixture weights must be positive, got {list(map(float, w))}")
        if abs(w.sum() - 1.0) > 1e-9:
            raise PushforwardError(f"mixture weights sum to {w.sum():.12g}, not 1")
        self.components = list(components)
        self.weights = w / w.sum()
        self._logw = np.log(self.weights)
        parts = [f"{fmt_number(float(wi))}*{getattr(c, 'spec', '?')}" for wi, c in self._pairs(w)]
        self.spec = spec or f"mix({', '.join(parts)})"
        self.u_resolution_: float | None = None
        self._inverters: dict[bool, object] = {}

    def __repr__(self) -> str:
        return f"Mixture({self.spec!r})"

    def _pairs(self, values):
        return zip(values, self.components, strict=True)

    # ---------------------------------------------------------------- exact functions
    def _sum(self, method: str, x):
        x = np.asarray(x, dtype=float)
        return sum(w * getattr(c, method)(x) for w, c in self._pairs(self.weights))

    def _logsum(self, method: str, x):
        x = np.asarray(x, dtype=float)
        terms = np.stack([lw + getattr(c, method)(x) for lw, c in self._pairs(self._logw)])
        with np.errstate(divide="ignore"):
            return special.logsumexp(terms, axis=0)[()]

    def pdf(self, x):
        return self._sum("pdf", x)[()]

    def cdf(self, x):
        return self._sum("cdf", x)[()]

    def sf(self, x):
        return self._sum("sf", x)[()]

    def logpdf(self, x):
        return self._logsum("logpdf", x)

    def logcdf(self, x):
        return self._logsum("logcdf", x)

    def logsf(self, x):
        return self._logsum("logsf", x)

    def support(self) -> tuple[float, float]:
        ends = np.array([c.support() for c in self.components], dtype=float)
        return float(ends[:, 0].min()), float(ends[:, 1].max())

    def mean(self) -> float:
        return float(sum(w * c.mean() for w, c in self._pairs(self.weights)))

    def var(self) -> float:
        second = sum(w * (c.var() + c.mean() ** 2) for w, c in self._pairs(self.weights))
        return float(second - self.mean() ** 2)

    def std(self) -> float:
        return math.sqrt(self.var())

    def median(self) -> float:
        return float(self.ppf(0.5))

    # ---------------------------------------------------------------- inverses
    def ppf(self, u):
        """The quantile function F⁻¹(u), by PINV on the exact density (see the class notes)."""
        return self._invert(u, mirrored=False)

    def isf(self, s):
        """The inverse survival function, accurate in the upper tail (a mirrored PINV)."""
        return self._invert(s, mirrored=True)

    def _invert(self, q, *, mirrored: bool):
        q = np.asarray(q, dtype=float)
        lo, hi = self.support()
        first, last = (hi, lo) if mirrored else (lo, hi)
        out = np.full(q.shape, np.nan)
        inside = (q > 0) & (q < 1)
        out[q == 0] = first
        out[q == 1] = last
        if inside.any():
            x = np.asarray(self._inverter(mirrored).ppf(q[inside]), dtype=float)
            out[inside] = -x if mirrored else x
        return out[()]

    def _inverter(self, mirrored: bool):
        if mirrored not in self._inverters:
            key = (self.spec, mirrored)
            if "?" in self.spec or key not in _INVERTER_CACHE:
                built = _build_inverter(self, mirrored)
                if "?" not in self.spec:
                    if len(_INVERTER_CACHE) >= 32:
                        _INVERTER_CACHE.pop(next(iter(_INVERTER_CACHE)))
                    _INVERTER_CACHE[key] = built
            else:
                built = _INVERTER_CACHE[key]
            self._inverters[mirrored], self.u_resolution_ = built
        return self._inverters[mirrored]

    # ---------------------------------------------------------------- sampling
    def rvs(self, size=None, random_state=None):
        """Draws by component choice: component i with probability wᵢ, then a draw from it."""
        rng = as_rng(random_state)
        shape = () if size is None else (size,) if np.isscalar(size) else tuple(size)
        n = int(np.prod(shape, dtype=int))
        which = rng.choice(len(self.components), size=n, p=self.weights)
        out = np.empty(n)
        for i, comp in enumerate(self.components):
            mask = which == i
            if mask.any():
                out[mask] = np.asarray(comp.rvs(size=int(mask.sum()), random_state=rng)).ravel()
        return out.reshape(shape)[()]


_INVERTER_CACHE: dict[tuple[str, bool], tuple[object, float]] = {}


def _build_inverter(mix: Mixture, mirrored: bool) -> tuple[object, float]:
    """A scipy numerical inverter of the mixture (or of its mirror image x → −x)."""
    from scipy.stats.sampling import NumericalInverseHermite, NumericalInversePolynomial

    pole = _pole(mix)
    if pole is not None:
        raise PushforwardError(
            f"{mix.spec}: cannot invert numerically, the density of {pole} is unbounded"
            " (scipy's PINV needs a bounded density)")
    target = _ScalarMixture(mix, mirrored)
    lo, hi = mix.support()
    domain = (-hi, -lo) if mirrored else (lo, hi)
    big = int(np.argmax(mix.weights))
    center = float(mix.components[big].median())
    center = -center if mirrored else center
    pinv = lambda ures: NumericalInversePolynomial(  # noqa: E731
        target, center=center, domain=domain, order=9, u_resolution=ures)
    hinv = lambda ures: NumericalInverseHermite(  # noqa: E731
        target, domain=domain, order=3, u_resolution=ures)
    for make in (pinv, hinv):
        for ures in U_RESOLUTIONS:
            gen = _quietly(make, ures)
            if gen is None:
                continue
            if _u_error(gen, mix, mirrored) <= 100 * ures:
                return gen, ures
            break  # a truncated domain (modes apart): PINV → HINV on the exact cdf
    raise PushforwardError(f"{mix.spec}: scipy's numerical inverters failed to invert the cdf")


def _quietly(make, ures: float):
    """The inverter ``make(ures)``, or None when scipy fails or warns (it then silently falls
    back to a default resolution, or its integration lost accuracy)."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            gen = make(ures)
        except Exception:  # scipy's UNURANError (a RuntimeError) or a failed setup
            return None
    return None if any(issubclass(w.category, RuntimeWarning) for w in caught) else gen


def _u_error(gen, mix: Mixture, mirrored: bool) -> float:
    """max |F(ppf(u)) − u| on a grid that includes both tails."""
    u = np.concatenate([np.logspace(-12, -3, 19), np.linspace(0.001, 0.999, 999)])
    u = np.concatenate([u, 1 - u])
    x = np.asarray(gen.ppf(u), dtype=float)
    got = mix.sf(-x) if mirrored else mix.cdf(x)
    return float(np.max(np.abs(got - u)))


def _leaves(dist) -> list:
    if isinstance(dist, Mixture):
        return [leaf for c in dist.components for leaf in _leaves(c)]
    return [dist]


def _pole(mix: Mixture) -> str | None:
    """The spec of a component whose density blows up at an end of its support or at its median.

    PINV and HINV do not return on such densities (``beta(a=0.5, b=0.5)`` at 0 and 1,
    ``dweibull(c=0.5)`` at its median). Between 1e-8 and 1e-12 from a point, a bounded log
    density changes by ~1e-8, a pole x^-γ by γ·ln(1e4).
    """
    for comp in _leaves(mix):
        with np.errstate(all="ignore"):
            iqr = float(comp.ppf(0.75) - comp.ppf(0.25))
            lo, hi = comp.support()
            centre = float(comp.median())
        width = iqr if np.isfinite(iqr) and iqr > 0 else 1.0
        for point, sides in ((lo, (1,)), (hi, (-1,)), (centre, (1, -1))):
            if not np.isfinite(point):
                continue
            for side in sides:
                near, nearer = point + side * 1e-8 * width, point + side * 1e-12 * width
                with np.errstate(all="ignore"):
                    a, b = comp.logpdf(near), comp.logpdf(nearer)
                if np.isfinite(a) and (b == np.inf or b - a > 1e-3):
                    return getattr(comp, "spec", repr(comp))
    return None


class _ScalarMixture:
    """float → float pdf/logpdf/cdf for scipy's inverters, which call them ~10⁴–10⁵ times.

    scipy's public frozen methods cost ~30 µs per scalar call (argument checks); this evaluates
    each component through its private ``_logpdf``/``_cdf``/``_sf`` (~1 µs), after checking
    them against the public methods, and falls back to the public ones if anything differs.
    """

    def __init__(self, mix: Mixture, mirrored: bool):
        self.sign = -1.0 if mirrored else 1.0
        self.logw = [float(lw) for lw in mix._logw]
        self.weights = [float(w) for w in mix.weights]
        self.parts = [_scalar(c) for c in mix.components]

    def logpdf(self, x: float) -> float:
        terms = [lw + p.logpdf(self.sign * x) for lw, p in zip(self.logw, self.parts, strict=True)]
        top = max(terms)
        if top == -math.inf:
            return top
        return top + math.log(sum(math.exp(t - top) for t in terms))

    def pdf(self, x: float) -> float:
        return math.exp(self.logpdf(x))

    def cdf(self, x: float) -> float:
        if self.sign > 0:
            return sum(w * p.cdf(x) for w, p in zip(self.weights, self.parts, strict=True))
        return sum(w * p.sf(-x) for w, p in zip(self.weights, self.parts, strict=True))


def _scalar(dist):
    if isinstance(dist, Mixture):
        return _ScalarMixtureAsPart(dist)
    fast = _FastScipy(dist)
    return fast if fast.agrees_with(dist) else _PublicScipy(dist)


class _ScalarMixtureAsPart:
    def __init__(self, mix: Mixture):
        self.inner = _ScalarMixture(mix, False)
        self.weights, self.parts = self.inner.weights, self.inner.parts

    def logpdf(self, x: float) -> float:
        return self.inner.logpdf(x)

    def cdf(self, x: float) -> float:
        return self.inner.cdf(x)

    def sf(self, x: float) -> float:
        return sum(w * p.sf(x) for w, p in zip(self.weights, self.parts, strict=True))


class _PublicScipy:
    def __init__(self, dist):
        self.dist = dist

    def logpdf(self, x: float) -> float:
        return float(self.dist.logpdf(x))

    def cdf(self, x: float) -> float:
        return float(self.dist.cdf(x))

    def sf(self, x: float) -> float:
        return float(self.dist.sf(x))


class _FastScipy:
    def __init__(self, frozen):
        self.d = frozen.dist
        self.shapes, loc, scale = self.d._parse_args(*frozen.args, **frozen.kwds)
        self.loc, self.scale = float(loc), float(scale)
        self.log_scale = math.log(self.scale)
        self.a, self.b = (float(v) for v in self.d._get_support(*self.shapes))

    def agrees_with(self, frozen) -> bool:
        try:
            with np.errstate(all="ignore"):
                xs = [float(v) for v in frozen.ppf([1e-9, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-9])]
                for x in xs:
                    for mine, theirs in ((self.logpdf(x), frozen.logpdf(x)),
                                         (self.cdf(x), frozen.cdf(x)), (self.sf(x), frozen.sf(x))):
                        if not (mine == theirs or math.isclose(mine, theirs, rel_tol=1e-9)):
                            return False
        except Exception:  # a private method missing or renamed in this scipy version
            return False
        return True

    def _z(self, x: float) -> float:
        return (x - self.loc) / self.scale

    def logpdf(self, x: float) -> float:
        z = self._z(x)
        if math.isinf(z) or not self.a <= z <= self.b:
            return -math.inf
        return float(self.d._logpdf(z, *self.shapes)) - self.log_scale

    def cdf(self, x: float) -> float:
        z = self._z(x)
        return 0.0 if z <= self.a else 1.0 if z >= self.b else float(self.d._cdf(z, *self.shapes))

    def sf(self, x: float) -> float:
        z = self._z(x)
        return 1.0 if z <= self.a else 0.0 if z >= self.b else float(self.d._sf(z, *self.shapes))
