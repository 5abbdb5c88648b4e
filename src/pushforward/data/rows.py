"""Some rows of a large array, read from it on demand: the training or held-out part of a file.

A memory-mapped ``.npy`` file larger than memory is split by whole blocks of rows
(:mod:`pushforward.data.split`); :class:`Rows` is one side of that split. It behaves like the
(n, d) array of its rows for what the fitting code does with a file on disk: ``len``, ``shape``,
``dtype``, indexing by an integer array or a slice (a minibatch, a block of a scan) and
:meth:`Rows.sample`, and copies only the rows asked for.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["Rows", "on_disk", "random_access", "chunks", "take", "sample_rows", "release",
           "PoolBatches"]

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
        if isinstance(key, tuple):  # rows, then columns of the rows read
            return self[key[0]][(slice(None), *key[1:])]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            key = np.arange(start, stop, step)  # a scan's piece: read run of blocks by run
        elif np.asarray(key).dtype == bool:
            key = np.flatnonzero(key)
        elif np.ndim(key) == 0:
            return take(self.base, self.positions([int(key)]))[0]
        return take(self.base, self.positions(key))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self[:]  # every row, copied: only for data that fits in memory
        return a if dtype is None else a.astype(dtype, copy=False)

    def sample(self, k: int, seed: Any = None) -> np.ndarray:
        """``min(k, len)`` distinct rows drawn at random (seeded), in random order."""
        return sample_rows(self, k, seed)


def on_disk(x: Any) -> bool:
    """Rows read from a file as they are used: a ``numpy.memmap``, a Parquet file read by row
    group (:class:`~pushforward.data.parquet.ParquetRows`) or :class:`Rows` of either."""
    from .parquet import ParquetRows

    return isinstance(x, (np.memmap, Rows, ParquetRows))


def random_access(x: Any) -> bool:
    """Whether any row of ``x`` is cheap to read (not a Parquet file read by row group)."""
    from .parquet import ParquetRows

    return not isinstance(x.base if isinstance(x, Rows) else x, ParquetRows)


def chunks(x: Any, rows: int = SCAN_ROWS) -> Iterator[np.ndarray]:
    """``x`` in pieces of at most ``rows`` rows, each read (copied) in turn: bounded memory.

    Example:
        >>> [c.shape for c in chunks(np.zeros((5, 2)), rows=2)]
        [(2, 2), (2, 2), (1, 2)]
    """
    for i in range(0, len(x), rows):
        if _whole_file(x):  # positioned reads, not through the map (see take)
            yield take(x, np.arange(i, min(i + rows, len(x))))
        else:
            yield np.asarray(x[i: i + rows])


def take(x: Any, idx: Any) -> np.ndarray:
    """Rows ``idx`` of ``x`` (an array, a file's ``numpy.memmap``, :class:`Rows`), copied.

    A ``.npy`` file's rows are read with positioned reads (``os.pread``), in increasing order,
    runs of consecutive rows at once, not through its memory map: a read through the map maps
    the page cache around each row (on Linux up to a large folio, hundreds of kB), so a few
    thousand random rows would put most of a file in the process's resident memory.

    Example:
        >>> take(np.arange(6.0).reshape(3, 2), [2, 0])[:, 0].tolist()
        [4.0, 0.0]
    """
    if isinstance(x, Rows):
        return x[np.asarray(idx, dtype=np.int64)]
    idx = np.asarray(idx, dtype=np.int64)
    if not _whole_file(x) or x.ndim != 2 or not idx.size:
        return np.asarray(x[idx])
    idx = np.where(idx < 0, idx + len(x), idx)
    if idx.size and (idx.min() < 0 or idx.max() >= len(x)):
        raise IndexError(f"row index out of range for {len(x)} rows")
    order = np.argsort(idx, kind="stable")
    pos = idx[order]
    row = x.dtype.itemsize * x.shape[1]
    starts = np.flatnonzero(np.diff(pos, prepend=-2) != 1)  # runs of consecutive rows
    ends = np.append(starts[1:], len(pos))
    buf = bytearray(len(pos) * row)
    view = memoryview(buf)
    fd = os.open(x.filename, os.O_RDONLY)
    try:
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            want, at = (b - a) * row, x.offset + int(pos[a]) * row
            got = os.preadv(fd, [view[a * row: b * row]], at)
            if got != want:
                raise OSError(f"{x.filename}: short read ({got} of {want} bytes)")
    finally:
        os.close(fd)
    out = np.empty((len(idx), x.shape[1]), dtype=x.dtype)
    out[order] = np.frombuffer(buf, dtype=x.dtype).reshape(len(pos), x.shape[1])
    return out


def _whole_file(x: Any) -> bool:
    """A ``numpy.memmap`` of a whole file's array (not a view of one): row r at byte
    ``offset + r · row size`` of ``filename``."""
    return (isinstance(x, np.memmap) and isinstance(x.base, mmap.mmap)
            and bool(getattr(x, "filename", None)) and x.flags.c_contiguous
            and hasattr(os, "preadv"))


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
    return take(x, idx)


def release(x: Any) -> None:
    """Drop the pages of a memory-mapped file that this process has read from its memory.

    A pass over a whole file (checking its values, its schema, its fingerprint, the codec's
    random rows) leaves every page mapped and counted in the process's resident memory, though
    they are clean copies of the file. ``madvise(MADV_DONTNEED)`` unmaps them; they stay in the
    OS page cache and are read again from it when used. Anything but a file's ``numpy.memmap``
    (or :class:`Rows` of one), or a system without ``madvise``, is left alone.
    """
    base = x.base if isinstance(x, Rows) else x
    mm = getattr(base, "_mmap", None) if isinstance(base, np.memmap) else None
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    try:
        mm.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):  # closed, or refused: only memory is at stake
        pass


class PoolBatches:
    """Minibatches of rows without cheap random access (Parquet read by row group).

    The rows are cut into pieces of ``piece`` consecutive rows, visited in a random order
    (a new one each time all have been visited). A pool of about ``pool_rows`` rows, whole
    pieces, is held in memory; each batch is drawn uniformly from the pool, and after every
    ``piece`` rows drawn (each row drawn about once) the oldest piece makes way for the next.
    So every row is in the pool during each pass, and a batch's rows come from the pieces in
    the pool, not from the whole file at once (a shuffle buffer).

    Example:
        >>> x = np.arange(1000.0)[:, None]
        >>> draw = PoolBatches(x, seed=0, piece=100, pool_rows=300)
        >>> draw(50).shape, len(draw.pool)
        ((50, 1), 300)
    """

    def __init__(self, x: Any, *, seed: int, piece: int = 1 << 16, pool_rows: int = 1 << 20):
        self.x, self.rng = x, np.random.default_rng(np.random.SeedSequence([int(seed), 15]))
        self.piece = max(1, min(int(piece), len(x)))
        self.n_pieces = -(-len(x) // self.piece)
        self.order, self.next = self.rng.permutation(self.n_pieces), 0
        self.visited: list[int] = []  # pieces read, in order (what a run has seen)
        slots = max(1, min(int(pool_rows) // self.piece, self.n_pieces))
        self.pieces = [self._read() for _ in range(slots)]
        self.pool = np.concatenate(self.pieces)
        self.drawn = 0

    def _read(self) -> np.ndarray:
        if self.next == self.n_pieces:  # every piece seen: a new order
            self.order, self.next = self.rng.permutation(self.n_pieces), 0
        k = int(self.order[self.next])
        self.next += 1
        self.visited.append(k)
        return np.asarray(self.x[k * self.piece: (k + 1) * self.piece])

    def __call__(self, n: int) -> np.ndarray:
        self.drawn += n
        if self.drawn >= self.piece and len(self.pieces) < self.n_pieces:
            self.pieces = [*self.pieces[1:], self._read()]  # the oldest piece makes way
            self.pool = np.concatenate(self.pieces)
            self.drawn = 0
        return self.pool[self.rng.integers(0, len(self.pool), n)]
