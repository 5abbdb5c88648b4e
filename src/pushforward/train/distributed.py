"""Many processes: PyTorch's own distributed engine (torchrun, gloo on CPU, NCCL on GPU).

Nothing here is a distributed system of its own: ``torchrun`` starts the processes and sets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous; :mod:`torch.distributed` carries the
tensors. This module only says how the one loop uses them.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

__all__ = ["Reduce"]


class Reduce:
    """The losses' ``reduce=`` hook over a process group: ``reduce(t, op)`` → the combined ``t``.

    ``op`` is ``"sum"`` (differentiable: its backward all-reduces the gradient, so each rank's
    parameters get the gradient of the sum of every rank's copy of the loss, and
    DistributedDataParallel's average of them is the gradient of the one loss), ``"max"`` or
    ``"broadcast"`` (rank 0's value; no gradient). Every rank must call it with tensors of the
    same shape, in the same order.

    Arguments:
        group: the process group (None: the default one).
    """

    def __init__(self, group: dist.ProcessGroup | None = None):
        self.group = group

    def __call__(self, t: Tensor, op: str) -> Tensor:
        if op == "sum":
            return _AllSum.apply(t, self.group)
        t = t.detach().clone(memory_format=torch.contiguous_format)
        if op == "max":
            dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.group)
        elif op == "broadcast":
            dist.broadcast(t, src=dist.get_global_rank(self.group, 0) if self.group else 0,
                           group=self.group)
        else:
            raise ValueError(f"reduce op must be 'sum', 'max' or 'broadcast', got {op!r}")
        return t


class _AllSum(torch.autograd.Function):
    """Σ over ranks, differentiable: the gradient of Σ_r f_r(Σ t) at rank r's t is Σ_r ∂f_r."""

    @staticmethod
    def forward(ctx, t: Tensor, group) -> Tensor:
        ctx.group = group
        t = t.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
        return t

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None
