"""The Python entry point: ``pushforward.fit``."""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._io import folder_lock
from ._random import SeedLike, as_seed
from .auto import DEFAULT_BUDGET, choose_method, race
from .data import load_source
from .data.noise import get_noise
from .data.rows import chunks, release
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
    discrete: list[str] | None = None,
    out: str | None = None,
    resume: bool = False,
    keep_checkpoint: bool = False,
    console: Any = None,
    started: float | None = None,
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
            ``time_budget=`` (default 60 s for a race), ``exclude=`` (candidate keys),
            ``prefer_learned=True`` (learned maps only), ``steps=`` (per learned candidate)).
        noise: ``"normal"`` (N(0, I), the default) or ``"uniform"`` (U[0,1]^k).
        latent_dim: noise dimension k; default the data's dimension.
        seed: makes the fit reproducible; None draws one and records it in the model.
        columns, key, dropna: how to read a file (see :func:`pushforward.load_source`).
        categorical, integer: column names whose kind overrides the inferred one (the schema,
            :func:`pushforward.data.schema.infer_schema`, saved as ``fitted.schema``). Constant
            columns pass through every map unchanged.
        discrete: numeric columns with few values to model as categories; samples keep the
            column's numeric dtype (a count of 0–5 stays an integer column holding those values).
        out: learned methods: the model folder that holds the run's checkpoint while training.
        resume: learned methods: continue the run recorded in ``out`` (its checkpoint, else
            its finished model) with the settings it recorded; a budget given with it extends
            the run (``steps``: the new total, ``time_budget``: more seconds). See
            :mod:`pushforward.resume`.
        keep_checkpoint: learned methods: keep the checkpoint in ``out`` after a successful run
            (by default it is removed once training ends; save the model to keep the result).
        console: learned methods: a rich console for the progress bar (None: silent).
        started: ``time.monotonic()`` when the fit began, for ``time_budget`` (the command line
            passes its own start, so reading the data counts); None: now.
        **options: ``time_budget=``, wall-clock seconds for the whole fit, every method (see
            :func:`fit_deadline`: learned training ends in time for the closing check; exact
            methods simply finish early); ``holdout=``, the share of finite data kept out of the
            fit (default 0.1, see :mod:`pushforward.data.split`); method-specific settings:
            ``tails=``, ``family=`` for exact maps; for learned ones any
            :class:`~pushforward.learned.TrainConfig` field (``steps=``, ``net=``, ``lr=``...)
            or ``config=TrainConfig(...)``.

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
    # long: the one path every method takes, read top to bottom (read, resume, check, split,
    # budget, fit, closing check); its steps are calls, and splitting it would scatter the
    # order they must run in.
    from .methods import METHODS

    started = time.monotonic() if started is None else started
    budget = _whole_budget(options)  # as given: on --resume, the extra seconds
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
    schema = infer_schema(source, categorical=categorical, integer=integer, discrete=discrete)
    schema.check_modelled()
    why = None
    if method == "auto":
        method, why = _auto_pick(source, schema, options)
        if method == "auto" and budget is None:  # the race spends a budget: the default one
            budget = DEFAULT_BUDGET
    fitter = race if method == "auto" else METHODS.get(method)  # auto: d ≥ 2, a race
    seed = as_seed(seed)
    distributed = int(os.environ.get("WORLD_SIZE", 1)) > 1  # one rank of a torchrun
    if distributed:  # every rank splits and trains with rank 0's seed
        from .train.distributed import current

        seed = current().agree(seed)
    share = _holdout_share(options)
    split = split_source(source, share, seed)  # every method fits the training rows only
    release(source.data)  # a file's pages read by the passes over it (checks, schema, split)
    params = inspect.signature(fitter).parameters
    if "time_budget" in options and "deadline" not in params and "time_budget" not in params:
        del options["time_budget"]  # an exact method: it simply finishes early
    _check_options(method, fitter, options, why)
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
    latent = (int(latent_dim) if latent_dim is not None
              else _default_latent(method, schema, split.train.data if "held" in params else None))
    if budget is not None:
        deadline = fit_deadline(started, budget, split, schema.encoded_dim)
        if "deadline" in params:  # learned: the loop ends training by the deadline
            options["deadline"] = deadline
        elif "time_budget" in params:  # auto's race, gmm: the seconds left to fit in
            options["time_budget"] = max(deadline - time.monotonic(), 0.1 * budget)
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

    release(source.data)  # the pages the fit read; the check reads its own few rows
    from .learned import one_thread_if_saturated

    with one_thread_if_saturated():
        fitted.info["holdout"] = closing_check(fitted, source, split, seed)
    if budget is not None:
        fitted.info["budget"] = {"seconds": budget,
                                 "spent": round(time.monotonic() - started, 2)}
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
    if method == "auto":  # the race's own options; the rest are checked once auto has picked
        from .auto import check_race_options

        check_race_options(options)
        return
    fitter = METHODS.get(method)
    _check_options(method, fitter, options, None)
    if hasattr(fitter, "check"):  # learned methods
        fitter.check(source, noise=noise or "normal", latent_dim=latent_dim, **options)


