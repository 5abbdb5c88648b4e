"""Codecs: the fitted, invertible step between a table and the tensor a core map sees.

Every fitted map is ``codec.decode ∘ core``: the core (a quantile map, a copula, a network, a
flow) works on ``codec.encode(table)`` and its outputs go back through ``codec.decode``. A codec
is fitted once on training data, saved with the model (``config()`` is JSON, ``state_dict()``
arrays) and rebuilt by :func:`codec_from_state`. Parts compose with :class:`Compose`:

- :class:`Constant` drops the columns that hold one value and writes that value back on
  decode, so a constant column (a blank border pixel, an always-"yes" flag) passes through any
  map exactly;
- :class:`Standardize` is the one per-column scaler (mean 0, standard deviation 1) of learned
  maps, which train in standardised units;
- :class:`Pixels` is the codec of images (a schema with an event shape): one global scale for
  every pixel, decoded onto the data's range and discrete support, constant pixels kept in the
  grid and written back exactly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import _checks
from .._limits import MAX_COLUMNS
from ..errors import PushforwardError
from .schema import Schema
from .table import MAX_CATEGORIES, coded

#: Parts a composed codec may have (a model file asking for more is refused).
MAX_PARTS = 16


def _positions(config: dict[str, Any], key: str, d: int, what: str = "column") -> list[int]:
    """``config[key]`` of a model file checked: distinct positions in 0 … d − 1."""
    values = config.get(key)
    if not isinstance(values, list) or len(set(map(str, values))) != len(values):
        raise PushforwardError(f"codec.{key} must list distinct {what} positions")
    return [_checks.integer(j, f"codec.{key}", 0, d - 1) for j in values]


class Codec:
    """A fitted map between tables (n, ``in_dim``) and encoded tensors (n, ``out_dim``)."""

    name: ClassVar[str] = ""
    in_dim: int
    out_dim: int

    def fit(self, x: np.ndarray) -> Codec:
        """Learn the codec's state from training rows ``x``; returns ``self``."""
        raise NotImplementedError

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Table rows (n, in_dim) → encoded rows (n, out_dim)."""
        raise NotImplementedError

    def decode(self, y: np.ndarray) -> np.ndarray:
        """Encoded rows (n, out_dim) → table rows (n, in_dim)."""
        raise NotImplementedError

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        """The derivative of :meth:`decode` applied to directions ``v`` (e.g. a velocity)."""
        raise NotImplementedError

    def log_scale(self) -> float:
        """log |det ∂decode/∂y| of the codec's affine scaling (0 for parts that only move or
        drop values): subtracted from a core's log-density to give the data's."""
        return 0.0

    def cells(self) -> np.ndarray | None:
        """Width, in encoded units, of the grid cell of each encoded column's values (pixels on
        few levels), for dequantised training; None when the encoded values are continuous."""
        return None

    def config(self) -> dict[str, Any]:
        """JSON settings that, with :meth:`state_dict`, rebuild the codec."""
        return {"name": self.name, "in_dim": self.in_dim}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted arrays."""
        return {}

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, np.ndarray]) -> Codec:
        raise NotImplementedError


class Standardize(Codec):
    """Per-column standardisation: y = (x − mean)/std, x = y·std + mean.

    A column with standard deviation 0 gets std 1 (it is only shifted).

    Example:
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> c = Standardize().fit(x)
        >>> c.encode(x).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> bool(np.allclose(c.decode(c.encode(x)), x))
        True
    """

    name = "standardize"

    def fit(self, x: np.ndarray) -> Standardize:
        x = np.asarray(x, dtype=np.float64)
        std = np.nanstd(x, axis=0) if np.isnan(x).any() else x.std(axis=0)  # gaps: ignored
        mean = np.nanmean(x, axis=0) if np.isnan(x).any() else x.mean(axis=0)
        self._set(np.nan_to_num(mean), np.where(std > 0, std, 1.0))
        return self

    def _set(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.std_ = np.asarray(std, dtype=np.float64)
        self.in_dim = self.out_dim = len(self.mean_)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.std_

    def decode(self, y: np.ndarray) -> np.ndarray:
        return y * self.std_ + self.mean_

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        return v * self.std_

    def log_scale(self) -> float:
        return float(np.log(self.std_).sum())

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_, "std": self.std_}

    @classmethod
    def from_state(cls, config, state) -> Standardize:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        _checks.tensor_keys(state, ("mean", "std"))
        std = _checks.array(state, "std", (d,))
        if not (std > 0).all():
            raise PushforwardError("codec tensor 'std' must be positive")
        c = cls()
        c._set(_checks.array(state, "mean", (d,)), std)
        return c


