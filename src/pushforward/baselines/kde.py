"""A Gaussian kernel density estimate on standardised columns, bandwidth by cross-validation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .. import _checks
from ..data.schema import Schema, infer_schema
from ..errors import PushforwardError
from ..metrics import pairwise_distances
from . import mixture as _mixture

#: Rows used for the bandwidth's cross-validation; the bandwidth is then rescaled to all rows.
CV_ROWS = 1500

#: Training rows kept as kernel centres (a seeded subsample beyond): bounds the model file.
MAX_POINTS = 50_000

#: Decades around the reference bandwidth covered by the coarse grid, and its step.
GRID_DECADES = (-2.5, 0.5)
COARSE_STEP, FINE_STEP = 0.5, 0.125


def loo_log_likelihood(y: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Leave-one-out mean log-likelihood of a Gaussian KDE on rows ``y`` at each bandwidth.

    Each row is scored by the kernel estimate built on the other m − 1 rows: the held-out
    likelihood of likelihood cross-validation, with one distance matrix for every bandwidth.

    Example:
        >>> y = np.random.default_rng(0).normal(size=(400, 1))
        >>> ll = loo_log_likelihood(y, np.array([0.01, 0.4, 10.0]))
        >>> int(ll.argmax())
        1
    """
    m, d = y.shape
    t = torch.as_tensor(y, dtype=torch.float64)
    sq = pairwise_distances(t, t).square_()
    sq.fill_diagonal_(math.inf)
    nearest = sq.min(dim=1).values
    shifted = sq - nearest[:, None]  # every row's largest term becomes exp(0): no underflow
    buf = torch.empty_like(shifted)
    out = []
    for h in bandwidths:
        c = 1.0 / (2 * h * h)
        torch.mul(shifted, -c, out=buf).exp_()
        lse = buf.sum(dim=1).log_() - nearest * c
        const = math.log(m - 1) + 0.5 * d * math.log(2 * math.pi * h * h)
        out.append(float(lse.mean()) - const)
    return np.array(out)


def select_bandwidth(y: np.ndarray, *, seed: int) -> tuple[float, dict[str, Any]]:
    """The bandwidth for a KDE on all of ``y`` (standardised rows), by likelihood CV.

    On at most :data:`CV_ROWS` rows (a seeded subsample) the leave-one-out log-likelihood is
    maximised over a log grid around Scott's reference h₀ = m^(−1/(d+4)) (the data are
    standardised, so the grid follows the data's scale), coarse then fine. The optimum for m
    rows is rescaled to n rows by (m/n)^(1/(d+4)), the rate at which the optimal bandwidth
    shrinks with the sample size.

    Returns:
        (bandwidth in standardised units, a record: ``cv_rows``, ``cv_bandwidth``, ``cv_grid``
        and ``cv_loglik``, the grid's edges and the best mean held-out log-likelihood).
    """
    n, d = y.shape
    m = min(n, CV_ROWS)
    if m < n:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 16, 2]))
        y = y[rng.choice(n, size=m, replace=False)]
    h0 = m ** (-1.0 / (d + 4))
    coarse = np.arange(GRID_DECADES[0], GRID_DECADES[1] + 1e-9, COARSE_STEP)
    ll = loo_log_likelihood(y, h0 * 10.0**coarse)
    best = coarse[int(np.argmax(ll))]
    fine = best + np.arange(-COARSE_STEP + FINE_STEP, COARSE_STEP - 1e-9, FINE_STEP)
    ll_fine = loo_log_likelihood(y, h0 * 10.0**fine)
    h_cv = float(h0 * 10.0 ** fine[int(np.argmax(ll_fine))])
    h = h_cv * (m / n) ** (1.0 / (d + 4))
    record = {"cv_rows": m, "cv_bandwidth": h_cv, "cv_loglik": float(ll_fine.max()),
              "cv_grid": [float(h0 * 10.0 ** GRID_DECADES[0]), float(h0 * 10.0 ** GRID_DECADES[1])]}
    return h, record


