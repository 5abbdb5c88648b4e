"""The VAE and the neural spline flow on moons, beside the methods with a density.

    python benchmarks/zoo.py                      # vae, nsf at 120 s; gmm, kde; moons
    python benchmarks/zoo.py --budget 60 --methods vae,nsf,gmm,kde,ot-flow-matching
    python benchmarks/zoo.py --smoke              # seconds, for CI

Every method runs as ``pushforward fit moons --method M --time-budget B --threads 1`` fits it
(its defaults, seed 0; the method's fit function is called directly, so the fit's closing
check, which does not change the map, is not timed). One torch thread for training and
scoring: on the shared 2-core machine (load 10) two intra-op threads made a spline-flow step
30× slower (27 ms → 790 ms). Per method:

- ``ed_ratio``: docs/measures.md's protocol (:func:`pushforward.metrics.ed_ratio`: 5 generated
  samples of n = 10,000 against one test sample of 10,000 fresh draws, over the mean of 10 fresh
  real samples; the floor is computed once, with the same seeds);
- for the VAE also the noisy sample x = G(z) + σ·ε with its learned σ, the alternative to the
  decoder's mean that the map does not use (the objective is trained through
  :func:`pushforward.learned.fit_learned`, as ``fit`` does, to read σ);
- gmm and kde (``LIKELIHOOD_ONLY``) are scored by log-lik only, as references (their ed_ratio
  on the 2-D toys is benchmarks/baselines.py's);
- ``log-lik``: the held-out mean log-likelihood of the 10,000 test points, in nats per point, ±
  its standard error, where the map has ``log_prob``; beside it the exact density of moons
  (scikit-learn's ``make_moons(noise=0.1)`` × 2: the mean of N(x; 2·c(θ) + shift, 0.2² I) over
  θ ∈ [0, π] on 4,000 midpoints and both moons), the best any model can score;
- training steps, fit and sampling seconds, and the machine's load (``os.getloadavg``).

Bars (issue 16): vae ed_ratio ≤ 3; nsf ed_ratio ≤ 1.5 and log-lik within 0.05 nats of the best
method that has one.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from pushforward.data import load_source
from pushforward.learned import TrainConfig, fit_learned
from pushforward.methods import LEARNED, METHODS
from pushforward.metrics import energy_distance_sq
from pushforward.objectives.vae import VAE

TARGET = "moons"
N = 10_000
LIKELIHOOD_ONLY = ("gmm", "kde")


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


class Protocol:
    """docs/measures.md's ed_ratio with the floor computed once (same seeds as metrics.ed_ratio)."""

    def __init__(self, source, n: int, seed: int = 0, repeats: int = 5, floor_repeats: int = 10):
        self.n, self.seed, self.repeats = n, seed, repeats
        ref = source.draw(20_000, seed=seed + 999)
        self.mean, self.std = ref.mean(0), ref.std(0)
        self.test = source.draw(n, seed=seed + 12345)
        self.t = self.scale(self.test)
        self.floor = float(np.mean([energy_distance_sq(self.scale(source.draw(n, seed=seed + 1000
                                                                              + j)), self.t)
                                    for j in range(floor_repeats)]))

    def scale(self, a: np.ndarray) -> np.ndarray:
        return (np.asarray(a, dtype=np.float64) - self.mean) / self.std

    def ratio(self, generate) -> float:
        value = np.mean([energy_distance_sq(self.scale(generate(self.n, self.seed + i)), self.t)
                         for i in range(self.repeats)])
        return float(value / self.floor)


def log_lik(model, test: np.ndarray) -> tuple[float, float] | None:
    if not hasattr(model, "log_prob"):
        return None
    lp = np.asarray(model.log_prob(test), dtype=np.float64)
    return float(lp.mean()), float(lp.std(ddof=1) / np.sqrt(len(lp)))


def run_vae(source, budget: float, proto: Protocol) -> dict:
    obj = VAE()
    t0 = time.perf_counter()
    m = fit_learned(source, obj, method="vae", noise="normal", latent_dim=source.dim, seed=0,
                    config=TrainConfig(time_budget=budget, threads=1))
    fit_s = time.perf_counter() - t0
    sigma = obj.observation_sigma().double().cpu().numpy() * proto.std  # ≈ data units

    def noisy(n: int, s: int) -> np.ndarray:
        return m.sample(n, seed=s) + sigma * np.random.default_rng([s, 7]).normal(size=(n, 2))

    return {"model": m, "fit_s": fit_s, "extra": {"noisy ed_ratio": proto.ratio(noisy),
                                                  "sigma": sigma.round(3).tolist()}}


def run(method: str, source, budget: float, proto: Protocol) -> dict:
    if method == "vae":
        out = run_vae(source, budget, proto)
    else:
        t0 = time.perf_counter()
        m = METHODS.get(method)(source, noise="normal", latent_dim=source.dim, seed=0,
                                time_budget=budget, **({"threads": 1} if method in LEARNED
                                                       else {}))
        out = {"model": m, "fit_s": time.perf_counter() - t0, "extra": {}}
    m = out["model"]
    t0 = time.perf_counter()
    m.sample(N, seed=1)
    out["sample_s"] = time.perf_counter() - t0
    out["ed_ratio"] = (None if method in LIKELIHOOD_ONLY
                       else proto.ratio(lambda n, s: m.sample(n, seed=s)))
    out["log_lik"] = log_lik(m, proto.test)
    out["steps"] = m.info.get("steps")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="vae,nsf,gmm,kde")
    ap.add_argument("--budget", type=float, default=120.0)
    ap.add_argument("--smoke", action="store_true", help="2 s budgets, n = 2,000")
    args = ap.parse_args()
    budget, n = (2.0, 2000) if args.smoke else (args.budget, N)
    torch.set_num_threads(1)
    source = load_source(TARGET)
    proto = Protocol(source, n)
    exact = moons_log_density(proto.test)
    print(f"{TARGET}: budget {budget:g} s, n = {n:,}, torch threads {torch.get_num_threads()}, "
          f"load {os.getloadavg()[0]:.1f}; exact density's log-lik {exact.mean():.4f} ± "
          f"{exact.std(ddof=1) / np.sqrt(len(exact)):.4f}")
    print(f"{'method':<18}{'ed_ratio':>9}{'log-lik':>18}{'steps':>8}{'fit s':>8}{'sample s':>9}"
          "  notes")
    for method in args.methods.split(","):
        r = run(method, source, budget, proto)
        ll = "—" if r["log_lik"] is None else f"{r['log_lik'][0]:.4f} ± {r['log_lik'][1]:.4f}"
        notes = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                          for k, v in r["extra"].items())
        ratio = "—" if r["ed_ratio"] is None else f"{r['ed_ratio']:.2f}"
        print(f"{method:<18}{ratio:>9}{ll:>18}{r['steps'] or '—':>8}"
              f"{r['fit_s']:>8.1f}{r['sample_s']:>9.2f}  {notes} (load "
              f"{os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
