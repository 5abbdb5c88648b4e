"""The Python entry point: ``pushforward.fit``."""

from __future__ import annotations

import contextlib
import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._io import folder_lock
from ._random import SeedLike, as_seed
from .auto import choose_method, race
from .data import load_source
from .data.noise import get_noise
from .data.schema import infer_schema
from .data.split import DEFAULT_SHARE, split_source
from .errors import PushforwardError
from .model import FittedMap


def fit(
    data: Any,
    *,
    method: str = "auto",
    noise: str | None = None,
    latent_dim: int | None = None,
    seed: SeedLike = None,
    columns: list[str | int] | str | None = None,
    key: str | None = None,
    dropna: bool = False,
    categorical: list[str] | None = None,
    integer: list[str] | None = None,
    out: str | None = None,
    resume: bool = False,
    keep_checkpoint: bool = False,
    console: Any = None,
    **options: Any,
) -> FittedMap:
    """Fit a map G with G(noise) distributed like ``data``.

    Arguments:
        data: an array (n, d), a file path (CSV, TSV, NPY, NPZ, Parquet, TXT), a built-in target
            (``"moons"``, ``"digits"``), a distribution spec (``"gamma(a=2)"``,
            ``"mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))"``) or ``"image:PATH.png"``.
        method: a key of the method registry (``pushforward list``); ``"auto"`` picks from the
            data and records why in ``fitted.info["auto"]``: in 1-D the exact map, from 2-D up
            the winner of a race of cheap candidates on held-out rows, with the leaderboard in
            ``fitted.info["leaderboard"]`` (:func:`pushforward.auto.race`; options
            ``time_budget=``, ``exclude=``).
        noise: ``"normal"`` (N(0, I), the default) or ``"uniform"`` (U[0,1]^k).
        latent_dim: noise dimension k; default the data's dimension.
        seed: makes the fit reproducible; None draws one and records it in the model.
        columns, key, dropna: how to read a file (see :func:`pushforward.load_source`).
        categorical, integer: column names whose kind overrides the inferred one (the schema,
            :func:`pushforward.data.schema.infer_schema`, saved as ``fitted.schema``). Constant
            columns pass through every map unchanged.
        out: learned methods: the model folder that holds the run's checkpoint while training.
        resume: learned methods: continue the run recorded in ``out`` (its checkpoint, else
            its finished model) with the settings it recorded; a budget given with it extends
            the run (``steps``: the new total, ``time_budget``: more seconds). See
            :mod:`pushforward.resume`.
        keep_checkpoint: learned methods: keep the checkpoint in ``out`` after a successful run
            (by default it is removed once training ends; save the model to keep the result).
        console: learned methods: a rich console for the progress bar (None: silent).
        **options: ``holdout=``, the share of finite data kept out of the fit (default 0.1, see
            :mod:`pushforward.data.split`); method-specific settings: ``tails=``, ``family=``
            for exact maps; for learned ones any :class:`~pushforward.learned.TrainConfig` field
            (``steps=``, ``time_budget=``, ``net=``, ``lr=``...) or ``config=TrainConfig(...)``.

    Returns:
        The fitted map: ``sample(n, seed=)``, ``inverse_transform(z)`` (noise → data),
        ``transform(x)`` (data → noise, where invertible), ``save(path)``. Its ``info`` records
        the hold-out split (``info["split"]``) and the closing held-out check
        (``info["holdout"]``, :func:`pushforward.evaluation.closing_check`).

    Example:
        >>> import numpy as np, pushforward
        >>> x = np.random.default_rng(0).gamma(2.0, size=(500, 1))
        >>> m = pushforward.fit(x, seed=0)
        >>> m.method, m.info["auto"]
        ('quantile', '1-D data: the empirical quantile map with extrapolated tails')
    """
    from .methods import METHODS

    source = load_source(data, columns=columns, key=key, dropna=dropna, categorical=categorical)
    if resume:
        if out is None:
            raise PushforwardError("resume needs the model folder of the run (out=)")
        from .resume import recorded_run, resume_arguments

        args = resume_arguments(recorded_run(out), method=method, seed=seed, noise=noise,
                                latent_dim=latent_dim, options=options)
        method, seed, noise, latent_dim = (args[k] for k in ("method", "seed", "noise",
                                                             "latent_dim"))
        options = args["options"]
    noise = noise or "normal"
    check_request(source, method, noise=noise, latent_dim=latent_dim, seed=seed,
                  options=options)
    schema = infer_schema(source, categorical=categorical, integer=integer)
    schema.check_modelled()
    why = None
    if method == "auto":
        method, why = choose_method(source, schema)
    fitter = race if method == "auto" else METHODS.get(method)  # auto: d ≥ 2, a race
    seed = as_seed(seed)
    distributed = int(os.environ.get("WORLD_SIZE", 1)) > 1  # one rank of a torchrun
    if distributed:  # every rank splits and trains with rank 0's seed
        from .train.distributed import current

        seed = current().agree(seed)
    share = _holdout_share(options)
    split = split_source(source, share, seed)  # every method fits the training rows only
    _check_options(method, fitter, options, why)
    params = inspect.signature(fitter).parameters
    if "held" in params:  # learned: the held-out rows validate, the share is in its settings
        options.update(held=split.held, holdout=share)
    run = {"out": out, "resume": resume, "console": console}
    if resume and "resume" not in params:
        raise PushforwardError(f"method {method!r} is not trained, so there is nothing to resume")
    options.update({k: v for k, v in run.items() if k in params})
    if latent_dim is not None and (isinstance(latent_dim, bool) or int(latent_dim) <= 0):
        raise PushforwardError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    # a learned run writes its checkpoint into `out`: one run per folder at a time
    writes = out is not None and "out" in params and not (distributed and not current().is_main)
    lock = folder_lock(out) if writes else contextlib.nullcontext()
    latent = int(latent_dim) if latent_dim is not None else _default_latent(method, schema)
    with lock:
        fitted = fitter(
            split.train,
            noise=noise,
            latent_dim=latent,
            seed=seed,
            schema=schema,
            **options,
        )
    if out is not None and "out" in params and not keep_checkpoint:
        from .model import CHECKPOINT_FILE

        (Path(out) / CHECKPOINT_FILE).unlink(missing_ok=True)
    fitted.info["source"] = source.name
    fitted.info["split"] = split.record or {"rule": "fresh-draws"}  # fresh: any data is unseen
    if source.meta.get("frame"):
        fitted.info["frame"] = True  # sample() returns a DataFrame with the same columns
    if why:
        fitted.info.setdefault("auto", why)  # a race writes its own, with the winner
    if distributed and not current().is_main:  # rank 0 checks and writes the model
        return fitted
    from .evaluation.verdict import closing_check

    fitted.info["holdout"] = closing_check(fitted, source, split, seed)
    return fitted


