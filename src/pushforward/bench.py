"""``pushforward bench``: every (target, method, seed) through ``fit``, ``sample`` and ``evaluate``.

"Which method should I use on my data?" Each cell is the public API exactly as a user runs it:
``pushforward.fit(target, method=M, seed=S, time_budget=B)`` with the method's defaults (a
variant with other settings is an extra, labelled row: ``variants=``), then ``sample`` (10,000
rows, timed) and :func:`pushforward.evaluate` with the energy distance and C2ST, each beside its
real-vs-real floor. Built-in targets are compared with fresh draws; a data file with the rows
its fit held out (real samples for the floor: disjoint blocks of its training rows).

Every finished cell is written as one JSON file in ``out/cells/`` (with the settings that made
it and, for a file, its data's fingerprint), so an interrupted bench resumes where it stopped
and a second run with the same settings reuses every cell. ``perfect=K`` adds K perfect
samplers per target and seed, scored by the same protocol (fresh real draws for a built-in
target; for a file, disjoint blocks of its training rows): the spread the protocol cannot
resolve. ``out/bench.json`` holds everything; ``out/bench.html`` a quality-vs-time plot and a
table per target.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import _io
from .errors import PushforwardError

#: The figures of every cell (keys of :data:`pushforward.evaluation.METRICS`).
FIGURES = ("energy", "c2st")

#: Rows drawn to time sampling.
SAMPLE_ROWS = 10_000

#: Bumped when a cell's contents change meaning: older cached cells are then recomputed.
CELL_FORMAT = 1

DEFAULT_METHODS = ("auto", "gmm", "kde", "copula", "nsf")


@dataclass
class Bench:
    """A finished (or resumed) benchmark: its settings, cells and perfect samplers' cells.

    Attributes:
        settings: targets, methods, budget, seeds, perfect, n.
        cells: one dict per (target, label, seed): ``ed_ratio``, ``energy``, ``floor``,
            ``c2st``, ``c2st_floor``, ``fit_s``, ``sample_s``, ``steps``, ``picked`` (what
            ``auto`` chose), ``load``, ``cached``; or ``error``.
        perfect: one dict per (target, seed, sampler): ``ed_ratio``, ``c2st``.
        out: the folder written (None: nothing written).
    """

    settings: dict[str, Any]
    cells: list[dict[str, Any]] = field(default_factory=list)
    perfect: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None

    def spread(self, target: str, key: str = "ed_ratio") -> list[float]:
        """The perfect samplers' values of ``key`` on ``target``."""
        return [c[key] for c in self.perfect if c["target"] == target and c.get(key) is not None]

    def as_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "cells": self.cells, "perfect": self.perfect}

    def table(self):
        """A rich Table: one row per cell, each figure beside its floor."""
        from rich.markup import escape
        from rich.table import Table

        s = self.settings
        t = Table(title=f"pushforward bench: budget {s['budget']:g} s, n = {s['n']:,}, "
                  f"{s['seeds']} seed(s)", caption="ed_ratio: energy distance over real data's "
                  "(1 = as good as real data); \\[perfect samplers' min–max]; fit s over the "
                  "budget (imports done before the first cell)",
                  caption_justify="left")
        for name in ("target", "method", "seed", "ed_ratio", "C2ST (floor)", "fit s", "sample s",
                     "steps", "note"):
            t.add_column(name, justify="left" if name in ("target", "method", "note")
                         else "right")
        for c in self.cells:
            spread = self.spread(c["target"])
            band = f" [{min(spread):.2f}–{max(spread):.2f}]" if spread else ""
            if "error" in c:
                t.add_row(c["target"], c["label"], str(c["seed"]), "—", "—", "—", "—", "—",
                          f"[red]{escape(c['error'])}[/]")
                continue
            t.add_row(c["target"], c["label"] + (f" → {c['picked']}" if c["picked"] != c[
                "method"] else ""), str(c["seed"]), f"{c['ed_ratio']:.2f}{band}",
                      f"{c['c2st']:.3f} ({c['c2st_floor']:.3f})",
                      f"{c['fit_s']:.1f} / {s['budget']:g}", f"{c['sample_s']:.2f}",
                      _steps(c), ("cached; " if c.get("cached") else "") + f"load {c['load']:.1f}")
        return t


