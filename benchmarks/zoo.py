"""The VAE and the neural spline flow on moons, beside the methods with a density.

    python benchmarks/zoo.py                      # vae, nsf at 120 s; gmm, kde; moons
    python benchmarks/zoo.py --budget 60 --methods vae,nsf,gmm,kde,ot-flow-matching
    python benchmarks/zoo.py --smoke              # seconds, for CI

A thin caller of :func:`pushforward.bench.run_bench` (``pushforward bench``): every method runs
as ``pushforward fit moons --method M --time-budget B`` fits it (its defaults, seed 0, the whole
fit timed), then ``sample`` and ``evaluate`` (energy distance and C2ST beside their floors, and
the held-out log-likelihood of the maps with ``log_prob``, in nats per point), with the steps
reached. Printed beside: the exact density of moons (scikit-learn's ``make_moons(noise=0.1)`` × 2:
the mean of N(x; 2·c(θ) + shift, 0.2² I) over θ ∈ [0, π] on 4,000 midpoints and both moons) on
a fresh sample of the same size, the best log-likelihood any model can score.

Bars (issue 16): vae ed_ratio ≤ 3; nsf ed_ratio ≤ 1.5 and log-lik within 0.05 nats of the best
method that has one.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from pushforward.bench import run_bench, split_list
from pushforward.cli import console
from pushforward.data import load_source

TARGET = "moons"


def moons_log_density(x: np.ndarray, grid: int = 4000) -> np.ndarray:
    """The exact log-density of ``moons``: a uniform angle on each half circle, N(0, 0.2²I)."""
    theta = (np.arange(grid) + 0.5) * np.pi / grid
    upper = np.column_stack([np.cos(theta), np.sin(theta)])
    centres = 2.0 * np.concatenate([upper, np.array([1.0, 0.5]) - upper]) + np.array([-1.0, -0.2])
    s2 = 0.2**2
    out = []
    for i in range(0, len(x), 1000):
        d2 = ((x[i : i + 1000, None, :] - centres[None]) ** 2).sum(-1)
        a = -d2 / (2 * s2)
        m = a.max(1, keepdims=True)
        out.append((m[:, 0] + np.log(np.exp(a - m).mean(1))) - np.log(2 * np.pi * s2))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="vae,nsf,gmm,kde")
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--out", default="benchmarks/.cache/zoo")
    ap.add_argument("--smoke", action="store_true", help="5 s budgets, n = 500")
    args = ap.parse_args()
    budget, n = (5.0, 500) if args.smoke else (args.budget, args.n)
    exact = moons_log_density(load_source(TARGET).draw(n, seed=12345))
    print(f"{TARGET}: budget {budget:g} s, n = {n:,}, load {os.getloadavg()[0]:.1f}; exact "
          f"density's log-lik {exact.mean():.4f} ± {exact.std(ddof=1) / np.sqrt(n):.4f}")
    result = run_bench([TARGET], methods=split_list(args.methods), budget=budget, n=n,
                       out=args.out, console=console(stderr=True))
    console().print(result.table())
    for c in result.cells:
        if c.get("log_lik") is not None:
            print(f"{c['label']:<18} held-out log-lik {c['log_lik']:.4f}")


if __name__ == "__main__":
    main()
