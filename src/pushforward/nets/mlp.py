"""Plain, residual and time-conditioned multilayer perceptrons.

Each constructor takes ``(latent_dim, dim, *, width, depth, activation)``: noise of
``latent_dim`` columns in, data of ``dim`` columns out. Activations come from the small
:data:`ACTIVATIONS` dict.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn

from .._limits import MAX_WIDTH, check_net_size
from ..errors import PushforwardError

__all__ = ["ACTIVATIONS", "make_activation", "MLP", "ResMLP", "TimeMLP"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module from its name in :data:`ACTIVATIONS`.

    Example:
        >>> make_activation("silu")
        SiLU()
    """
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise PushforwardError(f"unknown activation {name!r}; valid: "
                               f"{', '.join(sorted(ACTIVATIONS))}") from None


def _check(latent_dim: int, dim: int, width: int, depth: int) -> None:
    check_net_size(width, depth)
    if min(latent_dim, dim, width) < 1 or depth < 0:
        raise PushforwardError(f"need latent_dim, dim, width >= 1 and depth >= 0, got "
                               f"{latent_dim}, {dim}, {width}, {depth}")


class MLP(nn.Sequential):
    """Fully connected network: ``depth`` hidden layers of ``width`` units.

    x ↦ W_L σ(… σ(W_1 x + b_1) …) + b_L.

    Arguments:
        latent_dim: input columns.
        dim: output columns.
        width: hidden units per layer.
        depth: number of hidden layers (0: an affine map).
        activation: a key of :data:`ACTIVATIONS`.

    References:
        Hornik, Stinchcombe and White, "Multilayer feedforward networks are universal
        approximators", Neural Networks 2 (1989).

    Example:
        >>> MLP(2, 3, width=16, depth=2)(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
    """

    def __init__(self, latent_dim: int, dim: int, *, width: int = 256, depth: int = 3,
                 activation: str = "silu"):
        _check(latent_dim, dim, width, depth)
        layers: list[nn.Module] = []
        size = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(size, width), make_activation(activation)]
            size = width
        layers.append(nn.Linear(size, dim))
        super().__init__(*layers)


class _Block(nn.Module):
    def __init__(self, width: int, act: str):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)
        self.act1, self.act2 = make_activation(act), make_activation(act)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.outer(self.act2(self.inner(self.act1(self.norm(h)))))


class ResMLP(nn.Module):
    """Residual MLP: h ← h + W₂ σ(W₁ σ(LayerNorm(h))), ``depth`` blocks of ``width`` units.

    Pre-normalised residual blocks keep deep generators trainable on harder 2-D targets
    (spirals, checkerboards). Each block's output layer starts scaled by 1/√depth so the
    network starts close to its input projection.

    Arguments:
        latent_dim: input columns.
        dim: output columns.
        width: units per block.
        depth: number of residual blocks.
        activation: a key of :data:`ACTIVATIONS`.

    References:
        He et al., "Identity mappings in deep residual networks", arXiv:1603.05027.

    Example:
        >>> ResMLP(2, 2, width=16, depth=2)(torch.zeros(4, 2)).shape
        torch.Size([4, 2])
    """

    def __init__(self, latent_dim: int, dim: int, *, width: int = 256, depth: int = 4,
                 activation: str = "silu"):
        super().__init__()
        _check(latent_dim, dim, width, depth)
        self.inp = nn.Linear(latent_dim, width)
        self.blocks = nn.ModuleList(_Block(width, activation) for _ in range(depth))
        with torch.no_grad():
            for block in self.blocks:
                block.outer.weight.mul_(1 / math.sqrt(max(depth, 1)))
        self.norm = nn.LayerNorm(width)
        self.act = make_activation(activation)
        self.out = nn.Linear(width, dim)

    def forward(self, z: Tensor) -> Tensor:
        h = self.inp(z)
        for block in self.blocks:
            h = block(h)
        return self.out(self.act(self.norm(h)))


class TimeMLP(nn.Module):
    """Velocity network v(x, t): an MLP of x, Fourier features of t ∈ [0, 1] and, optionally,
    random Fourier features of x.

    Input [x, t, sin(2πkt), cos(2πkt)] for k = 1 … ``frequencies``, and with ``features`` = F > 0
    also [sin(2π·s·Bᵀx/√d), cos(2π·s·Bᵀx/√d)] for a fixed d × F matrix B of standard normal
    entries drawn at construction (a buffer, saved with the model) and s = ``feature_scale``.
    Plain MLPs of x learn smooth functions first (spectral bias); the features let a velocity
    field resolve thin structures such as concentric rings within a CPU-minute budget. The
    division by √d keeps each projection's spread independent of the dimension, so one scale
    suits any d (inputs are standardised by the training loop).

    Arguments:
        latent_dim: columns of x.
        dim: output columns (usually ``latent_dim``).
        width: hidden units per layer.
        depth: number of hidden layers.
        activation: a key of :data:`ACTIVATIONS`.
        frequencies: number of Fourier frequencies of t.
        features: number F of random Fourier features of x (0: none).
        feature_scale: s, the features' frequency spread in cycles per standard deviation.

    References:
        Lipman et al., "Flow matching for generative modeling", arXiv:2210.02747.
        Tancik et al., "Fourier features let networks learn high frequency functions in low
        dimensional domains", arXiv:2006.10739.

    Example:
        >>> net = TimeMLP(2, 2, width=16, depth=2, features=8)
        >>> net(torch.zeros(3, 2), torch.rand(3)).shape
        torch.Size([3, 2])
    """

    def __init__(self, latent_dim: int, dim: int, *, width: int = 256, depth: int = 3,
                 activation: str = "silu", frequencies: int = 4, features: int = 0,
                 feature_scale: float = 1.0):
        super().__init__()
        for name, value in (("features", features), ("frequencies", frequencies)):
            if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or not
                    0 <= value <= MAX_WIDTH):
                raise PushforwardError(f"{name} must be an integer in [0, {MAX_WIDTH}], got "
                                       f"{value!r}")
        if not 0 < feature_scale < float("inf"):
            raise PushforwardError(f"feature_scale must be > 0, got {feature_scale!r}")
        self.frequencies = int(frequencies)
        self.features = int(features)
        if self.features:
            scale = 2 * math.pi * float(feature_scale) / math.sqrt(latent_dim)
            self.register_buffer("feature_matrix", scale * torch.randn(latent_dim, self.features))
        self.net = MLP(latent_dim + 1 + 2 * self.frequencies + 2 * self.features, dim,
                       width=width, depth=depth, activation=activation)

    def forward(self, x: Tensor, t: Tensor | float) -> Tensor:
        """v(x, t) for x of shape (n, latent_dim) and t a scalar, (n,) or (n, 1)."""
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1, 1).expand(len(x), 1)
        k = torch.arange(1, self.frequencies + 1, dtype=x.dtype, device=x.device)
        angle = 2 * math.pi * t * k
        parts = [x, t, torch.sin(angle), torch.cos(angle)]
        if self.features:
            phase = x @ self.feature_matrix.to(x.dtype)
            parts += [torch.sin(phase), torch.cos(phase)]
        return self.net(torch.cat(parts, dim=1))