def _steps(cell: dict[str, Any]) -> str:
    if cell.get("steps") is not None:
        return f"{cell['steps']:,}"
    raced = cell.get("race_steps") or {}
    return ", ".join(f"{k} {v:,}" for k, v in raced.items()) or "—"


def split_list(text: str) -> list[str]:
    """Comma-separated items, commas inside parentheses kept (``mix(0.3*norm(0,1), ...)``).

    Example:
        >>> split_list("moons, mix(0.5*norm(0,1), 0.5*norm(3,1)),data.csv")
        ['moons', 'mix(0.5*norm(0,1), 0.5*norm(3,1))', 'data.csv']
    """
    items, depth, cur = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    items.append(cur.strip())
    return [i for i in items if i]


def _slug(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name if os.sep in text else text)[:40]
    return f"{name}-{hashlib.blake2b(text.encode(), digest_size=4).hexdigest()}"


def _check(targets: Sequence[str], methods: Sequence[str], variants: dict, budget: float,
           seeds: int, perfect: int, n: int) -> dict[str, str]:
    """Every setting checked before any work; returns {target: data fingerprint}."""
    from . import _checks
    from .data import load_source
    from .data.split import fingerprint
    from .methods import METHODS

    if not targets:
        raise PushforwardError("bench: give at least one target")
    for m in methods:
        if m != "auto":
            METHODS.check(m)
    for method, _ in variants.values():
        if method != "auto":
            METHODS.check(method)
    _checks.real(budget, "budget", 0, 1e6, strict_lo=True)
    _checks.integer(seeds, "seeds", 1, 1000)
    _checks.integer(perfect, "perfect", 0, 1000)
    _checks.integer(n, "n", 20, 1_000_000)
    prints = {}
    for t in targets:
        source = load_source(t)
        prints[t] = "fresh draws" if source.data is None else fingerprint(source.data)
    return prints


def run_bench(targets: Sequence[str], *, methods: Sequence[str] = DEFAULT_METHODS,
              budget: float = 30.0, seeds: int = 1, perfect: int = 0, n: int = 3000,
              out: str | os.PathLike | None = None,
              variants: dict[str, tuple[str, dict[str, Any]]] | None = None,
              console: Any = None) -> Bench:
    """Run every (target, method, seed) cell, reusing cells cached in ``out``.

    Arguments:
        targets: built-in targets, distribution specs or data files (anything ``fit`` takes).
        methods: method keys, each run with ``fit``'s defaults.
        budget: ``time_budget`` of every fit: wall-clock seconds for the whole fit.
        seeds: seeds 0 … seeds − 1 per cell.
        perfect: perfect samplers per target and seed (0: none).
        n: points of every compared sample (the evaluation's ``n``).
        out: folder for ``cells/*.json``, ``bench.json`` and ``bench.html`` (None: nothing
            written, nothing reused).
        variants: extra, labelled rows: label → (method, options) (a tuned setting is never
            the method's own row).
        console: a rich console for the progress bar (None: silent).

    Returns:
        :class:`Bench`.

    Example:
        >>> b = run_bench(["norm"], methods=["quantile"], budget=5, n=200)
        >>> c = b.cells[0]
        >>> c["picked"], 0.3 < c["ed_ratio"] < 3, c["steps"] is None
        ('quantile', True, True)
    """
    variants = dict(variants or {})
    prints = _check(targets, methods, variants, budget, seeds, perfect, n)
    rows = [(m, m, {}) for m in methods] + [(lbl, m, o) for lbl, (m, o) in variants.items()]
    settings = {"targets": list(targets), "methods": list(methods), "variants": {
        k: [m, o] for k, (m, o) in variants.items()}, "budget": float(budget),
        "seeds": int(seeds), "perfect": int(perfect), "n": int(n)}
    result = Bench(settings, out=Path(out) if out is not None else None)
    jobs = [(t, s, row) for t in targets for s in range(seeds) for row in rows]
    jobs += [(t, s, ("perfect", "perfect", {"sampler": p})) for t in targets
             for s in range(seeds) for p in range(perfect)]
    _warm_up()
    with _progress(console, len(jobs)) as advance:
        for target, seed, (label, method, options) in jobs:
            advance(f"{target} · {label} · seed {seed}")
            key = {"format": CELL_FORMAT, "target": target, "data": prints[target],
                   "label": label, "method": method, "options": options, "seed": seed,
                   "budget": float(budget), "n": int(n)}
            if method == "perfect":
                result.perfect.append(_cached(result.out, key, lambda k=key: _perfect_cell(k)))
            else:
                result.cells.append(_cached(result.out, key, lambda k=key: _cell(k)))
    if result.out is not None:
        _io.write_text(result.out / "bench.json", json.dumps(result.as_dict(), indent=1))
        _io.write_text(result.out / "bench.html", render_html(result))
    return result


