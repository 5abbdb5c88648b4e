"""Figures for mixed-type tables, in the terms SDMetrics users know, each beside its floor.

Per column: the two-sample KS statistic and W₁ of a numeric column's present values, the
total-variation distance TV = ½ Σₖ |pₖ − qₖ| of a categorical column's category shares, and
the gap between the missing shares. Per pair of columns: the difference of Pearson
correlations (two numeric columns) or the total-variation distance of the contingency table
(a categorical column with any other; a numeric one binned by the reference's deciles, a gap
its own level). The summary scores are SDMetrics' quality-report scores:

- Column Shapes = mean over columns of 1 − KS (numeric) or 1 − TV (categorical);
- Column Pair Trends = mean over pairs of 1 − |Δcorr| / 2 or 1 − contingency TV;

both in [0, 1], 1 for identical tables. Every figure is measured twice against one reference
(held-out rows): for the generated rows and for disjoint blocks of real training rows of the
same size (the floor: what real data scores). Memorisation is read on the encoded table
(numeric columns standardised by the training rows, categories one-hot, a missing indicator
per column with gaps): the distance to the closest training record (:func:`.dcr`) and the
share of generated rows that are exact copies of a training row, beside the share of
held-out rows that are (real tables have duplicates).

Tables hold categories as codes (:mod:`pushforward.data.table`); the column kinds come from
the model's :class:`~pushforward.data.schema.Schema`.

References:
    SDMetrics, "Quality Report" (KSComplement, TVComplement, CorrelationSimilarity,
    ContingencySimilarity), https://docs.sdv.dev/sdmetrics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from ..data.rows import chunks
from ..data.table import coded
from ..metrics import ks_two_sample
from .memorisation import dcr

__all__ = ["ColumnFigure", "PairFigure", "TableFigures", "table_figures", "tv_distance",
           "contingency_tv", "correlation_difference", "column_shapes", "pair_trends",
           "category_codes", "categorical_mask", "encode_rows", "exact_copies",
           "association_matrix", "is_table", "MAX_PAIRS", "BINS"]

#: Pairs measured at most (a table of d columns has d(d−1)/2; beyond this, a fixed subset).
MAX_PAIRS = 2000
#: Bins of a numeric column in a contingency table with a categorical one (reference deciles).
BINS = 10


@dataclass(frozen=True)
class ColumnFigure:
    """One column's figures beside their floors (real training rows against the reference).

    Attributes:
        name: the column.
        kind: ``"numeric"`` or ``"categorical"``.
        statistic: ``"KS"`` or ``"TV"``.
        value, floor: the statistic for the generated rows and for real rows.
        w1, w1_floor: numeric columns: Wasserstein-1 distance in the column's units.
        missing, missing_floor: |missing share − the reference's| in percentage points.
    """

    name: str
    kind: str
    statistic: str
    value: float
    floor: float
    w1: float | None = None
    w1_floor: float | None = None
    missing: float = 0.0
    missing_floor: float = 0.0

    @property
    def score(self) -> float:
        """SDMetrics' KSComplement / TVComplement: 1 − the statistic."""
        return 1.0 - self.value

    @property
    def excess(self) -> float:
        """How far the statistic is above its floor (the order of "worst columns first")."""
        return self.value - self.floor


@dataclass(frozen=True)
class PairFigure:
    """One pair's figure beside its floor: ``|Δcorr|`` (``"corr"``) or contingency TV."""

    a: str
    b: str
    statistic: str
    value: float
    floor: float

    @property
    def score(self) -> float:
        """SDMetrics' CorrelationSimilarity (1 − |Δ|/2) or ContingencySimilarity (1 − TV)."""
        return 1.0 - (self.value / 2 if self.statistic == "corr" else self.value)

    @property
    def floor_score(self) -> float:
        return 1.0 - (self.floor / 2 if self.statistic == "corr" else self.floor)


