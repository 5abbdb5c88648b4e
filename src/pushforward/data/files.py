"""Data files: CSV/TSV/plain text, ``.npy``, ``.npz`` and Parquet, read into a float64 (n, d) array.

Text files: the delimiter comes from the extension (``.csv`` comma, ``.tsv``/``.tab`` tab),
otherwise it is sniffed (comma, tab, semicolon, bar, else whitespace; a ``.txt`` file with one
number per line is the one-column case). A first row with any non-numeric cell is a header.
``.gz``, ``.bz2`` and ``.xz`` compressed text files are read as well. Columns without a header
are named ``x`` (one column) or ``x0, x1, ...``.

Every problem is one :class:`~pushforward.errors.PushforwardError` line naming the file and,
where there is one, the row, the column and the value. Text files name the data row as a user
counts it (1 = first row below the header) and its line in the file; binary formats and
in-memory arrays name the 0-based row index. Checks are vectorised; only the first bad cell is
searched for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._limits import MAX_COLUMNS, MAX_MAGNITUDE
from ..errors import PushforwardError
from .convert import converted_csv
from .parquet import ParquetRows, stream_parquet
from .source import Source
from .table import read_frame

ColumnsLike = str | int | Sequence[str | int] | None
Locate = Callable[[int], str]

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None, ".dat": None}
COMPRESSED = (".gz", ".bz2", ".xz")
_WHITESPACE = r"\s+"


def load_file(path: str | os.PathLike, *, columns: ColumnsLike = None, key: str | None = None,
              dropna: bool = False, categorical: Sequence[str] = ()) -> Source:
    """A finite :class:`Source` from a data file (format by extension, text when unknown).

    Arguments:
        path: a ``.csv``, ``.tsv``, ``.txt``, ``.npy``, ``.npz`` or ``.parquet`` file.
        columns: names or 0-based indices, a list or the CLI's ``"a,b"``; None keeps all.
        key: the array inside an ``.npz`` (optional when it holds exactly one).
        dropna: skip rows with a missing, NaN or infinite value instead of failing
            (``meta["dropped_rows"]`` counts them).
        categorical: text and Parquet columns whose values are categories even where some
            look like numbers (:func:`pushforward.data.table.read_frame`).

    Returns:
        A Source with ``data`` (n, d) float64, ``columns`` and ``meta`` (file, format, rows;
        for tables ``categories``, the labels of columns held as category codes, and
        ``dtypes``, each column's pandas dtype).
        A float32 or float64 ``.npy`` read whole is memory-mapped (``numpy.memmap``, read-only,
        its own dtype): rows are read from disk as they are used.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("a,b,label\\n1,2,x\\n3,4,y\\n")
        >>> s = load_file(p, columns="b,a")
        >>> s.columns, s.data.tolist()
        (['b', 'a'], [[2.0, 1.0], [4.0, 3.0]])
        >>> s = load_file(p)
        >>> s.data[:, 2].tolist(), s.meta["categories"]
        ([0.0, 1.0], {'label': ['x', 'y']})
    """
    data, names, meta = read_table(path, columns=columns, key=key, dropna=dropna,
                                   categorical=categorical)
    return Source(name=str(path), columns=names, data=data, spec=str(path), meta=meta)


def read_table(path: str | os.PathLike, *, columns: ColumnsLike = None, key: str | None = None,
               dropna: bool = False, categorical: Sequence[str] = ()
               ) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """The (n, d) float64 array, the column names and facts about the file (see load_file)."""
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise PushforwardError(f"{where}: no such file")
    if path.is_dir():
        raise PushforwardError(f"{where}: is a folder, not a data file")
    if not os.access(path, os.R_OK):
        raise PushforwardError(f"{where}: cannot read (permission denied)")
    if path.stat().st_size == 0:
        raise PushforwardError(f"{where}: file is empty")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        values, names, meta = _read_npy(path, where)
    elif suffix == ".npz":
        values, names, meta = _read_npz(path, where, key)
        where = f"{where}[{meta['key']}]"
    elif suffix in (".parquet", ".pq"):
        return _read_parquet(path, where, columns, dropna, categorical)
    else:
        return _read_text(path, where, columns, dropna, categorical)
    pick = select_columns(names, columns, where)
    if pick != list(range(values.shape[1])):  # a memory-mapped file stays mapped when whole
        values = values[:, pick]
    data, dropped = check_values(values, [names[j] for j in pick], where,
                                 lambda i: f"row index {i}", dropna=dropna)
    meta.update(file=where, rows=len(data), dropped_rows=dropped)
    return data, [names[j] for j in pick], meta


# ------------------------------------------------------------------------ shared checks
def default_names(d: int) -> list[str]:
    """``["x"]`` for one column, else ``["x0", "x1", ...]``."""
    return ["x"] if d == 1 else [f"x{j}" for j in range(d)]


def parse_columns(columns: ColumnsLike) -> list[str | int] | None:
    """The CLI's ``"a,b"`` or ``"0,2"`` as a list; lists and single items pass through.

    Example:
        >>> parse_columns("a, 2"), parse_columns(["a", 1]), parse_columns(None)
        (['a', '2'], ['a', 1], None)
    """
    if columns is None:
        return None
    if isinstance(columns, str):
        return [c.strip() for c in columns.split(",") if c.strip()]
    if isinstance(columns, (int, np.integer)):
        return [int(columns)]
    return [int(c) if isinstance(c, np.integer) else c for c in columns]


def select_columns(names: list[str], columns: ColumnsLike, where: str) -> list[int]:
    """0-based indices of the requested columns: by name first, else by 0-based index.

    Example:
        >>> select_columns(["a", "b", "c"], "c,0", "f.csv")
        [2, 0]
    """
    items = parse_columns(columns)
    if items is None:
        return list(range(len(names)))
    if not items:
        raise PushforwardError(f"{where}: no columns selected; available: {_listing(names)}")
    pick = []
    for item in items:
        if isinstance(item, str) and item in names:
            pick.append(names.index(item))
        elif isinstance(item, int) or (isinstance(item, str) and re.fullmatch(r"\d+", item)):
            j = int(item)
            if not 0 <= j < len(names):
                raise PushforwardError(f"{where}: column index {j} out of range; there are"
                                       f" {len(names)} columns (0..{len(names) - 1})")
            pick.append(j)
        else:
            raise PushforwardError(
                f"{where}: unknown column {item!r}; available: {_listing(names)}")
    return pick


def _listing(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} columns)"


def check_values(values: np.ndarray, names: list[str], where: str, locate: Locate, *,
                 dropna: bool = False) -> tuple[np.ndarray, int]:
    """A float64 (n, d) array with at least 2 rows, and the number of rows dropped.

    Missing values (NaN) are kept: the map models them (a missing indicator per column with
    gaps, :class:`pushforward.data.codec.Missing`), unless ``dropna`` drops their rows. An
    infinite value fails with its row (``locate(i)``), column and value (or is dropped with
    ``dropna``); so does a column that is all missing.
    A memory-mapped float32/float64 file (a ``.npy``) is scanned in blocks and kept as it is,
    on disk, when every value is finite.

    Example:
        >>> check_values(np.array([[1.0], [np.nan], [2.0]]), ["x"], "a", str, dropna=True)[1]
        1
        >>> x, _ = check_values(np.array([[1.0, 2.0], [np.nan, 3.0]]), ["x", "y"], "a", str)
        >>> bool(np.isnan(x[1, 0]))
        True
    """
    if _on_disk(values):
        first, top = _scan(values)
        if first is None:  # all finite: the file stays on disk, read as it is used
            check_rows(len(values), where)
            _check_top(top, names, where)
            return values, 0
    values = np.asarray(values, dtype=np.float64)  # gaps or infinities: checked in memory
    empty = np.isnan(values).all(axis=0) if len(values) else np.zeros(values.shape[1], bool)
    if empty.any() and len(values) > 1:
        raise PushforwardError(f"{where}: column {names[int(np.argmax(empty))]!r} is empty "
                               "(every value is missing); leave it out with --columns")
    bad = ~np.isfinite(values) if dropna else np.isinf(values)
    bad_rows = bad.any(axis=1)
    dropped = 0
    if bad_rows.any():
        i = int(np.argmax(bad_rows))
        if not dropna:
            _not_finite(values[i], i, names, where, locate)
        dropped = int(bad_rows.sum())
        values = values[~bad_rows]
    check_rows(len(values), where, dropped)
    check_magnitude(values, names, where)
    return np.ascontiguousarray(values), dropped


def check_magnitude(values: np.ndarray, names: list[str], where: str) -> None:
    """Refuse values so large that differences, squares or means overflow float64.

    Every method subtracts, squares or averages the data (a standard deviation squares it), so
    |x| must stay below :data:`MAX_MAGNITUDE` (1e150, whose square is still finite).

    Example:
        >>> check_magnitude(np.array([[1.0], [5e307]]), ["x"], "h.csv")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: h.csv: column 'x': values up to 5e+307 are too ...
    """
    if values.size:
        _check_top(np.abs(values).max(axis=0), names, where)


def _check_top(top: np.ndarray, names: list[str], where: str) -> None:
    if not top.size:
        return
    j = int(np.argmax(top))
    if top[j] > MAX_MAGNITUDE:
        raise PushforwardError(
            f"{where}: column {names[j]!r}: values up to {top[j]:.3g} are too large for float64 "
            f"arithmetic (|x| must stay below {MAX_MAGNITUDE:.0e}); rescale the column, e.g. "
            f"divide it by {10.0 ** np.floor(np.log10(top[j])):.0e}")


def check_width(d: int, where: str, *, at_least: bool = False) -> None:
    """Refuse more columns than any method handles (a copula holds a d × d matrix).

    ``at_least``: ``d`` was counted on the start of a row too long to read whole.
    """
    if d > MAX_COLUMNS:
        more = "more than " if at_least else ""
        raise PushforwardError(f"{where}: {more}{d:,} columns, above the limit of "
                               f"{MAX_COLUMNS:,}; choose some with columns= (--columns)")


#: rows per block when a memory-mapped file is scanned (2-D float32: 8 MB a block)
SCAN_ROWS = 1 << 20


def _on_disk(values: np.ndarray) -> bool:
    """A memory-mapped float array, kept as it is (in its own float dtype), or a Parquet file
    read by row group."""
    return isinstance(values, ParquetRows) or (
        isinstance(values, np.memmap) and values.dtype in (np.float32, np.float64))


def _scan(values: np.ndarray) -> tuple[int | None, np.ndarray]:
    """The first row with a NaN or infinite value (None: none) and each column's largest
    magnitude, scanned in blocks (bounded memory)."""
    top = np.zeros(values.shape[1])
    for i in range(0, len(values), SCAN_ROWS):
        block = values[i: i + SCAN_ROWS]
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            return i + int(np.argmax(bad)), top
        if len(block):
            top = np.maximum(top, np.abs(block).max(axis=0))
    return None, top


def _not_finite(row: np.ndarray, i: int, names: list[str], where: str, locate: Locate):
    """An infinite value (missing ones are modelled) as one line naming row and column."""
    j = int(np.argmax(np.isinf(row)))
    raise PushforwardError(f"{where}: {locate(i)}, column {names[j]!r}: value {row[j]} is not "
                           "finite; pass dropna=True (--dropna) to skip such rows")


def check_rows(n: int, where: str, dropped: int = 0) -> None:
    """At least 2 rows are needed to learn anything."""
    after = f" after dropping {dropped} rows with missing or non-finite values" if dropped else ""
    if n == 0:
        raise PushforwardError(f"{where}: no data rows{after}")
    if n == 1:
        raise PushforwardError(f"{where}: only 1 row of data{after}; need at least 2 rows")


def check_array(values: Any, where: str) -> tuple[np.ndarray, list[str] | None]:
    """A numeric array of ndim 1 (→ (n, 1)) or 2, and the field names of a structured array.

    Example:
        >>> check_array(np.arange(3), "a")[0].shape
        (3, 1)
    """
    values = np.asanyarray(values)  # a memory-mapped file stays one
    names = None
    if values.dtype.names:
        names = list(values.dtype.names)
        values = np.stack([np.asarray(values[f]) for f in names], axis=-1)
    if values.dtype.kind not in "biuf":
        kind = "objects" if values.dtype.kind == "O" else f"values of dtype {values.dtype}"
        raise PushforwardError(f"{where}: holds {kind}; need numbers")
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise PushforwardError(f"{where}: array of shape {values.shape}; need 1-D (n,) or 2-D"
                               " (n, d) data, one row per sample")
    if values.shape[1] == 0:
        raise PushforwardError(f"{where}: array of shape {values.shape} has no columns")
    check_width(values.shape[1], where)


    if _on_disk(values) and names is None:  # float32 or float64 on disk: no copy in memory
        return values, names
    return values.astype(np.float64, copy=False), names


def frame_values(frame, names: list[str], where: str, locate: Locate, *,
                 hint: str = "") -> np.ndarray:
    """A DataFrame's cells as float64; the first non-numeric cell fails with row and column."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    out = np.empty(frame.shape, dtype=np.float64)
    first: tuple[int, int, Any] | None = None
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if is_numeric_dtype(col.dtype):
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        num = pd.to_numeric(col, errors="coerce")
        bad = num.isna().to_numpy() & col.notna().to_numpy()
        if bad.any() and (first is None or int(np.argmax(bad)) < first[0]):
            i = int(np.argmax(bad))
            first = (i, j, col.iloc[i])
        out[:, j] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    if first is not None:
        i, j, value = first
        raise PushforwardError(
            f"{where}: {locate(i)}, column {names[j]!r}: {value!r} is not a number{hint}")
    return out


# ------------------------------------------------------------------------ text files
def _opener(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip
        return gzip.open
    if suffix == ".bz2":
        import bz2
        return bz2.open
    if suffix == ".xz":
        import lzma
        return lzma.open
    return open


HEAD_SIZE = 1 << 16  # characters read to sniff a text file's delimiter and header


def _head(path: Path, where: str, size: int = HEAD_SIZE) -> list[str]:
    """The first non-blank lines of a text file (up to ``size`` characters)."""
    try:
        with _opener(path)(path, "rt", encoding="utf-8-sig") as f:
            text = f.read(size)
    except UnicodeDecodeError:
        raise PushforwardError(f"{where}: not a UTF-8 text file (nor .npy/.npz/.parquet)") from None
    except (OSError, EOFError) as e:
        raise PushforwardError(f"{where}: cannot read ({e})") from None
    lines = text.splitlines()
    if len(text) == size and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut short
    return [line for line in lines if line.strip()]


def _delimiter(path: Path, lines: list[str]) -> str:
    """By extension when the first line has it (or no other delimiter), else the first of
    , \\t ; | found equally often on every sampled line, else whitespace."""
    name = path.name.lower()
    for c in COMPRESSED:
        name = name.removesuffix(c)
    given = TEXT_SUFFIXES.get(Path(name).suffix)
    sample = lines[:20]
    if given and (given in sample[0] or not any(c in sample[0] for c in ",\t;|")):
        return given
    for sep in (",", "\t", ";", "|"):
        counts = {line.count(sep) for line in sample}
        if len(counts) == 1 and counts.pop() > 0:
            return sep
    return _WHITESPACE


def _line_numbers(path: Path, rows: int, header: bool) -> Locate:
    """``row i+1 (line L)``: the data row as a user counts it and its line in the file."""

    def locate(i: int) -> str:
        target, seen = i + int(header), -1
        try:
            with _opener(path)(path, "rt", encoding="utf-8-sig", errors="replace") as f:
                for lineno, line in enumerate(f, start=1):
                    seen += bool(line.strip())
                    if seen == target:
                        return f"row {i + 1} (line {lineno})"
        except OSError:
            pass
        return f"row {i + 1}"

    return locate


def _read_text(path: Path, where: str, columns: ColumnsLike, dropna: bool,
               categorical: Sequence[str] = ()):
    import pandas as pd

    lines = _head(path, where)
    if not lines:
        raise PushforwardError(f"{where}: file is empty")
    sep = _delimiter(path, lines)
    # before pandas reads the first row: a row of a million fields fails now, not minutes later
    check_width(len(re.split(sep, lines[0].strip())) if sep == _WHITESPACE else
                lines[0].count(sep) + 1, where, at_least=len(lines[0]) >= HEAD_SIZE - 1)
    options = dict(sep=sep, encoding="utf-8-sig", skip_blank_lines=True, engine="c")
    try:
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                            **options).iloc[0].tolist()
        header = not all(_numeric_cell(cell) for cell in first)
        names = [c.strip() or f"unnamed{j}" for j, c in enumerate(first)] if header else (
            default_names(len(first)))
        pick = select_columns(names, columns, where)
        copy = None if categorical else converted_csv(
            path, None if sep == _WHITESPACE else sep, header, names)
        if copy is not None:  # a large numeric file: its Parquet copy, read by row group
            data, chosen, meta = _read_parquet(copy, where, columns, dropna)
            return data, chosen, {**meta, "converted": str(copy)}
        # No usecols: with it pandas silently ignores extra fields on a malformed row.
        frame = pd.read_csv(path, header=0 if header else None, **options)
    except pd.errors.ParserError as e:
        raise PushforwardError(f"{where}: {_parser_message(e)}") from None
    except pd.errors.EmptyDataError:
        raise PushforwardError(f"{where}: file is empty") from None
    except UnicodeDecodeError:
        raise PushforwardError(f"{where}: not a UTF-8 text file") from None
    if frame.shape[0] == 0:
        raise PushforwardError(f"{where}: header only, no data rows")
    frame = frame.iloc[:, pick]
    chosen = [names[j] for j in pick]
    locate = _line_numbers(path, len(frame), header)
    hint = "; or choose columns with columns= (--columns)" if columns is None else ""
    table = read_frame(frame, chosen, where, locate, categorical=categorical, hint=hint)
    data, dropped = check_values(table.values, table.names, where, locate, dropna=dropna)
    meta = dict(file=where, format="text", delimiter=sep, header=header, rows=len(data),
                dropped_rows=dropped, **table_meta(table))
    return data, table.names, meta


def table_meta(table) -> dict[str, Any]:
    """A read table's ``categories``, ``dtypes`` and left-out columns, for a Source's meta."""
    meta: dict[str, Any] = {"categories": table.categories, "dtypes": table.dtypes}
    if table.dropped:
        meta["left_out"] = table.dropped
    return meta


def _numeric_cell(cell: str) -> bool:
    """A number, or empty / NA (a data row with a gap is not a header)."""
    cell = cell.strip()
    if cell.lower() in ("", "na", "n/a", "null"):
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parser_message(e: Exception) -> str:
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
    if m:
        return f"line {m[2]} has {m[3]} fields, expected {m[1]}"
    return "cannot parse as a delimited text file (" + str(e).strip().splitlines()[0] + ")"


# ------------------------------------------------------------------------ binary files
def _read_npy(path: Path, where: str):
    # Memory-mapped: a float32/float64 file stays on disk and rows are read as they are used
    # (a learned fit draws its minibatches from it), so data larger than memory can be fitted.
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":  # else np.load would try to unpickle it
            raise PushforwardError(f"{where}: not a valid .npy file")
    try:
        raw = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e) or "object" in str(e):
            raise PushforwardError(f"{where}: holds Python objects (object dtype); need a"
                                   " numeric array") from None
        raise PushforwardError(f"{where}: not a valid .npy file") from None
    except (OSError, EOFError):
        raise PushforwardError(f"{where}: not a valid .npy file") from None
    if not isinstance(raw, np.ndarray):
        raise PushforwardError(f"{where}: not a .npy array file")
    values, names, meta = _array(raw, where)
    return values, names, {"format": "npy", **meta}


