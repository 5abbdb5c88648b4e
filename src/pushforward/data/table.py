"""Mixed-type tables: pandas columns of any kind ↔ the float table every map works on.

Reading (:func:`read_frame`): numeric columns are read as numbers; string, boolean and pandas
categorical columns become *categorical*: the float table holds each row's category code
(0, 1, ... into the column's categories, in a stable order: a pandas categorical's own order,
``False, True`` for booleans, else sorted) and ``meta["categories"]`` the labels. Each column's
pandas dtype is kept (``meta["dtypes"]``) so that samples come back with the same dtypes
(:func:`to_frame`). A string column whose values are mostly unique (IDs, free text) is not a
set of categories: it is dropped with a one-line warning, unless named categorical.

Example:
    >>> import pandas as pd
    >>> f = pd.DataFrame({"n": [1, 2, 3, 4], "s": ["b", "a", "b", "b"]})
    >>> t = read_frame(f, ["n", "s"], "f", str)
    >>> t.values[:, 1].tolist(), t.categories, t.dtypes
    ([1.0, 0.0, 1.0, 1.0], {'s': ['a', 'b']}, {'n': 'int64', 's': 'str'})
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import PushforwardError

#: Categories a column may have (a one-hot block of this width per column).
MAX_CATEGORIES = 1000
#: A string column with more than this share of distinct values is an ID or free text.
UNIQUE_SHARE = 0.5
#: ... provided it has at least this many distinct values (a 4-row table is not all IDs).
UNIQUE_MIN = 20
#: Pandas dtypes whose columns the float table holds as category codes.
CODED_DTYPES = ("object", "string", "str", "bool", "boolean", "category")
#: Pandas dtypes a schema may record for a column (a model file may ask for no other).
DTYPES = (*CODED_DTYPES, "float64", "float32", "int64", "int32", "int16", "int8", "uint8",
          "uint16", "uint32", "uint64", "Int64", "Int32", "Int16", "Int8", "Float64")


@dataclass
class Table:
    """A frame read into floats: ``values`` (n, d), ``names``, and per coded column its
    ``categories`` labels; ``dtypes`` the pandas dtype of every column; ``dropped`` the
    high-cardinality string columns left out."""

    values: np.ndarray
    names: list[str]
    categories: dict[str, list] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def read_frame(frame, names: list[str], where: str, locate: Callable[[int], str], *,
               categorical: Iterable[str] = (), hint: str = "") -> Table:
    """The float table of a DataFrame's columns (named ``names``); see the module docstring.

    Raises:
        PushforwardError: a column that is all missing, a column mixing numbers and words
            (naming the row and value) without ``categorical``, or a categorical column with
            more than ``MAX_CATEGORIES`` categories.
    """
    categorical = set(categorical or ())
    out = np.empty(frame.shape, dtype=np.float64)
    table = Table(out, list(names))
    keep = []
    for j, name in enumerate(names):
        col = frame.iloc[:, j]
        table.dtypes[name] = str(col.dtype)
        if col.isna().all() and len(col):
            raise PushforwardError(f"{where}: column {name!r} is empty (every value is "
                                   "missing); leave it out with --columns")
        labels = _labels(col, name, name in categorical, where, locate, hint)
        if labels is None:
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        elif _identifier(labels, col, name in categorical):
            table.dropped.append(name)
            continue
        else:
            _check_size(len(labels), name, where)
            table.categories[name] = [_plain(x) for x in labels]
            out[:, j] = _codes(col, labels)
        keep.append(j)
    if table.dropped:
        shown = ", ".join(table.dropped)
        print(f"warning: {where}: column{'s' * (len(table.dropped) > 1)} {shown} left out: "
              "mostly unique strings (an ID or free text) are not categories; choose columns "
              "with --columns", file=sys.stderr)
        table.values = np.ascontiguousarray(out[:, keep])
        table.names = [names[j] for j in keep]
        table.dtypes = {n: table.dtypes[n] for n in table.names}
    return table


def _labels(col, name: str, named: bool, where: str, locate, hint: str) -> list | None:
    """The column's categories, or None for a numeric column."""
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if isinstance(col.dtype, pd.CategoricalDtype):
        return list(col.cat.categories)
    if is_bool_dtype(col.dtype):
        return [False, True]
    if is_numeric_dtype(col.dtype):  # named categorical: the schema takes its values
        return None
    present = col.dropna()
    if named:
        return _sorted(present.astype(str).unique())
    num = pd.to_numeric(present, errors="coerce")
    words = num.isna().to_numpy()
    if not words.any():  # numbers read as text (e.g. an object column of numeric strings)
        return _sorted(present.astype(str).unique()) if named else None
    if words.all():
        return _sorted(present.astype(str).unique())
    # a mix: name the first cell of the rarer kind (a stray word among numbers, or vice versa)
    odd = words if words.mean() <= 0.5 else ~words
    i = int(np.flatnonzero(odd)[0])
    row = int(np.flatnonzero(col.notna().to_numpy())[i])
    raise PushforwardError(f"{where}: {locate(row)}, column {name!r}: {present.iloc[i]!r} "
                           f"mixes numbers and words; pass --categorical {name} (categorical="
                           f"[{name!r}]) to treat its values as categories{hint}")


