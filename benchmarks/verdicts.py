"""How often is the verdict of ``evaluate`` wrong? (issue 11)

    python benchmarks/verdicts.py                 # 100 runs per target, n = 1000, 2 workers
    python benchmarks/verdicts.py --quick         # 10 runs per target, for a smoke test

Prints, in one run on one machine:
1. false alarms: a perfect sampler (a "model" that returns fresh draws of the target itself)
   evaluated ``--runs`` times on each of three targets: ``moons`` (fresh draws), ``gamma(a=2)``
   (1-D, fresh draws) and a 5-D table of 20,000 rows (the model records a hold-out split, so
   the reference is its held-out rows and the floor's samples are disjoint blocks of its training
   rows). Bar: the verdict says "indistinguishable" in ≥ 95 % of runs (the rule's level is 1 %);
2. power: a Gaussian copula fitted on ``moons`` (another seed each run, ``--runs // 5`` runs).
   Bar: "distinguishable" every time;
3. stability: models at their floor evaluated with ``--seed`` 0, 1, … (``--runs // 5`` seeds):
   a copula fitted on the 5-D table (a Gaussian copula is its true family) and the empirical
   quantile map of a 1-D file of 20,000 gamma(2) draws, each evaluated on its held-out rows.
   Bar: the same verdict (distinguishable or not) for every seed.

Every evaluation computes the figures that vote (energy, MMD², sliced W₁, KS, W₁, C2ST with
scikit-learn's default ``HistGradientBoostingClassifier``; mode and memorisation checks where
they apply); the k-NN figures are left out because they do not vote. Runs are spread over
``--workers`` processes of one thread each.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import multiprocessing as mp  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

#: The figures that vote (the k-NN figures are shown by evaluate but do not vote).
VOTING = ["energy", "mmd", "swd", "ks", "w1", "c2st"]
TABLE_ROWS = 20_000
#: Seed of the table's rows: not 0, whose normal draws are the noise a model samples with seed 0
#: (a copula fitted on the table would hand back its own rows for that seed).
TABLE_SEED = 2026


def table_population(n: int, seed) -> np.ndarray:
    """Rows of a 5-D table: a Gaussian copula (correlation 0.6) with skewed, heavy and bounded
    marginals, so no figure sees a plain Gaussian."""
    rng = np.random.default_rng(seed)
    c = np.full((5, 5), 0.6) + 0.4 * np.eye(5)
    g = rng.normal(size=(n, 5)) @ np.linalg.cholesky(c).T
    from scipy import stats

    u = stats.norm.cdf(g)
    return np.column_stack([stats.gamma.ppf(u[:, 0], 2.0), stats.t.ppf(u[:, 1], 4),
                            stats.beta.ppf(u[:, 2], 2, 5), stats.lognorm.ppf(u[:, 3], 0.5),
                            g[:, 4]])


def perfect_model(target: str, run: int):
    """A "model" drawing fresh real data: for the table, with a recorded split of its file."""
    from pushforward.data import load_source
    from pushforward.data.split import split_record
    from pushforward.model import FittedMap

    class Perfect(FittedMap):
        pointwise = False  # no exact-map row: it has no inverse_transform

        def __init__(self, draw, dim):
            self.draw = draw
            self._init_map(method="perfect", noise="normal", latent_dim=dim, dim=dim)

        def sample_table(self, n, *, seed=None, chunk_size=65536):
            # what sample() and evaluate draw through; a stream of its own: never one of the
            # draws evaluate makes for the floor
            return self.draw(n, np.random.default_rng(np.random.SeedSequence([seed, 4242])))

    if target == "table":
        data = table_population(TABLE_ROWS, TABLE_SEED)
        m = Perfect(table_population, 5)
        m.info = {"split": split_record(data, 0.1, run)}  # its held-out rows differ per run
        return m, data
    source = load_source(target)
    return Perfect(lambda n, rng: source.draw(n, seed=rng), source.dim), target


@functools.cache
def at_the_floor(target: str):
    """One model per target, fitted once per worker and evaluated with every seed."""
    import pushforward

    data = (table_population(TABLE_ROWS, TABLE_SEED) if target == "copula on the table" else
            np.random.default_rng(TABLE_SEED).gamma(2.0, size=(TABLE_ROWS, 1)))
    method = "copula" if target == "copula on the table" else "quantile"
    return pushforward.fit(data, method=method, seed=0), data


def one(job: tuple) -> dict:
    """One evaluation: (section, target, run, n) → its verdict."""
    import torch

    torch.set_num_threads(1)
    import pushforward
    from pushforward.evaluation import evaluate

    section, target, run, n = job
    start = time.perf_counter()
    if section == "perfect":
        model, data = perfect_model(target, run)
        e = evaluate(model, data, n=n, seed=run, metrics=VOTING)
    elif section == "power":
        model = pushforward.fit("moons", method="copula", seed=run)
        e = evaluate(model, "moons", n=n, seed=run, metrics=VOTING)
    else:
        model, data = at_the_floor(target)
        e = evaluate(model, data, n=n, seed=run, metrics=VOTING)
    alarms = [r.key for r in e.rows if r.votes and r.ok is False]
    return {"section": section, "target": target, "run": run, "n": e.n, "ok": e.ok,
            "distinguishable": e.distinguishable, "alarms": alarms, "verdict": e.verdict,
            "reference": e.reference, "seconds": time.perf_counter() - start}


def jobs(runs: int, n: int) -> list[tuple]:
    few = max(runs // 5, 2)
    out = [("perfect", t, r, n) for t in ("moons", "gamma(a=2)", "table") for r in range(runs)]
    out += [("power", "copula on moons", r, n) for r in range(few)]
    out += [("seeds", t, r, n) for t in ("copula on the table", "quantile on gamma(2) rows")
            for r in range(few)]
    return out


def report(results: list[dict], runs: int, n: int, seconds: float, workers: int) -> None:
    by = lambda s: [r for r in results if r["section"] == s]  # noqa: E731
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{workers} workers of 1 thread; n = {n:,}; {seconds / 60:.1f} min in all")
    print(f"\n1. perfect samplers, {runs} runs per target (bar: ≥ 95 % indistinguishable)")
    print(f"{'target':<12} {'n':>6} {'indistinguishable':>18} {'rate':>7}  bar   false alarms by")
    for t in ("moons", "gamma(a=2)", "table"):
        rows = [r for r in by("perfect") if r["target"] == t]
        good = sum(r["ok"] for r in rows)
        alarms = Counter(k for r in rows for k in r["alarms"])
        print(f"{t:<12} {rows[0]['n']:>6,} {good:>12} / {len(rows):<4} {good / len(rows):>6.0%}  "
              f"{'PASS' if good >= 0.95 * len(rows) else 'FAIL'}  "
              f"{', '.join(f'{k} {v}' for k, v in alarms.most_common()) or '—'}")
    rows = by("power")
    bad = sum(r["distinguishable"] for r in rows)
    print(f"\n2. copula fitted on moons, {len(rows)} seeds (bar: distinguishable every time)")
    print(f"distinguishable {bad} / {len(rows)}  {'PASS' if bad == len(rows) else 'FAIL'}; "
          f"e.g. {rows[0]['verdict']}")
    print(f"\n3. models at their floor, evaluated with --seed 0 … {len(by('seeds')) // 2 - 1} "
          "on their held-out rows (bar: one verdict for every seed)")
    for t in ("copula on the table", "quantile on gamma(2) rows"):
        rows = [r for r in by("seeds") if r["target"] == t]
        verdicts = Counter("distinguishable" if r["distinguishable"] else "indistinguishable"
                           for r in rows)
        same = len(verdicts) == 1
        print(f"{t:<27} {dict(verdicts)}  {'PASS' if same else 'FAIL'}; seed 0: "
              f"{rows[0]['verdict']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=100, help="perfect-sampler runs per target")
    p.add_argument("--n", type=int, default=1000, help="size of every compared sample")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="10 runs per target")
    a = p.parse_args()
    runs = 10 if a.quick else a.runs
    start = time.perf_counter()
    todo = jobs(runs, a.n)
    with mp.get_context("spawn").Pool(a.workers) as pool:
        results = pool.map(one, todo, chunksize=1)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    report(results, runs, a.n, time.perf_counter() - start, a.workers)
    print(f"\nCPU time of the workers: {(cpu.ru_utime + cpu.ru_stime) / 60:.1f} min "
          f"(÷ {a.workers} workers: the wall time on an idle machine)")


if __name__ == "__main__":
    main()
