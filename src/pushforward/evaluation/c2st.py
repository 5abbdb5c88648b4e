"""Classifier two-sample test (C2ST): can a classifier tell generated points from real ones?

A gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) is trained on
half of the pooled, balanced sample and scored on the other half. Held-out accuracy 0.5 means
indistinguishable; under equality the number of correct test predictions is Binomial(n, ½), which
gives the one-sided p-value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._arrays import as_pair
from .two_sample import Metric

__all__ = ["C2ST", "c2st_test", "c2st", "c2st_p_value"]

@dataclass(frozen=True)
class C2ST:
    """Result of :func:`c2st_test`.

    Attributes:
        accuracy: held-out accuracy (0.5 = indistinguishable, 1.0 = disjoint).
        p_value: P(accuracy this high or higher | the samples are equal in law).
        n_test: number of held-out points scored.
    """

    accuracy: float
    p_value: float
    n_test: int


def c2st_p_value(accuracy: float, n_test: int) -> float:
    """One-sided binomial p-value of a held-out accuracy: P(Binomial(n_test, ½) ≥ correct).

    Example:
        >>> round(c2st_p_value(0.5, 10_000), 2), c2st_p_value(0.6, 10_000) < 1e-80
        (0.5, True)
    """
    correct = int(round(accuracy * n_test))
    return float(stats.binom.sf(correct - 1, n_test, 0.5))


#: Most categories a column may have to be taken natively as categorical by the classifier
#: (its bins: 255, one kept for missing values); wider columns are read as ordered codes.
MAX_NATIVE_CATEGORIES = 254


def c2st_test(x, y, *, seed: int = 0, categorical=None) -> C2ST:
    """Classifier two-sample test of candidate ``x`` against reference ``y``.

    Classes are balanced by subsampling the larger sample to the size of the smaller; the pooled
    points are split 50/50, stratified, with a fixed seed; the classifier is scikit-learn's
    ``HistGradientBoostingClassifier`` with its defaults and the same seed. Missing values
    (NaN) are taken as they are (the classifier learns where a gap goes); categorical columns
    (``categorical``, codes 0..k−1) natively, as sets of categories to split on, not as numbers.

    Arguments:
        x: candidate sample (n, d), numpy or torch.
        y: reference sample (m, d).
        seed: seed of the subsample, the split and the classifier.
        categorical: a boolean mask of the columns that hold category codes (None: none).

    Returns:
        :class:`C2ST` with the held-out accuracy, its binomial p-value and the test size.

    References:
        Lopez-Paz and Oquab, "Revisiting classifier two-sample tests", ICLR 2017;
        arXiv:1610.06545.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> far = c2st_test(rng.normal(size=(400, 2)) + 10, rng.normal(size=(400, 2)))
        >>> far.accuracy > 0.99, far.p_value < 1e-50
        (True, True)
        >>> codes = rng.integers(0, 3, size=(400, 1)).astype(float)  # shares 1/3, 1/3, 1/3
        >>> odd = np.where(codes == 1, 0.0, codes)  # category 1 never drawn
        >>> c2st_test(odd, codes, categorical=[True]).accuracy > 0.6
        True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    from .._random import bounded_seed

    x, y = as_pair(x, y)
    rng = np.random.default_rng(seed)
    k = min(len(x), len(y))
    x = x[rng.choice(len(x), k, replace=False)] if len(x) > k else x
    y = y[rng.choice(len(y), k, replace=False)] if len(y) > k else y
    data = np.concatenate([x, y])
    label = np.r_[np.ones(k), np.zeros(k)]
    state = bounded_seed(seed)  # scikit-learn takes seeds below 2³² only
    a, b, la, lb = train_test_split(data, label, test_size=0.5, stratify=label,
                                    random_state=state)
    # One OpenMP thread: on a busy machine the classifier's threads spin waiting for cores (a
    # 3 s test took ~50 s at load 10 with two threads), and on these sizes one thread is enough.
    native = None
    if categorical is not None:
        native = np.asarray(categorical, dtype=bool) & (np.nan_to_num(data, nan=0.0).max(
            axis=0) < MAX_NATIVE_CATEGORIES)
        native = native if native.any() else None
    with threadpool_limits(1):
        clf = HistGradientBoostingClassifier(random_state=state, categorical_features=native
                                             ).fit(a, la)
        accuracy = float(clf.score(b, lb))
    return C2ST(accuracy, c2st_p_value(accuracy, len(lb)), len(lb))


def _judge(value: float, floor: float, n: int) -> float:
    # the binomial test of the accuracy (n test points when n + n points are pooled)
    return c2st_p_value(value, n)


def c2st(x, y, *, seed: int = 0, categorical=None) -> float:
    """Held-out accuracy of the classifier two-sample test (:func:`c2st_test`).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> abs(c2st(rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))) - 0.5) < 0.06
        True
    """
    return c2st_test(x, y, seed=seed, categorical=categorical).accuracy


#: The classifier test as :data:`pushforward.evaluation.METRICS` names it (``"c2st"``).
CLASSIFIER = Metric(c2st, label="C2ST", repeats=1, floor_repeats=1, judge=_judge)
