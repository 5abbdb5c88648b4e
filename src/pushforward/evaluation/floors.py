"""Every figure beside its noise floor, with a plain verdict: :func:`evaluate`.

Each figure of :data:`~pushforward.evaluation.METRICS` is measured twice against one reference
sample T of real data: once for the model's samples (the value) and once for real samples of
the same size (the floor), all standardised by the training data's column means and standard
deviations. Where they come from:

- a built-in target or a distribution (fresh draws): T and the real samples are fresh draws;
- user data with known training rows (``train=``, or a learned map's own hold-out split, found
  again from its seed and checked against its scaler): T is held-out rows, the real samples are
  subsamples of the training rows (``docs/measures.md``), and memorisation (DCR) is checked;
- user data otherwise: the rows are split in two halves, T from one and the real samples from
  the other (optimistic if the model was fitted on them: pass held-out data and ``train=``).

Generated sample i uses ``seed + i`` and real sample j ``seed + 1000 + j``, as in
:func:`pushforward.metrics.ed_ratio`, so the energy row *is* the ``ed_ratio`` of
``docs/measures.md``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..data import Source, load_source
from ..errors import PushforwardError
from ..metrics import exact_map_error
from ..model import FittedMap
from ._arrays import as_array
from .memorisation import dcr
from .two_sample import METRICS

__all__ = ["Row", "Evaluation", "evaluate", "MODES", "MIN_N"]

#: Fewest reference points an evaluation accepts (the k-NN figures and C2ST need a few dozen).
MIN_N = 20

#: Mixture toys with known modes: name → (centres, σ), as ``docs/measures.md`` gives them.
MODES: dict[str, tuple[np.ndarray, float]] = {
    "8gaussians": (2 * np.stack([np.cos(np.arange(8) * np.pi / 4),
                                 np.sin(np.arange(8) * np.pi / 4)], 1) / 1.414, 0.02 / 1.414),
    "25gaussians": (np.array([(2 * i, 2 * j) for i in range(-2, 3) for j in range(-2, 3)],
                             dtype=float) / 2.828, 0.05 / 2.828),
}


@dataclass(frozen=True)
class Row:
    """One figure: the model's value beside the floor (the same figure for real data).

    Attributes:
        key: the metric key (``"c2st"``, ``"energy"``, ``"dcr"``...).
        label: the printed name.
        value: the model's figure.
        floor: the same figure for a real sample of the same size (None: no floor).
        ok: True when indistinguishable from the floor, False when not, None when not judged.
        verdict: a word or two for the table.
        note: anything else worth a glance (a p-value, a mean error).
        better: ``"lower"`` or ``"higher"``.
        details: extra numbers for the JSON.
    """

    key: str
    label: str
    value: float
    floor: float | None
    ok: bool | None
    verdict: str = ""
    note: str = ""
    better: str = "lower"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """value / floor (None without a floor; inf for a zero floor)."""
        if self.floor is None:
            return None
        return self.value / self.floor if self.floor != 0 else (math.inf if self.value else 1.0)

    def as_dict(self) -> dict[str, Any]:
        return _finite({**asdict(self), "ratio": self.ratio})


@dataclass
class Evaluation:
    """The figures of one model against real data, with the overall verdict.

    Attributes:
        rows: one :class:`Row` per figure.
        n: the size of every sample compared (generated, real and reference).
        source: the data's name.
        method: the model's method.
        notes: how the samples were drawn.
        skipped: figures that did not apply, and why.
        seconds: time taken.
    """

    rows: list[Row]
    n: int
    source: str
    method: str
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def __getitem__(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"no figure {key!r}; figures: {', '.join(r.key for r in self.rows)}")

    @property
    def ok(self) -> bool:
        """True when no judged figure tells the model from real data."""
        return all(r.ok is not False for r in self.rows)

    @property
    def verdict(self) -> str:
        """One plain sentence, e.g. "indistinguishable from real data at n = 10,000 (C2ST 0.51,
        floor 0.50)" or "distinguishable: C2ST 0.71 (floor 0.50); coverage 0.61 (floor 0.97)"."""
        judged = sorted((r for r in self.rows if r.ok is not None), key=lambda r: r.key != "c2st")
        bad = [r for r in judged if not r.ok]
        if not judged:
            return f"no figure could be judged at n = {self.n:,}"
        if not bad:
            r = judged[0]
            return (f"indistinguishable from real data at n = {self.n:,} ({r.label} "
                    f"{fmt(r.value)}, floor {fmt(r.floor)})")
        return "distinguishable: " + "; ".join(_brief(r) for r in bad[:4])

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-serialisable (non-finite numbers become null)."""
        return {"verdict": self.verdict, "ok": self.ok, "n": self.n, "source": self.source,
                "method": self.method, "rows": [r.as_dict() for r in self.rows],
                "notes": list(self.notes), "skipped": dict(self.skipped),
                "seconds": round(self.seconds, 3)}

    def table(self):
        """A rich Table: figure, model, floor, ratio, verdict and note, captioned by the verdict."""
        from rich.table import Table

        t = Table(title=f"{self.method} vs {self.source}, n = {self.n:,}",
                  caption=self.verdict, caption_justify="left")
        for name, justify in (("figure", "left"), ("model", "right"),
                              ("real vs real", "right"), ("ratio", "right"),
                              ("verdict", "left"), ("note", "left")):
            t.add_column(name, justify=justify)
        for r in self.rows:
            colour = {True: "green", False: "bold red"}.get(r.ok, "dim")
            t.add_row(r.label, fmt(r.value), fmt(r.floor), fmt(r.ratio, ratio=True),
                      f"[{colour}]{r.verdict}[/]", r.note)
        return t

    def __str__(self) -> str:
        return self.verdict


def fmt(v: float | None, *, ratio: bool = False) -> str:
    """A figure for humans: 3 significant digits, integers as integers, ``—`` for none."""
    if v is None:
        return "—"
    if not math.isfinite(v):
        return "∞" if v > 0 else "—"
    if float(v).is_integer() and abs(v) >= 1 and not ratio:
        return f"{int(v):,}"
    if ratio:
        return f"{v:,.0f}×" if abs(v) >= 100 else f"{v:#.3g}×"
    return f"{v:.3g}"


def _p(p: float) -> str:
    return "p < 1e-16" if p < 1e-16 else f"p = {p:.2g}"


def _brief(r: Row) -> str:
    if r.key == "dcr":
        return f"copies training rows (DCR ratio {fmt(r.ratio)})"
    return f"{r.label} {fmt(r.value)} (floor {fmt(r.floor)})"


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    def clean(v):
        if isinstance(v, float | np.floating):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: clean(w) for k, w in v.items()}
        if isinstance(v, list | tuple):
            return [clean(w) for w in v]
        return v

    return clean(d)


@dataclass
class _Plan:
    """Where the reference, the real samples and the scaler come from."""

    test: np.ndarray
    real: Callable[[int, int], np.ndarray]
    mean: np.ndarray
    std: np.ndarray
    train: np.ndarray | None = None
    held: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _subsampler(pool: np.ndarray) -> Callable[[int, int], np.ndarray]:
    def real(k: int, s: int) -> np.ndarray:
        return pool[np.random.default_rng(s).choice(len(pool), k, replace=k > len(pool))]

    return real


def _learned_split(model: FittedMap, source: Source):
    """A learned map's (training rows, held-out rows), found again from its seed, or None."""
    holdout = model.settings.get("train", {}).get("holdout") if model.settings else None
    mean = getattr(model, "mean_", None)
    if not holdout or mean is None or model.seed is None or source.data is None:
        return None
    from ..data.split import holdout_split

    train, held = holdout_split(source, float(holdout), int(model.seed))
    if train is None or len(train) == len(source.data):
        return None
    if not np.allclose(train.mean(axis=0), mean, rtol=1e-9, atol=1e-12):
        return None  # not the data this model was trained on
    return train, held


