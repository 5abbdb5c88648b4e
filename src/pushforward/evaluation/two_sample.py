"""Two-sample figures: plain functions ``f(x, y) -> float`` of a candidate and a reference sample.

Every figure takes the candidate ``x`` (generated points, or a second real sample for the noise
floor) and the reference ``y`` (held-out real data), numpy or torch, (n, d) or (n,). Figures
that need a choice fix it from ``y`` alone (the MMD bandwidth) or from a seed (the sliced
projections), so the model and the floor, measured against the same reference, are measured
with the same kernel and the same directions. Callers standardise first (``evaluate`` does).

:data:`METRICS` holds them all, each with how it is judged against its floor: this module's
divergences, the classifier test of :mod:`.c2st` and the k-NN figures of :mod:`.prdc`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..losses import kernel, sliced
from ..metrics import energy_distance_sq, ks_two_sample
from ..registry import Registry
from ._arrays import as_array, as_pair

__all__ = ["Metric", "METRICS", "energy", "mmd", "median_bandwidth", "sliced_wasserstein",
           "ks_columns", "ks", "w1_columns", "w1"]


@dataclass(frozen=True)
class Metric:
    """A two-sample figure and the rule that compares it with its noise floor.

    Attributes:
        fn: ``fn(x, y) -> float``, candidate first, reference second.
        label: the name printed in tables.
        better: ``"lower"`` (a divergence, 0 for equal samples) or ``"higher"`` (a similarity).
        tolerance: the ratio to the floor beyond which the candidate is distinguishable: above
            ``tolerance × floor`` for ``lower``, below it for ``higher``. Set so that a sample
            of the reference distribution itself passes in about 99 % of draws.
        repeats: how many generated samples are averaged (``MEASURES.md``: 5 for energy).
        floor_repeats: how many real samples are averaged for the floor (10 for energy).
        judge: optional ``judge(value, floor, n) -> bool`` (True: indistinguishable) replacing
            the ratio rule, for figures with an exact test (C2ST's binomial test).
    """

    fn: Callable[..., float]
    label: str
    better: str = "lower"
    tolerance: float = 1.5
    repeats: int = 1
    floor_repeats: int = 1
    judge: Callable[[float, float, int], bool] | None = None

    def __call__(self, x, y) -> float:
        return float(self.fn(x, y))

    def indistinguishable(self, value: float, floor: float, n: int) -> bool:
        """True when ``value`` is within this figure's tolerance of ``floor``."""
        if self.judge is not None:
            return bool(self.judge(value, floor, n))
        if self.better == "lower":
            return value <= self.tolerance * floor + 1e-12
        return value >= self.tolerance * floor - 1e-12


#: Every two-sample figure, by short key (``evaluate(..., metrics=[...])``).
METRICS: Registry[Metric] = Registry("metric")


def _register(key: str, description: str, **spec) -> Callable[[Callable], Callable]:
    def add(fn: Callable) -> Callable:
        METRICS.register(key, description)(Metric(fn, **spec))
        return fn

    return add


@_register("energy", "squared energy distance, 5 generated vs 10 real samples (MEASURES.md)",
           label="energy distance²", tolerance=1.3, repeats=5, floor_repeats=10)
def energy(x, y) -> float:
    """Squared energy distance, V-statistic: ED² = 2·mean‖x−y‖ − mean‖x−x'‖ − mean‖y−y'‖.

    :func:`pushforward.metrics.energy_distance_sq` (chunked, float64); in 1-D the same value
    from sorted samples in O(n log n).

    Arguments:
        x: candidate sample (n, d).
        y: reference sample (m, d).

    Returns:
        ED² ≥ 0; 0 for equal samples.

    References:
        Székely and Rizzo, "Energy statistics", J. Stat. Plan. Inference 143 (2013).

    Example:
        >>> round(energy([0.0, 1.0], [1.0, 2.0]), 6)
        1.0
    """
    x, y = as_pair(x, y)
    if x.shape[1] == 1:
        return float(kernel.energy(torch.from_numpy(x), torch.from_numpy(y)))
    return energy_distance_sq(x, y)


def median_bandwidth(y, *, max_points: int = 1000) -> float:
    """The median heuristic: median distance between points of ``y`` (an even subsample).

    Arguments:
        y: reference sample (m, d).
        max_points: at most this many evenly strided points are used.

    Returns:
        The median of ‖yᵢ − yⱼ‖ over pairs i < j (1.0 if it is 0).

    References:
        Garreau, Jitkrittum and Kanagawa, "Large sample analysis of the median heuristic",
        arXiv:1707.07269.

    Example:
        >>> median_bandwidth([[0.0], [1.0], [3.0]])
        2.0
    """
    y = as_array(y, "y")
    sub = torch.from_numpy(y[:: -(-len(y) // max_points)])
    d = torch.pdist(sub)
    med = float(d.median()) if d.numel() else 0.0
    return med if med > 0 else 1.0


@_register("mmd", "squared MMD, Gaussian kernel, bandwidth by the median heuristic on the "
           "reference", label="MMD²", tolerance=2.0)
def mmd(x, y, *, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy (V-statistic) with a Gaussian kernel.

    MMD² = mean k(xᵢ, xₖ) + mean k(yⱼ, yₗ) − 2·mean k(xᵢ, yⱼ), k(a, b) = exp(−‖a − b‖²/(2σ²)),
    σ the median distance within the reference ``y`` (:func:`median_bandwidth`), so every
    candidate measured against one reference uses one kernel.

    Arguments:
        x: candidate sample (n, d).
        y: reference sample (m, d).
        bandwidth: σ; default the median heuristic on ``y``.

    Returns:
        MMD² in [0, 2].

    References:
        Gretton et al., "A kernel two-sample test", JMLR 13 (2012); arXiv:0805.2368.

    Example:
        >>> import numpy as np
        >>> y = np.random.default_rng(0).normal(size=(300, 2))
        >>> mmd(y, y), mmd(y + 1, y) > mmd(y + 0.1, y)
        (0.0, True)
    """
    x, y = as_pair(x, y)
    h = median_bandwidth(y) if bandwidth is None else float(bandwidth)
    with torch.no_grad():
        return float(kernel.mmd(torch.from_numpy(x), torch.from_numpy(y), bandwidth=h,
                                scales=(1.0,), chunk_size=2048))


@_register("swd", "sliced Wasserstein-1 over 128 fixed random directions",
           label="sliced Wasserstein-1", tolerance=1.6)
def sliced_wasserstein(x, y, *, n_projections: int = 128, seed: int = 0) -> float:
    """Sliced Wasserstein-1: the mean over directions θ of W₁(θᵀx, θᵀy), exact by sorting.

    Arguments:
        x: candidate sample (n, d).
        y: reference sample (m, d).
        n_projections: number of directions (orthonormal blocks); exact W₁ in 1-D.
        seed: seed of the directions; fixed, so candidates share them.

    Returns:
        SW₁ ≥ 0, in the data's units.

    References:
        Bonneel, Rabin, Peyré and Pfister, "Sliced and Radon Wasserstein barycenters of
        measures", J. Math. Imaging Vis. 51 (2015).

    Example:
        >>> sliced_wasserstein([0.0, 1.0], [2.0, 3.0])
        2.0
    """
    x, y = as_pair(x, y)
    return float(sliced.swd(torch.from_numpy(x), torch.from_numpy(y), p=1,
                            n_projections=n_projections, generator=seed))


def ks_columns(x, y) -> np.ndarray:
    """Two-sample Kolmogorov–Smirnov statistic sup |F̂ₓ − F̂ᵧ| of each column.

    Example:
        >>> ks_columns([[0.0, 0.0], [1.0, 5.0]], [[0.0, 2.0], [1.0, 3.0]]).tolist()
        [0.0, 0.5]
    """
    x, y = as_pair(x, y)
    return np.array([ks_two_sample(x[:, j], y[:, j]) for j in range(x.shape[1])])


@_register("ks", "two-sample Kolmogorov-Smirnov statistic of the worst column",
           label="KS (worst column)", tolerance=1.6)
def ks(x, y) -> float:
    """The largest per-column KS statistic (:func:`ks_columns`).

    References:
        Smirnov, "Table for estimating the goodness of fit of empirical distributions",
        Ann. Math. Stat. 19 (1948).

    Example:
        >>> ks([[0.0], [1.0]], [[2.0], [3.0]])
        1.0
    """
    return float(ks_columns(x, y).max())


def w1_columns(x, y) -> np.ndarray:
    """Wasserstein-1 distance ∫|F̂ₓ⁻¹ − F̂ᵧ⁻¹| of each column, exact by sorting.

    Example:
        >>> w1_columns([[0.0, 0.0], [1.0, 1.0]], [[0.5, 0.0], [1.5, 1.0]]).tolist()
        [0.5, 0.0]
    """
    x, y = as_pair(x, y)
    return sliced.wasserstein_1d(torch.from_numpy(x), torch.from_numpy(y), p=1).numpy()


@_register("w1", "Wasserstein-1 distance of the worst column", label="W₁ (worst column)",
           tolerance=1.6)
def w1(x, y) -> float:
    """The largest per-column Wasserstein-1 distance (:func:`w1_columns`).

    References:
        Villani, "Optimal transport, old and new", Springer 2009, Remark 2.19.

    Example:
        >>> w1([0.0, 1.0], [0.5, 1.5])
        0.5
    """
    return float(w1_columns(x, y).max())
