"""Quantile maps and copulas from more rows than fit in memory: one pass, a sketch per column.

A file on disk of more than :data:`SKETCH_ROWS` training rows is not sorted in memory: each
encoded column goes, chunk by chunk, into a KLL quantile sketch (Apache DataSketches,
``datasketches``) of :data:`KLL_K` (a few hundred kB whatever the row count), and its
:func:`tail_rows` smallest and largest values are kept exactly. The map is then the
:class:`~pushforward.exact.quantile.QuantileMap` with a knot at each kept extreme (√m + 1 at
each end: there, and in the fitted tails beyond, it is the exact map) and ``knots`` points
(default :data:`SKETCH_KNOTS`) evenly spaced between them, the sketch's quantiles, whose rank is
within :data:`RANK_ERROR` of the exact one (KLL's bound, 99 % confidence; measured in
docs/benchmarks.md). A copula's correlation of normal scores is then accumulated in one more
pass over the chunks (:func:`correlation`: sums of z and z zᵀ), the scores given by the
sketched marginals. This module gives the parts (:func:`sketched`, :func:`knot_table`);
``quantile.from_sketches`` and ``copula.fit_copula`` build the maps from them.

KLL compacts at random and DataSketches seeds it from the system clock, with no way to give it
the fit's seed (datasketches 5.2 exposes none): two sketched fits of the same file with the same
seed differ, within the rank error (measured: the median of 2·10⁶ normal values moved by 10⁻⁵
between two runs). The model records so (``info["sketch"]["repeatable"]``) and ``pushforward fit``
says so beside the seed, instead of "--seed N repeats this fit".

References:
    Karnin, Lang & Liberty, "Optimal quantile approximation in streams", FOCS 2016 (KLL).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.codec import build_codec
from ..data.rows import chunks, on_disk, sample_rows
from ..errors import PushforwardError

__all__ = ["SKETCH_ROWS", "KLL_K", "SKETCH_KNOTS", "RANK_ERROR", "use_sketch", "ColumnSketches",
           "sketched", "knot_table", "correlation", "sketch_info"]

#: Training rows of a file on disk above which an exact map is fitted from sketches (2²⁴:
#: sorting that many float64 values takes 134 MB a column, and a copy of the rows as much).
SKETCH_ROWS = 1 << 24

#: The KLL sketch's size parameter: its normalized rank error is :data:`RANK_ERROR`.
KLL_K = 16384

#: KLL's normalized rank error for :data:`KLL_K` (99 % confidence): 1.8 · 10⁻⁴.
RANK_ERROR = 1.83e-4

#: Points per column of a sketched map (its model file: 128 kB a column).
SKETCH_KNOTS = 16385

#: Rows the codec (constant columns, integers, categories) is fitted on.
CODEC_ROWS = 1_000_000


def use_sketch(data: Any) -> bool:
    """Whether an exact map of ``data`` is fitted from sketches: many rows on disk."""
    return data is not None and on_disk(data) and len(data) > SKETCH_ROWS


def tail_rows(m: int) -> int:
    """Order statistics kept exactly at each end: the exact map's tail fit uses √m + 1."""
    return int(np.clip(round(np.sqrt(m)), 1, m - 1)) + 1


def _kll():
    try:
        from datasketches import kll_doubles_sketch
    except ImportError:
        raise PushforwardError('an exact map of more than 2^24 rows on disk needs Apache '
                               'DataSketches: pip install datasketches') from None
    return kll_doubles_sketch


