"""The exact map between two continuous distributions: y = F_Y⁻¹(F_X(x)), accurate in both tails.

Below the source's median the map is ``ppf_Y(cdf_X(x))``; above it, ``isf_Y(sf_X(x))``, because
1 − u cancels to 0 in float64 near u = 1 while sf keeps full relative precision. Where the
probability underflows (below the smallest normal float), the map goes through log space:
``ilogcdf_Y(logcdf_X(x))`` (``scipy.special.ndtri_exp`` for a normal target, scipy's
``make_distribution`` classes otherwise).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from ..data.noise import NOISES, Noise
from ..errors import PushforwardError
from ..model import FittedMap

Fn = Callable[[np.ndarray], np.ndarray]

#: Probabilities below this lose relative precision (subnormal floats): use log space.
TINY = np.finfo(float).tiny


class _Dist1D:
    """Vectorised cdf/sf/ppf/isf (and their log forms) of one continuous distribution.

    Picks the cheapest exact path: scipy.special for normals, scipy's ``_ppf``/``_isf`` for a
    frozen ``rv_continuous`` (checked once against the public methods; skips per-call argument
    checks), the object's own methods otherwise. ``ppf``/``isf`` are only called on
    probabilities in [0, 1/2] by :func:`push_between`.
    """

    def __init__(self, *, cdf: Fn, sf: Fn, logcdf: Fn, logsf: Fn, ppf: Fn, isf: Fn,
                 median: float, support: tuple[float, float], spec: str | None,
                 ilogcdf: Fn | None = None, ilogsf: Fn | None = None,
                 log_inverses: Callable[[], tuple[Fn, Fn] | None] | None = None,
                 normal: tuple[float, float] | None = None, uniform: bool = False):
        self.cdf, self.sf, self.logcdf, self.logsf = cdf, sf, logcdf, logsf
        self.ppf, self.isf = ppf, isf
        self.median = float(median)
        self.support = (float(support[0]), float(support[1]))
        self.spec = spec
        self.normal = normal  # (loc, scale) when the distribution is normal: fast paths
        self.uniform = uniform  # U[0, 1]
        self._ilog = (ilogcdf, ilogsf) if ilogcdf is not None else None
        self._make_ilog = log_inverses

    def log_inverses(self) -> tuple[Fn, Fn] | None:
        """(ilogcdf, ilogsf), built on first use (only underflowed points need them)."""
        if self._ilog is None and self._make_ilog is not None:
            self._ilog, self._make_ilog = self._make_ilog(), None
        return self._ilog


def _normal(loc: float, scale: float, spec: str | None) -> _Dist1D:
    if loc == 0.0 and scale == 1.0:
        return _Dist1D(cdf=special.ndtr, sf=lambda x: special.ndtr(-x), logcdf=special.log_ndtr,
                       logsf=lambda x: special.log_ndtr(-x), ppf=special.ndtri,
                       isf=lambda s: -special.ndtri(s), ilogcdf=special.ndtri_exp,
                       ilogsf=lambda ls: -special.ndtri_exp(ls), median=0.0,
                       support=(-np.inf, np.inf), spec=spec, normal=(0.0, 1.0))

    def std(x):
        return (x - loc) / scale

    return _Dist1D(cdf=lambda x: special.ndtr(std(x)), sf=lambda x: special.ndtr(-std(x)),
                   logcdf=lambda x: special.log_ndtr(std(x)),
                   logsf=lambda x: special.log_ndtr(-std(x)),
                   ppf=lambda p: loc + scale * special.ndtri(p),
                   isf=lambda s: loc - scale * special.ndtri(s),
                   ilogcdf=lambda lp: loc + scale * special.ndtri_exp(lp),
                   ilogsf=lambda ls: loc - scale * special.ndtri_exp(ls),
                   median=loc, support=(-np.inf, np.inf), spec=spec, normal=(loc, scale))


def _from_noise(noise: Noise) -> _Dist1D:
    if noise.name == "normal":
        return _normal(0.0, 1.0, "normal")
    return _Dist1D(cdf=noise.cdf, sf=noise.sf, logcdf=lambda u: np.log(noise.cdf(u)),
                   logsf=lambda u: np.log(noise.sf(u)), ppf=noise.ppf, isf=noise.isf,
                   ilogcdf=np.exp, ilogsf=lambda ls: -np.expm1(ls), median=noise.median,
                   support=(0.0, 1.0), spec=noise.name, uniform=noise.name == "uniform")


def _private(method, shapes: tuple, loc: float, scale: float, public: Fn) -> Fn:
    """scipy's private ``_ppf``/``_isf`` in standard form, if it agrees with the public one."""
    if loc == 0.0 and scale == 1.0:
        def fast(q):
            return method(q, *shapes)
    else:
        def fast(q):
            return method(q, *shapes) * scale + loc
    probe = np.array([1e-200, 1e-12, 1e-3, 0.1, 0.3, 0.5])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ok = np.allclose(fast(probe), public(probe), rtol=1e-12, atol=0, equal_nan=True)
    except Exception:  # any failure of a private method means: use the public one
        ok = False
    return fast if ok else public