def _identifier(labels: list, col, named: bool) -> bool:
    """Mostly unique strings: an ID or free text, not a set of categories."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    text = is_object_dtype(col.dtype) or is_string_dtype(col.dtype)
    return (not named and text and len(labels) >= UNIQUE_MIN
            and len(labels) > UNIQUE_SHARE * col.notna().sum())


def _check_size(k: int, name: str, where: str) -> None:
    if k > MAX_CATEGORIES:
        raise PushforwardError(f"{where}: column {name!r} has {k:,} categories, more than the "
                               f"{MAX_CATEGORIES:,} a map models; leave it out with --columns")


def _codes(col, labels: list) -> np.ndarray:
    """Each row's index into ``labels`` (NaN where missing)."""
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.float64)
        return np.where(codes < 0, np.nan, codes)
    present = col.notna().to_numpy()
    keys = col.astype(str) if isinstance(labels[0], str) and not isinstance(
        labels[0], bool) else col
    lookup = {x: i for i, x in enumerate(labels)}
    out = np.full(len(col), np.nan)
    out[present] = [lookup[x] for x in keys[present]]
    return out


def _sorted(values: Any) -> list:
    """Distinct values in a stable order: sorted (numbers numerically, else as text)."""
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def to_frame(x: np.ndarray, schema) -> Any:
    """A DataFrame of float-table rows ``x`` with the schema's column names and dtypes.

    Category codes become their labels (pandas categoricals, booleans or strings as read),
    integer columns integers (a nullable ``Int64`` where values are missing), missing values
    NaN / ``<NA>``.

    Example:
        >>> from pushforward.data.schema import Column, Schema
        >>> s = Schema((Column("n", "integer", dtype="int64"),
        ...             Column("s", "categorical", categories=("a", "b"), dtype="object")))
        >>> f = to_frame(np.array([[1.0, 1.0], [3.0, 0.0]]), s)
        >>> f["s"].tolist(), [str(t) for t in f.dtypes]
        (['b', 'a'], ['int64', 'object'])
    """
    import pandas as pd

    data = {}
    for j, c in enumerate(schema.columns):
        data[c.name] = _column(np.asarray(x[:, j], dtype=np.float64), c, pd)
    return pd.DataFrame(data, columns=[c.name for c in schema.columns])


def _column(v: np.ndarray, c, pd) -> Any:
    missing = np.isnan(v)
    dtype = c.dtype or ("float64" if c.kind == "continuous" else None)
    if coded(c):
        labels = list(c.categories or (c.value,))
        codes = np.where(missing, -1, np.clip(np.nan_to_num(v), 0, len(labels) - 1)).astype(int)
        if dtype == "category":
            return pd.Categorical.from_codes(codes, categories=labels)
        values = np.array(labels, dtype=object)[np.maximum(codes, 0)]
        values[missing] = None
        if dtype in ("bool", "boolean"):
            return pd.array(values, dtype="boolean" if missing.any() else "bool")
        return pd.array(values, dtype=dtype) if dtype in ("string", "str") else pd.Series(
            values, dtype=object)
    if c.kind == "integer" or (dtype and dtype[0] in "iuI"):
        v = np.round(v)
        if dtype and dtype[0] in "fF":  # whole numbers read as floats stay floats
            return v.astype(dtype)
        if dtype and dtype[0] in "iu" and not missing.any():
            return v.astype(dtype)
        return pd.array([None if m else int(t) for t, m in zip(v, missing, strict=True)],
                        dtype="Int64")
    return v.astype(dtype if dtype and dtype[0] in "fF" else "float64")


def align(source, schema):
    """``source`` with its category codes re-indexed to ``schema``'s categories.

    Data read on their own (held-out rows given to ``evaluate``) may lack a category or list
    them in another order, so their codes differ from the model's; labels are what match.

    Raises:
        PushforwardError: a column holds a category the model's schema does not have.

    Example:
        >>> from pushforward.data.source import Source
        >>> from pushforward.data.schema import Column, Schema
        >>> s = Source(name="d", columns=["s"], data=np.array([[0.0], [1.0]]),
        ...            meta={"categories": {"s": ["b", "c"]}})
        >>> schema = Schema((Column("s", "categorical", categories=("a", "b", "c"),
        ...                         dtype="object"),))
        >>> align(s, schema).data.ravel().tolist()
        [1.0, 2.0]
    """
    cats = source.meta.get("categories") or {}
    if schema is None or not cats or source.data is None or source.columns != schema.names:
        return source
    data, labels = None, dict(cats)
    for j, c in enumerate(schema.columns):
        have = cats.get(c.name)
        if have is None or not coded(c) or list(have) == list(c.categories or ()):
            continue
        lookup = {x: i for i, x in enumerate(c.categories or ())}
        new = [x for x in have if x not in lookup]
        if new:
            raise PushforwardError(f"{source.name}: column {c.name!r} holds {new[0]!r}, a "
                                   "category the model was not fitted on")
        data = np.array(source.data, dtype=np.float64) if data is None else data
        col, table = data[:, j], np.array([lookup[x] for x in have], dtype=np.float64)
        present = ~np.isnan(col)
        col[present] = table[col[present].astype(int)]
        labels[c.name] = list(c.categories)
    if data is None:
        return source
    return replace(source, data=data, meta={**source.meta, "categories": labels})


def coded(column) -> bool:
    """Whether the float table holds ``column`` as category codes (labels in the schema)."""
    return column.dtype in CODED_DTYPES and column.kind in ("categorical", "constant")
