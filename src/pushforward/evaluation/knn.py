"""Precision, recall, density and coverage from k-nearest-neighbour balls (Naeem et al. 2020).

Around each real point Xᵢ is a ball of radius rᵢ, the distance to its k-th nearest real
neighbour; around each generated point Yⱼ one of radius sⱼ, its k-th nearest generated neighbour.

- precision = (1/M) Σⱼ 1[Yⱼ lies in some real ball]             (fidelity)
- recall    = (1/N) Σᵢ 1[Xᵢ lies in some generated ball]        (diversity)
- density   = (1/kM) Σⱼ Σᵢ 1[Yⱼ lies in the ball of Xᵢ]         (fidelity, ~1 when equal)
- coverage  = (1/N) Σᵢ 1[the ball of Xᵢ holds some Yⱼ]          (diversity, drops with lost modes)

All four come from one chunked pass over the M × N distances (memory ~80 MB per block).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ._arrays import as_pair, digest, distance_blocks, kth_neighbour_distance
from .two_sample import Metric

__all__ = ["PRDC", "prdc", "precision", "recall", "density", "coverage"]

K = 5


@dataclass(frozen=True)
class PRDC:
    """Precision, recall, density and coverage of a generated sample against a real one."""

    precision: float
    recall: float
    density: float
    coverage: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def prdc(x, y, *, k: int = K) -> PRDC:
    """Precision / recall and density / coverage of generated ``x`` against real ``y``.

    Balls are open (a point on a ball's boundary is outside), as in the authors' code.

    Arguments:
        x: generated sample (M, d), numpy or torch.
        y: real sample (N, d).
        k: the neighbour that sets each ball's radius (5, as recommended by the authors).

    Returns:
        :class:`PRDC`.

    References:
        Naeem, Oh, Uh, Choi and Yoo, "Reliable fidelity and diversity metrics for generative
        models", ICML 2020; arXiv:2002.09797. Kynkäänniemi et al., "Improved precision and
        recall metric for assessing generative models", NeurIPS 2019; arXiv:1904.06991.

    Example:
        >>> import numpy as np
        >>> y = np.random.default_rng(0).normal(size=(500, 2))
        >>> r = prdc(y + 10, y)
        >>> r.precision, r.recall, r.density, r.coverage
        (0.0, 0.0, 0.0, 0.0)
    """
    x, y = as_pair(x, y)
    r_real = torch.from_numpy(kth_neighbour_distance(y, k))
    r_fake = torch.from_numpy(kth_neighbour_distance(x, k))
    in_real = np.empty(len(x), dtype=bool)
    count = np.empty(len(x))
    recalled = torch.zeros(len(y), dtype=torch.bool)
    nearest_fake = torch.full((len(y),), torch.inf, dtype=torch.float64)
    for i, d in distance_blocks(x, y):  # d[j, i] = ‖x_j − y_i‖ for a block of x's rows
        inside = d < r_real
        in_real[i : i + len(d)] = inside.any(1).numpy()
        count[i : i + len(d)] = inside.sum(1).numpy()
        recalled |= (d < r_fake[i : i + len(d), None]).any(0)
        nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    return PRDC(precision=float(in_real.mean()), recall=float(recalled.double().mean()),
                density=float(count.sum() / (k * len(x))),
                coverage=float((nearest_fake < r_real).double().mean()))


_memo: dict[bytes, PRDC] = {}


def _cached(x, y) -> PRDC:
    # evaluate() asks for the four figures of each pair in turn (model, then floor): compute
    # them once per pair; the last four pairs are kept
    x, y = as_pair(x, y)
    key = digest(x) + digest(y)
    if key not in _memo:
        while len(_memo) >= 4:
            _memo.pop(next(iter(_memo)))
        _memo[key] = prdc(x, y)
    return _memo[key]


def precision(x, y) -> float:
    """Precision of :func:`prdc`, k = 5."""
    return _cached(x, y).precision


def recall(x, y) -> float:
    """Recall of :func:`prdc`, k = 5."""
    return _cached(x, y).recall


def density(x, y) -> float:
    """Density of :func:`prdc`, k = 5."""
    return _cached(x, y).density


def coverage(x, y) -> float:
    """Coverage of :func:`prdc`, k = 5."""
    return _cached(x, y).coverage


# The k-NN figures as :data:`pushforward.evaluation.METRICS` names them: each measured once on
# each side and judged by its ratio to the floor (their spread is tight).
_ONCE = {"better": "higher", "repeats": 1, "floor_repeats": 1}
PRECISION = Metric(precision, label="precision", tolerance=0.93, **_ONCE)
RECALL = Metric(recall, label="recall", tolerance=0.93, **_ONCE)
DENSITY = Metric(density, label="density", tolerance=0.85, **_ONCE)
COVERAGE = Metric(coverage, label="coverage", tolerance=0.93, **_ONCE)
