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

__all__ = ["FlowMap", "Solver", "integrate", "FIXED_SOLVERS", "ADAPTIVE_SOLVERS"]


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
        return integrate(self.net, z, solver=self.solver)

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
            v = self.net(xs, torch.as_tensor(float(t), dtype=p.dtype, device=p.device))
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
                out.append(integrate(self.net, xs, t0=1.0, t1=0.0, solver=self.solver)
                           .double().cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, self.latent_dim))
