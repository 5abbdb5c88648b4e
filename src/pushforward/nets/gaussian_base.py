"""A U-Net velocity field that learns only what a Gaussian fit of the pixels misses.

Flow matching from N(0, I) must learn the whole map to the data. Here the flow runs in a space
where a Gaussian fit of the data already is N(0, I): each pixel value goes through its
channel's pooled, monotone map to normal scores (the same for every pixel of a channel, like the
codec's one global scale: the pooled distribution of the channel's training pixels mapped to
N(0, 1)), then the scores are whitened
(ZCA: W = U Λ^-1/2 Uᵀ from their covariance U Λ Uᵀ, which keeps the picture local for the
U-Net). In that space the velocity is

    v(w, t) = (2t − 1) / ((1 − t)² + t²) · w + unet(w, t),

the first term the exact flow-matching velocity between two standard normals with independent
pairs (:func:`~pushforward.objectives.flow_matching.gaussian_velocity` with Σ = I), the U-Net
(its last convolution zero at the start) the non-Gaussian rest. Untrained, the map samples a
Gaussian copula of the pixels with one pooled marginal a channel; training moves it from there.

Measured on ``patches:camera?size=16`` (docs/benchmarks.md): the untrained base scores C2ST
0.64 (the library's copula 0.62). At 120 s it helps where a run affords few steps: one thread
on a loaded machine, 0.60 (219 steps) against the plain U-Net's 0.79 (113 steps); two threads
on an idle one, 0.550 (1,004 steps) against 0.544 (1,339 steps). On digits it costs: 0.686
against 0.596. So it is opt-in (``--net base-unet``), not flow matching's default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .unet import UNet

__all__ = ["BaseUNet", "KNOTS"]

#: quantiles of a channel's pooled training pixels that define its monotone map to normal scores
KNOTS = 256

class BaseUNet(UNet):
    """A :class:`~.unet.UNet` velocity field in a Gaussianised, whitened pixel space.

    The map to that space (:meth:`whiten`) and back (:meth:`unwhiten`) are buffers, set from
    training rows by :meth:`fit_base` (identity until then) and saved with the weights.
    Flow matching (:class:`~pushforward.objectives.FlowMatching`) trains and integrates the
    field in the whitened space and maps its samples back.

    Arguments:
        latent_dim, dim, event_shape, width, depth, activation, dropout: as :class:`~.unet.UNet`.
        knots: each channel's pooled marginal map's knots at most (quantiles of its training
            pixels; a fitted net holds as many as the pixels have distinct values, up to this
            number, and its spec records those counts, one a channel).

    Example:
        >>> net = BaseUNet(16, 16, event_shape=(1, 4, 4), width=4)
        >>> x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0)).exp()
        >>> _ = net.fit_base(x)
        >>> w = net.whiten(x)
        >>> bool(torch.allclose(net.unwhiten(w), x, atol=1e-3))
        True
        >>> bool(torch.allclose(torch.cov(w.T), torch.eye(16), atol=0.05))
        True
    """

    def __init__(self, latent_dim: int, dim: int, *, event_shape: Sequence[int],
                 width: int = 16, depth: int = 1, activation: str = "silu",
                 dropout: float = 0.0, knots: int | Sequence[int] = KNOTS):
        super().__init__(latent_dim, dim, event_shape=event_shape, width=width, depth=depth,
                         activation=activation, dropout=dropout)
        last = self.out[-1]
        torch.nn.init.zeros_(last.weight)  # untrained: the Gaussian flow exactly
        torch.nn.init.zeros_(last.bias)
        channels = int(event_shape[0]) if len(event_shape) == 3 else 1
        counts = ([int(knots)] * channels if isinstance(knots, (int, np.integer))
                  else [int(k) for k in knots])
        if len(counts) != channels or min(counts) < 2:
            raise ValueError(f"knots: one count of at least 2 per channel ({channels}), "
                             f"got {knots!r}")
        self.counts = counts  # knots per channel; the buffers hold them one channel after another
        line = torch.cat([torch.linspace(-1.0, 1.0, k) for k in counts])
        self.register_buffer("knots_x", line.clone())  # pixel values (encoded units)
        self.register_buffer("knots_z", line.clone())  # their normal scores
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("w", torch.eye(dim))  # scores → whitened
        self.register_buffer("w_inv", torch.eye(dim))
        self.register_buffer("log_det_w", torch.zeros(()))

    @torch.no_grad()
    def fit_base(self, x: Tensor) -> BaseUNet:
        """Set each channel's pooled marginal map and the whitening from training rows ``x``."""
        xs, zs = [], []
        for c, rows in enumerate(self._channels(x.detach().double().cpu())):
            kx, kz = _pooled_map(rows.numpy(), self.counts[c])
            xs.append(kx)
            zs.append(kz)
        self.counts = [len(k) for k in xs]
        like = self.knots_x
        self.knots_x = torch.as_tensor(np.concatenate(xs), dtype=like.dtype, device=like.device)
        self.knots_z = torch.as_tensor(np.concatenate(zs), dtype=like.dtype, device=like.device)
        s = self._map(x.to(self.knots_x.dtype), self.knots_x, self.knots_z).double()
        mean = s.mean(0)
        lam, u = torch.linalg.eigh(torch.cov(s.T).reshape(len(mean), len(mean)))
        lam = lam.clamp_min(1e-4 * float(lam.clamp_min(0).mean()) + 1e-12)
        self.mean.copy_(mean)
        self.w.copy_((u * lam.rsqrt()) @ u.T)
        self.w_inv.copy_((u * lam.sqrt()) @ u.T)
        self.log_det_w.copy_(-0.5 * lam.log().sum())
        return self

    def whiten(self, x: Tensor) -> Tensor:
        """Encoded pixels (n, dim) → the whitened space the field lives in."""
        s = self._map(x, self.knots_x.to(x.dtype), self.knots_z.to(x.dtype))
        return (s - self.mean.to(x.dtype)) @ self.w.to(x.dtype)

    def unwhiten(self, w: Tensor) -> Tensor:
        """The whitened space → encoded pixels (clamped to the training pixels' range)."""
        s = w @ self.w_inv.to(w.dtype) + self.mean.to(w.dtype)
        return self._map(s, self.knots_z.to(w.dtype), self.knots_x.to(w.dtype))

    def whiten_log_det(self, x: Tensor) -> Tensor:
        """log |det ∂whiten/∂x| per row (n,): the marginal maps' slopes and log |det W|."""
        kx, kz = self.knots_x.to(x.dtype), self.knots_z.to(x.dtype)
        total = torch.zeros(len(x), dtype=x.dtype, device=x.device)
        for rows, (a, b) in zip(self._channels(x), self._spans(), strict=True):
            cx, cz = kx[a:b], kz[a:b]
            i = torch.searchsorted(cx, rows.clamp(cx[0], cx[-1]).contiguous())
            i = i.clamp(1, len(cx) - 1)
            total = total + ((cz[i] - cz[i - 1]) / (cx[i] - cx[i - 1])).log().sum(1)
        return total + self.log_det_w.to(x.dtype)

    def forward(self, x: Tensor, t: Tensor | float) -> Tensor:
        """v(w, t): the standard normals' exact field plus the U-Net's correction."""
        tt = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1, 1)
        return (2 * tt - 1) / ((1 - tt) ** 2 + tt**2) * x + super().forward(x, t)

    def _spans(self) -> list[tuple[int, int]]:
        ends = np.cumsum([0, *self.counts])
        return [(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True)]

    def _channels(self, x: Tensor) -> list[Tensor]:
        """The columns of each channel: rows are flattened channel first."""
        return list(x.reshape(len(x), len(self.counts), -1).unbind(1))

    def _map(self, x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
        """Each channel through its own piecewise-linear map (xp → fp, one span a channel)."""
        parts = [_interp(rows, xp[a:b], fp[a:b])
                 for rows, (a, b) in zip(self._channels(x), self._spans(), strict=True)]
        return torch.stack(parts, 1).reshape(x.shape)


def _pooled_map(pixels: np.ndarray, knots: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, normal scores) of one channel's pooled pixels: at most ``knots`` quantiles.

    Each distinct value that the quantiles hit is its own knot, so discrete levels keep their
    mid-rank score; one value everywhere gets a slope-one map that sends it to score 0.
    """
    from scipy.stats import norm

    pooled = np.sort(pixels.ravel())
    n = len(pooled)
    kx = np.unique(np.quantile(pooled, np.linspace(0, 1, max(knots, 2)), method="inverted_cdf"))
    if len(kx) < 2:  # one value everywhere: nothing to map
        return np.array([kx[0] - 1.0, kx[0] + 1.0]), np.array([-1.0, 1.0])
    below = np.searchsorted(pooled, kx, "left")
    upto = np.searchsorted(pooled, kx, "right")
    cdf = np.clip((below + upto) / (2 * n), 0.5 / n, 1 - 0.5 / n)  # mid-ranks of ties
    return kx, norm.ppf(cdf)


def _interp(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """Piecewise-linear interpolation through (xp, fp) (xp increasing), clamped at the ends."""
    x = x.clamp(xp[0], xp[-1]).contiguous()
    i = torch.searchsorted(xp, x).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    return f0 + (f1 - f0) * (x - x0) / (x1 - x0)