class Constant(Codec):
    """Drops the constant columns ``columns`` on encode and writes their values back on decode.

    Arguments:
        columns: positions of the constant columns in the table.

    Example:
        >>> x = np.array([[0.0, 1.0, 7.0], [0.0, 2.0, 7.0]])
        >>> c = Constant([0, 2]).fit(x)
        >>> c.encode(x).tolist()
        [[1.0], [2.0]]
        >>> c.decode(np.array([[5.0]])).tolist()
        [[0.0, 5.0, 7.0]]
    """

    name = "constant"

    def __init__(self, columns: list[int] | tuple[int, ...] = ()):
        self.columns = [int(j) for j in columns]

    def fit(self, x: np.ndarray) -> Constant:
        x = np.asarray(x, dtype=np.float64)
        self._set(x.shape[1], x[0, self.columns] if len(x) else np.zeros(len(self.columns)))
        return self

    def _set(self, in_dim: int, values: np.ndarray) -> None:
        self.in_dim = int(in_dim)
        self.values_ = np.asarray(values, dtype=np.float64)
        self.keep_ = np.setdiff1d(np.arange(self.in_dim), self.columns)
        self.out_dim = len(self.keep_)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, self.keep_]

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        out = np.empty((len(y), self.in_dim), dtype=np.result_type(y, np.float64))
        out[:, self.keep_] = y
        out[:, self.columns] = self.values_
        return out

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros((len(v), self.in_dim), dtype=np.result_type(v, np.float64))
        out[:, self.keep_] = v
        return out

    def config(self) -> dict[str, Any]:
        return {**super().config(), "columns": self.columns}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"values": self.values_}

    @classmethod
    def from_state(cls, config, state) -> Constant:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        columns = _positions(config, "columns", d)
        _checks.tensor_keys(state, ("values",))
        c = cls(columns)
        c._set(d, _checks.array(state, "values", (len(columns),)))
        return c


class Pixels(Codec):
    """Image pixels: one global scale for every pixel, and their discrete support on decode.

    Encode: y = (x − ``center_``)/``scale_``, the mean and standard deviation of all training
    pixels together (one number each, not one per pixel: a pixel's scale is the image's, and a
    nearly blank border pixel is not blown up); with ``scale=False`` (exact maps, which work in
    data units) center 0 and scale 1. Decode: x = y·scale + center, clipped to the training
    range [``lo_``, ``hi_``], then, when the pixels take few values (:func:`~pushforward.data.
    pixels.support_levels`: digits' 17 levels 0 … 16, an 8-bit image's 256), rounded to the
    nearest level ``levels_``, so generated images live on the data's support. Training sees
    the encoded levels as they are, except likelihood objectives, which see each value spread
    over its level's cell (:meth:`cells`, dequantisation); the rounding happens on output.

    Pixels that are constant in the training images (``pinned_``, a blank border) keep their
    place in the encoded tensor, so a convolutional net sees the whole (C, H, W) grid, and are
    written back exactly on decode, whatever the core made of them.

    Arguments:
        scale: standardise with the global mean and standard deviation (learned maps).

    Example:
        >>> x = np.array([[0.0, 4.0, 16.0], [0.0, 12.0, 8.0]])
        >>> c = Pixels().fit(x)
        >>> c.levels_.tolist() == [0.0, 4.0, 8.0, 12.0, 16.0], c.pinned_.tolist()
        (True, [0])
        >>> c.decode(c.encode(x)).tolist() == x.tolist()
        True
        >>> c.decode(c.encode(np.array([[3.0, 5.1, 99.0]]))).tolist()  # pinned, level, range
        [[0.0, 4.0, 16.0]]
    """

    name = "pixels"

    def __init__(self, *, scale: bool = True):
        self.scale = bool(scale)

    def fit(self, x: np.ndarray) -> Pixels:
        from .pixels import support_levels

        x = np.asarray(x, dtype=np.float64)
        if not x.size:
            raise PushforwardError("no pixels to fit the pixel codec to")
        lo, hi = x.min(axis=0), x.max(axis=0)
        pinned = np.flatnonzero(lo == hi)
        std = float(x.std()) if self.scale else 1.0
        self._set(x.shape[1], float(x.mean()) if self.scale else 0.0, std if std > 0 else 1.0,
                  float(lo.min()), float(hi.max()), support_levels(x), pinned, lo[pinned])
        return self

    def _set(self, in_dim, center, scale, lo, hi, levels, pinned, values) -> None:
        self.in_dim = self.out_dim = int(in_dim)
        self.center_, self.scale_, self.lo_, self.hi_ = center, scale, lo, hi
        self.levels_ = np.asarray(levels, dtype=np.float64)
        self.pinned_ = np.asarray(pinned, dtype=np.int64)
        self.values_ = np.asarray(values, dtype=np.float64)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.center_) / self.scale_

    def decode(self, y: np.ndarray) -> np.ndarray:
        from .pixels import to_levels

        x = np.clip(np.asarray(y, dtype=np.float64) * self.scale_ + self.center_, self.lo_,
                    self.hi_)
        if self.levels_.size:
            x = to_levels(x, self.levels_)
        x[:, self.pinned_] = self.values_
        return x

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        out = np.array(v, dtype=np.result_type(v, np.float64)) * self.scale_
        out[:, self.pinned_] = 0.0
        return out

    def log_scale(self) -> float:
        return (self.out_dim - len(self.pinned_)) * float(np.log(self.scale_))

    def cells(self) -> np.ndarray | None:
        # the mean gap between levels (evenly spaced for digits' k/16 and 8-bit data); pinned
        # pixels too, so a blank border pixel has a density (decode writes it back exactly)
        if self.levels_.size < 2:
            return None
        return np.full(self.out_dim, float(np.diff(self.levels_).mean()) / self.scale_)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "scale": self.scale, "levels": int(self.levels_.size),
                "pinned": self.pinned_.tolist()}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"affine": np.array([self.center_, self.scale_, self.lo_, self.hi_]),
                "levels": self.levels_, "values": self.values_}

    @classmethod
    def from_state(cls, config, state) -> Pixels:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        k = _checks.integer(config.get("levels"), "codec.levels", 0, 2**16)
        pinned = _positions(config, "pinned", d, "pixel")
        if not isinstance(config.get("scale"), bool):
            raise PushforwardError("codec.scale must be true or false")
        _checks.tensor_keys(state, ("affine", "levels", "values"))
        center, scale, lo, hi = _checks.array(state, "affine", (4,)).tolist()
        levels = _checks.array(state, "levels", (k,))
        if scale <= 0 or lo > hi or (np.diff(levels) <= 0).any():
            raise PushforwardError("codec pixels: scale must be positive, lo ≤ hi and the "
                                   "levels increasing")
        c = cls(scale=config["scale"])
        c._set(d, center, scale, lo, hi, levels, pinned,
               _checks.array(state, "values", (len(pinned),)))
        return c


