"""Mixed precision: the networks' forward passes in bfloat16, everything else in float32.

``precision="bf16"`` runs the forward pass of each network the step uses (the generator, an
adversarial critic, a VAE's encoder) under :class:`torch.autocast` with ``torch.bfloat16``, so
their matrix products and convolutions run in bf16 (tensor cores on a GPU, AMX or AVX-512 BF16
on recent CPUs); each network's output is cast back to float32 as it leaves the network. The
weights, their gradients, Adam's state, the checkpoints and the model file stay float32, and
every loss is computed in float32 from float32 inputs: the histogram losses' binning and
``index_add``, the sliced losses' projections and sorts, the kernels' distances, Sinkhorn's
log-sum-exp, flow matching's regression target, the ELBO's Gaussian terms. bf16 has float32's
exponent range, so no loss scaling is needed.

Objectives whose loss is the network's own arithmetic opt out (:attr:`~pushforward.objectives.
Objective.mixed_precision` False): a normalizing flow's log-likelihood sums log-determinants of
spline transforms, which bf16's 8-bit mantissa (relative error 2⁻⁹) would round away, so
``nsf`` trains in float32 whatever the run's precision.

Outside a training step (validation, snapshots, sampling, the closing check) every network runs
in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["PRECISIONS", "autocast_networks"]

#: the values of ``precision=`` (``--precision``)
PRECISIONS = ("fp32", "bf16")


@contextlib.contextmanager
def autocast_networks(modules: Iterable[nn.Module], device: torch.device,
                      precision: str) -> Iterator[None]:
    """While inside, each module's forward runs under bf16 autocast and returns float32.

    ``precision="fp32"`` changes nothing. Hooks on the given (top-level) modules do it, so an
    objective's code calls its networks as usual; they are removed on leaving.

    Example:
        >>> net = torch.nn.Linear(3, 2)
        >>> with autocast_networks([net], torch.device("cpu"), "bf16"):
        ...     y = net(torch.ones(1, 3))
        ...     inside = torch.is_autocast_enabled("cpu")
        >>> y.dtype, inside, net.weight.dtype  # float32 out, float32 between networks
        (torch.float32, False, torch.float32)
    """
    if precision == "fp32":
        yield
        return
    handles = []
    for module in modules:
        scope = _Scope(device.type)
        handles.append(module.register_forward_pre_hook(scope.enter))
        handles.append(module.register_forward_hook(scope.leave, always_call=True))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class _Scope:
    """Enters autocast before a module's forward and leaves it after (also when it raises)."""

    def __init__(self, device_type: str):
        self.device_type = device_type
        self.open: list[torch.autocast] = []  # a stack: nested calls leave in order

    def enter(self, module: nn.Module, args: Any) -> None:
        ctx = torch.autocast(self.device_type, dtype=torch.bfloat16)
        ctx.__enter__()
        self.open.append(ctx)

    def leave(self, module: nn.Module, args: Any, output: Any) -> Any:
        self.open.pop().__exit__(None, None, None)
        return _to_float32(output)


def _to_float32(output: Any) -> Any:
    if isinstance(output, torch.Tensor):
        return output.float() if output.dtype == torch.bfloat16 else output
    if isinstance(output, tuple):
        return tuple(_to_float32(o) for o in output)
    return output
