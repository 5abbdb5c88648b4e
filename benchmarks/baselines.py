"""Cheap methods on the nine 2-D toys: copula, gmm, kde and auto, as ``fit`` runs them.

    python benchmarks/baselines.py                        # four methods × nine targets
    python benchmarks/baselines.py --n 3000 --perfect 3   # + the protocol's noise
    python benchmarks/baselines.py --methods gmm,kde --targets moons,8gaussians

A thin caller of :func:`pushforward.bench.run_bench` (``pushforward bench``): every cell is
``pushforward.fit(target, method=M, seed=S, time_budget=B)`` with the method's defaults (a
built-in target: fresh training draws), timed as a whole fit, then ``evaluate`` with the energy
distance and C2ST beside their floors. Cells are cached in ``--out`` (a rerun reuses them).
"""

from __future__ import annotations

import argparse
import os

from pushforward.bench import run_bench, split_list
from pushforward.cli import console

TARGETS = ["8gaussians", "25gaussians", "swissroll", "moons", "circles", "rings", "pinwheel",
           "2spirals", "checkerboard"]
KEYS = ["copula", "gmm", "kde", "auto"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--methods", default=",".join(KEYS))
    ap.add_argument("--budget", type=float, default=30.0, help="whole-fit seconds per cell")
    ap.add_argument("--n", type=int, default=3000, help="points per compared sample")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--perfect", type=int, default=0, metavar="K",
                    help="also score K perfect samplers (fresh real draws) per target")
    ap.add_argument("--out", default="benchmarks/.cache/baselines")
    args = ap.parse_args()
    err = console(stderr=True)
    err.print(f"{os.cpu_count()} CPUs, load average "
                  f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    result = run_bench(split_list(args.targets), methods=split_list(args.methods),
                       budget=args.budget, seeds=args.seeds, perfect=args.perfect, n=args.n,
                       out=args.out, console=err)
    console().print(result.table())


if __name__ == "__main__":
    main()
