"""Everything in training that is not the step, as callbacks of :class:`~.loop.Loop`.

Each callback owns its state and gives it to the checkpoint (``state_dict`` /
``load_state_dict`` under its ``key``), so a checkpoint is the loop's state plus each
callback's. They run in the order :func:`pushforward.train.train` lists them: EMA, loss
history, validation, snapshots, progress, the caller's hook, checkpoint.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._state import load_state, save_state
from ..errors import PushforwardError
from ..objectives import Objective
from .loop import Callback, Loop, step_generator

SNAPSHOT_POINTS = 500  # generated points kept per validation, for the training animation
MAX_SNAPSHOTS = 24
EARLY_STOP_FROM = 0.5  # share of the budget before which training never stops early
NOISE_MARGIN = 2.0  # validation differences within this many noise levels are ties
PLAIN_EVERY = 10.0  # seconds between progress lines when the console is not a terminal
#: the copy guard's rows of the training set (a seeded subsample beyond; see :func:`copy_ratio`)
COPY_REFERENCE_ROWS = 4096
#: checks in a row whose samples copy training rows before training stops (second half only)
COPY_PATIENCE = 3
#: fresh samples each copy check draws, and the checks whose samples pool into its ratio: the
#: median over 1,024 samples, whose noise is a third of one over a validation's 126 fixed ones
COPY_ROWS, COPY_POOL = 128, 8


class EMA(Callback):
    """An exponential moving average of the generator's weights, used to validate and sample.

    The decay ramps up as min(decay, (1 + step)/(10 + step)), so early steps are not frozen
    into the average.
    """

    key = "ema"

    def __init__(self, generator: nn.Module, decay: float):
        self.source, self.decay = generator, decay
        self.module = copy.deepcopy(generator).requires_grad_(False).eval()

    @torch.no_grad()
    def on_step(self, loop: Loop) -> None:
        decay = min(self.decay, (1 + loop.step) / (10 + loop.step))
        for pe, p in zip(self.module.parameters(), self.source.parameters(), strict=True):
            pe.lerp_(p, 1 - decay)
        for be, b in zip(self.module.buffers(), self.source.buffers(), strict=True):
            be.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state)


class LossHistory(Callback):
    """The loss of every step, with its step count and wall-clock seconds."""

    key = "history"

    def __init__(self):
        self.step: list[int] = []
        self.seconds: list[float] = []
        self.loss: list[float] = []

    def on_step(self, loop: Loop) -> None:
        self.step.append(loop.step)
        self.seconds.append(loop.elapsed())
        self.loss.append(loop.logs["loss"])

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "seconds": self.seconds, "loss": self.loss}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step, self.seconds, self.loss = (list(state[k]) for k in ("step", "seconds", "loss"))


def _energy(x: torch.Tensor, y: torch.Tensor) -> float:
    """ED² (V-statistic) in float64, without gradients; small validation samples only."""
    x, y = x.double(), y.double()
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())


def validation_noise(y: torch.Tensor, n: int) -> float:
    """E[ED²] between n real points and the sample ``y`` (m points) of one distribution.

    For the V-statistic, E[ED²(X, Y)] = (1/n + 1/m)·E‖Y − Y′‖ when X and Y share a law; its
    fluctuations are of the same size, so validation differences below it are noise.
    E‖Y − Y′‖ is estimated from ``y``'s own pairs (diagonal excluded).
    """
    m = len(y)
    if m < 2:
        return 0.0
    pair_mean = float(torch.cdist(y.double(), y.double()).mean()) * m / (m - 1)
    return (1 / max(n, 1) + 1 / m) * pair_mean


def _nearest(x: torch.Tensor, ref: torch.Tensor, *, exclude_self: bool = False) -> torch.Tensor:
    """Each row of ``x``'s distance to its nearest row of ``ref`` (float64, in blocks)."""
    out = []
    for i in range(0, len(x), 512):
        d = torch.cdist(x[i : i + 512].double(), ref.double())
        if exclude_self:  # x is ref: a row's own zero distance does not count
            d[torch.arange(len(d)), torch.arange(i, i + len(d))] = math.inf
        out.append(d.min(1).values)
    return torch.cat(out)


