"""What ``--knots K`` costs a quantile map: the KS distance to the truth with and without it.

A quantile map fitted on m values keeps all m of them; with ``knots=K`` it keeps K points per
column (docs: :class:`pushforward.exact.quantile.QuantileMap`). For three 1-D targets with a
known cdf F, m training values are drawn for each seed and both maps are fitted; their output
cdf is exact, G(x) = Φ(transform(x)), so the Kolmogorov–Smirnov distance sup |G − F| is taken
without sampling, on the 200,000 quantiles F⁻¹((i − ½)/200,000) plus every knot. Printed per
target and K, averaged over the seeds: D(full, F) (the training sample's own error, about
0.8687/√m), D(K knots, F), D(K knots, full) (what the knots change) and the model file's size.

Usage:
    python benchmarks/knots.py                     # m = 20,000, 5 seeds, K = 100 300 1000 3000
    python benchmarks/knots.py --m 2000 --seeds 2  # quicker
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import pushforward
from pushforward.data import load_source

TARGETS = ["gamma(a=2)", "t(df=3)", "mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))"]


def ks_to(m, grid: np.ndarray, cdf: np.ndarray) -> float:
    """sup |G − cdf| over ``grid``, G the exact output cdf of the 1-D map ``m``."""
    g = m.noise_.cdf(m.transform(grid[:, None])[:, 0])
    return float(np.max(np.abs(g - cdf)))


def measure(spec: str, m: int, knots: list[int], seeds: int, folder: Path) -> dict:
    source = load_source(spec)
    grid0 = source.dist.ppf((np.arange(200_000) + 0.5) / 200_000)
    out: dict = {"full": [], "size_full": 0, **{k: [] for k in knots}}
    for s in range(seeds):
        x = source.draw(m, seed=s)
        full = pushforward.fit(x, method="quantile", seed=s, holdout=0)
        grid = np.sort(np.concatenate([grid0, full.quantiles_[:, 0]]))
        out["full"].append(ks_to(full, grid, source.dist.cdf(grid)))
        out["size_full"] = full.save(folder / f"full-{s}").stat().st_size
        for k in knots:
            small = pushforward.fit(x, method="quantile", seed=s, knots=k, holdout=0)
            g = np.sort(np.concatenate([grid, small.quantiles_[:, 0]]))
            exact = ks_to(small, g, source.dist.cdf(g))
            # G_full − G_small: both exact cdfs on the same points
            diff = np.max(np.abs(full.noise_.cdf(full.transform(g[:, None])[:, 0])
                                 - small.noise_.cdf(small.transform(g[:, None])[:, 0])))
            size = small.save(folder / f"k{k}-{s}").stat().st_size
            out[k].append((exact, float(diff), size))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--m", type=int, default=20_000, help="training values per seed")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--knots", default="100,300,1000,3000")
    args = ap.parse_args()
    knots = [int(k) for k in args.knots.split(",")]
    start = time.perf_counter()
    print(f"m = {args.m:,} training values, mean over {args.seeds} seeds; "
          f"0.8687/√m = {0.8687 / np.sqrt(args.m):.4f}")
    print(f"{'target':<40} {'K':>6} {'D(map, F)':>10} {'D(K, full)':>11} {'file':>9}")
    with tempfile.TemporaryDirectory() as d:
        for i, spec in enumerate(TARGETS):
            (Path(d) / str(i)).mkdir()
            r = measure(spec, args.m, knots, args.seeds, Path(d) / str(i))
            print(f"{spec:<40} {'all':>6} {np.mean(r['full']):10.4f} {'':>11} "
                  f"{r['size_full'] / 1024:7.0f} kB")
            for k in knots:
                exact, diff, size = np.mean(r[k], axis=0)
                print(f"{'':<40} {k:>6} {exact:10.4f} {diff:11.5f} {size / 1024:7.1f} kB")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