def _from_frozen(dist, spec: str | None) -> _Dist1D:
    from scipy import stats

    gen = dist.dist
    if not isinstance(gen, stats.rv_continuous):
        raise PushforwardError(f"{_name(dist, spec)} is not a continuous distribution; "
                               "exact maps need a continuous cdf")
    shapes, loc, scale = gen._parse_args(*dist.args, **dist.kwds)
    if not (np.all(gen._argcheck(*shapes)) and scale > 0):
        raise PushforwardError(f"{_name(dist, spec)}: invalid parameters")
    spec = spec or _spec_of_frozen(dist)
    if gen.name == "norm":
        return _normal(float(loc), float(scale), spec)

    def log_inverses():
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                names = [s.name for s in gen._shape_info()]
                new = stats.make_distribution(gen)(**dict(zip(names, shapes, strict=True)))
                if loc != 0.0 or scale != 1.0:
                    new = new * scale + loc
        except Exception:  # scipy cannot rebuild every family in its new infrastructure
            return None
        return new.ilogcdf, new.ilogccdf

    return _Dist1D(cdf=dist.cdf, sf=dist.sf, logcdf=dist.logcdf, logsf=dist.logsf,
                   ppf=_private(gen._ppf, shapes, loc, scale, dist.ppf),
                   isf=_private(gen._isf, shapes, loc, scale, dist.isf),
                   log_inverses=log_inverses, median=float(dist.median()),
                   support=dist.support(), spec=spec)


def _from_new_style(dist, spec: str | None) -> _Dist1D:
    return _Dist1D(cdf=dist.cdf, sf=dist.ccdf, logcdf=dist.logcdf, logsf=dist.logccdf,
                   ppf=dist.icdf, isf=dist.iccdf, ilogcdf=dist.ilogcdf, ilogsf=dist.ilogccdf,
                   median=float(dist.median()), support=dist.support(), spec=spec)


def _from_duck(dist, spec: str | None) -> _Dist1D:
    """Anything with the spec interface (cdf, sf, logcdf, logsf, ppf, isf), e.g. a Mixture."""
    missing = [f for f in ("cdf", "sf", "ppf", "isf") if not callable(getattr(dist, f, None))]
    if missing:
        raise PushforwardError(f"{_name(dist, spec)} has no {', '.join(missing)}: exact maps "
                               "need a distribution spec such as 'gamma(a=2)'")
    med = dist.median() if callable(getattr(dist, "median", None)) else dist.ppf(0.5)
    sup = dist.support() if callable(getattr(dist, "support", None)) else (-np.inf, np.inf)
    ilog = getattr(dist, "ilogcdf", None), getattr(dist, "ilogsf", None)
    return _Dist1D(cdf=dist.cdf, sf=dist.sf,
                   logcdf=getattr(dist, "logcdf", lambda x: np.log(dist.cdf(x))),
                   logsf=getattr(dist, "logsf", lambda x: np.log(dist.sf(x))),
                   ppf=dist.ppf, isf=dist.isf, ilogcdf=ilog[0] if None not in ilog else None,
                   ilogsf=ilog[1], median=float(np.asarray(med)), support=sup,
                   spec=spec or getattr(dist, "spec", None))


