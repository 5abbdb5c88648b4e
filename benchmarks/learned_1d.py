"""Learned 1-D maps against the exact ones (issue: learned maps, benchmark section).

    python benchmarks/learned_1d.py            # full run, 2 CPU threads (~15 minutes)
    python benchmarks/learned_1d.py --quick    # seconds, for CI

Prints:
1. uniform noise → the built-in `norm` (fresh draws every step), `monotone` net, default
   settings, 10 s: max and mean |G(u) − Φ⁻¹(u)| over u ∈ [0.01, 0.99] for every loss
   (bar for hist-js: max ≤ 0.02, mean ≤ 0.005);
2. from a finite sample (20,000 draws of N(0,1)), 5 seeds: the learned map's mean error against
   Φ⁻¹ beside the empirical quantile map's of the same sample (bar: ≤ 1.2×);
3. normal noise → `expon` and → a bimodal mixture (fresh draws, 15 s): mean over 5 seeds of the
   one-sample KS of 10⁵ generated points against the exact cdf (bar: ≤ 2 × 0.8687/√10⁵);
4. from a bad start: the generator's output shifted 10 units (10 standard deviations) away from
   the data, 1-D `norm` and 2-D `moons`, hist-js and sliced-js through the one training loop with
   fit's default net (monotone in 1-D, mlp in 2-D), learning rate and batch, for 4,000 steps:
   the validation energy distance at the start, first and last check beside its floor (real
   data), 3 seeds each (initial weights and batches).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from scipy import stats

import pushforward
from pushforward.data.codec import Standardize
from pushforward.data.noise import get_noise
from pushforward.learned import TrainConfig, build_net, resolve_schedule
from pushforward.losses import LOSSES
from pushforward.metrics import energy_distance_sq, exact_map_error, ks_floor, ks_one_sample
from pushforward.objectives.divergence import Divergence
from pushforward.train import LoopSettings, train, validation_noise


def error_vs_exact(m, ppf) -> dict[str, float]:
    return exact_map_error(m.inverse_transform, ppf, get_noise(m.noise))


def section1(budget: float, losses: list[str]) -> None:
    print(f"\n1. uniform → norm (fresh draws), monotone net, {budget:g} s each")
    print(f"{'loss':<10} {'max err':>9} {'mean err':>9} {'steps':>7} {'seconds':>8}  bar")
    for key in losses:
        m = pushforward.fit("norm", method=key, noise="uniform", net="monotone",
                            time_budget=budget, seed=0)
        e = error_vs_exact(m, stats.norm.ppf)
        bar = ""
        if key == "hist-js":
            ok = e["max"] <= 0.02 and e["mean"] <= 0.005
            bar = f"max ≤ 0.02, mean ≤ 0.005: {'PASS' if ok else 'FAIL'}"
        print(f"{key:<10} {e['max']:9.4f} {e['mean']:9.5f} {m.info['steps']:7d} "
              f"{m.info['seconds']:8.1f}  {bar}")


def section2(budget: float, seeds: int, loss: str) -> None:
    print(f"\n2. from 20,000 draws of N(0,1), {loss}, {budget:g} s, {seeds} seeds: mean error "
          "against Φ⁻¹")
    learned, empirical = [], []
    for s in range(seeds):
        x = np.random.default_rng(100 + s).standard_normal((20_000, 1))
        m = pushforward.fit(x, method=loss, noise="uniform", net="monotone", time_budget=budget,
                            holdout=0.0, seed=s)
        q = pushforward.fit(x, method="quantile", noise="uniform", tails="clip", holdout=0.0,
                            seed=s)
        learned.append(error_vs_exact(m, stats.norm.ppf)["mean"])
        empirical.append(error_vs_exact(q, stats.norm.ppf)["mean"])
    r = np.mean(learned) / np.mean(empirical)
    print(f"learned {np.mean(learned):.5f}  empirical quantile map {np.mean(empirical):.5f}  "
          f"ratio {r:.2f}  bar ≤ 1.2: {'PASS' if r <= 1.2 else 'FAIL'}")


def section3(budget: float, seeds: int, loss: str) -> None:
    targets = ["expon", "mix(0.5*norm(-2,0.5), 0.5*norm(2,0.5))"]
    floor = ks_floor(100_000)
    print(f"\n3. normal noise → target (fresh draws), {loss}, {budget:g} s, {seeds} seeds: "
          f"KS of 10⁵ points (floor {floor:.4f}, bar ≤ {2 * floor:.4f})")
    for spec in targets:
        dist = pushforward.load_source(spec).dist
        ks = []
        for s in range(seeds):
            m = pushforward.fit(spec, method=loss, noise="normal", time_budget=budget, seed=s)
            ks.append(ks_one_sample(m.sample(100_000, seed=1000 + s), dist.cdf))
        mk = float(np.mean(ks))
        print(f"{spec:<42} KS {mk:.4f}  ratio to floor {mk / floor:.2f}  "
              f"{'PASS' if mk <= 2 * floor else 'FAIL'}")


def _shift_output(net: torch.nn.Module, by: float) -> None:
    """Move the network's output ``by`` units: the monotone net's shift, an MLP's last bias."""
    with torch.no_grad():
        if isinstance(getattr(net, "shift", None), torch.nn.Parameter):
            net.shift += by
        else:
            net[-1].bias += by