def _blocks(sizes: list[int]) -> list[slice]:
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]


class _PerColumn(Codec):
    """Shared state of codecs that act on some ``columns`` of the table, each with a block of
    ``levels`` (its categories' values in the table) and ``seen_`` (1 where a level occurs in
    the training rows: only those are ever decoded)."""

    keys: ClassVar[tuple[str, ...]] = ("levels", "seen")
    optional: ClassVar[tuple[str, ...]] = ()

    def __init__(self, columns=(), levels=()):
        self.columns = [int(j) for j in columns]
        self.levels = [np.asarray(v, dtype=np.float64) for v in levels]

    def _fit_seen(self, x: np.ndarray) -> None:
        self.in_dim = x.shape[1]
        self.seen_ = np.concatenate([np.isin(v, x[:, j]) for j, v in
                                     zip(self.columns, self.levels, strict=True)] or [[]]
                                    ).astype(np.float64)

    def _index(self, x: np.ndarray, k: int) -> np.ndarray:
        """Each row's level index in column ``columns[k]`` (a value off the levels: nearest)."""
        v = self.levels[k]
        i = np.clip(np.searchsorted(v, x), 1, max(len(v) - 1, 1))
        return np.where(np.abs(x - v[i - 1]) <= np.abs(v[np.minimum(i, len(v) - 1)] - x), i - 1,
                        np.minimum(i, len(v) - 1))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "columns": self.columns,
                "sizes": [len(v) for v in self.levels]}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"levels": np.concatenate(self.levels or [np.zeros(0)]), "seen": self.seen_}

    @classmethod
    def from_state(cls, config, state):
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        columns, sizes = _positions(config, "columns", d), config.get("sizes")
        if not isinstance(sizes, list) or len(sizes) != len(columns):
            raise PushforwardError("codec.sizes must give one size per column")
        sizes = [_checks.integer(k, "codec.sizes", 1, MAX_CATEGORIES) for k in sizes]
        _checks.tensor_keys(state, cls.keys, cls.optional)
        flat = _checks.array(state, "levels", (sum(sizes),))
        seen = _checks.array(state, "seen", (sum(sizes),))
        levels = [flat[b] for b in _blocks(sizes)]
        if any((np.diff(v) <= 0).any() for v in levels) or not np.isin(seen, (0, 1)).all() or (
                any(seen[b].sum() == 0 for b in _blocks(sizes))):
            raise PushforwardError("codec levels must increase and each column must have a seen "
                                   "level (seen is 0 or 1)")
        c = cls(columns, levels)
        c.in_dim, c.seen_ = d, seen
        c._set_dims()
        c._restore(state, sizes)
        return c

    def _restore(self, state: dict[str, np.ndarray], sizes: list[int]) -> None:
        """Checked extra state of a subclass."""

    def _set_dims(self) -> None:
        self.out_dim = self.in_dim


