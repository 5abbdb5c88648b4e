"""Classical baselines: a Gaussian mixture model and a Gaussian kernel density estimate.

Both are fitted on standardised columns with scikit-learn, choose their one setting from the
data on held-out rows (the number of components; the bandwidth), sample through the same
:class:`~pushforward.model.FittedMap` API as every method (noise of dimension d + 1, see
:mod:`~pushforward.baselines.mixture`), have an exact ``log_prob`` and are saved as tensors and
JSON, without pickle. Method keys ``gmm`` and ``kde``.
"""

from __future__ import annotations

from .gmm import GaussianMixtureMap
from .kde import KernelDensityMap

__all__ = ["GaussianMixtureMap", "KernelDensityMap"]