def _warm_up() -> None:
    """Import what fitting, sampling and evaluating import on first use (scipy.stats,
    scikit-learn, torch), so the first cell's fit seconds are not its imports'."""
    import pushforward

    from .evaluation import evaluate

    x = np.random.default_rng(0).normal(size=(300, 2))
    m = pushforward.fit(x, method="copula", seed=0)
    evaluate(m, x, n=100, metrics=list(FIGURES))
    import torch  # noqa: F401  (every learned method's)


class _progress:
    """A rich progress bar over the cells (nothing without a console)."""

    def __init__(self, console: Any, total: int):
        self.console, self.total, self.bar = console, total, None

    def __enter__(self):
        if self.console is None:
            return lambda text: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            console=self.console, transient=True)
        self.bar.start()
        task = self.bar.add_task("bench", total=self.total)
        started = []

        def advance(text: str) -> None:
            if started:
                self.bar.advance(task)
            started.append(1)
            self.bar.update(task, description=text)

        return advance

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _cached(out: Path | None, key: dict[str, Any], compute) -> dict[str, Any]:
    """The cell in ``out/cells/`` when it was made with the same ``key``; else computed and
    written (a failed cell is not written: a rerun tries it again)."""
    path = None
    if out is not None:
        sampler = f"-p{key['options']['sampler']}" if key["method"] == "perfect" else ""
        path = out / "cells" / (f"{_slug(key['target'])}--{_slug(key['label'])}--"
                                f"s{key['seed']}{sampler}.json")
        try:
            cell = json.loads(path.read_text())
            if cell.get("key") == key:
                return {**cell, "cached": True}
        except (OSError, ValueError):
            pass
    cell = {**compute(), "key": key}
    if path is not None and "error" not in cell:
        _io.write_text(path, json.dumps(cell, indent=1))
    return {**cell, "cached": False}


def _cell(key: dict[str, Any]) -> dict[str, Any]:
    """One method on one target: fit (timed, whole fit), sample 10,000 rows (timed), evaluate."""
    import pushforward

    base = {"target": key["target"], "label": key["label"], "method": key["method"],
            "seed": key["seed"]}
    t0 = time.monotonic()
    try:
        model = pushforward.fit(key["target"], method=key["method"], seed=key["seed"],
                                time_budget=key["budget"], **key["options"])
    except PushforwardError as e:
        return {**base, "error": str(e)}
    fit_s = time.monotonic() - t0
    t1 = time.monotonic()
    model.sample(SAMPLE_ROWS, seed=key["seed"])
    sample_s = time.monotonic() - t1
    figures = _figures(model, key)
    board = model.info.get("leaderboard") or []
    return {**base, "picked": model.method, **figures, "fit_s": round(fit_s, 2),
            "sample_s": round(sample_s, 3), "steps": model.info.get("steps"),
            "race_steps": {r["method"]: r["steps"] for r in board if r.get("steps")},
            "leaderboard": [{k: r[k] for k in ("method", "ratio", "fit_s", "steps", "skipped",
                                               "chosen") if k in r} for r in board],
            "load": round(os.getloadavg()[0], 2)}


