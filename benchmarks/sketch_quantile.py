"""The sketched quantile map against the exact one on 10⁷ rows (docs/benchmarks.md).

Usage:

    python benchmarks/sketch_quantile.py /tmp/g.npy --rows 10000000

Writes a (rows, 1) float32 file of gamma(2) values (and one of a t(3) column for heavy tails),
fits the exact :class:`QuantileMap` on the rows in memory and the sketched map
(``pushforward.exact.sketch.sketched`` then ``quantile.from_sketches``, as ``fit`` does for a
file of more than 2²⁴ rows: one pass over the memory-mapped file),
and reports, at 10⁵ evenly spaced u in [10⁻⁶, 1 − 10⁻⁶], the rank error of the sketched map:
|F̂(G_sketch(u)) − F̂(G_exact(u))| with F̂ the exact empirical CDF (mid-ranks), its maximum and
mean, the largest value difference, and each fit's seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import special


def _rank(srt: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mid-ranks of v among the sorted rows, as shares of them."""
    return (np.searchsorted(srt, v, "left") + np.searchsorted(srt, v, "right")) / (2 * len(srt))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--rows", type=int, default=10**7)
    a = p.parse_args()
    from pushforward.data.schema import infer_schema
    from pushforward.exact import QuantileMap
    from pushforward.exact.quantile import from_sketches
    from pushforward.exact.sketch import KLL_K, RANK_ERROR, sketched

    rng = np.random.default_rng(0)
    for name, draw in (("gamma(2)", lambda n: rng.gamma(2.0, size=n)),
                       ("t(3)", lambda n: rng.standard_t(3, size=n))):
        np.save(a.path, draw(a.rows).astype(np.float32)[:, None])
        data = np.load(a.path, mmap_mode="r")
        schema = infer_schema(np.asarray(data[:1000], dtype=float), ["x"])
        t = time.perf_counter()
        codec, sketches = sketched(data, schema, tails="extrapolate", seed=0)
        sk = from_sketches(sketches, codec, columns=["x"], schema=schema, tails="extrapolate",
                           noise="normal", knots=None)
        t_sketch = time.perf_counter() - t
        x = np.asarray(data, dtype=np.float64)
        t = time.perf_counter()
        exact = QuantileMap().fit(x, schema=schema)
        t_exact = time.perf_counter() - t
        srt = np.sort(x[:, 0])
        u = np.linspace(1e-6, 1 - 1e-6, 100_001)
        z = special.ndtri(u)[:, None]
        got, want = sk.inverse_transform(z)[:, 0], exact.inverse_transform(z)[:, 0]

        err = np.abs(_rank(srt, got) - _rank(srt, want))
        print(f"{name}: rows {a.rows:,}  k {KLL_K}  stated rank error {RANK_ERROR:.2e}  "
              f"measured max {err.max():.2e} mean {err.mean():.2e}  "
              f"max |value diff| {np.abs(got - want).max():.3g} "
              f"(at u = {u[np.argmax(np.abs(got - want))]:.6f})  "
              f"sketch fit {t_sketch:.1f} s  exact fit {t_exact:.1f} s  "
              f"knots {sk.quantiles_.shape[0]:,} vs {exact.quantiles_.shape[0]:,}")
        del data


if __name__ == "__main__":
    main()
