"""The variational autoencoder as an objective: the loop's generator is the decoder.

A VAE models data x through a latent w ~ N(0, I) and a decoder, p(x | w) = N(G(w), diag σ²),
and trains an encoder q(w | x) = N(m(x), diag s(x)²) beside it by maximising the evidence lower
bound (ELBO), a lower bound on log p(x):

    ELBO(x) = E_q [log p(x | w)] − KL(q(w | x) ‖ N(0, I))
            = E_ε [−½ Σⱼ ((xⱼ − Gⱼ(m + s·ε))/σⱼ)² − Σⱼ log σⱼ − (d/2) log 2π]
              − ½ Σₖ (mₖ² + sₖ² − 1 − log sₖ²),

with one reparameterised draw ε ~ N(0, I) per row. The observation noise σ is learned, one value
per column (in standardised units), so the balance between the reconstruction and the KL term is
fitted to the data rather than set by hand: at its optimum σⱼ² is the decoder's mean squared
reconstruction error in column j.

The encoder and σ belong to this objective (as a critic belongs to an adversarial one); the
loop's one optimiser trains them with the decoder (:meth:`VAE.joint_parameters`) and checkpoints
them (:meth:`VAE.modules`). The fitted map is the decoder's mean, z ↦ G(z) with z ~ N(0, I) of
``latent_dim`` dimensions: pointwise, like every learned map. Measured on moons (120 s), adding
the observation noise (x = G(z) + σ·ε) blurred the fit: see :class:`VAE`.

References:
    Kingma and Welling, "Auto-encoding variational Bayes", arXiv:1312.6114.
    Rezende, Mohamed and Wierstra, "Stochastic backpropagation and approximate inference in deep
    generative models", arXiv:1401.4082.
    Rybkin, Daniilidis and Levine, "Simple and effective VAE training with calibrated decoders",
    arXiv:2006.13202 (a learned per-dimension σ).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import PushforwardError
from .base import Objective

__all__ = ["VAE", "negative_elbo"]

#: the encoder's log s² is kept in this range (exp overflows and underflows beyond it)
LOGVAR_RANGE = (-16.0, 8.0)


def negative_elbo(x: torch.Tensor, decoded: torch.Tensor, log_sigma: torch.Tensor,
                  mean: torch.Tensor, logvar: torch.Tensor, *, beta: float = 1.0) -> torch.Tensor:
    """−ELBO per row, in nats: Gaussian reconstruction loss plus β·KL(q ‖ N(0, I)).

    Arguments:
        x: data (n, d).
        decoded: G(w) for one draw w ~ q(w | x), (n, d).
        log_sigma: log σ, the observation noise per column, (d,).
        mean, logvar: the encoder's m(x) and log s(x)², (n, k).
        beta: weight of the KL term (1: the ELBO; otherwise no longer a bound on log p).

    Returns:
        (n,) values of −ELBO(x); its mean is the VAE's loss.

    Example:
        >>> x = torch.zeros(1, 1)
        >>> float(negative_elbo(x, x, torch.zeros(1), torch.zeros(1, 1), torch.zeros(1, 1)))
        ... # ½ log 2π: a perfect reconstruction at σ = 1, q equal to the prior
        0.9189385175704956
    """
    recon = (0.5 * ((x - decoded) * torch.exp(-log_sigma)).pow(2) + log_sigma
             + 0.5 * math.log(2 * math.pi)).sum(1)
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    return recon + beta * kl


class _Scale(nn.Module):
    """The decoder's observation noise: log σ per column, learned, held at or above a floor."""

    def __init__(self, dim: int, sigma: float, sigma_min: float):
        super().__init__()
        self.log_sigma = nn.Parameter(torch.full((dim,), math.log(sigma)))
        self.log_min = math.log(sigma_min)

    def forward(self) -> torch.Tensor:
        return self.log_sigma.clamp(min=self.log_min)


