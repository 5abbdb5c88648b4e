"""Many processes: PyTorch's own distributed engine (torchrun, gloo on CPU, NCCL on GPU).

Nothing here is a distributed system of its own: ``torchrun`` (or ``pushforward fit --nproc N``,
which calls :mod:`torch.distributed.run`) starts the processes and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous; :mod:`torch.distributed` carries the tensors. This module is
the one place that says how the one loop uses them, as a *strategy* the loop calls at four
points, never as branches in the loop:

- **batches**: each rank draws its share of the run's ``batch_size`` (the global batch) from
  ``SeedSequence([seed, step, rank])`` (:attr:`Single.seed_rank`, :meth:`Single.rows`);
- **gradients**: averaged across ranks before every optimiser step, the generator's and any
  critic's (an optimiser step pre-hook, :meth:`Distributed.prepare`). This is what
  DistributedDataParallel does, without its wrapper: objectives call their critic directly,
  WGAN-GP differentiates through it twice (DDP does not support double backward), and DDP's
  first use imports torch's compiler stack (3 s per process measured here). Ranks start from
  rank 0's state (weights, optimisers, step), so they hold identical weights throughout;
- **the stop decision**: :meth:`~.loop.Loop.should_stop` takes it from rank 0's budget
  fraction and reason (budget, early stop) and any rank's NaN or Ctrl-C, shared in one
  all-reduce (:meth:`Distributed.share`), so every rank stops at the same step and none
  waits forever; the logged loss is the ranks' mean, NaN on every rank when NaN on one;
- **output**: the callbacks that validate, checkpoint, show progress and keep snapshots run on
  rank 0 only; every rank keeps the EMA, so every rank ends with the same model. Validation is
  rank 0's, and its early-stop request reaches the others through the stop decision; the model
  file is written by rank 0.

The loss each rank computes is its own batch's, and averaging the gradients makes the run
optimise the mean of the ranks' losses; for the histogram losses the ranks' histograms are
summed first (``reduce=``, :class:`Reduce`), so that mean is the single-process loss on the
union of the ranks' batches. docs/distributed.md says what it is for every loss.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import Tensor

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["Reduce", "Single", "Distributed", "current", "is_main", "launch"]

def _rank_env() -> tuple[int, int]:
    """(rank, world size) as torchrun set them (0, 1 outside torchrun)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    """Whether this process writes output: rank 0, or the only process."""
    return _rank_env()[0] == 0


class Single:
    """One process: the strategy that changes nothing."""

    rank, world, reduce = 0, 1, None
    #: the rank in the seed of every step's generator (None: ``SeedSequence([seed, step])``)
    seed_rank: int | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The device this rank trains on."""
        return device

    def rows(self, batch_size: int) -> int:
        """This rank's share of the global batch."""
        return batch_size

    def agree(self, value: int) -> int:
        """Rank 0's value of an integer (a seed drawn at random)."""
        return value

    def prepare(self, loop: Loop) -> None:
        """Before the first step: start every rank from rank 0's state."""

    def mean(self, value: float) -> float:
        """The mean of a number over the ranks (NaN when NaN on any rank)."""
        return value

    def share(self, frac: float, stop: bool, interrupt: bool,
              diverged: bool) -> tuple[float, bool, bool, bool]:
        """What the stop decision needs from all ranks: rank 0's budget fraction and whether
        it stops, and whether any rank holds a Ctrl-C or saw a NaN."""
        return frac, stop, interrupt, diverged


class Distributed(Single):
    """Many processes in the default process group (see the module docstring).

    Rank r trains on GPU ``LOCAL_RANK`` when the run's device is CUDA. The loop's own small
    collectives (the stop decision, the mean loss, the starting state) go through gloo on the
    CPU, which every process group set up by :func:`current` has; tensors on a GPU through NCCL.
    """

    def __init__(self):
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        self.seed_rank = self.rank  # SeedSequence([seed, step, rank]): each rank its own rows
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        self.reduce = Reduce()

    def device(self, device: torch.device) -> torch.device:
        if device.type != "cuda":
            return device
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def rows(self, batch_size: int) -> int:
        share, extra = divmod(batch_size, self.world)
        return share + (self.rank < extra)

    def agree(self, value: int) -> int:
        box = [value]
        dist.broadcast_object_list(box, src=0, device=torch.device("cpu"))
        return box[0]

    def prepare(self, loop: Loop) -> None:
        # the loop's state and its callbacks' (the EMA's, on every rank), fresh or resumed
        box = [loop.checkpoint() if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=torch.device("cpu"))
        if not self.is_main:
            loop.load_checkpoint(box[0])
        loop.objective.set_reduce(self.reduce)
        for opt in [loop.opt, *loop.objective.optimizers().values()]:
            opt.register_step_pre_hook(self._average_gradients)

    def _average_gradients(self, opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in opt.param_groups for p in group["params"]
                 if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset: offset + g.numel()].view_as(g))
            offset += g.numel()

    def mean(self, value: float) -> float:
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t) / self.world

    def share(self, frac: float, stop: bool, interrupt: bool,
              diverged: bool) -> tuple[float, bool, bool, bool]:
        # one all-reduce (max); other ranks put -1 where rank 0 speaks for all
        main = self.is_main
        t = torch.tensor([frac if main else -1.0, float(stop) if main else -1.0,
                          float(interrupt), float(diverged)], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        frac, stop, interrupt, diverged = t.tolist()
        return frac, stop > 0, interrupt > 0, diverged > 0


def current() -> Single:
    """This process's strategy: :class:`Distributed` in a process group (torchrun sets
    ``WORLD_SIZE`` > 1; the group is set up on first use: gloo for CPU tensors, NCCL for CUDA
    ones where available), else :class:`Single`.
    """
    if not dist.is_initialized():
        if _rank_env()[1] <= 1:
            return Single()
        nccl = torch.cuda.is_available() and dist.is_nccl_available()
        dist.init_process_group("cpu:gloo,cuda:nccl" if nccl else "gloo")
        atexit.register(_close)
    return Distributed()


def _close() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def launch(nproc: int, argv: list[str] | None = None) -> int:
    """Run this command in ``nproc`` processes on this machine, through torch.distributed.run.

    Equivalent to ``torchrun --standalone --nproc-per-node N -m pushforward ARGS``; the children
    see ``WORLD_SIZE`` and train together. Returns the exit code (a failed child's; 130 after a
    Ctrl-C, which the processes receive too: rank 0 keeps its checkpoint).
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = get_args_parser().parse_args(
        ["--standalone", "--nproc-per-node", str(nproc), "-m", "pushforward"])
    # set, not parsed: argparse would read the command's own flags as abbreviations of its own
    args.training_script_args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default, without its warning
    try:
        run(args)
    except ChildFailedError as e:
        return next((f.exitcode for f in e.failures.values() if f.exitcode), 1)
    except SignalException as e:  # Ctrl-C: the processes got it too, and said what they kept
        return 128 + int(e.sigval)
    return 0


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
