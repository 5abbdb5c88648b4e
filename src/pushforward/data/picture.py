"""A picture as a 2-D density: ``image:PATH`` for any PNG/JPEG (anything Pillow reads).

Darkness is mass: a pixel of grey level g (0 black … 255 white, Pillow's ITU-R 601 luma) weighs
255 − g, times its opacity when the image has an alpha channel (a transparent pixel is paper,
not ink). A point is a pixel drawn with probability proportional to its mass, plus a uniform
jitter inside that pixel, so the density is piecewise constant on the pixel grid.

Coordinates: for an image of h rows and w columns and s = max(h, w), the pixel in row r (top
= 0) and column c covers x ∈ [c/s, (c+1)/s] and y ∈ [(h−1−r)/s, (h−r)/s]. The y axis is flipped
so the picture appears upright in a scatter plot, the aspect ratio is kept, and the longer side
spans [0, 1] (a landscape picture lives in [0, 1] × [0, h/w]).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PushforwardError
from .source import Source

PREFIX = "image:"


def picture_mass(path: str | os.PathLike) -> np.ndarray:
    """The (h, w) float64 mass of each pixel: (255 − grey) × alpha / 255.

    Raises:
        PushforwardError: a missing or unreadable image, or one without any dark pixel.
    """
    from PIL import Image, UnidentifiedImageError

    where = f"{PREFIX}{path}"
    path = Path(path)
    if not path.is_file():
        raise PushforwardError(f"{where}: no such file" if not path.exists() else
                               f"{where}: not a file")
    try:
        with Image.open(path) as img:
            grey_alpha = np.asarray(img.convert("RGBA").convert("LA"), dtype=np.float64)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as e:
        why = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else (
            str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
        raise PushforwardError(f"{where}: cannot read the image ({why})") from None
    mass = (255.0 - grey_alpha[..., 0]) * (grey_alpha[..., 1] / 255.0)
    if mass.size == 0 or not np.any(mass > 0):
        raise PushforwardError(f"{where}: the image is all white (or transparent): no dark"
                               " pixel to sample from")
    return mass


def load_picture(path: str | os.PathLike) -> Source:
    """A 2-D :class:`Source` whose density is the picture's darkness (see the module notes).

    Arguments:
        path: an image file (the part after ``image:``).

    Returns:
        A Source with a sampler of fresh i.i.d. points, columns ``["x", "y"]`` and
        ``meta["extent"] = [0, w/s, 0, h/s]``.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "dot.png"
        >>> img = np.full((4, 8), 255, dtype=np.uint8); img[0, 0] = 0   # top-left pixel black
        >>> Image.fromarray(img).save(p)
        >>> x = load_picture(p).draw(1000, seed=0)
        >>> bool((x[:, 0] < 1 / 8).all() and (x[:, 1] > 3 / 8).all() and (x[:, 1] < 4 / 8).all())
        True
    """
    mass = picture_mass(path)
    h, w = mass.shape
    side = float(max(h, w))
    cdf = np.cumsum(mass.ravel())
    last = int(np.flatnonzero(mass.ravel())[-1])

    def sampler(n: int, rng: np.random.Generator) -> np.ndarray:
        # side="right" never picks a zero-mass pixel: its cdf equals its predecessor's.
        pixel = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
        pixel = np.minimum(pixel, last)
        row, col = np.divmod(pixel, w)
        jitter = rng.random((n, 2))
        return np.stack([col + jitter[:, 0], (h - 1 - row) + jitter[:, 1]], axis=1) / side

    name = f"{PREFIX}{path}"
    return Source(name=name, columns=["x", "y"], sampler=sampler, spec=name,
                  meta={"file": str(path), "width": w, "height": h,
                        "extent": [0.0, w / side, 0.0, h / side]})
