"""Shared helpers of the evaluation package: samples as float64 arrays, chunked distances."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ..errors import PushforwardError
from ..metrics import pairwise_distances

#: Bytes of one block of pairwise distances: 10⁴ × 10⁴ pairs go through in ~80 MB blocks.
BLOCK_BYTES = 80 * 2**20


def as_array(a, name: str = "sample") -> np.ndarray:
    """A sample (numpy, torch or nested lists) as a float64 (n, d) array; (n,) becomes (n, 1)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or len(a) == 0:
        raise PushforwardError(f"{name} must be a non-empty (n, d) array, got shape {a.shape}")
    return a


def with_gaps(a: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Rows with missing values (NaN) as finite rows for a distance: NaN becomes 0 (the mean
    of standardised data) and each column in ``gaps`` gets a 0/1 missing indicator, so a
    sample with the wrong missing share is as far from the data as one with wrong values.

    Example:
        >>> with_gaps(np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([1])).tolist()
        [[1.0, 0.0, 1.0], [2.0, 3.0, 0.0]]
    """
    a = np.asarray(a, dtype=np.float64)
    if not len(gaps):
        return a
    return np.concatenate([np.nan_to_num(a, nan=0.0), np.isnan(a[:, gaps]).astype(float)],
                          axis=1)


def as_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Two samples of the same dimension as float64 (n, d) and (m, d) arrays."""
    x, y = as_array(x, "x"), as_array(y, "y")
    if x.shape[1] != y.shape[1]:
        raise PushforwardError(f"samples of different dimensions: {x.shape[1]} and {y.shape[1]}")
    return x, y


def distance_blocks(x: np.ndarray, y: np.ndarray) -> Iterator[tuple[int, torch.Tensor]]:
    """(start row, float64 block of ‖xᵢ − yⱼ‖) over row blocks of ``x``, ~80 MB each."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rows = max(1, BLOCK_BYTES // (8 * max(1, len(y))))
    for i in range(0, len(x), rows):
        yield i, pairwise_distances(xt[i : i + rows], yt)


def kth_neighbour_distance(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point of ``x`` to its k-th nearest other point of ``x``."""
    if not 1 <= k < len(x):
        raise PushforwardError(f"k = {k} nearest neighbours need more than {k} points")
    out = np.empty(len(x))
    for i, d in distance_blocks(x, x):
        # the point itself is at distance ≈ 0, so the k-th other one is the (k+1)-th smallest
        out[i : i + len(d)] = d.topk(k + 1, dim=1, largest=False).values[:, k].numpy()
    return out


def nearest_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance from each point of ``x`` to its nearest point of ``y``."""
    out = np.empty(len(x))
    for i, d in distance_blocks(x, y):
        out[i : i + len(d)] = d.min(dim=1).values.numpy()
    return out


def pair_mean(x: np.ndarray, y: np.ndarray | None,
              fn: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """mean over all pairs (i, j) of fn(‖xᵢ − yⱼ‖), diagonal included, float64.

    With ``y`` None the pairs are those of ``x`` with itself, and symmetry halves the work.
    """
    if y is not None:
        return sum(float(fn(d).sum()) for _, d in distance_blocks(x, y)) / (len(x) * len(y))
    xt = torch.from_numpy(x)
    rows = max(1, BLOCK_BYTES // (8 * max(1, len(x))))
    total = 0.0
    for i in range(0, len(x), rows):
        block = xt[i : i + rows]
        total += float(fn(pairwise_distances(block, block)).sum())
        if i + rows < len(x):
            total += 2 * float(fn(pairwise_distances(block, xt[i + rows :])).sum())
    return total / len(x) ** 2


def digest(a: np.ndarray) -> bytes:
    """A short fingerprint of an array's shape and values (for one-slot memos)."""
    h = hashlib.blake2b(str(a.shape).encode(), digest_size=16)
    h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()