def _array(raw: np.ndarray, where: str) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """(values, names, meta) of an array: a table, or images (n, H, W) / (n, H, W, C) read
    channel first with ``meta["image_shape"]`` (:mod:`pushforward.data.images`)."""
    if raw.ndim in (3, 4) and not raw.dtype.names:
        from .images import image_array

        x = image_array(raw, where)
        n, c, h, w = x.shape
        check_width(c * h * w, where)
        return x.reshape(n, -1), [f"px{j}" for j in range(c * h * w)], {
            "image_shape": [h, w] if c == 1 else [c, h, w]}
    values, fields = check_array(raw, where)
    return values, fields or default_names(values.shape[1]), {}


def _read_npz(path: Path, where: str, key: str | None):
    import zipfile

    if not zipfile.is_zipfile(path):  # else np.load would try to unpickle it
        raise PushforwardError(f"{where}: not a valid .npz file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if not keys:
                raise PushforwardError(f"{where}: holds no arrays")
            if key is None and len(keys) > 1:
                raise PushforwardError(f"{where}: holds {len(keys)} arrays; choose one with"
                                       f" key= (--key): {', '.join(keys)}")
            key = keys[0] if key is None else key
            if key not in keys:
                raise PushforwardError(f"{where}: no array {key!r}; keys: {', '.join(keys)}")
            raw = archive[key]
    except PushforwardError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise PushforwardError(f"{where}[{key}]: holds Python objects (object dtype); need"
                                   " a numeric array") from None
        raise PushforwardError(f"{where}: not a valid .npz file") from None
    except (OSError, EOFError, zipfile.BadZipFile):
        raise PushforwardError(f"{where}: not a valid .npz file") from None
    values, names, meta = _array(raw, f"{where}[{key}]")
    return values, names, {"format": "npz", "key": key, **meta}


def _read_parquet(path: Path, where: str, columns: ColumnsLike, dropna: bool,
                  categorical: Sequence[str] = ()):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise PushforwardError(f'{where}: reading Parquet needs pyarrow; pip install'
                               ' "pushforward[parquet]"') from None
    import pyarrow as pa

    try:
        names = list(pq.read_schema(path).names)
        if columns is None:
            check_width(len(names), where)
        pick = select_columns(names, columns, where)
        chosen = [names[j] for j in pick]
        streamed = None if categorical or dropna else stream_parquet(path, chosen)
        if streamed is not None:  # large and numeric: read by row group as it is used
            return _streamed_parquet(streamed, where)
        frame = pq.read_table(path, columns=chosen).to_pandas()
    except (pa.ArrowException, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise PushforwardError(f"{where}: not a readable Parquet file ({first})") from None
    if len(frame) == 0:
        raise PushforwardError(f"{where}: no data rows")
    locate: Locate = lambda i: f"row index {i}"  # noqa: E731
    table = read_frame(frame.iloc[:, list(range(len(chosen)))], chosen, where, locate,
                       categorical=categorical)
    data, dropped = check_values(table.values, table.names, where, locate, dropna=dropna)
    meta = dict(file=where, format="parquet", rows=len(data), dropped_rows=dropped,
                **table_meta(table))
    return data, table.names, meta


def _streamed_parquet(values: ParquetRows, where: str):
    """A large numeric Parquet file checked group by group and kept on disk (finite values);
    with gaps or infinities it is read whole, as any file (check_values)."""
    names = list(values.columns)
    locate: Locate = lambda i: f"row index {i}"  # noqa: E731
    data, dropped = check_values(values, names, where, locate)
    schema = values._file.schema_arrow
    dtypes = {n: np.dtype(schema.field(n).type.to_pandas_dtype()).name for n in names}
    meta = dict(file=where, format="parquet", rows=len(data), dropped_rows=dropped,
                categories={}, dtypes=dtypes, row_groups=values.groups)
    return data, names, meta
