"""Sample losses: one table of plain functions ``loss(x, y, *, ...) -> 0-d tensor``.

``x`` is the generated sample and ``y`` the target sample, both (n, d) tensors (the sizes may
differ); options are keyword-only and random state is passed in (``generator=`` or
``projections=``), so a call is deterministic when asked to be.

The table is literal (``"module:function"`` strings), so listing the losses imports no torch;
``LOSSES.get(key)`` imports the loss's module. The functions are importable from here too,
loaded on first use.

Example:
    >>> import torch
    >>> y = torch.linspace(-1, 1, 100)[:, None]
    >>> [float(LOSSES.get(name)(y, y)) for name in ("hist-js", "swd", "energy")]
    [0.0, 0.0, 0.0]
"""

from __future__ import annotations

import importlib

from ..registry import Table

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

_H, _S, _K = ("pushforward.losses.histogram", "pushforward.losses.sliced",
              "pushforward.losses.kernel")

LOSSES: Table = Table("loss", {
    "hist-js": (f"{_H}:hist_js",
                "Jensen–Shannon between differentiable histograms (the note), d ≤ 2"),
    "hist-kl": (f"{_H}:hist_kl",
                "KL between differentiable histograms, direction selectable, d ≤ 2"),
    "sliced-js": (f"{_S}:sliced_js", "histogram JS averaged over random 1-D projections, any d"),
    "sliced-kl": (f"{_S}:sliced_kl", "histogram KL averaged over random 1-D projections, any d"),
    "swd": (f"{_S}:swd", "sliced Wasserstein-p by sorting (exact 1-D optimal transport per slice)"),
    "mmd": (f"{_K}:mmd", "maximum mean discrepancy, Gaussian/Laplace kernels, several bandwidths"),
    "energy": (f"{_K}:energy", "energy distance (squared, V-statistic)"),
    "sinkhorn": ("pushforward.losses.entropic:sinkhorn",
                 "debiased Sinkhorn divergence (geomloss: the sinkhorn extra)"),
})

_WHERE = {
    **dict.fromkeys(["common_range", "hard_histogram", "hist_js", "hist_kl", "js_divergence",
                     "kl_divergence", "soft_histogram"], "histogram"),
    **dict.fromkeys(["energy", "median_distance", "mmd"], "kernel"),
    **dict.fromkeys(["random_projections", "sliced_js", "sliced_kl", "swd", "wasserstein_1d"],
                    "sliced"),
    "sinkhorn": "entropic",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
