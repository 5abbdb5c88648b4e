"""Exact maps: the inverse CDF of a known distribution, a fitted scipy family, the empirical
quantile map and the Gaussian copula. Each is a :class:`~pushforward.model.FittedMap` and a
method of the method table (``inverse-cdf``, ``parametric``, ``quantile``, ``copula``).

The classes load on first use, so that a quantile map does not import scipy.stats (the copula's
and the parametric map's dependency, ~1 s).
"""

from __future__ import annotations

import importlib

__all__ = ["GaussianCopula", "InverseCDF", "Parametric", "QuantileMap", "transform_between"]

_WHERE = {"GaussianCopula": "copula", "InverseCDF": "inverse_cdf", "Parametric": "parametric",
          "QuantileMap": "quantile", "transform_between": "inverse_cdf"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
