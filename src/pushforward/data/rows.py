"""Some rows of a large array, read from it on demand: the training or held-out part of a file.

A memory-mapped ``.npy`` file larger than memory is split by whole blocks of rows
(:mod:`pushforward.data.split`); :class:`Rows` is one side of that split. It behaves like the
(n, d) array of its rows for what the fitting code does with a file on disk: ``len``, ``shape``,
``dtype``, indexing by an integer array or a slice (a minibatch, a block of a scan) and
:meth:`Rows.sample`, and copies only the rows asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["Rows", "on_disk", "chunks", "sample_rows"]

#: Rows per piece when an array on disk is scanned (2 float32 columns: 8 MB a piece).
SCAN_ROWS = 1 << 20


class Rows:
    """The rows of ``base`` in the blocks ``blocks`` (block b: rows b·block … b·block + block − 1).

    Row k of this view is row ``blocks[k // block] · block + k % block`` of ``base``: the
    blocks are kept in increasing order, so only the last may be short (the end of ``base``).

    Arguments:
        base: the whole (n, d) array, usually a ``numpy.memmap``.
        blocks: increasing block indices.
        block: rows per block.

    Example:
        >>> base = np.arange(20.0).reshape(10, 2)
        >>> r = Rows(base, [0, 2], block=4)     # rows 0-3 and 8-9 (the last block is short)
        >>> r.shape, r[[0, 4, 5]][:, 0].tolist()
        ((6, 2), [0.0, 16.0, 18.0])
        >>> np.asarray(r)[:, 0].tolist()
        [0.0, 2.0, 4.0, 6.0, 16.0, 18.0]
    """

    def __init__(self, base: Any, blocks: Any, block: int):
        self.base, self.block = base, int(block)
        self.blocks = np.asarray(blocks, dtype=np.int64)
        n = len(self.blocks) * self.block
        if len(self.blocks):  # a short last block of the base, when it is one of ours
            n -= max(0, (int(self.blocks[-1]) + 1) * self.block - len(base))
        self.shape = (n, *base.shape[1:])
        self.dtype, self.ndim = base.dtype, base.ndim

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"Rows({self.shape[0]:,} rows of {len(self.base):,}, blocks of {self.block})"

    def positions(self, k: Any) -> np.ndarray:
        """The rows of ``base`` behind rows ``k`` of this view (int64 array)."""
        k = np.asarray(k, dtype=np.int64)
        if k.size and (k.min() < -len(self) or k.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        k = np.where(k < 0, k + len(self), k)
        return self.blocks[k // self.block] * self.block + k % self.block

    def __getitem__(self, key: Any) -> np.ndarray:
        cols = slice(None)
        if isinstance(key, tuple):
            key, cols = key[0], key[1:] if len(key) > 2 else key[1]
        if isinstance(key, slice):
            key = np.arange(*key.indices(len(self)))
        elif np.asarray(key).dtype == bool:
            key = np.flatnonzero(key)
        elif np.ndim(key) == 0:
            return np.asarray(self.base[int(self.positions(int(key)))])[cols]
        pos = self.positions(key)
        order = np.argsort(pos, kind="stable")  # read the file forwards, return in key order
        out = np.empty((len(pos), *self.shape[1:]), dtype=self.dtype)
        out[order] = self.base[pos[order]]
        return out[:, cols] if cols != slice(None) else out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self[:]  # every row, copied: only for data that fits in memory
        return a if dtype is None else a.astype(dtype, copy=False)

    def sample(self, k: int, seed: Any = None) -> np.ndarray:
        """``min(k, len)`` distinct rows drawn at random (seeded), in random order."""
        return sample_rows(self, k, seed)


def on_disk(x: Any) -> bool:
    """Rows read from a file as they are used: a ``numpy.memmap`` or :class:`Rows` of one."""
    return isinstance(x, (np.memmap, Rows))


def chunks(x: Any, rows: int = SCAN_ROWS) -> Iterator[np.ndarray]:
    """``x`` in pieces of at most ``rows`` rows, each read (copied) in turn: bounded memory.

    Example:
        >>> [c.shape for c in chunks(np.zeros((5, 2)), rows=2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    for i in range(0, len(x), rows):
        yield np.asarray(x[i: i + rows])


def sample_rows(x: Any, k: int, seed: Any = None) -> np.ndarray:
    """``min(k, len(x))`` distinct rows of ``x`` drawn at random (seeded), read in file order,
    returned in random order; no permutation of all rows is drawn.

    Example:
        >>> s = sample_rows(np.arange(10.0)[:, None], 4, seed=0)
        >>> s.shape, len(set(s[:, 0].tolist()))
        ((4, 1), 4)
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    k = min(int(k), n)
    idx = rng.choice(n, size=k, replace=False)  # O(k) memory when k ≪ n (numpy's set method)
    order = np.argsort(idx)
    out = np.empty((k, *x.shape[1:]), dtype=x.dtype)
    out[order] = x[idx[order]]
    return out
