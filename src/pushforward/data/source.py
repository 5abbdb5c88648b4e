"""A source of target samples: a finite data set, a sampler of fresh draws, or both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import SeedLike, as_rng

Sampler = Callable[[int, np.random.Generator], np.ndarray]


@dataclass
class Source:
    """Samples of what the user wants more of.

    Attributes:
        name: a short name for messages and reports ("moons", "data.csv", "gamma(a=2)").
        columns: the column names, one per dimension.
        data: a finite sample (n, d) float64, or None for a built-in that draws fresh samples.
        sampler: ``sampler(n, rng) -> (n, d)`` fresh i.i.d. draws, or None for user data.
        dist: for 1-D built-ins, the exact distribution (cdf, sf, ppf, isf, pdf, logcdf, logsf).
        spec: the text that rebuilds this source (a built-in name or a distribution spec).
        meta: anything else worth reporting (file, row count, dropped rows, image size...).
    """

    name: str
    columns: list[str]
    data: np.ndarray | None = None
    sampler: Sampler | None = None
    dist: Any = None
    spec: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.columns)

    @property
    def finite(self) -> bool:
        """True when only a finite sample is known (user data, digits)."""
        return self.sampler is None

    def draw(self, n: int, *, seed: SeedLike = None) -> np.ndarray:
        """``n`` rows: fresh draws from a sampler, else a random subsample of the data.

        For finite data, rows are drawn without replacement while n ≤ len(data), with
        replacement beyond.
        """
        rng = as_rng(seed)
        if self.sampler is not None:
            return np.asarray(self.sampler(int(n), rng), dtype=float).reshape(int(n), self.dim)
        assert self.data is not None
        idx = rng.choice(len(self.data), size=int(n), replace=int(n) > len(self.data))
        return self.data[idx]

    def training_sample(self, n: int, *, seed: SeedLike = None) -> np.ndarray:
        """The finite training sample: the data itself, or ``n`` fresh draws from a sampler."""
        if self.data is not None:
            return self.data
        return self.draw(n, seed=seed)
