"""Networks: one table of constructors ``NET(latent_dim, dim, **options) -> nn.Module``.

The table is literal (``"module:class"`` strings), so listing the networks imports no torch;
``NETS.get(key)`` imports the network's module. The classes are importable from here too
(``from pushforward.nets import MLP``), loaded on first use.

Example:
    >>> import torch
    >>> net = NETS.get("mlp")(2, 2, width=8, depth=1)
    >>> net(torch.zeros(3, 2)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

import importlib

from ..registry import Table

__all__ = ["NETS", "IMAGE_NETS", "ACTIVATIONS", "MLP", "ResMLP", "TimeMLP", "MonotoneNet",
           "SplineFlow", "ConvGenerator", "ConvCritic", "UNet", "BaseUNet"]

NETS: Table = Table("net", {
    "mlp": ("pushforward.nets.mlp:MLP", "fully connected network (width, depth, activation)"),
    "resmlp": ("pushforward.nets.mlp:ResMLP",
               "residual MLP with pre-normalised blocks, for harder 2-D targets"),
    "monotone": ("pushforward.nets.monotone:MonotoneNet",
                 "1-D strictly increasing map: a learned quantile function"),
    "time-mlp": ("pushforward.nets.mlp:TimeMLP", "velocity network v(x, t) for ODE-based maps"),
    "nsf": ("pushforward.nets.spline_flow:SplineFlow",
            "neural spline flow (zuko): invertible, with an exact density"),
    "conv": ("pushforward.nets.conv:ConvGenerator",
             "DCGAN-like convolutional generator for images (event_shape, width, depth)"),
    "conv-critic": ("pushforward.nets.conv:ConvCritic",
                    "convolutional critic for images (gradient penalty or spectral norm)"),
    "unet": ("pushforward.nets.unet:UNet",
             "time-conditioned U-Net velocity field v(x, t) for images (flow matching)"),
    "base-unet": ("pushforward.nets.gaussian_base:BaseUNet",
                  "U-Net velocity field on top of a Gaussian fit of the pixels (flow matching "
                  "on images: each channel's pooled normal scores, whitened)"),
})

#: the networks that fold flat rows into images and so need the schema's ``event_shape``
IMAGE_NETS = ("conv", "conv-critic", "unet", "base-unet")

_WHERE = {"ACTIVATIONS": "mlp", "MLP": "mlp", "ResMLP": "mlp", "TimeMLP": "mlp",
          "MonotoneNet": "monotone", "SplineFlow": "spline_flow", "ConvGenerator": "conv",
          "ConvCritic": "conv", "UNet": "unet", "BaseUNet": "gaussian_base"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
