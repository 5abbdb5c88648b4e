"""Pixel values: the discrete support of image data, and the 8-bit values a PNG holds.

Image pixels often take few values: scikit-learn's digits 17 (0, 1, …, 16), an 8-bit picture
256 (0 … 255, or k/255 once scaled). :func:`support_levels` detects such a support from the
training pixels, :func:`to_levels` puts generated values on it (the nearest level), and
:func:`to_uint8` turns pixel values into the 0 … 255 of an image file.
"""

from __future__ import annotations

import numpy as np

#: Most distinct levels a discrete pixel support may have (an 8-bit image has 256).
MAX_LEVELS = 256

#: Pixel values scanned to detect the support (a seeded subsample beyond it).
SCAN_VALUES = 2_000_000


def support_levels(x: np.ndarray, *, max_levels: int = MAX_LEVELS) -> np.ndarray:
    """The discrete support of the pixel values ``x``, or an empty array when continuous.

    When the distinct values number at most ``max_levels``: the regular grid lo, lo + step, …,
    hi that holds them all (step: their smallest gap) when it has at most ``max_levels`` points,
    so a level no training pixel happens to take is still allowed (an 8-bit image's unused
    grey); else the distinct values themselves. More distinct values: continuous (empty).

    Example:
        >>> support_levels(np.array([[0.0, 2.0], [16.0, 4.0]])).tolist()  # step 2 from 0 to 16
        [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]
        >>> support_levels(np.array([0.0, 0.25, 1.0])).tolist()  # a grid of step 0.25
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> support_levels(np.linspace(0, 1, 1000)).size  # 1000 values: continuous
        0
    """
    v = np.asarray(x, dtype=np.float64).ravel()
    if v.size > SCAN_VALUES:  # a subsample finds the levels of a large set (fixed seed)
        v = v[np.random.default_rng(0).choice(v.size, SCAN_VALUES, replace=False)]
    v = v[np.isfinite(v)]
    u = np.unique(v)
    if u.size == 0 or u.size > max_levels:
        return np.zeros(0)
    if u.size == 1:
        return u
    step = float(np.diff(u).min())
    k = (u - u[0]) / step
    m = int(round((u[-1] - u[0]) / step)) + 1
    if m <= max_levels and np.allclose(k, np.round(k), rtol=0, atol=1e-6 * max(1.0, k[-1])):
        grid = u[0] + step * np.arange(m)
        grid[np.round(k).astype(int)] = u  # the observed values exactly, not their rounding
        return grid
    return u


def to_levels(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each value of ``x`` replaced by the nearest of the increasing ``levels`` (ties: lower).

    Example:
        >>> to_levels(np.array([-3.0, 0.4, 0.5, 7.9, 99.0]), np.array([0.0, 1.0, 8.0])).tolist()
        [0.0, 0.0, 0.0, 8.0, 8.0]
    """
    x = np.asarray(x, dtype=np.float64)
    if len(levels) == 1:
        return np.full_like(x, levels[0])
    i = np.clip(np.searchsorted(levels, x), 1, len(levels) - 1)
    lo, hi = levels[i - 1], levels[i]
    return np.where(np.abs(x - lo) <= np.abs(hi - x), lo, hi)


def to_uint8(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Pixel values of data whose values span [lo, hi] as 0 … 255 for an image file.

    8-bit data (whole numbers in 0 … 255 reaching 128 or more) are written as they are; data
    in [0, 1] are scaled by 255; any other range is mapped linearly onto 0 … 255 (digits'
    0 … 16: 16 is white).

    Example:
        >>> to_uint8(np.array([0.0, 8.0, 16.0]), 0.0, 16.0).tolist()
        [0, 128, 255]
        >>> to_uint8(np.array([3.0, 200.0]), 3.0, 200.0).tolist()  # 8-bit: kept
        [3, 200]
        >>> to_uint8(np.array([0.2, 0.6]), 0.2, 0.6).tolist()  # in [0, 1]: × 255
        [51, 153]
    """
    x = np.asarray(x, dtype=np.float64)
    if 0 <= lo and hi <= 1:
        x = x * 255.0
    elif not (0 <= lo and 128 <= hi <= 255 and np.all(x == np.round(x))):
        x = (x - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(x)
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