class Missing(Codec):
    """Columns with gaps: each gets a missing-indicator column that the map generates with the
    rest, so every column's missing share (and where gaps occur with the other values) is
    modelled, not dropped.

    Encode: the gaps of ``columns`` are filled with draws from the column's observed values
    (``POOL`` training quantiles, drawn with a fixed seed: the same rows encode the same way),
    so the filled column keeps its distribution and a copula's margin no spike; one 0/1
    indicator per column is appended. Decode: a value whose indicator is above its cut (½, or
    the cut :meth:`calibrate` sets) is missing (NaN); the indicators are dropped.

    Example:
        >>> x = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 6.0]])
        >>> c = Missing([1]).fit(x)
        >>> y = c.encode(x)
        >>> y[0, 1] in (4.0, 6.0), y[:, 2].tolist()
        (True, [1.0, 0.0, 0.0])
        >>> c.decode(np.array([[0.5, 7.0, 0.8], [0.5, 7.0, 0.2]])).tolist()
        [[0.5, nan], [0.5, 7.0]]
    """

    #: Observed values kept per column to fill gaps from (its quantiles).
    POOL = 64

    name = "missing"

    def __init__(self, columns=()):
        self.columns = [int(j) for j in columns]

    def fit(self, x: np.ndarray) -> Missing:
        x = np.asarray(x, dtype=np.float64)
        part = x[:, self.columns]
        pool = np.zeros((len(self.columns), self.POOL))
        q = (np.arange(self.POOL) + 0.5) / self.POOL
        for k in range(len(self.columns)):
            seen = part[~np.isnan(part[:, k]), k]
            if len(seen):  # observed values only (inverted CDF): codes stay codes
                pool[k] = np.quantile(seen, q, method="inverted_cdf")
        self._set(x.shape[1], pool)
        self.share_ = np.isnan(part).mean(axis=0) if len(part) else np.zeros(len(self.columns))
        return self

    def _set(self, in_dim: int, pool: np.ndarray, cut: np.ndarray | None = None) -> None:
        self.in_dim, self.pool_ = int(in_dim), np.asarray(pool, dtype=np.float64)
        self.out_dim = self.in_dim + len(self.columns)
        self.cut_ = np.full(len(self.columns), 0.5) if cut is None else np.asarray(cut, float)

    def calibrate(self, y: np.ndarray) -> None:
        """Cut each indicator of rows ``y`` the map generates (as :meth:`decode` receives
        them) at its (1 − share) quantile, so the decoded missing share is the training
        rows' share: a learned map's indicator is a smooth value, not 0/1, and a fixed cut at
        ½ reads a blurred small share wrongly (flow matching: 5.9 points off at 300 steps).

        Example:
            >>> c = Missing([0]).fit(np.array([[np.nan], [1.0], [2.0], [3.0]]))  # share ¼
            >>> y = np.c_[np.zeros(1000), np.linspace(0.0, 0.4, 1000)]  # all below ½
            >>> c.calibrate(y)
            >>> float(np.isnan(c.decode(y)[:, 0]).mean())
            0.25
        """
        ind = np.asarray(y, dtype=np.float64)[:, self.in_dim:]
        if len(ind):
            self.cut_ = np.array([np.quantile(ind[:, k], 1 - self.share_[k])
                                  for k in range(len(self.columns))])

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64)
        gaps = np.isnan(x[:, self.columns])
        draw = np.random.default_rng(0).integers(0, self.POOL, size=gaps.shape)
        fill = self.pool_[np.arange(len(self.columns)), draw] if gaps.size else gaps
        x[:, self.columns] = np.where(gaps, fill, x[:, self.columns])
        return np.concatenate([x, gaps.astype(np.float64)], axis=1)

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        out = np.array(y[:, :self.in_dim])
        gaps = y[:, self.in_dim:] > self.cut_
        out[:, self.columns] = np.where(gaps, np.nan, out[:, self.columns])
        return out

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(v)[:, :self.in_dim]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "columns": self.columns}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"pool": self.pool_, "cut": self.cut_}

    @classmethod
    def from_state(cls, config, state) -> Missing:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        columns = _positions(config, "columns", d)
        c = cls(columns)
        _checks.tensor_keys(state, ("pool",), ("cut",))  # files before the cut: ½
        c._set(d, _checks.array(state, "pool", (len(columns), cls.POOL)),
               _checks.array(state, "cut", (len(columns),)) if "cut" in state else None)
        return c


