"""What the columns of a data set are: a kind per column, or an event shape for images.

A :class:`Schema` is inferred from the data (:func:`infer_schema`) and can be overridden
(``categorical=["a"]``, ``integer=["c"]``, ``discrete=["n"]``; on the command line
``--categorical a``, ``--integer c``, ``--discrete n``: a numeric column with few values
modelled as categories and written back as numbers). It is saved in the model file, and the
codec that turns the data into the tensor a method sees (:mod:`pushforward.data.codec`) is
built from it: constant columns pass through every map unchanged, the others are modelled.

Kinds:
    continuous: real numbers.
    integer: whole numbers (every value integral).
    categorical: a finite set of labels (``categories``), strings or numbers.
    constant: one value in every row (``value``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import PushforwardError
from .table import DTYPES, MAX_CATEGORIES, coded

KINDS = ("continuous", "integer", "categorical", "constant")

#: Rows drawn from a sampler (a built-in target, a distribution spec) to infer its schema.
SAMPLER_ROWS = 1000


@dataclass(frozen=True)
class Column:
    """One column: its name and kind (``categories`` for categorical, ``value`` for constant).

    Example:
        >>> Column("sex", "categorical", categories=("f", "m")).width
        2
    """

    name: str
    kind: str = "continuous"
    categories: tuple | None = None
    value: Any = None
    dtype: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise PushforwardError(f"column {self.name!r}: unknown kind {self.kind!r}; "
                                   f"valid: {', '.join(KINDS)}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise PushforwardError(f"column {self.name!r}: unknown dtype {str(self.dtype)[:40]!r}")

    @property
    def width(self) -> int:
        """Columns this one takes in the encoded tensor: 0 constant, k one-hot, else 1."""
        if self.kind == "constant":
            return 0
        return len(self.categories or ()) if self.kind == "categorical" else 1

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.categories is not None:
            d["categories"] = [_plain(c) for c in self.categories]
        if self.kind == "constant":
            d["value"] = _plain(self.value)
        if self.dtype is not None:
            d["dtype"] = self.dtype
        return d


@dataclass(frozen=True)
class Schema:
    """The columns of a data set, in order; ``event_shape`` (C, H, W) when rows are images.

    Example:
        >>> s = Schema((Column("x0", "constant", value=0.0), Column("x1"), Column("x2")))
        >>> s.summary()
        '2 continuous, 1 constant (x0)'
        >>> s.varying, s.encoded_dim
        ([1, 2], 2)
        >>> Schema.from_dict(s.to_dict()) == s
        True
    """

    columns: tuple[Column, ...]
    event_shape: tuple[int, ...] | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def dim(self) -> int:
        return len(self.columns)

    def indices(self, kind: str) -> list[int]:
        """Positions of the columns of ``kind``."""
        return [j for j, c in enumerate(self.columns) if c.kind == kind]

    @property
    def varying(self) -> list[int]:
        """Positions of the columns a map models (every kind but constant)."""
        return [j for j, c in enumerate(self.columns) if c.kind != "constant"]

    @property
    def images(self) -> bool:
        """Whether rows are images (an event shape, no categorical column): their codec is
        :class:`~pushforward.data.codec.Pixels`, which keeps the whole pixel grid."""
        return bool(self.event_shape) and not self.indices("categorical")

    @property
    def encoded_dim(self) -> int:
        """The dimension of the encoded tensor the core map sees (images: every pixel, the
        constant ones included, so a convolutional net sees the whole grid)."""
        if self.images and self.encoded_dim_without_grid:
            return self.dim
        return self.encoded_dim_without_grid

    @property
    def encoded_dim_without_grid(self) -> int:
        """The encoded dimension with constant columns dropped (as a table's codec does)."""
        return sum(c.width for c in self.columns)

    @property
    def pointwise_dim(self) -> int:
        """The core's dimension for pointwise exact maps: one per modelled column (category
        codes as one ordinal column each)."""
        return len(self.varying)

    @property
    def labelled(self) -> bool:
        """Whether some column's values are labels (strings, booleans) held as codes, so that
        samples are a DataFrame, not a float array."""
        return any(coded(c) for c in self.columns)

    def check_modelled(self) -> None:
        """Raise when every column is constant: there is nothing for a map to model."""
        if self.encoded_dim_without_grid == 0:
            shown = ", ".join(f"{c.name} = {c.value}" for c in self.columns[:4])
            more = ", …" if self.dim > 4 else ""
            raise PushforwardError(f"every column is constant ({shown}{more}): there is nothing "
                                   "to model")

    def summary(self) -> str:
        """One short line: counts per kind, naming the columns of the rarer kinds."""
        parts = []
        for kind in KINDS:
            cols = [c.name for c in self.columns if c.kind == kind]
            if not cols:
                continue
            text = f"{len(cols)} {kind}"
            if kind != "continuous" and len(cols) <= 5:
                text += f" ({', '.join(cols)})"
            elif kind != "continuous":
                text += f" ({', '.join(cols[:4])}, …)"
            parts.append(text)
        if self.event_shape:
            parts.append("images " + "×".join(str(s) for s in self.event_shape))
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns],
                "event_shape": list(self.event_shape) if self.event_shape else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        """The schema of :meth:`to_dict` (as a model file holds it; checked, one-line errors)."""
        cols = d.get("columns")
        if not isinstance(cols, list) or not all(
                isinstance(c, dict) and isinstance(c.get("name"), str) for c in cols):
            raise PushforwardError("schema.columns must be a list of named columns")
        columns = []
        for c in cols:
            cats = c.get("categories")
            if cats is not None and not isinstance(cats, list):
                raise PushforwardError(f"schema: column {c['name']!r}: categories must be a list")
            if cats is not None and (len(cats) > MAX_CATEGORIES or not all(
                    isinstance(x, (str, int, float, bool)) for x in cats)):
                raise PushforwardError(f"schema: column {c['name']!r}: categories must be at "
                                       f"most {MAX_CATEGORIES} strings or numbers")
            columns.append(Column(c["name"], c.get("kind"),
                                  categories=tuple(cats) if cats is not None else None,
                                  value=c.get("value"), dtype=c.get("dtype")))
        shape = d.get("event_shape")
        if shape is not None and not (isinstance(shape, list) and all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise PushforwardError("schema.event_shape must be a list of positive integers")
        return cls(tuple(columns), tuple(shape) if shape else None)


def infer_schema(data: Any, columns: Sequence[str] | None = None, *,
                 categorical: Iterable[str] | None = None, integer: Iterable[str] | None = None,
                 discrete: Iterable[str] | None = None,
                 event_shape: Sequence[int] | None = None) -> Schema:
    """The schema of ``data``: a :class:`~pushforward.data.source.Source`, an array or a frame.

    A column with one distinct value is constant; strings, booleans and pandas categories are
    categorical; numbers that are all whole are integer; other numbers continuous. A sampler
    (a built-in target, a spec) is inferred from ``SAMPLER_ROWS`` draws with a fixed seed.

    Arguments:
        data: the data (rows × columns).
        columns: the column names (default: the Source's or frame's, else x0, x1, ...).
        categorical: columns to treat as categorical (their distinct values are the categories).
        integer: columns to treat as integer (every value must be whole).
        discrete: numeric columns with few values to treat as categorical (their values are
            the categories, and samples are written back with the column's numeric dtype).
        event_shape: (C, H, W) when each row is an image (a Source's ``image_shape`` otherwise).

    Raises:
        PushforwardError: an override names an unknown column, a column twice, an
            ``integer`` column holds a value that is not whole, or a ``discrete`` column
            holds words or more than ``MAX_CATEGORIES`` values.

    Example:
        >>> x = np.array([[0.0, 1.5, 2.0], [0.0, 2.5, 3.0], [0.0, 0.1, 7.0]])
        >>> infer_schema(x).summary()
        '1 continuous, 1 integer (x2), 1 constant (x0)'
        >>> infer_schema(x, categorical=["x2"]).columns[2].categories
        (2.0, 3.0, 7.0)
        >>> infer_schema(x, discrete=["x2"]).columns[2].kind
        'categorical'
    """
    values, names, shape = _table(data, columns)
    categorical, integer = list(categorical or ()), list(integer or ())
    discrete = list(discrete or ())
    for name in [*categorical, *integer, *discrete]:
        if name not in names:
            raise PushforwardError(f"no column {name!r} to override; columns: "
                                   f"{', '.join(map(str, names))}")
    for a, b, one, other in ((categorical, integer, "categorical", "integer"),
                             (discrete, integer, "discrete", "integer"),
                             (discrete, categorical, "discrete", "categorical")):
        both = set(a) & set(b)
        if both:
            raise PushforwardError(f"column {sorted(both)[0]!r} is named both {one} and "
                                   f"{other}; choose one")
    meta = getattr(data, "meta", None) or {}
    labels, dtypes = meta.get("categories", {}), meta.get("dtypes", {})
    for name in discrete:  # numbers with few values: categories written back as numbers
        v = values[names.index(name)]
        if labels.get(name) is not None or v.dtype.kind not in "iuf":
            raise PushforwardError(f"column {name!r} holds words, not numbers: --discrete is "
                                   f"for numeric columns with few values; use --categorical "
                                   f"{name}")
    categorical = [*categorical, *discrete]
    cols = tuple(_infer_column(str(n), v, n in categorical, n in integer, labels.get(n),
                               dtypes.get(n))
                 for n, v in zip(names, values, strict=True))
    shape = tuple(int(s) for s in event_shape) if event_shape is not None else shape
    return Schema(cols, shape or None)


def _table(data: Any, columns: Sequence[str] | None) -> tuple[list, list[str], tuple | None]:
    """(a 1-D array per column, names, event shape or None) of a Source, frame or array."""
    from .source import Source

    shape = None
    if isinstance(data, Source):
        names = list(columns or data.columns)
        x = data.data if data.data is not None else data.draw(
            SAMPLER_ROWS, seed=np.random.default_rng(np.random.SeedSequence([SAMPLER_ROWS])))
        image = data.meta.get("image_shape")
        if image:  # grayscale images (H, W) or colour (C, H, W)
            shape = (1, *image) if len(image) == 2 else tuple(image)
        return [x[:, j] for j in range(x.shape[1])], names, shape
    if type(data).__module__.startswith("pandas"):
        names = list(columns or [str(c) for c in data.columns])
        return [data.iloc[:, j].to_numpy() for j in range(data.shape[1])], names, None
    x = np.asarray(data)
    x = x[:, None] if x.ndim == 1 else x
    names = list(columns or [f"x{j}" for j in range(x.shape[1])])
    return [x[:, j] for j in range(x.shape[1])], names, None


def _infer_column(name: str, v: np.ndarray, categorical: bool, integer: bool,
                  labels: list | None = None, dtype: str | None = None) -> Column:
    numeric = v.dtype.kind in "iuf"
    if numeric and not categorical and labels is None:
        return _numeric_column(name, v, integer, dtype)
    rows = np.flatnonzero(~_missing(v))
    present = v[rows]
    uniques = _uniques(present)
    if labels is not None:  # read as categories: the table holds codes into ``labels``
        if integer:
            raise PushforwardError(f"column {name!r} holds categories ({_few(labels)}), not "
                                   "numbers: it cannot be integer; drop it from --integer")
        if len(uniques) == 1:
            return Column(name, "constant", value=labels[int(uniques[0])],
                          categories=tuple(labels), dtype=dtype)
        return Column(name, "categorical", categories=tuple(labels), dtype=dtype)
    if len(uniques) == 1:  # a fact of the data, whatever an override says
        return Column(name, "constant", value=_plain(uniques[0]), dtype=dtype)
    if categorical or not numeric:
        if len(uniques) > MAX_CATEGORIES:
            raise PushforwardError(f"column {name!r} has {len(uniques):,} distinct values, more "
                                   f"than the {MAX_CATEGORIES:,} categories a map models; leave "
                                   "it out of --categorical (--discrete)")
        return Column(name, "categorical", categories=tuple(_plain(u) for u in uniques),
                      dtype=dtype)
    whole = np.isfinite(present) & (present == np.round(present))
    if integer and not whole.all():
        r = int(np.flatnonzero(~whole)[0])
        raise PushforwardError(f"column {name!r} is named integer but row {rows[r]} holds "
                               f"{_plain(present[r])!r}")
    return Column(name, "integer" if whole.all() and len(present) else "continuous", dtype=dtype)


def _few(labels: list) -> str:
    shown = ", ".join(map(repr, labels[:3]))
    return shown + (", …" if len(labels) > 3 else "")


#: rows per block when a numeric column is scanned (a file larger than memory stays on disk)
BLOCK = 1 << 20


def _numeric_column(name: str, v: np.ndarray, integer: bool, dtype: str | None) -> Column:
    """Constant, integer or continuous, scanned in blocks: the same answer as the distinct
    values would give (one distinct value: min = max), without holding them."""
    lo, hi, present, bad = np.inf, -np.inf, 0, None
    for i in range(0, len(v), BLOCK):
        block = np.asarray(v[i: i + BLOCK])
        keep = ~_missing(block)
        x = block[keep]
        if not len(x):
            continue
        present += len(x)
        lo, hi = min(lo, x.min()), max(hi, x.max())
        whole = np.isfinite(x) & (x == np.round(x))
        if bad is None and not whole.all():
            r = int(np.flatnonzero(~whole)[0])
            bad = (i + int(np.flatnonzero(keep)[r]), x[r])
    if present and lo == hi:  # a fact of the data, whatever an override says
        return Column(name, "constant", value=_plain(np.asarray(lo, dtype=v.dtype)[()]),
                      dtype=dtype)
    if integer and bad is not None:
        raise PushforwardError(f"column {name!r} is named integer but row {bad[0]} holds "
                               f"{_plain(bad[1])!r}")
    return Column(name, "integer" if bad is None and present else "continuous", dtype=dtype)


def _missing(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind == "f":
        return np.isnan(v)
    if v.dtype.kind == "O":
        return np.array([x is None or (isinstance(x, float) and x != x) for x in v], dtype=bool)
    return np.zeros(len(v), dtype=bool)


def _uniques(v: np.ndarray) -> list:
    if v.dtype.kind == "O":  # mixed Python objects: sort by text so numbers and strings mix
        seen = {x: None for x in v.tolist()}
        return sorted(seen, key=lambda x: (type(x).__name__, str(x)))
    return list(np.unique(v))


def _plain(x: Any) -> Any:
    """A JSON-friendly Python scalar from a numpy one."""
    return x.item() if isinstance(x, np.generic) else x
