"""Start-up cost: how long the command line takes before it does any work.

Measures, each as the median of ``--repeats`` fresh processes:

- ``import pushforward``: the total of ``python -X importtime -c "import pushforward"``;
- ``pushforward --help``, ``pushforward fit --help`` and ``pushforward list``;
- ``pushforward sample MODEL -n 1`` on a quantile model fitted on 2,000 gamma values (drawing one
  row: nearly all of it is start-up), and the same on a 3-column copula.

Each is reported as wall time and CPU time (user + system of the child): on a busy machine the
wall time grows with the load, the CPU time much less.

Usage:
    python benchmarks/startup.py                       # the checkout's src/
    python benchmarks/startup.py --src /tmp/old/src    # another tree, e.g. from `git archive`
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, child CPU seconds, stderr) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stderr


def median_of(cmd: list[str], env: dict[str, str], repeats: int) -> tuple[float, float]:
    runs = [run(cmd, env)[:2] for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def import_total(env: dict[str, str], repeats: int) -> float:
    """Median total of ``-X importtime`` for ``import pushforward``, in seconds."""
    totals = []
    for _ in range(repeats):
        err = run([sys.executable, "-X", "importtime", "-c", "import pushforward"], env)[2]
        line = [x for x in err.splitlines() if x.rstrip().endswith("| pushforward")][-1]
        totals.append(int(line.split("|")[1]) / 1e6)
    return statistics.median(totals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=str(ROOT / "src"), help="the package tree to measure")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": args.src}
    cli = [sys.executable, "-c", "from pushforward.cli import main; main()"]
    with tempfile.TemporaryDirectory() as d:
        fit = ("import numpy as np, pushforward, sys; x = np.random.default_rng(0).gamma(2.0, "
               "size=(2000, int(sys.argv[2]))); pushforward.fit(x, method=sys.argv[3], seed=0)"
               ".save(sys.argv[1])")
        for name, dim, method in (("q", "1", "quantile"), ("c", "3", "copula")):
            run([sys.executable, "-c", fit, f"{d}/{name}", dim, method], env)
        rows = [("import pushforward (-X importtime total)", (import_total(env, args.repeats),
                                                             None)),
                ("pushforward --help", median_of(cli + ["--help"], env, args.repeats)),
                ("pushforward fit --help", median_of(cli + ["fit", "--help"], env, args.repeats)),
                ("pushforward list", median_of(cli + ["list"], env, args.repeats)),
                ("pushforward sample QUANTILE -n 1",
                 median_of(cli + ["sample", f"{d}/q", "-n", "1"], env, args.repeats)),
                ("pushforward sample COPULA -n 1",
                 median_of(cli + ["sample", f"{d}/c", "-n", "1"], env, args.repeats))]
    load = os.getloadavg()[0]
    print(f"{args.src}: median of {args.repeats}; load average {load:.1f} on "
          f"{os.cpu_count()} cores")
    for label, (wall, cpu) in rows:
        print(f"  {label:<42} {wall:7.3f} s" + (f"   (CPU {cpu:.2f} s)" if cpu else ""))


if __name__ == "__main__":
    main()
