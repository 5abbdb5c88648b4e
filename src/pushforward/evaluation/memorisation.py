"""Memorisation: does the model hand back its training records? (distance to closest record)

DCR ratio = median distance from generated points to their nearest training point ÷ the same
median for held-out real points (``docs/measures.md``: 2,000 of each). A model that samples the
distribution sits near 1; one that copies its training rows sits well below 1 (0 for a copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._random import SeedLike, as_rng
from ._arrays import as_array, nearest_distance

__all__ = ["DCR", "dcr", "COPYING"]

#: DCR ratios below this are reported as copying the training data.
COPYING = 0.8


@dataclass(frozen=True)
class DCR:
    """Result of :func:`dcr`.

    Attributes:
        generated: median distance from generated points to their nearest training point.
        held_out: the same median for held-out real points.
        n: points used on each side.
    """

    generated: float
    held_out: float
    n: int

    @property
    def ratio(self) -> float:
        """generated / held_out (inf when the held-out median is 0)."""
        return self.generated / self.held_out if self.held_out > 0 else float("inf")

    @property
    def copies(self) -> bool:
        """True when the ratio is below :data:`COPYING`."""
        return self.ratio < COPYING


def dcr(generated, train, held_out, *, n: int = 2000, seed: SeedLike = 0) -> DCR:
    """Distance to closest record of generated and of held-out points, and their ratio.

    Standardise all three samples the same way first (``evaluate`` uses the training data's
    column means and standard deviations).

    Arguments:
        generated: generated sample (·, d), numpy or torch.
        train: the model's training rows (·, d).
        held_out: real rows the model never saw (·, d).
        n: at most this many generated and held-out points are used (random subsamples).
        seed: seed of the subsamples.

    Returns:
        :class:`DCR`; ``.ratio`` well below 1 (``.copies``) means the model copies its data.

    References:
        Park et al., "Data synthesis based on generative adversarial networks", VLDB 2018;
        arXiv:1806.03384 (distance to closest record).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> train, held = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
        >>> dcr(train, train, held).copies, dcr(rng.normal(size=(1000, 2)), train, held).copies
        (True, False)
    """
    rng = as_rng(seed)
    g, t, h = as_array(generated, "generated"), as_array(train, "train"), as_array(held_out,
                                                                                  "held_out")
    g = g[rng.choice(len(g), n, replace=False)] if len(g) > n else g
    h = h[rng.choice(len(h), n, replace=False)] if len(h) > n else h
    k = min(len(g), len(h))
    return DCR(float(np.median(nearest_distance(g[:k], t))),
               float(np.median(nearest_distance(h[:k], t))), k)
