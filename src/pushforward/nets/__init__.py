"""Networks: one registry of constructors ``NET(latent_dim, dim, **options) -> nn.Module``.

Example:
    >>> import torch
    >>> net = NETS.get("mlp")(2, 2, width=8, depth=1)
    >>> net(torch.zeros(3, 2)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..registry import Registry
from .mlp import ACTIVATIONS, MLP, ResMLP, TimeMLP
from .monotone import MonotoneNet

__all__ = ["NETS", "ACTIVATIONS", "MLP", "ResMLP", "TimeMLP", "MonotoneNet"]

NETS: Registry[Callable[..., nn.Module]] = Registry("net")

NETS.register("mlp", "fully connected network (width, depth, activation)")(MLP)
NETS.register("resmlp", "residual MLP with pre-normalised blocks, for harder 2-D targets")(ResMLP)
NETS.register("monotone", "1-D strictly increasing map: a learned quantile function")(MonotoneNet)
NETS.register("time-mlp", "velocity network v(x, t) for ODE-based maps")(TimeMLP)