class Round(Codec):
    """Integer columns: encode is the identity; decode rounds, and with ``clip`` clips to the
    training range [``lo_``, ``hi_``] (without it, tails that extrapolate stay whole numbers).

    Example:
        >>> c = Round([1]).fit(np.array([[0.5, 2.0], [0.7, 5.0]]))
        >>> c.decode(np.array([[0.5, 3.4], [0.1, 9.0]])).tolist()
        [[0.5, 3.0], [0.1, 5.0]]
    """

    name = "round"

    def __init__(self, columns=(), *, clip: bool = True):
        self.columns = [int(j) for j in columns]
        self.clip = bool(clip)

    def fit(self, x: np.ndarray) -> Round:
        x = np.asarray(x, dtype=np.float64)
        self.in_dim = self.out_dim = x.shape[1]
        part = x[:, self.columns]
        self.lo_, self.hi_ = np.nanmin(part, axis=0), np.nanmax(part, axis=0)
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        return x

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.array(y, dtype=np.float64)
        v = np.round(y[:, self.columns])
        y[:, self.columns] = np.clip(v, self.lo_, self.hi_) if self.clip else v
        return y

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        return v  # rounding is a step: the flow's velocity is taken before it

    def config(self) -> dict[str, Any]:
        return {**super().config(), "columns": self.columns, "clip": self.clip}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"lo": self.lo_, "hi": self.hi_}

    @classmethod
    def from_state(cls, config, state) -> Round:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        columns = _positions(config, "columns", d)
        if not isinstance(config.get("clip"), bool):
            raise PushforwardError("codec.clip must be true or false")
        c = cls(columns, clip=config["clip"])
        _checks.tensor_keys(state, ("lo", "hi"))
        c.lo_, c.hi_ = (_checks.array(state, k, (len(columns),)) for k in ("lo", "hi"))
        if (c.lo_ > c.hi_).any() or (np.round(c.lo_) != c.lo_).any() or (
                np.round(c.hi_) != c.hi_).any():
            raise PushforwardError("codec tensors 'lo' and 'hi' must be whole with lo ≤ hi")
        c.in_dim = c.out_dim = d
        return c


class Ordinal(_PerColumn):
    """Categorical columns kept as one ordinal column each (pointwise exact maps).

    Each column's levels are ranked by the mean, within each level, of the rows' scores on the
    main axis (first principal component) of the standardised other columns, so that a copula's
    rank correlation sees a category that shifts the numbers; levels never seen go last.
    Encode: a level's rank. Decode: the nearest rank of a level seen in training, so no unseen
    category comes out.

    Example:
        >>> x = np.array([[0.0, 5.0], [1.0, -1.0], [2.0, 0.0], [0.0, 6.0]])
        >>> c = Ordinal([0], [[0.0, 1.0, 2.0]]).fit(x)
        >>> c.encode(x)[:, 0].tolist()  # level 1 has the lowest x1, level 0 the highest
        [2.0, 0.0, 1.0, 2.0]
        >>> c.decode(np.array([[0.2, 0.0], [2.7, 0.0]]))[:, 0].tolist()
        [1.0, 0.0]
    """

    name = "ordinal"
    keys = ("levels", "seen", "order")

    def fit(self, x: np.ndarray) -> Ordinal:
        x = np.asarray(x, dtype=np.float64)
        self._fit_seen(x)
        self.out_dim = self.in_dim
        self.order_ = self._order(x)
        return self

    def _order(self, x: np.ndarray) -> np.ndarray:
        others = [j for j in range(x.shape[1]) if j not in self.columns]
        z = x[:, others]
        std = z.std(axis=0) if len(z) else np.zeros(len(others))
        z = (z[:, std > 0] - z[:, std > 0].mean(axis=0)) / std[std > 0]
        score = None
        if z.shape[1] and len(z) > 1:
            score = z @ np.linalg.svd(z, full_matrices=False)[2][0]
        blocks = []
        for k, v in enumerate(self.levels):
            if score is None:
                means = np.arange(len(v), dtype=np.float64)
            else:
                idx = self._index(x[:, self.columns[k]], k)
                sums = np.bincount(idx, weights=score, minlength=len(v))
                counts = np.bincount(idx, minlength=len(v))
                means = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
            blocks.append(np.argsort(means, kind="stable").astype(np.float64))
        return np.concatenate(blocks or [np.zeros(0)])

    def _orders(self) -> list[np.ndarray]:
        return [self.order_[b].astype(int) for b in _blocks([len(v) for v in self.levels])]

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64)
        for k, order in enumerate(self._orders()):
            rank = np.argsort(order)  # level index → its rank
            x[:, self.columns[k]] = rank[self._index(x[:, self.columns[k]], k)]
        return x

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.array(y, dtype=np.float64)
        for k, (order, b) in enumerate(zip(self._orders(),
                                           _blocks([len(v) for v in self.levels]), strict=True)):
            seen = np.flatnonzero(self.seen_[b][order] > 0).astype(np.float64)  # seen ranks
            col = y[:, self.columns[k]]
            i = np.clip(np.searchsorted(seen, col), 1, max(len(seen) - 1, 1))
            lo, hi = seen[i - 1], seen[np.minimum(i, len(seen) - 1)]
            rank = np.where(np.abs(col - lo) <= np.abs(hi - col), lo, hi).astype(int)
            y[:, self.columns[k]] = self.levels[k][order[rank]]
        return y

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        return v

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**super().state_dict(), "order": self.order_}

    def _restore(self, state: dict[str, np.ndarray], sizes: list[int]) -> None:
        order = _checks.array(state, "order", (sum(sizes),))
        if any(sorted(order[b].tolist()) != list(range(k))
               for b, k in zip(_blocks(sizes), sizes, strict=True)):
            raise PushforwardError("codec tensor 'order' must rank each column's levels "
                                   "(a permutation of 0..k−1)")
        self.order_ = order


