"""A named scipy family fitted by maximum likelihood, then mapped exactly by its inverse CDF."""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np
from scipy import stats

from .. import _checks
from ..data.schema import Schema
from ..errors import PushforwardError
from ..model import FittedMap
from . import inverse_cdf as _icdf
from . import quantile as _quantile


def continuous_families() -> list[str]:
    """Names of scipy.stats' continuous families (``norm``, ``gamma``, ``t``, ...)."""
    return sorted(n for n in dir(stats) if isinstance(getattr(stats, n), stats.rv_continuous))


def get_family(name: str) -> stats.rv_continuous:
    """The scipy.stats continuous family called ``name``; an unknown name suggests close ones.

    Example:
        >>> get_family("gamma").name
        'gamma'
        >>> get_family("gama")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: unknown scipy.stats family 'gama'; did you mean: ...
    """
    family = getattr(stats, name, None) if isinstance(name, str) else None
    if isinstance(family, stats.rv_continuous):
        return family
    close = difflib.get_close_matches(str(name), continuous_families(), n=5)
    hint = (f"did you mean: {', '.join(close)}" if close
            else "e.g. norm, lognorm, gamma, expon, t, beta, weibull_min (any in scipy.stats)")
    raise PushforwardError(f"unknown scipy.stats family {name!r}; {hint}")


class Parametric(FittedMap):
    """A scipy.stats family fitted by maximum likelihood, mapped exactly by its inverse CDF.

    θ̂ = argmax_θ Σᵢ log f_θ(xᵢ) (``scipy.stats.<family>.fit``), then x = F_θ̂⁻¹(F_noise(z))
    through :func:`~pushforward.exact.inverse_cdf.transform_between` (accurate in both tails).
    For d > 1 each column gets its own fit and is mapped independently: the columns of a
    sample are independent (use ``copula`` to keep dependence).

    Arguments:
        family: a continuous scipy.stats family name (``"norm"``, ``"gamma"``, ``"t"``, ...).
        noise: ``"normal"`` (default) or ``"uniform"``.

    Returns:
        ``fit(x)`` returns the map; learned state: ``params_``, one tuple (shapes..., loc,
        scale) per column, also stored in ``settings["params"]``.

    References:
        Fisher, "On the mathematical foundations of theoretical statistics", Phil. Trans. R.
        Soc. A 222, 1922 (maximum likelihood).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(5000, 1))
        >>> m = Parametric("norm", noise="uniform").fit(x)
        >>> np.round(m.params_[0], 1).tolist()
        [3.0, 2.0]
        >>> m.inverse_transform(np.array([[0.5]])).round(1).tolist()
        [[3.0]]
    """

    kind = "parametric"
    _param_names = ("family", "noise")

    def __init__(self, family: str = "norm", *, noise: str = "normal"):
        self.family = family
        self.noise = noise

    def fit(self, x: Any, y: Any = None, *, columns: list[str] | None = None,
            schema: Schema | None = None) -> Parametric:
        """Fit the family to each column by maximum likelihood; constant columns pass through.
        ``y`` is ignored."""
        fam = get_family(self.family)
        x, names, schema, codec = _quantile.encoded_data(x, columns, schema)
        w = codec.encode(x)
        kept = [names[j] for j in schema.varying]
        _quantile.check_not_constant(w, kept)
        params = [_mle(fam, w[:, j], kept[j]) for j in range(w.shape[1])]
        self._init_map(method="parametric", noise=self.noise, latent_dim=w.shape[1],
                       dim=x.shape[1], columns=names,
                       settings={"family": fam.name, "params": params}, codec=codec,
                       schema=schema)
        self._set_state(params)
        return self

    def _set_state(self, params: list[list[float]]) -> None:
        fam = get_family(self.settings["family"])
        self.params_ = [tuple(p) for p in params]
        self.dists_ = [_icdf.as_dist(fam(*p)) for p in params]

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        noise = _icdf.as_dist(self.noise_)
        return np.column_stack([_icdf.push_between(z[:, j], noise, d)
                                for j, d in enumerate(self.dists_)])

    def _transform(self, x: np.ndarray) -> np.ndarray:
        noise = _icdf.as_dist(self.noise_)
        return np.column_stack([_icdf.push_between(x[:, j], d, noise)
                                for j, d in enumerate(self.dists_)])

    @classmethod
    def _from_state(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> Parametric:
        _checks.tensor_keys(tensors, ())
        s = meta["settings"]
        fam = get_family(_checks.string(s.get("family"), "settings.family"))
        m = _icdf.restore(cls(fam.name, noise=meta["noise"]), meta, pointwise=True)
        params = s.get("params")
        count = (fam.numargs or 0) + 2
        core = meta["core_dim"]
        if not isinstance(params, list) or len(params) != core or not all(
                isinstance(p, list) and len(p) == count for p in params):
            raise PushforwardError(f"settings.params must hold {core} lists of {count} numbers "
                                   f"({fam.name}'s shapes, loc, scale)")
        for j, p in enumerate(params):
            for i, v in enumerate(p):
                _checks.real(v, f"settings.params[{j}][{i}]", 0.0 if i == count - 1 else
                             -np.inf, strict_lo=i == count - 1)
        m._set_state(params)
        return m


def _mle(fam: stats.rv_continuous, x: np.ndarray, column: str) -> list[float]:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            params = [float(p) for p in fam.fit(x)]
    except Exception as e:  # scipy raises FitError, ValueError, RuntimeError... per family
        raise PushforwardError(
            f"column {column!r}: fitting {fam.name} by maximum likelihood failed "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}); "
            "try another --family or method 'quantile'") from None
    if not np.all(np.isfinite(params)) or params[-1] <= 0:
        raise PushforwardError(f"column {column!r}: fitting {fam.name} gave invalid parameters "
                               f"{params}; try another --family or method 'quantile'")
    return params


def fit_parametric(source, *, noise: str = "normal", latent_dim: int | None = None,
                   seed: int | None = None, schema: Schema | None = None,
                   family: str = "norm", n_train: int = 20_000) -> Parametric:
    """Fit a :class:`Parametric` map to the source's data (or ``n_train`` fresh draws)."""
    schema = _icdf.check_pointwise("parametric", source, schema, latent_dim)
    x = source.training_sample(n_train, seed=seed)
    m = Parametric(family, noise=noise).fit(x, columns=source.columns, schema=schema)
    m.seed = seed
    return m


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_parametric.options = ("family", "n_train")
