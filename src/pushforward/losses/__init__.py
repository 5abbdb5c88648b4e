"""Sample losses: one registry of plain functions ``loss(x, y, *, ...) -> 0-d tensor``.

``x`` is the generated sample and ``y`` the target sample, both (n, d) tensors (the sizes may
differ); options are keyword-only and random state is passed in (``generator=`` or
``projections=``), so a call is deterministic when asked to be.

Example:
    >>> import torch
    >>> y = torch.linspace(-1, 1, 100)[:, None]
    >>> [float(LOSSES.get(name)(y, y)) for name in ("hist-js", "swd", "energy")]
    [0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from ..registry import Registry
from .histogram import (
    common_range,
    hard_histogram,
    hist_js,
    hist_kl,
    js_divergence,
    kl_divergence,
    soft_histogram,
)
from .kernel import energy, median_distance, mmd
from .sinkhorn import sinkhorn
from .sliced import random_projections, sliced_js, sliced_kl, swd, wasserstein_1d

__all__ = [
    "LOSSES",
    "common_range",
    "energy",
    "hard_histogram",
    "hist_js",
    "hist_kl",
    "js_divergence",
    "kl_divergence",
    "median_distance",
    "mmd",
    "random_projections",
    "sinkhorn",
    "sliced_js",
    "sliced_kl",
    "soft_histogram",
    "swd",
    "wasserstein_1d",
]

Loss = Callable[..., Tensor]

LOSSES: Registry[Loss] = Registry("loss")

for _name, _fn, _description in (
    ("hist-js", hist_js, "Jensen–Shannon between differentiable histograms (the note), d ≤ 2"),
    ("hist-kl", hist_kl, "KL between differentiable histograms, direction selectable, d ≤ 2"),
    ("sliced-js", sliced_js, "histogram JS averaged over random 1-D projections, any d"),
    ("sliced-kl", sliced_kl, "histogram KL averaged over random 1-D projections, any d"),
    ("swd", swd, "sliced Wasserstein-p by sorting (exact 1-D optimal transport per slice)"),
    ("mmd", mmd, "maximum mean discrepancy, Gaussian/Laplace kernels, several bandwidths"),
    ("energy", energy, "energy distance (squared, V-statistic)"),
    ("sinkhorn", sinkhorn, "debiased Sinkhorn divergence (geomloss: the sinkhorn extra)"),
):
    LOSSES.register(_name, _description)(_fn)
del _name, _fn, _description
