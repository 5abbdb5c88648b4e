"""The report's pictures of an image model: grids of generated and real images, each generated
image beside its nearest training image, and the class histogram.

:func:`image_panels` returns the pictures as PNG bytes with their captions; :mod:`pushforward.
report` puts them in the page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import image_files as pics
from .data.split import find_rows
from .evaluation.images import nearest

#: Images in each grid, and generated images shown beside their nearest training image.
GRID, PAIRS = 64, 16


def training_images(model, source) -> tuple[np.ndarray | None, str]:
    """The model's training images (found from its split record in ``source``), or the
    source's rows when the record does not match; and a word on which."""
    data = getattr(source, "data", None)
    if data is None:
        return None, ""
    found = find_rows((model.info or {}).get("split"), data)
    if found is not None and isinstance(found[0], np.ndarray):
        return found[0], "training image"
    return np.asarray(data), "image of the data"


def image_panels(model, source, generated: np.ndarray, real: np.ndarray | None,
                 evaluation=None) -> list[tuple[bytes, str, str]]:
    """[(PNG bytes, name, caption)] of an image model's pictures (see the module notes)."""
    shape = pics.image_shape(model.schema)
    lo, hi = pics.pixel_range(model.codec_)

    def png(x: np.ndarray, columns: int | None = None) -> bytes:
        return pics.png_bytes(pics.grid(pics.to_pictures(x, shape, lo, hi), columns=columns))

    out = [(png(generated[:GRID]), "generated-images",
            f"The first {min(GRID, len(generated))} generated images.")]
    if real is not None:
        out.append((png(real[:GRID]), "real-images",
                    f"{min(GRID, len(real))} real images, for comparison."))
    train, word = training_images(model, source)
    if train is not None and len(train):
        g = generated[:PAIRS]
        dist, idx = nearest(g, train)
        pairs = np.concatenate([g, train[idx]])
        out.append((png(pairs, columns=len(g)), "nearest-training",
                    f"Top row: {len(g)} generated images; below each, its nearest {word} "
                    f"(Euclidean distance in pixels; median {np.median(dist):.3g}). A model "
                    "that copies shows the same image twice."))
    figures = getattr(evaluation, "images", None)
    if figures is not None and figures.classes is not None:
        from . import plots

        out.append((plots.to_png(class_histogram(figures)), "classes",
                    "Class histogram: the share of each class among generated images "
                    "(orange) and held-out real images (grey), as one classifier trained on "
                    "the training images sees them; every class should be present at about "
                    "its real share."))
    return out


def class_histogram(figures: Any):
    """Bars of each class's share among generated (orange) and held-out real (grey) images."""
    from .plots import GENERATED, REAL, new_figure

    fig = new_figure(7, 3)
    ax = fig.add_subplot()
    k = np.arange(len(figures.classes))
    ax.bar(k - 0.2, figures.real, 0.4, color=REAL, label="held-out real")
    ax.bar(k + 0.2, figures.generated, 0.4, color=GENERATED, label="generated")
    ax.set_xticks(k, [str(c) for c in figures.classes])
    ax.set_xlabel("class (the classifier's)")
    ax.set_ylabel("share")
    ax.set_title(f"class histogram: TV {figures.tv():.3f} (real vs real {figures.tv('floor'):.3f})")
    ax.legend(frameon=False)
    return fig
