"""Two-sample figures: plain functions ``f(x, y) -> float`` of a candidate and a reference sample.

Every figure takes the candidate ``x`` (generated points, or a second real sample for the noise
floor) and the reference ``y`` (held-out real data), numpy or torch, (n, d) or (n,). Figures
that need a choice fix it from ``y`` alone (the MMD bandwidth) or from a seed (the sliced
projections), so the model and the floor, measured against the same reference, are measured
with the same kernel and the same directions. Callers standardise first (``evaluate`` does).

:data:`pushforward.evaluation.METRICS` names them all, each a :class:`Metric` with how it is
judged against its floor: this module's divergences (5 generated against 10 real samples, an
exact permutation test), the classifier test of :mod:`.c2st` (a binomial test) and the k-NN
figures of :mod:`.knn` (a ratio tolerance: their spread is tight).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..losses import kernel, sliced
from ..metrics import ks_two_sample
from ._arrays import as_pair, digest

__all__ = ["Metric", "ALPHA", "holm", "permutation_p_value", "energy", "mmd",
           "sliced_wasserstein", "ks_columns", "ks", "w1_columns", "w1"]


#: Family-wise level of the verdict: the figures with an exact test vote together through
#: Holm's step-down correction (:func:`holm`), so a perfect model is called distinguishable in
#: at most 1 % of evaluations, whatever the dependence between the figures.
ALPHA = 0.01


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: reject the hypotheses whose adjusted p is < α.

    With p₍₁₎ ≤ … ≤ p₍ₘ₎ sorted, p̃₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Rejecting
    where p̃ < α keeps the chance of any false rejection below α under any dependence.

    References:
        Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6
        (1979).

    Example:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03, 0.5])]
        [0.04, 0.09, 0.09, 0.5]
    """
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


@dataclass(frozen=True)
class Metric:
    """A two-sample figure and the rule that compares it with its noise floor.

    A figure measured on several generated and several real samples against one reference is
    judged by an exact permutation test: under equality the values of both groups are
    exchangeable, so p = the share of the C(a + b, a) ways to split the pooled values whose
    "model" group is at least as bad as the real one. A figure measured once on each side (a
    costly one, or one with a tight spread) is judged by its ratio to the floor, or by its own
    exact test (``judge``).

    Attributes:
        fn: ``fn(x, y) -> float``, candidate first, reference second.
        label: the name printed in tables.
        better: ``"lower"`` (a divergence, 0 for equal samples) or ``"higher"`` (a similarity).
        repeats: how many generated samples are measured (``docs/measures.md``: 5 for energy).
        floor_repeats: how many real samples are measured for the floor (10 for energy).
        tolerance: for figures measured once: the ratio to the floor beyond which the candidate
            is distinguishable (above for ``lower``, below for ``higher``).
        judge: optional ``judge(value, floor, n) -> p-value`` replacing the rules above, for
            figures with an exact test of their own (C2ST's binomial test).
        max_n: for a costly figure, at most this many points of each sample are used (the
            first ones: the samples are i.i.d.), for the model and the floor alike.
    """

    fn: Callable[..., float]
    label: str
    better: str = "lower"
    repeats: int = 5
    floor_repeats: int = 10
    tolerance: float | None = None
    judge: Callable[[float, float, int], float] | None = None
    max_n: int | None = None

    def __call__(self, x, y) -> float:
        return float(self.fn(x, y))

    def p_value(self, values: Sequence[float], floors: Sequence[float], n: int) -> float | None:
        """The p-value of "the model is as good as real data" (None: judged by tolerance)."""
        if self.judge is not None:
            return float(self.judge(float(np.mean(values)), float(np.mean(floors)), n))
        if len(values) > 1 and len(floors) > 1:
            return permutation_p_value(values, floors, larger_is_worse=self.better == "lower")
        return None

    def indistinguishable(self, values: Sequence[float], floors: Sequence[float],
                          n: int, *, alpha: float = ALPHA) -> bool:
        """True when the model's values are within the noise of the floor's (alone, at level
        ``alpha``; :func:`~pushforward.evaluation.evaluate` judges several figures together)."""
        p = self.p_value(values, floors, n)
        if p is not None:
            return p >= alpha
        value, floor, tol = float(np.mean(values)), float(np.mean(floors)), self.tolerance or 1.0
        if self.better == "lower":
            return value <= tol * floor + 1e-12
        return value >= tol * floor - 1e-12