class VAE(Objective):
    """Maximise the ELBO of a Gaussian VAE whose decoder is the loop's generator.

    Loss: mean over the batch of −ELBO(y) (:func:`negative_elbo`); the loop's noise batch is not
    used (the latent draws are q(w | y)'s, from the step's ``rng``), the prior's N(0, I) is the
    fitted map's noise, so the method needs ``noise="normal"``.

    The sample is the decoder's mean G(z), not G(z) + σ·ε. Measured on moons after 120 s
    (benchmarks/zoo.py, docs/benchmarks.md): the mean scored a lower ed_ratio than the noisy
    sample, whose σ also carries the error of an imperfect decoder and so widens the moons;
    the mean also keeps the map pointwise in ``latent_dim`` noise values.

    The observation noise σ starts at ``sigma_init`` (0.3 standardised units) and is learned.
    Started at the data's own scale (σ = 1), the decoder explains everything as noise and the
    encoder is ignored (the collapsed optimum): on moons, 1,200 steps, ed_ratio 88 against 15
    from σ = 0.1; a small start makes reconstruction count from the first step, and σ then
    follows the decoder's error (on moons, whose noise is 0.2 in data units: 0.26/0.15 after
    60 s, 0.17/0.07 after 120 s).

    σ is held at or above ``sigma_min`` (1e-3 standardised units by default: a guard against a
    column the decoder fits exactly, whose σ would fall to 0 and the loss to −∞). A floor of 0.1
    was tried on moons at 120 s: left free, σ ends below the data's noise in one column
    (0.17/0.07 in data units against the data's 0.2), which may let the decoder encode noise in
    the latent, but the floor did not score clearly better (ed_ratio 3.65 against 3.27 free, the
    full protocol; single runs of either moved between 1.7 and 3.7), so σ stays free.

    The learning rate is 5e-3 on flat rows of at most two columns and the loop's 2e-3 otherwise
    (:meth:`learning_rate`). Also measured on moons at 45 s and left out (docs/benchmarks.md):
    a KL warm-up over the first 30 % of the budget, a latent of 4 or 8 dimensions, widths of 64,
    decoder and encoder of depth 2, batches of 128 or 1,024, and an energy-distance penalty
    pulling the aggregate posterior to N(0, I) (InfoVAE-like; at weight 30 one latent
    dimension collapsed to the prior and the map to a curve).

    Arguments:
        beta: weight of the KL term (1: the ELBO; below 1 a sharper decoder, a worse prior fit).
        sigma_init: σ's starting value, in standardised units, for every column.
        sigma_min: σ's floor, in standardised units (raise it to keep the decoder from
            reconstructing below a known noise level).
        encoder_width, encoder_depth, encoder_activation: the encoder, an ``mlp`` of the
            networks registry mapping the d data columns to 2k values (mean and log-variance of
            q(w | x), k = ``latent_dim``).

    References:
        Kingma and Welling, "Auto-encoding variational Bayes", arXiv:1312.6114.

    Example:
        >>> vae = VAE(encoder_width=8, encoder_depth=1)
        >>> vae.setup(dim=2, latent_dim=2, device=torch.device("cpu"), dtype=torch.float32,
        ...           seed=0)
        >>> g = torch.Generator().manual_seed(0)
        >>> loss = vae.loss(torch.nn.Linear(2, 2), torch.randn(32, 2, generator=g),
        ...                 torch.randn(32, 2, generator=g), rng=g, progress=0.0)
        >>> loss.shape, sorted(vae.modules())
        (torch.Size([]), ['encoder', 'scale'])
    """

    name = "vae"
    noise = "normal"
    dequantize = True  # the ELBO's Gaussian likelihood, σ learned: unbounded on a grid
    #: decoder and encoder of 3×128: on moons (60 s, loaded 2-core machine) twice the steps of
    #: 3×256 in the same time, and a VAE there is short of steps, not of capacity (ed_ratio
    #: 15 after 1,100 steps of 3×256, 4.2 after 2,900 of 3×128)
    net_options = {"width": 128}

    #: the rate for flat rows of at most :attr:`fast_dims` columns (an MLP decoder): on moons
    #: at 45 s (two seeds, n = 5,000, load 2–3) ed_ratio 2.67 and 3.35 at 5e-3 against 3.57
    #: and 3.96 at the loop's 2e-3 (1e-2: 2.68, 3.21), the same steps; on a 10-column table
    #: at 30 s 5e-3 was worse (3.00 and 2.57 against 2.17 and 2.35), so wider rows keep 2e-3;
    #: other 2-D toys at 30 s: better on pinwheel, worse on 8gaussians (docs/benchmarks.md)
    fast_lr, fast_dims = 5e-3, 2

    def batch_size(self, dim: int) -> int:
        """256 rows a step: more, cheaper steps (a VAE's ELBO gradient is not starved by it;
        1,024 rows on moons at 45 s: ed_ratio 4.38 and 4.90 against 3.57 and 3.96)."""
        return 256

    def learning_rate(self, dim: int) -> float | None:
        """:attr:`fast_lr` for flat rows of at most :attr:`fast_dims` encoded columns; else
        (wider rows, images: a convolutional decoder, set by :meth:`setup`) the loop's default.
        """
        return self.fast_lr if dim <= self.fast_dims and not self.image else None

    def __init__(self, *, beta: float = 1.0, sigma_init: float = 0.3, sigma_min: float = 1e-3,
                 encoder_width: int = 128, encoder_depth: int = 3,
                 encoder_activation: str = "silu"):
        if not beta > 0:
            raise PushforwardError(f"beta must be positive, got {beta}")
        if not 1e-6 <= sigma_min <= 1:
            raise PushforwardError(f"sigma_min must be in [1e-06, 1], got {sigma_min}")
        if not sigma_min <= sigma_init <= 10:
            raise PushforwardError(f"sigma_init must be in [sigma_min, 10], got {sigma_init}")
        self.beta, self.sigma_init, self.sigma_min = float(beta), float(sigma_init), \
            float(sigma_min)
        self.encoder_net = {"width": int(encoder_width), "depth": int(encoder_depth),
                            "activation": encoder_activation}
        self.encoder: nn.Module | None = None
        self.scale: _Scale | None = None
        self.image = False  # rows are images (setup's event_shape): a convolutional decoder

    def setup(self, *, dim: int, latent_dim: int, device: torch.device, dtype: torch.dtype,
              seed: int, event_shape: tuple[int, int, int] | None = None) -> None:
        from ..nets import NETS

        # the encoder's initial weights depend on the seed only, not on the global RNG's state
        init = int(np.random.SeedSequence([seed, 5]).generate_state(1)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init)
            encoder = NETS.get("mlp")(dim, 2 * latent_dim, **self.encoder_net)
        self.encoder = encoder.to(device=device, dtype=dtype)
        self.scale = _Scale(dim, self.sigma_init, self.sigma_min).to(device=device, dtype=dtype)
        self.latent_dim = latent_dim
        self.image = event_shape is not None

    def encode(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(w | y): its mean and log-variance, (n, k) each."""
        if self.encoder is None:
            raise PushforwardError("vae: call setup() before loss()")
        mean, logvar = self.encoder(y).split(self.latent_dim, dim=1)
        return mean, logvar.clamp(*LOGVAR_RANGE)

    def loss(self, generator: nn.Module, z: torch.Tensor, y: torch.Tensor, *,
             rng: torch.Generator, progress: float) -> torch.Tensor:
        mean, logvar = self.encode(y)
        eps = torch.randn(mean.shape, generator=rng, device=y.device, dtype=y.dtype)
        w = mean + torch.exp(0.5 * logvar) * eps
        return negative_elbo(y, generator(w), self.scale(), mean, logvar, beta=self.beta).mean()

    def observation_sigma(self) -> torch.Tensor:
        """σ per column, in standardised units."""
        return self.scale().exp().detach()

    def modules(self) -> dict[str, nn.Module]:
        return {} if self.encoder is None else {"encoder": self.encoder, "scale": self.scale}

    def joint_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.modules().values() for p in m.parameters()]

    def settings(self) -> dict[str, Any]:
        return {"beta": self.beta, "sigma_init": self.sigma_init, "sigma_min": self.sigma_min,
                **{f"encoder_{k}": v for k, v in self.encoder_net.items()}}