def check_request(source: Any, method: str, *, noise: str | None, latent_dim: Any, seed: Any,
                  options: dict[str, Any]) -> None:
    """Every setting of a fit checked before any work, one :class:`PushforwardError` line each.

    The noise, ``latent_dim``, the seed, the held-out share, the method's options and, for a
    learned method, its training settings, objective and network (``fit.check``). The CLI
    calls it before its start line, so a bad setting is the only line printed.
    """
    from ._checks import integer, real
    from ._limits import MAX_COLUMNS
    from .methods import METHODS

    get_noise(noise or "normal")
    if latent_dim is not None:
        integer(latent_dim, "latent_dim", 1, MAX_COLUMNS)
    if seed is None or isinstance(seed, (int, np.integer)):
        as_seed(seed)
    options = dict(options)
    if options.get("holdout") is not None:
        real(options.pop("holdout"), "holdout", 0, 0.99)
    if method == "auto":
        return
    fitter = METHODS.get(method)
    _check_options(method, fitter, options, None)
    if hasattr(fitter, "check"):  # learned methods
        fitter.check(source, noise=noise or "normal", latent_dim=latent_dim, **options)


def _default_latent(method: str, schema) -> int:
    """The noise dimension: the encoded data's (one-hot blocks count k), for pointwise exact
    maps one per modelled column."""
    pointwise = method in ("quantile", "copula", "parametric")
    return schema.pointwise_dim if pointwise else schema.encoded_dim


def _holdout_share(options: dict[str, Any]) -> float:
    """The held-out share: ``holdout=``, else a learned run's config's, else the default."""
    share = options.pop("holdout", None)
    if share is None and getattr(options.get("config"), "holdout", None) is not None:
        share = options["config"].holdout
    return DEFAULT_SHARE if share is None else float(share)


def _check_options(method: str, fitter, options: dict[str, Any], why: str | None) -> None:
    params = inspect.signature(fitter).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    allowed = [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY]
    allowed = [k for k in allowed if k not in ("noise", "latent_dim", "seed", "out", "resume",
                                               "console", "on_step", "held", "schema")]
    for k in options:
        if k not in allowed:
            picked = (f" (method auto picked {method!r}; choose one with --method)"
                      if why and method != "auto" else "")
            raise PushforwardError(
                f"method {method!r} has no option {k!r}; its options: "
                f"{', '.join(allowed) or 'none'}{picked}"
            )
