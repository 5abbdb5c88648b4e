"""A 2-D model's inner field on a grid, for contour and quiver plots.

Adversarial methods learn a critic D(x) beside the map, flow matching a velocity field v(x, t):
the report draws them over the data. :func:`field_on_grid` evaluates either on a regular grid
in data units. An adversarial model keeps its critic (``critic_``, saved in its model file); an
objective that owns a critic can be passed too, with the fitted map for its codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .errors import PushforwardError

__all__ = ["Grid", "field_on_grid"]


@dataclass(frozen=True)
class Grid:
    """A field sampled on a regular 2-D grid.

    Attributes:
        x: (resolution,) grid abscissae.
        y: (resolution,) grid ordinates.
        values: ``values[i, j]`` is the field at (x[j], y[i]) (matplotlib's ``contour(x, y, Z)``
            layout): (resolution, resolution) for a critic, (resolution, resolution, 2) for a
            velocity field.
        kind: ``"critic"`` or ``"velocity"``.
    """

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    kind: str


def _points(bounds: Sequence[float], resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(bounds) != 4 or not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
        raise PushforwardError(f"bounds must be (xmin, xmax, ymin, ymax) with min < max, got "
                               f"{tuple(bounds)}")
    if isinstance(resolution, bool) or int(resolution) < 2:
        raise PushforwardError(f"resolution must be an integer >= 2, got {resolution!r}")
    x = np.linspace(bounds[0], bounds[1], int(resolution))
    y = np.linspace(bounds[2], bounds[3], int(resolution))
    xx, yy = np.meshgrid(x, y)
    return x, y, np.stack([xx.ravel(), yy.ravel()], axis=1)


def field_on_grid(model, bounds: Sequence[float], resolution: int = 101, *, t: float = 0.5,
                  fitted=None) -> Grid:
    """Evaluate a critic or a velocity field on a ``resolution × resolution`` grid.

    - an adversarial model (``gan``, ``wgan``, ``wgan-gp``), fitted or loaded: its critic's
      value D(x), with x encoded by the model's codec;
    - an adversarial objective: the critic's value D(x), with x encoded by ``fitted``'s codec
      (the map it trained; without it, x is used as is);
    - a :class:`~pushforward.flow_map.FlowMap`: the velocity dx/dt at time ``t``, in data units.

    Arguments:
        model: an adversarial model, the objective that owns a critic, or a flow map.
        bounds: (xmin, xmax, ymin, ymax) in data units.
        resolution: grid points per axis.
        t: time in [0, 1] for a velocity field.
        fitted: for a critic, the fitted map whose codec (``codec_.encode``) maps data units
            to the critic's standardised units.

    Returns:
        :class:`Grid`.

    Example:
        >>> from pushforward.objectives import WGANGP
        >>> obj = WGANGP(critic_width=8, critic_depth=1)
        >>> obj.setup(dim=2, latent_dim=2, device=torch.device("cpu"), dtype=torch.float32,
        ...           seed=0)
        >>> g = field_on_grid(obj, (-3, 3, -2, 2), 5)
        >>> g.kind, g.values.shape, bool(np.isfinite(g.values).all())
        ('critic', (5, 5), True)
    """
    from .flow_map import FlowMap
    from .objectives.adversarial import Adversarial

    x, y, pts = _points(bounds, resolution)
    shape = (len(y), len(x))
    if isinstance(model, FlowMap):
        if model.dim != 2:
            raise PushforwardError(f"a grid needs 2-D data, the flow has dim {model.dim}")
        v = model.velocity(pts, t)
        return Grid(x, y, v.reshape(*shape, 2), "velocity")
    critic = getattr(model, "critic_", None)
    if critic is not None:
        fitted = model
    elif isinstance(model, Adversarial):
        critic = model.critic
        if critic is None:
            raise PushforwardError("the objective has no critic yet: train with it first")
    if critic is not None:
        p = next(critic.parameters())
        if p.shape[-1] != 2:
            raise PushforwardError(f"a grid needs 2-D data, the critic takes {p.shape[-1]}")
        if fitted is not None:
            pts = fitted.codec_.encode(pts)
        with torch.no_grad():
            d = critic(torch.as_tensor(pts, dtype=p.dtype, device=p.device))
        return Grid(x, y, d.double().cpu().numpy().reshape(shape), "critic")
    raise PushforwardError(f"cannot put {type(model).__name__} on a grid: give an adversarial "
                           "model or objective (its critic) or a flow map (its velocity field)")
