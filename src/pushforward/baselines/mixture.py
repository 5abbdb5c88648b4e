"""A fitted map that samples a mixture of Gaussians in standardised coordinates.

Both classical baselines are such mixtures: a Gaussian mixture model has k weighted components
with full covariances; a Gaussian kernel density estimate has one equal-weight component per
training point with covariance h²I. Sampling a mixture is not a map of d noise values, but it is
a map of d + 1: the first noise value picks the component (the inverse CDF of the weights), the
other d place the point inside it. So these maps take ``latent_dim = d + 1`` and everything built
on ``inverse_transform`` (``sample``, streaming, same rows for a seed whatever the chunk size)
works unchanged. The map is not invertible (many noise values give one point).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .. import _checks
from ..errors import PushforwardError
from ..exact import quantile as _quantile
from ..model import FittedMap


def standardise(x: Any, columns: list[str] | None) -> tuple[np.ndarray, list[str], np.ndarray,
                                                            np.ndarray]:
    """(x, column names, column means, column standard deviations) of finite, non-constant data."""
    x, names = _quantile.as_data(x, columns)
    _quantile.check_not_constant(x, names)
    return x, names, x.mean(axis=0), x.std(axis=0)


def check_latent(method: str, dim: int, latent_dim: int | None) -> None:
    """A mixture map takes one noise value for the component and d for the point.

    ``latent_dim`` d is accepted too: it is what ``pushforward.fit`` passes when none is given.
    """
    if latent_dim is not None and int(latent_dim) not in (dim, dim + 1):
        raise PushforwardError(
            f"method {method!r} samples a mixture: one noise value picks the component and "
            f"{dim} place the point, so latent_dim must be {dim + 1} (or left out), "
            f"got {latent_dim}")


class MixtureMap(FittedMap):
    """Noise (n, d + 1) → a point of a Gaussian mixture fitted in standardised coordinates.

    Subclasses set ``mean_`` and ``scale_`` (the training columns' means and standard
    deviations) and implement :meth:`_pick` (uniform → component index) and :meth:`_place`
    (component index, standard normals → standardised point), :meth:`_log_density`, and the
    model file's ``_state`` / ``_from_state``.
    """

    pointwise = False  # not a smooth one-to-one map: plots and exact-map checks skip it

    mean_: np.ndarray
    scale_: np.ndarray

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Map noise (n, d + 1) to data: z₀ picks a component, z₁..z_d the point inside it."""
        z = self._check_noise(z)
        with np.errstate(divide="ignore", over="ignore"):
            u = self.noise_.cdf(z[:, 0])
            g = special.ndtri(z[:, 1:]) if self.noise == "uniform" else z[:, 1:]
        y = self._place(self._pick(u), g)
        return y * self.scale_ + self.mean_

    def log_prob(self, x: Any) -> np.ndarray:
        """Log-density of the fitted mixture at each row of ``x`` (n, d), in nats.

        The density of the standardised point, less Σ log scale (the change of variables).
        """
        x = self._check_data(x)
        return self._log_density((x - self.mean_) / self.scale_) - np.log(self.scale_).sum()

    def _pick(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _place(self, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _log_density(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _scaler_state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_, "scale": self.scale_}

    @classmethod
    def _restore(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray],
                 names: tuple[str, ...]) -> MixtureMap:
        """A map with the attributes every map has and its scaler, from checked file contents.

        ``names``: the map's own tensors, besides ``mean`` and ``scale``.
        """
        _checks.tensor_keys(tensors, ("mean", "scale", *names))
        if meta["latent_dim"] != meta["dim"] + 1:
            raise PushforwardError(f"latent_dim {meta['latent_dim']} must be dim + 1 = "
                                   f"{meta['dim'] + 1} for a mixture map")
        _checks.mapping(meta["settings"], "settings")
        m = cls.__new__(cls)
        m._init_map(method=meta["method"], noise=meta["noise"], latent_dim=meta["latent_dim"],
                    dim=meta["dim"], columns=meta["columns"], seed=meta["seed"],
                    settings=meta["settings"])
        m.mean_ = _checks.array(tensors, "mean", (m.dim,)).astype(np.float64)
        m.scale_ = _checks.array(tensors, "scale", (m.dim,)).astype(np.float64)
        if not (m.scale_ > 0).all():
            raise PushforwardError("tensor 'scale' must be positive")
        return m


def pick_by_weights(u: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """The component whose cumulative-weight interval holds u (the categorical inverse CDF).

    Example:
        >>> pick_by_weights(np.array([0.1, 0.5, 0.99]), np.array([0.25, 0.75, 1.0]))
        array([0, 1, 2])
    """
    idx = np.searchsorted(cumulative, u * cumulative[-1], side="right")
    return np.minimum(idx, len(cumulative) - 1)
