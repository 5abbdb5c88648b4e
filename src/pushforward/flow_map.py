"""The flow map of a learned velocity field: noise z ↦ x(1), where dx/dt = v(x, t), x(0) = z.

Flow matching learns a velocity field v(x, t) instead of a map. The fitted map is the ODE's flow
map from t = 0 to t = 1, so ``inverse_transform(noise)`` is pointwise like every other map, and
``transform(data)`` integrates the same field backwards from t = 1 to t = 0.

The ODE is solved by torchdiffeq: fixed-step solvers (``euler``, ``midpoint``, ``rk4``: ``steps``
equal steps, 1, 2 and 4 evaluations of v per step) or adaptive ones (``dopri5``, ``bosh3``,
``adaptive_heun``, ``dopri8``: error control by ``rtol``/``atol``). The solver is part of the
model's settings (``settings["objective"]``), so a saved flow samples with the solver it was
fitted with; :meth:`FlowMap.set_solver` changes it.

A fixed-step solver treats every row independently; an adaptive solver picks one step size for
the whole chunk of rows it integrates, so its rows depend (within the tolerance) on their
neighbours in the chunk.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from .errors import PushforwardError
from .learned import LearnedMap
from .objectives.flow_matching import (
    ADAPTIVE_SOLVERS,
    FIXED_SOLVERS,
    Solver,
    integrate,
    solver_from,
)

__all__ = ["FlowMap", "Solver", "integrate", "divergence", "FIXED_SOLVERS", "ADAPTIVE_SOLVERS",
           "EXACT_TRACE_MAX_DIM"]


class FlowMap(LearnedMap):
    """x = φ₁(z), the time-1 flow of dx/dt = v(x, t) with x(0) = z, in data units.

    ``inverse_transform(z) = decode(φ₁(z))``; ``transform(x) = φ₁⁻¹(encode(x))`` by integrating
    from t = 1 back to t = 0, with the map's codec (standardisation, constant columns set
    aside). The network ``net`` is the velocity field v(x, t) in encoded units; the solver comes
    from ``settings["objective"]`` (keys ``solver``, ``ode_steps``, ``rtol``, ``atol``).

    Arguments:
        net: the velocity network, ``net(x, t)``.
        net_spec: the JSON spec that rebuilds ``net``.

    References:
        Lipman et al., "Flow matching for generative modeling", arXiv:2210.02747.

    Example:
        >>> import numpy as np
        >>> from pushforward.nets import TimeMLP
        >>> m = FlowMap(TimeMLP(2, 2, width=8, depth=1), {})
        >>> m._init_map(method="flow-matching", noise="normal", latent_dim=2, dim=2)
        >>> z = np.random.default_rng(0).normal(size=(4, 2))
        >>> bool(np.allclose(m.transform(m.inverse_transform(z)), z, atol=1e-3))
        True
    """

    kind: ClassVar[str] = "flow"

    @classmethod
    def _from_state(cls, meta, tensors) -> FlowMap:
        m = super()._from_state(meta, tensors)
        m.solver  # noqa: B018  (a file's solver settings are checked now, not at first use)
        return m

    @property
    def solver(self) -> Solver:
        """The ODE solver used by :meth:`inverse_transform` and :meth:`transform`."""
        objective = getattr(self, "settings", {}).get("objective", {})
        if not isinstance(objective, dict):
            raise PushforwardError(f"settings.objective must be a JSON object, got {objective!r}")
        return solver_from(objective)

    def set_solver(self, method: str | None = None, *, steps: int | None = None,
                   rtol: float | None = None, atol: float | None = None) -> FlowMap:
        """Change the ODE solver (saved with the model); returns ``self``.

        Example:
            >>> import numpy as np
            >>> from pushforward.nets import TimeMLP
            >>> m = FlowMap(TimeMLP(2, 2, width=8, depth=1), {})
            >>> m._init_map(method="flow-matching", noise="normal", latent_dim=2, dim=2)
            >>> m.set_solver("dopri5", rtol=1e-6).solver.method
            'dopri5'
        """
        old = self.solver
        new = Solver(method=method or old.method, steps=steps or old.steps,
                     rtol=rtol or old.rtol, atol=atol or old.atol)
        obj = dict(self.settings.get("objective", {}))
        obj.update(solver=new.method, ode_steps=new.steps, rtol=new.rtol, atol=new.atol)
        self.settings = {**self.settings, "objective": obj}
        return self

    def _push(self, z: torch.Tensor) -> torch.Tensor:
        x = integrate(self.net, z, solver=self.solver)
        return self.net.unwhiten(x) if self._base else x

    @property
    def _base(self) -> bool:
        """Whether the field lives in a whitened space (:class:`~pushforward.nets.BaseUNet`)."""
        return hasattr(self.net, "whiten")

    def velocity(self, x: np.ndarray, t: float) -> np.ndarray:
        """The learned velocity dx/dt at points ``x`` (data units) and time ``t``.

        Arguments:
            x: points (n, dim) in data units.
            t: time in [0, 1].

        Returns:
            (n, dim) velocities in data units: the codec's derivative applied to
            v(encode(x), t) (std · v for standardised columns, 0 for constant ones).
        """
        x = self._check_data(x)
        p = self._param
        with torch.no_grad():
            xs = torch.as_tensor(self.codec_.encode(x), dtype=p.dtype, device=p.device)
            tt = torch.as_tensor(float(t), dtype=p.dtype, device=p.device)
            if self._base:  # the whitened field, carried back by the map's derivative
                w = self.net.whiten(xs)
                _, v = torch.func.jvp(self.net.unwhiten, (w,), (self.net(w, tt),))
            else:
                v = self.net(xs, tt)
        return self.codec_.decode_tangent(v.double().cpu().numpy())

    def _transform(self, x: np.ndarray) -> np.ndarray:
        """Encoded data → noise: integrate the velocity field from t = 1 back to t = 0."""
        if self.latent_dim != self.core_dim:
            raise PushforwardError("a flow map needs latent_dim == dim to be inverted")
        p = self._param
        out = []
        with torch.no_grad():
            for i in range(0, len(x), 65536):
                xs = torch.as_tensor(x[i : i + 65536], dtype=p.dtype, device=p.device)
                xs = self.net.whiten(xs) if self._base else xs
                out.append(integrate(self.net, xs, t0=1.0, t1=0.0, solver=self.solver)
                           .double().cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, self.latent_dim))

    def log_prob(self, x: np.ndarray, *, exact_trace: bool | None = None,
                 seed: int = 0) -> np.ndarray:
        """log p(x) of the flow's samples, by the instantaneous change of variables, in nats.

        Along the flow, d log p(x_t)/dt = −tr ∂v/∂x (x_t, t), so with x̃ the encoded
        (standardised) row and z = φ₁⁻¹(x̃),

            log p(x) = log p_noise(z) − ∫₀¹ tr ∂v/∂x (x_t, t) dt − Σⱼ log stdⱼ,

        solved backwards from t = 1 to 0 as one ODE for (x_t, the integral) with the map's own
        solver (:attr:`solver`), so the figure describes the flow the map samples (a fixed-step
        solver's error included). The trace is exact (one backward pass per dimension) up to
        :data:`EXACT_TRACE_MAX_DIM` dimensions; above, Hutchinson's unbiased estimate εᵀ(∂v/∂x)ε
        with one Rademacher probe ε per row, held fixed over the solve (FFJORD's choice): d
        backward passes cost too much there, and averaged over held-out rows the estimate's
        noise is small beside the figure. Constant columns are point masses, left out of the
        density (−∞ where a row differs from them).

        Arguments:
            x: points (n, dim) in data units.
            exact_trace: force the exact trace (True) or the estimate (False); None: by dimension.
            seed: seeds the probes of the estimate.

        Returns:
            (n,) log-densities.

        References:
            Chen et al., "Neural ordinary differential equations", arXiv:1806.07366.
            Grathwohl et al., "FFJORD: free-form continuous dynamics for scalable reversible
            generative models", arXiv:1810.01367 (Hutchinson's estimator).
        """
        if self.latent_dim != self.core_dim:
            raise PushforwardError("a flow map needs latent_dim == dim to have a density")
        d = self.core_dim
        exact = d <= EXACT_TRACE_MAX_DIM if exact_trace is None else bool(exact_trace)
        p = self._param
        g = torch.Generator(device=p.device).manual_seed(int(seed))

        def core(y: np.ndarray) -> np.ndarray:
            out = [self._log_prob_rows(torch.as_tensor(y[i : i + 8192], dtype=p.dtype,
                                                       device=p.device), exact, g)
                   for i in range(0, len(y), 8192)]
            return np.concatenate(out) if out else np.empty(0)

        return self._log_prob_through_codec(x, core)

    def _log_prob_rows(self, y: torch.Tensor, exact: bool, g: torch.Generator) -> np.ndarray:
        """log p of encoded rows ``y``: one backward solve of (x_t, −∫ div v) (from the
        whitened rows, plus the whitening's log-determinant, for a field in that space)."""
        d = y.shape[1]
        extra = np.zeros(len(y))
        if self._base:
            with torch.no_grad():
                extra = self.net.whiten_log_det(y).double().cpu().numpy()
                y = self.net.whiten(y)
        probe = None if exact else (torch.randint(0, 2, y.shape, generator=g, device=y.device)
                                    .to(y.dtype) * 2 - 1)

        def field(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            v, div = divergence(self.net, s[:, :d], t, probe=probe)
            return torch.cat([v, div[:, None]], dim=1)

        start = torch.cat([y, torch.zeros(len(y), 1, dtype=y.dtype, device=y.device)], 1)
        end = integrate(field, start, t0=1.0, t1=0.0, solver=self.solver).double().cpu().numpy()
        return self.noise_.logpdf(end[:, :d]).sum(1) + end[:, d] + extra


#: up to this dimension :meth:`FlowMap.log_prob` takes the exact trace of ∂v/∂x
EXACT_TRACE_MAX_DIM = 8


def divergence(field, x: torch.Tensor, t: torch.Tensor, *,
               probe: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The velocity v(x, t) and its divergence tr ∂v/∂x per row, without parameter gradients.

    Exact with ``probe=None`` (one backward pass per dimension); else Hutchinson's estimate
    εᵀ(∂v/∂x)ε for the probe ε (n, d), unbiased when E[εεᵀ] = I (Rademacher or normal probes).

    Example:
        >>> a = torch.tensor([[1.0, 2.0], [3.0, -4.0]])
        >>> v, div = divergence(lambda x, t: x @ a.T, torch.ones(3, 2), torch.tensor(0.0))
        >>> div.tolist()  # tr A = 1 − 4
        [-3.0, -3.0, -3.0]
    """
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = field(x, t)
        if probe is None:
            div = sum(torch.autograd.grad(v[:, i].sum(), x, retain_graph=True)[0][:, i]
                      for i in range(x.shape[1]))
        else:
            (vjp,) = torch.autograd.grad((v * probe).sum(), x)
            div = (vjp * probe).sum(1)
    return v.detach(), div.detach()
