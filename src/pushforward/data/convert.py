"""A large numeric CSV converted once to Parquet, so that it is read by row group afterwards.

A delimited text file of more than :data:`CONVERT_BYTES` is streamed through pyarrow's CSV
reader into ``NAME.parquet`` beside it (``big.csv`` → ``big.csv.parquet``; row groups of
2²⁰ rows, every column float64), with a progress bar and a line saying so on standard error.
The Parquet file records the text file's size and modification time: while they are unchanged
later fits read it instead, and a changed CSV is converted again. A file with a column that is
not numbers (categories, words), a whitespace-delimited or compressed file, or a folder that
cannot be written to, is read as before (whole, by pandas).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CONVERT_BYTES", "converted_csv"]

#: Size above which a delimited text file is converted to Parquet (256 MB: pandas needs
#: several times a file's size in memory to read it).
CONVERT_BYTES = 1 << 28

#: Rows per row group of the converted file.
GROUP_ROWS = 1 << 20

_KEY = b"pushforward.source"


def converted_csv(path: Path, sep: str, header: bool, names: list[str]) -> Path | None:
    """The Parquet copy of a large numeric text file (made now if needed), or None.

    Arguments:
        path: the text file.
        sep: its one-character delimiter (None for whitespace: not converted).
        header: whether its first row holds the column names ``names``.
        names: the column names.
    """
    if (path.stat().st_size <= CONVERT_BYTES or sep is None or len(sep) != 1
            or path.suffix.lower() in (".gz", ".bz2", ".xz")):
        return None
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    out = path.with_name(path.name + ".parquet")
    stamp = _stamp(path)
    if out.exists() and _recorded(out) == stamp:
        print(f"{path}: reading its Parquet copy {out.name} (made from this file before)",
              file=sys.stderr)
        return out
    try:
        return _convert(path, out, sep, header, names, stamp)
    except (OSError, ValueError) as e:  # pyarrow's errors are ValueErrors (ArrowInvalid ...)
        print(f"{path}: not converted to Parquet ({str(e).splitlines()[0][:120]}); "
              "reading it whole", file=sys.stderr)
        return None


def _stamp(path: Path) -> bytes:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}".encode()


def _recorded(out: Path) -> bytes | None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(out).metadata or {}
    except (OSError, ValueError):
        return None
    return meta.get(_KEY)


def _convert(path: Path, out: Path, sep: str, header: bool, names: list[str],
             stamp: bytes) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    size = path.stat().st_size
    console = Console(stderr=True)
    console.print(f"{path} is {size / 1e9:.2f} GB of text: converting it once to Parquet "
                  f"({out.name}); fits read that file by row group from now on")
    schema = pa.schema([(n, pa.float64()) for n in names], metadata={_KEY: stamp})
    read = pcsv.ReadOptions(column_names=names, skip_rows=int(header),
                            block_size=1 << 24, encoding="utf8")
    convert = pcsv.ConvertOptions(column_types={n: pa.float64() for n in names})
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(path, "rb") as f, Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                TimeRemainingColumn(), console=console) as bar, pq.ParquetWriter(
                    tmp, schema) as writer:
            task = bar.add_task("to Parquet", total=size)
            reader = pcsv.open_csv(f, read_options=read,
                                   parse_options=pcsv.ParseOptions(delimiter=sep),
                                   convert_options=convert)
            for chunk in reader:
                writer.write_table(pa.Table.from_batches([chunk]).cast(schema),
                                   row_group_size=GROUP_ROWS)
                bar.update(task, completed=f.tell())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