class OneHot(_PerColumn):
    """Categorical columns as one-hot blocks (learned maps).

    Encode: the other columns in order, then one block of ``len(levels[k])`` 0/1 columns per
    categorical column (a value's nearest level is hot). Decode: the level whose block entry is
    largest (argmax), among the levels seen in training only; a core that outputs
    probabilities (a softmax head) is decoded the same way, its most probable category.

    Example:
        >>> x = np.array([[1.5, 2.0], [0.5, 0.0]])
        >>> c = OneHot([1], [[0.0, 1.0, 2.0]]).fit(x)
        >>> c.encode(x).tolist()
        [[1.5, 0.0, 0.0, 1.0], [0.5, 1.0, 0.0, 0.0]]
        >>> c.decode(np.array([[7.0, 0.2, 0.9, 0.1]])).tolist()
        [[7.0, 0.0]]
    """

    name = "onehot"
    optional = ("offset",)  # files written before the calibration have none: zeros

    def fit(self, x: np.ndarray) -> OneHot:
        x = np.asarray(x, dtype=np.float64)
        self._fit_seen(x)
        self._set_dims()
        self.share_ = np.concatenate([np.bincount(self._index(x[:, j], k), minlength=len(v))
                                      / max(len(x), 1) for k, (j, v) in
                                      enumerate(zip(self.columns, self.levels, strict=True))]
                                     or [np.zeros(0)])
        self.offset_ = np.zeros(len(self.share_))
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        return {**super().state_dict(), "offset": self.offset_}

    def _restore(self, state: dict[str, np.ndarray], sizes: list[int]) -> None:
        self.offset_ = (_checks.array(state, "offset", (sum(sizes),)) if "offset" in state
                        else np.zeros(sum(sizes)))

    #: Rounds of :meth:`calibrate`'s fixed-point iteration.
    ROUNDS = 60

    def calibrate(self, y: np.ndarray) -> None:
        """Offsets added to each block's scores before the argmax, so that the categories
        decoded from rows ``y`` the map generates have the training shares: an argmax over a
        smooth output favours the common categories (a blurred block's largest entry is most
        often the majority's). Fixed point: offset += log(target share / decoded share).

        Example:
            >>> c = OneHot([0], [[0.0, 1.0]]).fit(np.array([[0.0], [1.0], [1.0], [1.0]]))
            >>> y = np.c_[np.full(1000, 0.5), np.linspace(0.5, 0.7, 1000)]  # block (½, s)
            >>> c.calibrate(y)
            >>> round(float((c.decode(y)[:, 0] == 1).mean()), 2)  # ¾, not 1
            0.75
        """
        y = np.asarray(y, dtype=np.float64)
        rest = y[:, len(self.keep_):]
        offset = np.zeros(self.out_dim - len(self.keep_))
        for b in _blocks([len(v) for v in self.levels]):
            scores, want = rest[:, b], self.share_[b]
            best, best_tv = np.zeros(b.stop - b.start), np.inf
            o = np.zeros_like(best)
            for _ in range(self.ROUNDS):
                pick = np.argmax(np.where(self.seen_[b] > 0, scores + o, -np.inf), axis=1)
                got = np.bincount(pick, minlength=len(want)) / max(len(pick), 1)
                tv = 0.5 * np.abs(got - want).sum()
                if tv < best_tv:
                    best, best_tv = o.copy(), tv
                step = np.log((want + 1e-3) / (got + 1e-3))
                o = o + 0.5 * step * max(float(scores.std()), 1e-3)
            offset[b] = best
        self.offset_ = offset

    def _set_dims(self) -> None:
        self.keep_ = np.setdiff1d(np.arange(self.in_dim), self.columns)
        self.out_dim = len(self.keep_) + sum(len(v) for v in self.levels)

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        blocks = [np.eye(len(v))[self._index(x[:, j], k)]
                  for k, (j, v) in enumerate(zip(self.columns, self.levels, strict=True))]
        return np.concatenate([x[:, self.keep_], *blocks], axis=1)

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        out = np.empty((len(y), self.in_dim))
        out[:, self.keep_] = y[:, :len(self.keep_)]
        rest = y[:, len(self.keep_):] + self.offset_
        for k, b in enumerate(_blocks([len(v) for v in self.levels])):
            scores = np.where(self.seen_[b] > 0, rest[:, b], -np.inf)
            out[:, self.columns[k]] = self.levels[k][np.argmax(scores, axis=1)]
        return out

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros((len(v), self.in_dim), dtype=np.result_type(v, np.float64))
        out[:, self.keep_] = v[:, :len(self.keep_)]
        return out


