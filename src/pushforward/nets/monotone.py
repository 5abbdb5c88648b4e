"""A 1-D network that is strictly increasing by construction: a learned quantile function.

The note's map y = F⁻¹(F_X(x)) is increasing; a learned map with the same property is an
invertible learned quantile function, directly comparable with Φ⁻¹ and the exact maps.

G(z) = a + (softplus(β) + δ)·s + Σ_k softplus(v_k)·tanh(exp(α_k)·s + c_k),  s = feature(z)

Every term is non-decreasing in s and the linear one has slope ≥ δ > 0, so G′(s) ≥ δ everywhere,
in float32 too (the tanh units may saturate, the linear slope does not). The feature is s = z for
normal noise and s = logit(u) for uniform noise (clamped to [2⁻²⁴, 1 − 2⁻²⁴] in float32, so
u = 0 from a generator stays finite): ds/du = 1/(u(1 − u)) > 0, and the unbounded feature lets G
reach the tails of the target, which a network of u itself could not. The unit centres start at
the noise's quantiles and the parameters are then rescaled so that G(noise) has mean 0 and
variance 1 at initialisation, the scale of the standardised data it is trained on. The unit
steepness is exp(α_k): a gap between two modes needs slopes of hundreds, which a log-scale
parameter reaches in hundreds of Adam steps rather than tens of thousands.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .._limits import check_net_size
from ..errors import PushforwardError

__all__ = ["MonotoneNet"]

NOISES = ("normal", "uniform")


def _softplus_inv(y: Tensor) -> Tensor:
    return y + torch.log(-torch.expm1(-y))


class MonotoneNet(nn.Module):
    """Strictly increasing map of 1-D noise: linear term plus softplus-weighted tanh units.

    G(z) = a + (softplus(β) + δ)·s + Σ_k softplus(v_k)·tanh(exp(α_k)·s + c_k), with
    s = z (normal noise) or s = logit(u) (uniform noise); G′ ≥ δ·ds/dz > 0.

    Arguments:
        latent_dim: must be 1.
        dim: must be 1.
        width: number of tanh units.
        noise: ``"normal"`` or ``"uniform"``, the distribution of the input.
        min_slope: δ, the floor of dG/ds.

    References:
        Sill, "Monotonic networks", NeurIPS 1997.
        Daniels and Velikova, "Monotone and partially monotone neural networks", IEEE Trans.
        Neural Netw. 21 (2010).

    Example:
        >>> net = MonotoneNet(1, 1, noise="uniform")
        >>> u = torch.tensor([[1e-6], [0.5], [1 - 1e-6]])
        >>> y = net(u).detach()
        >>> bool((y[1:] > y[:-1]).all()), torch.allclose(net.inverse(y), u, rtol=1e-3)
        (True, True)
    """

    #: few parameters that must travel far (log-steepness, weights): a larger step pays
    default_lr = 1e-2

    def __init__(self, latent_dim: int = 1, dim: int = 1, *, width: int = 64,
                 noise: str = "normal", min_slope: float = 1e-3):
        super().__init__()
        if latent_dim != 1 or dim != 1:
            raise PushforwardError(f"the monotone net maps 1-D noise to 1-D data, got "
                                   f"latent_dim={latent_dim}, dim={dim}; use 'mlp' or 'resmlp'")
        if noise not in NOISES:
            raise PushforwardError(f"monotone net: unknown noise {noise!r}; valid: "
                                   f"{', '.join(NOISES)}")
        check_net_size(width, 1, where="monotone net")
        if width < 1 or not 0 < min_slope < float("inf"):
            raise PushforwardError(f"monotone net: width must be >= 1 and min_slope > 0, got "
                                   f"{width} and {min_slope}")
        self.noise, self.min_slope = noise, float(min_slope)
        self.shift = nn.Parameter(torch.zeros(()))
        self.slope = nn.Parameter(torch.zeros(()))
        self.weight = nn.Parameter(torch.zeros(width))
        self.steep = nn.Parameter(torch.zeros(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self._initialise(width)

    @torch.no_grad()
    def _initialise(self, width: int) -> None:
        # Centres at the noise's quantiles, unit width about the local spacing; then an affine
        # rescaling of the output to mean 0, variance 1 over a fine quantile grid of the noise.
        levels = (torch.arange(width, dtype=torch.float64) + 0.5) / width
        grid = (torch.arange(4096, dtype=torch.float64) + 0.5) / 4096
        if self.noise == "normal":
            centres, s = torch.special.ndtri(levels), torch.special.ndtri(grid)
        else:
            centres, s = torch.logit(levels), torch.logit(grid)
        s = s[:, None]
        steep = torch.full((width,), 2.0 / s.std().item(), dtype=torch.float64)
        self.steep.copy_(torch.log(steep))
        self.bias.copy_(-steep * centres)
        self.slope.copy_(_softplus_inv(torch.tensor(0.5 / s.std().item())))
        self.weight.copy_(_softplus_inv(torch.full((width,), 1.0 / width)))
        y = self._from_feature(s.float()).double()
        scale = 1.0 / y.std().item()
        slope = F.softplus(self.slope) * scale - self.min_slope * (1 - scale)
        self.slope.copy_(_softplus_inv(slope))
        self.weight.copy_(_softplus_inv(F.softplus(self.weight) * scale))
        self.shift.copy_(-self._from_feature(s.float()).mean())

    def feature(self, z: Tensor) -> Tensor:
        """s = z (normal noise) or logit(u) (uniform noise, clamped to (0, 1) in float)."""
        if self.noise == "normal":
            return z
        tiny = torch.finfo(z.dtype).eps / 2
        u = z.clamp(tiny, 1 - tiny)
        return torch.log(u) - torch.log1p(-u)

    def _from_feature(self, s: Tensor) -> Tensor:
        units = torch.tanh(s * torch.exp(self.steep) + self.bias)
        linear = (F.softplus(self.slope) + self.min_slope) * s
        return self.shift + linear + units @ F.softplus(self.weight)[:, None]

    def forward(self, z: Tensor) -> Tensor:
        """G(z) for noise z of shape (n, 1)."""
        return self._from_feature(self.feature(z))

    @torch.no_grad()
    def inverse(self, y: Tensor, *, iterations: int = 100) -> Tensor:
        """The noise value z with G(z) = y, by bisection on the feature (G is increasing).

        Arguments:
            y: (n, 1) data values.
            iterations: bisection steps.

        Returns:
            (n, 1) noise values.
        """
        f = lambda s: self._from_feature(s)  # noqa: E731
        lo = torch.full_like(y, -1.0)
        hi = torch.full_like(y, 1.0)
        for _ in range(64):  # bracket: the slope is at least min_slope
            lo = torch.where(f(lo) > y, 2 * lo, lo)
            hi = torch.where(f(hi) < y, 2 * hi, hi)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            below = f(mid) < y
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        s = 0.5 * (lo + hi)
        return s if self.noise == "normal" else torch.sigmoid(s)

    def extra_repr(self) -> str:
        return f"width={self.weight.numel()}, noise={self.noise!r}, min_slope={self.min_slope}"

