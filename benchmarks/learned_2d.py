"""Learned 2-D maps: ed_ratio (n = 10,000, MEASURES.md) of every method on the 2-D toys.

    python benchmarks/learned_2d.py                       # every loss × six targets, 60 s each
    python benchmarks/learned_2d.py --methods sliced-js,swd --targets moons --budget 30
    python benchmarks/learned_2d.py --smoke               # seconds, for CI

Each cell (method, target, budget, seed) is cached as JSON in ``benchmarks/.cache/learned_2d``;
``--fresh`` ignores the cache. The table is printed at the end with the bars: the best learned
loss ≤ 2.0 on moons, circles, rings and ≤ 3.0 on pinwheel, 2spirals, checkerboard; sliced-js within
1.5× of the best.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import pushforward
from pushforward._io import write_text
from pushforward.losses import LOSSES
from pushforward.metrics import ed_ratio

TARGETS = ["moons", "circles", "rings", "pinwheel", "2spirals", "checkerboard"]
BARS = {"moons": 2.0, "circles": 2.0, "rings": 2.0, "pinwheel": 3.0, "2spirals": 3.0,
        "checkerboard": 3.0}
CACHE = Path(__file__).parent / ".cache" / "learned_2d"


def score(method: str, target: str, budget: float, seed: int, n: int, options: dict) -> dict:
    """Fit ``method`` on ``target`` for ``budget`` seconds; ed_ratio with n points."""
    src = pushforward.load_source(target)
    t0 = time.perf_counter()
    m = pushforward.fit(target, method=method, time_budget=budget, seed=seed, **options)
    fit_s = time.perf_counter() - t0
    ref = src.draw(20_000, seed=10_000 + seed)
    test = src.draw(n, seed=20_000 + seed)
    t1 = time.perf_counter()
    m.sample(n, seed=0)
    sample_s = time.perf_counter() - t1
    r = ed_ratio(lambda k, s: m.sample(k, seed=s), lambda k, s: src.draw(k, seed=s), test,
                 mean=ref.mean(0), std=ref.std(0), n=n, seed=30_000 + seed)
    return {"method": method, "target": target, "budget": budget, "seed": seed, "n": n,
            "ed_ratio": r.ratio, "energy": r.value, "floor": r.floor, "fit_s": fit_s,
            "sample_s": sample_s, "steps": m.info.get("steps"),
            "steps_per_s": (m.info.get("steps") or 0) / max(m.info.get("seconds", 1e-9), 1e-9),
            "stopped": m.info.get("stopped")}


def cell(method, target, budget, seed, n, options, fresh: bool) -> dict:
    key = f"{method}_{target}_{budget:g}s_seed{seed}_n{n}"
    if options:
        key += "_" + "_".join(f"{k}={v}" for k, v in sorted(options.items()))
    path = CACHE / f"{key}.json"
    if path.exists() and not fresh:
        return json.loads(path.read_text())
    res = score(method, target, budget, seed, n, options)
    write_text(path, json.dumps(res, indent=1))
    return res


def table(results: list[dict], methods: list[str], targets: list[str]) -> str:
    by = {(r["method"], r["target"]): r for r in results}
    lines = ["| method | " + " | ".join(targets) + " | steps/s |",
             "|---|" + "---|" * (len(targets) + 1)]
    for m in methods:
        cells = [f"{by[(m, t)]['ed_ratio']:.2f}" if (m, t) in by else "–" for t in targets]
        sps = [by[(m, t)]["steps_per_s"] for t in targets if (m, t) in by]
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {np.mean(sps):.0f} |")
    return "\n".join(lines)


def bars(results: list[dict], targets: list[str]) -> list[str]:
    out = []
    for t in targets:
        rs = [r for r in results if r["target"] == t]
        if not rs or t not in BARS:
            continue
        best = min(rs, key=lambda r: r["ed_ratio"])
        line = (f"{t:<13} best {best['method']:<10} {best['ed_ratio']:6.2f} "
                f"(bar ≤ {BARS[t]:.1f}: {'PASS' if best['ed_ratio'] <= BARS[t] else 'FAIL'})")
        sj = [r for r in rs if r["method"] == "sliced-js"]
        if sj:
            ratio = sj[0]["ed_ratio"] / best["ed_ratio"]
            line += (f"; sliced-js {sj[0]['ed_ratio']:.2f} = {ratio:.2f}× best "
                     f"(bar ≤ 1.5: {'PASS' if ratio <= 1.5 else 'FAIL'})")
        out.append(line)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default=",".join(LOSSES))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--budget", type=float, default=60.0, help="training seconds per cell")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=10_000, help="points per ed_ratio sample")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    ap.add_argument("--fresh", action="store_true", help="ignore cached cells")
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    targets = [t for t in args.targets.split(",") if t]
    budget, n = (1.0, 500) if args.smoke else (args.budget, args.n)
    torch.set_num_threads(2)
    print(f"pushforward {pushforward.__version__}, torch {torch.__version__}, "
          f"{platform.machine()}, threads {torch.get_num_threads()}, budget {budget:g} s, "
          f"n = {n:,}")
    results = []
    for t in targets:
        for m in methods:
            r = cell(m, t, budget, args.seed, n, {}, args.fresh or args.smoke)
            results.append(r)
            print(f"{m:<12} {t:<13} ed_ratio {r['ed_ratio']:8.2f}  steps {r['steps']:>6}  "
                  f"sample 10⁴: {r['sample_s']:.2f} s  ({r['stopped']})", flush=True)
    print()
    print(table(results, methods, targets))
    print()
    print("\n".join(bars(results, targets)))


if __name__ == "__main__":
    main()
