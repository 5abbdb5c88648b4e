"""The one training loop, for every learned method.

The loop knows nothing of the method: an :class:`~pushforward.objectives.Objective` gives the
generator's loss for a batch. :mod:`.loop` is the core (budget, learning-rate factor, step, NaN
guard); :mod:`.callbacks` owns the rest, once. :func:`train` puts them together:

- Adam with a cosine decay over the budget to ``lr_end`` (5 %) of the learning rate; objectives
  get the same factor (:meth:`~pushforward.objectives.Objective.set_lr_factor`), so a critic's
  rate follows ``lr_end`` too;
- an exponential moving average (EMA) of the weights, used for validation and sampling;
- budgets: ``steps`` and/or ``time_budget`` seconds of the loop's wall clock (the first reached
  ends training);
- validation every ``eval_every`` steps: energy distance ED² between EMA samples (fixed noise) and
  the held-out sample. Its noise level is the expected ED² between two real samples of the
  validation's size, (1/n + 1/m)·E‖Y − Y′‖; differences within :data:`NOISE_MARGIN` noise
  levels are treated as ties, because a single check on a few thousand points is noisy and the
  best of many checks is an extreme draw (measured on moons: a lucky early check picked weights
  scoring ed_ratio 1.83 where later ones scored 0.51). Training stops early after ``patience``
  checks in a row that validate clearly worse than the best, and only in the second half of the
  budget (:data:`EARLY_STOP_FROM`): at a high learning rate runs often sit on a plateau and then
  break through (measured on circles: ed_ratio ≈ 8 for 20 s, then 0.7), and a run that has
  converged to within the validation's resolution may still improve below it (measured: flow
  matching stopped at half its 120 s on 8gaussians scored 4.5). The loop returns its final EMA
  weights unless the best ones validated clearly better;
- a copy guard on images (``reference`` rows): a check whose fresh samples (pooled over the last
  few checks) lie nearer the training rows than the training rows lie to each other
  (:func:`~.callbacks.copy_ratio` below ``copy_below``) is never the best, final weights that
  copy give way to weights that did not, and copying checks in a row stop training;
- checkpoints (atomic, between steps only) every ``checkpoint_every`` seconds, at the end and on
  Ctrl-C; ``resume`` continues from one. Every step's randomness is drawn from
  ``SeedSequence([seed, step])``, so a resumed run with a step budget ends with exactly the
  weights of an uninterrupted one (CPU);
- a NaN/inf guard that stops with a clear message and keeps the last good checkpoint;
- at most :data:`MAX_SNAPSHOTS` samples taken during training, for the animation;
- a rich progress bar on a terminal, quiet in logs;
- many processes (torchrun): a strategy from :mod:`.distributed`; validation, snapshots,
  progress and checkpoints on rank 0 only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import PushforwardError
from ..objectives import Objective
from .callbacks import (
    COPY_PATIENCE,
    COPY_REFERENCE_ROWS,
    EARLY_STOP_FROM,
    EMA,
    MAX_SNAPSHOTS,
    NOISE_MARGIN,
    SNAPSHOT_POINTS,
    Checkpoint,
    LossHistory,
    OnStep,
    Progress,
    Snapshots,
    Validation,
    copy_ratio,
    copy_scale,
    validation_noise,
)
from .distributed import Single
from .loop import DIVERGED, Callback, Loop, LoopSettings, lr_factor, step_generator

__all__ = ["train", "History", "LoopSettings", "TrainResult", "Loop", "Callback",
           "step_generator", "lr_factor", "validation_noise", "copy_ratio", "copy_scale",
           "COPY_PATIENCE", "COPY_REFERENCE_ROWS", "CHECKPOINT", "EARLY_STOP_FROM",
           "NOISE_MARGIN", "MAX_SNAPSHOTS", "SNAPSHOT_POINTS"]

CHECKPOINT = "checkpoint.safetensors"


@dataclass
class History:
    """What happened during training, saved with the model."""

    step: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_seconds: list[float] = field(default_factory=list)
    val_energy: list[float] = field(default_factory=list)
    #: the copy guard's ratio at each check (empty when the run had no guard)
    val_copy: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return asdict(self)


@dataclass
class TrainResult:
    """The trained generator (EMA weights), the history and why training ended."""

    generator: nn.Module
    history: History
    stopped: str
    steps: int
    seconds: float
    best_energy: float
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)


def train(
    objective: Objective,
    generator: nn.Module,
    *,
    noise: Callable[[int, torch.Generator], torch.Tensor],
    batch: Callable[[int, torch.Generator], torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor],
    settings: LoopSettings,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    console=None,
    on_step: Callable[[int], None] | None = None,
    meta: dict[str, Any] | None = None,
    start: tuple[int, float] | None = None,
    strategy: Single | None = None,
    reference: torch.Tensor | None = None,
    copy_below: float = 0.0,
) -> TrainResult:
    """Train ``generator`` on ``objective`` until a budget ends or validation stops improving.

    Arguments:
        objective: gives the loss for a batch (and owns any critic).
        generator: the network; trained in place.
        noise: ``noise(n, rng)`` → a batch of noise (n, latent_dim).
        batch: ``batch(n, rng)`` → a batch of standardised target samples (n, d).
        validation: (fixed noise, held-out standardised samples) for the validation metric.
        settings: budgets, learning rate, EMA, validation and checkpoint cadence.
        checkpoint_dir: where ``checkpoint.safetensors`` lives (None: no checkpoints).
        resume: continue from the checkpoint in ``checkpoint_dir``.
        console: a rich console for the progress bar (None: silent).
        on_step: called after every step with the step count (tests use it to simulate a kill).
        meta: JSON settings stored in the checkpoint and checked on resume.
        start: (steps, seconds) of a finished run whose weights ``generator`` already holds:
            training counts on from there (a run extended from its model file).
        strategy: one process (None) or many (:mod:`.distributed`): on ranks other than 0
            only the core and the EMA run (no validation, progress, snapshots or
            checkpoints), and every rank starts from rank 0's state (a resumed one included).
        reference, copy_below: the copy guard (:class:`~.callbacks.Validation`): training rows
            (standardised, at most :data:`~.callbacks.COPY_REFERENCE_ROWS`) and the copy ratio
            below which a check's samples copy them (0 or no rows: no guard).

    Returns:
        :class:`TrainResult`; its generator holds the final EMA weights, or the best validated
        ones where they validated better by more than the validation's noise level.
    """
    s = settings
    if s.steps is None and s.time_budget is None:
        raise PushforwardError("give a budget: steps or time_budget")
    ema = EMA(generator, s.ema)
    val = Validation(objective, ema.module, *validation, every=s.eval_every, patience=s.patience,
                     reference=reference, copy_below=copy_below, noise=noise, seed=s.seed)
    history, snaps = LossHistory(), Snapshots()
    ckpt = (Checkpoint(checkpoint_dir / CHECKPOINT, s.checkpoint_every, meta)
            if checkpoint_dir is not None else None)
    strategy = strategy or Single()
    callbacks: list[Callback] = [ema, history, val, snaps, Progress(console)]
    callbacks += [OnStep(on_step)] if on_step is not None else []
    callbacks += [ckpt] if ckpt is not None else []
    if not strategy.is_main:  # rank 0 validates, shows and saves for all; every rank holds
        callbacks = [cb for cb in callbacks if isinstance(cb, EMA | OnStep)]  # the same EMA
    loop = Loop(objective, generator, noise=noise, batch=batch, settings=s, callbacks=callbacks,
                strategy=strategy)
    if start is not None:
        loop.continue_from(*start)
    if resume and strategy.is_main:
        if ckpt is None:
            raise PushforwardError("checkpoint: nothing to resume from (no checkpoint folder)")
        ckpt.restore(loop)
    strategy.prepare(loop)
    stopped = loop.run()
    if stopped == DIVERGED:
        step, lv = loop.diverged
        raise PushforwardError(f"training diverged at step {step} (loss {lv}); "
                               + ((ckpt and ckpt.hint()) or "try a smaller --lr"))
    val.choose_weights()
    return TrainResult(ema.module, History(history.step, history.seconds, history.loss,
                                           val.steps, val.seconds, val.energy, val.copy),
                       stopped, loop.step, loop.elapsed(), val.best_energy, snaps.snapshots)