def copy_ratio(samples: torch.Tensor, reference: torch.Tensor, scale: float) -> float:
    """The median distance of ``samples`` to their nearest ``reference`` row, over ``scale``.

    With ``scale`` the reference rows' own median leave-one-out distance (:func:`copy_scale`),
    the ratio is ≈ 1 for samples drawn like new data (a fresh row's nearest neighbour among n
    rows is as far as a training row's among the other n − 1) and falls towards 0 as samples
    copy reference rows: the training-time form of the DCR ratio
    (:func:`pushforward.evaluation.images.memorisation`), without spending held-out rows.

    Example:
        >>> ref = torch.randn(300, 5, generator=torch.Generator().manual_seed(0))
        >>> scale = copy_scale(ref)
        >>> copy_ratio(ref[:100] + 1e-3, ref, scale) < 0.01
        True
    """
    return float(_nearest(samples, reference).median()) / max(scale, 1e-300)


def copy_scale(reference: torch.Tensor) -> float:
    """The median distance of a reference row to its nearest other reference row."""
    return float(_nearest(reference, reference, exclude_self=True).median())


class Validation(Callback):
    """ED² between the EMA's samples of fixed noise and the held-out sample, with early stopping.

    Checks run every ``every`` steps and at the step that ends the budget. Differences within
    :data:`NOISE_MARGIN` noise levels (:func:`validation_noise`) are ties. After ``patience``
    checks in a row clearly worse than the best, it asks the loop to stop, but only once
    :data:`EARLY_STOP_FROM` of the budget is spent. It keeps the best weights;
    :meth:`choose_weights` puts them back at the end only if they validated clearly better than
    the final ones. Each check's samples go to ``loop.logs`` (``val``, ``val_samples``).

    The copy guard (``reference``: training rows, ``copy_below``, and ``noise``/``seed`` to draw
    its own samples): each check pushes :data:`COPY_ROWS` fresh noise rows, and the ratio of
    :func:`copy_ratio` is taken over the samples of the last :data:`COPY_POOL` checks (1,024).
    The validation's fixed noise would not do: on digits its 126 samples read 0.93 for weights
    whose 4,000 fresh samples read 0.89, and the guard kept them, as their reading was high.
    A pooled ratio tells of the weights across its checks; as memorising only lowers it, the
    weights that did not copy, when a check's ratio is at least ``copy_below``, are the oldest
    of the pool's checks (their weights kept in memory, not in the checkpoint: after a resume
    the pool's checks refill first). A check whose ratio falls below ``copy_below`` copies
    training rows. A small data set (1,132
    digits) is memorised by a long run while the held-out ED² still looks fine, since copies of
    training rows are as near the held-out rows as real data are. Such a check never counts as
    the best; if the final one copies, the weights of the last check that did not come back
    (memorising sets in late, after the weights that sampled best so far: the best-ED² clean
    check was measured to be an early, poor one on digits); after :data:`COPY_PATIENCE`
    copying checks in a row (second half of the budget), following one that did not, training
    stops. Samples drawn towards the data's dense middle (an
    under-dispersed model, an untrained one) also lie nearer training rows than these lie to
    each other: such checks read as copying too, as they fail the issue's DCR bar; a run that
    never had a check above ``copy_below`` keeps its final weights and its whole budget.
    """

    key = "validation"

    def __init__(self, objective: Objective, model: nn.Module, z: torch.Tensor, y: torch.Tensor,
                 *, every: int, patience: int, reference: torch.Tensor | None = None,
                 copy_below: float = 0.0,
                 noise: Callable[[int, torch.Generator], torch.Tensor] | None = None,
                 seed: int = 0):
        self.objective, self.model, self.z, self.y = objective, model, z, y
        self.every, self.patience = every, patience
        self.tie = NOISE_MARGIN * validation_noise(y, len(z))
        self.reference = reference if copy_below > 0 else None
        if self.reference is not None and noise is None:
            raise ValueError("the copy guard draws its own samples: give noise")
        self.copy_below, self.noise, self.seed = copy_below, noise, seed
        self.scale = copy_scale(reference) if self.reference is not None else 0.0
        self.pool: list[torch.Tensor] = []  # the last COPY_POOL checks' nearest distances
        self.pooled: list[dict[str, Any]] = []  # and their weights (since the run (re)started)
        self.best = copy.deepcopy(model.state_dict())
        self.clean: dict[str, Any] | None = None  # weights that did not copy (see above)
        self.best_energy, self.bad, self.copying = math.inf, 0, 0
        self.steps: list[int] = []
        self.seconds: list[float] = []
        self.energy: list[float] = []
        self.copy: list[float] = []  # the copy ratio of each check (guarded runs only)

    def on_step(self, loop: Loop) -> None:
        if loop.step % self.every == 0 or loop.budget_fraction() >= 1.0:
            self.check(loop)
            late = loop.budget_fraction() >= EARLY_STOP_FROM
            if self.bad >= self.patience and late:
                self.stop_reason = (f"early stop: validation clearly worse for {self.patience} "
                                    "checks")
            elif self.copying >= COPY_PATIENCE and late and self.clean is not None:
                self.stop_reason = (f"early stop: samples copy training rows for "
                                    f"{COPY_PATIENCE} checks")

    def on_end(self, loop: Loop) -> None:
        if not self.steps or self.steps[-1] != loop.step:  # a time budget ended between checks
            self.check(loop)

    def check(self, loop: Loop) -> float:
        with torch.no_grad():
            pushed = self.objective.push(self.model, self.z)
            val = _energy(pushed, self.y)
            copies = self._copies()
        loop.logs.update(val=val, val_samples=pushed)
        self.steps.append(loop.step)
        self.seconds.append(loop.elapsed())
        self.energy.append(val)
        if self.reference is not None and not copies and len(self.pooled) == COPY_POOL:
            self.clean = self.pooled[0]
        if copies:
            self.bad += 1  # a copying check is worse than any that samples
        elif val < self.best_energy:
            self.best_energy, self.bad = val, 0
            self.best = copy.deepcopy(self.model.state_dict())
        elif val <= self.best_energy + self.tie:  # within noise of the best: not worse
            self.bad = 0
        else:
            self.bad += 1
        return val

    def _copies(self) -> bool:
        """Whether the model's samples copy training rows (the copy guard; False without)."""
        if self.reference is None:
            return False
        # the k-th check's noise depends only on (seed, k): a resumed run draws the same
        g = step_generator(self.seed, len(self.copy), self.z.device, stream=1)
        fresh = self.objective.push(self.model, self.noise(COPY_ROWS, g))
        self.pool = [*self.pool, _nearest(fresh, self.reference)][-COPY_POOL:]
        self.pooled = [*self.pooled, copy.deepcopy(self.model.state_dict())][-COPY_POOL:]
        ratio = float(torch.cat(self.pool).median()) / max(self.scale, 1e-300)
        self.copy.append(ratio)
        self.copying = self.copying + 1 if ratio < self.copy_below else 0
        return ratio < self.copy_below

    def choose_weights(self) -> None:
        """Validation on a few thousand points is noisy: keep the final weights unless the best
        ones validated better by more than that noise; final weights that copy training rows
        give way to the last ones that did not."""
        final = self.energy[-1] if self.energy else math.inf
        if self.copying > 0 and self.clean is not None:
            self.model.load_state_dict(self.clean)
        elif self.best_energy < final - self.tie:
            self.model.load_state_dict(self.best)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_energy": self.best_energy, "bad": self.bad,
                "copying": self.copying, "clean": self.clean, "steps": self.steps,
                "seconds": self.seconds, "energy": self.energy, "copy": self.copy,
                "pool": self.pool}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_energy, self.bad = float(state["best_energy"]), int(state["bad"])
        self.copying = int(state.get("copying", 0))
        self.clean = state.get("clean")
        self.steps, self.seconds, self.energy = (list(state[k])
                                                 for k in ("steps", "seconds", "energy"))
        self.copy = list(state.get("copy", []))
        self.pool = list(state.get("pool", []))


