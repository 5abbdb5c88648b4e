"""Samples of an image model as pictures: a folder of PNG files, and a grid for a quick look.

Rows are images flattened channel first (C, H, W), the schema's ``event_shape``. Pixel values
become 0 … 255 by :func:`~pushforward.data.pixels.to_uint8` over the range of the model's
training pixels (:func:`pixel_range`): 8-bit data as they are, digits' 0 … 16 stretched.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from . import _io
from .data.codec import Codec, Compose, Constant, Pixels
from .data.pixels import to_uint8
from .errors import PushforwardError

#: Pillow's mode for each channel count.
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def image_shape(schema, where: str = "the model") -> tuple[int, int, int]:
    """The (C, H, W) of an image schema; a one-line error for other data."""
    shape = getattr(schema, "event_shape", None)
    if not shape or len(shape) != 3 or shape[0] not in MODES:
        raise PushforwardError(f"{where} was not fitted on images (its data has no image shape "
                               "with 1 to 4 channels); write .csv, .npy or .parquet instead")
    return tuple(int(s) for s in shape)


def pixel_range(codec: Codec) -> tuple[float, float]:
    """(lo, hi): the range of the training pixels, as the model's codec recorded it."""
    parts = codec.parts if isinstance(codec, Compose) else [codec]
    pixels = next((p for p in parts if isinstance(p, Pixels)), None)
    if pixels is None:
        raise PushforwardError("the model's codec holds no pixel range (not an image model)")
    lo, hi = pixels.lo_, pixels.hi_
    const = next((p for p in parts if isinstance(p, Constant)), None)
    if const is not None and const.values_.size:  # blank pixels set aside before Pixels
        lo, hi = min(lo, float(const.values_.min())), max(hi, float(const.values_.max()))
    return float(lo), float(hi)


def to_pictures(x: np.ndarray, shape: tuple[int, int, int], lo: float, hi: float
                ) -> np.ndarray:
    """Rows (n, C·H·W) → (n, H, W, C) uint8 pictures.

    Example:
        >>> to_pictures(np.array([[0.0, 16.0, 8.0, 0.0]]), (1, 2, 2), 0, 16)[0, :, :, 0].tolist()
        [[0, 255], [128, 0]]
    """
    c, h, w = shape
    return to_uint8(np.asarray(x).reshape(len(x), c, h, w), lo, hi).transpose(0, 2, 3, 1)


def png_bytes(picture: np.ndarray) -> bytes:
    """One (H, W, C) uint8 picture as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    img = picture[..., 0] if picture.shape[-1] == 1 else picture
    Image.fromarray(np.ascontiguousarray(img), MODES[picture.shape[-1]]).save(buf, format="PNG")
    return buf.getvalue()


def grid(pictures: np.ndarray, *, columns: int | None = None, zoom: int | None = None,
         gap: int = 1) -> np.ndarray:
    """Pictures (n, H, W, C) side by side: ``columns`` per row (default ⌈√n⌉), each enlarged
    ``zoom`` times (nearest pixel; default to about 48 pixels a side), ``gap`` pixels of mid
    grey between them.

    Example:
        >>> grid(np.zeros((3, 2, 2, 1), dtype=np.uint8), zoom=1).shape  # 2 × 2 cells
        (5, 5, 1)
    """
    n, h, w, c = pictures.shape
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    zoom = zoom or max(1, round(48 / max(h, w)))
    h, w = h * zoom, w * zoom
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, c), 128, dtype=np.uint8)
    for i, p in enumerate(pictures):
        r, k = divmod(i, columns)
        cell = np.repeat(np.repeat(p, zoom, axis=0), zoom, axis=1)
        out[r * (h + gap): r * (h + gap) + h, k * (w + gap): k * (w + gap) + w] = cell
    return out


def write_grid(path: str | os.PathLike, x: np.ndarray, shape: tuple[int, int, int],
               lo: float, hi: float, *, force: bool = False, limit: int = 64) -> Path:
    """A PNG grid of the first ``limit`` rows of ``x`` at ``path`` (atomic)."""
    path = _io.check_writable(path, force=force)
    if path.suffix.lower() != ".png":
        raise PushforwardError(f"{path}: a grid is a PNG file; name it ….png")
    _io.write_bytes(path, png_bytes(grid(to_pictures(x[:limit], shape, lo, hi))))
    return path


def write_png_folder(chunks: Iterable[np.ndarray], folder: str | os.PathLike, *, n: int,
                     shape: tuple[int, int, int], lo: float, hi: float,
                     force: bool = False) -> Path:
    """Each row as ``FOLDER/000000.png``, ``000001.png`` …, streamed chunk by chunk.

    A new folder appears only when complete (written beside under a temporary name, then
    renamed); an existing non-empty folder needs ``force``, and its files of those names are
    replaced one by one.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise PushforwardError(f"{folder}: is a file; --format png writes a folder of PNGs")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise PushforwardError(f"{folder}: a folder that is not empty; pass --force to write "
                               "into it")
    c, h, w = shape
    _io.check_space(folder, n * max(64, c * h * w // 2))
    digits = max(6, len(str(n - 1)))
    fresh, target = not folder.exists(), None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent)
                      ) if fresh else folder
        i = 0
        for chunk in chunks:
            for p in to_pictures(chunk, shape, lo, hi):
                (target / f"{i:0{digits}d}.png").write_bytes(png_bytes(p))
                i += 1
        if fresh:
            os.chmod(target, 0o777 & ~_umask())
            os.replace(target, folder)
    except OSError as e:
        raise PushforwardError(f"{folder}: cannot write ({e.strerror or e})") from None
    finally:
        if fresh and target is not None and target.exists():  # unfinished: leave nothing
            shutil.rmtree(target, ignore_errors=True)
    return folder


class FirstRows:
    """Chunks passed through unchanged, keeping a copy of the first ``k`` rows (``rows()``),
    so a grid shows the very samples a file receives."""

    def __init__(self, chunks: Iterable[np.ndarray], k: int = 64):
        self.chunks, self.k, self.kept = chunks, k, []

    def __iter__(self):
        for c in self.chunks:
            room = self.k - sum(map(len, self.kept))
            if room > 0:
                self.kept.append(np.array(c[:room]))
            yield c

    def rows(self) -> np.ndarray:
        return np.concatenate(self.kept) if self.kept else np.zeros((0, 0))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
