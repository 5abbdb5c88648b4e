"""A Gaussian mixture model (scikit-learn's GaussianMixture), components chosen on held-out rows."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from scipy import linalg, special

from .. import _checks
from .._random import bounded_seed
from ..data.schema import Schema, infer_schema
from ..errors import PushforwardError
from . import mixture as _mixture

#: Component counts tried, smallest first; the search stops when two in a row do not improve.
COMPONENTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 32, 40, 50, 64)

#: The most components a model file may hold (the search itself stops at COMPONENTS[-1]).
MAX_COMPONENTS = 10_000

#: Share of the rows held out to choose the number of components, and the rows used at most
#: (a seeded subsample): the search stays at a few seconds whatever the data's size.
SELECTION_HOLDOUT = 0.2
SELECTION_ROWS = 6000

#: Rows per component and free dimension below which a count is not tried (keeps EM stable).
MIN_ROWS_PER_COMPONENT = 2


def _mixture_model(k: int, seed: int):
    from sklearn.mixture import GaussianMixture

    # reg_covar is absolute; the data are standardised, so it means 1e-6 of each column's variance
    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-6,
                           max_iter=200, random_state=bounded_seed(seed))


def _fit(y: np.ndarray, k: int, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    # one thread: k-means and EM on these sizes gain little from more, and OpenMP threads that
    # wait for a busy core made a 0.3 s fit take 3 s on a loaded 2-core machine
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _mixture_model(k, seed).fit(y)


def _split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows) for the count search: at most SELECTION_ROWS in all."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 16, 1]))
    perm = rng.permutation(len(y))[:SELECTION_ROWS]
    n_held = max(1, int(round(SELECTION_HOLDOUT * len(perm))))
    return y[perm[n_held:]], y[perm[:n_held]]


def select_components(y: np.ndarray, *, seed: int, max_components: int = 64,
                      deadline: float | None = None) -> tuple[int, list[list[float]]]:
    """The component count chosen by mean log-likelihood on held-out rows.

    A fifth of ``y`` (standardised rows; at most :data:`SELECTION_ROWS` of them) is held out;
    counts from :data:`COMPONENTS` are fitted on the rest, smallest first, until two counts in
    a row fail to beat the best, a count needs more rows than there are, or ``deadline`` (a
    ``time.monotonic()`` value) has passed. The held-out log-likelihood itself is the
    criterion: held-out rows already charge a mixture for components that only fit noise, so
    BIC's penalty on top would count that cost twice. Of the counts whose held-out rows score
    within one standard error of the best (paired, row by row), the smallest is chosen: a
    component more that wins by less than the noise only slows sampling.

    Returns:
        (the chosen count, rows ``[count, held-out mean log-likelihood]`` of every count tried).
    """
    fit_rows, held = _split(y, seed)
    limit = max(1, len(fit_rows) // (MIN_ROWS_PER_COMPONENT * (y.shape[1] + 1)))
    scores: dict[int, np.ndarray] = {}
    best_k, misses = 1, 0
    for k in COMPONENTS:
        if k > min(max_components, limit) or (scores and deadline and time.monotonic() > deadline):
            break
        scores[k] = _fit(fit_rows, k, seed).score_samples(held)
        if k == best_k or scores[k].mean() > scores[best_k].mean():
            best_k, misses = k, 0
        else:
            misses += 1
            if misses == 2:
                break
    table = [[k, float(s.mean())] for k, s in scores.items()]
    return next(k for k, s in scores.items() if _within_one_se(s - scores[best_k])), table


def _within_one_se(diff: np.ndarray) -> bool:
    """Whether row-wise log-likelihood differences average within one standard error of 0."""
    return bool(diff.mean() >= -diff.std() / np.sqrt(len(diff)))


class GaussianMixtureMap(_mixture.MixtureMap):
    """A Gaussian mixture with full covariances, fitted by EM on standardised columns.

    The number of components is chosen by held-out log-likelihood
    (:func:`select_components`), then the mixture is refitted on every training row. A sample
    takes noise (n, d + 1): the first value picks component j with probability w_j, the other d
    are mapped to μ_j + L_j g with L_j L_jᵀ = Σ_j (see :mod:`~pushforward.baselines.mixture`),
    so components are drawn independently row by row, never grouped.

    Arguments:
        max_components: the largest count tried.
        noise: ``"normal"`` (default) or ``"uniform"``.
        time_budget: seconds for the count search (the refit always runs); None: no limit.

    Returns:
        ``fit(x)`` returns the map; learned state: ``weights_`` (k,), ``means_`` (k, d) and
        ``covariances_`` (k, d, d), in the units of the codec (``codec_``: standardised).

    References:
        Dempster, Laird & Rubin, "Maximum likelihood from incomplete data via the EM algorithm",
        JRSS B 39, 1977; scikit-learn's ``sklearn.mixture.GaussianMixture``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = np.concatenate([rng.normal(-5, 1, (600, 1)), rng.normal(5, 1, (400, 1))])
        >>> m = GaussianMixtureMap().fit(x, seed=0)
        >>> m.settings["components"], sorted(m.weights_.round(1).tolist())
        (2, [0.4, 0.6])
    """

    kind = "gmm"
    _param_names = ("max_components", "noise", "time_budget")

    def __init__(self, *, max_components: int = 64, noise: str = "normal",
                 time_budget: float | None = None):
        self.max_components = max_components
        self.noise = noise
        self.time_budget = time_budget

    def fit(self, x: Any, y: Any = None, *, columns: list[str] | None = None,
            seed: int = 0, schema: Schema | None = None) -> GaussianMixtureMap:
        """Choose the component count, then fit the mixture on all rows. ``y`` is ignored."""
        start = time.monotonic()
        x, names, schema, codec = _mixture.standardise(x, columns, schema)
        data = codec.encode(x)
        deadline = start + self.time_budget if self.time_budget else None
        k, table = select_components(data, seed=seed, max_components=int(self.max_components),
                                     deadline=deadline)
        gm = _fit(data, k, seed)
        self._init_map(method="gmm", noise=self.noise, latent_dim=data.shape[1] + 1,
                       dim=x.shape[1], columns=names, seed=seed, codec=codec, schema=schema,
                       settings={"components": k, "max_components": int(self.max_components),
                                 "selection": table})
        self._set_state(gm.weights_, gm.means_, gm.covariances_)
        self.calibrate_decoding()
        return self

    def _set_state(self, weights: np.ndarray, means: np.ndarray, cov: np.ndarray) -> None:
        self.weights_, self.means_, self.covariances_ = weights, means, cov
        self._cumulative = np.cumsum(weights)
        self._chol = np.linalg.cholesky(cov)

    def _pick(self, u: np.ndarray) -> np.ndarray:
        return _mixture.pick_by_weights(u, self._cumulative)

    def _place(self, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
        y = np.empty_like(g)
        for j in np.unique(idx):  # per component: no (n, d, d) stack of factors in memory
            rows = idx == j
            y[rows] = self.means_[j] + g[rows] @ self._chol[j].T
        return y

    def _log_density(self, y: np.ndarray) -> np.ndarray:
        d = y.shape[1]
        parts = []
        for w, mu, chol in zip(self.weights_, self.means_, self._chol, strict=True):
            v = linalg.solve_triangular(chol, (y - mu).T, lower=True)
            logdet = 2 * np.log(np.diag(chol)).sum()
            parts.append(np.log(w) - 0.5 * ((v * v).sum(0) + d * np.log(2 * np.pi) + logdet))
        return special.logsumexp(np.stack(parts), axis=0)

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_, "means": self.means_,
                "covariances": self.covariances_}

    @classmethod
    def _from_state(cls, meta: dict[str, Any],
                    tensors: dict[str, np.ndarray]) -> GaussianMixtureMap:
        m = cls._restore(meta, tensors, ("weights", "means", "covariances"))
        k = _checks.integer(m.settings.get("components"), "settings.components", 1,
                            MAX_COMPONENTS)
        m.max_components = _checks.integer(m.settings.get("max_components"),
                                           "settings.max_components", 1, MAX_COMPONENTS)
        m.time_budget = None
        weights = _checks.array(tensors, "weights", (k,)).astype(np.float64)
        if not ((weights > 0).all() and abs(weights.sum() - 1) < 1e-6):
            raise PushforwardError("tensor 'weights' must be positive and sum to 1")
        d = meta["core_dim"]
        means = _checks.array(tensors, "means", (k, d)).astype(np.float64)
        cov = _checks.array(tensors, "covariances", (k, d, d)).astype(np.float64)
        if not np.allclose(cov, cov.transpose(0, 2, 1), rtol=1e-12, atol=0):
            raise PushforwardError("tensor 'covariances' must hold symmetric matrices")
        try:
            m._set_state(weights, means, cov)
        except np.linalg.LinAlgError:
            raise PushforwardError("tensor 'covariances' must hold positive definite "
                                   "matrices") from None
        return m


def fit_gmm(source, *, noise: str = "normal", latent_dim: int | None = None,
            seed: int | None = None, schema: Schema | None = None,
            time_budget: float | None = None,
            max_components: int = 64, n_train: int = 20_000) -> GaussianMixtureMap:
    """Fit a :class:`GaussianMixtureMap` to the source's data (or ``n_train`` fresh draws)."""
    schema = schema if schema is not None else infer_schema(source)
    _mixture.check_latent("gmm", schema.encoded_dim, latent_dim)
    seed = 0 if seed is None else seed
    x = source.training_sample(n_train, seed=seed)
    return GaussianMixtureMap(max_components=max_components, noise=noise,
                              time_budget=time_budget).fit(x, columns=source.columns, seed=seed,
                                                                   schema=schema)


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_gmm.options = ("max_components", "n_train", "time_budget")
