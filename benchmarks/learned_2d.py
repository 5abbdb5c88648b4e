"""Learned 2-D maps: ed_ratio (n = 10,000, docs/measures.md) of every learned method on 2-D toys.

    python benchmarks/learned_2d.py                       # every method × nine targets
    python benchmarks/learned_2d.py --methods wgan-gp,ot-flow-matching --targets moons
    python benchmarks/learned_2d.py --smoke               # seconds, for CI
    python benchmarks/learned_2d.py --methods sliced-js --perfect 10   # + the protocol's noise
    python benchmarks/learned_2d.py --methods hist-js,sliced-js --seeds 3  # bars on 3 seeds' mean

Budgets: 120 s of training for the adversarial and flow-matching methods, 60 s for the losses
(``--budget`` sets one for all), 2 CPU threads. Each cell (method, target, budget, seed, options)
is cached as JSON in ``benchmarks/.cache/learned_2d``; ``--fresh`` ignores the cache.

Per cell:

- ``ed_ratio``: docs/measures.md's protocol (5 generated samples of n = 10,000 against one test
  sample of 10,000, over the mean of 10 fresh real samples); the floor is computed once per
  target and seed, with the same seeds as :func:`pushforward.metrics.ed_ratio`.
- mode coverage on ``8gaussians`` and ``25gaussians`` (:func:`pushforward.metrics.mode_coverage`,
  10,000 points): modes covered and the share of high-quality points.
- training steps per second, and sampling time for 10⁴ points (best of 3).
- time to quality, the training time at which ed_ratio first reaches 3.0 and 1.5: the loop
  checkpoints every budget/60 s; the EMA weights of the first checkpoint after 1/12, 1/6, 1/3,
  1/2 and 3/4 of the budget are scored (ed_ratio as above with 2 generated samples instead of 5),
  and the final model (best EMA weights) with the full protocol. The time is that of the first
  scored point at or below the level ("–": not within the budget), so it is resolved to those
  points: 10, 20, 40, 60, 90 and 120 s at the default budget.

``--perfect K`` also scores K perfect models per target, whose "samples" are fresh draws of the
target: the spread of their ed_ratio is what the protocol cannot resolve. ``--seeds K`` runs every
cell with K seeds (each seed changes the initial weights, the batches, the test sample and the
floor), prints each seed's table and their mean, and judges the bars on the mean: docs/measures.md
asks for an average over training seeds before a bar, and a single training run's ed_ratio moves
as much as the protocol's.

Every method runs with ``fit``'s defaults, as users get it (``wgan-gp``: the paper's λ = 10).
Tuned settings are extra, labelled rows (``VARIANTS``), never the method's own row:
``--methods wgan-gp,wgan-gp:toy-penalty`` adds ``wgan-gp`` with the toy-data penalty λ = 0.1 of
the reference ``gan_toy.py``. Steps reached are printed beside every budgeted figure.

Bars, printed at the end: the best learned loss ≤ 2.0 on moons, circles, rings and ≤ 3.0 on
pinwheel, 2spirals, checkerboard, sliced-js within 1.5× of the best; the better flow-matching
method ≤ 1.5 on moons, circles, rings and ≤ 2.5 on swissroll, pinwheel, 2spirals, checkerboard,
sampling 10⁴ points in ≤ 2 s; wgan-gp 8/8 modes of 8gaussians with ≥ 50 % high-quality points
and ≥ 20/25 modes of 25gaussians.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import pushforward
from pushforward._io import write_text
from pushforward._state import load_state
from pushforward.data.codec import Standardize
from pushforward.data.toys import MODES
from pushforward.losses import LOSSES
from pushforward.metrics import energy_distance_sq, mode_coverage
from pushforward.train import CHECKPOINT

TARGETS = ["8gaussians", "25gaussians", "swissroll", "moons", "circles", "rings", "pinwheel",
           "2spirals", "checkerboard"]
GENERATIVE = ["gan", "wgan", "wgan-gp", "flow-matching", "ot-flow-matching"]
FLOWS = ["flow-matching", "ot-flow-matching"]
BUDGETS = {**dict.fromkeys(LOSSES, 60.0), **dict.fromkeys(GENERATIVE, 120.0)}
#: Labelled tuned rows: label → (method, fit options); a method's own row is its defaults.
VARIANTS = {"wgan-gp:toy-penalty": ("wgan-gp", {"objective_options": {"gp_weight": 0.1}})}
BARS = {"moons": 2.0, "circles": 2.0, "rings": 2.0, "pinwheel": 3.0, "2spirals": 3.0,
        "checkerboard": 3.0}
FLOW_BARS = {"moons": 1.5, "circles": 1.5, "rings": 1.5, "swissroll": 2.5, "pinwheel": 2.5,
             "2spirals": 2.5, "checkerboard": 2.5}
MODE_BARS = {"8gaussians": (8, 0.5), "25gaussians": (20, 0.0)}
LEVELS = (3.0, 1.5)
SNAPSHOTS = (1 / 12, 1 / 6, 1 / 3, 1 / 2, 3 / 4)
CACHE = Path(__file__).parent / ".cache" / "learned_2d"
PROTOCOL = 5  # cached cells from an older protocol are recomputed


class Scorer:
    """ed_ratio against one test sample, with the real-data floor computed once."""

    def __init__(self, target: str, seed: int, n: int):
        self.src = pushforward.load_source(target)
        ref = self.src.draw(20_000, seed=10_000 + seed)
        self.scale = Standardize().fit(ref)
        self.test = self._scale(self.src.draw(n, seed=20_000 + seed))
        self.n, self.base = n, 30_000 + seed
        # the seeds of pushforward.metrics.ed_ratio: generated i → base + i, real j → base+1000+j
        self.floor = float(np.mean([self._ed2(self.src.draw(n, seed=self.base + 1000 + j))
                                    for j in range(10)]))

    def _scale(self, x: np.ndarray) -> np.ndarray:
        return self.scale.encode(x)

    def _ed2(self, x: np.ndarray) -> float:
        return energy_distance_sq(self._scale(x), self.test)

    def ratio(self, fitted, repeats: int = 5) -> float:
        value = np.mean([self._ed2(fitted.sample(self.n, seed=self.base + i))
                         for i in range(repeats)])
        return float(value / self.floor)


class Snapshots:
    """EMA weights of the first loop checkpoint after each of the given training times."""

    def __init__(self, folder: Path, times: list[float]):
        self.file, self.times = folder / CHECKPOINT, sorted(times)
        self.taken: list[tuple[float, int, dict]] = []
        self._next, self._seen, self._t0 = 0, None, None

    def __call__(self, step: int) -> None:
        """The loop's ``on_step`` hook: read a new checkpoint once the next time is due."""
        self._t0 = self._t0 or time.perf_counter()
        if self._next >= len(self.times) or \
                time.perf_counter() - self._t0 < self.times[self._next]:
            return
        if not self.file.exists() or self.file.stat().st_mtime_ns == self._seen:
            return
        self._seen = self.file.stat().st_mtime_ns
        st = load_state(self.file)
        elapsed = float(st["elapsed"])
        if elapsed >= self.times[self._next]:
            self.taken.append((elapsed, int(st["step"]), st["ema"]))
            while self._next < len(self.times) and elapsed >= self.times[self._next]:
                self._next += 1


