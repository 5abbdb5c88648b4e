"""``method="auto"``: the exact map in 1-D; from 2-D up, a race of the cheap candidates.

In 1-D the exact inverse CDF (a known distribution) or the empirical quantile map already sits
at the noise floor. From 2-D up no single cheap method wins everywhere (a Gaussian copula cannot
make clusters or curves, a mixture or kernel estimate can), so :func:`race` fits each of
:data:`CANDIDATES` on part of the training rows, scores every one by the energy distance of a
generated sample to rows it never saw (beside the same distance for real rows: the floor),
keeps the winner and records the leaderboard.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .data.schema import Schema
from .data.source import Source
from .errors import PushforwardError
from .model import FittedMap

#: The methods raced from 2-D up: each fits in seconds on 10⁴ rows.
CANDIDATES = ("copula", "gmm", "kde")

#: Share of finite training rows kept out of the candidates' fits to score them.
RACE_SHARE = 0.2

#: Fewer finite rows than this are not raced (a fifth of them would score nothing reliably):
#: auto takes the Gaussian copula.
MIN_RACE_ROWS = 100

#: Rows of each scored sample (generated, real and held-out), and generated samples per score.
SCORE_ROWS = 2000
SCORE_REPEATS = 5


def choose_method(source: Source, schema: Schema | None = None) -> tuple[str, str]:
    """The method ``method="auto"`` picks for ``source``, and why, in one sentence.

    ``"auto"`` means :func:`race` (data of two or more dimensions). The dimension that counts is
    the modelled one (``schema``): constant columns pass through every map.
    """
    dim = schema.encoded_dim if schema is not None else source.dim
    if source.dim == 1 and source.dist is not None:
        return "inverse-cdf", "1-D target with a known distribution: the exact inverse CDF"
    if dim == 1:
        return "quantile", "1-D data: the empirical quantile map with extrapolated tails"
    if source.data is not None and len(source.data) < MIN_RACE_ROWS:
        return "copula", (f"{dim}-D data, {len(source.data)} rows: too few to race "
                          "candidates on held-out rows; a Gaussian copula")
    return "auto", f"{dim}-D data: {', '.join(CANDIDATES)} raced on held-out rows"


def _race_split(source: Source, seed: int) -> tuple[Source, np.ndarray, Callable]:
    """(the source the candidates fit, the held-out rows they are scored on, real(k, s)).

    Finite data loses :data:`RACE_SHARE` of its rows (seeded permutation); a sampler keeps
    drawing: the held-out rows and the floor's real samples are fresh draws.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 16, 4]))
    if source.data is None:
        return source, source.draw(SCORE_ROWS, seed=rng), lambda k, s: source.draw(k, seed=s)
    data = source.data
    n_held = int(round(RACE_SHARE * len(data)))
    if n_held < 2 or len(data) - n_held < 2:
        raise PushforwardError(f"{source.name}: {len(data)} rows are too few for method auto to "
                               "score its candidates; choose one with --method")
    perm = rng.permutation(len(data))
    train = data[perm[n_held:]]

    def real(k: int, s: int) -> np.ndarray:
        return train[np.random.default_rng(s).choice(len(train), k, replace=k > len(train))]

    inner = Source(source.name, source.columns, data=train, meta=source.meta)
    return inner, data[perm[:n_held]], real


def _fit_one(key: str, source: Source, *, noise: str, seed: int,
             time_budget: float | None, schema: Schema | None = None) -> FittedMap:
    """Fit candidate ``key`` with its defaults (and the budget left, if it takes one)."""
    from .methods import METHODS

    fitter = METHODS.get(key)
    options = {}
    if time_budget is not None and "time_budget" in inspect.signature(fitter).parameters:
        options["time_budget"] = time_budget
    return fitter(source, noise=noise, latent_dim=None, seed=seed, schema=schema, **options)


def _exclusions(exclude: str | Iterable[str] | None) -> set[str]:
    names = exclude.split(",") if isinstance(exclude, str) else list(exclude or ())
    names = {n.strip() for n in names if n.strip()}
    unknown = names - set(CANDIDATES)
    if unknown:
        raise PushforwardError(f"exclude: {', '.join(sorted(unknown))} not among auto's "
                               f"candidates ({', '.join(CANDIDATES)})")
    if names >= set(CANDIDATES):
        raise PushforwardError(f"exclude: nothing left to race of {', '.join(CANDIDATES)}")
    return names