def _auto_pick(source, schema, options: dict[str, Any]) -> tuple[str, str]:
    """What ``method="auto"`` runs: :func:`pushforward.auto.choose_method`'s pick, the race
    whenever ``prefer_learned`` asks for learned maps only; an exact pick takes no race options
    (``exclude`` names race candidates; ``steps`` counts learned steps)."""
    if options.get("prefer_learned"):
        return "auto", (f"{schema.encoded_dim}-D data, learned maps preferred: raced on "
                        "held-out rows")
    method, why = choose_method(source, schema)
    if method != "auto":
        for key in ("exclude", "prefer_learned", "steps"):
            options.pop(key, None)
    return method, why


def _default_latent(method: str, schema, train) -> int:
    """The noise dimension: the encoded data's (one-hot blocks count k; for a learned map,
    ``train`` given, each column with gaps in the training rows adds its missing indicator);
    for pointwise exact maps one per modelled column (mixtures size their own noise)."""
    if method in ("quantile", "copula", "parametric"):
        return schema.pointwise_dim
    if train is None:
        return schema.encoded_dim
    gaps = np.zeros(train.shape[1], dtype=bool)
    for piece in chunks(train):  # a file on disk is scanned, not read whole
        gaps |= np.isnan(piece).any(axis=0)
    return schema.encoded_dim + int(gaps.sum())


#: Seconds :func:`fit_deadline` keeps for the closing check and saving: a base, plus per 1,000
#: compared rows and per compared value (rows × columns: the classifier's work). Measured on
#: two busy cores (load 11): the check took 1.7 s (450 rows, 2 columns), 3.0 s (2,000 rows, 2
#: columns) and 3.0 s (161 rows, 64 columns); on an idle machine, images: 0.5 s (126 rows, 64
#: columns), 2.2 s (2,000 × 64), 6.2 s (2,000 × 256), 3.9 s (300 × 1,024), about 1e-5 s a
#: value, kept three times over. (It was 1 s per 32 columns, whatever the rows: 19.5 s of a
#: 120 s budget reserved for a 0.1 s check on 14 held-out 25×25 images.)
#: The base also covers what follows training before the check (final validation and
#: checkpoint, choosing the weights: ~1 s) and saving the model.
RESERVE_BASE, RESERVE_PER_1000_ROWS, RESERVE_PER_VALUE = 4.5, 1.0, 3e-5


def fit_deadline(started: float, budget: float, split, dim: int) -> float:
    """``time.monotonic()`` by which the method must be done so the whole fit ends in ``budget``.

    What follows the method is the closing held-out check (and, on the command line, saving);
    its modules are imported here, before the deadline is set, so the reserve covers computing
    only (:data:`RESERVE_BASE` + per rows and values compared).

    Arguments:
        started: ``time.monotonic()`` when the fit began.
        budget: the whole fit's wall-clock seconds.
        split: the fit's hold-out split (its held-out rows are what the check compares).
        dim: the columns the map models.
    """
    import sklearn.ensemble  # noqa: F401  (the check's classifier: imported before the clock)

    from .evaluation import verdict  # noqa: F401
    from .evaluation.verdict import CLOSING_N

    held = split.held
    rows = CLOSING_N if held is None else min(CLOSING_N, len(held))
    reserve = RESERVE_BASE + RESERVE_PER_1000_ROWS * rows / 1000 + RESERVE_PER_VALUE * rows * dim
    return started + budget - reserve


def _whole_budget(options: dict[str, Any]) -> float | None:
    """The fit's ``time_budget`` (an option, else a learned run's config's), checked."""
    budget = options.get("time_budget")
    if budget is None:
        budget = getattr(options.get("config"), "time_budget", None)
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not (
            0 < budget < math.inf):
        raise PushforwardError(f"time_budget must be a positive number of seconds, got "
                               f"{budget!r}")
    return float(budget)


def _holdout_share(options: dict[str, Any]) -> float:
    """The held-out share: ``holdout=``, else a learned run's config's, else the default."""
    share = options.pop("holdout", None)
    if share is None and getattr(options.get("config"), "holdout", None) is not None:
        share = options["config"].holdout
    return DEFAULT_SHARE if share is None else float(share)


def _check_options(method: str, fitter, options: dict[str, Any], why: str | None) -> None:
    """Every option is one the method declares (``fitter.options``) or the fit's budget."""
    allowed = list(fitter.options)
    for k in options:
        if k not in allowed and k != "time_budget":  # every method takes the fit's budget
            picked = (f" (method auto picked {method!r}; choose one with --method)"
                      if why and method != "auto" else "")
            raise PushforwardError(
                f"method {method!r} has no option {k!r}; its options: "
                f"{', '.join(allowed) or 'none'}{picked}"
            )
