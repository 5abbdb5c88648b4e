"""``--resume``: continue a learned run with the settings it recorded.

A run records its settings twice: in its checkpoint while it trains, and in the model file once
it has finished (the checkpoint is then removed unless kept). Resuming reads them back, so the
user repeats nothing: the seed, method, noise and training settings come from the record, and
only the ones the user gives again are checked (any that differ are named). A budget given with
``--resume`` extends the run: ``steps`` is the new total step count, ``time_budget`` the seconds
this command may train for.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PushforwardError
from .train.callbacks import FREE_ON_RESUME


@dataclass(frozen=True)
class Run:
    """What a learned run recorded: enough to continue it.

    Attributes:
        folder: the model folder.
        source: "checkpoint" or "model" (the finished model file, when no checkpoint is left).
        method, seed, noise, latent_dim: the run's identity.
        train: the resolved training settings (``TrainConfig`` fields and more).
        step, elapsed: the steps taken and the seconds trained so far.
    """

    folder: Path
    source: str
    method: str
    seed: int
    noise: str
    latent_dim: int
    train: dict[str, Any]
    step: int
    elapsed: float


def recorded_run(folder: str | os.PathLike) -> Run:
    """The run recorded in ``folder``: its checkpoint if there is one, else its model file.

    Raises:
        PushforwardError: the folder holds neither, or what it holds is not a learned run.
    """
    from .model import MODEL_FILE, read_model_file
    from .train import CHECKPOINT

    folder = Path(folder)
    if (folder / CHECKPOINT).exists():
        from ._state import load_state

        st = load_state(folder / CHECKPOINT)
        if not isinstance(st, dict):
            raise PushforwardError(f"{folder / CHECKPOINT}: damaged checkpoint (no state); start "
                                   "afresh with --force")
        meta = st.get("meta", {})
        step, elapsed, source = st.get("step"), st.get("elapsed"), "checkpoint"
    elif (folder / MODEL_FILE).exists():
        model, _ = read_model_file(folder)
        meta = {**model, **model.get("settings", {})}
        info = model.get("info", {})
        step, elapsed, source = info.get("steps"), info.get("seconds"), "model"
    else:
        raise PushforwardError(f"{folder}: nothing to resume from (no checkpoint and no model)")
    if source == "checkpoint":  # a damaged or hostile step must not end the run silently
        from ._checks import integer, real
        from ._limits import MAX_SECONDS, MAX_STEPS

        try:
            integer(step, "step", 0, MAX_STEPS)
            real(elapsed, "elapsed", 0, MAX_SECONDS)
        except PushforwardError as e:
            raise PushforwardError(f"{folder / CHECKPOINT}: damaged checkpoint: {e}; start "
                                   "afresh with --force") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("train"), dict) or not isinstance(
            step, int):
        raise PushforwardError(f"{folder}: holds no learned run to resume "
                               f"(method {meta.get('method')!r} is not trained)")
    try:
        return Run(folder, source, str(meta["method"]), int(meta["seed"]),
                   str(meta.get("noise", "normal")),
                   int(meta.get("latent_dim") or meta["train"].get("latent_dim") or 0),
                   dict(meta["train"]), int(step), float(elapsed or 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise PushforwardError(f"{folder}: its run record is incomplete ({e})") from None


def resume_arguments(run: Run, *, method: str, seed: int | None, noise: str | None,
                     latent_dim: int | None, options: dict[str, Any]) -> dict[str, Any]:
    """``fit``'s arguments that continue ``run``: the recorded ones, checked against the given.

    Arguments:
        run: the recorded run.
        method: the method the user asked for (``"auto"``: the recorded one).
        seed, noise, latent_dim: the user's values, or None where not given.
        options: the training options the user gave (flags or keywords).

    Returns:
        ``{"method", "seed", "noise", "latent_dim", "options"}`` for the resumed fit, where
        ``options`` holds every recorded training setting and the extended budget.

    Raises:
        PushforwardError: a given setting differs from the recorded one (each is named), or the
            run has already used up its budget and none was given to extend it.
    """
    from .learned import TrainConfig

    given = {"method": None if method == "auto" else method, "seed": seed, "noise": noise,
             "latent_dim": latent_dim}
    recorded = {"method": run.method, "seed": run.seed, "noise": run.noise,
                "latent_dim": run.latent_dim or None}
    opts = dict(options)
    config = opts.pop("config", None)
    if config is not None:  # a config file's settings count as given
        opts = {**{k: v for k, v in dataclasses.asdict(config).items()
                   if v != getattr(TrainConfig(), k)}, **opts}
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    differ = [f"{k}={v!r} (you gave {given[k]!r})" for k, v in recorded.items()
              if given[k] is not None and v is not None and given[k] != v]
    differ += [f"{k}={run.train[k]!r} (you gave {v!r})" for k, v in opts.items()
               if k in fields and k not in FREE_ON_RESUME and k in run.train
               and run.train[k] != v]
    if differ:
        raise PushforwardError(
            f"{run.folder}: --resume continues the recorded run, which used "
            f"{'; '.join(differ)}; leave those out, or start afresh with --force")
    train = {k: v for k, v in run.train.items() if k in fields and k not in FREE_ON_RESUME}
    train.update({k: v for k, v in opts.items() if k in ("threads", "device",
                                                          "checkpoint_every")})
    train.update(_budget(run, opts))
    return {"method": run.method, "seed": run.seed, "noise": run.noise,
            "latent_dim": run.latent_dim or None, "options": train}


def _budget(run: Run, opts: dict[str, Any]) -> dict[str, Any]:
    """The resumed run's budget: the given one extends the run, else the recorded one."""
    steps, seconds = opts.get("steps"), opts.get("time_budget")
    if steps is not None and steps <= run.step:
        raise PushforwardError(
            f"{run.folder}: the run already has {run.step:,} steps; give --steps above "
            f"{run.step:,} to extend it")
    if steps is not None or seconds is not None:
        # seconds are this command's: the loop counts the run's whole training time
        return {"steps": steps,
                "time_budget": None if seconds is None else run.elapsed + float(seconds)}
    steps, seconds = run.train.get("steps"), run.train.get("time_budget")
    done = (steps is not None and run.step >= steps) or (
        seconds is not None and run.elapsed >= seconds)
    if done or run.source == "model":
        raise PushforwardError(
            f"{run.folder}: the run finished after {run.step:,} steps; give --steps (a new "
            "total) or --time-budget (more seconds) to extend it")
    return {"steps": steps, "time_budget": seconds}
