"""A Parquet file larger than memory, read row group by row group (pyarrow), never whole.

:func:`stream_parquet` opens a file of more than :data:`STREAM_ROWS` rows whose chosen columns
are all numbers as :class:`ParquetRows`: an (n, d) float64 table that reads the row groups a
request touches (the last one kept, so a scan decodes each group once). Learned methods draw
their minibatches from it through :class:`~pushforward.data.rows.PoolBatches` (a pool of row
groups in memory, renewed as training goes), as Parquet has no cheap random access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["STREAM_ROWS", "ParquetRows", "stream_parquet"]

#: Rows above which a numeric Parquet file is read by row group, not loaded (2²²: 32 MB a
#: float64 column).
STREAM_ROWS = 1 << 22


class ParquetRows:
    """The chosen columns of a Parquet file as an (n, d) float64 table read by row group.

    Indexing by a slice, an integer array or ``[:, j]`` (a one-column view, nothing read)
    returns float64 arrays; missing values are NaN.

    Example:
        >>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.parquet"
        >>> pq.write_table(pa.table({"a": [1.0, 2, 3, 4, 5], "b": [5, 6, 7, 8, 9]}), p,
        ...                row_group_size=2)
        >>> t = ParquetRows(p, ["b", "a"])
        >>> t.shape, t.groups, t[[4, 0]].tolist(), t[:, 0][1:3].tolist()
        ((5, 2), 3, [[9.0, 5.0], [5.0, 1.0]], [6.0, 7.0])
    """

    def __init__(self, path: str | Path, columns: list[str], *, column: bool = False):
        import pyarrow.parquet as pq

        self.path, self.columns, self.column = Path(path), list(columns), column
        self._file = pq.ParquetFile(self.path)
        meta = self._file.metadata
        sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        n = int(self.starts[-1])
        self.shape = (n,) if column else (n, len(self.columns))
        self.ndim, self.dtype = len(self.shape), np.dtype(np.float64)
        self._cached: tuple[int, np.ndarray] | None = None

    @property
    def groups(self) -> int:
        return len(self.starts) - 1

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ParquetRows({self.path.name}, {self.shape[0]:,} rows, {self.groups} groups)"

    def group(self, g: int) -> np.ndarray:
        """Row group g as a (rows, d) float64 array (the last group read is kept)."""
        if self._cached is None or self._cached[0] != g:
            import pyarrow as pa

            table = self._file.read_row_group(g, columns=self.columns)
            cols = [table.column(c).cast(pa.float64()).to_numpy() for c in self.columns]
            self._cached = (g, np.column_stack(cols) if cols else np.empty((0, 0)))
        return self._cached[1]

    def rows(self, idx: Any) -> np.ndarray:
        """Rows ``idx`` (any order), reading each row group they touch once."""
        idx = np.asarray(idx, dtype=np.int64)
        idx = np.where(idx < 0, idx + len(self), idx)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        out = np.empty((len(idx), len(self.columns)))
        group = np.searchsorted(self.starts, idx, side="right") - 1
        for g in np.unique(group).tolist():
            at = group == g
            out[at] = self.group(g)[idx[at] - self.starts[g]]
        return out[:, 0] if self.column else out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            rows, col = key
            if rows == slice(None) and np.ndim(col) == 0 and not self.column:
                return ParquetRows(self.path, [self.columns[int(col)]], column=True)
            return self[rows][:, col]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            return self.rows(np.arange(start, stop, step))
        if np.ndim(key) == 0:
            return self.rows([int(key)])[0]
        key = np.asarray(key)
        return self.rows(np.flatnonzero(key) if key.dtype == bool else key)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self[:]  # every row: only for data that fits in memory
        return a if dtype is None else a.astype(dtype, copy=False)


def stream_parquet(path: Path, names: list[str]) -> ParquetRows | None:
    """The file as :class:`ParquetRows` when it has more than :data:`STREAM_ROWS` rows and the
    columns ``names`` all hold numbers (integers or floats); else None (read it whole)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    if f.metadata.num_rows <= STREAM_ROWS:
        return None
    schema = f.schema_arrow
    if not all(pa.types.is_integer(schema.field(n).type) or pa.types.is_floating(
            schema.field(n).type) for n in names):
        return None
    return ParquetRows(path, names)
