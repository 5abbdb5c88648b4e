"""``pushforward demo``: the note, step by step, on built-in examples."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console

from .data.noise import get_noise
from .writers import write_samples


def mp_norm_ppf(u: float, dps: int = 40) -> float:
    """Φ⁻¹(u) to high precision with mpmath (a reference for the exact map's error).

    Example:
        >>> round(mp_norm_ppf(0.975), 6)
        1.959964
    """
    import mpmath as mp
    from scipy import special

    with mp.workdps(dps):
        start = float(special.ndtri(u)) if 0 < u < 1 else 0.0
        return float(mp.findroot(lambda x: mp.ncdf(x) - mp.mpf(u), start))


def step1_exact(out_dir: Path, *, n: int, console: Console) -> dict[str, float]:
    """Step 1: U[0,1] → N(0,1) by y = Φ⁻¹(u); error against mpmath and KS beside its floor."""
    from scipy import special

    from .exact.inverse_cdf import InverseCDF
    from .metrics import ks_floor, ks_one_sample

    console.rule("[bold]1. The exact map: y = Φ⁻¹(F_X(x)), X ~ U[0,1]")
    m = InverseCDF("norm", source="uniform").fit()
    t0 = time.perf_counter()
    u = get_noise("uniform").sample(n, 1, seed=0)
    y = m.inverse_transform(u)
    dt = time.perf_counter() - t0
    probe = np.concatenate([10.0 ** -np.arange(300, 0, -20), np.linspace(0.01, 0.99, 24),
                            1 - 10.0 ** -np.arange(2, 16, 2)])
    ref = np.array([mp_norm_ppf(p) for p in probe])
    got = m.inverse_transform(probe[:, None]).ravel()
    rel = float(np.max(np.abs(got - ref) / np.abs(ref)))
    ks = ks_one_sample(y, special.ndtr)
    floor = ks_floor(n)
    console.print(f"mapped {n:,} uniform draws in {dt * 1e3:.0f} ms")
    console.print(f"max relative error vs mpmath over u ∈ [1e-300, 1-1e-14] "
                  f"({len(probe)} points): {rel:.1e}")
    console.print(f"KS against Φ: {ks:.4f}  (noise floor for n = {n:,}: {floor:.4f}, "
                  f"ratio {ks / floor:.2f})")
    write_samples([np.hstack([u, y])], out_dir / "step1_samples.csv", n=n,
                  columns=["u", "y"], force=True)
    console.print(f"samples: {out_dir / 'step1_samples.csv'}")
    png = _plot_step1(u.ravel(), y.ravel(), out_dir / "step1.png", console)
    out = {"max_rel_error": rel, "ks": ks, "ks_floor": floor}
    if png is not None:
        out["png"] = png
    return out


def _plot_step1(u, y, path: Path, console: Console) -> bytes | None:
    try:
        import matplotlib
    except ImportError:
        console.print('plot skipped: pip install "pushforward[plot]" for matplotlib')
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].hist(u, bins=50, density=True, color="0.6")
    ax[0].set_title("X ~ U[0,1]")
    grid = np.linspace(-4, 4, 200)
    ax[1].hist(y, bins=80, density=True, color="tab:blue", alpha=0.6, label="Φ⁻¹(X)")
    ax[1].plot(grid, stats.norm.pdf(grid), "k", label="N(0,1) density")
    ax[1].set_title("Y = Φ⁻¹(X)")
    ax[1].legend()
    fig.tight_layout()
    from .plots import to_png

    png = to_png(fig, dpi=110)
    plt.close(fig)
    from ._io import write_bytes

    write_bytes(path, png)
    console.print(f"plot: {path}")
    return png


def step2_no_gradient(console: Console) -> dict[str, float]:
    """Step 2: the note's literal indicator histogram passes no gradient to the generator."""
    import torch

    from .losses.histogram import hard_histogram, js_divergence

    console.rule("[bold]2. The note's loss as written: JS between indicator histograms")
    g = torch.Generator().manual_seed(0)
    shift = torch.zeros(1, requires_grad=True)
    x = torch.rand(4096, generator=g) + shift  # a generator G(u) = u + shift
    y = torch.randn(4096, generator=g)
    p, _ = hard_histogram(x, bins=64, range=(-4.0, 4.0))
    q, _ = hard_histogram(y, bins=64, range=(-4.0, 4.0))
    js = js_divergence(p, q)
    grad_reaches = js.requires_grad
    console.print(f"JS(hist G(u), hist y) = {float(js):.4f}; gradient reaches G: "
                  f"{'yes' if grad_reaches else 'no'} — counts Σ 1\\[x ∈ Rᵢ] are flat in x")
    console.print("pushforward's hist-js splits each point's mass between its two nearest bins "
                  "(linear binning), so the same loss trains.")
    return {"js": float(js), "gradient": float(grad_reaches)}


def step3_learned(*, budget: float, console: Console) -> dict[str, float]:
    """Step 3: learn U[0,1] → N(0,1) with hist-js and a monotone net; score against Φ⁻¹."""
    from scipy import stats

    from .api import fit
    from .metrics import exact_map_error

    console.rule("[bold]3. The same map learned: monotone net G(u), trained on hist-js")
    t0 = time.perf_counter()
    m = fit("norm", method="hist-js", noise="uniform", net="monotone", time_budget=budget,
            seed=0)
    dt = time.perf_counter() - t0
    e = exact_map_error(m.inverse_transform, stats.norm.ppf, get_noise("uniform"))
    console.print(f"trained {m.info['steps']:,} steps in {dt:.1f} s; over u ∈ [0.01, 0.99]: "
                  f"max |G(u) − Φ⁻¹(u)| = {e['max']:.4f}, mean = {e['mean']:.4f}")
    return {**e, "seconds": dt, "model": m}


#: the three methods of step 4, with their options; wgan-gp uses the reference toy script's
#: penalty λ = 0.1 (the paper's λ = 10 loses every mode of 8gaussians in a CPU-minute budget)
STEP4_METHODS = {"sliced-js": {}, "wgan-gp": {"objective_options": {"gp_weight": 0.1}},
                 "flow-matching": {}}


def step4_2d(*, budget: float, n: int, console: Console) -> dict:
    """Step 4: ``8gaussians`` learned by the note's sliced JS, WGAN-GP and flow matching."""
    from .api import fit
    from .data import load_source
    from .evaluation import MODES
    from .metrics import ed_ratio, mode_coverage

    console.rule(f"[bold]4. A 2-D target, 8gaussians: three methods, {budget:g} s each")
    src = load_source("8gaussians")
    ref = src.draw(20_000, seed=1)
    test = src.draw(n, seed=2)
    centres, sigma = MODES["8gaussians"]
    results = {}
    for method, options in STEP4_METHODS.items():
        t0 = time.perf_counter()
        m = fit("8gaussians", method=method, time_budget=budget, seed=0, **options)
        dt = time.perf_counter() - t0
        r = ed_ratio(lambda k, s, m=m: m.sample(k, seed=s), lambda k, s: src.draw(k, seed=s),
                     test, mean=ref.mean(0), std=ref.std(0), n=n, repeats=3, floor_repeats=5)
        cov = mode_coverage(m.sample(10_000, seed=3), centres, sigma)
        console.print(f"{method:<14} ed_ratio {r.ratio:6.2f}   modes {cov.covered}/{cov.modes}, "
                      f"high-quality {cov.high_quality:.0%}   ({m.info['steps']:,} steps, "
                      f"{dt:.0f} s)")
        results[method] = {"model": m, "ed_ratio": r.ratio, "coverage": cov, "seconds": dt}
    console.print("ed_ratio 1.0 = as close to held-out data as real data of the same size")
    return results


def run_demo(out_dir: str | Path, *, quick: bool = False, console: Console | None = None) -> dict:
    """Run every demo step, writing samples and plots into ``out_dir``; returns the figures."""
    console = console or Console()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {"step1": step1_exact(out_dir, n=10_000 if quick else 1_000_000, console=console)}
    figures["step2"] = step2_no_gradient(console)
    figures["step3"] = step3_learned(budget=3.0 if quick else 10.0, console=console)
    figures["step4"] = step4_2d(budget=3.0 if quick else 40.0, n=2000 if quick else 5000,
                                console=console)
    console.rule("[bold]5. The story, with pictures")
    from .story import write_story

    path = write_story(out_dir / "report.html", figures)
    console.print(f"report: {path}  (open it in a browser)")
    return figures
