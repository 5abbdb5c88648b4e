"""Image sets: a folder of pictures, an array of images, patches of a bundled picture.

Every image set is a finite :class:`Source` whose rows are images flattened channel first
(C, H, W) — one column per pixel value, ``px0`` … — with ``meta["image_shape"]`` [H, W] for
grey images and [C, H, W] for colour ones, so the schema gets its event shape and the pixel
codec (:class:`~pushforward.data.codec.Pixels`). Pixel values are kept in the data's units:
0 … 255 for pictures read from files.

- ``images:FOLDER`` (``images:FOLDER?size=28x28&skip-bad=1``): every PNG, JPEG, … in the folder
  (not its subfolders, in name order), read with Pillow. Grey when every image is grey, else
  RGB for all (an alpha channel is dropped); resized (Lanczos) to ``size`` W×H, by default the
  first image's size (then all must share it).
- An ``.npy``/``.npz`` array shaped (n, H, W) (grey) or (n, H, W, C) (C channels last, the
  usual layout of image arrays) is read as images (:func:`image_array`).
- ``patches:NAME`` (``patches:camera?size=16&stride=16``): one of scikit-image's bundled
  pictures (``camera``, ``astronaut``, ``coins`` …; the files shipped with scikit-image,
  nothing is downloaded) cut into ``size``×``size`` patches every ``stride`` pixels (default
  ``size``: patches do not overlap, so a held-out patch shares no pixel with a training one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._limits import MAX_COLUMNS
from ..errors import PushforwardError
from .source import Source

FOLDER_PREFIX = "images:"
PATCHES_PREFIX = "patches:"

#: Extensions read from an image folder.
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

#: Pillow modes read as grey (one channel); every other mode is read as RGB.
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def parse_options(text: str, allowed: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """``"NAME?a=1&b=2"`` → ("NAME", {"a": "1", "b": "2"}); an unknown option is refused.

    Example:
        >>> parse_options("camera?size=16", ("size", "stride"))
        ('camera', {'size': '16'})
    """
    name, _, query = text.partition("?")
    options: dict[str, str] = {}
    for item in filter(None, query.split("&")):
        key, eq, value = item.partition("=")
        if key not in allowed or not eq:
            raise PushforwardError(f"{text!r}: unknown option {item!r}; options: "
                                   + ", ".join(f"{k}=…" for k in allowed))
        options[key] = value
    return name, options


def parse_size(text: str | None, where: str) -> tuple[int, int] | None:
    """``"28x28"`` (width × height) → (28, 28); ``"16"`` → (16, 16); None → None.

    Example:
        >>> parse_size("32x24", "--size")
        (32, 24)
    """
    if text is None or text == "":
        return None
    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) == 1:
        parts = parts * 2
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        w = h = 0
    if len(parts) != 2 or not (0 < w <= 4096 and 0 < h <= 4096):
        raise PushforwardError(f"{where}: size {text!r} must be WIDTHxHEIGHT in pixels, "
                               "e.g. 28x28")
    return w, h


def image_size(schema) -> tuple[int, int] | None:
    """(width, height) of an image schema's event shape (C, H, W), else None: the size an
    image folder given again (to ``evaluate``, ``report``) is read at.

    Example:
        >>> from pushforward.data.schema import Schema
        >>> image_size(Schema((), event_shape=(3, 10, 12)))
        (12, 10)
    """
    shape = getattr(schema, "event_shape", None)
    return (int(shape[2]), int(shape[1])) if shape and len(shape) == 3 else None


def _flag(value: str, where: str) -> bool:
    if value.lower() in ("", "1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise PushforwardError(f"{where}: {value!r} is not true or false")


def image_source(pixels: np.ndarray, name: str, *, spec: str | None = None,
                 meta: dict[str, Any] | None = None) -> Source:
    """A finite Source of images ``pixels`` (n, C, H, W): rows flattened channel first.

    Example:
        >>> s = image_source(np.zeros((5, 3, 2, 4)), "demo")
        >>> s.data.shape, s.meta["image_shape"], s.columns[:2]
        ((5, 24), [3, 2, 4], ['px0', 'px1'])
    """
    n, c, h, w = pixels.shape
    if c * h * w > MAX_COLUMNS:
        raise PushforwardError(f"{name}: images of {c}×{h}×{w} = {c * h * w:,} values each are "
                               f"more than the {MAX_COLUMNS:,} columns a map models; resize them"
                               " (--size)")
    if n < 2:
        raise PushforwardError(f"{name}: holds {n} image{'s' * (n != 1)}; need at least 2 to "
                               "fit a map")
    data = np.ascontiguousarray(pixels.reshape(n, -1), dtype=np.float64)
    shape = [h, w] if c == 1 else [c, h, w]
    return Source(name=name, columns=[f"px{j}" for j in range(c * h * w)], data=data, spec=spec,
                  meta={"rows": n, "image_shape": shape, **(meta or {})})


def image_array(values: np.ndarray, where: str) -> np.ndarray:
    """An (n, H, W) or (n, H, W, C) array as (n, C, H, W) float64 images.

    Example:
        >>> image_array(np.zeros((4, 5, 6, 3), dtype=np.uint8), "a").shape
        (4, 3, 5, 6)
    """
    if values.dtype.kind not in "biuf":
        raise PushforwardError(f"{where}: holds values of dtype {values.dtype}; need numbers")
    if values.ndim == 4 and not 1 <= values.shape[-1] <= 4:
        raise PushforwardError(f"{where}: array of shape {values.shape}: images (n, H, W, C) "
                               f"have 1 to 4 channels last, not {values.shape[-1]}")
    x = np.asarray(values, dtype=np.float64)
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    if not np.isfinite(x).all():
        i = int(np.flatnonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1))[0])
        raise PushforwardError(f"{where}: image {i} holds a NaN or infinite value")
    return x


def load_folder(text: str, *, size: tuple[int, int] | str | None = None,
                skip_bad: bool = False) -> Source:
    """The images of a folder (``images:FOLDER``, see the module notes) as a Source.

    Arguments:
        text: the folder, without the ``images:`` prefix, options after ``?`` allowed.
        size: (width, height) or ``"WxH"`` to resize every image to; default the first's.
        skip_bad: leave out files Pillow cannot read (named in ``meta["skipped"]``) instead
            of failing.

    Raises:
        PushforwardError: no such folder, no image in it, a file that cannot be read (without
            ``skip_bad``), images of different sizes without ``size``, or fewer than 2 images.
    """
    folder, options = parse_options(text, ("size", "skip-bad"))
    where = f"{FOLDER_PREFIX}{folder}"
    size = parse_size(options["size"], where) if "size" in options else (
        parse_size(size, "--size") if isinstance(size, str) else size)
    skip_bad = _flag(options["skip-bad"], where) if "skip-bad" in options else skip_bad
    path = Path(folder)
    if not path.is_dir():
        raise PushforwardError(f"{where}: no such folder" if not path.exists() else
                               f"{where}: not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise PushforwardError(f"{where}: no images (PNG, JPEG, …) in the folder")
    images, skipped = _read_all(files, skip_bad)
    grey = all(img.mode in GREY_MODES for _, img in images)
    explicit, size = size is not None, size or images[0][1].size
    arrays = []
    for p, img in images:
        if img.size != size and not explicit:
            raise PushforwardError(f"{where}: {p.name} is {img.size[0]}×{img.size[1]}, "
                                   f"{images[0][0].name} is {size[0]}×{size[1]}; give --size "
                                   "WxH to resize them all")
        arrays.append(_pixels(img, grey, size))
    spec = f"{FOLDER_PREFIX}{folder}?size={size[0]}x{size[1]}" + "&skip-bad=1" * bool(skipped)
    return image_source(np.stack(arrays), where, spec=spec,
                        meta={"folder": str(folder), "files": len(images),
                              "skipped": [p.name for p in skipped]})


def _read_all(files: list[Path], skip_bad: bool) -> tuple[list, list[Path]]:
    """[(path, decoded Pillow image)] and the paths left out (unreadable, with ``skip_bad``)."""
    from PIL import Image, UnidentifiedImageError

    images, skipped = [], []
    for p in files:
        try:
            with Image.open(p) as img:
                img.load()  # decode now: a truncated file fails here, not later
                images.append((p, img.copy()))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
                SyntaxError) as e:
            if not skip_bad:
                why = "not an image Pillow can read" if isinstance(
                    e, UnidentifiedImageError) else (str(e).strip().splitlines() or
                                                     [type(e).__name__])[0]
                raise PushforwardError(f"{p}: cannot read the image ({why}); --skip-bad leaves "
                                       "such files out") from None
            skipped.append(p)
    if not images:
        raise PushforwardError(f"{files[0].parent}: none of its {len(files)} image files can "
                               "be read")
    return images, skipped


def _pixels(img, grey: bool, size: tuple[int, int]) -> np.ndarray:
    """A Pillow image as (C, H, W) 0 … 255 values, grey or RGB, resized to ``size``."""
    from PIL import Image

    img = img.convert("L" if grey else "RGB")
    if img.size != tuple(size):
        img = img.resize(tuple(size), Image.Resampling.LANCZOS)
    a = np.asarray(img, dtype=np.float64)
    return a[None] if grey else np.moveaxis(a, -1, 0)


def bundled_pictures() -> dict[str, Path]:
    """scikit-image's bundled pictures by name (the files its wheel ships; none downloaded)."""
    try:
        import skimage.data
    except ImportError:
        raise PushforwardError("patches: need scikit-image: pip install "
                               "'pushforward[images]'") from None
    folder = Path(os.path.dirname(skimage.data.__file__))
    return {p.stem: p for p in sorted(folder.iterdir())
            if p.suffix in (".png", ".jpg") and p.stem.isidentifier()}


