"""A small time-conditioned U-Net: the velocity field v(x, t) of flow matching on images.

Images come and go as flat (n, C·H·W) rows, like every network of the registry; the U-Net
folds them with its ``event_shape`` option. It works for any H × W: the grids are those of
:func:`~pushforward.nets.conv.resolutions` (halved, rounding up, down to about 4 pixels a side)
and each upsampled grid is resized to its skip connection's size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._limits import check_net_size
from ..errors import PushforwardError
from .conv import channels, group_norm, image_shape, resolutions
from .mlp import make_activation

__all__ = ["UNet", "time_embedding"]


def time_embedding(t: Tensor, size: int) -> Tensor:
    """Sinusoidal features of t ∈ [0, 1]: sin and cos of 2π·t·fₖ, fₖ from 1 to 1000 geometric.

    Example:
        >>> time_embedding(torch.zeros(3), 8).shape
        torch.Size([3, 8])
    """
    half = size // 2
    freq = torch.exp(torch.linspace(0, math.log(1000.0), half, dtype=t.dtype, device=t.device))
    angle = 2 * math.pi * t.reshape(-1, 1) * freq
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


class _ResBlock(nn.Module):
    """GroupNorm → act → 3×3 conv, plus the time embedding's shift, → GroupNorm → act →
    dropout (in training mode) → 3×3 conv, added to the (1×1-projected) input."""

    def __init__(self, ch_in: int, ch: int, emb: int, activation: str, dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        self.norm1, self.conv1 = group_norm(ch_in), nn.Conv2d(ch_in, ch, 3, padding=1)
        self.time = nn.Linear(emb, ch)
        self.norm2, self.conv2 = group_norm(ch), nn.Conv2d(ch, ch, 3, padding=1)
        self.act1, self.act2 = make_activation(activation), make_activation(activation)
        self.skip = nn.Conv2d(ch_in, ch, 1) if ch_in != ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(self.act1(self.norm1(x))) + self.time(emb)[:, :, None, None]
        h = F.dropout(self.act2(self.norm2(h)), self.dropout, self.training)
        return self.skip(x) + self.conv2(h)


class UNet(nn.Module):
    """Velocity field v(x, t) for images: a U-Net whose residual blocks see an embedding of t.

    Down: a 3×3 convolution, then on each grid ``depth`` residual blocks, a stride-2 convolution
    to the next grid (channels doubling up to 4×); a middle block; up: on each grid the
    coarser features resized to it (nearest) and convolved, concatenated with the skip features,
    ``depth`` residual blocks; a last 3×3 convolution to C channels. t enters every block
    through a sinusoidal embedding and a small MLP.

    Arguments:
        latent_dim: C·H·W, the flat image's length (x).
        dim: outputs (C·H·W as well).
        event_shape: (C, H, W) (or (H, W) for one channel).
        width: channels on the finest grid. Default 16: on digits (8×8, one CPU thread, a
            loaded machine) width 16 trains 3× faster per step than 32, and 120 s of flow
            matching reached C2ST 0.61 (docs/benchmarks.md).
        depth: residual blocks per grid on each side.
        activation: a key of :data:`~pushforward.nets.mlp.ACTIVATIONS`.
        dropout: the share of each residual block's inner features dropped at a training step
            (none in evaluation mode, in which every net is built: the loop switches its
            generator to training mode). A regulariser against memorising a small training set.

    References:
        Ronneberger, Fischer and Brox, "U-Net: convolutional networks for biomedical image
        segmentation", arXiv:1505.04597. Ho, Jain and Abbeel, "Denoising diffusion probabilistic
        models", arXiv:2006.11239 (the time-conditioned U-Net). Lipman et al., "Flow matching for
        generative modeling", arXiv:2210.02747.

    Example:
        >>> v = UNet(3 * 16 * 16, 3 * 16 * 16, event_shape=(3, 16, 16), width=8, depth=1)
        >>> v(torch.zeros(2, 768), torch.rand(2)).shape
        torch.Size([2, 768])
    """

    def __init__(self, latent_dim: int, dim: int, *, event_shape: Sequence[int],
                 width: int = 16, depth: int = 1, activation: str = "silu",
                 dropout: float = 0.0):
        super().__init__()
        self.event_shape = image_shape(event_shape, dim)
        if latent_dim != dim:
            raise PushforwardError(f"a U-Net velocity field maps images to images: latent_dim "
                                   f"({latent_dim}) must equal dim ({dim})")
        c, h, w = self.event_shape
        self.grids = resolutions(h, w)
        levels = len(self.grids)
        check_net_size(width, depth)
        check_net_size(channels(width, levels) * 3, 2 * depth * levels + 1)
        if width < 1 or depth < 1:
            raise PushforwardError(f"need width and depth >= 1, got {width}, {depth}")
        if not 0 <= dropout < 1:
            raise PushforwardError(f"need 0 <= dropout < 1, got {dropout}")
        emb = 4 * width
        self.emb_size = width
        self.time = nn.Sequential(nn.Linear(width, emb), make_activation(activation),
                                  nn.Linear(emb, emb))
        self.inp = nn.Conv2d(c, width, 3, padding=1)
        ch = [channels(width, i) for i in range(levels)]
        self.down = nn.ModuleList(
            nn.ModuleList(_ResBlock(ch[i], ch[i], emb, activation, dropout) for _ in range(depth))
            for i in range(levels))
        self.pool = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1)
                                  for i in range(levels - 1))
        self.middle = _ResBlock(ch[-1], ch[-1], emb, activation, dropout)
        self.lift = nn.ModuleList(nn.Conv2d(ch[i + 1], ch[i], 3, padding=1)
                                  for i in range(levels - 1))
        self.up = nn.ModuleList(
            nn.ModuleList(_ResBlock(2 * ch[i] if j == 0 else ch[i], ch[i], emb, activation,
                                    dropout)
                          for j in range(depth))
            for i in range(levels))
        self.out = nn.Sequential(group_norm(width), make_activation(activation),
                                 nn.Conv2d(width, c, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor | float) -> Tensor:
        """v(x, t) for x of shape (n, C·H·W) and t a scalar, (n,) or (n, 1)."""
        n = len(x)
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1).expand(n)
        emb = self.time(time_embedding(t, self.emb_size))
        h = self.inp(x.reshape(n, *self.event_shape))
        skips = []
        for i, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.middle(h, emb)
        for i in range(len(self.up) - 1, -1, -1):
            if i < len(self.lift):  # coarser features resized to this grid (odd sizes too)
                h = self.lift[i](F.interpolate(h, size=skips[i].shape[-2:], mode="nearest"))
            h = torch.cat([h, skips[i]], dim=1)
            for block in self.up[i]:
                h = block(h, emb)
        return self.out(h).reshape(n, -1)
