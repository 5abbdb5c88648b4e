"""Flow matching: regress a velocity field on straight noise-to-data paths, then follow it.

Conditional flow matching with straight paths (I-CFM): draw noise z, data x and a time
t ~ U[0, 1]; the point x_t = (1 − t)·z + t·x (+ σ·ε) moves with velocity x − z. A network
v(x, t) regressed on those velocities,

    L(v) = E ‖v(x_t, t) − (x − z)‖²,

converges to the *marginal* velocity u_t(x) = E[x − z | x_t = x], whose flow carries the noise
distribution at t = 0 to the data distribution at t = 1. The fitted map integrates it
(:class:`pushforward.flow_map.FlowMap`). Pairing each minibatch by exact optimal transport
(OT-CFM) makes the paths nearly straight, so few ODE steps suffice to sample.

This module also holds the ODE plumbing shared with the fitted map: :class:`Solver` and
:func:`integrate` (torchdiffeq).

References:
    Lipman et al., "Flow matching for generative modeling", arXiv:2210.02747.
    Liu et al., "Flow straight and fast: learning to generate and transfer data with rectified
    flow", arXiv:2209.03003.
    Tong et al., "Improving and generalizing flow-based generative models with minibatch optimal
    transport", arXiv:2302.00482.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._limits import MAX_ODE_STEPS
from ..errors import PushforwardError
from .base import Objective

__all__ = ["FlowMatching", "OTFlowMatching", "Solver", "integrate", "ot_coupling",
           "gaussian_velocity", "FIXED_SOLVERS", "ADAPTIVE_SOLVERS"]

#: Fixed-step solvers and their evaluations of v per step.
FIXED_SOLVERS = {"euler": 1, "midpoint": 2, "rk4": 4}
#: Adaptive solvers (error control by ``rtol`` and ``atol``).
ADAPTIVE_SOLVERS = ("dopri5", "bosh3", "adaptive_heun", "dopri8")


@dataclass(frozen=True)
class Solver:
    """How the flow's ODE is solved.

    Arguments:
        method: a fixed-step solver (``euler``, ``midpoint``, ``rk4``) or an adaptive one
            (``dopri5``, ``bosh3``, ``adaptive_heun``, ``dopri8``).
        steps: equal steps from t = 0 to 1 (fixed-step solvers only).
        rtol, atol: relative and absolute tolerances (adaptive solvers only).

    Example:
        >>> Solver("rk4", steps=4).evaluations
        16
        >>> Solver("heun")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: unknown ODE solver 'heun'; valid: adaptive_heun, ...
    """

    method: str = "midpoint"
    steps: int = 8
    rtol: float = 1e-5
    atol: float = 1e-5

    def __post_init__(self) -> None:
        valid = sorted([*FIXED_SOLVERS, *ADAPTIVE_SOLVERS])
        if self.method not in valid:
            raise PushforwardError(f"unknown ODE solver {self.method!r}; valid: {', '.join(valid)}")
        if (isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral)
                or not 1 <= self.steps <= MAX_ODE_STEPS):
            raise PushforwardError(f"ODE steps must be an integer in [1, {MAX_ODE_STEPS}], got "
                                   f"{self.steps!r}")
        if not all(isinstance(v, numbers.Real) and 0 < v < 1 for v in (self.rtol, self.atol)):
            raise PushforwardError(f"rtol and atol must be in (0, 1), got {self.rtol}, {self.atol}")

    @property
    def fixed(self) -> bool:
        return self.method in FIXED_SOLVERS

    @property
    def evaluations(self) -> int | None:
        """Evaluations of v for one integration (None for adaptive solvers)."""
        return FIXED_SOLVERS[self.method] * int(self.steps) if self.fixed else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def integrate(field: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, *,
              t0: float = 0.0, t1: float = 1.0, solver: Solver | None = None) -> torch.Tensor:
    """Solve dx/dt = field(x, t) from ``t0`` to ``t1`` and return x(t1).

    Arguments:
        field: the velocity ``field(x, t)`` for x of shape (n, d) and a scalar time t
            (a network of the ``time-mlp`` kind).
        x: the state at ``t0``, (n, d).
        t0, t1: start and end times; ``t1 < t0`` integrates backwards.
        solver: the ODE solver (default :class:`Solver`'s).

    Returns:
        x(t1), (n, d).

    References:
        Chen et al., "Neural ordinary differential equations", arXiv:1806.07366 (torchdiffeq).

    Example:
        >>> x = integrate(lambda x, t: -x, torch.ones(1, 1, dtype=torch.float64),
        ...               solver=Solver("rk4", steps=20))
        >>> round(float(x), 6)  # exp(-1)
        0.367879
    """
    from torchdiffeq import odeint

    solver = solver or Solver()

    def f(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return field(y, t)

    if solver.fixed:
        # the time grid is the step grid: exactly `steps` equal steps, no rounding of a step size
        ts = torch.linspace(t0, t1, int(solver.steps) + 1, dtype=x.dtype, device=x.device)
        return odeint(f, x, ts, method=solver.method)[-1]
    ts = torch.tensor([t0, t1], dtype=x.dtype, device=x.device)
    return odeint(f, x, ts, method=solver.method, rtol=solver.rtol, atol=solver.atol)[-1]


def solver_from(settings: dict[str, Any]) -> Solver:
    """The :class:`Solver` described by objective settings (``solver``, ``ode_steps``...)."""
    default = Solver()
    return Solver(method=settings.get("solver", default.method),
                  steps=settings.get("ode_steps", default.steps),
                  rtol=settings.get("rtol", default.rtol), atol=settings.get("atol", default.atol))


def ot_coupling(z: torch.Tensor, x: torch.Tensor, *, block: int | None = None) -> torch.Tensor:
    """The exact optimal-transport pairing of two equal-size samples (squared Euclidean cost).

    With uniform weights on n points each, the optimal plan is a permutation σ minimising
    Σᵢ ‖zᵢ − x_σ(i)‖² (the assignment problem, solved exactly by scipy's
    ``linear_sum_assignment``). With ``block``, the rows are cut into consecutive blocks of that
    size and each block is paired on its own: the cost grows like n³, so blocks keep large
    batches cheap.

    Arguments:
        z: (n, d) source sample (noise).
        x: (n, d) target sample.
        block: rows per exactly coupled block (None: the whole sample).

    Returns:
        ``perm`` (n,) int64 such that (z[i], x[perm[i]]) are the coupled pairs.

    References:
        Tong et al., "Improving and generalizing flow-based generative models with minibatch
        optimal transport", arXiv:2302.00482. Pooladian et al., "Multisample flow matching",
        arXiv:2304.14772.

    Example:
        >>> z = torch.tensor([[0.0], [1.0], [2.0]])
        >>> ot_coupling(z, torch.tensor([[2.1], [-0.1], [0.9]])).tolist()
        [1, 2, 0]
    """
    from scipy.optimize import linear_sum_assignment

    if z.shape != x.shape:
        raise PushforwardError(f"OT coupling needs samples of one shape, got {tuple(z.shape)} "
                               f"and {tuple(x.shape)}")
    n = len(z)
    block = n if block is None else max(1, int(block))
    perm = np.empty(n, dtype=np.int64)
    zn = z.detach().double().cpu().numpy()
    xn = x.detach().double().cpu().numpy()
    for i in range(0, n, block):
        a, b = zn[i : i + block], xn[i : i + block]
        cost = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        _, cols = linear_sum_assignment(cost)
        perm[i : i + block] = cols + i
    return torch.as_tensor(perm, device=z.device)


def gaussian_velocity(mean: torch.Tensor, cov: torch.Tensor
                      ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The exact marginal velocity of straight paths from N(0, I) to N(μ, Σ), independent pairs.

    x_t = (1 − t)·z + t·x is Gaussian with mean tμ and covariance Σ_t = (1 − t)²I + t²Σ, and
    Cov(x − z, x_t) = tΣ − (1 − t)I, so

        u_t(x) = E[x − z | x_t = x] = μ + (tΣ − (1 − t)I)·Σ_t⁻¹·(x − tμ).

    Its flow maps N(0, I) to N(μ, Σ); it minimises the flow-matching loss, so its loss is the
    floor a trained field can reach.

    Arguments:
        mean: μ, (d,).
        cov: Σ, (d, d), positive definite.

    Returns:
        ``u(x, t)`` for x (n, d) and a scalar or (n, 1) time t.

    Example:
        >>> u = gaussian_velocity(torch.tensor([1.0]), torch.tensor([[4.0]]))
        >>> u(torch.tensor([[3.0]]), torch.tensor(1.0)).item()  # t = 1: (x − μ)·Σ/Σ + μ
        3.0
    """
    eye = torch.eye(len(mean), dtype=cov.dtype, device=cov.device)

    def u(x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
        cov_t = (1 - t) ** 2 * eye + t**2 * cov
        cross = t * cov - (1 - t) * eye
        gain = cross @ torch.linalg.inv(cov_t)
        return mean + ((gain @ (x - t[:, :, 0] * mean)[:, :, None])[:, :, 0])

    return u


class FlowMatching(Objective):
    """Conditional flow matching with straight paths and independent pairs (I-CFM).

    L(v) = E_{t, z, x, ε} ‖v((1 − t)z + t·x + σε, t) − (x − z)‖², t ~ U[0, 1], ε ~ N(0, I),
    averaged over the batch. The loop's noise batch is z and its data batch is x; the trained
    network is the velocity field v(x, t) (``time-mlp`` by default) and the fitted map is its
    ODE flow (:class:`pushforward.flow_map.FlowMap`), integrated by ``solver``.

    Arguments:
        sigma: σ, width of the Gaussian tube around each straight path (0: rectified flow).
        solver: ODE solver for sampling and validation: ``midpoint`` (default), ``euler``,
            ``rk4`` or an adaptive ``dopri5``, ``bosh3``, ``adaptive_heun``, ``dopri8``.
        ode_steps: steps of a fixed-step solver. Default 8 midpoint steps (16 evaluations of
            v): sampling 10⁴ points with the default 3×256 field takes 0.2–0.5 s on one CPU
            thread, and the samples are as good as 100 RK4 steps' (400 evaluations, ~10 s).
            Measured on checkerboard after 3,000 steps, ed_ratio with midpoint-8 / RK4-4 /
            Euler-8 / RK4-100: 3.45 / 3.50 / 3.97 / 3.48 for OT-CFM and 7.76 / 7.91 / 70.6 /
            7.78 for I-CFM, whose curved paths Euler cannot follow in 8 steps.
        rtol, atol: tolerances of an adaptive solver.

    References:
        Lipman et al., "Flow matching for generative modeling", arXiv:2210.02747.
        Tong et al., "Improving and generalizing flow-based generative models with minibatch
        optimal transport", arXiv:2302.00482 (I-CFM).

    Example:
        >>> from pushforward.nets import TimeMLP
        >>> fm, v = FlowMatching(), TimeMLP(2, 2, width=8, depth=1)
        >>> fm.setup(dim=2, latent_dim=2, device=torch.device("cpu"), dtype=torch.float32, seed=0)
        >>> g = torch.Generator().manual_seed(0)
        >>> loss = fm.loss(v, torch.randn(64, 2, generator=g), torch.randn(64, 2, generator=g),
        ...                rng=g, progress=0.0)
        >>> loss.shape, bool(loss > 0)
        (torch.Size([]), True)
    """

    name = "flow-matching"
    default_net = "time-mlp"
    #: the plain U-Net from N(0, I). ``--net base-unet`` (:mod:`pushforward.nets.gaussian_base`)
    #: starts from a Gaussian fit of the pixels instead: at 120 s, two threads, idle, C2ST on
    #: 16×16 camera patches 0.550 against the plain U-Net's 0.544, on digits 0.686 against
    #: 0.596 (docs/benchmarks.md), so it is not the default
    image_net = "unet"
    #: dropout 0.1 in the U-Net's blocks: digits at 600 s, two threads, seed 1, C2ST 0.583 → 0.554
    #: and DCR ratio 0.897 → 0.951 (without it the copy guard stopped the run at 11,700 steps;
    #: with it the run took its whole budget, 18,400); at 120 s 0.595 → 0.571. It slows
    #: learning where a run is short of steps: 16×16 camera patches at 120 s 0.544 → 0.589
    #: (the copula's 0.623, docs/benchmarks.md)
    image_net_options = {"dropout": 0.1}
    map_kind = "flow"
    #: 64 random Fourier features of x (scale 1): 60 s of OT-CFM, hold-out ed_ratio / C2ST
    #: without → with: rings 1.67 / 0.64 → 1.31 / 0.51 (the inner rings no longer blur),
    #: checkerboard 1.70 / 0.54 → 1.60 / 0.51, 2spirals 1.72 / 0.58 → 1.55 / 0.50
    net_options = {"features": 64, "feature_scale": 1.0}

    def __init__(self, *, sigma: float = 0.0, solver: str = "midpoint", ode_steps: int = 8,
                 rtol: float = 1e-5, atol: float = 1e-5):
        if not sigma >= 0:
            raise PushforwardError(f"sigma must be >= 0, got {sigma}")
        self.sigma = float(sigma)
        self.solver = Solver(solver, steps=ode_steps, rtol=rtol, atol=atol)

    def setup(self, *, dim: int, latent_dim: int, device: torch.device, dtype: torch.dtype,
              seed: int, event_shape: tuple[int, int, int] | None = None) -> None:
        if latent_dim != dim:
            raise PushforwardError(
                f"{self.name} moves noise to data along paths in one space, so latent_dim must "
                f"equal the data's dimension ({dim}), got latent_dim={latent_dim}")

    def couple(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pairs (z, x) for the paths: independent here."""
        return z, x

    def loss(self, generator: nn.Module, z: torch.Tensor, y: torch.Tensor, *,
             rng: torch.Generator, progress: float) -> torch.Tensor:
        if hasattr(generator, "whiten"):  # a field in a whitened space (BaseUNet)
            y = generator.whiten(y)
        z, y = self.couple(z, y)
        t = torch.rand(len(z), 1, generator=rng, device=z.device, dtype=z.dtype)
        xt = (1 - t) * z + t * y
        if self.sigma > 0:
            xt = xt + self.sigma * torch.randn(xt.shape, generator=rng, device=z.device,
                                               dtype=z.dtype)
        return (generator(xt, t) - (y - z)).pow(2).sum(1).mean()

    def push(self, generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
        x = integrate(generator, z, solver=self.solver)
        return generator.unwhiten(x) if hasattr(generator, "unwhiten") else x

    def settings(self) -> dict[str, Any]:
        return {"sigma": self.sigma, "solver": self.solver.method,
                "ode_steps": int(self.solver.steps), "rtol": self.solver.rtol,
                "atol": self.solver.atol}


class OTFlowMatching(FlowMatching):
    """Flow matching on minibatch optimal-transport pairs (OT-CFM).

    Each batch's noise z and data x are paired by the exact OT permutation (squared Euclidean
    cost, :func:`ot_coupling`) before t is drawn; the loss is then I-CFM's. The pairs cross less,
    so the learned paths are straighter and a few ODE steps sample well.

    Arguments:
        ot_block: rows per exactly coupled block. The assignment costs O(n³): coupling a
            batch of 1024 in one block takes ~120 ms on one CPU thread, in blocks of 256
            ~13 ms, of 128 ~5 ms, against ~10 ms for the network's own step. The mean squared
            length of the pairs' paths is 4.1 for independent pairs, 0.20 in blocks of 128 and
            0.13 in blocks of 256 (2-D normal to normal), and on checkerboard 3,000 steps reach
            the same ed_ratio with either block (3.4), so the default is 128.
        **options: as :class:`FlowMatching` (``sigma``, ``solver``, ``ode_steps``...).

    References:
        Tong et al., "Improving and generalizing flow-based generative models with minibatch
        optimal transport", arXiv:2302.00482.

    Example:
        >>> ot = OTFlowMatching()
        >>> z = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
        >>> zc, xc = ot.couple(z, z.flip(0))
        >>> torch.equal(xc, z)
        True
    """

    name = "ot-flow-matching"

    def __init__(self, *, ot_block: int = 128, **options: Any):
        super().__init__(**options)
        if isinstance(ot_block, bool) or int(ot_block) < 1:
            raise PushforwardError(f"ot_block must be a positive integer, got {ot_block!r}")
        self.ot_block = int(ot_block)

    def couple(self, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z, x[ot_coupling(z, x, block=self.ot_block)]

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "ot_block": self.ot_block}
