"""The fitted map of a normalizing flow: pointwise, invertible, with an exact density.

The network is a flow trained by maximum likelihood (:mod:`pushforward.objectives.likelihood`,
the ``nsf`` net): ``inverse_transform(z)`` pushes normal noise through it to data,
``transform(x)`` pulls data back to noise, and ``log_prob(x)`` is the exact log-density, in the
data's units. The model file holds the flow's weights (``net.*``) and the settings that rebuild
it (``net``: the registry key and every option), read without pickle like every learned map's.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .learned import LearnedMap

__all__ = ["NormalizingFlowMap"]

_CHUNK = 65536


class NormalizingFlowMap(LearnedMap):
    """x = f⁻¹(z)·std + mean for a flow f (data → noise) on standardised data.

    ``transform(x) = f((x − mean)/std)`` and
    ``log_prob(x) = log N(f(x̃); 0, I) + log |det ∂f/∂x̃| − Σⱼ log stdⱼ``, x̃ = (x − mean)/std
    (the standardisation's Jacobian is diag(1/std)).

    Example:
        >>> import numpy as np
        >>> from pushforward.nets.spline_flow import SplineFlow
        >>> m = NormalizingFlowMap(SplineFlow(1, 1, transforms=1), {}, np.zeros(1), 2 * np.ones(1))
        >>> m._init_map(method="nsf", noise="normal", latent_dim=1, dim=1)
        >>> x = m.sample(3, seed=0)
        >>> bool(np.allclose(m.inverse_transform(m.transform(x)), x, atol=1e-5))
        True
    """

    kind: ClassVar[str] = "normalizing-flow"

    def _standardised(self, x: np.ndarray) -> torch.Tensor:
        p = self._param
        return torch.as_tensor((x - self.mean_) / self.std_, dtype=p.dtype, device=p.device)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Data → noise: the flow's own direction."""
        x = self._check_data(x)
        with torch.no_grad():
            out = [self.net.transform(self._standardised(x[i : i + _CHUNK])).double().cpu()
                   .numpy() for i in range(0, len(x), _CHUNK)]
        return np.concatenate(out) if out else np.empty((0, self.latent_dim))

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """The exact log-density at each row of ``x`` (n, dim), in nats, in the data's units.

        Example:
            >>> import numpy as np
            >>> from pushforward.nets.spline_flow import SplineFlow
            >>> m = NormalizingFlowMap(SplineFlow(1, 1), {}, np.zeros(1), np.ones(1))
            >>> m._init_map(method="nsf", noise="normal", latent_dim=1, dim=1)
            >>> grid = np.linspace(-8, 8, 4001)[:, None]
            >>> round(float(np.trapezoid(np.exp(m.log_prob(grid)), grid[:, 0])), 3)
            1.0
        """
        x = self._check_data(x)
        with torch.no_grad():
            out = [self.net.log_prob(self._standardised(x[i : i + _CHUNK])).double().cpu()
                   .numpy() for i in range(0, len(x), _CHUNK)]
        lp = np.concatenate(out) if out else np.empty(0)
        return lp - np.log(self.std_).sum()
