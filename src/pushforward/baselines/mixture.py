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
from ..data.codec import Codec, build_codec
from ..data.schema import Schema, infer_schema
from ..errors import PushforwardError
from ..exact import quantile as _quantile
from ..model import FittedMap


def standardise(x: Any, columns: list[str] | None, schema: Schema | None = None
                ) -> tuple[np.ndarray, list[str], Schema, Codec]:
    """(x, column names, schema, codec): the checked data and the codec that sets its constant
    columns aside and standardises the others (the mixture lives in those units)."""
    x, names = _quantile.as_data(x, columns)
    schema = schema if schema is not None else infer_schema(x, names)
    return x, names, schema, build_codec(schema, x, standardize=True)


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

    The map's codec standardises the modelled columns (and sets constant ones aside);
    subclasses implement :meth:`_pick` (uniform → component index) and :meth:`_place`
    (component index, standard normals → standardised point), :meth:`_log_density`, and the
    model file's ``_state`` / ``_from_state``.
    """

    pointwise = False  # not a smooth one-to-one map: plots and exact-map checks skip it

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        """Noise (n, d + 1) → a standardised point: z₀ picks a component, z₁..z_d the point."""
        with np.errstate(divide="ignore", over="ignore"):
            u = self.noise_.cdf(z[:, 0])
            g = special.ndtri(z[:, 1:]) if self.noise == "uniform" else z[:, 1:]
        return self._place(self._pick(u), g)

    def log_prob(self, x: Any) -> np.ndarray:
        """Log-density of the fitted mixture at each row of ``x`` (n, d), in nats.

        The density of the standardised point, less Σ log scale (the change of variables); a
        constant column is a point mass, left out of the density (−∞ where a row differs).
        """
        x = self._check_data(x)
        out = self._log_density(self.codec_.encode(x)) - self.codec_.log_scale()
        out[self.codec_.off_constants(x)] = -np.inf
        return out

    def _pick(self, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _place(self, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _log_density(self, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def _restore(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray],
                 names: tuple[str, ...]) -> MixtureMap:
        """A map with the attributes every map has, from checked file contents (the codec, the
        standardisation, is restored by :func:`pushforward.load`).

        ``names``: the map's own tensors.
        """
        _checks.tensor_keys(tensors, names)
        if meta["latent_dim"] != meta["core_dim"] + 1:
            raise PushforwardError(f"latent_dim {meta['latent_dim']} must be core_dim + 1 = "
                                   f"{meta['core_dim'] + 1} for a mixture map")
        _checks.mapping(meta["settings"], "settings")
        m = cls.__new__(cls)
        m._init_map(method=meta["method"], noise=meta["noise"], latent_dim=meta["latent_dim"],
                    dim=meta["dim"], columns=meta["columns"], seed=meta["seed"],
                    settings=meta["settings"])
        return m


def pick_by_weights(u: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
    """The component whose cumulative-weight interval holds u (the categorical inverse CDF).

    Example:
        >>> pick_by_weights(np.array([0.1, 0.5, 0.99]), np.array([0.25, 0.75, 1.0]))
        array([0, 1, 2])
    """
    idx = np.searchsorted(cumulative, u * cumulative[-1], side="right")
    return np.minimum(idx, len(cumulative) - 1)