def permutation_p_value(values: Sequence[float], floors: Sequence[float], *,
                        larger_is_worse: bool = True, max_splits: int = 20_000,
                        seed: int = 0) -> float:
    """Exact one-sided permutation p-value of the mean of ``values`` against ``floors``.

    p = share of the ways to pick len(values) of the pooled numbers whose mean is at least as
    bad as that of ``values`` (all C(a + b, a) ways when there are at most ``max_splits``,
    otherwise that many random ones). Ties count as "as bad".

    Arguments:
        values: the model's figures (one per generated sample).
        floors: the same figure for real samples.
        larger_is_worse: True for divergences, False for similarities.
        max_splits: enumerate exactly up to this many splits.
        seed: seed of the random splits beyond ``max_splits``.

    Returns:
        p in (0, 1]; 1/C(15, 5) = 0.00033 when 5 values all exceed 10 floors.

    References:
        Good, "Permutation, parametric and bootstrap tests of hypotheses", Springer 2005.

    Example:
        >>> round(permutation_p_value([5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]), 5)
        0.00033
        >>> permutation_p_value([1, 2], [1, 2, 1, 2]) > 0.5
        True
    """
    v, f = np.asarray(values, dtype=float), np.asarray(floors, dtype=float)
    pooled, a = np.concatenate([v, f]), len(v)
    sign = 1.0 if larger_is_worse else -1.0
    observed = sign * v.mean()
    if math.comb(len(pooled), a) <= max_splits:
        idx = np.array(list(itertools.combinations(range(len(pooled)), a)))
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((max_splits, len(pooled))), axis=1)[:, :a]
    means = sign * pooled[idx].mean(axis=1)
    return float(np.mean(means >= observed - 1e-12 * max(1.0, abs(observed))))


def energy(x, y) -> float:
    """Squared energy distance, V-statistic: ED² = 2·mean‖x−y‖ − mean‖x−x'‖ − mean‖y−y'‖.

    The loss :func:`pushforward.losses.energy` evaluated without gradient in float64 (the
    value of :func:`pushforward.metrics.energy_distance_sq`), with the reference's own term kept
    between calls with the same ``y``; in 1-D from sorted samples in O(n log n).

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
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():
        if x.shape[1] == 1:
            return float(kernel.energy(xt, yt))
        yy = _self_term(y, ("distance", ()))
        return float(2 * kernel.pair_mean(xt, yt) - kernel.pair_mean(xt, xt)) - yy


_memo: dict[tuple[bytes, str, tuple], float] = {}


def _self_term(y: np.ndarray, kind: tuple[str, tuple[float, ...]]) -> float:
    # The reference's own mean over pairs: every candidate is measured against one reference
    # (15 times for the energy row), so it is computed once. Two entries are kept at most.
    key = (digest(y), *kind)
    if key not in _memo:
        while len(_memo) >= 2:
            _memo.pop(next(iter(_memo)))
        yt = torch.from_numpy(y)
        with torch.no_grad():
            _memo[key] = float(kernel.pair_mean(yt, yt, *kind))
    return _memo[key]


def mmd(x, y, *, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy (V-statistic) with a Gaussian kernel.

    MMD² = mean k(xᵢ, xₖ) + mean k(yⱼ, yₗ) − 2·mean k(xᵢ, yⱼ), k(a, b) = exp(−‖a − b‖²/(2σ²)),
    σ the median distance within the reference ``y`` alone (the one median heuristic,
    :func:`pushforward.losses.median_distance`, on at most 1000 points), so every candidate
    measured against one reference uses one kernel. The loss :func:`pushforward.losses.mmd` with
    ``scales=(1,)`` evaluated without gradient in float64, the reference's own term kept
    between calls.

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
        >>> abs(mmd(y, y)) < 1e-12, mmd(y + 1, y) > mmd(y + 0.1, y)
        (True, True)
    """
    x, y = as_pair(x, y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    h = kernel.median_distance(yt, max_points=1000) if bandwidth is None else float(bandwidth)
    with torch.no_grad():
        kxx, kxy = (float(kernel.pair_mean(xt, b, "gaussian", (h,))) for b in (xt, yt))
    return max(0.0, kxx + _self_term(y, ("gaussian", (h,))) - 2 * kxy)


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


def w1(x, y) -> float:
    """The largest per-column Wasserstein-1 distance (:func:`w1_columns`).

    References:
        Villani, "Optimal transport, old and new", Springer 2009, Remark 2.19.

    Example:
        >>> w1([0.0, 1.0], [0.5, 1.5])
        0.5
    """
    return float(w1_columns(x, y).max())


# The figures of this module as :data:`pushforward.evaluation.METRICS` names them.
ENERGY = Metric(energy, label="energy distance²")
MMD = Metric(mmd, label="MMD²", max_n=5000)
SWD = Metric(sliced_wasserstein, label="sliced W₁")
KS = Metric(ks, label="KS (worst column)")
W1 = Metric(w1, label="W₁ (worst column)")
