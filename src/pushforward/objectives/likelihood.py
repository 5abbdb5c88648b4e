"""Maximum likelihood: train a network with an exact density (a normalizing flow) on −log p(y).

A normalizing flow is an invertible map f from data to noise with a tractable Jacobian, so its
density is exact, log p(x) = log N(f(x); 0, I) + log |det ∂f/∂x|, and maximising the likelihood
of the data is minimising the Kullback–Leibler divergence from the data to the model. The loop's
generator is the flow itself (``nsf`` of the networks registry, :class:`~pushforward.nets.
spline_flow.SplineFlow`): its forward pass, noise → data, is the fitted map, and its
``log_prob`` the density the loss and :meth:`pushforward.normalizing_flow.NormalizingFlowMap.
log_prob` use.

References:
    Papamakarios et al., "Normalizing flows for probabilistic modeling and inference",
    arXiv:1912.02762. Durkan et al., "Neural spline flows", arXiv:1906.04032.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import PushforwardError
from .base import Objective

__all__ = ["MaximumLikelihood"]


class MaximumLikelihood(Objective):
    """Minimise −(1/n) Σᵢ log p(yᵢ) over the flow's parameters (the loop's noise is not used).

    The data are the loop's standardised ones, so the loss is the negative log-likelihood in
    standardised units (the data's is that less Σⱼ log stdⱼ).

    Example:
        >>> from pushforward.nets.spline_flow import SplineFlow
        >>> flow, ml = SplineFlow(2, 2, transforms=1, width=8, depth=1), MaximumLikelihood()
        >>> y = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
        >>> loss = ml.loss(flow, None, y, rng=torch.Generator(), progress=0.0)
        >>> bool(torch.isclose(loss, -flow.log_prob(y).mean()))
        True
    """

    name = "nsf"
    default_net = "nsf"
    image_net = None  # a spline flow on the flat pixels: no convolutional flow here
    map_kind = "normalizing-flow"
    noise = "normal"
    dequantize = True
    #: the log-likelihood sums the spline transforms' log-determinants: float32 throughout
    mixed_precision = False

    def setup(self, *, dim: int, latent_dim: int, device: torch.device, dtype: torch.dtype,
              seed: int, event_shape: tuple[int, int, int] | None = None) -> None:
        if latent_dim != dim:
            raise PushforwardError(
                f"{self.name} is an invertible map of a space onto itself, so latent_dim must "
                f"equal the data's dimension ({dim}), got latent_dim={latent_dim}")

    def loss(self, generator: nn.Module, z: torch.Tensor, y: torch.Tensor, *,
             rng: torch.Generator, progress: float) -> torch.Tensor:
        if not hasattr(generator, "log_prob"):
            raise PushforwardError(f"{self.name} trains a network with a density; use the "
                                   f"net 'nsf', got {type(generator).__name__}")
        return -generator.log_prob(y).mean()