def _figures(model, key: dict[str, Any]) -> dict[str, Any]:
    from .evaluation import evaluate

    e = evaluate(model, key["target"], n=key["n"], seed=key["seed"], metrics=list(FIGURES))
    energy, c2st = e["energy"], e["c2st"]
    out = {"ed_ratio": energy.ratio, "energy": energy.value, "floor": energy.floor,
           "c2st": c2st.value, "c2st_floor": c2st.floor, "n": e.n, "verdict": e.verdict}
    for r in e.rows:
        if r.key == "log_likelihood":
            out["log_lik"] = r.value
    return out


class _Perfect:
    """A "model" that returns real data: fresh draws of a built-in target, or disjoint blocks
    of a file's training rows (the rows a fit with this seed trains on)."""

    method = "perfect"
    pointwise = False
    schema = None

    def __init__(self, target: str, seed: int, sampler: int):
        from .data import load_source
        from .data.split import DEFAULT_SHARE, split_source

        self.source = load_source(target)
        self.dim, self.latent_dim, self.seed = self.source.dim, 0, seed
        self.info: dict[str, Any] = {}
        self.tag = 7919 * (sampler + 1)
        if self.source.data is not None:
            split = split_source(self.source, DEFAULT_SHARE, seed)
            self.info["split"] = split.record or {"rule": "fresh-draws"}
            pool = split.train.data
            rng = np.random.default_rng(np.random.SeedSequence([seed, 16, sampler]))
            self.pool = pool[rng.permutation(len(pool))]

    def sample_table(self, k: int, *, seed: int) -> np.ndarray:
        if self.source.data is None:
            return self.source.draw(k, seed=np.random.default_rng([seed, self.tag]))
        block = (seed - self.seed) % max(len(self.pool) // k, 1)
        return self.pool[block * k:(block + 1) * k]


def _perfect_cell(key: dict[str, Any]) -> dict[str, Any]:
    sampler = key["options"]["sampler"]
    figures = _figures(_Perfect(key["target"], key["seed"], sampler), key)
    return {"target": key["target"], "seed": key["seed"], "sampler": sampler,
            **{k: figures[k] for k in ("ed_ratio", "c2st", "c2st_floor", "n")}}


def render_html(result: Bench) -> str:
    """The bench as one self-contained page: per target a quality-vs-time plot and a table."""
    import base64

    from .plots import quality_vs_time, to_png
    from .report import CSS

    parts = [f"<!doctype html><meta charset='utf-8'><title>pushforward bench</title>"
             f"<style>{CSS}</style><main><h1>pushforward bench</h1>"
             f"<p>{html.escape(json.dumps(result.settings))}</p>"]
    for target in result.settings["targets"]:
        cells = [c for c in result.cells if c["target"] == target and "error" not in c]
        spread = result.spread(target)
        fig = quality_vs_time([(c["label"], c["fit_s"], c["ed_ratio"]) for c in cells],
                              perfect=spread, title=target)
        png = base64.b64encode(to_png(fig)).decode()
        rows = "".join(
            f"<tr><td>{html.escape(c['label'])}</td><td>{html.escape(str(c.get('picked', '')))}"
            f"</td><td>{c['seed']}</td><td>{c['ed_ratio']:.2f}</td><td>{c['c2st']:.3f} "
            f"({c['c2st_floor']:.3f})</td><td>{c['fit_s']:.1f}</td><td>{c['sample_s']:.2f}</td>"
            f"<td>{html.escape(_steps(c))}</td></tr>" for c in cells)
        band = (f"perfect samplers: ed_ratio {min(spread):.2f}–{max(spread):.2f}"
                if spread else "")
        parts.append(f"<section><h2>{html.escape(target)}</h2><img alt='quality vs time' "
                     f"src='data:image/png;base64,{png}'><p>{band}</p><table><tr><th>method</th>"
                     "<th>picked</th><th>seed</th><th>ed_ratio</th><th>C2ST (floor)</th>"
                     f"<th>fit s</th><th>sample s</th><th>steps</th></tr>{rows}</table>"
                     "</section>")
    return "".join(parts) + "</main>"
