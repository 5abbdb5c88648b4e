"""Throughput on every device torch sees: the losses at large n, and each learned method's steps/s.

Two tables per device (the CPU always; CUDA when torch sees a GPU, named by
``torch.cuda.get_device_name``):

1. **Losses at large n**: forward + backward of ``hist-js`` (the note's histogram loss, whose
   ``index_add`` scatter is the expected hot path) and of the sort-based sliced Wasserstein
   (``swd``), on n generated against n target points in 1-D, n = 2^lo … 2^hi; median of
   ``--repeats`` calls after one warm-up, as samples per second.
2. **Learned methods**: steps per second of ``fit`` with its defaults (net, batch, rate) for
   ``--steps`` steps on ``moons`` (2-D) and ``digits`` (64 pixels), the loop's own clock
   (``info["seconds"]``, training only, not the closing check), in float32 and in mixed
   precision (``precision="bf16"``: the networks in bfloat16, the losses in float32; ``nsf``
   keeps float32, so its two columns time the same run). The losses of table 1 are float32
   in both precisions, so table 1 has no bf16 column.

The issue's bars (issue 15): on the accelerator, hist-js forward+backward at n = 2²² at least 50×
the 2-core CPU's rate, and flow matching on digits at least 20× the CPU's steps/s. Run this on
each machine and compare the tables; ``--json`` writes the figures for the docs.

Usage:
    python benchmarks/gpu.py                              # every device, default sizes
    python benchmarks/gpu.py --lo 16 --hi 20 --steps 30   # a short form
    python benchmarks/gpu.py --devices cpu --json cpu.json
    python benchmarks/gpu.py --lo 16 --hi 16 --methods sliced-js,flow-matching --precisions bf16
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

import pushforward
from pushforward.losses import LOSSES

METHODS = ("sliced-js", "swd", "mmd", "energy", "wgan-gp", "flow-matching", "vae", "nsf")


def devices(asked: str | None) -> list[str]:
    found = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    return [d for d in asked.split(",") if d in found] if asked else found


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return f"CPU, {torch.get_num_threads()} threads"


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def loss_rate(key: str, n: int, device: str, repeats: int) -> float:
    """Samples per second of one forward + backward of loss ``key`` on n vs n 1-D points."""
    g = torch.Generator(device=device).manual_seed(0)
    y = torch.randn(n, 1, generator=g, device=device)
    x = torch.randn(n, 1, generator=g, device=device).mul_(1.1).requires_grad_(True)
    loss = LOSSES.get(key)
    times = []
    for i in range(repeats + 1):  # the first call warms up (kernels, allocator)
        _sync(device)
        t = time.perf_counter()
        loss(x, y).backward()
        _sync(device)
        if i:
            times.append(time.perf_counter() - t)
        x.grad = None
    return n / statistics.median(times)


def method_rate(method: str, target: str, device: str, steps: int,
                precision: str = "fp32") -> tuple[float, int]:
    """(steps per second of training, steps reached) of ``fit``'s defaults on ``target``."""
    m = pushforward.fit(target, method=method, steps=steps, device=device, seed=0,
                        precision=precision)
    return m.info["steps"] / max(m.info["seconds"], 1e-9), m.info["steps"]


def loss_table(device: str, a: argparse.Namespace, rows: dict) -> None:
    """Table 1 for one device: hist-js and swd samples/s at n = 2^lo … 2^hi."""
    print(f"{'n':>10}  {'hist-js samples/s':>18}  {'swd samples/s':>14}")
    for k in range(a.lo, a.hi + 1):
        n = 2**k
        rates = {key: loss_rate(key, n, device, a.repeats) for key in ("hist-js", "swd")}
        rows["losses"][n] = rates
        print(f"{'2^' + str(k):>10}  {rates['hist-js']:>18.3g}  {rates['swd']:>14.3g}",
              flush=True)


def method_table(device: str, a: argparse.Namespace, rows: dict) -> None:
    """Table 2 for one device: steps/s of each method on each target, in each precision."""
    heads = [f"{t} {p}" for t in a.targets.split(",") for p in a.precisions.split(",")]
    print(f"\n{'method':<15}" + "".join(f"{h + ' steps/s':>24}" for h in heads))
    for method in a.methods.split(","):
        cells = []
        for target in a.targets.split(","):
            try:
                rates = precision_rates(method, target, device, a)
            except pushforward.PushforwardError as e:  # e.g. a loss that takes d ≤ 2 only
                cells += [f"{'—':>12} {str(e)[:6]}"] * len(a.precisions.split(","))
                continue
            for precision, (rate, reached) in rates.items():
                rows["methods"].setdefault(method, {}).setdefault(target, {})[precision] = {
                    "steps_per_s": rate, "steps": reached}
                cells.append(f"{rate:>12.1f} ({reached})")
        print(f"{method:<15}" + "".join(f"{c:>24}" for c in cells), flush=True)


def precision_rates(method: str, target: str, device: str,
                    a: argparse.Namespace) -> dict[str, tuple[float, int]]:
    """{precision: (median steps/s, steps)} over ``--fit-repeats`` fits, the precisions taken
    in turn (fp32, bf16, fp32, bf16, …), so a shared machine's load falls on both alike."""
    runs: dict[str, list[tuple[float, int]]] = {p: [] for p in a.precisions.split(",")}
    for _ in range(a.fit_repeats):
        for precision, got in runs.items():
            got.append(method_rate(method, target, device, a.steps, precision))
    return {p: (statistics.median(r for r, _ in got), got[0][1]) for p, got in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", help="comma-separated subset of cpu,cuda (default: all seen)")
    ap.add_argument("--lo", type=int, default=18, help="smallest n is 2^lo")
    ap.add_argument("--hi", type=int, default=22, help="largest n is 2^hi (24 on a GPU)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=100, help="training steps per method")
    ap.add_argument("--methods", default=",".join(METHODS), help="'' skips table 2")
    ap.add_argument("--targets", default="moons,digits")
    ap.add_argument("--precisions", default="fp32,bf16", help="comma-separated fp32,bf16")
    ap.add_argument("--fit-repeats", type=int, default=1,
                    help="fits per method, target and precision (median; in turn)")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args()
    out: dict = {}
    for device in devices(a.devices):
        print(f"\n== {device}: {device_name(device)} ==")
        rows = out.setdefault(device, {"name": device_name(device), "losses": {}, "methods": {}})
        if a.hi >= a.lo:
            loss_table(device, a, rows)
        if a.methods:
            method_table(device, a, rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if len(out) == 2:
        cpu, gpu = out["cpu"], out["cuda"]
        common = sorted(set(cpu["losses"]) & set(gpu["losses"]))
        for n in common:
            ratio = gpu["losses"][n]["hist-js"] / cpu["losses"][n]["hist-js"]
            print(f"hist-js at n = {n}: GPU / CPU = {ratio:.0f}×")
        for p in a.precisions.split(","):
            fm = [gpu["methods"].get("flow-matching", {}).get("digits", {}).get(p),
                  cpu["methods"].get("flow-matching", {}).get("digits", {}).get(p)]
            if all(fm):
                print(f"flow matching on digits, {p}: GPU / CPU = "
                      f"{fm[0]['steps_per_s'] / fm[1]['steps_per_s']:.0f}× steps/s")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