def _plan(model: FittedMap, source: Source, train, n: int, seed: int) -> _Plan:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    notes: list[str] = []
    skipped: dict[str, str] = {}
    tr = held = None
    if train is not None:
        tr = as_array(load_source(train).training_sample(20_000, seed=seed + 2), "train")
    if source.sampler is not None:
        test = source.draw(n, seed=seed + 500)
        real = lambda k, s: source.draw(k, seed=s)  # noqa: E731
        notes.append(f"reference and real samples: fresh draws from {source.name}")
        if tr is not None:
            held = source.draw(2000, seed=seed + 501)
        else:
            skipped["dcr"] = "trained on fresh draws: no finite training set to copy"
    else:
        data = source.data
        split = (tr, data) if tr is not None else _learned_split(model, source)
        if split is not None:
            tr, held = split
            test = held[rng.choice(len(held), min(n, len(held)), replace=False)]
            real = _subsampler(tr)
            notes.append(f"reference: {len(test):,} held-out rows; real samples: subsamples of "
                         f"the {len(tr):,} training rows")
        else:
            if len(data) < 4:
                raise PushforwardError(f"{source.name}: need at least 4 rows to evaluate, "
                                       f"got {len(data)}")
            perm = rng.permutation(len(data))
            a, b = data[perm[: len(data) // 2]], data[perm[len(data) // 2 :]]
            test = a[: min(n, len(a))]
            real = _subsampler(b)
            notes.append(f"the {len(data):,} rows were split in halves: reference from one, "
                         "real samples from the other (optimistic if the model was fitted on "
                         "them: pass held-out data and train=)")
            skipped["dcr"] = "training rows unknown: pass train= and held-out data"
    mean, std = _scaler(model, source, tr, seed)
    notes.append("every sample standardised by the training data's column means and "
                 "standard deviations")
    return _Plan(test, real, mean, std, tr, held, notes, skipped)


def _scaler(model: FittedMap, source: Source, tr, seed: int) -> tuple[np.ndarray, np.ndarray]:
    mean, std = getattr(model, "mean_", None), getattr(model, "std_", None)
    if mean is None or std is None or np.shape(mean) != (source.dim,):
        ref = tr if tr is not None else source.training_sample(20_000, seed=seed + 3)
        mean, std = ref.mean(axis=0), ref.std(axis=0)
    std = np.where(np.asarray(std) > 0, std, 1.0)
    return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


def evaluate(model: FittedMap | str | os.PathLike, data: Any, *, n: int = 10_000,
             seed: int = 0, train: Any = None, metrics: Sequence[str] | None = None) -> Evaluation:
    """Measure a fitted map against real data, every figure beside its noise floor.

    Arguments:
        model: a fitted map, or the path of a saved one.
        data: the real data: an array, a file, a built-in target or a distribution spec
            (anything :func:`pushforward.load_source` takes).
        n: size of every compared sample (fewer when the data has fewer held-out rows).
        seed: seed of every sample drawn; the same seed gives the same figures.
        train: the model's training rows, when ``data`` is held out from them: enables the
            memorisation check and takes the floor's real samples from them.
        metrics: keys of :data:`METRICS` to compute (default all).

    Returns:
        :class:`Evaluation`: ``.rows``, ``.verdict``, ``.as_dict()``, ``.table()``; beside the
        two-sample figures, the error against the exact map (1-D data with a known
        distribution), mode coverage (``8gaussians``, ``25gaussians``) and the DCR ratio.

    References:
        ``docs/measures.md`` (the protocol of each figure).

    Example:
        >>> import pushforward
        >>> from pushforward.evaluation import evaluate
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> e = evaluate(m, "norm", n=400, metrics=["ks", "c2st"])
        >>> e.ok, e["exact_map"].value < 1e-9
        (True, True)
    """
    start = time.perf_counter()
    if isinstance(model, str | os.PathLike):
        from ..model import load

        model = load(model)
    source = load_source(data)
    if source.dim != model.dim:
        raise PushforwardError(f"{source.name} has {source.dim} columns but the model makes "
                               f"{model.dim}")
    plan = _plan(model, source, train, int(n), int(seed))
    k = len(plan.test)
    if k < MIN_N:
        raise PushforwardError(f"{source.name}: only {k} reference rows to evaluate against "
                               f"(need {MIN_N}); pass more data, or held-out data and train=")
    gens: dict[int, np.ndarray] = {}

    def z(a: np.ndarray) -> np.ndarray:
        return (np.asarray(a, dtype=np.float64).reshape(len(a), -1) - plan.mean) / plan.std

    def gen(i: int) -> np.ndarray:
        if i not in gens:
            gens[i] = np.asarray(model.sample(k, seed=seed + i), dtype=float)
        return gens[i]

    zt = z(plan.test)
    rows = [_two_sample_row(key, lambda i: z(gen(i)), lambda j: z(plan.real(k, seed + 1000 + j)),
                            zt, k) for key in (metrics if metrics is not None else list(METRICS))]
    rows += _exact_map_rows(model, source, plan, k, seed)
    rows += _mode_rows(model, source, seed)
    if plan.train is not None and plan.held is not None:
        d = dcr(z(gen(0)), z(plan.train), z(plan.held), seed=seed)
        rows.append(Row("dcr", "distance to closest record", d.generated, d.held_out,
                        not d.copies, "copies training rows" if d.copies else "no copying",
                        f"DCR ratio {d.ratio:.2f} (< 0.8 flags copying)", "higher",
                        {"n": d.n}))
    skipped = dict(plan.skipped)
    if source.dim == 1 and source.dist is None:
        skipped["exact_map"] = "no exact distribution known (the data are samples)"
    return Evaluation(rows, k, source.name, model.method, plan.notes, skipped,
                      time.perf_counter() - start)


def _two_sample_row(key: str, generated, real, zt: np.ndarray, k: int) -> Row:
    m = METRICS.get(key)
    cut = slice(m.max_n)  # the first max_n points of i.i.d. samples: a random subsample
    values = [m(generated(i)[cut], zt[cut]) for i in range(m.repeats)]
    floors = [m(real(j)[cut], zt[cut]) for j in range(m.floor_repeats)]
    p = m.p_value(values, floors, k)
    ok = m.indistinguishable(values, floors, k)
    if p is None:
        note = f"tolerance: {m.tolerance:g} × floor"
    elif m.judge is not None:
        note = _p(p)
    else:
        note = f"{_p(p)}; {m.repeats} generated vs {m.floor_repeats} real samples"
    if m.max_n is not None and k > m.max_n:
        note += f" of {m.max_n:,} points"
    return Row(key, m.label, float(np.mean(values)), float(np.mean(floors)), ok,
               "at floor" if ok else "distinguishable", note, m.better,
               {"values": values, "floors": floors, "p_value": p})


def _exact_map_rows(model: FittedMap, source: Source, plan: _Plan, k: int, seed: int) -> list:
    if not (source.dim == model.dim == model.latent_dim == 1 and model.pointwise):
        return []
    u = np.linspace(0.01, 0.99, 981)
    real = plan.real(k, seed + 1000)[:, 0]
    if source.dist is not None:
        e = exact_map_error(model.inverse_transform, source.dist.ppf, model.noise_)
        f = np.abs(np.quantile(real, u) - source.dist.ppf(u))
        return [Row("exact_map", "max |G(u) − F⁻¹(u)|", e["max"], float(f.max()), None,
                    note=f"mean {e['mean']:.3g}; floor: empirical quantiles of {k:,} real points",
                    details={"mean": e["mean"], "floor_mean": float(f.mean())})]
    pool = plan.train if plan.train is not None else source.data
    e = exact_map_error(model.inverse_transform, lambda q: np.quantile(pool[:, 0], q), model.noise_)
    return [Row("quantile_map", "max |G(u) − F̂⁻¹(u)|", e["max"], None, None,
                note=f"mean {e['mean']:.3g}; F̂ the empirical quantiles of {len(pool):,} rows",
                details={"mean": e["mean"]})]


def _mode_rows(model: FittedMap, source: Source, seed: int) -> list[Row]:
    from .. import metrics

    key = source.spec or source.name
    if key not in MODES or not hasattr(metrics, "mode_coverage"):
        return []
    centres, sigma = MODES[key]
    g = metrics.mode_coverage(model.sample(10_000, seed=seed), centres, sigma)
    r = metrics.mode_coverage(source.draw(10_000, seed=seed + 1000), centres, sigma)
    ok_modes, ok_hq = g.covered >= r.covered, g.high_quality >= 0.9 * r.high_quality
    return [
        Row("modes", "modes covered", float(g.covered), float(r.covered), ok_modes,
            "all modes" if ok_modes else "lost modes", f"of {g.modes}; 10,000 points", "higher"),
        Row("high_quality", "high-quality share (≤ 3σ)", g.high_quality, r.high_quality, ok_hq,
            "at floor" if ok_hq else "distinguishable", "", "higher"),
    ]