@dataclass
class TableFigures:
    """Every table figure of :func:`table_figures`; worst columns and pairs first."""

    columns: list[ColumnFigure]
    pairs: list[PairFigure]
    n: int
    copies: float | None = None
    copies_floor: float | None = None
    dcr: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def shapes(self) -> float:
        """Column Shapes score of the generated rows (1 = identical margins)."""
        return float(np.mean([c.score for c in self.columns])) if self.columns else 1.0

    @property
    def shapes_floor(self) -> float:
        """Column Shapes score of real rows (the floor)."""
        return float(np.mean([1 - c.floor for c in self.columns])) if self.columns else 1.0

    @property
    def missing(self) -> float:
        """The largest gap between a column's missing share and the reference's, in
        percentage points."""
        return max((c.missing for c in self.columns), default=0.0)

    @property
    def trends(self) -> float | None:
        """Column Pair Trends score of the generated rows (None: fewer than two columns)."""
        return float(np.mean([p.score for p in self.pairs])) if self.pairs else None

    @property
    def trends_floor(self) -> float | None:
        return float(np.mean([p.floor_score for p in self.pairs])) if self.pairs else None

    def as_dict(self) -> dict[str, Any]:
        return {"column_shapes": self.shapes, "column_shapes_floor": self.shapes_floor,
                "column_pair_trends": self.trends, "column_pair_trends_floor": self.trends_floor,
                "exact_copies": self.copies, "exact_copies_floor": self.copies_floor,
                "dcr": self.dcr, "n": self.n, "notes": list(self.notes),
                "columns": [{**asdict(c), "score": c.score} for c in self.columns],
                "pairs": [{**asdict(p), "score": p.score, "floor_score": p.floor_score}
                          for p in self.pairs]}

    def tables(self, top: int = 8) -> list:
        """Rich tables of the worst ``top`` columns and pairs, each beside its floor."""
        from rich.table import Table

        cols = Table(title=f"columns, worst first ({min(top, len(self.columns))} of "
                     f"{len(self.columns)})", title_justify="left")
        for name in ("column", "figure", "model", "real vs real", "W₁", "W₁ real",
                     "missing Δ pp", "real"):
            cols.add_column(name, justify="left" if name in ("column", "figure") else "right")
        for c in self.columns[:top]:
            cols.add_row(c.name, c.statistic, _f(c.value), _f(c.floor), _f(c.w1),
                         _f(c.w1_floor), f"{c.missing:.1f}", f"{c.missing_floor:.1f}")
        out = [cols]
        if self.pairs:
            pairs = Table(title=f"pairs, worst first ({min(top, len(self.pairs))} of "
                          f"{len(self.pairs)})", title_justify="left")
            for name in ("pair", "figure", "model", "real vs real"):
                pairs.add_column(name, justify="left" if name in ("pair", "figure") else "right")
            for p in self.pairs[:top]:
                pairs.add_row(f"{p.a} × {p.b}", "|Δcorr|" if p.statistic == "corr" else
                              "contingency TV", _f(p.value), _f(p.floor))
            out.append(pairs)
        return out


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def is_table(schema, source=None) -> bool:
    """Whether the table figures apply: a schema of columns (not images) with a categorical
    or integer column, or gaps in ``source``'s rows, or two modelled columns or more read from
    a file or a DataFrame (a point cloud given as an array is not taken for a table)."""
    if schema is None or schema.event_shape:
        return False
    if {c.kind for c in schema.columns} & {"categorical", "integer"}:
        return True
    data = getattr(source, "data", None)  # scanned in pieces: a file on disk is never copied
    if data is not None and any(np.isnan(piece).any() for piece in chunks(data)):
        return True
    meta = getattr(source, "meta", None) or {}
    return len(schema.varying) >= 2 and bool(meta.get("file") or meta.get("frame"))


def tv_distance(a, b, k: int) -> float:
    """Total-variation distance ½ Σₖ |pₖ − qₖ| between the category shares of codes ``a`` and
    ``b`` (0..k−1; missing values, NaN, left out).

    Example:
        >>> tv_distance([0, 0, 1, 1], [0, 1, 1, 1], 2)
        0.25
    """
    return 0.5 * float(np.abs(_shares(a, k) - _shares(b, k)).sum())


def _shares(codes, k: int) -> np.ndarray:
    c = np.asarray(codes, dtype=np.float64)
    c = c[~np.isnan(c)].astype(int)
    return np.bincount(c, minlength=k)[:k] / max(len(c), 1)


def correlation_difference(x: np.ndarray, y: np.ndarray) -> float | None:
    """|corr(x₀, x₁) − corr(y₀, y₁)| of two (n, 2) samples (Pearson, rows without gaps);
    None when either correlation is undefined (a constant column, under 3 rows).

    Example:
        >>> t = np.arange(10.0)
        >>> round(correlation_difference(np.c_[t, t], np.c_[t, -t]), 12)
        2.0
    """
    r = [_pearson(s) for s in (x, y)]
    return None if None in r else abs(r[0] - r[1])


def _pearson(s: np.ndarray) -> float | None:
    s = s[~np.isnan(s).any(axis=1)]
    if len(s) < 3 or (s.std(axis=0) == 0).any():
        return None
    return float(np.corrcoef(s[:, 0], s[:, 1])[0, 1])