def section4(steps: int, losses: list[str], seeds: int) -> None:
    print(f"\n4. from a bad start (output shifted +10 sd), {steps:,} steps, the default net and "
          f"settings of fit: validation ED² (2,000 points) at the start → first check → last "
          f"check, and its floor; {seeds} seeds")
    for target in ("norm", "moons"):
        src = pushforward.load_source(target)
        real = src.draw(20_000, seed=1)
        scale = Standardize().fit(real)
        d = src.dim
        y_val = torch.as_tensor(scale.encode(src.draw(2000, seed=2)), dtype=torch.float32)
        z_val = torch.randn(2000, d, generator=torch.Generator().manual_seed(3))
        eval_every = max(steps // 20, 1)
        for key, seed in ((k, s) for k in losses for s in range(seeds)):
            obj = Divergence(key)
            cfg = TrainConfig()
            net_name = cfg.net_name(d, d, obj)
            torch.manual_seed(seed)
            net, _ = build_net(net_name, d, d, cfg, noise="normal")
            _shift_output(net, 10.0)  # 10 standard deviations away from the data
            with torch.no_grad():
                start = energy_distance_sq(net(z_val).numpy(), y_val.numpy())
            lr, lr_end, batch_size = resolve_schedule(cfg, net, obj, d)
            settings = LoopSettings(steps=steps, time_budget=None, lr=lr, lr_end=lr_end,
                                    batch_size=batch_size,
                                    ema=0.999, eval_every=eval_every, patience=10**9,
                                    checkpoint_every=1e9, seed=seed)

            def batch(n, g, src=src, scale=scale):
                s = int(torch.randint(2**62, (1,), generator=g))
                return torch.as_tensor(scale.encode(src.draw(n, seed=s)), dtype=torch.float32)

            t0 = time.perf_counter()
            res = train(obj, net, noise=lambda n, g, d=d: torch.randn(n, d, generator=g),
                        batch=batch, validation=(z_val, y_val), settings=settings)
            v = res.history.val_energy
            floor = validation_noise(y_val, len(z_val))
            ok = v[-1] <= 3 * floor
            print(f"{target:<6} {key:<10} {net_name:<9} seed {seed}  ED² {start:7.2f} → "
                  f"{v[0]:.4f} (step {eval_every}) → {v[-1]:.5f}  floor {floor:.5f}  "
                  f"({v[-1] / floor:.2f}× floor; converged ≤ 3×: {'PASS' if ok else 'FAIL'}), "
                  f"{res.steps} steps in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny budgets, for CI")
    ap.add_argument("--losses", default=",".join(LOSSES), help="comma-separated loss keys")
    ap.add_argument("--sections", default="1,2,3,4")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"pushforward {pushforward.__version__}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, threads {torch.get_num_threads()}")
    t0 = time.time()
    scale = 0.05 if args.quick else 1.0
    seeds = 1 if args.quick else 5
    sections = args.sections.split(",")
    if "1" in sections:
        section1(10 * scale, args.losses.split(","))
    if "2" in sections:
        section2(10 * scale, seeds, "hist-js")
    if "3" in sections:
        section3(15 * scale, seeds, "hist-js")
    if "4" in sections:
        section4(50 if args.quick else 4000, ["hist-js", "sliced-js"], 1 if args.quick else 3)
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