class RealDraws:
    """A perfect model: its "samples" are fresh draws of the target itself (seeds far from the
    scorer's), so its ed_ratio shows the protocol's own noise."""

    def __init__(self, src, offset: int):
        self.src, self.offset = src, offset

    def sample(self, n: int, seed: int) -> np.ndarray:
        return self.src.draw(n, seed=self.offset + seed)


def perfect_band(scorer: Scorer, repeats: int) -> list[float]:
    """ed_ratio of ``repeats`` independent perfect models under the full protocol."""
    return [scorer.ratio(RealDraws(scorer.src, 1_000_000 * (k + 1))) for k in range(repeats)]


def sample_seconds(fitted, n: int = 10_000) -> float:
    fitted.sample(100, seed=0)
    best = np.inf
    for k in range(3):
        t = time.perf_counter()
        fitted.sample(n, seed=k)
        best = min(best, time.perf_counter() - t)
    return float(best)


def score(method: str, target: str, budget: float, seed: int, n: int, options: dict,
          scorer: Scorer) -> dict:
    """Fit ``method`` on ``target`` for ``budget`` seconds and measure the cell's figures."""
    with tempfile.TemporaryDirectory() as tmp:
        snaps = Snapshots(Path(tmp), [f * budget for f in SNAPSHOTS])
        t0 = time.perf_counter()
        m = pushforward.fit(target, method=method, time_budget=budget, seed=seed, out=tmp,
                            checkpoint_every=budget / 60, on_step=snaps, **options)
        fit_s = time.perf_counter() - t0
    curve = []
    for elapsed, step, ema in snaps.taken:
        snap = copy.deepcopy(m)
        snap.net.load_state_dict(ema)
        curve.append([round(elapsed, 2), step, scorer.ratio(snap, repeats=2)])
    r = scorer.ratio(m)
    curve.append([m.info["seconds"], m.info["steps"], r])
    res = {"protocol": PROTOCOL, "method": method, "target": target, "budget": budget,
           "seed": seed, "n": n, "options": options, "ed_ratio": r, "floor": scorer.floor,
           "fit_s": fit_s, "sample_s": sample_seconds(m), "steps": m.info.get("steps"),
           "steps_per_s": m.info["steps"] / max(m.info["seconds"], 1e-9),
           "stopped": m.info.get("stopped"), "curve": curve,
           **{f"time_to_{lv:g}": next((c[0] for c in curve if c[2] <= lv), None)
              for lv in LEVELS}}
    if target in MODES:
        res["coverage"] = mode_coverage(m.sample(10_000, seed=seed), *MODES[target]).as_dict()
    return res


