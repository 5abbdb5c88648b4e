"""``pushforward demo``: the note, step by step, on built-in examples.

Everything it writes goes into its output folder, and every file stays small (a CSV of 10,000
rows at most, PNGs, one HTML page). The full demo takes about 3 minutes on an idle 2-core
machine, ``--quick`` under 30 s; a busy machine reaches fewer training steps in the same seconds,
which the step counts printed beside every learned run show.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from .data.noise import get_noise
from .story import steps_text
from .writers import write_samples

#: rows of step 1's samples written to CSV, whatever the number mapped
CSV_ROWS = 10_000


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much the demo does: draws mapped in step 1, training seconds, evaluation points."""

    exact_n: int = 1_000_000
    budget_1d: float = 10.0
    budget_2d: float = 40.0
    points_2d: int = 10_000


#: the full demo (about 3 minutes on an idle 2-core machine) and ``--quick`` (under 30 s there)
FULL = Sizes()
QUICK = Sizes(exact_n=10_000, budget_1d=2.0, budget_2d=2.0, points_2d=3000)


def heading(console: Console, text: str) -> None:
    """A step's title: a rule across a terminal, one plain line in a pipe or a log."""
    if console.is_terminal:
        console.rule(f"[bold]{text}")
    else:
        console.print(f"\n== {text}", highlight=False)


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

    heading(console, "1. The exact map: y = Φ⁻¹(F_X(x)), X ~ U[0,1]")
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
    rows = min(n, CSV_ROWS)  # a sample of the draws: the file stays small whatever n is
    write_samples([np.hstack([u[:rows], y[:rows]])], out_dir / "step1_samples.csv", n=rows,
                  columns=["u", "y"], force=True)
    console.print(f"samples (the first {rows:,}): {out_dir / 'step1_samples.csv'}")
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

    heading(console, "2. The note's loss as written: JS between indicator histograms")
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

    heading(console, f"3. The same map learned: monotone net G(u), trained on hist-js for "
                     f"{budget:g} s")
    t0 = time.perf_counter()
    m = fit("norm", method="hist-js", noise="uniform", net="monotone", time_budget=budget,
            seed=0)
    dt = time.perf_counter() - t0
    e = exact_map_error(m.inverse_transform, stats.norm.ppf, get_noise("uniform"))
    console.print(f"trained {steps_text(m.info['steps'])} in {dt:.1f} s; over u ∈ [0.01, 0.99]: "
                  f"max |G(u) − Φ⁻¹(u)| = {e['max']:.4f}, mean = {e['mean']:.4f}")
    return {**e, "seconds": dt, "model": m}


#: the three methods of step 4, with their options; wgan-gp uses the reference toy script's
#: penalty λ = 0.1 (the paper's λ = 10 loses every mode of 8gaussians in a CPU-minute budget)
STEP4_METHODS = {"sliced-js": {}, "wgan-gp": {"objective_options": {"gp_weight": 0.1}},
                 "flow-matching": {}}


def step4_2d(*, budget: float, n: int, console: Console) -> dict:
    """Step 4: ``8gaussians`` learned by the note's sliced JS, WGAN-GP and flow matching.

    Each run is scored by its own held-out check (energy distance beside real data's) and by
    mode coverage on ``n`` generated points; a run that misses a mode is marked failed, with
    the steps it reached in its budget.
    """
    from .api import fit
    from .evaluation import MODES
    from .metrics import mode_coverage

    heading(console, f"4. A 2-D target, 8gaussians: three methods, {budget:g} s of training "
                     f"each")
    centres, sigma = MODES["8gaussians"]
    results = {}
    for method, options in STEP4_METHODS.items():
        t0 = time.perf_counter()
        m = fit("8gaussians", method=method, time_budget=budget, seed=0, **options)
        points = m.sample(n, seed=3)
        cov = mode_coverage(points, centres, sigma)
        dt = time.perf_counter() - t0
        r = {"model": m, "points": points, "ed_ratio": m.info["holdout"]["ed_ratio"],
             "coverage": cov, "steps": m.info["steps"], "seconds": dt}
        r["result"] = run_result(cov, r["steps"])
        colour = "red" if r["result"].startswith("failed") else "green"
        console.print(f"{method:<14} ed_ratio {r['ed_ratio']:6.2f}   modes "
                      f"{cov.covered}/{cov.modes}, high-quality {cov.high_quality:.0%}   "
                      f"({steps_text(r['steps'])}, {dt:.0f} s)   [{colour}]{r['result']}[/]",
                      highlight=False)
        results[method] = r
    console.print("ed_ratio 1.0 = as close to held-out data as real data of the same size; "
                  "fewer steps in the same seconds means a busier machine")
    return results


def run_result(cov, steps: int) -> str:
    """``"ok"``, or ``"failed: k/K modes after N steps"`` when a run misses a mode.

    Example:
        >>> from pushforward.metrics import Coverage
        >>> run_result(Coverage(covered=3, modes=8, high_quality=0.4), 1234)
        'failed: 3/8 modes after 1,234 steps'
        >>> run_result(Coverage(covered=0, modes=8, high_quality=0.0), 1)
        'failed: 0/8 modes after 1 step'
        >>> run_result(Coverage(covered=8, modes=8, high_quality=0.9), 5000)
        'ok'
    """
    if cov.covered < cov.modes:
        return f"failed: {cov.covered}/{cov.modes} modes after {steps_text(steps)}"
    return "ok"


def run_demo(out_dir: str | Path, *, quick: bool = False, console: Console | None = None,
             sizes: Sizes | None = None) -> dict:
    """Run every demo step, writing samples and plots into ``out_dir``; returns the figures.

    Arguments:
        out_dir: the folder for every file the demo writes (created if missing).
        quick: the :data:`QUICK` sizes instead of :data:`FULL`.
        console: where the steps are told (default: a new rich console on stdout).
        sizes: explicit sizes (overrides ``quick``).
    """
    console = console or Console()
    sizes = sizes or (QUICK if quick else FULL)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {"step1": step1_exact(out_dir, n=sizes.exact_n, console=console)}
    figures["step2"] = step2_no_gradient(console)
    figures["step3"] = step3_learned(budget=sizes.budget_1d, console=console)
    figures["step4"] = step4_2d(budget=sizes.budget_2d, n=sizes.points_2d, console=console)
    heading(console, "5. The story, with pictures")
    from .story import write_story

    path = write_story(out_dir / "report.html", figures)
    console.print(f"report: {path}  (open it in a browser)")
    return figures
