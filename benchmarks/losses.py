"""Loss throughput, forward + backward, on CPU: the figures of issue 3, section 5.

1. 1-D, n = 2**16 points per sample, 256 bins: ``hist-js`` (linear binning, O(n + bins)) must be
   no slower than the sort-based ``swd`` at the same n.
2. For the pairwise losses (``mmd``, ``energy``, ``sinkhorn``), the n (a power of two) at which one
   forward + backward call takes about 10 ms, in 1-D and 2-D (in 1-D ``energy`` sorts).
3. For context, a dense Gaussian soft histogram (O(n · bins)) at n = 65,536.

Run: ``python benchmarks/losses.py`` (``--threads`` sets torch's CPU threads, default 2).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from pushforward.losses import LOSSES, js_divergence

N = 1 << 16
BINS = 256
TARGET_MS = 10.0


def ms_per_call(fn: Callable[[], object], *, min_time: float = 0.4, min_reps: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds, after two warm-up calls."""
    fn()
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return 1e3 * statistics.median(times)


def loss_call(name: str, n: int, d: int = 1, **options) -> Callable[[], None]:
    """One forward + backward pass of a registered loss on two (n, d) normal samples."""
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(n, d, generator=g) + 0.5).requires_grad_()
    y = torch.randn(n, d, generator=g)
    fn = LOSSES.get(name)

    def call() -> None:
        x.grad = None
        fn(x, y, **options).backward()

    return call


def dense_soft_histogram_call(n: int, bins: int) -> Callable[[], None]:
    """JS between dense Gaussian soft histograms: every point weighs on every bin."""
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(n, generator=g) + 0.5).requires_grad_()
    y = torch.randn(n, generator=g)
    with torch.no_grad():
        lo = float(torch.minimum(x.min(), y.min()))
        hi = float(torch.maximum(x.max(), y.max()))
    centres = torch.linspace(lo, hi, bins)
    h = (hi - lo) / bins

    def hist(v: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * ((v[:, None] - centres) / h) ** 2).sum(0)

    def call() -> None:
        x.grad = None
        js_divergence(hist(x), hist(y)).backward()

    return call


def n_at_target(name: str, d: int, target_ms: float = TARGET_MS, max_log2: int = 20):
    """Largest power-of-two n whose call takes at most ``target_ms``, with its time and the next."""
    best = None
    for k in range(6, max_log2 + 1):
        ms = ms_per_call(loss_call(name, 1 << k, d), min_time=0.2, min_reps=3)
        if ms > target_ms:
            return best, (1 << k, ms)
        best = (1 << k, ms)
    return best, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    threads = parser.parse_args().threads
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {threads} CPU threads, float32, forward + backward\n")

    print(f"1. 1-D, n = {N:,} per sample")
    hist_ms = ms_per_call(loss_call("hist-js", N, bins=BINS))
    flat_ms = ms_per_call(loss_call("hist-js", N, bins=BINS, levels=0))
    swd_ms = ms_per_call(loss_call("swd", N))
    for label, ms in ((f"hist-js, {BINS} bins, full pyramid", hist_ms),
                      (f"hist-js, {BINS} bins, levels=0", flat_ms), ("swd (sort)", swd_ms)):
        print(f"   {label:34s} {ms:8.2f} ms/call")
    verdict = "PASS" if hist_ms <= swd_ms else "FAIL"
    print(f"   hist-js no slower than swd: {verdict} ({hist_ms:.2f} <= {swd_ms:.2f})\n")

    print(f"2. n at which one call takes ~{TARGET_MS:.0f} ms (powers of two; 1-D energy sorts)")
    for name in ("mmd", "energy", "sinkhorn"):
        for d in (1, 2):
            below, above = n_at_target(name, d)
            left = f"n = {below[0]:>7,}: {below[1]:6.2f} ms" if below else "n = 64 is slower"
            right = f"n = {above[0]:>7,}: {above[1]:6.2f} ms" if above else "(search limit)"
            print(f"   {name:9s} d = {d}   {left}   |   {right}")
    print()

    dense_ms = ms_per_call(dense_soft_histogram_call(N, BINS), min_time=0.2, min_reps=3)
    print(f"3. context: dense Gaussian soft histogram JS, n = {N:,}, {BINS} bins: "
          f"{dense_ms:.1f} ms/call ({dense_ms / hist_ms:.0f}x hist-js)")


if __name__ == "__main__":
    main()
