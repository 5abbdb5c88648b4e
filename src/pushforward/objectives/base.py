"""The objective seam: what the one training loop optimises.

The loop owns the generator, its optimiser, EMA, budgets, validation, checkpoints and progress,
and the one learning-rate schedule, whose factor it hands to the objective each step.
An objective turns a batch of noise ``z`` and target samples ``y`` into the generator's loss; it
may own extra modules and optimisers (a critic) and take inner steps of its own, and it says how
noise is pushed through the generator (directly, or by integrating an ODE).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Objective:
    """Base class; subclasses implement :meth:`loss` (and :meth:`setup` if they own modules)."""

    name: str = ""
    #: network key used when the run's ``net`` is ``auto`` (None: the loop's own choice)
    default_net: str | None = None
    #: network key used when the run's ``net`` is ``auto`` and the rows are images (the schema
    #: has an ``event_shape``; None: :attr:`default_net`'s choice, on flat pixels)
    image_net: str | None = "conv"
    #: the image network's options when the run leaves them unset (``net_options`` are the
    #: flat networks')
    image_net_options: dict[str, Any] = {}
    #: the fitted-map kind (``MAP_KINDS``) that wraps the trained network
    map_kind: str = "learned"
    #: Adam betas of the loop's generator optimiser (None: the loop's default (0.9, 0.999))
    generator_betas: tuple[float, float] | None = None
    #: the generator network's options when the run leaves them unset (``{"activation": ...}``)
    net_options: dict[str, Any] = {}
    #: the generator's learning rate when neither the run nor the network names one (None: the
    #: loop's default)
    default_lr: float | None = None
    #: the only noise the objective's model is defined for (a VAE's prior and a flow's base are
    #: N(0, I)); None: any noise
    noise: str | None = None
    #: a likelihood objective: on data whose values lie on a grid (an image's pixel levels) its
    #: density can grow without bound, so the loop spreads each training value uniformly over
    #: its grid cell (dequantisation; the codec's :meth:`~pushforward.data.codec.Codec.cells`)
    dequantize: bool = False
    #: whether ``precision="bf16"`` runs this objective's networks in bf16
    #: (:mod:`pushforward.train.precision`); False where the loss is the network's own
    #: arithmetic and needs float32 (a flow's log-determinants)
    mixed_precision: bool = True

    def batch_size(self, dim: int) -> int:
        """The batch size used when the run's ``batch_size`` is None."""
        return 1024

    def learning_rate(self, dim: int) -> float | None:
        """The generator's learning rate for d-dimensional data when the run and the network
        name none (None: the loop's default); ``default_lr`` unless a subclass knows better."""
        return self.default_lr

    def lr_end(self, dim: int) -> float:
        """The fraction of the learning rate that the loop's cosine schedule ends at."""
        return 0.05

    def setup(self, *, dim: int, latent_dim: int, device: torch.device, dtype: torch.dtype,
              seed: int, event_shape: tuple[int, int, int] | None = None) -> None:
        """Build extra modules and optimisers (called once before training or resuming);
        ``event_shape`` is (C, H, W) when each of the ``dim`` columns is a pixel of an image
        (an adversarial critic is then convolutional)."""

    def loss(self, generator: nn.Module, z: torch.Tensor, y: torch.Tensor, *,
             rng: torch.Generator, progress: float) -> torch.Tensor:
        """The generator's loss for one step (inner critic steps happen here)."""
        raise NotImplementedError

    def set_lr_factor(self, factor: float) -> None:
        """The loop's learning-rate factor for the coming step (its one cosine schedule, from 1
        down to ``lr_end``); an objective with its own optimiser scales its rate by it."""

    def set_reduce(self, reduce) -> None:
        """A distributed run's ``reduce(tensor, op)`` hook (:mod:`pushforward.train.distributed`),
        for losses that combine their statistics across ranks (the histogram losses); the
        others ignore it, and the run optimises the mean of the ranks' losses."""

    def push(self, generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
        """Map noise to (standardised) data with ``generator``."""
        return generator(z)

    def modules(self) -> dict[str, nn.Module]:
        """Extra modules to checkpoint (a critic, an encoder)."""
        return {}

    def joint_parameters(self) -> list[nn.Parameter]:
        """Parameters the loop's optimiser trains with the generator's, on the same loss and
        schedule (a VAE's encoder); a critic, stepped by its own optimiser inside
        :meth:`loss`, is not among them."""
        return []

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Extra optimisers to checkpoint."""
        return {}

    def saved_critic(self) -> tuple[nn.Module, dict[str, Any]] | None:
        """A module to keep in the model file beside the generator (an adversarial critic, so
        plots of a loaded model can draw it), with the JSON spec that rebuilds it from the
        networks registry (``name``, ``in``, ``out``, ``kwargs``); None: nothing to keep."""
        return None

    def settings(self) -> dict[str, Any]:
        """JSON settings that describe this objective."""
        return {}
