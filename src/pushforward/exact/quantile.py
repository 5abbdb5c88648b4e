"""The empirical quantile map per column, with clipped or extrapolated tails."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _checks
from ..data.codec import build_codec
from ..data.schema import Schema, infer_schema
from ..errors import PushforwardError
from ..model import FittedMap
from . import inverse_cdf as _icdf
from . import sketch as _sketch

TAILS = ("extrapolate", "clip")

#: Below this many excesses the tail shape ξ is not estimated: an exponential tail (ξ = 0).
MIN_GPD = 10


def as_data(x: Any, columns: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """A float (m, d) array with at least two rows, and its column names; missing values (NaN)
    are kept for the codec to model, infinities refused."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise PushforwardError(f"data must have shape (n, d), got {tuple(x.shape)}")
    names = list(columns) if columns is not None else [f"x{i}" for i in range(x.shape[1])]
    if len(x) < 2:
        raise PushforwardError(f"need at least 2 rows of data to fit a map, got {len(x)}")
    bad = np.isinf(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise PushforwardError(f"row {r}, column {names[c]!r}: {x[r, c]} is not a finite number")
    return x, names


def encoded_data(x: Any, columns: list[str] | None, schema: Schema | None, *,
                 clip: bool = True):
    """(data, names, schema, codec): the checked data, its schema (inferred when None) and the
    codec an exact map fits its core to (constant columns dropped, category codes one ordinal
    column each, data units kept; integers rounded, clipped to their range with ``clip``)."""
    x, names = as_data(x, columns)
    schema = schema if schema is not None else infer_schema(x, names)
    return x, names, schema, build_codec(schema, x, standardize=False, clip=clip)


def check_not_constant(x: np.ndarray, columns: list[str]) -> None:
    """A clear error for a column whose values are all equal (no quantile map exists)."""
    constant = np.flatnonzero(x.min(axis=0) == x.max(axis=0))
    if constant.size:
        j = constant[0]
        raise PushforwardError(
            f"column {columns[j]!r} is constant (every value is {x[0, j]:g}): a map needs at "
            "least two distinct values; drop the column")


def _gpd_pwm(e: np.ndarray) -> tuple[float, float]:
    """Generalized-Pareto (ξ, σ) of sorted excesses e ≥ 0 by probability-weighted moments.

    a0 = E[X] = σ/(1−ξ), a1 = E[X(1−F(X))] = σ/(2(2−ξ)); with R = a0/(2 a1):
    ξ = (R−2)/(R−1), σ = a0 (1−ξ). ξ is kept in [−1, 0.9] (uniform-like to Cauchy-like).
    """
    k = len(e)
    a0 = e.mean()
    a1 = np.dot(e, (k - 1 - np.arange(k)) / (k - 1)) / k
    if a0 <= 0 or a1 <= 0:
        return 0.0, float(a0)
    r = a0 / (2 * a1)
    xi = (r - 2) / (r - 1) if r > 1 else 0.9
    xi = float(np.clip(xi, -1.0, 0.9))
    return xi, float(a0 * (1 - xi))


def _fit_tail(top: np.ndarray) -> tuple[float, float]:
    """(ξ, σ) of the tail beyond top[-1], from the sorted top order statistics ``top``.

    The excesses over the threshold t = top[0] are fitted by a generalized Pareto law; by its
    threshold stability the excess over the sample maximum is GPD(ξ, σ + ξ (max − t)).
    """
    e = top[1:] - top[0]
    xi, sigma = _gpd_pwm(e) if len(e) >= MIN_GPD else (0.0, float(e.mean()))
    sigma_max = sigma + xi * (top[-1] - top[0])
    if sigma_max <= 0:  # the fitted endpoint lies inside the data: fall back to exponential
        xi, sigma_max = 0.0, float(e.mean())
    return xi, float(sigma_max)


def fit_tails(bottom: np.ndarray, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) tails, (2, d) rows (ξ, σ), from each column's k + 1 smallest and largest
    values (both sorted ascending; k = √m of m values)."""
    lower = np.column_stack([_fit_tail(-bottom[::-1, j]) for j in range(bottom.shape[1])])
    upper = np.column_stack([_fit_tail(top[:, j]) for j in range(top.shape[1])])
    return lower.reshape(2, -1), upper.reshape(2, -1)


def _excess(t: np.ndarray, xi: float) -> np.ndarray:
    """GPD quantile in units of σ at log-odds t = log(s_max / s): (e^{ξt} − 1)/ξ."""
    return t if xi == 0.0 else np.expm1(xi * t) / xi


def _log_excess(e: np.ndarray, xi: float) -> np.ndarray:
    """Inverse of :func:`_excess`: t = log(1 + ξ e)/ξ (∞ beyond a bounded tail's endpoint)."""
    if xi == 0.0:
        return e
    return np.log1p(np.maximum(xi * e, -1.0)) / xi


class QuantileMap(FittedMap):
    """The empirical quantile map per column: piecewise linear through the sorted sample.

    With order statistics x₍₁₎ ≤ … ≤ x₍ₘ₎ and u = F_noise(z), the map is linear between the
    points (pᵢ, x₍ᵢ₎). ``tails="extrapolate"`` uses pᵢ = i/(m+1), so a new sample falls
    beyond the training range with probability 2/(m+1), and continues beyond x₍ₘ₎ with a
    generalized-Pareto tail, x = x₍ₘ₎ + σ((s₍ₘ₎/s)^ξ − 1)/ξ with s = 1 − u computed by the
    noise's sf, (ξ, σ) fitted by probability-weighted moments to the top k = √m order
    statistics (exponential, ξ = 0, when k < 10); the lower tail mirrors it.
    ``tails="clip"`` uses pᵢ = (i−1)/(m−1): the whole noise maps into [x₍₁₎, x₍ₘ₎], as
    scikit-learn's ``QuantileTransformer`` does. Ties keep the map monotone (flat on the
    tied block); :meth:`transform` maps a tied value to the middle of its block and data
    beyond a clipped or bounded range to the noise's end (±∞ for normal noise).

    With ``knots=K`` (fewer than m) the map keeps K points per column instead of all m: the
    full map's values at K positions evenly spaced from p₁ to pₘ, so the ends (x₍₁₎, x₍ₘ₎ and
    the tails fitted on all m values) are unchanged and the interior is the full map's
    interpolant at a coarser grid (its KS cost: docs/benchmarks.md). Without it the map, and
    its model file, hold every training value.

    Arguments:
        tails: ``"extrapolate"`` (default) or ``"clip"``.
        noise: the noise the map starts from, ``"normal"`` (default) or ``"uniform"``.
        knots: keep at most this many points per column (None: every training value).

    Returns:
        ``fit(x)`` returns the map; learned state: ``quantiles_`` (m, d) sorted columns,
        ``positions_`` (m,), ``lower_tail_`` and ``upper_tail_`` (2, d) rows (ξ, σ).

    References:
        Hosking & Wallis, "Parameter and quantile estimation for the generalized Pareto
        distribution", Technometrics 29(3), 1987 (probability-weighted moments).
        Pickands, "Statistical inference using extreme order statistics", Ann. Statist. 1975.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).standard_t(3, size=(2000, 1))
        >>> m = QuantileMap(tails="extrapolate", noise="uniform").fit(x)
        >>> bool(m.inverse_transform(m.positions_[[0, 999, 1999], None]).ravel().tolist()
        ...      == np.sort(x[:, 0])[[0, 999, 1999]].tolist())
        True
        >>> bool((m.sample(100_000, seed=0) > x.max()).mean() > 0)
        True
    """

    kind = "quantile"
    _param_names = ("tails", "noise", "knots")

    def __init__(self, *, tails: str = "extrapolate", noise: str = "normal",
                 knots: int | None = None):
        self.tails = tails
        self.noise = noise
        self.knots = knots

    def fit(self, x: Any, y: Any = None, *, columns: list[str] | None = None,
            schema: Schema | None = None) -> QuantileMap:
        """Sort each column, fit the tails and keep ``knots`` points; constant columns pass
        through. ``y`` is ignored."""
        if self.tails not in TAILS:
            raise PushforwardError(f"unknown tails {self.tails!r}; valid: {', '.join(TAILS)}")
        check_knots(self.knots)
        x, names, schema, codec = encoded_data(x, columns, schema, clip=self.tails == "clip")
        q = np.sort(codec.encode(x), axis=0)
        lower = np.zeros((2, q.shape[1]))
        upper = np.zeros((2, q.shape[1]))
        if self.tails == "extrapolate":
            k = int(np.clip(round(np.sqrt(len(q))), 1, len(q) - 1))
            lower, upper = fit_tails(q[:k + 1], q[-k - 1:])
        self._init_map(method="quantile", noise=self.noise, latent_dim=q.shape[1],
                       dim=x.shape[1], columns=names,
                       settings={"tails": self.tails, "knots": self.knots}, codec=codec,
                       schema=schema)
        p = _positions(len(q), self.tails)
        if self.knots is not None and self.knots < len(q):
            coarse = np.linspace(p[0], p[-1], self.knots)
            q = np.column_stack([np.interp(coarse, p, q[:, j]) for j in range(q.shape[1])])
            p = coarse
        self._set_state(q, lower, upper, p)
        return self

    def _set_state(self, q: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   positions: np.ndarray | None = None) -> None:
        self.quantiles_, self.lower_tail_, self.upper_tail_ = q, lower, upper
        self.positions_ = (_positions(len(q), self.settings["tails"]) if positions is None
                           else positions)
        self._knots = [_unique_knots(q[:, j], self.positions_) for j in range(q.shape[1])]

    # ------------------------------------------------------------------ the map
    def _inverse(self, z: np.ndarray) -> np.ndarray:
        noise = _icdf.as_dist(self.noise_)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.column_stack([self._column(z[:, j], j, noise)
                                    for j in range(self.core_dim)])

    def _column(self, z: np.ndarray, j: int, noise) -> np.ndarray:
        u = noise.cdf(z)
        x = np.interp(u, self.positions_, self.quantiles_[:, j])
        if self.settings["tails"] == "clip":
            return x
        p1 = self.positions_[0]
        lo = u < p1
        if lo.any():
            xi, sigma = self.lower_tail_[:, j]
            t = np.log(p1) - noise.logcdf(z[lo])
            x[lo] = self.quantiles_[0, j] - sigma * _excess(t, xi)
        hi = u > self.positions_[-1]
        if hi.any():
            xi, sigma = self.upper_tail_[:, j]
            t = np.log(p1) - noise.logsf(z[hi])  # s at x₍ₘ₎ is 1 − pₘ = p₁
            x[hi] = self.quantiles_[-1, j] + sigma * _excess(t, xi)
        return x

    def _transform(self, x: np.ndarray) -> np.ndarray:
        """Encoded data back to noise, inverting :meth:`_inverse` (ties: see above)."""
        noise = _icdf.as_dist(self.noise_)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.column_stack([self._inverse_column(x[:, j], j, noise)
                                    for j in range(self.core_dim)])

    def _inverse_column(self, x: np.ndarray, j: int, noise) -> np.ndarray:
        v, first, last = self._knots[j]
        k = np.clip(np.searchsorted(v, x, side="right") - 1, 0, len(v) - 2)
        frac = (x - v[k]) / (v[k + 1] - v[k])
        u = last[k] + frac * (first[k + 1] - last[k])
        exact = x == v[k]
        u[exact] = 0.5 * (first[k][exact] + last[k][exact])
        u[x == v[-1]] = 0.5 * (first[-1] + last[-1])
        u[x < v[0]] = first[0]
        u[x > v[-1]] = last[-1]
        z = np.where(u <= 0.5, noise.ppf(u), noise.isf(1.0 - u))
        if self.settings["tails"] == "clip":
            return z
        p1 = self.positions_[0]
        lo = x < v[0]
        if lo.any():
            xi, sigma = self.lower_tail_[:, j]
            t = _log_excess((v[0] - x[lo]) / sigma, xi)
            z[lo] = _from_log(noise, np.log(p1) - t, lower=True)
        hi = x > v[-1]
        if hi.any():
            xi, sigma = self.upper_tail_[:, j]
            t = _log_excess((x[hi] - v[-1]) / sigma, xi)
            z[hi] = _from_log(noise, np.log(p1) - t, lower=False)
        return z

    # ------------------------------------------------------------------ files
    def _state(self) -> dict[str, np.ndarray]:
        state = {"quantiles": self.quantiles_, "lower_tail": self.lower_tail_,
                 "upper_tail": self.upper_tail_}
        if self.settings.get("knots") is not None:  # positions no longer follow from m
            state["positions"] = self.positions_
        return state

    @classmethod
    def _from_state(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> QuantileMap:
        _checks.tensor_keys(tensors, ("quantiles", "lower_tail", "upper_tail"), ("positions",))
        tails = _checks.string(meta["settings"].get("tails"), "settings.tails", TAILS)
        knots = meta["settings"].get("knots")
        check_knots(knots)
        m = cls(tails=tails, noise=meta["noise"], knots=knots)
        _icdf.restore(m, meta, pointwise=True)
        m._set_state(*check_state(tensors, meta["core_dim"], tails))
        return m


def check_knots(knots: Any) -> None:
    """None, or an integer of at least 2 (a map needs its two ends)."""
    if knots is not None and (isinstance(knots, bool) or not isinstance(knots, (int, np.integer))
                              or knots < 2):
        raise PushforwardError(f"knots must be an integer of at least 2, got {knots!r}")


def _positions(m: int, tails: str) -> np.ndarray:
    """The noise probabilities of m sorted values: (i−1)/(m−1) for clip, i/(m+1) otherwise."""
    return np.arange(m) / (m - 1) if tails == "clip" else np.arange(1, m + 1) / (m + 1)


def check_state(tensors: dict[str, np.ndarray], d: int,
                tails: str) -> tuple[np.ndarray | None, ...]:
    """A quantile map's tensors from a file: sorted, non-constant columns, valid tails and, for
    a map with knots, increasing positions in [0, 1] (symmetric ends: the tails assume it)."""
    q = _checks.array(tensors, "quantiles", (None, d))
    if len(q) < 2 or (np.diff(q, axis=0) < 0).any() or (q[0] == q[-1]).any():
        raise PushforwardError("tensor 'quantiles' must hold at least 2 rows, sorted and not "
                               "constant in each column")
    tail_rows = [_checks.array(tensors, name, (2, d)) for name in ("lower_tail", "upper_tail")]
    for name, t in zip(("lower_tail", "upper_tail"), tail_rows, strict=True):
        if ((t[0] < -1) | (t[0] > 0.9) | (t[1] < 0)).any():
            raise PushforwardError(f"tensor {name!r} must hold a shape in [-1, 0.9] and a scale "
                                   ">= 0 per column")
    positions = None
    if "positions" in tensors:
        positions = _checks.array(tensors, "positions", (len(q),)).astype(np.float64)
        ends = (0.0, 1.0) if tails == "clip" else (positions[0], 1.0 - positions[0])
        if ((np.diff(positions) <= 0).any() or not 0 <= positions[0] < 0.5
                or abs(positions[0] - ends[0]) > 1e-12 or abs(positions[-1] - ends[1]) > 1e-12):
            raise PushforwardError("tensor 'positions' must increase from p to 1 − p "
                                   "(0 to 1 for clipped tails)")
    return q.astype(np.float64), *(t.astype(np.float64) for t in tail_rows), positions


def _from_log(noise, logp: np.ndarray, *, lower: bool) -> np.ndarray:
    """The noise value whose cdf (``lower``) or sf is exp(logp), accurate for tiny logp."""
    ilog = noise.log_inverses()
    return ilog[0 if lower else 1](logp)


def _unique_knots(q: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of sorted q with the first and last position of each tied block."""
    v, start, count = np.unique(q, return_index=True, return_counts=True)
    return v, p[start], p[start + count - 1]


def fit_quantile(source, *, noise: str = "normal", latent_dim: int | None = None,
                 seed: int | None = None, schema: Schema | None = None,
                 tails: str = "extrapolate", n_train: int = 20_000,
                 knots: int | None = None) -> QuantileMap:
    """Fit a :class:`QuantileMap` to the source's data (or ``n_train`` fresh draws), keeping at
    most ``knots`` points per column (None: every training value)."""
    schema = _icdf.check_pointwise("quantile", source, schema, latent_dim)
    x = source.training_sample(n_train, seed=seed)
    if _sketch.use_sketch(x):  # more rows on disk than are sorted in memory: one pass
        codec, sk = _sketch.sketched(x, schema, tails=tails, seed=seed)
        m = from_sketches(sk, codec, columns=source.columns, schema=schema, tails=tails,
                          noise=noise, knots=knots)
        m.seed = seed
        return m
    m = QuantileMap(tails=tails, noise=noise, knots=knots).fit(x, columns=source.columns,
                                                               schema=schema)
    m.seed = seed
    return m


def from_sketches(sk, codec, *, columns: list[str], schema: Schema | None, tails: str,
                  noise: str, knots: int | None) -> QuantileMap:
    """The :class:`QuantileMap` of sketched columns (:mod:`pushforward.exact.sketch`): the exact
    extremes and the sketch's quantiles as its knots, the tails fitted on the extremes."""
    q, positions = _sketch.knot_table(sk, tails, knots)
    d = q.shape[1]
    lower, upper = (fit_tails(sk.bottom, sk.top) if tails == "extrapolate"
                    else (np.zeros((2, d)), np.zeros((2, d))))
    m = QuantileMap(tails=tails, noise=noise, knots=len(q))
    m._init_map(method="quantile", noise=noise, latent_dim=d, dim=len(columns),
                columns=list(columns), settings={"tails": tails, "knots": len(q)}, codec=codec,
                schema=schema)
    m._set_state(q, lower, upper, positions)
    m.info["sketch"] = _sketch.sketch_info(sk.rows)
    return m


#: The options ``pushforward.fit`` passes on (declared: the method table reads them).
fit_quantile.options = ("tails", "knots", "n_train")
