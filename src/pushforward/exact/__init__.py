"""Exact maps: the inverse CDF of a known distribution, a fitted scipy family, the empirical
quantile map and the Gaussian copula. Each is a :class:`~pushforward.model.FittedMap` and a
method in the method registry (``inverse-cdf``, ``parametric``, ``quantile``, ``copula``).
"""

from __future__ import annotations

from .copula import GaussianCopula
from .inverse_cdf import InverseCDF, transform_between
from .parametric import Parametric
from .quantile import QuantileMap

__all__ = ["GaussianCopula", "InverseCDF", "Parametric", "QuantileMap", "transform_between"]
