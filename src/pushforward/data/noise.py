"""Noise: the simple distributions a map starts from.

``uniform`` is U[0,1]^k and ``normal`` is N(0, I_k). Both expose their exact cdf/sf/ppf/isf (and
log forms), so exact maps can go through the survival function in the upper half and stay
accurate in both tails.

Noise for a seed is drawn in fixed blocks of :func:`block_rows` rows (:data:`BLOCK` for up
to 64 columns, fewer for wider noise, so a block holds at most 2²² values), each from its own
``SeedSequence([seed, block])``; rows ``[start, stop)`` are therefore the same whatever chunk
size a caller streams them in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..registry import Registry

BLOCK = 1 << 16
#: Values in one block: 64-column noise has blocks of BLOCK rows, wider noise fewer rows.
BLOCK_VALUES = BLOCK * 64


def block_rows(k: int) -> int:
    """Rows per block of k-column noise: :data:`BLOCK` up to 64 columns, then halved as k
    doubles. Image noise (an 8-bit 28×28 picture's 784 columns) would otherwise draw 400 MB for
    one row, and 3 s of a sample of ten.

    Example:
        >>> block_rows(2), block_rows(64), block_rows(65), block_rows(784)
        (65536, 65536, 32768, 4096)
    """
    rows = BLOCK
    while rows > 1 and rows * k > BLOCK_VALUES:
        rows //= 2
    return rows

NOISES: Registry[Noise] = Registry("noise")


@dataclass(frozen=True)
class Noise:
    """A product noise distribution with exact one-dimensional cdf/ppf."""

    name: str

    def _draw_block(self, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError

    def rows(self, start: int, stop: int, k: int, seed: int) -> np.ndarray:
        """Rows ``[start, stop)`` of the infinite noise stream for ``seed``, shape (stop-start, k).

        Example:
            >>> u = NOISES.get("uniform")
            >>> a = u.rows(0, 10, 2, seed=1)
            >>> b = np.vstack([u.rows(0, 4, 2, seed=1), u.rows(4, 10, 2, seed=1)])
            >>> bool((a == b).all())
            True
        """
        out = []
        size = block_rows(k)
        for b in range(start // size, (stop - 1) // size + 1 if stop > start else start // size):
            rng = np.random.default_rng(np.random.SeedSequence([seed, b]))
            block = self._draw_block(rng, (size, k))
            lo = max(start - b * size, 0)
            hi = min(stop - b * size, size)
            out.append(block[lo:hi])
        return np.concatenate(out) if out else np.empty((0, k))

    def chunks(self, n: int, k: int, seed: int, chunk_size: int) -> Iterator[np.ndarray]:
        """The first ``n`` rows for ``seed``, in chunks of at most ``chunk_size`` rows."""
        for start in range(0, n, chunk_size):
            yield self.rows(start, min(start + chunk_size, n), k, seed)

    def sample(self, n: int, k: int, *, seed: int) -> np.ndarray:
        """The first ``n`` rows of the stream for ``seed``."""
        return self.rows(0, n, k, seed)

    # exact one-dimensional functions, overridden below
    def cdf(self, x):
        raise NotImplementedError

    def sf(self, x):
        raise NotImplementedError

    def logcdf(self, x):
        return np.log(self.cdf(x))

    def logsf(self, x):
        return np.log(self.sf(x))

    def logpdf(self, x):
        """The log-density of one coordinate (a row's is the sum over its k coordinates)."""
        raise NotImplementedError

    def ppf(self, u):
        raise NotImplementedError

    def isf(self, s):
        raise NotImplementedError

    @property
    def median(self) -> float:
        return float(self.ppf(0.5))


class _Uniform(Noise):
    def _draw_block(self, rng, size):
        # (k + ½)·2⁻⁵³: open interval (0, 1), so no draw maps to an infinite endpoint
        return (rng.integers(0, 2**53, size=size) + 0.5) * 2.0**-53

    def cdf(self, x):
        return np.clip(x, 0.0, 1.0)

    def sf(self, x):
        return np.clip(1.0 - np.asarray(x, dtype=float), 0.0, 1.0)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where((x >= 0) & (x <= 1), 0.0, -np.inf)

    def ppf(self, u):
        return np.asarray(u, dtype=float)

    def isf(self, s):
        return 1.0 - np.asarray(s, dtype=float)


class _Normal(Noise):
    def _draw_block(self, rng, size):
        return rng.standard_normal(size)

    def cdf(self, x):
        return special.ndtr(x)

    def sf(self, x):
        return special.ndtr(-np.asarray(x, dtype=float))

    def logcdf(self, x):
        return special.log_ndtr(x)

    def logsf(self, x):
        return special.log_ndtr(-np.asarray(x, dtype=float))

    def logpdf(self, x):
        return -0.5 * np.square(x) - 0.5 * np.log(2 * np.pi)

    def ppf(self, u):
        return special.ndtri(u)

    def isf(self, s):
        return -special.ndtri(s)


NOISES.register("uniform", "U[0,1]^k: the note's starting point")(_Uniform("uniform"))
NOISES.register("normal", "N(0, I_k): standard normal noise")(_Normal("normal"))


def get_noise(name: str | Noise) -> Noise:
    """The noise registered under ``name`` (a :class:`Noise` is returned as is)."""
    return name if isinstance(name, Noise) else NOISES.get(name)