class Snapshots(Callback):
    """At most ``keep`` samples of the EMA taken at validation checks, for the animation.

    Like a full record thinned geometrically at the end, the kept ones are denser early, where
    the picture changes most, and memory and the checkpoint stay bounded however long training
    runs: check j (counted from 1) is kept while it is the first whose log₂ j falls in its bin
    of width ``width``, and the newest check always; whenever one too many are held, the bins
    double in width (every other one merges into its neighbour), so about ``keep/2`` to
    ``keep`` checks at roughly geometric steps remain, the first and the last among them.
    """

    key = "snapshots"

    def __init__(self, keep: int = MAX_SNAPSHOTS, points: int = SNAPSHOT_POINTS):
        self.keep, self.points, self.count, self.width = keep, points, 0, 1 / 64
        self.kept: list[tuple[int, int, torch.Tensor]] = []  # (check number, step, samples)

    def on_step(self, loop: Loop) -> None:
        if "val_samples" in loop.logs:
            self.add(loop.step, loop.logs["val_samples"])

    on_end = on_step

    def add(self, step: int, samples: torch.Tensor) -> None:
        self.count += 1
        self.kept = [e for e in self.kept if _first_in_bin(e[0], self.width)]
        self.kept.append((self.count, step, samples[: self.points].detach().cpu().float()))
        while len(self.kept) > self.keep:
            self.width *= 2
            self.kept = [e for e in self.kept[:-1] if _first_in_bin(e[0], self.width)] + [
                self.kept[-1]]

    @property
    def snapshots(self) -> list[tuple[int, torch.Tensor]]:
        return [(step, x) for _, step, x in self.kept]

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "width": self.width, "checks": [c for c, _, _ in self.kept],
                "steps": [s for _, s, _ in self.kept],
                "samples": torch.stack([x for *_, x in self.kept]) if self.kept else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count, self.width = int(state["count"]), float(state["width"])
        samples = state["samples"] if state["samples"] is not None else []
        self.kept = list(zip(state["checks"], state["steps"], samples, strict=True))