class ColumnSketches:
    """A KLL sketch per column plus its ``keep`` smallest and largest values, exactly.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(10_000, 2))
        >>> s = ColumnSketches(2, keep=101)
        >>> for i in range(0, 10_000, 3000):
        ...     s.update(x[i: i + 3000])
        >>> s.rows, bool((s.top[:, 0] == np.sort(x[:, 0])[-101:]).all())
        (10000, True)
    """

    def __init__(self, d: int, *, keep: int, k: int = KLL_K):
        kll = _kll()
        self.sketches = [kll(k) for _ in range(d)]
        self.keep, self.rows = int(keep), 0
        self.top = np.empty((0, d))
        self.bottom = np.empty((0, d))

    def update(self, w: np.ndarray) -> None:
        """Add the rows of an encoded chunk (n, d)."""
        w = np.asarray(w, dtype=np.float64)
        if np.isnan(w).any():
            raise PushforwardError("a column has missing values in rows the codec was not "
                                   "fitted on; fill or drop them (--dropna)")
        for j, s in enumerate(self.sketches):
            s.update(np.ascontiguousarray(w[:, j]))
        self.rows += len(w)
        self.top = _extreme(np.vstack([self.top, w]), self.keep, largest=True)
        self.bottom = _extreme(np.vstack([self.bottom, w]), self.keep, largest=False)

    def values(self, index: np.ndarray, j: int) -> np.ndarray:
        """Column j's order statistics at 1-based fractional indices ``index`` in [1, rows]:
        exact (interpolated) within the kept extremes, else the sketch's quantiles."""
        m, keep = self.rows, len(self.bottom)
        out = np.empty(len(index))
        low, high = index <= keep, index >= m - keep + 1
        out[low] = np.interp(index[low], np.arange(1, keep + 1), self.bottom[:, j])
        out[high] = np.interp(index[high], np.arange(m - keep + 1, m + 1), self.top[:, j])
        mid = ~(low | high)
        if mid.any():
            out[mid] = self.sketches[j].get_quantiles((index[mid] / m).tolist())
        return out


def _extreme(w: np.ndarray, keep: int, *, largest: bool) -> np.ndarray:
    """The ``keep`` largest (or smallest) values of each column, sorted ascending."""
    if len(w) > keep:
        w = -np.partition(-w, keep - 1, axis=0)[:keep] if largest else (
            np.partition(w, keep - 1, axis=0)[:keep])
    return np.sort(w, axis=0)


def sketched(data: Any, schema, *, tails: str, seed: int | None):
    """(codec, ColumnSketches) of a file's rows in one pass: the codec (constant columns,
    integers, categories) fitted on :data:`CODEC_ROWS` random rows."""
    sample = sample_rows(data, CODEC_ROWS, np.random.default_rng([seed or 0, 3]))
    codec = build_codec(schema, sample, standardize=False, clip=tails == "clip")
    core = codec.encode(sample[:2]).shape[1]
    sk = ColumnSketches(core, keep=tail_rows(len(data)))
    for piece in chunks(data):
        sk.update(codec.encode(np.asarray(piece, dtype=np.float64)))
    return codec, sk


def knot_table(sk: ColumnSketches, tails: str, knots: int | None) -> tuple[np.ndarray, ...]:
    """(values (K, d), positions (K,)) of the sketched map: a knot at each kept extreme and
    ``knots`` (default :data:`SKETCH_KNOTS`) evenly spaced between them."""
    m, d, keep = sk.rows, len(sk.sketches), len(sk.bottom)
    body = np.linspace(min(keep + 1, m), max(m - keep, 1), min(knots or SKETCH_KNOTS, m))
    index = np.unique(np.concatenate([np.arange(1, keep + 1), body,
                                      np.arange(m - keep + 1, m + 1)]).astype(np.float64))
    positions = (index - 1) / (m - 1) if tails == "clip" else index / (m + 1)
    q = np.column_stack([sk.values(index, j) for j in range(d)])
    return np.maximum.accumulate(q, axis=0), positions  # monotone where the parts meet


def correlation(data: Any, codec, scores) -> np.ndarray:
    """The correlation matrix of ``scores(codec.encode(rows))`` accumulated over the chunks of
    ``data`` in one pass (Σz, Σzzᵀ, count)."""
    total, cross, n = 0.0, 0.0, 0
    for piece in chunks(data):
        z = scores(codec.encode(np.asarray(piece, dtype=np.float64)))
        total = total + z.sum(axis=0)
        cross = cross + z.T @ z
        n += len(z)
    cov = cross / n - np.outer(total / n, total / n)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return corr


def sketch_info(m: int) -> dict[str, Any]:
    """What a sketched model records: the library, k, its rank error, the rows seen."""
    return {"library": "datasketches KLL", "k": KLL_K, "rank_error": RANK_ERROR, "rows": int(m),
            "exact_tail_rows": tail_rows(m),
            "repeatable": "within rank_error: KLL compacts at random, unseeded"}