class KernelDensityMap(_mixture.MixtureMap):
    """A Gaussian kernel density estimate: an equal-weight mixture of N(xᵢ, h²I), standardised.

    Columns are standardised by the training means and standard deviations, so one bandwidth h
    (chosen by :func:`select_bandwidth`) serves every column and scaling the data scales the
    samples, never the choice. A sample takes noise (n, d + 1): the first value picks a training
    row uniformly, the other d add h·g (see :mod:`~pushforward.baselines.mixture`).
    :meth:`log_prob` is scikit-learn's ``KernelDensity.score_samples``.

    Arguments:
        noise: ``"normal"`` (default) or ``"uniform"``.

    Returns:
        ``fit(x)`` returns the map; learned state: ``points_`` (m, d) standardised kernel
        centres (every training row, or :data:`MAX_POINTS` of them) and ``bandwidth_``.

    References:
        Silverman, "Density Estimation for Statistics and Data Analysis", 1986 (likelihood
        cross-validation, §3.4.4); scikit-learn's ``sklearn.neighbors.KernelDensity``.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(2000, 2))
        >>> m = KernelDensityMap().fit(x, seed=0)
        >>> 0.1 < m.bandwidth_ < 0.6, m.sample(3, seed=1).shape
        (True, (3, 2))
    """

    kind = "kde"
    _param_names = ("noise",)

    def __init__(self, *, noise: str = "normal"):
        self.noise = noise

    def fit(self, x: Any, y: Any = None, *, columns: list[str] | None = None,
            seed: int = 0, schema: Schema | None = None) -> KernelDensityMap:
        """Standardise, choose the bandwidth and keep the rows as kernel centres."""
        x, names, schema, codec = _mixture.standardise(x, columns, schema)
        data = codec.encode(x)
        if len(data) > MAX_POINTS:
            rng = np.random.default_rng(np.random.SeedSequence([seed, 16, 3]))
            data = data[rng.choice(len(data), size=MAX_POINTS, replace=False)]
        h, record = select_bandwidth(data, seed=seed)
        self._init_map(method="kde", noise=self.noise, latent_dim=data.shape[1] + 1,
                       dim=x.shape[1], columns=names, seed=seed, codec=codec, schema=schema,
                       settings={"bandwidth": h, "points": len(data), **record})
        self._set_state(data, h)
        self.calibrate_decoding()
        return self

    def _set_state(self, points: np.ndarray, bandwidth: float) -> None:
        self.points_, self.bandwidth_ = points, float(bandwidth)
        self._density = None

    def _pick(self, u: np.ndarray) -> np.ndarray:
        m = len(self.points_)
        return np.minimum((u * m).astype(np.int64), m - 1)

    def _place(self, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
        return self.points_[idx] + self.bandwidth_ * g

    def _log_density(self, y: np.ndarray) -> np.ndarray:
        if self._density is None:  # built on first use: sampling never needs the tree
            from sklearn.neighbors import KernelDensity

            self._density = KernelDensity(kernel="gaussian", bandwidth=self.bandwidth_)
            self._density.fit(self.points_)
        return self._density.score_samples(y)

    def _state(self) -> dict[str, np.ndarray]:
        return {"points": self.points_}

    @classmethod
    def _from_state(cls, meta: dict[str, Any],
                    tensors: dict[str, np.ndarray]) -> KernelDensityMap:
        m = cls._restore(meta, tensors, ("points",))
        h = _checks.real(m.settings.get("bandwidth"), "settings.bandwidth", 0.0, strict_lo=True)
        points = _checks.array(tensors, "points", (None, meta["core_dim"])).astype(np.float64)
        if len(points) == 0:
            raise PushforwardError("tensor 'points' holds no kernel centre")
        m._set_state(points, h)
        return m


def fit_kde(source, *, noise: str = "normal", latent_dim: int | None = None,
            seed: int | None = None, schema: Schema | None = None,
            time_budget: float | None = None,
            n_train: int = MAX_POINTS) -> KernelDensityMap:
    """Fit a :class:`KernelDensityMap` to the source's data (or ``n_train`` fresh draws).

    From a sampler it keeps as many draws as it holds centres: a kernel estimate reproduces its
    finite sample's own distance to the distribution, which on rings (10⁴-point energy ratios
    against 4 real samples, 3 test draws) made 1.27–2.59× the floor from 20,000 draws and
    0.92–1.17× from 50,000. ``time_budget`` is accepted like every method's; the fit takes
    about a second whatever it is (the bandwidth's cross-validation uses :data:`CV_ROWS`).
    """
    schema = schema if schema is not None else infer_schema(source)
    _mixture.check_latent("kde", schema.encoded_dim, latent_dim)
    seed = 0 if seed is None else seed
    x = source.training_sample(n_train, seed=seed)
    return KernelDensityMap(noise=noise).fit(x, columns=source.columns, seed=seed,
                                                                   schema=schema)


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_kde.options = ("n_train", "time_budget")
