"""Sources of target samples: files, arrays, built-in toy targets, pictures and distribution specs.

:func:`load_source` turns whatever the user names into a :class:`Source`: a finite data set
(``data``), a sampler of fresh i.i.d. draws (``sampler``), and for distribution specs the exact
distribution (``dist``). ``scipy.stats`` is imported on first use of a spec, not here.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PushforwardError
from . import images
from .files import (
    ColumnsLike,
    check_array,
    check_values,
    default_names,
    load_file,
    select_columns,
    table_meta,
)
from .picture import PREFIX as IMAGE_PREFIX
from .picture import load_picture
from .source import Source
from .toys import TARGETS

__all__ = ["load_source", "builtin_source", "parse_distribution", "Mixture", "Source", "TARGETS",
           "load_file", "load_picture", "distribution_source"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def __getattr__(name: str):
    if name in ("parse_distribution", "Mixture"):
        from . import spec

        return getattr(spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_source(x: Any, *, columns: ColumnsLike = None, key: str | None = None,
                dropna: bool = False, categorical: list[str] | None = None,
                size: str | tuple[int, int] | None = None, skip_bad: bool = False) -> Source:
    """A :class:`Source` from data or a name.

    Tried in this order: a Source (returned as is); an array, DataFrame, Series or nested list
    (finite data, a 1-D array becomes (n, 1)); a built-in target (``TARGETS``); ``image:PATH``;
    an image set, ``images:FOLDER`` or ``patches:NAME`` (:mod:`pushforward.data.images`); an
    existing file (a picture when its extension is an image's; an ``.npy``/``.npz`` array
    (n, H, W) or (n, H, W, C) is images); a distribution spec (a sampler, the exact ``dist``
    and ``columns=["x"]``).

    Arguments:
        x: the data or its name.
        columns: keep these columns (names or 0-based indices, a list or ``"a,b"``).
        key: the array inside an ``.npz`` file.
        dropna: skip rows with missing, NaN or infinite values instead of failing.
        size: ``images:FOLDER``: resize every image to this (width, height) or ``"WxH"``.
        skip_bad: ``images:FOLDER``: leave out the files that cannot be read.
        categorical: columns of a file or DataFrame whose values are categories even where
            some look like numbers. String, boolean and pandas categorical columns are
            categories anyway: the data hold their codes, ``meta["categories"]`` the labels
            (:mod:`pushforward.data.table`).

    Returns:
        The Source.

    Raises:
        PushforwardError: one line naming the file, row, column and value, or saying that a
            string is neither a file, a built-in target nor a distribution spec.

    Example:
        >>> load_source("moons").draw(3, seed=0).shape
        (3, 2)
        >>> s = load_source("gamma(a=2)")
        >>> s.columns, round(float(s.dist.cdf(2.0)), 6)
        (['x'], 0.593994)
        >>> load_source([1.0, 2.5, 4.0]).data.shape
        (3, 1)
        >>> load_source("mons.csv")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: 'mons.csv': no such file, and not a built-in ... list`
    """
    if isinstance(x, Source):
        return x
    categorical = list(categorical or ())
    if isinstance(x, os.PathLike):
        return _from_path(Path(x), str(x), columns, key, dropna, categorical)
    if not isinstance(x, str):
        return _from_memory(x, columns, dropna, categorical)
    text = x.strip()
    if text in TARGETS:
        return _keep_columns(TARGETS.get(text)(), columns)
    if text.startswith(IMAGE_PREFIX):
        return _keep_columns(load_picture(text[len(IMAGE_PREFIX):]), columns)
    if text.startswith(images.FOLDER_PREFIX):
        return _keep_columns(images.load_folder(text[len(images.FOLDER_PREFIX):], size=size,
                                                skip_bad=skip_bad), columns)
    if text.startswith(images.PATCHES_PREFIX):
        return _keep_columns(images.load_patches(text[len(images.PATCHES_PREFIX):]), columns)
    if text and _exists(text):
        return _from_path(Path(text), text, columns, key, dropna, categorical)
    return _keep_columns(_from_spec(text), columns)


def _exists(text: str) -> bool:
    """Whether ``text`` names an existing path (a name too long or with a NUL byte does not)."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def builtin_source(name: str) -> Source:
    """A built-in target or a distribution spec by name, never a file or a picture.

    For names that come from somewhere other than the user (a model file's record of its
    data): such a name may not make pushforward read a path.

    Example:
        >>> builtin_source("moons").dim
        2
        >>> builtin_source("/etc/passwd")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: '/etc/passwd' is not a built-in target or ...
    """
    text = name.strip() if isinstance(name, str) else ""
    if text in TARGETS:
        return TARGETS.get(text)()
    if text.startswith(images.PATCHES_PREFIX):  # a picture scikit-image ships: no user path
        return images.load_patches(text[len(images.PATCHES_PREFIX):])
    from .spec import parse_distribution

    try:
        return distribution_source(parse_distribution(text))
    except PushforwardError:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise PushforwardError(f"{shown} is not a built-in target or a distribution spec; "
                               "give the data file again") from None


def distribution_source(dist) -> Source:
    """A 1-D Source that draws from ``dist`` (anything with ``rvs`` and a ``spec``).

    Example:
        >>> from pushforward.data.spec import parse_distribution
        >>> s = distribution_source(parse_distribution("t(df=3)"))
        >>> s.spec, s.draw(4, seed=1).shape
        ('t(df=3)', (4, 1))
    """

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(dist.rvs(size=n, random_state=rng), dtype=np.float64).reshape(n, 1)

    return Source(name=dist.spec, columns=["x"], sampler=sampler, dist=dist, spec=dist.spec,
                  meta={"kind": "distribution"})


def _from_path(path: Path, text: str, columns, key, dropna, categorical=()) -> Source:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _keep_columns(load_picture(path), columns)
    return load_file(path, columns=columns, key=key, dropna=dropna, categorical=categorical)


def _from_spec(text: str) -> Source:
    from .spec import continuous_names, looks_like_call, parse_distribution

    try:
        return distribution_source(parse_distribution(text))
    except PushforwardError:
        if looks_like_call(text):
            raise  # the user meant a spec: its own message says what is wrong
    close = difflib.get_close_matches(text, [*TARGETS, *continuous_names()], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise PushforwardError(f"{text!r}: no such file, and not a built-in target or a distribution"
                           f" spec{hint}; see `pushforward list`")


def _from_memory(x: Any, columns: ColumnsLike, dropna: bool, categorical=()) -> Source:
    """Finite data from an array, DataFrame, Series, tensor or nested list."""
    from .table import read_frame

    kind = type(x).__name__
    locate = lambda i: f"row index {i}"  # noqa: E731
    is_frame = type(x).__module__.startswith("pandas") and x.ndim == 2
    meta: dict[str, Any] = {}
    if type(x).__module__.startswith("pandas"):
        frame = x.to_frame() if x.ndim == 1 else x
        names = [str(c) for c in frame.columns]
        pick = select_columns(names, columns, kind)
        table = read_frame(frame.iloc[:, pick], [names[j] for j in pick], kind, locate,
                           categorical=categorical)
        names, values, meta = table.names, table.values, table_meta(table)
    else:
        if hasattr(x, "detach"):  # a torch tensor
            x = x.detach().cpu().numpy()
        try:
            array = np.asarray(x)
        except ValueError:
            raise PushforwardError(f"{kind}: rows of different lengths; need an (n, d)"
                                   " table") from None
        values, fields = check_array(array, kind)
        names = fields or default_names(values.shape[1])
        pick = select_columns(names, columns, kind)
        names, values = [names[j] for j in pick], values[:, pick]
    data, dropped = check_values(values, names, kind, locate, dropna=dropna)
    return Source(name=kind, columns=names, data=data,
                  meta={"rows": len(data), "dropped_rows": dropped, "frame": is_frame, **meta})


def _keep_columns(source: Source, columns: ColumnsLike) -> Source:
    """The source restricted to some of its columns (None keeps it as is)."""
    if columns is None:
        return source
    pick = select_columns(source.columns, columns, source.name)
    if pick == list(range(source.dim)):
        return source
    sampler = source.sampler
    return Source(
        name=source.name, columns=[source.columns[j] for j in pick],
        data=None if source.data is None else np.ascontiguousarray(source.data[:, pick]),
        sampler=None if sampler is None else (lambda n, rng: sampler(n, rng)[:, pick]),
        spec=source.spec, meta={**source.meta, "columns": [source.columns[j] for j in pick]})
