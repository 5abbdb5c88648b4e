"""The core of the one training loop: budget, learning-rate factor, step, NaN guard.

minGPT's trainer is the model: each step draws its batch, asks the objective for the loss,
steps Adam, then triggers the callbacks (:mod:`pushforward.train.callbacks`), which own
everything else (EMA, validation and early stopping, snapshots, progress, checkpoints).

Two rules keep the loop ready for many processes: every step's randomness comes from
``SeedSequence([seed, step])`` (:func:`step_generator`; ``[seed, step, rank]`` on rank r of a
distributed run), and the decision to stop is taken in one place, :meth:`Loop.should_stop`,
between steps. A strategy (:mod:`pushforward.train.distributed`) takes part at those points
only: which rows a rank draws, gradients averaged before each optimiser step, the logged loss
averaged, and the stop decision shared.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..objectives import Objective
from .distributed import Single
from .precision import autocast_networks

DIVERGED = "diverged"
INTERRUPTED = "interrupted"


@dataclass
class LoopSettings:
    """The loop's own settings (a slice of :class:`pushforward.learned.TrainConfig`)."""

    steps: int | None
    time_budget: float | None
    lr: float
    batch_size: int
    ema: float
    eval_every: int
    patience: int
    checkpoint_every: float
    seed: int
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    lr_end: float = 0.05  # the cosine decays the rate to this fraction of ``lr``
    #: ``time.monotonic()`` by which training must end (a fit's whole-run budget, less what
    #: follows training); the time budget is cut to it when the run starts (to no less than a
    #: tenth of itself: a budget too small for the fit still trains), so the schedule still
    #: ends where training does.
    deadline: float | None = None
    #: ``fp32``, or ``bf16``: the networks' forward passes under bf16 autocast, the losses in
    #: float32 (:mod:`pushforward.train.precision`; an objective may opt out)
    precision: str = "fp32"


def lr_factor(progress: float, lr_end: float) -> float:
    """The one learning-rate schedule: cosine decay from 1 to ``lr_end`` over the budget.

    Example:
        >>> lr_factor(0.0, 0.05), lr_factor(1.0, 0.05), round(lr_factor(0.5, 0.0), 12)
        (1.0, 0.05, 0.5)
    """
    return lr_end + (1 - lr_end) * (0.5 * (1 + math.cos(math.pi * progress)))


def step_generator(seed: int, step: int, device: torch.device | str = "cpu",
                   rank: int | None = None, stream: int = 0) -> torch.Generator:
    """The torch generator for one step: depends only on (seed, step), so resume is exact.

    ``rank``: a distributed run's rank, whose batches differ from every other rank's.
    ``stream``: another sequence than the steps' (1: the copy guard's draws, step = its check).
    """
    key = [seed, step] if rank is None else [seed, step, rank]
    spawn = (stream,) if stream else ()
    state = np.random.SeedSequence(key, spawn_key=spawn).generate_state(2, dtype=np.uint64)
    g = torch.Generator(device=device)
    g.manual_seed(int(state[0] >> np.uint64(1)))
    return g