def load_patches(text: str) -> Source:
    """``patches:NAME?size=16&stride=16``: a bundled picture cut into square patches.

    Raises:
        PushforwardError: an unknown picture or option, or a size larger than the picture.
    """
    name, options = parse_options(text, ("size", "stride"))
    where = f"{PATCHES_PREFIX}{text}"
    pictures = bundled_pictures()
    if name not in pictures:
        raise PushforwardError(f"{where}: no bundled picture {name!r}; pictures: "
                               f"{', '.join(pictures)}")
    side = _positive(options.get("size", "16"), where, "size")
    stride = _positive(options.get("stride", str(side)), where, "stride")
    from PIL import Image

    with Image.open(pictures[name]) as img:
        grey = img.mode in GREY_MODES
        a = _pixels(img, grey, img.size)
    c, h, w = a.shape
    if side > min(h, w):
        raise PushforwardError(f"{where}: size {side} is larger than the picture ({w}×{h})")
    patches = np.lib.stride_tricks.sliding_window_view(a, (side, side), axis=(1, 2))
    patches = patches[:, ::stride, ::stride].transpose(1, 2, 0, 3, 4).reshape(-1, c, side, side)
    spec = f"{PATCHES_PREFIX}{name}?size={side}&stride={stride}"
    return image_source(patches, spec, spec=spec,
                        meta={"picture": name, "picture_size": [w, h], "patch": side,
                              "stride": stride})


def _positive(value: str, where: str, option: str) -> int:
    try:
        k = int(value)
    except ValueError:
        k = 0
    if not 0 < k <= 4096:
        raise PushforwardError(f"{where}: {option}={value!r} must be a whole number of pixels "
                               "from 1 to 4096")
    return k
