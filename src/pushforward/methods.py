"""The method registry: every way of turning data into a fitted map, exact or learned.

A method is a function ``fit(source, *, noise, latent_dim, seed, **options) -> FittedMap`` where
``source`` is a :class:`~pushforward.data.source.Source`. Options are method-specific keyword
arguments (``tails=``, ``family=``, ``steps=``...). Exact methods register in their own modules;
importing this module imports them all.
"""

from __future__ import annotations

from collections.abc import Callable

from .registry import Registry

MethodFit = Callable[..., "object"]

METHODS: Registry[MethodFit] = Registry("method")


def _load_all() -> None:
    # Each module registers its methods on import.
    from .exact import copula, inverse_cdf, parametric, quantile  # noqa: F401


_load_all()
