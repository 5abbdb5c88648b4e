"""The Gaussian copula: quantile-map marginals joined by the correlation of the normal scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .. import _checks
from ..data.schema import Schema
from ..errors import PushforwardError
from ..model import FittedMap
from . import inverse_cdf as _icdf
from . import quantile as _quantile
from . import sketch as _sketch

#: Smallest eigenvalue kept when a correlation matrix is singular (e.g. duplicated columns).
MIN_EIGENVALUE = 1e-10


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Van der Waerden scores Φ⁻¹(rank/(m+1)) per column, ties given their average rank.

    Example:
        >>> normal_scores(np.array([[3.0], [1.0], [2.0]])).ravel().round(4)
        array([ 0.6745, -0.6745,  0.    ])
    """
    from scipy import stats  # fitting only: loading and sampling a copula skip its ~1 s import

    return special.ndtri(stats.rankdata(x, method="average", axis=0) / (len(x) + 1))


def _positive_definite(c: np.ndarray) -> np.ndarray:
    """The nearest correlation matrix with eigenvalues ≥ MIN_EIGENVALUE (c itself if it has)."""
    w, v = np.linalg.eigh(c)
    if w.min() >= MIN_EIGENVALUE:
        return c
    c = (v * np.maximum(w, MIN_EIGENVALUE)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


class GaussianCopula(FittedMap):
    """Quantile-map marginals joined by a Gaussian copula.

    With R the correlation of the normal scores of the training data and R = L Lᵀ its
    Cholesky factor, noise z (uniform noise first goes through Φ⁻¹) maps to correlated
    normals w = L z and then, column by column, to x_j = Q_j(Φ(w_j)) with Q_j the
    :class:`~pushforward.exact.quantile.QuantileMap` of column j. The map reproduces every
    marginal and the rank dependence of a Gaussian copula, not tail dependence or
    non-monotone relations. :meth:`transform` (data → noise) is z = L⁻¹ Q⁻¹(x).

    Arguments:
        tails: the marginals' tails, ``"extrapolate"`` (default) or ``"clip"``.
        noise: ``"normal"`` (default) or ``"uniform"``.
        knots: the marginals keep at most this many points per column (None: every training
            value; see :class:`~pushforward.exact.quantile.QuantileMap`).

    Returns:
        ``fit(x)`` returns the map; learned state: ``marginals_`` (a QuantileMap),
        ``correlation_`` and ``cholesky_`` (d, d).

    References:
        Liu, Lafferty & Wasserman, "The nonparanormal", JMLR 10, 2009 (arXiv:0903.0649).
        Patki, Wedge & Veeramachaneni, "The Synthetic Data Vault", IEEE DSAA 2016.

    Example:
        >>> import numpy as np
        >>> g = np.random.default_rng(0).multivariate_normal([0, 0], [[1, .8], [.8, 1]], 4000)
        >>> x = np.column_stack([np.exp(g[:, 0]), g[:, 1] ** 3])
        >>> m = GaussianCopula().fit(x)
        >>> round(float(m.correlation_[0, 1]), 1)
        0.8
        >>> bool(np.allclose(m.transform(m.inverse_transform(g[:5])), g[:5]))
        True
    """

    kind = "copula"
    _param_names = ("tails", "noise", "knots")

    def __init__(self, *, tails: str = "extrapolate", noise: str = "normal",
                 knots: int | None = None):
        self.tails = tails
        self.noise = noise
        self.knots = knots

    def fit(self, x: Any, y: Any = None, *, columns: list[str] | None = None,
            schema: Schema | None = None) -> GaussianCopula:
        """Fit the marginals and the normal-score correlation; constant columns pass through.
        ``y`` is ignored."""
        x, names, schema, codec = _quantile.encoded_data(x, columns, schema,
                                                         clip=self.tails == "clip")
        w = codec.encode(x)
        marginals = _quantile.QuantileMap(tails=self.tails, noise="normal",
                                          knots=self.knots).fit(w)
        corr = np.atleast_2d(np.corrcoef(normal_scores(w), rowvar=False))
        self._init_map(method="copula", noise=self.noise, latent_dim=w.shape[1],
                       dim=x.shape[1], columns=names,
                       settings={"tails": self.tails, "knots": self.knots}, codec=codec,
                       schema=schema)
        self._set_state(marginals, corr, np.linalg.cholesky(_positive_definite(corr)))
        return self

    def _set_state(self, marginals, corr: np.ndarray, chol: np.ndarray) -> None:
        self.marginals_, self.correlation_, self.cholesky_ = marginals, corr, chol

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        if self.noise == "uniform":
            z = special.ndtri(z)
        return self.marginals_.inverse_transform(z @ self.cholesky_.T)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        from scipy import linalg

        w = self.marginals_.transform(x)
        z = linalg.solve_triangular(self.cholesky_, w.T, lower=True).T
        return special.ndtr(z) if self.noise == "uniform" else z

    def _state(self) -> dict[str, np.ndarray]:
        return {**self.marginals_._state(), "correlation": self.correlation_,
                "cholesky": self.cholesky_}

    @classmethod
    def _from_state(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> GaussianCopula:
        _checks.tensor_keys(tensors, ("quantiles", "lower_tail", "upper_tail", "correlation",
                                      "cholesky"), ("positions",))
        tails = _checks.string(meta["settings"].get("tails"), "settings.tails", _quantile.TAILS)
        knots = meta["settings"].get("knots")
        _quantile.check_knots(knots)
        m = _icdf.restore(cls(tails=tails, noise=meta["noise"], knots=knots), meta,
                          pointwise=True)
        core = meta["core_dim"]
        marginals = _quantile.QuantileMap(tails=tails, noise="normal", knots=knots)
        _icdf.restore(marginals, {**meta, "noise": "normal", "method": "quantile", "dim": core,
                                  "core_dim": core, "columns": [f"x{j}" for j in range(core)]})
        marginals._set_state(*_quantile.check_state(tensors, core, tails))
        m._set_state(marginals, *_check_matrices(tensors, core))
        return m


def _check_matrices(tensors: dict[str, np.ndarray], d: int) -> tuple[np.ndarray, np.ndarray]:
    """A correlation matrix and a lower-triangular Cholesky factor with a positive diagonal."""
    corr = _checks.array(tensors, "correlation", (d, d)).astype(np.float64)
    chol = _checks.array(tensors, "cholesky", (d, d)).astype(np.float64)
    if (np.abs(corr) > 1 + 1e-9).any() or not np.allclose(corr, corr.T, rtol=0, atol=1e-12):
        raise PushforwardError("tensor 'correlation' must be symmetric with entries in [-1, 1]")
    if (np.triu(chol, 1) != 0).any() or not (np.diag(chol) > 0).all():
        raise PushforwardError("tensor 'cholesky' must be lower triangular with a positive "
                               "diagonal")
    return corr, chol


def fit_copula(source, *, noise: str = "normal", latent_dim: int | None = None,
               seed: int | None = None, schema: Schema | None = None,
               tails: str = "extrapolate", n_train: int = 50_000,
               knots: int | None = None) -> GaussianCopula:
    """Fit a :class:`GaussianCopula` to the source's data (or ``n_train`` fresh draws); its
    marginals keep at most ``knots`` points per column (None: every training value).

    From a sampler it takes 50,000 draws, as :func:`~pushforward.baselines.kde.fit_kde` does:
    the marginals' quantile maps reproduce their sample's own distance to the distribution.
    """
    schema = _icdf.check_pointwise("copula", source, schema, latent_dim)
    x = source.training_sample(n_train, seed=seed)
    if _sketch.use_sketch(x):  # more rows on disk than are sorted in memory
        m = _sketched_copula(x, columns=source.columns, schema=schema, tails=tails,
                             noise=noise, knots=knots, seed=seed)
        m.seed = seed
        return m
    m = GaussianCopula(tails=tails, noise=noise, knots=knots).fit(x, columns=source.columns,
                                                                  schema=schema)
    m.seed = seed
    return m


def _sketched_copula(x, *, columns: list[str], schema: Schema, tails: str, noise: str,
                     knots: int | None, seed: int | None) -> GaussianCopula:
    """Sketched marginals (one pass), then the normal scores' correlation accumulated over the
    chunks (one more pass): :mod:`pushforward.exact.sketch`."""
    codec, sk = _sketch.sketched(x, schema, tails=tails, seed=seed)
    d = len(sk.sketches)
    marginals = _quantile.from_sketches(sk, None, columns=[f"w{j}" for j in range(d)],
                                        schema=None, tails=tails, noise="normal", knots=knots)
    corr = _sketch.correlation(x, codec, marginals._transform)
    m = GaussianCopula(tails=tails, noise=noise, knots=marginals.knots)
    m._init_map(method="copula", noise=noise, latent_dim=d, dim=len(columns),
                columns=list(columns), settings={"tails": tails, "knots": marginals.knots},
                codec=codec, schema=schema)
    m._set_state(marginals, corr, np.linalg.cholesky(_positive_definite(corr)))
    m.info["sketch"] = _sketch.sketch_info(sk.rows)
    return m


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_copula.options = ("tails", "knots", "n_train")