def cell(method, target, budget, seed, n, options, fresh: bool, scorers: dict) -> dict:
    key = f"{method}_{target}_{budget:g}s_seed{seed}_n{n}"
    if options:
        key += "_" + "_".join(f"{k}={v}" for k, v in sorted(_flat(options).items()))
    path = CACHE / f"{key}.json"
    if path.exists() and not fresh:
        res = json.loads(path.read_text())
        if res.get("protocol") == PROTOCOL:
            return res
    if (target, seed, n) not in scorers:
        scorers[(target, seed, n)] = Scorer(target, seed, n)
    res = score(method, target, budget, seed, n, options, scorers[(target, seed, n)])
    write_text(path, json.dumps(res, indent=1))
    return res


def _flat(options: dict) -> dict:
    """{"objective_options": {"gp_weight": 0.1}} → {"gp_weight": 0.1}, for cache keys."""
    out = {}
    for k, v in options.items():
        out.update(_flat(v) if isinstance(v, dict) else {k: v})
    return out


def _fmt(x, spec: str = ".2f") -> str:
    return "–" if x is None else format(x, spec)


def table(results: list[dict], methods: list[str], targets: list[str], field: str,
          spec: str = ".2f") -> str:
    by = {(r["method"], r["target"]): r for r in results}
    lines = ["| method | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
    for m in methods:
        cells = [_fmt(by[(m, t)].get(field), spec) if (m, t) in by else "" for t in targets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speed_table(results: list[dict], methods: list[str]) -> str:
    lines = ["| method | budget (s) | steps/s | sample 10⁴ (s) | 8gaussians modes (HQ) | "
             "25gaussians modes (HQ) |", "|---|---|---|---|---|---|"]
    for m in methods:
        rs = [r for r in results if r["method"] == m]
        if not rs:
            continue
        cov = {r["target"]: r["coverage"] for r in rs if "coverage" in r}
        modes = [f"{cov[t]['covered']}/{cov[t]['modes']} ({cov[t]['high_quality']:.0%})"
                 if t in cov else "" for t in MODES]
        lines.append(f"| {m} | {rs[0]['budget']:g} | "
                     f"{np.mean([r['steps_per_s'] for r in rs]):.0f} | "
                     f"{max(r['sample_s'] for r in rs):.2f} | " + " | ".join(modes) + " |")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bars(results: list[dict], targets: list[str]) -> list[str]:
    out = []
    for t in targets:
        rs = [r for r in results if r["target"] == t and r["method"] in LOSSES]
        if rs and t in BARS:
            best = min(rs, key=lambda r: r["ed_ratio"])
            line = (f"{t:<13} best loss {best['method']:<10} {best['ed_ratio']:6.2f} "
                    f"(bar ≤ {BARS[t]:.1f}: {_verdict(best['ed_ratio'] <= BARS[t])})")
            sj = [r for r in rs if r["method"] == "sliced-js"]
            if sj:
                ratio = sj[0]["ed_ratio"] / best["ed_ratio"]
                line += (f"; sliced-js {sj[0]['ed_ratio']:.2f} = {ratio:.2f}× best "
                         f"(bar ≤ 1.5: {_verdict(ratio <= 1.5)})")
            out.append(line)
        fs = [r for r in results if r["target"] == t and r["method"] in FLOWS]
        if fs and t in FLOW_BARS:
            best = min(fs, key=lambda r: r["ed_ratio"])
            out.append(f"{t:<13} best flow {best['method']:<16} {best['ed_ratio']:6.2f} "
                       f"(bar ≤ {FLOW_BARS[t]:.1f}: {_verdict(best['ed_ratio'] <= FLOW_BARS[t])})")
        ws = [r for r in results if r["target"] == t and r["method"] == "wgan-gp"]
        if ws and t in MODE_BARS and "coverage" in ws[0]:
            c, (modes, hq) = ws[0]["coverage"], MODE_BARS[t]
            ok = c["covered"] >= modes and c["high_quality"] >= hq
            out.append(f"{t:<13} wgan-gp modes {c['covered']}/{c['modes']}, high quality "
                       f"{c['high_quality']:.0%} (bar ≥ {modes} modes"
                       + (f", ≥ {hq:.0%}" if hq else "") + f": {_verdict(ok)})")
    fs = [r for r in results if r["method"] in FLOWS]
    if fs:
        worst = max(r["sample_s"] for r in fs)
        out.append(f"flow matching: sampling 10⁴ points ≤ {worst:.2f} s "
                   f"(bar ≤ 2 s: {_verdict(worst <= 2.0)})")
    return out


def mean_over_seeds(runs: list[list[dict]]) -> list[dict]:
    """One record per (method, target): ed_ratio and steps/s averaged over the seeds' runs, the
    seeds' values beside it, the slowest sampling, and the slowest seed's time to each level (None
    if one never got there). Mode coverage stays the first seed's."""
    out = []
    for cells in zip(*runs, strict=True):
        r = {**cells[0], "ed_ratio": float(np.mean([c["ed_ratio"] for c in cells])),
             "seeds": [c["ed_ratio"] for c in cells],
             "steps_per_s": float(np.mean([c["steps_per_s"] for c in cells])),
             "sample_s": max(c["sample_s"] for c in cells)}
        for lv in LEVELS:
            times = [c[f"time_to_{lv:g}"] for c in cells]
            r[f"time_to_{lv:g}"] = None if None in times else max(times)
        out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default=",".join([*LOSSES, *GENERATIVE]))
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--budget", type=float, default=None,
                    help="training seconds per cell (default: 120 for adversarial and flow "
                         "methods, 60 for losses)")
    ap.add_argument("--seed", type=int, default=0, help="the first seed")
    ap.add_argument("--seeds", type=int, default=1, metavar="K",
                    help="train and score every cell with seeds SEED … SEED+K−1 (weights, "
                         "batches, test sample and floor) and judge the bars on the mean")
    ap.add_argument("--n", type=int, default=10_000, help="points per ed_ratio sample")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    ap.add_argument("--fresh", action="store_true", help="ignore cached cells")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the bars: 2)")
    ap.add_argument("--perfect", type=int, default=0, metavar="K",
                    help="also score K perfect models (fresh real draws) per target and seed: "
                         "the range of ed_ratio that is noise")
    ap.add_argument("--options", type=json.loads, default={},
                    help='extra fit options as JSON, e.g. \'{"lr": 1e-3}\' (cached apart)')
    args = ap.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    targets = [t for t in args.targets.split(",") if t]
    seeds = list(range(args.seed, args.seed + max(args.seeds, 1)))
    n = 500 if args.smoke else args.n
    torch.set_num_threads(args.threads)
    print(f"pushforward {pushforward.__version__}, torch {torch.__version__}, "
          f"{platform.machine()}, threads {torch.get_num_threads()}, n = {n:,}, "
          f"seeds {', '.join(map(str, seeds))}")
    runs, scorers = [], {}
    for seed in seeds:
        results = []
        for t in targets:
            for m in methods:
                method, tuned = VARIANTS.get(m, (m, {}))
                budget = 1.0 if args.smoke else args.budget or BUDGETS.get(method, 60.0)
                r = cell(method, t, budget, seed, n, {**tuned, **args.options},
                         args.fresh or args.smoke, scorers)
                r = {**r, "method": m}  # a variant's row under its label
                results.append(r)
                cov = r.get("coverage")
                print(f"{m:<16} {t:<13} seed {seed}  ed_ratio {r['ed_ratio']:8.2f}  "
                      f"steps {r['steps']:>6} ({r['steps_per_s']:.0f}/s)  to 3.0: "
                      f"{_fmt(r['time_to_3'], '.3g')} s, to 1.5: {_fmt(r['time_to_1.5'], '.3g')} "
                      f"s  sample 10⁴: {r['sample_s']:.2f} s"
                      + (f"  modes {cov['covered']}/{cov['modes']} "
                         f"HQ {cov['high_quality']:.0%}" if cov else "")
                      + f"  ({r['stopped']})", flush=True)
        runs.append(results)
    for seed, results in zip(seeds, runs, strict=True):
        print(f"\ned_ratio, seed {seed} (n = {n:,}; 1.0 = real data)\n")
        print(table(results, methods, targets, "ed_ratio"))
    results = mean_over_seeds(runs) if len(runs) > 1 else runs[0]
    if len(runs) > 1:
        print(f"\ned_ratio, mean over seeds {', '.join(map(str, seeds))}\n")
        print(table(results, methods, targets, "ed_ratio"))
    for lv in LEVELS:
        print(f"\ntime to ed_ratio {lv:g} (s of training"
              + ("; the slowest seed" if len(runs) > 1 else "") + "; – not within the budget)\n")
        print(table(results, methods, targets, f"time_to_{lv:g}", ".3g"))
    if args.perfect:
        print(f"\nperfect models (fresh real draws), {args.perfect} per target and seed: ed_ratio "
              "min / median / max under the same protocol"
              + ("; mean over the seeds, and its min / max over the models" if len(runs) > 1
                 else "") + "\n")
        for t in targets:
            bands = []
            for seed in seeds:
                if (t, seed, n) not in scorers:
                    scorers[(t, seed, n)] = Scorer(t, seed, n)
                bands.append(perfect_band(scorers[(t, seed, n)], args.perfect))
            flat = np.concatenate(bands)
            line = f"{t:<13} {flat.min():.2f} / {np.median(flat):.2f} / {flat.max():.2f}"
            if len(runs) > 1:
                means = np.mean(bands, axis=0)  # model k's mean over the seeds
                line += f"   seed-mean {means.min():.2f} / {means.max():.2f}"
            print(line, flush=True)
    print("\nspeed and mode coverage\n")
    print(speed_table(results, methods))
    print()
    print("\n".join(bars(results, targets)))


if __name__ == "__main__":
    main()
