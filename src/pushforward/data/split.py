"""The one hold-out split of finite data: which rows a fit may use, which it never sees.

Every fit of finite data (exact and learned methods alike) trains on the training part only, and
the model records how its split was drawn, so ``evaluate`` and ``report`` find the held-out rows
again exactly, by the same rule, from the same data. Data in memory, and files of up to
:data:`BLOCK_SPLIT_ROWS` rows, follow ``permutation-v1``:

    perm  = numpy.random.default_rng(numpy.random.SeedSequence([seed, 1])).permutation(rows)
    held  = perm[:round(share · rows)]        (none when that is 0 or leaves < 2 training rows)
    train = perm[round(share · rows):]

A memory-mapped file of more rows (a ``.npy`` larger than memory) follows ``blocks-v1``, which
neither draws a permutation of every row nor copies a row: the rows are cut into blocks of
:data:`BLOCK_ROWS` (the last may be shorter) and

    blocks = ceil(rows / BLOCK_ROWS)
    held   = sorted(numpy.random.default_rng(numpy.random.SeedSequence([seed, 1, BLOCK_ROWS]))
                    .choice(blocks, round(share · blocks), replace=False))
    train  = the other blocks, in order

each side a :class:`~pushforward.data.rows.Rows` view of the file (O(blocks) memory: 3 MB for
10⁸ rows). The held-out rows are a random sample of blocks, not of rows: a file whose
neighbouring rows are alike (sorted by a column) has held-out rows in runs of 256.

The record (:func:`split_record`) holds the rule, the seed, the share, the row count and two
fingerprints: one of the data (so a file that changed is noticed, never silently re-split) and
one of the held-out indices (so a change of numpy's permutation would be noticed too).
Built-in samplers need no split: evaluation draws fresh test data from them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PushforwardError
from .rows import Rows, on_disk
from .source import Source

__all__ = ["RULE", "BLOCK_RULE", "DEFAULT_SHARE", "holdout_split", "held_blocks",
           "split_record", "fingerprint", "Split", "split_source", "find_split", "find_rows"]

#: The name of the rule above, recorded in every model fitted on data in memory.
RULE = "permutation-v1"

#: The rule of large memory-mapped files (blocks of rows held out), and its block size.
BLOCK_RULE, BLOCK_ROWS = "blocks-v1", 256

#: A memory-mapped file of more rows than this is split by blocks (2²⁰: a permutation of this
#: many rows would take 8 MB; of 10⁸ rows, 800 MB).
BLOCK_SPLIT_ROWS = 1 << 20

#: Share of a finite data set kept out of every fit by default.
DEFAULT_SHARE = 0.1


def holdout_split(n_rows: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices) of ``n_rows`` rows, by the module's rule.

    Arguments:
        n_rows: number of rows of the data.
        share: share of the rows held out, in [0, 1).
        seed: the fit's seed.

    Returns:
        Two int64 index arrays, disjoint, together every row once, in the permutation's order.
        The held-out one is empty when ``round(share · n_rows)`` is 0 or would leave fewer than
        two training rows.

    Example:
        >>> train, held = holdout_split(10, 0.2, seed=0)
        >>> len(train), len(held), sorted(np.concatenate([train, held])) == list(range(10))
        (8, 2, True)
        >>> holdout_split(10, 0.0, seed=0)[1].size
        0
    """
    if not 0 <= share < 1:
        raise PushforwardError(f"holdout must be in [0, 1), got {share}")
    n_rows = int(n_rows)
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 1])).permutation(n_rows)
    n_held = int(round(share * n_rows))
    if n_held == 0 or n_rows - n_held < 2:
        return perm, perm[:0]
    return perm[n_held:], perm[:n_held]