def _first_in_bin(j: int, width: float) -> bool:
    """Whether check ``j`` (from 1) is the first whose log₂ lies in its bin of ``width``."""
    return j == 1 or math.floor(math.log2(j) / width) > math.floor(math.log2(j - 1) / width)


class Progress(Callback):
    """Training progress for a person: a rich bar on a terminal, plain lines otherwise.

    The display is chosen in :meth:`on_start`: :class:`_RichBar` on a terminal; in a pipe or a
    log, :class:`_PlainLines` writes one line every :data:`PLAIN_EVERY` seconds. No console:
    nothing.
    """

    def __init__(self, console):
        self.console, self.display = console, None

    def on_start(self, loop: Loop) -> None:
        if self.console is None:
            return
        show = _RichBar if self.console.is_terminal else _PlainLines
        self.display = show(self.console, loop.settings.steps, loop.settings.time_budget)

    def on_step(self, loop: Loop) -> None:
        if self.display is not None:
            self.display.update(loop.step, loop.elapsed(), loop.logs.get("loss"),
                                loop.logs.get("val"))

    on_end = on_step

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
            self.display = None


class _RichBar:
    def __init__(self, console, total_steps: int | None, time_budget: float | None):
        from rich.progress import (
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.bar = Bar(TextColumn("step {task.fields[step]}"), BarColumn(),
                       TextColumn("loss {task.fields[loss]}"),
                       TextColumn("val ED {task.fields[val]}"), TimeElapsedColumn(),
                       TimeRemainingColumn(), console=console, transient=False)
        self.by_time = total_steps is None
        total = time_budget if self.by_time else total_steps
        self.task = self.bar.add_task("train", total=total, step=0, loss="-", val="-")
        self.bar.start()

    def update(self, step: int, elapsed: float, loss: float | None, val: float | None) -> None:
        fields: dict[str, Any] = {"step": step}
        if loss is not None:
            fields["loss"] = f"{loss:.4g}"
        if val is not None:
            fields["val"] = f"{val:.3g}"
        self.bar.update(self.task, completed=elapsed if self.by_time else step, **fields)

    def close(self) -> None:
        self.bar.stop()


class _PlainLines:
    """A line every :data:`PLAIN_EVERY` seconds: step, seconds of the budget, loss, validation.

    For output that is not a terminal (a pipe, a CI log), where a live bar cannot redraw.
    """

    def __init__(self, console, total_steps: int | None, time_budget: float | None):
        self.console, self.total_steps, self.time_budget = console, total_steps, time_budget
        self.next_at, self.val, self.shown = PLAIN_EVERY, None, -1

    def update(self, step: int, elapsed: float, loss: float | None, val: float | None) -> None:
        self.val = val if val is not None else self.val
        if elapsed < self.next_at or step == self.shown:
            return
        self.next_at, self.shown = elapsed + PLAIN_EVERY, step
        steps = f"step {step:,}" + (f"/{self.total_steps:,}" if self.total_steps else "")
        secs = f"{elapsed:.0f} s" + (f"/{self.time_budget:g} s" if self.time_budget else "")
        parts = [steps, secs] + ([f"loss {loss:.4g}"] if loss is not None else []) + (
            [f"val ED {self.val:.3g}"] if self.val is not None else [])
        self.console.print("  ".join(parts), highlight=False, soft_wrap=True)

    def close(self) -> None:
        pass


class OnStep(Callback):
    """Calls ``fn(step)`` after every step (tests use it to simulate a kill)."""

    def __init__(self, fn: Callable[[int], None]):
        self.fn = fn

    def on_step(self, loop: Loop) -> None:
        self.fn(loop.step)


class Checkpoint(Callback):
    """Atomic checkpoints every ``every`` seconds, at the end and on Ctrl-C, between steps only.

    A checkpoint is ``loop.checkpoint()`` (the loop's state and each callback's) with ``meta``,
    the run's JSON settings, which :meth:`restore` checks before resuming.
    """

    def __init__(self, path: Path, every: float, meta: dict[str, Any] | None = None):
        self.path, self.every, self.meta = Path(path), every, meta or {}
        self._last = time.perf_counter()
        self._saved = False

    def on_start(self, loop: Loop) -> None:
        self._last = time.perf_counter()

    def on_step(self, loop: Loop) -> None:
        # the first checkpoint right after the first validation (a kill then loses little),
        # then one every `every` seconds
        first = not self._saved and "val" in loop.logs
        if first or time.perf_counter() - self._last >= self.every:
            self.save(loop)

    def on_end(self, loop: Loop) -> None:
        self.save(loop)

    on_interrupt = on_end

    def save(self, loop: Loop) -> None:
        save_state(self.path, {**loop.checkpoint(), "meta": self.meta})
        self._last, self._saved = time.perf_counter(), True

    def restore(self, loop: Loop) -> None:
        """Continue ``loop`` from the checkpoint; clear errors when it cannot be done."""
        if not self.path.exists():
            raise PushforwardError(f"{self.path}: nothing to resume from")
        st = load_state(self.path)
        differ = _differences(self.meta, st.get("meta", {}))
        if differ:
            raise PushforwardError(f"{self.path}: was written with other settings "
                                   f"({', '.join(differ)}); resume with the same settings or "
                                   "start afresh")
        _check_progress(self.path, st, loop.settings.steps)
        try:
            loop.load_checkpoint(st)
        except PushforwardError:
            raise
        except (Exception, RecursionError) as e:  # anything a damaged checkpoint provokes
            first = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
            raise PushforwardError(f"{self.path}: not a checkpoint this version can resume "
                                   f"({type(e).__name__}: {first}); start afresh") from None

    def hint(self) -> str | None:
        """What the user keeps when training fails."""
        return f"the last good checkpoint is kept in {self.path}" if self.path.exists() else None


def _check_progress(path: Path, st: Any, steps: int | None) -> None:
    """A checkpoint's step and clock: integers and finite seconds within a run's reach.

    A step beyond the run's step budget would end the resumed run at once, silently; it is
    refused with the way out (a step equal to it is a run that ended before its model was
    saved: resuming saves it).
    """
    from .._checks import integer, real
    from .._limits import MAX_SECONDS, MAX_STEPS

    if not isinstance(st, dict):
        raise PushforwardError(f"{path}: not a checkpoint (no state); start afresh")
    try:
        step = integer(st.get("step"), "step", 0, MAX_STEPS)
        real(st.get("elapsed"), "elapsed", 0, MAX_SECONDS)
    except PushforwardError as e:
        raise PushforwardError(f"{path}: damaged checkpoint: {e}; start afresh") from None
    if steps is not None and step > steps:
        raise PushforwardError(f"{path}: the checkpoint is at step {step:,}, beyond this "
                               f"run's budget of {steps:,} steps; give a larger --steps to "
                               "continue it, or --force to start afresh")


#: Settings a resumed run may change: its budget and where and how fast it runs.
FREE_ON_RESUME = ("steps", "time_budget", "threads", "device", "checkpoint_every")


def _differences(now: dict[str, Any], then: dict[str, Any]) -> list[str]:
    """The settings (dotted keys) that differ between two runs' metadata, budgets aside."""
    out = []
    for k in sorted(set(now) | set(then)):
        a, b = now.get(k), then.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            free = FREE_ON_RESUME if k == "train" else ()
            out += [f"{k}.{d}" for d in _differences(
                {i: v for i, v in a.items() if i not in free},
                {i: v for i, v in b.items() if i not in free})]
        elif a != b:
            out.append(f"{k}: {b!r} then, {a!r} now")
    return out
