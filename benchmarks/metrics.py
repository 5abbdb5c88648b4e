"""Evaluation figures at n = 10⁴ vs 10⁴: cost, noise floor and separation (issue 5, section 6).

    python benchmarks/metrics.py              # 2-D and 64-D, n = 10,000 (a few minutes)
    python benchmarks/metrics.py --quick      # n = 1,000, for CI
    python benchmarks/metrics.py --evaluate   # also one full evaluate() at n = 10,000 in 2-D

For every figure of ``pushforward.evaluation.METRICS``, in 2-D and in 64-D, on a mixture of 8
Gaussian modes (centres on a circle of radius 2 in the first two coordinates, sd 0.3 around
each), every sample standardised by the reference's column means and standard deviations:

- seconds for one call on 10⁴ vs 10⁴ points (precision, recall, density and coverage come from
  one shared pass: the first of them carries the time);
- its value for a second real sample (the noise floor), for a shifted sample (every column
  moved by 0.25 of its standard deviation) and for the mixture with one of its 8 modes dropped,
  each with its ratio to the floor, so the separation is visible.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pushforward.data.codec import Standardize  # noqa: E402
from pushforward.evaluation import METRICS, evaluate  # noqa: E402

MODES, RADIUS, SD = 8, 2.0, 0.3


def mixture(n: int, d: int, rng: np.random.Generator, *, drop: int | None = None) -> np.ndarray:
    """n points of the 8-mode mixture in d dimensions; ``drop``: that mode's share goes to the
    others."""
    keep = [k for k in range(MODES) if k != drop]
    k = rng.choice(keep, size=n)
    centres = np.zeros((MODES, d))
    angle = 2 * np.pi * np.arange(MODES) / MODES
    centres[:, 0], centres[:, 1] = RADIUS * np.cos(angle), RADIUS * np.sin(angle)
    return centres[k] + SD * rng.standard_normal((n, d))


def run(d: int, n: int) -> list[tuple]:
    rng = np.random.default_rng(d)
    ref = mixture(n, d, rng)
    scale = Standardize().fit(ref)
    z = scale.encode
    samples = {"floor": z(mixture(n, d, rng)), "shifted": z(mixture(n, d, rng) + 0.25 * scale.std_),
               "dropped": z(mixture(n, d, rng, drop=0))}
    zr = z(ref)
    rows = []
    for key, m in ((k, METRICS.get(k)) for k in METRICS):
        t = time.perf_counter()
        floor = m(samples["floor"], zr)
        seconds = time.perf_counter() - t
        shifted, dropped = m(samples["shifted"], zr), m(samples["dropped"], zr)
        rows.append((key, seconds, floor, shifted, dropped, m.better))
    return rows


def show(d: int, n: int, rows: list[tuple]) -> None:
    print(f"\n{d}-D, n = {n:,} vs {n:,} (8-mode mixture, standardised)")
    print(f"{'figure':<10} {'seconds':>8} {'real vs real':>13} {'shifted':>11} {'ratio':>8}"
          f" {'mode dropped':>13} {'ratio':>8}  better")
    for key, sec, floor, shifted, dropped, better in rows:
        r1 = shifted / floor if floor else float("inf")
        r2 = dropped / floor if floor else float("inf")
        print(f"{key:<10} {sec:8.3f} {floor:13.4g} {shifted:11.4g} {r1:8.3g} {dropped:13.4g}"
              f" {r2:8.3g}  {better}")


class _Mixture:
    """A stand-in 'model' that samples the mixture with one mode dropped (for --evaluate)."""

    method, noise, latent_dim, dim, pointwise, info = "one-mode-dropped", "normal", 2, 2, False, {}
    settings: dict = {}
    seed = 0

    def sample(self, k: int, *, seed: int = 0) -> np.ndarray:
        return mixture(k, 2, np.random.default_rng(seed), drop=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="n = 1,000 instead of 10,000")
    p.add_argument("--evaluate", action="store_true", help="time one full evaluate() in 2-D")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n = 1000 if args.quick else 10_000
    print(f"pushforward evaluation figures · {platform.processor() or platform.machine()} · "
          f"torch {torch.__version__} · {torch.get_num_threads()} thread(s)")
    for d in (2, 64):
        show(d, n, run(d, n))
    if args.evaluate:
        ref = mixture(2 * n, 2, np.random.default_rng(99))  # halves: reference and floor
        t = time.perf_counter()
        e = evaluate(_Mixture(), ref, n=n)
        print(f"\nevaluate(): all figures with their floors, {e.n:,} points per sample, "
              f"{time.perf_counter() - t:.1f} s\n  {e.verdict}")


if __name__ == "__main__":
    main()
