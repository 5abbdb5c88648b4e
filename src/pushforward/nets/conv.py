"""Convolutional networks for images held as flat rows: a generator and a critic.

The training loop keeps image data as flat (n, C·H·W) rows (the schema's ``event_shape`` says
how to fold them); these networks take that shape as an option, reshape inside and return flat
rows again, so every objective (divergences, critics, a VAE's decoder) uses them unchanged.

Both work for any H × W: the generator starts from a small grid of about 4–7 pixels a side
(``ceil(H / 2ᵏ)``) and doubles it k times (:func:`resolutions`), cropping the last grid to
H × W; the critic halves the image k times and reads the rest with a linear layer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._limits import MAX_COLUMNS, check_net_size
from ..errors import PushforwardError
from .mlp import make_activation

__all__ = ["image_shape", "resolutions", "channels", "group_norm", "ConvGenerator",
           "ConvCritic"]


def image_shape(event_shape: Sequence[int], dim: int) -> tuple[int, int, int]:
    """(C, H, W) of ``event_shape`` (a (H, W) shape is one channel), checked against ``dim``.

    Example:
        >>> image_shape([8, 8], 64)
        (1, 8, 8)
    """
    shape = list(event_shape) if isinstance(event_shape, (list, tuple)) else None
    if shape is not None and len(shape) == 2:
        shape = [1, *shape]
    if shape is None or len(shape) != 3 or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 < s <= MAX_COLUMNS
            for s in shape):
        raise PushforwardError(f"event_shape must be (C, H, W) positive integers, got "
                               f"{event_shape!r}")
    c, h, w = (int(s) for s in shape)
    if c * h * w != dim:
        raise PushforwardError(f"event_shape {c}×{h}×{w} holds {c * h * w} values, but the "
                               f"rows have {dim}")
    return c, h, w


def resolutions(h: int, w: int) -> list[tuple[int, int]]:
    """The grids a network works on, finest first: (H, W), then halved (rounding up) while the
    smaller side stays at least 4 pixels (8 → 8, 4; 16 → 16, 8, 4; 28 → 28, 14, 7).

    Example:
        >>> resolutions(28, 28)
        [(28, 28), (14, 14), (7, 7)]
    """
    k = max(0, int(math.floor(math.log2(min(h, w) / 4)))) if min(h, w) >= 8 else 0
    return [(math.ceil(h / 2**i), math.ceil(w / 2**i)) for i in range(k + 1)]


def channels(width: int, level: int) -> int:
    """Channels at ``level`` (0: the finest grid): ``width`` doubled per halving, at most 4×."""
    return width * min(2**level, 4)


def group_norm(ch: int) -> nn.GroupNorm:
    """Group normalisation with up to 8 groups: unlike batch normalisation it does not depend
    on the batch, so the same image gives the same output in training, sampling and EMA."""
    return nn.GroupNorm(math.gcd(8, ch), ch)


def _check(width: int, depth: int, levels: int) -> None:
    check_net_size(width, depth)
    check_net_size(channels(width, levels) * 3, max(depth, 1) * levels)  # 3×3 kernels
    if width < 1 or depth < 1:
        raise PushforwardError(f"need width and depth >= 1, got {width}, {depth}")


class ConvGenerator(nn.Module):
    """DCGAN-like generator: noise → linear → (nearest upsampling, 3×3 convolutions)ᵏ → image.

    z (n, k) ↦ a (4·width)-channel grid of about 4 pixels a side, doubled in size k times, each
    time followed by ``depth`` 3×3 convolutions with group normalisation; a last 3×3 convolution
    gives C channels, cropped to H × W and flattened. Upsampling then convolving (rather than
    transposed convolutions) avoids checkerboard artefacts.

    Arguments:
        latent_dim: noise columns.
        dim: C·H·W, the flat image's length.
        event_shape: (C, H, W) (or (H, W) for one channel).
        width: channels on the finest grid (doubled per halving, at most 4×). Default 16 and
            depth 1: a CPU budget of minutes buys few steps (8×8, batch 256, one thread:
            53 ms a step against 90 ms at width 32 and 2 s at width 32, depth 2, batch 1024).
        depth: 3×3 convolutions per grid.
        activation: a key of :data:`~pushforward.nets.mlp.ACTIVATIONS`.

    References:
        Radford, Metz and Chintala, "Unsupervised representation learning with deep
        convolutional generative adversarial networks", arXiv:1511.06434.
        Odena, Dumoulin and Olah, "Deconvolution and checkerboard artifacts", Distill (2016).

    Example:
        >>> g = ConvGenerator(16, 3 * 16 * 16, event_shape=(3, 16, 16), width=8)
        >>> g(torch.zeros(2, 16)).shape
        torch.Size([2, 768])
    """

    def __init__(self, latent_dim: int, dim: int, *, event_shape: Sequence[int],
                 width: int = 16, depth: int = 1, activation: str = "relu"):
        super().__init__()
        self.event_shape = image_shape(event_shape, dim)
        c, h, w = self.event_shape
        grids = resolutions(h, w)
        _check(width, depth, len(grids))
        if latent_dim < 1:
            raise PushforwardError(f"need latent_dim >= 1, got {latent_dim}")
        top = len(grids) - 1
        self.base = (channels(width, top), *grids[top])
        self.inp = nn.Sequential(nn.Linear(latent_dim, math.prod(self.base)),
                                 make_activation(activation))
        layers: list[nn.Module] = []
        for level in range(top, -1, -1):
            ch_in, ch = channels(width, min(level + 1, top)), channels(width, level)
            if level < top:
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            for i in range(depth):
                layers += [nn.Conv2d(ch_in if i == 0 else ch, ch, 3, padding=1), group_norm(ch),
                           make_activation(activation)]
        layers.append(nn.Conv2d(channels(width, 0), c, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        x = self.body(self.inp(z).reshape(len(z), *self.base))
        c, h, w = self.event_shape
        return x[:, :, :h, :w].reshape(len(z), c * h * w)


class ConvCritic(nn.Module):
    """A convolutional critic (discriminator): flat image → one score.

    A 3×3 convolution, then k 4×4 convolutions of stride 2 (each halving the grid, doubling the
    channels up to 4×), then a linear layer on the flattened features. No normalisation layers,
    so the gradient penalty of WGAN-GP (per-sample input gradients) stays valid; with
    ``spectral_norm`` every layer's weight is divided by its largest singular value (one power
    iteration per forward pass), which makes the critic 1-Lipschitz per layer.

    Arguments:
        latent_dim: C·H·W, the flat image's length (the registry's input size).
        dim: outputs (1 for a critic).
        event_shape: (C, H, W) (or (H, W) for one channel).
        width: channels of the first convolution.
        depth: 3×3 convolutions before the first halving.
        activation: a key of :data:`~pushforward.nets.mlp.ACTIVATIONS`.
        spectral_norm: normalise every weight by its spectral norm.

    References:
        Miyato et al., "Spectral normalization for generative adversarial networks",
        arXiv:1802.05957.
        Gulrajani et al., "Improved training of Wasserstein GANs", arXiv:1704.00028.

    Example:
        >>> d = ConvCritic(64, 1, event_shape=(1, 8, 8), width=8, spectral_norm=True)
        >>> d(torch.zeros(5, 64)).shape
        torch.Size([5, 1])
    """

    def __init__(self, latent_dim: int, dim: int, *, event_shape: Sequence[int],
                 width: int = 16, depth: int = 1, activation: str = "leaky_relu",
                 spectral_norm: bool = False):
        super().__init__()
        self.event_shape = image_shape(event_shape, latent_dim)
        c, h, w = self.event_shape
        grids = resolutions(h, w)
        _check(width, depth, len(grids))
        if not isinstance(spectral_norm, bool):
            raise PushforwardError(f"spectral_norm must be true or false, got {spectral_norm!r}")
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [sn(nn.Conv2d(c if i == 0 else width, width, 3, padding=1)),
                       make_activation(activation)]
        for level in range(1, len(grids)):
            layers += [sn(nn.Conv2d(channels(width, level - 1), channels(width, level), 4,
                                    stride=2, padding=1)), make_activation(activation)]
        self.body = nn.Sequential(*layers)
        with torch.no_grad():
            size = self.body(torch.zeros(1, c, h, w)).numel()
        self.out = sn(nn.Linear(size, dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.body(x.reshape(len(x), *self.event_shape)).flatten(1))