def contingency_tv(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> float:
    """Total-variation distance between the joint shares of two pairs of codes, (n, 2) and
    (m, 2) with levels 0..ka−1 and 0..kb−1 (NaN, a gap, counted as one more level).

    Example:
        >>> x = np.array([[0.0, 0.0], [1.0, 1.0]] * 5)
        >>> contingency_tv(x, x[:, ::-1], 2, 2), contingency_tv(x, np.c_[x[:, 0], 1 - x[:, 1]],
        ...                                                    2, 2)
        (0.0, 1.0)
    """
    def joint(s):
        i = np.where(np.isnan(s[:, 0]), ka, s[:, 0]).astype(int)
        j = np.where(np.isnan(s[:, 1]), kb, s[:, 1]).astype(int)
        return np.bincount(i * (kb + 1) + j, minlength=(ka + 1) * (kb + 1)) / len(s)

    return 0.5 * float(np.abs(joint(np.asarray(a, float)) - joint(np.asarray(b, float))).sum())


def categorical_mask(schema) -> np.ndarray:
    """True for each categorical column of ``schema``."""
    return np.array([c.kind == "categorical" for c in schema.columns], dtype=bool)


def category_codes(x: np.ndarray, schema) -> np.ndarray:
    """The table with each categorical column as codes 0..k−1 into its categories (a coded
    column already is; a numeric one named categorical holds its values); NaN kept.

    Example:
        >>> from pushforward.data.schema import Column, Schema
        >>> s = Schema((Column("n", "categorical", categories=(2.0, 5.0, 9.0)),))
        >>> category_codes(np.array([[9.0], [2.0], [np.nan]]), s).ravel().tolist()
        [2.0, 0.0, nan]
    """
    x = np.array(x, dtype=np.float64)
    for j, c in enumerate(schema.columns):
        if c.kind != "categorical" or coded(c):
            continue
        levels = np.asarray(c.categories, dtype=np.float64)
        present = ~np.isnan(x[:, j])
        i = np.clip(np.searchsorted(levels, x[present, j]), 0, len(levels) - 1)
        x[present, j] = i
    return x


def _numeric(schema) -> list[int]:
    return [j for j, c in enumerate(schema.columns) if c.kind in ("continuous", "integer")]


def _categorical(schema) -> list[int]:
    return [j for j, c in enumerate(schema.columns) if c.kind == "categorical"]


def _width(schema, j: int) -> int:
    return len(schema.columns[j].categories or ())


def column_shapes(x: np.ndarray, ref: np.ndarray, schema) -> list[tuple]:
    """Per modelled column of ``x`` against ``ref`` (both as :func:`category_codes`): (KS or
    TV, W₁ or None, |missing share difference| in percentage points)."""
    out = []
    for j, c in enumerate(schema.columns):
        if c.kind == "constant":
            continue
        a, b = x[:, j], ref[:, j]
        pa, pb = a[~np.isnan(a)], b[~np.isnan(b)]
        gap = 100 * float(abs(np.isnan(a).mean() - np.isnan(b).mean()))
        if c.kind == "categorical":
            out.append((tv_distance(pa, pb, _width(schema, j)), None, gap))
        elif len(pa) and len(pb):
            from scipy.stats import wasserstein_distance

            out.append((ks_two_sample(pa, pb), float(wasserstein_distance(pa, pb)), gap))
        else:  # one side all missing: its margin is as far as it can be
            out.append((1.0, None, gap))
    return out


def _pairs(schema, seed: int) -> list[tuple[int, int]]:
    pairs = list(combinations(schema.varying, 2))
    if len(pairs) > MAX_PAIRS:
        keep = np.random.default_rng(seed).choice(len(pairs), MAX_PAIRS, replace=False)
        pairs = [pairs[i] for i in sorted(keep)]
    return pairs


def _binned(x: np.ndarray, ref: np.ndarray, schema) -> tuple[np.ndarray, list[int]]:
    """Numeric columns as decile bins of the reference (codes 0..BINS−1), and each column's
    number of levels; categorical columns as they are."""
    out, sizes = np.array(x, dtype=np.float64), []
    for j, c in enumerate(schema.columns):
        if c.kind == "categorical":
            sizes.append(_width(schema, j))
            continue
        present = ref[~np.isnan(ref[:, j]), j]
        edges = np.unique(np.quantile(present, np.linspace(0, 1, BINS + 1)[1:-1])) if len(
            present) else np.zeros(0)
        keep = ~np.isnan(out[:, j])
        out[keep, j] = np.searchsorted(edges, out[keep, j], side="right")
        sizes.append(len(edges) + 1)
    return out, sizes


def pair_trends(x: np.ndarray, ref: np.ndarray, schema, pairs) -> list[tuple[str, float]]:
    """Per pair (i, j): ("corr", |Δ Pearson correlation|) when both are numeric, else
    ("TV", contingency TV) with numeric columns binned by ``ref``'s deciles; ("skip", nan)
    when a correlation is undefined."""
    bx, sizes = _binned(x, ref, schema)
    br, _ = _binned(ref, ref, schema)
    numeric = set(_numeric(schema))
    out = []
    for i, j in pairs:
        if i in numeric and j in numeric:
            d = correlation_difference(x[:, [i, j]], ref[:, [i, j]])
            out.append(("corr", d) if d is not None else ("skip", float("nan")))
        else:
            out.append(("TV", contingency_tv(bx[:, [i, j]], br[:, [i, j]], sizes[i], sizes[j])))
    return out


def encode_rows(x: np.ndarray, schema, mean: np.ndarray, std: np.ndarray,
                gaps=None) -> np.ndarray:
    """The encoded table a distance is read on: numeric columns standardised (``mean``,
    ``std``: the training rows'), each categorical column one-hot, constant columns left out;
    each column in ``gaps`` (default: those with a gap in ``x``) gets a 0/1 missing indicator,
    a gap reading 0 (numeric) or all zeros (one-hot). Samples compared with one another take
    the same ``gaps``.

    Example:
        >>> from pushforward.data.schema import Column, Schema
        >>> s = Schema((Column("v"), Column("s", "categorical", categories=("a", "b"),
        ...                                 dtype="object")))
        >>> encode_rows(np.array([[3.0, 1.0], [np.nan, 0.0]]), s, np.array([1.0, 0.0]),
        ...             np.array([2.0, 1.0])).tolist()
        [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    gaps = set(np.flatnonzero(np.isnan(x).any(axis=0)) if gaps is None else gaps)
    blocks = []
    for j, c in enumerate(schema.columns):
        v = x[:, j]
        gap = np.isnan(v)
        if c.kind == "constant":
            continue
        if c.kind == "categorical":
            k = _width(schema, j)
            blocks.append(np.eye(k + 1)[np.where(gap, k, v).astype(int)][:, :k])
        else:
            blocks.append(np.nan_to_num((v - mean[j]) / std[j])[:, None])
        if j in gaps:
            blocks.append(gap[:, None].astype(np.float64))
    return np.concatenate(blocks, axis=1)


def exact_copies(x: np.ndarray, train: np.ndarray) -> float:
    """Share of the rows of ``x`` equal, in every column, to some row of ``train`` (gaps
    equal to gaps).

    Example:
        >>> t = np.array([[1.0, np.nan], [2.0, 3.0]])
        >>> exact_copies(np.array([[1.0, np.nan], [2.0, 4.0]]), t)
        0.5
    """
    def keys(a):
        a = np.ascontiguousarray(np.where(np.isnan(a), np.inf, a) + 0.0)  # −0.0 → 0.0
        return a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()

    return float(np.isin(keys(np.asarray(x, float)), keys(np.asarray(train, float))).mean())


def table_figures(generated: np.ndarray, ref: np.ndarray, real: list[np.ndarray], schema, *,
                  train: np.ndarray | None = None, held: np.ndarray | None = None,
                  seed: int = 0) -> TableFigures:
    """Every table figure of ``generated`` against the reference ``ref``, beside the same
    figures for each real block in ``real`` (their mean is the floor).

    Arguments:
        generated: generated rows (n, d), the float table (categories as codes).
        ref: the reference rows (held-out real rows), (m, d).
        real: real blocks (training rows disjoint from ``ref``), each (m, d): the floor.
        schema: the column kinds (:class:`~pushforward.data.schema.Schema`).
        train, held: the training rows and held-out rows, for the memorisation figures (DCR
            on the encoded table; exact-row copies).
        seed: seed of the pair subset (wide tables) and the DCR subsamples.

    Returns:
        :class:`TableFigures`, columns and pairs ordered worst first (excess over the floor).

    Example:
        >>> from pushforward.data.schema import infer_schema
        >>> rng = np.random.default_rng(0)
        >>> t = rng.normal(size=(3000, 2))
        >>> s = infer_schema(t)
        >>> f = table_figures(t[:1000], t[1000:2000], [t[2000:]], s)
        >>> f.shapes > 0.9, abs(f.shapes - f.shapes_floor) < 0.03
        (True, True)
    """
    g, r = category_codes(generated, schema), category_codes(ref, schema)
    blocks = [category_codes(b, schema) for b in real]
    names = [c.name for c in schema.columns if c.kind != "constant"]
    model = column_shapes(g, r, schema)
    floors = [column_shapes(b, r, schema) for b in blocks]
    columns = [_column(name, schema, model[i], [f[i] for f in floors])
               for i, name in enumerate(names)]
    pairs_at = _pairs(schema, seed)
    pm = pair_trends(g, r, schema, pairs_at)
    pf = [pair_trends(b, r, schema, pairs_at) for b in blocks]
    pairs = []
    for p, (i, j) in enumerate(pairs_at):
        stat, value = pm[p]
        floor = [f[p][1] for f in pf if f[p][0] != "skip"]
        if stat == "skip" or not floor:
            continue
        pairs.append(PairFigure(schema.columns[i].name, schema.columns[j].name, stat, value,
                                float(np.mean(floor))))
    out = TableFigures(sorted(columns, key=lambda c: -c.excess),
                       sorted(pairs, key=lambda p: p.score - p.floor_score), len(g))
    out.notes.append(f"floor: {len(blocks)} disjoint block(s) of {len(r):,} real training "
                     "rows against the same reference")
    if train is not None and held is not None:
        _memorisation(out, g, category_codes(train, schema), category_codes(held, schema),
                      schema, seed)
    return out


def _column(name: str, schema, value: tuple, floors: list[tuple]) -> ColumnFigure:
    kind = "categorical" if schema.columns[schema.names.index(name)].kind == "categorical" \
        else "numeric"
    w1 = [f[1] for f in floors if f[1] is not None]
    return ColumnFigure(name, kind, "TV" if kind == "categorical" else "KS", value[0],
                        float(np.mean([f[0] for f in floors])), value[1],
                        float(np.mean(w1)) if w1 else None, value[2],
                        float(np.mean([f[2] for f in floors])))


def _memorisation(out: TableFigures, g: np.ndarray, train: np.ndarray, held: np.ndarray,
                  schema, seed: int) -> None:
    mean = np.array([np.nanmean(train[:, j]) if np.isfinite(train[:, j]).any() else 0.0
                     for j in range(train.shape[1])])
    std = np.nanstd(train, axis=0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    gaps = np.flatnonzero(np.isnan(np.concatenate([g, train, held])).any(axis=0))
    enc = [encode_rows(a, schema, mean, std, gaps) for a in (g, train, held)]
    d = dcr(enc[0], enc[1], enc[2], seed=seed)
    out.dcr = {"generated": d.generated, "held_out": d.held_out, "ratio": d.ratio, "n": d.n}
    out.copies, out.copies_floor = exact_copies(g, train), exact_copies(held, train)


def association_matrix(x: np.ndarray, schema) -> tuple[list[str], np.ndarray]:
    """The association of every pair of modelled columns, for a heat map: Pearson's r of two
    numeric columns (−1..1), Cramér's V (0..1) of a pair with a categorical column (numeric
    ones binned by their own deciles), 1 on the diagonal.

    Example:
        >>> from pushforward.data.schema import infer_schema
        >>> t = np.arange(20.0)
        >>> names, a = association_matrix(np.c_[t, -t], infer_schema(np.c_[t, -t]))
        >>> names, a.round(3).tolist()
        (['x0', 'x1'], [[1.0, -1.0], [-1.0, 1.0]])
    """
    x = category_codes(x, schema)
    keep = schema.varying
    binned, sizes = _binned(x, x, schema)
    numeric = set(_numeric(schema))
    a = np.eye(len(keep))
    for p, q in combinations(range(len(keep)), 2):
        i, j = keep[p], keep[q]
        if i in numeric and j in numeric:
            v = _pearson(x[:, [i, j]])
        else:
            v = _cramers_v(binned[:, [i, j]], sizes[i], sizes[j])
        a[p, q] = a[q, p] = np.nan if v is None else v
    return [schema.columns[j].name for j in keep], a


def _cramers_v(s: np.ndarray, ka: int, kb: int) -> float | None:
    s = s[~np.isnan(s).any(axis=1)].astype(int)
    if len(s) < 2:
        return None
    table = np.bincount(s[:, 0] * kb + s[:, 1], minlength=ka * kb).reshape(ka, kb)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / len(s)
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (len(s) * (min(table.shape) - 1))))
