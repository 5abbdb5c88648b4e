"""Write samples to CSV, TSV, NPY or Parquet in chunks, atomically, in bounded memory."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from . import _io
from .errors import PushforwardError

FORMATS = (".csv", ".tsv", ".txt", ".npy", ".parquet")
#: Fewest bytes a value takes in each format (a short number and its separator; Parquet may
#: compress): a request whose smallest size exceeds the free disk is refused before writing.
MIN_BYTES = {".csv": 2, ".tsv": 2, ".txt": 2, ".npy": 8, ".parquet": 1}


def write_samples(
    chunks: Iterable[np.ndarray],
    path: str | os.PathLike | None,
    *,
    n: int,
    columns: list[str],
    force: bool = False,
    schema=None,
) -> None:
    """Stream ``n`` rows arriving in ``chunks`` to ``path`` (CSV to stdout when ``path`` is None).

    The format follows the extension: ``.csv``, ``.tsv``, ``.txt`` (CSV without header),
    ``.npy`` (float64) or ``.parquet`` (needs ``pip install "pushforward[parquet]"``). The file
    appears only when complete.

    With a ``schema`` whose columns are not all continuous, text and Parquet files hold the
    table's types: CSV writes integers as integers, categories as their labels and missing
    values as empty fields; Parquet keeps each column's dtype (``.npy`` keeps the float table,
    categories as codes). With a schema of images (``event_shape`` (C, H, W)), ``.npy`` holds
    an (n, H, W) array for grey images, (n, H, W, C) for colour ones; the other formats one
    row per image, channel first.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.npy"
        >>> write_samples([np.ones((2, 1)), np.zeros((1, 1))], p, n=3, columns=["x"])
        >>> np.load(p).ravel().tolist()
        [1.0, 1.0, 0.0]
    """
    typed = schema is not None and any(c.kind != "continuous" for c in schema.columns)
    if typed:
        chunks = _Frames(chunks, schema)
    if path is None:
        try:
            _write_text(chunks, sys.stdout, columns, ",", header=True)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # the reader left (`| head`): the command line ends quietly
        except OSError as e:  # a full disk behind `> file`, or `> /dev/full`
            raise PushforwardError(f"standard output: cannot write ({e.strerror or e})"
                                   ) from None
        return
    path = _io.check_writable(path, force=force)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise PushforwardError(f"{path}: unknown output format {ext!r}; use one of {FORMATS}")
    _io.check_space(path, n * len(columns) * MIN_BYTES[ext])
    with _io.atomic_path(path) as tmp:
        if ext == ".npy":
            _write_npy(getattr(chunks, "raw", chunks), tmp, n, len(columns),
                       getattr(schema, "event_shape", None))
        elif ext == ".parquet":
            _write_parquet(chunks, tmp, columns)
        else:
            sep = "\t" if ext == ".tsv" else ","
            with open(tmp, "w", newline="") as f:
                _write_text(chunks, f, columns, sep, header=ext != ".txt")


def _write_npy(chunks, tmp: Path, n: int, d: int, event_shape) -> None:
    """The header, then the rows chunk by chunk (memory stays one chunk whatever n is); rows
    that are images (C, H, W) as an (n, H, W) array, or (n, H, W, C) with C > 1."""
    image = event_shape is not None and len(event_shape) == 3
    if image:
        c, h, w = event_shape
        shape = (n, h, w) if c == 1 else (n, h, w, c)
    header = {"descr": "<f8", "fortran_order": False, "shape": shape if image else (n, d)}
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for chunk in chunks:
            if image and c > 1:  # channels last, as image arrays usually are
                chunk = np.asarray(chunk).reshape(len(chunk), c, h, w).transpose(0, 2, 3, 1)
            f.write(np.ascontiguousarray(chunk, dtype="<f8").tobytes())


class _Frames:
    """Chunks of the float table as typed DataFrames (``text``: integers as nullable Int64,
    so a CSV writes ``3``, not ``3.0``); ``.npy`` takes the raw chunks (``raw``)."""

    def __init__(self, chunks, schema):
        self.raw, self.schema, self.text = chunks, schema, False

    def __iter__(self):
        from .data.table import to_frame

        for c in self.raw:
            frame = to_frame(c, self.schema)
            if self.text:
                for col in self.schema.columns:
                    if col.kind == "integer" and frame[col.name].dtype.kind == "f":
                        frame[col.name] = frame[col.name].astype("Int64")
            yield frame


def _write_text(chunks, f, columns, sep, *, header: bool) -> None:
    if isinstance(chunks, _Frames):
        chunks.text = True
        for i, frame in enumerate(chunks):
            frame.to_csv(f, sep=sep, header=header and i == 0, index=False, na_rep="",
                         float_format="%.17g", lineterminator="\n")
        return
    if header:
        f.write(sep.join(columns) + "\n")
    for c in chunks:
        if np.isnan(c).any():  # missing values are empty fields, not "nan"
            import pandas as pd

            pd.DataFrame(c).to_csv(f, sep=sep, header=False, index=False, na_rep="",
                                   float_format="%.17g", lineterminator="\n")
        else:
            np.savetxt(f, c, delimiter=sep, fmt="%.17g")


def _write_parquet(chunks, tmp: Path, columns) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise PushforwardError(
            'writing Parquet needs pyarrow: pip install "pushforward[parquet]"'
        ) from None
    if isinstance(chunks, _Frames):
        writer = None
        for frame in chunks:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
        writer.close()
        return
    schema = pa.schema([(c, pa.float64()) for c in columns])
    with pq.ParquetWriter(tmp, schema) as w:
        for c in chunks:
            w.write_table(pa.Table.from_arrays([pa.array(c[:, j]) for j in range(c.shape[1])],
                                               schema=schema))
