"""Peak memory of a learned fit from a .npy file larger than memory (docs/benchmarks.md).

Usage (measure with GNU time; the figure is "Maximum resident set size"):

    python benchmarks/large_npy_fit.py big.npy --make --rows 100000000   # 800 MB, float32
    /usr/bin/time -v python benchmarks/large_npy_fit.py big.npy              # default holdout
    /usr/bin/time -v pushforward fit big.npy --method sliced-js --steps 500 --out /tmp/m
    rm big.npy

It runs ``pushforward.fit(big.npy, method="sliced-js", steps=500)`` as the command line does:
load (memory-mapped), split (by blocks of rows: nothing copied), schema, codec, 500 training
steps and the closing held-out check (2,000 held-out and 20,000 training rows drawn from the
file), without saving. ``--learned-only`` runs the method alone (no split record, no check).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make(path: str, rows: int) -> None:
    """A (rows, 2) float32 file written in blocks: x0 ~ N(0, 1), x1 = x0/2 + Gamma(2)."""
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, 2))
    for i in range(0, rows, 10**7):
        m = min(10**7, rows - i)
        a = rng.normal(size=m).astype(np.float32)
        x[i: i + m, 0], x[i: i + m, 1] = a, 0.5 * a + rng.gamma(2.0, size=m)
    x.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--make", action="store_true", help="write the file and stop")
    p.add_argument("--rows", type=int, default=10**8)
    p.add_argument("--holdout", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--learned-only", action="store_true")
    a = p.parse_args()
    if a.make:
        make(a.path, a.rows)
        return
    import pushforward
    from pushforward.data import load_source
    from pushforward.methods import METHODS

    t = time.perf_counter()
    if a.learned_only:
        source = load_source(a.path)
        fitted = METHODS.get("sliced-js")(source, noise="normal", latent_dim=source.dim, seed=1,
                                         steps=a.steps, threads=1, holdout=a.holdout)
        check = "no closing check"
    else:
        fitted = pushforward.fit(a.path, method="sliced-js", seed=1, steps=a.steps,
                                 holdout=a.holdout)
        check = fitted.info["holdout"]["summary"]
    print(f"holdout {a.holdout}  {time.perf_counter() - t:.1f} s  {fitted.info['steps']} steps "
          f"({fitted.info['stopped']}); split {fitted.info.get('split', {}).get('rule')}; {check}")


if __name__ == "__main__":
    main()