def race(source: Source, *, noise: str = "normal", latent_dim: int | None = None,
         seed: int = 0, time_budget: float | None = None,
         exclude: str | Iterable[str] | None = None,
         schema: Schema | None = None) -> FittedMap:
    """Fit every candidate, score each on held-out rows, and return the winner.

    Each candidate is fitted with its defaults on the training rows less :data:`RACE_SHARE`
    (a sampler: fresh draws). Its score is the mean squared energy distance
    (:func:`pushforward.metrics.energy_distance_sq`) of :data:`SCORE_REPEATS` generated samples
    of :data:`SCORE_ROWS` points to as many held-out rows, all standardised by the training
    columns; the floor is the same figure for real training rows (independent subsamples). The
    lowest score wins and, on finite data, is fitted again on every training row. Everything is
    seeded from ``seed``: the same seed gives the same choice.

    Arguments:
        source: the training data (or a sampler).
        noise, seed: as for every method; ``latent_dim`` must be left out (each candidate has
            its own).
        time_budget: wall-clock seconds; a candidate not yet started when it has passed is
            skipped (the first always runs).
        exclude: candidates not to race (names or a comma-separated string).
        schema: the data's schema (None: each candidate infers it).

    Returns:
        The winner; ``info["auto"]`` says why in one sentence and ``info["leaderboard"]`` holds
        one row per candidate: ``method``, ``score``, ``floor``, ``ratio``, ``fit_s``.
    """
    start = time.monotonic()
    if latent_dim not in (None, source.dim, schema.encoded_dim if schema else None):
        raise PushforwardError("method auto chooses the noise dimension of each candidate; "
                               "choose a method with --method to set latent_dim")
    skip = _exclusions(exclude)
    inner, held, real = _race_split(source, seed)
    board, fitted = _run(inner, held, real, noise=noise, seed=seed, start=start,
                         time_budget=time_budget, candidates=[c for c in CANDIDATES
                                                              if c not in skip], schema=schema)
    best = min((row for row in board if "score" in row), key=lambda row: row["score"])
    winner = fitted[best["method"]]
    left = None if time_budget is None else time_budget - (time.monotonic() - start)
    # finite data: the winner learns from every training row, when the budget leaves the time
    # its first fit took (else it stays fitted on the race's share: the budget is the user's)
    refit = inner is not source and (left is None or left >= best["fit_s"])
    if refit:
        winner = _fit_one(best["method"], source, noise=noise, seed=seed,
                          time_budget=None if left is None else max(left, 1), schema=schema)
    kept = "" if refit or inner is source else (
        f"; kept as fitted on {len(inner.data):,} rows (the time budget left no refit)")
    winner.info["auto"] = (f"{source.dim}-D data: {best['method']} won the race of "
                           f"{', '.join(row['method'] for row in board)} on {len(held):,} "
                           f"held-out rows ({best['ratio']:.2f}× the real-data floor){kept}")
    winner.info["leaderboard"] = board
    return winner


def _run(source: Source, held: np.ndarray, real: Callable, *, noise: str, seed: int,
         start: float, time_budget: float | None, candidates: list[str],
         schema: Schema | None) -> tuple[list[dict[str, Any]], dict[str, FittedMap]]:
    """Fit and score each candidate; (leaderboard rows, fitted candidates)."""
    from .data.codec import Standardize
    from .evaluation._arrays import with_gaps
    from .metrics import energy_distance_sq  # torch: imported when a race runs, not before

    scale = Standardize().fit(source.training_sample(SCORE_ROWS, seed=seed))
    n = min(SCORE_ROWS, len(held))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 16, 5]))
    test = scale.encode(held[rng.choice(len(held), n, replace=False)])
    gaps = np.flatnonzero(np.isnan(test).any(axis=0))  # missing values: an indicator each
    test = with_gaps(test, gaps)
    base = int(rng.integers(0, 2**31))

    def score(draw: Callable[[int, int], np.ndarray]) -> float:
        return float(np.mean([energy_distance_sq(with_gaps(scale.encode(draw(n, base + i)),
                                                           gaps), test)
                              for i in range(SCORE_REPEATS)]))

    floor = score(real)
    board: list[dict[str, Any]] = []
    fitted: dict[str, FittedMap] = {}
    errors: list[Exception] = []
    for key in candidates:
        spent = time.monotonic() - start
        if fitted and time_budget is not None and spent > time_budget:
            board.append({"method": key, "skipped": f"time budget spent ({spent:.1f} s)"})
            continue
        t0 = time.monotonic()
        left = None if time_budget is None else max(time_budget - spent, 1)
        try:
            fitted[key] = _fit_one(key, source, noise=noise, seed=seed, time_budget=left,
                                   schema=schema)
        except (PushforwardError, ValueError, np.linalg.LinAlgError) as e:
            errors.append(e)
            board.append({"method": key, "skipped": f"failed: {e}"})
            continue
        fit_s = time.monotonic() - t0
        value = score(lambda k, s, m=fitted[key]: m.sample_table(k, seed=s))
        board.append({"method": key, "score": value, "floor": floor,
                      "ratio": value / floor if floor > 0 else float("inf"),
                      "fit_s": round(fit_s, 3)})
    if not fitted:
        raise errors[0]  # every candidate failed: the first one's error says why
    return board, fitted


#: The options ``pushforward.fit`` passes on to the race (declared: the method table reads them).
race.options = ("time_budget", "exclude")


def leaderboard_lines(board: list[dict[str, Any]]) -> list[str]:
    """One readable line per leaderboard row, best first (``fit`` prints them).

    Example:
        >>> leaderboard_lines([{"method": "copula", "score": 0.08, "floor": 0.002,
        ...                     "ratio": 40.0, "fit_s": 0.1},
        ...                    {"method": "gmm", "score": 0.0021, "floor": 0.002,
        ...                     "ratio": 1.05, "fit_s": 1.23}])
        ['gmm     1.05× floor (ED² 0.0021, floor 0.002)  fit 1.2 s', \
'copula  40× floor (ED² 0.08, floor 0.002)  fit 0.1 s']
    """
    done = sorted((r for r in board if "score" in r), key=lambda r: r["score"])
    lines = [f"{r['method']:<7} {r['ratio']:.3g}× floor (ED² {r['score']:.2g}, floor "
             f"{r['floor']:.2g})  fit {r['fit_s']:.1f} s" for r in done]
    return lines + [f"{r['method']:<7} skipped: {r['skipped']}" for r in board if "skipped" in r]