def as_dist(obj: Any) -> _Dist1D:
    """A :class:`_Dist1D` from a noise name, a spec text, or a distribution object."""
    if isinstance(obj, _Dist1D):
        return obj
    if isinstance(obj, Noise):
        return _from_noise(obj)
    spec = None
    if isinstance(obj, str):
        if obj in NOISES:
            return _from_noise(NOISES[obj])
        spec = obj
        obj = _parse(obj)
    # scipy.stats takes ~1 s to import: only specs need it, never a noise (a quantile map)
    from scipy import stats

    spec = spec or getattr(obj, "spec", None)
    if isinstance(getattr(obj, "dist", None), (stats.rv_continuous, stats.rv_discrete)):
        return _from_frozen(obj, spec)
    if callable(getattr(obj, "iccdf", None)):
        return _from_new_style(obj, spec)
    return _from_duck(obj, spec)


def _parse(text: str):
    from ..data.spec import parse_distribution

    return parse_distribution(text)


def _name(dist, spec: str | None) -> str:
    if spec:
        return repr(spec)
    gen = getattr(dist, "dist", None)
    return getattr(gen, "name", None) or type(dist).__name__


def _spec_of_frozen(dist) -> str:
    """A spec text for a frozen scipy distribution: ``gamma(a=2.0, loc=0.0, scale=1.0)``."""
    gen = dist.dist
    shapes, loc, scale = gen._parse_args(*dist.args, **dist.kwds)
    names = [s.name for s in gen._shape_info()]
    parts = [f"{k}={float(v)!r}" for k, v in zip(names, shapes, strict=True)]
    parts += [f"loc={float(loc)!r}", f"scale={float(scale)!r}"]
    return f"{gen.name}({', '.join(parts)})"


