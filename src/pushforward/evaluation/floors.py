"""Every figure beside its noise floor, with a plain verdict: :func:`evaluate`.

Each figure of :data:`~pushforward.evaluation.METRICS` is measured twice against one reference
sample T of real data: once for the model's samples (the value) and once for real samples of
the same size (the floor), all standardised by the training data's column means and standard
deviations. Where they come from:

- a built-in target or a distribution (fresh draws): T and the real samples are fresh draws;
- the model's own data (its recorded hold-out split, :mod:`pushforward.data.split`, found again
  exactly) or user data with known training rows (``train=``): T is held-out rows, the real
  samples are disjoint subsamples of the training rows, and memorisation (DCR) is checked;
- other data: T and the real samples are disjoint parts of it. When these are rows the model
  trained on (a fit that held nothing out), or may have (a model without a split record), the
  verdict says so and is never shown as a pass.

The real samples are disjoint, so they are independent draws like the model's samples: under
"the model is the data's distribution" the model's figures and the floor's are exchangeable,
which is what the permutation tests need.

The verdict (one rule, :data:`~pushforward.evaluation.two_sample.ALPHA` = 0.01): the figures with
an exact test (C2ST's binomial test; the permutation test of 5 generated against 10 real values
for energy, MMD², sliced W₁, KS and W₁) vote together through Holm's correction, so a perfect
model is called distinguishable in at most 1 % of evaluations; mode coverage, the high-quality
share and the memorisation check vote as checks; the k-NN figures (precision, recall, density,
coverage) and the exact-map error are shown beside their floors but do not vote.

Generated sample i uses ``seed + i`` and, for fresh draws, real sample j ``seed + 1000 + j``, as
in :func:`pushforward.metrics.ed_ratio`, so the energy row *is* the ``ed_ratio`` of
``docs/measures.md``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from ..data import Source, load_source
from ..data.codec import Compose, Missing, Standardize
from ..data.images import image_size
from ..data.rows import on_disk, release, sample_rows
from ..data.split import find_rows, find_split
from ..data.table import align
from ..data.toys import MODES
from ..errors import PushforwardError
from ..metrics import exact_map_error
from ..model import FittedMap
from . import METRICS
from ._arrays import as_array, with_gaps
from .c2st import c2st
from .images import image_figures
from .likelihood import held_out_log_likelihood
from .memorisation import COPYING, dcr
from .tables import categorical_mask, category_codes, is_table, table_figures
from .two_sample import ALPHA, holm

__all__ = ["Row", "Evaluation", "evaluate", "model_data", "MODES", "MIN_N", "REFERENCES"]

class TooFewRows(PushforwardError):
    """The data leave fewer than :data:`MIN_N` reference rows to evaluate against."""


#: Where the reference rows come from, and what the verdict says about it.
REFERENCES = {
    "held-out": "",
    "training": "measured on the model's own training rows (optimistic)",
    "unknown": "measured on rows the model may have trained on (it records no hold-out split)",
}

#: Fewest reference points an evaluation accepts (the k-NN figures and C2ST need a few dozen).
MIN_N = 20

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
        votes: whether the figure takes part in the verdict (shown-only figures keep ``ok``
            None and say how they compare in ``verdict``).
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
    votes: bool = True

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
        reference: ``"held-out"`` (rows the model never saw, or fresh draws), ``"training"``
            (its own training rows) or ``"unknown"`` (see :data:`REFERENCES`).
        tabular: a table's per-column and per-pair figures
            (:class:`~pushforward.evaluation.tables.TableFigures`), or None.
        images: an image model's figures (:class:`~pushforward.evaluation.images.
            ImageFigures`: feature Fréchet distance, class histogram, memorisation), or None.
    """

    rows: list[Row]
    n: int
    source: str
    method: str
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    reference: str = "held-out"
    tabular: Any = None
    images: Any = None

    def __getitem__(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"no figure {key!r}; figures: {', '.join(r.key for r in self.rows)}")

    @property
    def ok(self) -> bool:
        """True when no voting figure tells the model from real data and it does not copy."""
        return all(r.ok is not False for r in self.rows if r.votes)

    @property
    def distinguishable(self) -> bool:
        """True when a voting figure tells the model from real data (memorisation aside)."""
        return any(r.ok is False for r in self.rows if r.votes and r.key != "dcr")

    @property
    def passed(self) -> bool:
        """True when ``ok`` on rows the model never saw: the only result shown as a pass."""
        return self.ok and self.reference == "held-out"

    @property
    def colour(self) -> str:
        """The verdict's colour: green for a pass, red when distinguishable, else yellow."""
        return "green" if self.passed else ("red" if self.distinguishable else "yellow")

    @property
    def verdict(self) -> str:
        """One plain sentence, e.g. "indistinguishable from real data at n = 10,000 (C2ST 0.51,
        floor 0.50)" or "distinguishable: C2ST 0.71 (floor 0.50); coverage 0.61 (floor 0.97)";
        prefixed by what is wrong with the reference rows when they are not held out, and
        followed by the memorisation check when it flags the model."""
        judged = sorted((r for r in self.rows if r.votes and r.ok is not None and r.key != "dcr"),
                        key=lambda r: r.key != "c2st")
        bad = [r for r in judged if not r.ok]
        if not judged:
            text = f"no figure could be judged at n = {self.n:,}"
        elif not bad:
            r = judged[0]
            text = (f"indistinguishable from real data at n = {self.n:,} ({r.label} "
                    f"{fmt(r.value)}, floor {fmt(r.floor)})")
        else:
            text = "distinguishable: " + "; ".join(_brief(r) for r in bad[:4])
        copies = [r for r in self.rows if r.key == "dcr" and r.ok is False]
        if copies:
            text += (f"; its samples lie nearer the training rows than new data do (DCR ratio "
                     f"{fmt(copies[0].ratio)})")
        caveat = REFERENCES.get(self.reference, "")
        return f"{caveat}: {text}" if caveat else text

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-serialisable (non-finite numbers become null)."""
        return {"verdict": self.verdict, "ok": self.ok, "passed": self.passed,
                "reference": self.reference, "alpha": ALPHA, "n": self.n, "source": self.source,
                "method": self.method, "rows": [r.as_dict() for r in self.rows],
                "notes": list(self.notes), "skipped": dict(self.skipped),
                "seconds": round(self.seconds, 3),
                "table": _finite(self.tabular.as_dict()) if self.tabular is not None else None,
                "images": _finite(self.images.as_dict()) if self.images is not None else None}

    def table(self):
        """A rich Table: figure, model, floor, ratio, verdict and note, captioned by the verdict."""
        from rich.markup import escape
        from rich.table import Table

        t = Table(title=f"{self.method} vs {self.source}, n = {self.n:,}",
                  caption=f"[{self.colour}]{escape(self.verdict)}[/]", caption_justify="left")
        for name, justify in (("figure", "left"), ("model", "right"),
                              ("real vs real", "right"), ("ratio", "right"),
                              ("verdict", "left"), ("note", "left")):
            t.add_column(name, justify=justify)
        # rows at their floor are green only on held-out rows: on training rows they prove little
        good = "green" if self.reference == "held-out" else "yellow"
        for r in self.rows:
            colour = {True: good, False: "bold red"}.get(r.ok, "dim")
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
    """The reference T, the real samples (the floor's), the scaler and what T is."""

    test: np.ndarray
    real: Callable[[int], np.ndarray]  # j → real sample j, of len(test) rows
    mean: np.ndarray
    std: np.ndarray
    train: np.ndarray | None = None
    held: np.ndarray | None = None
    reference: str = "held-out"
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def _chunks(pool: np.ndarray, k: int, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """Real sample j: the j-th of disjoint blocks of k rows of a random order of ``pool``.

    Disjoint blocks of i.i.d. rows are independent samples, as the model's samples are.
    """
    order = rng.permutation(len(pool))

    def real(j: int) -> np.ndarray:
        return pool[order[j * k : (j + 1) * k]]

    return real


def _fresh_plan(source: Source, n: int, seed: int, tr) -> _Plan:
    plan = _Plan(source.draw(n, seed=seed + 500), lambda j: source.draw(n, seed=seed + 1000 + j),
                 *_no_scaler(), train=tr,
                 notes=[f"reference and real samples: fresh draws from {source.name}"])
    if tr is not None:
        plan.held = source.draw(2000, seed=seed + 501)
    else:
        plan.skipped["dcr"] = "trained on fresh draws: no finite training set to copy"
    return plan


def _held_plan(held: np.ndarray, pool: np.ndarray, n: int, repeats: int,
               rng: np.random.Generator, where: str) -> _Plan:
    k = min(n, len(held), len(pool) // repeats)
    test = held[rng.permutation(len(held))[:k]]
    return _Plan(test, _chunks(pool, k, rng), *_no_scaler(), train=pool, held=held,
                 notes=[f"reference: {k:,} of the {len(held):,} {where}; real samples: "
                        f"{repeats} disjoint subsamples of the {len(pool):,} training rows"])


def _carved_plan(data: np.ndarray, n: int, repeats: int, rng: np.random.Generator,
                 reference: str) -> _Plan:
    k = min(n, len(data) // (repeats + 1))
    order = rng.permutation(len(data))
    plan = _Plan(data[order[:k]], _chunks(data[order[k:]], k, rng), *_no_scaler(),
                 reference=reference,
                 notes=[f"reference and {repeats} real samples: disjoint parts of the "
                        f"{len(data):,} rows"])
    if reference == "held-out":
        plan.notes.append("these rows are not the model's training data (another file, or "
                          "other rows): taken as unseen")
    plan.skipped["dcr"] = "no held-out rows beside known training rows: pass train="
    return plan


def _no_scaler() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0), np.ones(0)  # set by _plan once the training rows are known


def _plan(model: FittedMap, source: Source, train, n: int, seed: int, repeats: int) -> _Plan:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    tr = None
    if train is not None:
        tr = as_array(load_source(train).training_sample(20_000, seed=seed + 2), "train")
    if source.sampler is not None:
        plan = _fresh_plan(source, n, seed, tr)
    elif tr is not None:
        plan = _held_plan(source.data, tr, n, repeats, rng, "rows given as held out")
    else:
        plan = _finite_plan(model, source.data, n, repeats, rng)
    plan.mean, plan.std = _scaler(model, source, plan.train, seed)
    plan.notes.append("every sample standardised by the training data's column means and "
                      "standard deviations")
    return plan


def _finite_plan(model: FittedMap, data: np.ndarray, n: int, repeats: int,
                 rng: np.random.Generator) -> _Plan:
    """The model's own held-out rows when ``data`` is its data, else disjoint parts of it."""
    record = (model.info or {}).get("split")
    if record and record.get("rule") == "fresh-draws":
        return _carved_plan(data, n, repeats, rng, "held-out")
    found = find_rows(record, data)
    if found is not None and len(found[1]):
        train, held = found
        if on_disk(held):  # a file larger than memory: the rows compared, drawn at random
            counts = len(held), len(train)
            held = sample_rows(held, n, rng)
            train = sample_rows(train, max(repeats * n, 20_000), rng)
            plan = _held_plan(held, train, n, repeats, rng, "rows the model's fit held out")
            plan.notes.append(f"drawn at random from the file's {counts[0]:,} held-out and "
                              f"{counts[1]:,} training rows")
            return plan
        return _held_plan(held, train, n, repeats, rng, "rows the model's fit held out")
    if on_disk(data):
        data = sample_rows(data, (repeats + 1) * n, rng)
    return _carved_plan(data, n, repeats, rng, "training" if found is not None
                        else ("held-out" if record else "unknown"))


def _scaler(model: FittedMap, source: Source, tr, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training rows' column means and deviations: a learned map's own scaler when it
    covers every column, else the training rows' (the data's when they are unknown)."""
    codec = getattr(model, "codec_", None)
    scale = codec.part(Standardize) if isinstance(codec, Compose) else None
    if scale is None or scale.in_dim != source.dim:
        ref = tr if tr is not None else source.training_sample(20_000, seed=seed + 3)
        scale = Standardize().fit(ref)
    return scale.mean_, scale.std_


def model_data(model: FittedMap) -> Source:
    """The data a model was fitted on, when it is a built-in target or a distribution spec.

    A model file never names a file to read (it may come from anyone): data from a file is
    given again by the user, and :func:`evaluate` recognises it (its fingerprint in the
    model's split record) and takes the fit's held-out rows.

    Raises:
        PushforwardError: the model was fitted on a file or an array: give the data again.
    """
    from ..data import builtin_source

    name = (model.info or {}).get("source")
    if not name:
        raise PushforwardError("give the data to compare with: the model does not name its data")
    try:
        return builtin_source(name)
    except PushforwardError:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise PushforwardError(f"the model was fitted on {shown}, not a built-in target: give "
                               "that data again (--data); its held-out rows are found from the "
                               "model's split record") from None


def evaluate(model: FittedMap | str | os.PathLike, data: Any = None, *, n: int = 10_000,
             seed: int = 0, train: Any = None, metrics: Sequence[str] | None = None,
             tables: bool | None = None) -> Evaluation:
    """Measure a fitted map against real data, every figure beside its noise floor.

    Arguments:
        model: a fitted map, or the path of a saved one.
        data: the real data: an array, a file, a built-in target or a distribution spec
            (anything :func:`pushforward.load_source` takes); default the model's own built-in
            target (:func:`model_data`). When ``data`` is the data the model was fitted on,
            its recorded split (:mod:`pushforward.data.split`) gives the held-out rows.
        n: size of every compared sample (fewer when the data has fewer held-out rows).
        seed: seed of every sample drawn; the same seed gives the same figures.
        train: the model's training rows, when ``data`` is held out from them: enables the
            memorisation check and takes the floor's real samples from them.
        metrics: keys of :data:`METRICS` to compute (default all).
        tables: compute the table figures (:mod:`.tables`: per column and per pair beside
            their floors, Column Shapes and Column Pair Trends, exact-row copies); default:
            when every figure is asked for (``metrics`` None) and the data are a table
            (:func:`~pushforward.evaluation.tables.is_table`: a categorical or integer column,
            gaps, or two columns or more of a file or DataFrame).
            A table with categorical columns is told apart by C2ST with the categories taken
            natively, and its DCR is read on the encoded table (categories one-hot).

    Returns:
        :class:`Evaluation`: ``.rows``, ``.verdict``, ``.as_dict()``, ``.table()``; beside the
        two-sample figures, the error against the exact map (1-D data with a known
        distribution), mode coverage (``8gaussians``, ``25gaussians``) and the DCR ratio;
        ``.tabular`` holds the table figures; ``.images`` an image model's figures (feature
        Fréchet distance, class histogram, near-copies; :mod:`.images`), computed when every
        figure is asked for (``metrics`` None) and the training images are known.

    References:
        ``docs/measures.md`` (the protocol of each figure); the module's docstring (the
        verdict's rule).

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
    source = model_data(model) if data is None else load_source(
        data, size=image_size(getattr(model, "schema", None)))  # a folder: at the model's size
    source = align(source, getattr(model, "schema", None))  # category codes by their labels
    if source.dim != model.dim:
        raise PushforwardError(f"{source.name} has {source.dim} columns but the model makes "
                               f"{model.dim}")
    keys = list(metrics) if metrics is not None else list(METRICS)
    repeats = max([METRICS.get(key).floor_repeats for key in keys] + [1])
    plan = _plan(model, source, train, int(n), int(seed), repeats)
    release(source.data)  # a file's pages read by the passes over it (its fingerprint)
    k = len(plan.test)
    if k < MIN_N:
        raise TooFewRows(f"{source.name}: only {k} reference rows to evaluate against "
                               f"(need {MIN_N}); pass more data, or held-out data and train=")
    gens: dict[int, np.ndarray] = {}

    gaps = _gap_columns(model, plan)

    def z(a: np.ndarray) -> np.ndarray:  # standardised; gaps as 0 plus a missing indicator
        return with_gaps((np.asarray(a, dtype=np.float64).reshape(len(a), -1) - plan.mean)
                         / plan.std, gaps)

    def gen(i: int) -> np.ndarray:
        if i not in gens:
            gens[i] = model.sample_table(k, seed=seed + i)
        return gens[i]

    zt = z(plan.test)
    schema = getattr(model, "schema", None)
    native = schema is not None and categorical_mask(schema).any() and not schema.event_shape
    rows = _judge([_classifier_row(gen, plan, schema, k) if key == "c2st" and native else
                   _two_sample_row(key, lambda i: z(gen(i)), lambda j: z(plan.real(j)), zt, k)
                   for key in keys])
    rows += _exact_map_rows(model, source, plan, k, seed)
    rows += _mode_rows(model, source, seed)
    rows += _likelihood_rows(model, plan.test, source)
    tabular = None
    if (metrics is None if tables is None else tables) and source.data is not None and (
            is_table(schema, source)):
        tabular = table_figures(gen(0), plan.test, [plan.real(j) for j in range(
            min(TABLE_FLOORS, repeats))], schema, train=plan.train, held=plan.held, seed=seed)
        rows += _table_rows(tabular)
    pictures = _pictures(model, source, plan, gen, seed) if metrics is None else None
    rows += _image_rows(pictures) if pictures is not None else []
    rows += _dcr_rows(plan, pictures, tabular,
                      lambda: dcr(z(gen(0)), z(plan.train), z(plan.held), seed=seed))
    skipped = dict(plan.skipped)
    if source.dim == 1 and source.dist is None:
        skipped["exact_map"] = "no exact distribution known (the data are samples)"
    return Evaluation(rows, k, source.name, model.method, plan.notes, skipped,
                      time.perf_counter() - start, plan.reference, tabular, pictures)


def _dcr_rows(plan: _Plan, pictures, tabular, standardised) -> list[Row]:
    """The memorisation row: in pixel units for images, on the encoded table for tables,
    else on standardised columns (``standardised()``); none without known training rows."""
    if pictures is not None and plan.held is not None:
        m = pictures.memorisation
        return [_dcr_row(m["generated"], m["held_out"], m["n"], "pixel units")]
    if tabular is not None and tabular.dcr is not None:
        return [_dcr_row(tabular.dcr["generated"], tabular.dcr["held_out"], tabular.dcr["n"],
                         "encoded table: categories one-hot")]
    if plan.train is not None and plan.held is not None:
        d = standardised()
        return [_dcr_row(d.generated, d.held_out, d.n)]
    return []


def _pictures(model: FittedMap, source: Source, plan: _Plan, gen, seed: int):
    """An image model's figures (:func:`~pushforward.evaluation.images.image_figures`), or
    None for other data or without known training rows."""
    schema = getattr(model, "schema", None)
    if schema is None or not schema.images or plan.train is None:
        return None
    return image_figures(gen(0), plan.test, plan.real(0), plan.train, plan.held,
                         shape=tuple(schema.event_shape), seed=seed,
                         labels=_train_labels(model, source, len(plan.train)))


def _train_labels(model: FittedMap, source: Source, n_train: int) -> np.ndarray | None:
    """The classes of the model's training rows (``source.meta["labels"]``, one per row of
    the data, taken through the model's split record), or None."""
    labels = (source.meta or {}).get("labels")
    if labels is None or source.data is None or len(labels) != len(source.data):
        return None
    found = find_split((model.info or {}).get("split"), source.data)
    if found is None or len(found[0]) != n_train:
        return None
    return np.asarray(labels)[found[0]]


def _image_rows(f) -> list[Row]:
    """The image figures beside their floors (shown, not voting: no exact test)."""
    task = ("classes" if f.task == "labels" else "flips (4 kinds; the data have no labels)")
    rows = [Row("fid", "Fréchet distance (classifier features)", f.fid, f.fid_floor, None,
                "shown only", f"32 features of an MLP trained to tell the training images' "
                f"{task}", "lower", votes=False)]
    if f.classes is not None:
        ratios = f.share_ratios
        worst = int(np.argmax(np.abs(np.log(np.maximum(ratios, 1e-12)))))
        ok = bool(((ratios >= 0.5) & (ratios <= 2.0)).all())
        rows.append(Row("classes", "class histogram (TV)", f.tv(), f.tv("floor"), None,
                        "every class 0.5–2×" if ok else "a class off 0.5–2×",
                        f"shares vs held-out images' under one classifier; worst: class "
                        f"{f.classes[worst]} {f.generated[worst]:.3f} vs {f.real[worst]:.3f}",
                        "lower", {"ratios": ratios.tolist()}, votes=False))
    m = f.memorisation
    rows.append(Row("near_copies", "near-copies of training images", m["near_copies"] / m["n"],
                    0.01, None, "shown only", f"{m['near_copies']} of {m['n']} nearer a training"
                    f" image than 99 % of held-out images; {m['exact_copies']} exact copies",
                    "lower", votes=False))
    return rows


#: Real blocks whose figures make a table figure's floor (their mean).
TABLE_FLOORS = 3


def _dcr_row(generated: float, held_out: float, n: int, where: str = "") -> Row:
    ratio = generated / held_out if held_out > 0 else math.inf
    copies = ratio < COPYING
    note = f"DCR ratio {ratio:.2f} (< {COPYING} flags copying)" + (f"; {where}" if where else "")
    return Row("dcr", "distance to closest record", generated, held_out, not copies,
               "near training rows" if copies else "no copying", note, "higher", {"n": n})


def _classifier_row(gen, plan: _Plan, schema, k: int) -> Row:
    """C2ST of a table with categorical columns: codes taken natively by the classifier,
    gaps as they are (no standardising: trees do not need it)."""
    mask = categorical_mask(schema)
    metric = replace(METRICS.get("c2st"), fn=partial(c2st, categorical=mask))
    row = _two_sample_row("c2st", lambda i: category_codes(gen(i), schema),
                          lambda j: category_codes(plan.real(j), schema),
                          category_codes(plan.test, schema), k, metric)
    return replace(row, note=row.note + "; categories taken natively")


def _table_rows(t) -> list[Row]:
    """The table's summary scores, shown beside their floors (not voting: no exact test)."""
    worst = t.columns[0] if t.columns else None
    note = (f"1 − KS / 1 − TV per column; worst: {worst.name} ({worst.statistic} "
            f"{worst.value:.3f}, floor {worst.floor:.3f})") if worst else ""
    rows = [Row("column_shapes", "Column Shapes (SDMetrics)", t.shapes, t.shapes_floor, None,
                "shown only", note, "higher", votes=False)]
    if t.trends is not None:
        p = t.pairs[0]
        rows.append(Row("pair_trends", "Column Pair Trends (SDMetrics)", t.trends,
                        t.trends_floor, None, "shown only",
                        f"1 − |Δcorr|/2 or 1 − contingency TV per pair; worst: {p.a} × {p.b}",
                        "higher", votes=False))
    if t.copies is not None:
        rows.append(Row("copies", "exact copies of training rows", t.copies, t.copies_floor,
                        None, "shown only", "share of rows equal to a training row (floor: "
                        "held-out rows)", "lower", votes=False))
    return rows


def _gap_columns(model: FittedMap, plan: _Plan) -> np.ndarray:
    """Columns that get a missing indicator in every compared sample: those with a gap in the
    reference, in a real sample, or that the model generates gaps in (a column whose few gaps
    all fell in the training rows left NaN in the figures, and the verdict said
    "distinguishable: energy distance² —")."""
    cols = np.isnan(np.asarray(plan.test, dtype=np.float64)).any(axis=0)
    cols |= np.isnan(np.asarray(plan.real(0), dtype=np.float64)).any(axis=0)
    codec = getattr(model, "codec_", None)
    part = codec.part(Missing) if isinstance(codec, Compose) else None
    if part is not None:
        cols[[j for j in part.columns if j < len(cols)]] = True
    return np.flatnonzero(cols)


def _two_sample_row(key: str, generated, real, zt: np.ndarray, k: int,
                    metric=None) -> Row:
    m = metric or METRICS.get(key)
    cut = slice(m.max_n)  # the first max_n points of i.i.d. samples: a random subsample
    values = [m(generated(i)[cut], zt[cut]) for i in range(m.repeats)]
    floors = [m(real(j)[cut], zt[cut]) for j in range(m.floor_repeats)]
    p = m.p_value(values, floors, k)
    if p is None:  # no exact test: shown beside its floor, with its tolerance, not voting
        near = m.indistinguishable(values, floors, k)
        side = "above" if m.better == "lower" else "below"
        ok, word, votes = None, "≈ floor" if near else f"{side} floor", False
        note = f"not voting (no exact test); tolerance {m.tolerance:g} × floor"
    else:
        ok, word, votes = None, "", True  # judged by _judge, with the other tests
        note = _p(p) if m.judge is not None else \
            f"{_p(p)}; {m.repeats} generated vs {m.floor_repeats} real samples"
    if m.max_n is not None and k > m.max_n:
        note += f" of {m.max_n:,} points"
    return Row(key, m.label, float(np.mean(values)), float(np.mean(floors)), ok, word, note,
               m.better, {"values": values, "floors": floors, "p_value": p}, votes)


def _judge(rows: list[Row]) -> list[Row]:
    """The tested rows judged together: Holm-adjusted p-values against :data:`ALPHA`."""
    tested = [i for i, r in enumerate(rows) if r.votes and r.details.get("p_value") is not None]
    adjusted = holm([rows[i].details["p_value"] for i in tested])
    out = list(rows)
    for i, p in zip(tested, adjusted, strict=True):
        r = rows[i]
        ok = p >= ALPHA
        note = r.note + (f" (Holm-adjusted {_p(p)})" if len(tested) > 1 else "")
        out[i] = replace(r, ok=ok, verdict="at floor" if ok else "distinguishable", note=note,
                         details={**r.details, "p_adjusted": p})
    return out


def _exact_map_rows(model: FittedMap, source: Source, plan: _Plan, k: int, seed: int) -> list:
    if not (source.dim == model.dim == model.latent_dim == 1 and model.pointwise):
        return []
    u = np.linspace(0.01, 0.99, 981)
    real = plan.real(0)[:, 0]
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


def _likelihood_rows(model: FittedMap, test: np.ndarray, source: Source) -> list[Row]:
    """Held-out log-likelihood, shown (not voting) where the map has a density."""
    ll = held_out_log_likelihood(model, test, source)
    if ll is None:
        return []
    return [Row("log_likelihood", "held-out log-likelihood", ll.mean, None, None, "shown only",
                ll.note, "higher", {"se": ll.se, "zero_density": ll.zero_density,
                                    "exact": ll.exact}, votes=False)]


def _mode_rows(model: FittedMap, source: Source, seed: int) -> list[Row]:
    from .. import metrics

    key = source.spec or source.name
    if key not in MODES or not hasattr(metrics, "mode_coverage"):
        return []
    centres, sigma = MODES[key]
    g = metrics.mode_coverage(model.sample_table(10_000, seed=seed), centres,
                              sigma)
    r = metrics.mode_coverage(source.draw(10_000, seed=seed + 1000), centres, sigma)
    ok_modes, ok_hq = g.covered >= r.covered, g.high_quality >= 0.9 * r.high_quality
    return [
        Row("modes", "modes covered", float(g.covered), float(r.covered), ok_modes,
            "all modes" if ok_modes else "lost modes", f"of {g.modes}; 10,000 points", "higher"),
        Row("high_quality", "high-quality share (≤ 3σ)", g.high_quality, r.high_quality, ok_hq,
            "at floor" if ok_hq else "distinguishable", "", "higher"),
    ]