class Compose(Codec):
    """Parts applied in order on encode and in reverse order on decode (none: the identity).

    Example:
        >>> x = np.array([[0.0, 1.0], [0.0, 3.0]])
        >>> c = Compose([Constant([0]), Standardize()]).fit(x)
        >>> c.encode(x).tolist(), c.out_dim
        ([[-1.0], [1.0]], 1)
        >>> c.decode(c.encode(x)).tolist()
        [[0.0, 1.0], [0.0, 3.0]]
    """

    name = "compose"

    def __init__(self, parts: list[Codec] | tuple[Codec, ...] = ()):
        self.parts = list(parts)

    def fit(self, x: np.ndarray) -> Compose:
        x = np.asarray(x, dtype=np.float64)
        self.in_dim = x.shape[1]
        for part in self.parts:
            x = part.fit(x).encode(x)
        self.out_dim = x.shape[1]
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        for part in self.parts:
            x = part.encode(x)
        return x

    def decode(self, y: np.ndarray) -> np.ndarray:
        for part in reversed(self.parts):
            y = part.decode(y)
        return y

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        for part in reversed(self.parts):
            v = part.decode_tangent(v)
        return v

    def log_scale(self) -> float:
        return float(sum(p.log_scale() for p in self.parts))

    def cells(self) -> np.ndarray | None:
        return self.parts[-1].cells() if self.parts else None  # the encoded values' own part

    def off_constants(self, x: np.ndarray) -> np.ndarray:
        """Rows of ``x`` whose constant columns (or pinned pixels) differ from their one value:
        the codec's point masses, where a density is 0."""
        off = np.zeros(len(x), dtype=bool)
        const, pixels = self.part(Constant), self.part(Pixels)
        if const is not None:
            off |= (x[:, const.columns] != const.values_).any(axis=1)
        if pixels is not None and len(pixels.pinned_):  # its columns: those Constant kept
            kept = x if const is None else const.encode(x)
            off |= (kept[:, pixels.pinned_] != pixels.values_).any(axis=1)
        return off

    def calibrate(self, y: np.ndarray) -> bool:
        """Set each part's decoding cuts from encoded rows ``y`` that a learned map generates
        (``Missing``'s indicator cuts, ``OneHot``'s category offsets), so the decoded missing
        shares and category shares are the training rows'; True when a part has any."""
        done = False
        for part in reversed(self.parts):  # each part sees what decode hands it
            if hasattr(part, "calibrate"):
                part.calibrate(y)
                done = True
            y = part.decode(y)
        return done

    def part(self, cls: type[Codec]) -> Codec | None:
        """The first part of type ``cls``, or None."""
        return next((p for p in self.parts if isinstance(p, cls)), None)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "out_dim": self.out_dim,
                "parts": [p.config() for p in self.parts]}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, p in enumerate(self.parts) for k, v in p.state_dict().items()}

    @classmethod
    def from_state(cls, config, state) -> Compose:
        configs = config.get("parts")
        if not isinstance(configs, list) or len(configs) > MAX_PARTS:
            raise PushforwardError(f"codec.parts must be a list of at most {MAX_PARTS} codecs")
        known = {f"{i}.{k}" for i in range(len(configs))
                 for k in ("mean", "std", "values", "lo", "hi", "levels", "seen", "pool",
                           "order", "affine", "cut", "offset")}
        _checks.tensor_keys(state, (), known)
        parts = [codec_from_state(_checks.mapping(c, "codec part"),
                                  {k[len(f"{i}."):]: v for k, v in state.items()
                                   if k.startswith(f"{i}.")})
                 for i, c in enumerate(configs)]
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        c = cls(parts)
        c.in_dim, c.out_dim = d, d
        for p in parts:  # each part takes what the one before it gives
            if p.in_dim != c.out_dim:
                raise PushforwardError(f"codec part {p.name!r} takes {p.in_dim} columns, "
                                       f"gets {c.out_dim}")
            c.out_dim = p.out_dim
        if config.get("out_dim") != c.out_dim:
            raise PushforwardError(f"codec.out_dim must be {c.out_dim}")
        return c


