"""The note's loss made trainable: KL and Jensen–Shannon between differentiable histograms.

The note (``docs/ORIGIN.md``, steps 3–4) estimates each interval's probability by its frequency,
p̂(R_i) = (1/N) Σ_j 1[z_j ∈ R_i], and minimises JS(histogram of G(X), histogram of z). As written
this cannot train, for three reasons; this module answers each of them.

1. **The indicator has zero gradient.** :func:`hard_histogram` is the literal histogram (it
   matches ``numpy.histogram`` bin for bin) and no gradient flows through it. The trainable
   histograms use *linear binning* (cloud-in-cell): ``bins`` equal cells over a range put
   ``bins + 1`` nodes g_0 … g_B at their edges, and a point at t = (v − lo)/h, between nodes i
   and i + 1, gives mass 1 − (t − i) to node i and t − i to node i + 1. The mass moves
   continuously with the point (∂/∂v = ∓1/h), each point touches two nodes, so a histogram costs
   O(n + bins) with two ``index_add`` calls, not O(n · bins) as a dense Gaussian soft-binning.
   Linear binning also keeps the sample mean exactly: Σ_k p_k g_k = mean(v).
2. **JS is constant (log 2) on disjoint supports.** The range is the *common* range of both
   samples (computed without gradient), and the divergence is averaged over a dyadic pyramid of
   resolutions on that range: ``bins``, ⌈bins/2⌉, ⌈bins/4⌉, … down to one cell (two nodes, where
   the masses are the samples' mean positions). However far apart the samples start, the coarse
   levels overlap and pull them together; as they meet, the range shrinks and the fine levels
   take over. Each coarse histogram is obtained from the fine one by a fixed (bins+1)-column
   linear rebinning matrix, so the pyramid costs O(bins · levels), independent of n; where the
   coarse nodes are a subset of the fine ones (``bins`` a power of two) it equals linear binning
   of the points themselves. ``levels=0`` keeps only the finest histogram.
3. **bins^d cells in d dimensions.** For d = 2 the joint histogram on (bins + 1)² nodes (bilinear
   binning) is the note's idea taken literally; beyond that use ``sliced-js`` (random 1-D
   projections, :mod:`pushforward.losses.sliced`).

**Many processes.** A histogram is additive: the counts of a union of samples are the sums of
the counts of its parts. Every loss here takes ``reduce=``, a hook that combines tensors across
the processes of a distributed run (:class:`pushforward.train.distributed.Reduce`): the common
range is the maximum of ±(per-rank ranges), the node masses and the sample sizes are summed, and
every rank then evaluates the divergence of the *global* histograms. The loss on each rank is
thus the single-process loss on the union of the ranks' batches; the sum is differentiable (its
backward all-reduces the gradient, ``torch.distributed.nn``), so with gradients averaged across
ranks (DistributedDataParallel) each step follows the gradient of that one loss. The sliced
losses take rank 0's random directions (``reduce(theta, "broadcast")``). ``reduce=None`` (one
process) changes nothing.

Empty cells would make KL infinite (and the gradient of JS at an empty cell is −∞), so every
histogram is smoothed, p̃ = (p + eps)/(1 + K·eps) over its K nodes. Identical samples give
identical histograms, hence a divergence of exactly 0; JS is exactly symmetric.

References:
    Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).
    Wand, "Fast computation of multivariate kernel estimators", J. Comput. Graph. Stat. 3 (1994)
    (linear binning).
    Goodfellow et al., "Generative adversarial networks", arXiv:1406.2661 (JS and disjoint
    supports); Arjovsky et al., "Wasserstein GAN", arXiv:1701.07875.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from ..errors import PushforwardError

__all__ = [
    "common_range",
    "hard_histogram",
    "soft_histogram",
    "js_divergence",
    "kl_divergence",
    "hist_js",
    "hist_kl",
]

#: ``reduce(tensor, op)``, op ``"sum"`` (differentiable), ``"max"`` or ``"broadcast"`` (rank 0's
#: value): the same tensor on every rank, combined across the ranks of a distributed run.
Reduce = Callable[[Tensor, str], Tensor]

EPS = 1e-6  # smoothing for JS, whose gradient is bounded anyway
EPS_KL = 1e-4  # KL's gradient q/p̃ needs a firmer floor: with 1e-6, forward KL from a bad
# start is dominated by the noise of nearly empty generated cells and converges ~3x slower


def common_range(x: Tensor, y: Tensor, *, reduce: Reduce | None = None) -> tuple[Tensor, Tensor]:
    """Per-column [lo, hi] covering both samples, without gradient.

    A constant column gets the range [v − ½, v + ½], as in ``numpy.histogram``.

    Arguments:
        x: (n, P) sample.
        y: (m, P) sample.
        reduce: across processes, the range covering every rank's samples (None: these only).

    Returns:
        ``(lo, hi)``, two (P,) tensors.

    Example:
        >>> lo, hi = common_range(torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0]]))
        >>> lo.tolist(), hi.tolist()
        ([0.0], [3.0])
    """
    with torch.no_grad():
        xmin, xmax = torch.aminmax(x, dim=0)
        ymin, ymax = torch.aminmax(y, dim=0)
        lo, hi = torch.minimum(xmin, ymin), torch.maximum(xmax, ymax)
        if reduce is not None:  # min(lo) = −max(−lo): one "max" for both ends
            lo, hi = reduce(torch.cat([-lo, hi]), "max").view(2, -1)
            lo = -lo
        flat = hi <= lo
        return torch.where(flat, lo - 0.5, lo), torch.where(flat, hi + 0.5, hi)


def _linear_binning(v: Tensor, lo: Tensor, hi: Tensor, bins: int) -> Tensor:
    # v: (n, P) -> (P, bins + 1) masses, each row summing to n. Points lie in [lo, hi] by
    # construction; the clamp of w (inclusive, so it keeps the gradient at 0 and 1) only
    # catches rounding at the extreme points, which would otherwise give a mass of -1e-8.
    n, p = v.shape
    t = (v - lo) * (bins / (hi - lo))
    i = t.detach().floor().clamp_(0, bins - 1).long()
    w = (t - i).clamp(0, 1)
    idx = (i + torch.arange(p, device=v.device) * (bins + 1)).reshape(-1)
    out = v.new_zeros(p * (bins + 1))
    out = out.index_add(0, idx, (1 - w).reshape(-1)).index_add(0, idx + 1, w.reshape(-1))
    return out.view(p, bins + 1)


def _bilinear_binning(v: Tensor, lo: Tensor, hi: Tensor, bins: int) -> Tensor:
    # v: (n, 2) -> (bins + 1, bins + 1) masses summing to n.
    t = (v - lo) * (bins / (hi - lo))
    i = t.detach().floor().clamp_(0, bins - 1).long()
    w = (t - i).clamp(0, 1)
    k = bins + 1
    idx = i[:, 0] * k + i[:, 1]
    a, b = w[:, 0], w[:, 1]
    out = v.new_zeros(k * k)
    for shift, mass in ((0, (1 - a) * (1 - b)), (1, (1 - a) * b), (k, a * (1 - b)), (k + 1, a * b)):
        out = out.index_add(0, idx + shift, mass)
    return out.view(k, k)


def _probabilities(hx: Tensor, hy: Tensor, nx: int, ny: int,
                   reduce: Reduce | None) -> tuple[Tensor, Tensor]:
    # Masses → probabilities; across processes the masses and sizes are summed first (in one
    # all-reduce), so these are the probabilities of the union of the ranks' samples.
    if reduce is None:
        return hx / nx, hy / ny
    sizes = hx.new_tensor([nx, ny])
    pooled = reduce(torch.cat([hx.reshape(-1), hy.reshape(-1), sizes]), "sum")
    k = hx.numel()
    nx_all, ny_all = pooled[-2].detach(), pooled[-1].detach()
    return (pooled[:k].view_as(hx) / nx_all, pooled[k: 2 * k].view_as(hy) / ny_all)


@lru_cache(maxsize=64)
def _rebin_matrix_np(fine: int, coarse: int) -> np.ndarray:
    # Linear binning of the fine nodes k/fine onto the coarse nodes j/coarse of [0, 1].
    t = np.arange(fine + 1) * (coarse / fine)
    i = np.minimum(np.floor(t).astype(int), coarse - 1)
    w = t - i
    r = np.zeros((coarse + 1, fine + 1))
    cols = np.arange(fine + 1)
    np.add.at(r, (i, cols), 1 - w)
    np.add.at(r, (i + 1, cols), w)
    return r


@lru_cache(maxsize=64)
def _pyramid(bins: int, sizes: tuple[int, ...], dtype: torch.dtype,
             device: torch.device) -> tuple[Tensor, Tensor]:
    # (bins + 1, Σ K) matrix taking a fine histogram to all coarser ones side by side, and the
    # node count K of the level of every column of [fine | coarse ...] (for the smoothing).
    coarse = np.concatenate([_rebin_matrix_np(bins, k) for k in sizes[1:]] or
                            [np.zeros((0, bins + 1))]).T
    cells = np.concatenate([np.full(k + 1, k + 1) for k in sizes])
    return (torch.as_tensor(coarse, dtype=dtype, device=device),
            torch.as_tensor(cells, dtype=dtype, device=device))


def _rebin_matrix(fine: int, coarse: int, like: Tensor) -> Tensor:
    return torch.as_tensor(_rebin_matrix_np(fine, coarse), dtype=like.dtype, device=like.device)


def _level_sizes(bins: int, levels: int | None) -> list[int]:
    sizes = [bins]
    while sizes[-1] > 1 and (levels is None or len(sizes) <= levels):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _check_bins(bins: int, levels: int | None) -> None:
    if int(bins) != bins or bins < 1:
        raise PushforwardError(f"bins must be a positive integer, got {bins!r}")
    if levels is not None and (int(levels) != levels or levels < 0):
        raise PushforwardError(f"levels must be None or a non-negative integer, got {levels!r}")


def _smooth(p: Tensor, eps: float, cells: Tensor | int | None = None) -> Tensor:
    # p̃ = (p + eps)/(1 + K·eps) for probabilities p over K nodes.
    return (p + eps) / (1 + (p.shape[-1] if cells is None else cells) * eps)


def _terms(p: Tensor, q: Tensor, kind: str, direction: str = "forward") -> Tensor:
    # Σ over the last dimension of the divergence's terms, on smoothed probabilities.
    # (Clamped denominators only matter with eps = 0, where 0/0 would give NaN.)
    tiny = torch.finfo(p.dtype).tiny
    if kind == "js":
        m = (0.5 * (p + q)).clamp_min(tiny)
        return 0.5 * (torch.xlogy(p, p / m) + torch.xlogy(q, q / m)).sum(-1)
    a, b = (q, p) if direction == "forward" else (p, q)  # forward: KL(target ‖ generated)
    return torch.xlogy(a, a / b.clamp_min(tiny)).sum(-1)


def js_divergence(p: Tensor, q: Tensor, *, eps: float = EPS) -> Tensor:
    """Jensen–Shannon divergence between histograms along the last dimension, in nats.

    JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½(P + Q), on the smoothed and normalised
    histograms p̃ = (p/Σp + eps)/(1 + K·eps). 0 ≤ JS ≤ log 2.

    Arguments:
        p: (..., K) non-negative masses (counts or probabilities).
        q: (..., K) non-negative masses.
        eps: smoothing added to every cell; keeps the gradient finite at empty cells.

    Returns:
        (...) tensor of divergences.

    References:
        Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).

    Example:
        >>> p = torch.tensor([1.0, 0.0]); q = torch.tensor([0.0, 1.0])
        >>> round(float(js_divergence(p, q, eps=0.0)), 4) == round(math.log(2), 4)
        True
    """
    p = _smooth(p / p.sum(-1, keepdim=True), eps)
    q = _smooth(q / q.sum(-1, keepdim=True), eps)
    return _terms(p, q, "js")


def kl_divergence(p: Tensor, q: Tensor, *, eps: float = EPS_KL) -> Tensor:
    """Kullback–Leibler divergence KL(P ‖ Q) = Σ p̃ log(p̃/q̃) between smoothed histograms.

    Arguments:
        p: (..., K) non-negative masses.
        q: (..., K) non-negative masses.
        eps: smoothing added to every cell after normalising; keeps KL finite where q is empty.

    Returns:
        (...) tensor of divergences, in nats.

    References:
        Kullback and Leibler, "On information and sufficiency", Ann. Math. Stat. 22 (1951).

    Example:
        >>> p = torch.tensor([0.5, 0.5]); q = torch.tensor([0.25, 0.75])
        >>> round(float(kl_divergence(p, q, eps=0.0)), 4)
        0.1438
    """
    p = _smooth(p / p.sum(-1, keepdim=True), eps)
    q = _smooth(q / q.sum(-1, keepdim=True), eps)
    return _terms(p, q, "kl", "reverse")


def hard_histogram(x: Tensor, *, bins: int = 128,
                   range: tuple[float, float] | None = None) -> tuple[Tensor, Tensor]:
    """The note's literal histogram: counts Σ_j 1[x_j ∈ R_i] in equal bins, as numpy computes it.

    Bins are half-open [e_i, e_{i+1}) except the last, which is closed; values outside the range
    are ignored; the default range is [min x, max x]. Piecewise constant in ``x``: no gradient
    flows through it (the result does not require grad), which is why training uses
    :func:`soft_histogram`.

    Arguments:
        x: (n,) sample.
        bins: number of equal-width bins.
        range: (lo, hi); defaults to (min x, max x), widened by ½ on each side if they are equal.

    Returns:
        ``(counts, edges)``: (bins,) counts and (bins + 1,) edges, in ``x``'s dtype (float64 for
        other dtypes), equal to ``numpy.histogram(x, bins, range)``.

    Example:
        >>> hard_histogram(torch.tensor([0.0, 0.2, 0.5, 1.0]), bins=2)[0].tolist()
        [2.0, 2.0]
    """
    x = x.detach().reshape(-1)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.double()
    like = np.empty(0, dtype=np.float32 if x.dtype == torch.float32 else np.float64)
    if range is None:
        lo, hi = (x.min().cpu().numpy(), x.max().cpu().numpy()) if x.numel() else (0.0, 1.0)
    else:
        lo, hi = range
        if not lo <= hi:
            raise PushforwardError(f"hard_histogram: range must have lo <= hi, got {range!r}")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    # numpy's own edges (its dtype rules included), so that the counts agree bin for bin.
    edges_np = np.linspace(lo, hi, bins + 1, endpoint=True, dtype=np.result_type(lo, hi, like))
    edges = torch.from_numpy(edges_np).to(dtype=x.dtype, device=x.device)
    keep = (x >= edges[0]) & (x <= edges[-1])
    idx = torch.bucketize(x[keep], edges, right=True).sub_(1).clamp_(max=bins - 1)
    counts = torch.bincount(idx, minlength=bins).to(x.dtype)
    return counts, edges


def soft_histogram(x: Tensor, *, bins: int = 128,
                   range: tuple[float, float] | None = None) -> tuple[Tensor, Tensor]:
    """Differentiable histogram by linear binning: probabilities at ``bins + 1`` equispaced nodes.

    A point between nodes g_i and g_{i+1} gives mass (g_{i+1} − v)/h to g_i and (v − g_i)/h to
    g_{i+1}; O(n + bins); Σ_k p_k g_k equals the sample mean exactly.

    Arguments:
        x: (n,) sample.
        bins: number of cells between the nodes.
        range: (lo, hi); defaults to (min x, max x). Points outside count at the end nodes.

    Returns:
        ``(p, nodes)``: (bins + 1,) probabilities and (bins + 1,) node positions.

    References:
        Wand, "Fast computation of multivariate kernel estimators", J. Comput. Graph. Stat. 3
        (1994).

    Example:
        >>> p, g = soft_histogram(torch.tensor([0.0, 0.25, 1.0]), bins=2)
        >>> [round(v, 4) for v in p.tolist()], round(float((p * g).sum()), 6)
        ([0.5, 0.1667, 0.3333], 0.416667)
    """
    x = x.reshape(-1, 1)
    if range is None:
        lo, hi = common_range(x, x)
    else:
        lo, hi = x.new_tensor([range[0]]), x.new_tensor([range[1]])
    p = _linear_binning(x, lo, hi, bins)[0] / x.shape[0]
    nodes = torch.linspace(float(lo), float(hi), bins + 1, dtype=x.dtype, device=x.device)
    return p, nodes


def _check_kind(kind: str, direction: str) -> None:
    if kind not in ("js", "kl"):
        raise PushforwardError(f"kind must be 'js' or 'kl', got {kind!r}")
    if direction not in ("forward", "reverse"):
        raise PushforwardError(f"direction must be 'forward' or 'reverse', got {direction!r}")


def projected_divergence(xp: Tensor, yp: Tensor, *, kind: str = "js", bins: int = 128,
                         levels: int | None = None, eps: float | None = None,
                         direction: str = "forward", reduce: Reduce | None = None) -> Tensor:
    """Per-column histogram divergence of 1-D samples, averaged over the resolution pyramid.

    Arguments:
        xp: (n, P) generated values, one column per projection.
        yp: (m, P) target values.
        kind: ``"js"`` or ``"kl"``.
        bins: cells at the finest level.
        levels: number of coarser levels (None: down to one cell).
        eps: histogram smoothing (default 1e-6 for JS, 1e-4 for KL).
        direction: for KL, ``"forward"`` = KL(target ‖ generated), ``"reverse"`` the other way.
        reduce: combines the histograms across processes (see the module docstring); None: one
            process.

    Returns:
        (P,) tensor of divergences.

    Example:
        >>> x = torch.linspace(0, 1, 50)[:, None]
        >>> projected_divergence(x, x).tolist()
        [0.0]
    """
    _check_bins(bins, levels)
    _check_kind(kind, direction)
    eps = (EPS if kind == "js" else EPS_KL) if eps is None else eps
    lo, hi = common_range(xp, yp, reduce=reduce)
    sizes = tuple(_level_sizes(bins, levels))
    coarse, cells = _pyramid(bins, sizes, xp.dtype, xp.device)
    # All levels side by side: each sums to 1, so the mean over levels of the per-level sums
    # is the sum of all terms divided by the number of levels.
    hx, hy = _probabilities(_linear_binning(xp, lo, hi, bins), _linear_binning(yp, lo, hi, bins),
                            xp.shape[0], yp.shape[0], reduce)
    px = _smooth(torch.cat([hx, hx @ coarse], dim=-1), eps, cells)
    py = _smooth(torch.cat([hy, hy @ coarse], dim=-1), eps, cells)
    return _terms(px, py, kind, direction) / len(sizes)


def _joint_divergence(x: Tensor, y: Tensor, kind: str, bins: int, levels: int | None,
                      eps: float, direction: str, reduce: Reduce | None) -> Tensor:
    lo, hi = common_range(x, y, reduce=reduce)
    hx, hy = _probabilities(_bilinear_binning(x, lo, hi, bins), _bilinear_binning(y, lo, hi, bins),
                            x.shape[0], y.shape[0], reduce)
    sizes = _level_sizes(bins, levels)
    total = _terms(_smooth(hx.reshape(-1), eps), _smooth(hy.reshape(-1), eps), kind, direction)
    for size in sizes[1:]:
        r = _rebin_matrix(bins, size, hx)
        cx, cy = (r @ hx @ r.T).reshape(-1), (r @ hy @ r.T).reshape(-1)
        total = total + _terms(_smooth(cx, eps), _smooth(cy, eps), kind, direction)
    return total / len(sizes)


def _hist_loss(x: Tensor, y: Tensor, kind: str, bins: int | None, levels: int | None,
               eps: float, direction: str, reduce: Reduce | None) -> Tensor:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise PushforwardError(f"expected (n, d) and (m, d) samples, got {tuple(x.shape)} and "
                               f"{tuple(y.shape)}")
    d = x.shape[1]
    if d == 1:
        return projected_divergence(x, y, kind=kind, bins=bins or 256, levels=levels, eps=eps,
                                    direction=direction, reduce=reduce)[0]
    if d == 2:
        bins = bins or 32
        _check_bins(bins, levels)
        _check_kind(kind, direction)
        return _joint_divergence(x, y, kind, bins, levels, eps, direction, reduce)
    raise PushforwardError(f"hist-{kind} needs bins^d cells and stops at d = 2 (got d = {d}); "
                           f"use 'sliced-{kind}', its average over 1-D projections")


def hist_js(x: Tensor, y: Tensor, *, bins: int | None = None, levels: int | None = None,
            eps: float = EPS, reduce: Reduce | None = None) -> Tensor:
    """Jensen–Shannon divergence between linear-binning histograms of x and y (d = 1 or 2).

    JS = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½(P + Q), with P, Q the histograms of x and y on their
    common range, averaged over the pyramid of resolutions bins, ⌈bins/2⌉, …, 1 (see the module
    docstring). For d = 2, the joint histogram on (bins + 1)² nodes.

    Arguments:
        x: (n, d) generated sample.
        y: (m, d) target sample.
        bins: cells per axis at the finest level; default 256 for d = 1, 32 for d = 2.
        levels: number of coarser levels averaged in (None: all, 0: finest only).
        eps: histogram smoothing (keeps the gradient finite at empty cells).
        reduce: across processes, the loss of the union of every rank's x and y (module
            docstring); None: one process.

    Returns:
        0-d tensor, in nats; exactly 0 when x and y are equal, symmetric in x and y.

    References:
        Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991).
        Goodfellow et al., "Generative adversarial networks", arXiv:1406.2661.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randn(1000, 1, generator=g)
        >>> float(hist_js(y, y)), bool(hist_js(y + 3, y) > hist_js(y + 1, y))
        (0.0, True)
    """
    return _hist_loss(x, y, "js", bins, levels, eps, "forward", reduce)


def hist_kl(x: Tensor, y: Tensor, *, bins: int | None = None, levels: int | None = None,
            eps: float = EPS_KL, direction: str = "forward",
            reduce: Reduce | None = None) -> Tensor:
    """Kullback–Leibler divergence between linear-binning histograms of x and y (d = 1 or 2).

    ``direction="forward"``: KL(Q ‖ P) = Σ q log(q/p), target Q against generated P (the maximum-
    likelihood direction, mode covering); ``"reverse"``: KL(P ‖ Q) (mode seeking). Same
    histograms and pyramid as :func:`hist_js`, with a firmer smoothing. From a far start the
    forward direction first widens the generated sample to cover the target and converges more
    slowly than JS or reverse KL.

    Arguments:
        x: (n, d) generated sample.
        y: (m, d) target sample.
        bins: cells per axis at the finest level; default 256 for d = 1, 32 for d = 2.
        levels: number of coarser levels averaged in (None: all, 0: finest only).
        eps: histogram smoothing, which keeps KL finite where one histogram is empty.
        direction: ``"forward"`` or ``"reverse"``.
        reduce: across processes, the loss of the union of every rank's x and y; None: one
            process.

    Returns:
        0-d tensor, in nats; exactly 0 when x and y are equal.

    References:
        Kullback and Leibler, "On information and sufficiency", Ann. Math. Stat. 22 (1951).
        Minka, "Divergence measures and message passing", MSR-TR-2005-173 (KL directions).

    Example:
        >>> y = torch.linspace(-2, 2, 500)[:, None]
        >>> float(hist_kl(y, y)), bool(hist_kl(y + 1, y, direction="reverse") > 0)
        (0.0, True)
    """
    return _hist_loss(x, y, "kl", bins, levels, eps, direction, reduce)
