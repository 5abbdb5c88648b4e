"""The method registry: every way of turning data into a fitted map, exact or learned.

A method is a function ``fit(source, *, noise, latent_dim, seed, **options) -> FittedMap`` where
``source`` is a :class:`~pushforward.data.source.Source`. Exact methods register in their own
modules; every loss of :data:`pushforward.losses.LOSSES` is also a learned method under the same
key (a network trained by the one loop to minimise that divergence).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .registry import Registry

MethodFit = Callable[..., "object"]

METHODS: Registry[MethodFit] = Registry("method")


def _load_all() -> None:
    from .exact import copula, inverse_cdf, parametric, quantile  # noqa: F401  (register)
    from .learned import learned_method
    from .losses import LOSSES
    from .objectives import Divergence

    for key, desc in LOSSES.describe():
        learned_method(key, f"learned map minimising {desc}", functools.partial(Divergence, key))

    from . import flow_map  # noqa: F401  (registers the "flow" map kind)
    from .objectives import GAN, WGAN, WGANGP, FlowMatching, OTFlowMatching

    for objective in (GAN, WGAN, WGANGP, FlowMatching, OTFlowMatching):
        learned_method(objective.name, objective.description, objective)


_load_all()