#: Codec parts by the name in their config.
CODECS: dict[str, type[Codec]] = {"standardize": Standardize, "constant": Constant,
                                  "round": Round, "ordinal": Ordinal, "onehot": OneHot,
                                  "missing": Missing, "pixels": Pixels,
                                  "compose": Compose}


def codec_from_state(config: dict[str, Any], state: dict[str, np.ndarray]) -> Codec:
    """Rebuild a codec from its :meth:`~Codec.config` and :meth:`~Codec.state_dict`."""
    name = config.get("name") if isinstance(config, dict) else None
    if name not in CODECS:
        raise PushforwardError(f"unknown codec {str(name)[:40]!r}; valid: {', '.join(CODECS)}")
    return CODECS[name].from_state(config, state)


def build_codec(schema: Schema, x: np.ndarray, *, standardize: bool,
                onehot: bool | None = None, clip: bool = True, grid: bool | None = None) -> Compose:
    """The codec of ``schema`` fitted on training rows ``x``.

    Images (a schema with an ``event_shape``, no gaps, no categories) get :class:`Pixels`: one
    global scale (with ``standardize``), decoded onto the training range and discrete support.
    With ``grid`` (default: ``standardize``, i.e. learned maps and mixtures, whose convolutional
    nets need the whole (C, H, W) grid; the schema's ``encoded_dim``) the constant pixels stay
    in the encoded tensor and are pinned on decode; without it (pointwise exact maps) they are
    dropped first by :class:`Constant`, as for a table.

    Columns with gaps in ``x`` get a missing indicator each (:class:`Missing`; decoded to
    NaN). Integer columns are rounded on decode (:class:`Round`; clipped to the training range
    unless ``clip`` is False, for maps whose tails extrapolate). Categorical columns are one-hot
    blocks (:class:`OneHot`, ``onehot``; the default for learned maps, ``standardize``) or one
    ordinal column each (:class:`Ordinal`, for pointwise exact maps, whose empirical margins
    reproduce each category's frequency). Constant columns are dropped (and restored on
    decode); with ``standardize`` the others are standardised (learned maps); exact maps, which
    are equivariant to each column's scale, keep data units.

    Raises:
        PushforwardError: every column constant (nothing to model), or a categorical column
            whose categories are not numbers or codes.

    Example:
        >>> from pushforward.data.schema import infer_schema
        >>> x = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0]])
        >>> build_codec(infer_schema(x), x, standardize=True).encode(x).ravel().round(3).tolist()
        [-1.225, 1.225, 0.0]
    """
    schema.check_modelled()
    onehot = standardize if onehot is None else onehot
    cat = schema.indices("categorical")
    levels = [_levels(schema.columns[j]) for j in cat]
    parts: list[Codec] = []
    x = np.asarray(x, dtype=np.float64)
    gaps = np.flatnonzero(np.isnan(x).any(axis=0)) if len(x) else []
    if schema.images and not len(gaps) and len(x):
        const = [] if (standardize if grid is None else grid) else _constant(schema, x)
        return Compose([Constant(const)] * bool(const) + [Pixels(scale=standardize)]).fit(x)
    if len(gaps):  # first: every part after it sees filled values (indicators at the end)
        parts.append(Missing(gaps))
    if schema.indices("integer"):
        parts.append(Round(schema.indices("integer"), clip=clip))
    if cat and not onehot:
        parts.append(Ordinal(cat, levels))
    const = schema.indices("constant") if standardize else _constant(schema, x)
    if const:
        parts.append(Constant(const))
    if cat and onehot:  # positions once the constant columns are gone
        parts.append(OneHot([j - sum(c < j for c in const) for j in cat], levels))
    if standardize:
        parts.append(Standardize())
    return Compose(parts).fit(x)


def _constant(schema: Schema, x: np.ndarray) -> list[int]:
    """The constant columns of an exact map's codec: the schema's, and the numeric columns
    that hold one value in the training rows ``x`` (a split can leave a rarely inked pixel
    blank): a per-column map cannot model a column without spread, and decodes it as that
    value."""
    numeric = [j for j in schema.indices("continuous") + schema.indices("integer")
               if len(x) and x[0, j] == x[0, j]]  # a column with gaps is Missing's
    flat = [j for j in numeric if (x[:, j] == x[0, j]).all()]
    return sorted(schema.indices("constant") + flat)


def _levels(column) -> np.ndarray:
    """The values a categorical column takes in the table: codes 0..k−1, else its numbers."""
    if coded(column):
        return np.arange(len(column.categories), dtype=np.float64)
    try:
        return np.asarray(column.categories, dtype=np.float64)
    except (TypeError, ValueError):
        raise PushforwardError(f"column {column.name!r}: categories {column.categories[:3]!r} "
                               "are not numbers; read the data with pushforward.load_source "
                               "(or fit), which codes them") from None