def held_blocks(n_rows: int, share: float, seed: int, block: int = BLOCK_ROWS) -> np.ndarray:
    """The held-out blocks of ``blocks-v1`` (sorted int64), or none when ``round(share · blocks)``
    is 0 or would leave fewer than two training blocks.

    Example:
        >>> held_blocks(10_000, 0.1, seed=0, block=100).size
        10
    """
    if not 0 <= share < 1:
        raise PushforwardError(f"holdout must be in [0, 1), got {share}")
    n_blocks = -(-int(n_rows) // int(block))
    n_held = int(round(share * n_blocks))
    if n_held == 0 or n_blocks - n_held < 2:
        return np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1, int(block)]))
    return np.sort(rng.choice(n_blocks, n_held, replace=False)).astype(np.int64)


def _block_parts(data, held: np.ndarray, block: int) -> tuple[Rows, Rows]:
    """(training rows, held-out rows) of ``data`` for the held-out blocks ``held``."""
    keep = np.ones(-(-len(data) // block), dtype=bool)
    keep[held] = False
    return Rows(data, np.flatnonzero(keep), block), Rows(data, held, block)


def by_blocks(data) -> bool:
    """Whether ``data`` is split by blocks: a file on disk of many rows (memory-mapped, or
    Parquet read by row group)."""
    return on_disk(data) and not isinstance(data, Rows) and len(data) > BLOCK_SPLIT_ROWS


def fingerprint(a: np.ndarray) -> str:
    """A short hex digest of an array's values and shape (BLAKE2b, 16 hex digits).

    Example:
        >>> fingerprint(np.zeros((2, 2))) == fingerprint(np.zeros((2, 2)))
        True
    """
    if not on_disk(a):  # a file read as it is used stays so
        a = np.asanyarray(a)
        a = a.reshape(1) if a.ndim == 0 else a  # as numpy.ascontiguousarray has it
    h = hashlib.blake2b(digest_size=8)
    h.update(str((a.dtype.str, a.shape)).encode())
    step = max(1, (1 << 23) // max(1, a[:1].nbytes))  # ~8 MB at a time: a file on disk
    for i in range(0, len(a), step):  # is never copied whole (nor a piece of it: its buffer)
        h.update(np.ascontiguousarray(a[i: i + step]).reshape(-1).view(np.uint8))
    return h.hexdigest()


def split_record(data: np.ndarray, share: float, seed: int,
                 held: np.ndarray | None = None) -> dict[str, Any]:
    """What a model records of its split: enough to re-derive it exactly from the same data.

    ``held``: the held-out indices (blocks, for the block rule) when already drawn.

    Example:
        >>> r = split_record(np.arange(20.0)[:, None], 0.1, seed=3)
        >>> r["rule"], r["rows"], r["held"]
        ('permutation-v1', 20, 2)
    """
    if by_blocks(data):
        held = held_blocks(len(data), share, seed) if held is None else held
        held_rows = len(Rows(data, held, BLOCK_ROWS))
        return {"rule": BLOCK_RULE, "block": BLOCK_ROWS, "seed": int(seed),
                "share": float(share), "rows": int(len(data)), "held": held_rows,
                "data": fingerprint(data), "indices": fingerprint(held)}
    if held is None:
        n_held = int(round(share * len(data)))
        if n_held == 0 or len(data) - n_held < 2:  # nothing held out: no permutation to draw
            held = np.empty(0, dtype=np.int64)
        else:
            _, held = holdout_split(len(data), share, seed)
    return {"rule": RULE, "seed": int(seed), "share": float(share), "rows": int(len(data)),
            "held": int(len(held)), "data": fingerprint(data), "indices": fingerprint(held)}


@dataclass(frozen=True)
class Split:
    """A source cut for one fit.

    Attributes:
        train: the source the method fits (finite data: the training rows only; a sampler:
            the source itself). Of a large memory-mapped file, a
            :class:`~pushforward.data.rows.Rows` view: nothing is copied.
        held: the held-out rows (None for a sampler, or when no row is held out); of a large
            memory-mapped file, a :class:`~pushforward.data.rows.Rows` view.
        record: the split's record for ``info["split"]`` (None for a sampler).
    """

    train: Source
    held: np.ndarray | Rows | None
    record: dict[str, Any] | None


def split_source(source: Source, share: float, seed: int) -> Split:
    """Cut a finite source into its training and held-out rows; a sampler is left whole.

    Example:
        >>> from pushforward.data import load_source
        >>> s = split_source(load_source(np.arange(50.0)), 0.1, seed=0)
        >>> s.train.data.shape, s.held.shape, s.record["held"]
        ((45, 1), (5, 1), 5)
    """
    if not 0 <= share < 1:
        raise PushforwardError(f"holdout must be in [0, 1), got {share}")
    data = source.data
    if data is None:
        return Split(source, None, None)
    if by_blocks(data):
        blocks = held_blocks(len(data), share, seed)
        record = split_record(data, share, seed, held=blocks)
        train, held = _block_parts(data, blocks, BLOCK_ROWS)
    else:
        n_held = int(round(share * len(data)))
        if n_held == 0 or len(data) - n_held < 2:  # the source whole (a file stays on disk)
            return Split(source, None, split_record(data, share, seed))
        idx, held_idx = holdout_split(len(data), share, seed)
        record = split_record(data, share, seed, held=held_idx)
        train, held = data[idx], data[held_idx]
    if not record["held"]:
        return Split(source, None, record)
    meta = {**source.meta, "rows": len(train), "held_out_rows": len(held)}
    part = Source(name=source.name, columns=list(source.columns), data=train,
                  spec=source.spec, meta=meta)
    return Split(part, held, record)


def find_split(record: dict[str, Any] | None,
               data: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A model's (training indices, held-out indices) in ``data``, or None if ``data`` is not
    the data it was fitted on (another row count or other values).

    Indices of rows, whatever the rule (for a file split by blocks, :func:`find_rows` gives
    the rows without listing them).

    Raises:
        PushforwardError: the record names a rule this version does not know, or the rule no
            longer gives the recorded held-out rows (e.g. numpy's permutation changed).

    Example:
        >>> x = np.arange(30.0)[:, None]
        >>> train, held = find_split(split_record(x, 0.1, seed=4), x)
        >>> bool((held == holdout_split(30, 0.1, seed=4)[1]).all()), len(train)
        (True, 27)
        >>> find_split(split_record(x, 0.1, seed=4), x[:-1]) is None
        True
    """
    found = _found(record, data)
    if found is None or found[0] == RULE:
        return None if found is None else found[1]
    train, held = found[1]
    return train.positions(np.arange(len(train))), held.positions(np.arange(len(held)))


def find_rows(record: dict[str, Any] | None, data: np.ndarray) -> tuple[Any, Any] | None:
    """A model's (training rows, held-out rows) of ``data``, or None as :func:`find_split`:
    copies of the rows for the permutation rule, :class:`~pushforward.data.rows.Rows` views
    of a file split by blocks (nothing read yet).
    """
    found = _found(record, data)
    if found is None:
        return None
    rule, (train, held) = found
    return (data[train], data[held]) if rule == RULE else (train, held)


def _found(record: dict[str, Any] | None, data: np.ndarray):
    """(rule, its two parts: index arrays or Rows views), None when ``data`` is other data."""
    if not record:
        return None
    rule = record.get("rule")
    if rule not in (RULE, BLOCK_RULE):
        raise PushforwardError(f"the model's hold-out split follows rule {rule!r}; this "
                               f"pushforward knows {RULE!r} and {BLOCK_RULE!r}: pass the data "
                               "and train=")
    if int(record.get("rows", -1)) != len(data) or record.get("data") != fingerprint(data):
        return None
    share, seed = float(record["share"]), int(record["seed"])
    if rule == BLOCK_RULE:
        block = int(record.get("block", BLOCK_ROWS))
        held = held_blocks(len(data), share, seed, block)
        parts = _block_parts(data, held, block)
    else:
        parts = holdout_split(len(data), share, seed)
        held = parts[1]
    if fingerprint(held) != record.get("indices"):
        raise PushforwardError("the model's held-out rows can't be found again (numpy's "
                               "permutation changed): pass held-out data and train=")
    return rule, parts
