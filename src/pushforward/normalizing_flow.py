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

from .errors import PushforwardError
from .learned import LearnedMap

__all__ = ["NormalizingFlowMap"]

_CHUNK = 65536


class NormalizingFlowMap(LearnedMap):
    """x = decode(f⁻¹(z)) for a flow f (data → noise) on the encoded (standardised) data.

    ``transform(x) = f(encode(x))`` and
    ``log_prob(x) = log N(f(x̃); 0, I) + log |det ∂f/∂x̃| − Σⱼ log stdⱼ``, x̃ = encode(x)
    (the standardisation's Jacobian is diag(1/std); constant columns are point masses, left out
    of the density).

    Example:
        >>> import numpy as np
        >>> from pushforward.nets.spline_flow import SplineFlow
        >>> m = NormalizingFlowMap(SplineFlow(1, 1, transforms=1), {})
        >>> m._init_map(method="nsf", noise="normal", latent_dim=1, dim=1)
        >>> x = m.sample(3, seed=0)
        >>> bool(np.allclose(m.inverse_transform(m.transform(x)), x, atol=1e-5))
        True
    """

    kind: ClassVar[str] = "normalizing-flow"

    @classmethod
    def _from_state(cls, meta, tensors) -> NormalizingFlowMap:
        m = super()._from_state(meta, tensors)
        if not (hasattr(m.net, "log_prob") and hasattr(m.net, "transform")):
            raise PushforwardError(f"a normalizing-flow model needs a flow network (nsf), got "
                                   f"{m.net_spec.get('name')!r}")
        return m

    def _apply(self, fn, y: np.ndarray, empty: tuple[int, ...]) -> np.ndarray:
        p = self._param
        with torch.no_grad():
            out = [fn(torch.as_tensor(y[i : i + _CHUNK], dtype=p.dtype, device=p.device))
                   .double().cpu().numpy() for i in range(0, len(y), _CHUNK)]
        return np.concatenate(out) if out else np.empty(empty)

    def _transform(self, y: np.ndarray) -> np.ndarray:
        """Encoded data → noise: the flow's own direction."""
        return self._apply(self.net.transform, y, (0, self.latent_dim))

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """The exact log-density at each row of ``x`` (n, dim), in nats, in the data's units.

        Example:
            >>> import numpy as np
            >>> from pushforward.nets.spline_flow import SplineFlow
            >>> m = NormalizingFlowMap(SplineFlow(1, 1), {})
            >>> m._init_map(method="nsf", noise="normal", latent_dim=1, dim=1)
            >>> grid = np.linspace(-8, 8, 4001)[:, None]
            >>> round(float(np.trapezoid(np.exp(m.log_prob(grid)), grid[:, 0])), 3)
            1.0
        """
        return self._log_prob_through_codec(x, lambda y: self._apply(self.net.log_prob, y, (0,)))
