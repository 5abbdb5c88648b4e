"""Cheap methods on the nine 2-D toys: copula, gmm, kde and auto's race, as ``fit`` runs them.

    python benchmarks/baselines.py                      # four methods × nine targets, n = 10,000
    python benchmarks/baselines.py --n 3000 --perfect 3  # cheaper scoring, + the protocol's noise
    python benchmarks/baselines.py --methods gmm,kde --targets moons,8gaussians

Every model is ``pushforward.fit(target, method=M, seed=S)`` with the method's defaults, exactly
as ``pushforward fit TARGET --method M`` makes it (a built-in target: 20,000 fresh training
draws). Per cell:

- ``ed_ratio``: docs/measures.md's protocol with samples of ``--n`` points (default 10,000): 5
  generated samples against one test sample of fresh draws, over the mean of 10 fresh real
  samples, all standardised by 20,000 training draws; the floor is computed once per target with
  the seeds of :func:`pushforward.metrics.ed_ratio` (the scorer of ``learned_2d.py``).
- fit seconds: wall time of the method's own fit (``auto``: the whole race), without ``fit``'s
  closing held-out check, which is the same for every method; imports excluded (every method's
  modules are imported before the first timed fit). For ``auto``, the method it picked.

``--perfect K`` scores K perfect models per target (fresh real draws): the spread of their
ed_ratio is what the protocol cannot resolve.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from learned_2d import TARGETS, Scorer, perfect_band

import pushforward
from pushforward.auto import race
from pushforward.methods import METHODS

KEYS = ["copula", "gmm", "kde", "auto"]


def warm_up() -> None:
    """Import every method's modules (scikit-learn, scipy.stats, torch) before timing fits."""
    x = np.random.default_rng(0).normal(size=(200, 2))
    for method in KEYS:
        pushforward.fit(x, method=method, seed=0)


def cell(target: str, method: str, scorer: Scorer, seed: int) -> dict:
    """Fit one method on one target with its defaults; ed_ratio and fit seconds.

    The model is ``pushforward.fit``'s; the seconds are those of the method's own fit function
    (``auto``: the race), called as ``fit`` calls it on a built-in target (whose training
    source is the sampler itself): ``fit`` adds its closing held-out check, the same for every
    method, which is left out here.
    """
    fitted = pushforward.fit(target, method=method, seed=seed)
    fitter = race if method == "auto" else METHODS.get(method)
    t0 = time.perf_counter()
    again = fitter(pushforward.load_source(target), noise="normal", latent_dim=None, seed=seed)
    fit_s = time.perf_counter() - t0
    assert np.array_equal(again.sample(100, seed=1), fitted.sample(100, seed=1))
    return {"ratio": scorer.ratio(fitted), "fit_s": fit_s,
            "picked": fitted.method if method == "auto" else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--methods", default=",".join(KEYS))
    ap.add_argument("--n", type=int, default=10_000, help="points per scored sample")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--perfect", type=int, default=0, metavar="K",
                    help="also score K perfect models (fresh real draws) per target")
    args = ap.parse_args()
    targets, methods = args.targets.split(","), args.methods.split(",")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; n = {args.n:,}, seed {args.seed}")
    warm_up()
    start = time.perf_counter()
    head = f"{'target':<13}" + "".join(f"{m:>16}" for m in methods)
    head += "   perfect min/med/max" if args.perfect else ""
    print("\ned_ratio (fit seconds)\n" + head)
    for target in targets:
        scorer = Scorer(target, args.seed, args.n)
        row = {m: cell(target, m, scorer, args.seed) for m in methods}
        line = f"{target:<13}" + "".join(
            f"{row[m]['ratio']:>8.2f} ({row[m]['fit_s']:4.1f} s)" for m in methods)
        if args.perfect:
            band = perfect_band(scorer, args.perfect)
            line += f"   {min(band):.2f} / {np.median(band):.2f} / {max(band):.2f}"
        picked = row.get("auto", {}).get("picked")
        print(line + (f"   auto → {picked}" if picked else ""), flush=True)
    print(f"\nwall {time.perf_counter() - start:.0f} s; load average now "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