class Callback:
    """A part of training that is not the step; every hook is optional.

    ``key`` names the callback's state in a checkpoint (None: it has none). A callback asks the
    loop to stop by setting ``stop_reason``; only :meth:`Loop.should_stop` acts on it.
    """

    key: str | None = None
    stop_reason: str | None = None

    def on_start(self, loop: Loop) -> None: ...
    def on_step(self, loop: Loop) -> None: ...  # after every finished step
    def on_end(self, loop: Loop) -> None: ...  # after the last step (not on errors)
    def on_interrupt(self, loop: Loop) -> None: ...  # Ctrl-C, between steps
    def close(self) -> None: ...  # always, last

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Loop:
    """Adam on ``objective``'s loss for ``generator`` until :meth:`should_stop` says why not.

    Attributes:
        step: finished steps; ``frac``: the budget's share used, measured once between steps;
        ``logs``: this step's values for the callbacks (``loss``; validation adds its own).
    """

    def __init__(self, objective: Objective, generator: nn.Module, *,
                 noise: Callable[[int, torch.Generator], torch.Tensor],
                 batch: Callable[[int, torch.Generator], torch.Tensor],
                 settings: LoopSettings, callbacks: Sequence[Callback] = (),
                 strategy: Single | None = None):
        self.objective, self.generator, self.settings = objective, generator, settings
        self.strategy = strategy or Single()
        self.noise, self.batch, self.callbacks = noise, batch, list(callbacks)
        self.device = next(generator.parameters()).device
        # one optimiser for the generator and whatever the objective trains jointly with it
        params = [*generator.parameters(), *objective.joint_parameters()]
        self.opt = torch.optim.Adam(params, lr=settings.lr,
                                    betas=settings.betas, weight_decay=settings.weight_decay)
        self.step, self.frac, self.logs = 0, 0.0, {}
        #: the step's precision: the run's, unless the objective keeps its loss in float32
        self.precision = settings.precision if objective.mixed_precision else "fp32"
        self.diverged: tuple[int, float] | None = None
        self._elapsed_before, self._t0, self._held = 0.0, time.perf_counter(), None

    def elapsed(self) -> float:
        """Wall-clock seconds of training, resumed runs included."""
        return self._elapsed_before + time.perf_counter() - self._t0

    def budget_fraction(self) -> float:
        """The share of the budget spent: of the steps or of the seconds, whichever is more."""
        s = self.settings
        return min(1.0, max(self.step / s.steps if s.steps else 0.0,
                            self.elapsed() / s.time_budget if s.time_budget else 0.0))

    def should_stop(self) -> str | None:
        """The one stop decision, between steps: why training ends now, or None.

        It also fixes ``frac`` for the next step (learning rate, the objective's progress).
        """
        frac = self.budget_fraction()
        requests = [cb.stop_reason for cb in self.callbacks if cb.stop_reason]
        reason = requests[0] if requests else "budget" if frac >= 1.0 else None
        # many processes: rank 0's budget and requests, any rank's Ctrl-C or NaN
        self.frac, stop, held, diverged = self.strategy.share(
            frac, reason is not None, self.interrupt_pending(), self.diverged is not None)
        if held:
            return INTERRUPTED
        if diverged:
            return DIVERGED
        return (reason or "stopped by rank 0") if stop else None

    def interrupt_pending(self) -> bool:
        """Whether a Ctrl-C is held, to be acted on between steps."""
        return self._held is not None and self._held.pending

    def train_step(self) -> None:
        """Fetch → forward → backward → step; a non-finite loss leaves the weights untouched."""
        s, f = self.settings, lr_factor(self.frac, self.settings.lr_end)
        for g in self.opt.param_groups:
            g["lr"] = s.lr * f
        self.objective.set_lr_factor(f)  # critics follow the same schedule
        rng = step_generator(s.seed, self.step, self.device, rank=self.strategy.seed_rank)
        n = self.strategy.rows(s.batch_size)
        z, y = self.noise(n, rng), self.batch(n, rng)
        with autocast_networks([self.generator, *self.objective.modules().values()],
                               self.device, self.precision):
            loss = self.objective.loss(self.generator, z, y, rng=rng, progress=self.frac)
        lv = self.strategy.mean(float(loss.detach()))  # NaN on one rank: NaN on all
        if not math.isfinite(lv):
            self.diverged = (self.step, lv)
            return
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        self.logs = {"loss": lv}
        for cb in self.callbacks:
            cb.on_step(self)

    def run(self) -> str:
        """Train until :meth:`should_stop` answers; returns its reason.

        A Ctrl-C inside a step is held until the step and its callbacks are done, so the
        checkpoint written on interrupt never holds half-updated weights; a second Ctrl-C
        interrupts at once, and then nothing is saved.
        """
        self._t0, between = time.perf_counter(), False
        self.generator.train()  # dropout, where a net has it; its EMA copy stays in evaluation
        s = self.settings
        if s.deadline is not None:  # at least a tenth of the run's own budget (1 ms: 0 is none)
            floor = 0.1 * s.time_budget if s.time_budget else 1e-3
            left = max(s.deadline - time.monotonic(), floor)
            s.time_budget = min(s.time_budget or math.inf, self._elapsed_before + left)
        try:
            with _HeldInterrupt() as self._held:
                for cb in self.callbacks:
                    cb.on_start(self)
                between = True
                while (reason := self.should_stop()) is None:
                    between = False
                    self.train_step()
                    between = True
                if reason == INTERRUPTED:
                    raise Interrupted(self._held.signum)
                if reason != DIVERGED:
                    self.logs, between = {}, False
                    for cb in self.callbacks:
                        cb.on_end(self)
                    between = True
                if self._held.pending:  # a Ctrl-C during the last callbacks
                    raise Interrupted(self._held.signum)
                return reason
        except KeyboardInterrupt:
            if between:
                for cb in self.callbacks:
                    cb.on_interrupt(self)
            raise
        finally:
            self._held = None
            for cb in self.callbacks:
                cb.close()

    def state_dict(self) -> dict[str, Any]:
        """The core's state: weights, optimisers (the objective's too), step and clock."""
        return {"generator": self.generator.state_dict(), "optimizer": self.opt.state_dict(),
                "objective": {k: m.state_dict() for k, m in self.objective.modules().items()},
                "objective_opt": {k: o.state_dict()
                                  for k, o in self.objective.optimizers().items()},
                "step": self.step, "elapsed": self.elapsed()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.generator.load_state_dict(st["generator"])
        self.opt.load_state_dict(st["optimizer"])
        for k, m in self.objective.modules().items():
            m.load_state_dict(st["objective"][k])
        for k, o in self.objective.optimizers().items():
            o.load_state_dict(st["objective_opt"][k])
        self.step, self._elapsed_before = int(st["step"]), float(st["elapsed"])
        self._t0 = time.perf_counter()

    def continue_from(self, step: int, elapsed: float) -> None:
        """Count on from a finished run's ``step`` and seconds (its weights already loaded)."""
        self.step, self._elapsed_before = int(step), float(elapsed)

    def checkpoint(self) -> dict[str, Any]:
        """The loop's state plus each callback's, under its key."""
        return {**self.state_dict(),
                "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks if cb.key}}

    def load_checkpoint(self, st: dict[str, Any]) -> None:
        self.load_state_dict(st)
        for cb in self.callbacks:
            if cb.key:
                cb.load_state_dict(st["callbacks"][cb.key])


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C (SIGINT) or by SIGTERM, after its checkpoint; ``signum`` says
    which, so the command exits with 128 + signum (130 or 143)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__()
        self.signum = int(signum)


class _HeldInterrupt:
    """While training, the first SIGINT or SIGTERM only sets ``pending``; the loop stops between
    steps (and checkpoints). A second signal interrupts at once.

    Only the main thread receives signals, and only Python's default handlers are replaced (a
    caller's own handler is left alone).
    """

    pending = False
    signum = int(signal.SIGINT)

    def __enter__(self) -> _HeldInterrupt:
        self._old: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig, default in ((signal.SIGINT, signal.default_int_handler),
                                 (signal.SIGTERM, signal.SIG_DFL)):
                if signal.getsignal(sig) is default:
                    self._old[sig] = signal.signal(sig, self._hold)
        return self

    def _hold(self, signum, frame) -> None:
        if self.pending:
            raise Interrupted(signum)
        self.pending, self.signum = True, int(signum)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
