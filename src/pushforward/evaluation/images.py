"""Figures for images: a feature-space Fréchet distance, the class histogram, memorisation.

Beside the two-sample figures every model gets (C2ST on the pixels among them), image models
are measured where pixels alone say little:

- **Features.** A small classifier is trained on the real *training* images (scikit-learn's
  :class:`~sklearn.neural_network.MLPClassifier`, two hidden ReLU layers of 128 and 32 units,
  on pixels divided by the training pixels' global standard deviation): on their labels when
  the data have them (``source.meta["labels"]``: digits' 0 … 9), else on a task that needs no
  labels, telling which of four flips (none, left-right, up-down, both) was applied to an
  image. The features of an image are the 32 activations of the last hidden layer.
- **Fréchet distance** (the FID analogue): ‖μ_g − μ_r‖² + tr(Σ_g + Σ_r − 2 (Σ_g Σ_r)^½) between
  Gaussians fitted to the features of generated and of held-out real images, beside its floor,
  the same between two real samples of the same size (the distance is biased upwards at finite
  n, so only the ratio to the floor means something).
- **Class histogram** (labelled data): the classifier's classes of generated images against
  its classes of held-out real images (the same classifier, so its errors cancel); each class's
  share ratio, and the total-variation distance beside the floor of a second real sample.
- **Memorisation** (pixel units): the median distance of each generated image to its nearest
  training image over the same median for held-out real images (the DCR ratio: ≈ 1 for a
  model that samples, ≈ 0 for one that copies), and the near-copies: generated images nearer a
  training image than 99 % of held-out images come (the held-out images' 1st percentile), of
  which real data have 1 % by construction.

References:
    Heusel et al., "GANs trained by a two time-scale update rule converge to a local Nash
    equilibrium", NeurIPS 2017; arXiv:1706.08500 (FID).
    Gidaris et al., "Unsupervised representation learning by predicting image rotations",
    ICLR 2018; arXiv:1803.07728 (a transformation as the label).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import linalg

from ._arrays import distance_blocks

#: Training images the feature classifier sees at most (a seeded subsample beyond).
FEATURE_ROWS = 5000

#: Hidden layers of the feature classifier; the last one's activations are the features.
HIDDEN = (128, 32)

#: The held-out images' DCR quantile under which a generated image counts as a near-copy.
NEAR_COPY_QUANTILE = 0.01


@dataclass
class FeatureNet:
    """A classifier trained on real training images, and its features (see module notes).

    Attributes:
        task: ``"labels"`` (the data's classes) or ``"flips"`` (which of four flips).
        classes: the class values (labels) the classifier predicts.
        scale: pixels are divided by it (the training pixels' standard deviation).
    """

    clf: Any
    task: str
    classes: np.ndarray
    scale: float

    def features(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer's activations (n, 32) of images ``x`` (n, C·H·W)."""
        h = np.asarray(x, dtype=np.float64) / self.scale
        for w, b in zip(self.clf.coefs_[:-1], self.clf.intercepts_[:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)
        return h

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The predicted class of each image."""
        return self.clf.predict(np.asarray(x, dtype=np.float64) / self.scale)


def feature_net(train: np.ndarray, labels: np.ndarray | None, shape: tuple[int, int, int], *,
                seed: int = 0) -> FeatureNet:
    """Train the feature classifier on training images (on ``labels``, else on flips).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.random((1000, 16)); y = (x[:, 0] > 0.5).astype(int)
        >>> net = feature_net(x, y, (1, 4, 4))
        >>> net.task, net.features(x).shape, float((net.predict(x) == y).mean()) > 0.9
        ('labels', (1000, 32), True)
    """
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    x = np.asarray(train, dtype=np.float64)
    keep = rng.choice(len(x), FEATURE_ROWS, replace=False) if len(x) > FEATURE_ROWS else None
    if keep is not None:
        x, labels = x[keep], (labels[keep] if labels is not None else None)
    scale = float(x.std()) or 1.0
    if labels is None:
        x, y, task = _flipped(x, shape), np.repeat(np.arange(4), len(x)), "flips"
    else:
        y, task = np.asarray(labels), "labels"
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=200, early_stopping=True,
                        random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():  # a budgeted fit that stops early is what we want
        warnings.simplefilter("ignore")
        clf.fit(x / scale, y)
    return FeatureNet(clf, task, clf.classes_, scale)


def _flipped(x: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The images, then left-right, up-down and both-ways flipped copies (4n rows)."""
    a = x.reshape(len(x), *shape)
    flips = [a, a[..., ::-1], a[..., ::-1, :], a[..., ::-1, ::-1]]
    return np.concatenate([f.reshape(len(x), -1) for f in flips])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½) between Gaussians fitted to rows of a, b.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = rng.normal(size=(5000, 2))
        >>> round(frechet_distance(a, a), 9), round(frechet_distance(a, a + [3.0, 0.0]), 6)
        (0.0, 9.0)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    sa, sb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # dead ReLU features make Σ singular: the root exists
        warnings.simplefilter("ignore")
        root = linalg.sqrtm(sa @ sb)
    root = root.real if np.iscomplexobj(root) else root  # rounding leaves tiny imaginary parts
    return max(float(((ma - mb) ** 2).sum() + np.trace(sa + sb - 2.0 * root)), 0.0)


def class_shares(pred: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The share of each of ``classes`` among predictions ``pred``.

    Example:
        >>> class_shares(np.array([1, 1, 3, 0]), np.array([0, 1, 2, 3])).tolist()
        [0.25, 0.5, 0.0, 0.25]
    """
    pred = np.asarray(pred)
    return np.array([(pred == c).mean() if len(pred) else 0.0 for c in classes])


def memorisation(generated: np.ndarray, train: np.ndarray, held: np.ndarray) -> dict[str, Any]:
    """DCR medians and ratio in pixel units, and the near-copies (see the module notes).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> train, held = rng.normal(size=(500, 8)), rng.normal(size=(300, 8))
        >>> m = memorisation(train[:300], train, held)
        >>> m["ratio"], m["near_copies"]
        (0.0, 300)
    """
    train = np.asarray(train, dtype=np.float64)
    g = nearest(np.asarray(generated, dtype=np.float64), train)[0]
    h = nearest(np.asarray(held, dtype=np.float64), train)[0]
    gm, hm = float(np.median(g)), float(np.median(h))
    cut = float(np.quantile(h, NEAR_COPY_QUANTILE))
    same = 1e-9 * max(hm, 1e-300)  # a copy, up to the rounding of the distance's arithmetic
    return {"generated": gm, "held_out": hm, "ratio": gm / hm if hm > 0 else float("inf"),
            "near_copies": int((g <= max(cut, same)).sum()),
            "exact_copies": int((g <= same).sum()), "near_copy_distance": cut, "n": len(g),
            "n_held": len(h)}


def nearest(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each row of ``x``'s nearest row of ``y`` (Euclidean).

    Example:
        >>> d, i = nearest(np.array([[0.0], [9.0]]), np.array([[1.0], [10.0], [3.0]]))
        >>> d.tolist(), i.tolist()
        ([1.0, 1.0], [0, 1])
    """
    dist, idx = np.empty(len(x)), np.empty(len(x), dtype=np.int64)
    for i, d in distance_blocks(np.ascontiguousarray(x, dtype=np.float64),
                                np.ascontiguousarray(y, dtype=np.float64)):
        best = d.min(dim=1)
        dist[i: i + len(d)], idx[i: i + len(d)] = best.values.numpy(), best.indices.numpy()
    return dist, idx


@dataclass
class ImageFigures:
    """The image figures of one model (see the module notes).

    Attributes:
        task: what the feature classifier was trained on (``labels`` or ``flips``).
        fid: Fréchet distance of generated vs held-out features; ``fid_floor`` real vs real.
        classes: the class values; ``generated``, ``real`` and ``floor`` their shares among
            generated, held-out and a second real sample's images (None without labels).
        memorisation: :func:`memorisation`'s figures.
        n: images on each side.
    """

    task: str
    fid: float
    fid_floor: float
    memorisation: dict[str, Any]
    n: int
    classes: list | None = None
    generated: list | None = None
    real: list | None = None
    floor: list | None = None

    @property
    def share_ratios(self) -> np.ndarray | None:
        """Each class's generated share ÷ its held-out share (None without labels)."""
        if self.classes is None:
            return None
        real = np.asarray(self.real)
        return np.where(real > 0, np.asarray(self.generated) / np.maximum(real, 1e-300), np.inf)

    def tv(self, which: str = "generated") -> float | None:
        """Total variation ½ Σ |share − held-out share| of ``generated`` (or ``floor``)."""
        if self.classes is None:
            return None
        return 0.5 * float(np.abs(np.asarray(getattr(self, which)) - self.real).sum())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.classes is not None:
            d.update(share_ratios=self.share_ratios.tolist(), tv=self.tv(),
                     tv_floor=self.tv("floor"))
        return d


def image_figures(generated: np.ndarray, test: np.ndarray, real: np.ndarray,
                  train: np.ndarray, held: np.ndarray | None, *,
                  shape: tuple[int, int, int], labels: np.ndarray | None = None,
                  seed: int = 0) -> ImageFigures:
    """The image figures of ``generated`` against held-out ``test`` images.

    Arguments:
        generated: generated images (k, C·H·W), pixel units.
        test: held-out real images (k, ·): the reference.
        real: another real sample (k, ·) (the floors').
        train: the model's training images; ``labels`` their classes, if any.
        held: held-out real images for the memorisation check (None: ``test``).
        shape: (C, H, W).
        seed: seed of the classifier's training.
    """
    net = feature_net(train, labels, shape, seed=seed)
    fg, ft, fr = (net.features(a) for a in (generated, test, real))
    figures = ImageFigures(net.task, frechet_distance(fg, ft), frechet_distance(fr, ft),
                           memorisation(generated, train, test if held is None else held),
                           len(generated))
    if net.task == "labels":
        figures.classes = net.classes.tolist()
        figures.generated, figures.real, figures.floor = (
            class_shares(net.predict(a), net.classes).tolist() for a in (generated, test, real))
    return figures
