"""Kernel sample losses: maximum mean discrepancy and the energy distance.

Both are sums over all pairs, Σ_ij k(a_i, b_j). They are computed in blocks of ``chunk_size``
rows and columns by a custom autograd function that keeps only its inputs and recomputes each
block in the backward pass, so memory stays O((n + m)·d + bandwidths·chunk_size²) however
large the batch: a plain autograd graph would keep every n × m block alive until backward. The
gradient is written out, Σ_j φ'(s_ij)·2(a_i − b_j) with s = ‖a − b‖², and set to 0 where
a_i = b_j, where ‖·‖ (energy) and the Laplace kernel are not differentiable. In 1-D the energy
distance needs no pairs at all: it is computed from sorted values in O(n log n).

References:
    Gretton et al., "A kernel two-sample test", JMLR 13 (2012); arXiv:0805.2368.
    Li, Swersky and Zemel, "Generative moment matching networks", arXiv:1502.02761.
    Dziugaite, Roy and Ghahramani, "Training generative neural networks via maximum mean
    discrepancy optimization", arXiv:1505.03906.
    Székely and Rizzo, "Energy statistics: a class of statistics based on distances",
    J. Stat. Plan. Inference 143 (2013).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..errors import PushforwardError

__all__ = ["median_distance", "pair_mean", "mmd", "energy"]

KERNELS = ("gaussian", "laplace")


def _sqdist(a: Tensor, b: Tensor, diagonal: bool) -> tuple[Tensor, Tensor | None]:
    # Squared distances. Up to 8 dimensions from explicit differences: exact (a point's distance
    # to itself is 0) and as fast; the 1-D differences are kept for the gradient. Above, by the
    # matmul expansion (~3x faster at 64-D), clamped at 0, with the diagonal of a block of
    # self-pairs set to its exact 0 (rounding there would become ~1e-8 under sqrt).
    if a.shape[1] == 1:
        diff = a - b.T
        return diff.square(), diff
    if a.shape[1] <= 8:
        return _direct(a, b).square(), None
    s = (a.square().sum(1, keepdim=True) + b.square().sum(1) - 2 * a @ b.T).clamp_min_(0)
    if diagonal:
        s.diagonal().zero_()
    return s, None


def _direct(a: Tensor, b: Tensor) -> Tensor:
    # ‖aᵢ − bⱼ‖ from the differences, whatever the number of rows (cdist's default switches
    # formula on the row count, so a blockwise sum would depend on the block size).
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _block_sum(a: Tensor, b: Tensor, diagonal: bool, kind: str,
               scales: tuple[float, ...]) -> Tensor:
    # Σ φ over one block, in float64. Distances in 2-8 dimensions come straight from cdist:
    # squaring them for _sqdist and taking the root again would cost ~60 % more.
    if kind == "distance" and 1 < a.shape[1] <= 8:
        return _direct(a, b).sum(dtype=torch.float64)
    s, _ = _sqdist(a, b, diagonal)
    return _profile(s, kind, scales, False).sum(dtype=torch.float64)


def _profile(s: Tensor, kind: str, scales: tuple[float, ...], derivative: bool) -> Tensor:
    # φ(s), or dφ/ds if ``derivative``, averaged over bandwidths, for k(a, b) = φ(‖a − b‖²).
    if kind == "distance":
        r = s.sqrt()
        return torch.where(r > 0, 0.5 / r, 0.0) if derivative else r
    if kind == "gaussian":
        rate = s.new_tensor([0.5 / h**2 for h in scales])[:, None, None]
        k = torch.exp(s * -rate)
        return -(k * rate).mean(0) if derivative else k.mean(0)
    r = s.sqrt()  # laplace
    rate = s.new_tensor([1.0 / h for h in scales])[:, None, None]
    k = torch.exp(r * -rate)
    if not derivative:
        return k.mean(0)
    return -(k * rate).mean(0) * torch.where(r > 0, 0.5 / r, 0.0)


class _PairSum(torch.autograd.Function):
    """Σ_ij φ(‖a_i − b_j‖²) in blocks, with the gradient recomputed blockwise."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, kind: str, scales: tuple[float, ...], chunk: int,
                same: bool) -> Tensor:
        ctx.save_for_backward(a, b)
        ctx.kind, ctx.scales, ctx.chunk, ctx.same = kind, scales, chunk, same
        total = torch.zeros((), dtype=torch.float64, device=a.device)
        for i in range(0, a.shape[0], chunk):
            # pairs of a sample with itself are symmetric: blocks above the diagonal count twice
            for j in range(i if same else 0, b.shape[0], chunk):
                block = _block_sum(a[i:i + chunk], b[j:j + chunk], same and i == j, kind, scales)
                total += 2 * block if same and j > i else block
        return total.to(a.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        ga = torch.zeros_like(a) if ctx.needs_input_grad[0] else None
        gb = torch.zeros_like(b) if ctx.needs_input_grad[1] else None
        c = ctx.chunk
        for i in range(0, a.shape[0], c):
            for j in range(0, b.shape[0], c):
                ai, bj = a[i:i + c], b[j:j + c]
                s, diff = _sqdist(ai, bj, ctx.same and i == j)
                w = 2 * _profile(s, ctx.kind, ctx.scales, True)
                if diff is not None:
                    pull = w * diff
                    if ga is not None:
                        ga[i:i + c, 0] += pull.sum(1)
                    if gb is not None:
                        gb[j:j + c, 0] -= pull.sum(0)
                    continue
                if ga is not None:
                    ga[i:i + c] += w.sum(1, keepdim=True) * ai - w @ bj
                if gb is not None:
                    gb[j:j + c] += w.sum(0)[:, None] * bj - w.T @ ai
        return (None if ga is None else ga * grad, None if gb is None else gb * grad,
                None, None, None, None)


def pair_mean(a: Tensor, b: Tensor, kind: str = "distance", scales: Sequence[float] = (),
              chunk_size: int = 1024) -> Tensor:
    """mean over all pairs (i, j), diagonal included, of φ(‖aᵢ − bⱼ‖): the one pairwise sum
    behind :func:`mmd`, :func:`energy` and evaluation's figures of the same names.

    φ is the distance itself (``kind="distance"``) or a kernel of :data:`KERNELS` averaged over
    the bandwidths ``scales``. Blocks of ``chunk_size`` rows; differentiable, with the gradient
    recomputed blockwise; accumulated in float64.

    Example:
        >>> a = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
        >>> float(pair_mean(a, a))
        2.5
    """
    # Equal inputs (x against a copy of itself) share the exact zero diagonal of self-pairs, so
    # that d(x, x) is exactly 0, and compute each symmetric pair of blocks once.
    scales, chunk = tuple(float(h) for h in scales), chunk_size
    same = a is b or (a.shape == b.shape and torch.equal(a, b))
    return _PairSum.apply(a, b, kind, scales, chunk, same) / (a.shape[0] * b.shape[0])


def _check(x: Tensor, y: Tensor, chunk_size: int) -> None:
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise PushforwardError(f"expected (n, d) and (m, d) samples, got {tuple(x.shape)} and "
                               f"{tuple(y.shape)}")
    if chunk_size < 1:
        raise PushforwardError(f"chunk_size must be positive, got {chunk_size}")


def median_distance(*samples: Tensor, max_points: int = 128) -> float:
    """The median heuristic: the median pairwise distance of the pooled samples, no gradient.

    The one bandwidth rule of the project: the MMD loss pools the generated and the target batch
    (:func:`mmd`); evaluation passes the reference sample alone, so every candidate measured
    against one reference is measured with one kernel.

    Arguments:
        *samples: (n, d) samples, pooled.
        max_points: at most this many evenly strided points are taken from each sample.

    Returns:
        The median of ‖z_i − z_j‖ over pairs i < j (1.0 if it is 0).

    References:
        Garreau, Jitkrittum and Kanagawa, "Large sample analysis of the median heuristic",
        arXiv:1707.07269.

    Example:
        >>> median_distance(torch.tensor([[0.0], [1.0]]), torch.tensor([[3.0]]))
        2.0
        >>> median_distance(torch.tensor([[0.0], [1.0], [3.0]]))
        2.0
    """
    with torch.no_grad():
        z = torch.cat([s[:: -(-s.shape[0] // max_points)] for s in samples])
        d = torch.pdist(z.double())
        med = float(d.median()) if d.numel() else 0.0
    return med if med > 0 else 1.0


def mmd(x: Tensor, y: Tensor, *, kernel: str = "gaussian", bandwidth: float | None = None,
        scales: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0), chunk_size: int = 1024) -> Tensor:
    """Squared maximum mean discrepancy (V-statistic) with a mixture of kernel bandwidths.

    MMD² = mean k(x_i, x_k) + mean k(y_j, y_l) − 2 mean k(x_i, y_j) (all pairs, diagonal
    included), k = (1/S) Σ_s k_{σ_s}, σ_s = bandwidth · scale_s; Gaussian kernel
    exp(−‖a − b‖²/(2σ²)) or Laplace kernel exp(−‖a − b‖/σ). Both are characteristic, so
    MMD² = 0 only for equal distributions; it is ≥ 0 (up to rounding) and symmetric.

    Arguments:
        x: (n, d) generated sample.
        y: (m, d) target sample.
        kernel: ``"gaussian"`` or ``"laplace"``.
        bandwidth: base σ; default the median pairwise distance of the pooled sample.
        scales: multipliers of the base bandwidth.
        chunk_size: block size of the pairwise computation (memory O(chunk_size²)).

    Returns:
        0-d tensor, between 0 and 2.

    References:
        Gretton et al., "A kernel two-sample test", JMLR 13 (2012); arXiv:0805.2368.
        Li, Swersky and Zemel, "Generative moment matching networks", arXiv:1502.02761.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = torch.randn(200, 2, generator=g)
        >>> float(mmd(y, y)), bool(mmd(y + 1, y) > mmd(y + 0.1, y))
        (0.0, True)
    """
    _check(x, y, chunk_size)
    if kernel not in KERNELS:
        raise PushforwardError(f"unknown kernel {kernel!r}; valid: {', '.join(KERNELS)}")
    base = median_distance(x, y) if bandwidth is None else float(bandwidth)
    if not base > 0 or not scales:
        raise PushforwardError(f"mmd: bandwidth must be positive and scales non-empty, got "
                               f"{bandwidth!r} and {scales!r}")
    hs = tuple(base * float(s) for s in scales)
    kxx = pair_mean(x, x, kernel, hs, chunk_size)
    kyy = pair_mean(y, y, kernel, hs, chunk_size)
    kxy = pair_mean(x, y, kernel, hs, chunk_size)
    return (kxx + kyy) - 2 * kxy


def _pair_distance_sum(v: Tensor) -> Tensor:
    # Σ_{a,b} |v_a − v_b| over ordered pairs = 2 Σ_k (2k − N − 1) v_(k), from the sorted values;
    # accumulated in float64 (the terms are ~N² and ED² is a small difference of them).
    s = torch.sort(v).values.double()
    k = torch.arange(1, len(s) + 1, dtype=torch.float64, device=v.device)
    return 2 * ((2 * k - len(s) - 1) * s).sum()


def _energy_1d(x: Tensor, y: Tensor) -> Tensor:
    # O((n + m) log(n + m)): the pooled sum holds the within-sample sums and twice the cross sum.
    n, m = len(x), len(y)
    sxx, syy = _pair_distance_sum(x), _pair_distance_sum(y)
    sxy = (_pair_distance_sum(torch.cat([x, y])) - sxx - syy) / 2
    return (2 * sxy / (n * m) - sxx / n**2 - syy / m**2).to(x.dtype)


def energy(x: Tensor, y: Tensor, *, chunk_size: int = 1024) -> Tensor:
    """Squared energy distance (V-statistic), ED² = 2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖.

    Means over all pairs, diagonal included, as ``docs/measures.md`` defines ED². In 1-D it is
    the square of ``scipy.stats.energy_distance`` and is computed by sorting,
    Σ_{a,b} |v_a − v_b| = 2 Σ_k (2k − N − 1) v_(k), in O(n log n); otherwise pairwise in blocks.
    The gradient of ‖a − b‖ is taken as 0 at a = b.

    Arguments:
        x: (n, d) generated sample.
        y: (m, d) target sample.
        chunk_size: block size of the pairwise computation (memory O(chunk_size²)).

    Returns:
        0-d tensor, ≥ 0 and symmetric.

    References:
        Székely and Rizzo, "Energy statistics: a class of statistics based on distances",
        J. Stat. Plan. Inference 143 (2013).
        Bellemare et al., "The Cramer distance as a solution to biased Wasserstein gradients",
        arXiv:1705.10743.

    Example:
        >>> x = torch.tensor([[0.0], [1.0]])
        >>> float(energy(x, x)), float(energy(x, x + 1))
        (0.0, 1.0)
    """
    _check(x, y, chunk_size)
    if x.shape[1] == 1:
        return _energy_1d(x[:, 0], y[:, 0])
    dxy = pair_mean(x, y, "distance", (), chunk_size)
    dxx = pair_mean(x, x, "distance", (), chunk_size)
    dyy = pair_mean(y, y, "distance", (), chunk_size)
    return 2 * dxy - (dxx + dyy)