# ------------------------------------------------------------------------------- the map
def push_between(x: np.ndarray, src: _Dist1D, tgt: _Dist1D) -> np.ndarray:
    """y = F_tgt⁻¹(F_src(x)) elementwise, through cdf below the source median and sf above."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if src.uniform and tgt.normal is not None:
            # ndtri is exact in both halves for uniform input: 1 - u is exact for u >= 1/2.
            y = special.ndtri(x)
            return y if tgt.normal == (0.0, 1.0) else tgt.normal[0] + tgt.normal[1] * y
        if src.normal is not None and tgt.normal is not None:
            (a, s), (b, t) = src.normal, tgt.normal
            return b + t * ((x - a) / s)
        y = np.empty_like(x)
        lo = x <= src.median
        hi = ~lo  # NaN goes here and stays NaN
        y[lo] = _branch(x[lo], src.cdf, src.logcdf, tgt.ppf, tgt, 0, tgt.support[0])
        y[hi] = _branch(x[hi], src.sf, src.logsf, tgt.isf, tgt, 1, tgt.support[1])
    return y


def _branch(x, prob: Fn, logprob: Fn, inv: Fn, tgt: _Dist1D, side: int, end: float):
    p = prob(x)
    y = inv(p)
    # Underflowed probabilities, and any point a target's ppf fails on (scipy's t.ppf(1e-300)
    # is +inf), go through log space.
    small = (p < TINY) | ~np.isfinite(y)
    if small.any():
        ilog = tgt.log_inverses()
        if ilog is not None:
            lp = logprob(x[small])
            y[small] = np.where(lp == -np.inf, end, ilog[side](np.maximum(lp, -1e300)))
        else:
            y[small & (p == 0)] = end
    return y


def transform_between(x: np.ndarray, source: Any, target: Any) -> np.ndarray:
    """Map values of one continuous distribution onto another: y = F_Y⁻¹(F_X(x)).

    Arguments:
        x: values distributed as ``source``, any shape.
        source: a noise name (``"uniform"``, ``"normal"``), a spec text (``"gamma(a=2)"``) or a
            distribution object (frozen scipy.stats, ``parse_distribution`` result).
        target: the same kinds as ``source``.

    Returns:
        An array of the shape of ``x``.

    Example:
        >>> import numpy as np
        >>> from scipy import stats
        >>> transform_between(np.array([0.025, 0.5, 0.975]), "uniform", stats.norm()).round(4)
        array([-1.96,  0.  ,  1.96])
    """
    return push_between(x, as_dist(source), as_dist(target))


def check_support(x: np.ndarray, source: Any, *, where: str) -> _Dist1D:
    """``source`` as a distribution, after checking every value of ``x`` lies in its support.

    A value outside it has no probability to map (a 1.5 for ``uniform``, a −3 for a gamma):
    one line names its row (1 = the first data row), its value and the support.

    Example:
        >>> check_support(np.array([0.2, 1.5]), "uniform", where="u.txt")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: u.txt: row 2: 1.5 is outside the support [0, 1] of ...
    """
    dist = as_dist(source)
    x = np.asarray(x, dtype=float)
    lo, hi = dist.support
    bad = (x < lo) | (x > hi) | np.isnan(x)
    if bad.any():
        i = int(np.argmax(bad.reshape(len(x), -1).any(axis=1))) if x.ndim > 1 else int(
            np.argmax(bad))
        value = x[i][np.argmax(bad[i])] if x.ndim > 1 else x[i]
        raise PushforwardError(f"{where}: row {i + 1}: {value:g} is outside the support "
                               f"[{lo:g}, {hi:g}] of {dist.spec or 'the --from distribution'}")
    return dist


def check_finite(x: np.ndarray, y: np.ndarray, target: Any, *, where: str) -> None:
    """Refuse a mapped value that is not finite (an endpoint of the support maps to ±inf)."""
    bad = ~np.isfinite(y)
    if bad.any():
        flat = bad.reshape(len(y), -1).any(axis=1)
        i = int(np.argmax(flat))
        j = int(np.argmax(bad.reshape(len(y), -1)[i]))
        name = getattr(as_dist(target), "spec", None) or "the target"
        raise PushforwardError(
            f"{where}: row {i + 1}: {np.asarray(x).reshape(len(y), -1)[i, j]:g} maps to "
            f"{y.reshape(len(y), -1)[i, j]} under {name} (an end of the support); nothing "
            "was written")


class InverseCDF(FittedMap):
    """The exact map between two continuous distributions, accurate in both tails.

    y = F_Y⁻¹(F_X(x)), computed as ppf_Y(cdf_X(x)) below the median of X and as
    isf_Y(sf_X(x)) above it; probabilities that underflow go through
    ilogcdf_Y(logcdf_X(x)). With ``source="uniform"`` this is the inverse-transform sampler.
    :meth:`transform` is the reverse map x = F_X⁻¹(F_Y(y)).

    Arguments:
        target: the distribution Y: a spec text (``"gamma(a=2)"``) or a distribution object.
        source: the distribution X: a noise name (default ``"uniform"``), a spec or an object.
            When X is not a noise, :meth:`sample` draws uniform noise and maps it to Y.

    Returns:
        ``fit()`` returns the map itself; ``inverse_transform(x)`` maps (n, 1) values of X to Y.

    References:
        Devroye, *Non-Uniform Random Variate Generation* (1986), ch. II.2 (inversion method).

    Example:
        >>> import numpy as np
        >>> m = InverseCDF("norm", source="uniform").fit()
        >>> m.inverse_transform(np.array([[1e-300], [0.5], [1 - 2**-53]])).ravel().round(4)
        array([-37.0471,   0.    ,   8.2095])
    """

    kind = "inverse-cdf"
    _param_names = ("target", "source")

    def __init__(self, target: Any = "norm", *, source: Any = "uniform"):
        self.target = target
        self.source = source

    def fit(self, x: Any = None, y: Any = None) -> InverseCDF:
        """Resolve both distributions (nothing is learned; ``x`` and ``y`` are ignored)."""
        self.target_ = as_dist(self.target)
        self.source_ = as_dist(self.source)
        is_noise = isinstance(self.source, str) and self.source in NOISES
        self._init_map(method="inverse-cdf", noise=self.source if is_noise else "uniform",
                       latent_dim=1, dim=1,
                       settings={"target": self.target_.spec, "source": self.source_.spec})
        self.source_is_noise_ = is_noise
        return self

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        return push_between(z, self.source_, self.target_)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return push_between(x, self.target_, self.source_)

    def iter_samples(self, n: int, *, seed=None, chunk_size: int = 65536):
        if self.source_is_noise_:
            return super().iter_samples(n, seed=seed, chunk_size=chunk_size)
        # X is not a noise: sample Y from uniform noise directly (same law as F_Y⁻¹(F_X(X))).
        direct = InverseCDF(self.target_, source="uniform").fit()
        return direct.iter_samples(n, seed=seed, chunk_size=chunk_size)

    def _state(self) -> dict[str, np.ndarray]:
        for which in ("target", "source"):
            if self.settings[which] is None:
                raise PushforwardError(f"cannot save an InverseCDF whose {which} has no spec "
                                       "text; build it from a spec such as 'gamma(a=2)'")
        return {}

    @classmethod
    def _from_state(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> InverseCDF:
        from .. import _checks

        _checks.tensor_keys(tensors, ())
        s = meta["settings"]
        if meta["dim"] != 1:
            raise PushforwardError(f"an inverse-cdf map is 1-D, got dim {meta['dim']}")
        target = _checks.string(s.get("target"), "settings.target")
        source = _checks.string(s.get("source"), "settings.source")
        return restore(cls(target, source=source).fit(), meta, pointwise=True)


def restore(fitted: FittedMap, meta: dict[str, Any], *, pointwise: bool = False) -> FittedMap:
    """Set the attributes every fitted map has from a model file's (checked) metadata.

    ``pointwise`` maps need ``latent_dim == core_dim`` (one noise column per modelled one).
    """
    if pointwise and meta["latent_dim"] != meta["core_dim"]:
        raise PushforwardError(f"latent_dim {meta['latent_dim']} must equal core_dim "
                               f"{meta['core_dim']} for a pointwise map")
    fitted._init_map(method=meta["method"], noise=meta["noise"], latent_dim=meta["latent_dim"],
                     dim=meta["dim"], columns=meta["columns"], seed=meta["seed"],
                     settings=meta["settings"])
    return fitted


def check_pointwise(method: str, source, schema, latent_dim: int | None):
    """The source's schema (``schema``, else inferred); pointwise exact maps need one noise
    dimension per modelled (non-constant) column."""
    from ..data.schema import infer_schema

    schema = schema if schema is not None else infer_schema(source)
    dim = schema.pointwise_dim
    if latent_dim is not None and int(latent_dim) != dim:
        const = len(schema.indices("constant"))
        which = f" ({schema.dim} columns less {const} constant)" if const else ""
        raise PushforwardError(f"method {method!r} maps each dimension exactly, so latent_dim "
                               f"must equal the data's dimension {dim}{which}, got {latent_dim}")
    return schema


def fit_inverse_cdf(source, *, noise: str = "normal", latent_dim: int | None = None,
                    seed: int | None = None, schema=None) -> InverseCDF:
    """The exact map noise → target for a 1-D built-in distribution spec."""
    if source.dist is None or source.dim != 1:
        raise PushforwardError(
            f"method 'inverse-cdf' needs a 1-D distribution spec as its target (e.g. "
            f"'gamma(a=2)'); {source.name!r} is data: use method 'quantile' (empirical "
            f"quantile map) or 'parametric' (fit a scipy family, --family)")
    if latent_dim is not None and int(latent_dim) != 1:
        raise PushforwardError(f"method 'inverse-cdf' maps each dimension exactly, so latent_dim "
                               f"must equal the data's dimension 1, got {latent_dim}")
    m = InverseCDF(source.spec or source.dist, source=noise).fit()
    m.columns, m.seed = list(source.columns), seed
    return m


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_inverse_cdf.options = ()
