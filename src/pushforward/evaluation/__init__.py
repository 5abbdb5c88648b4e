"""Honest evaluation: two-sample figures, each printed beside its two-sample noise floor.

- :data:`METRICS`: plain functions ``f(x, y) -> float`` of a candidate and a reference sample
  (energy distance, MMD, sliced Wasserstein, per-column KS and W₁, C2ST, precision / recall,
  density / coverage), each with the rule that judges it against its floor.
- :func:`c2st_test`, :func:`prdc`, :func:`dcr`: the full results of the classifier test, the
  k-NN figures and the memorisation check.
- :func:`evaluate`: a fitted map against real data, every figure beside the same figure for
  real data of the same size, with a plain verdict (``docs/measures.md`` protocols; the verdict's
  rule in :mod:`.floors`).
- :func:`closing_check`: the one-line held-out check that ends every fit.

:data:`METRICS` is a literal table (``"module:Metric"`` strings), and the rest of this package is
loaded on first use: listing the figures (``pushforward list``) imports neither torch nor
scikit-learn.
"""

from __future__ import annotations

import importlib

from ..registry import Table

__all__ = ["METRICS", "Metric", "C2ST", "c2st_test", "c2st_p_value", "PRDC", "prdc", "DCR",
           "dcr", "Evaluation", "Row", "evaluate", "model_data", "MODES", "ALPHA", "holm",
           "closing_check"]

_T, _K = "pushforward.evaluation.two_sample", "pushforward.evaluation.knn"

#: Every two-sample figure, by short key (``evaluate(..., metrics=[...])``): key → ("module:
#: Metric", description). ``METRICS.get(key)`` is the :class:`Metric`.
METRICS: Table = Table("metric", {
    "energy": (f"{_T}:ENERGY", "squared energy distance, 5 generated vs 10 real samples"),
    "mmd": (f"{_T}:MMD",
            "squared MMD, Gaussian kernel, bandwidth by the median heuristic on the reference"),
    "swd": (f"{_T}:SWD", "sliced Wasserstein-1 over 128 fixed random directions"),
    "ks": (f"{_T}:KS", "two-sample Kolmogorov-Smirnov statistic of the worst column"),
    "w1": (f"{_T}:W1", "Wasserstein-1 distance of the worst column"),
    "c2st": ("pushforward.evaluation.c2st:CLASSIFIER",
             "classifier two-sample test: held-out accuracy of gradient boosting"),
    "precision": (f"{_K}:PRECISION",
                  "share of generated points inside some real point's 5-NN ball"),
    "recall": (f"{_K}:RECALL", "share of real points inside some generated point's 5-NN ball"),
    "density": (f"{_K}:DENSITY",
                "mean number of real 5-NN balls holding a generated point, over 5"),
    "coverage": (f"{_K}:COVERAGE", "share of real points whose 5-NN ball holds a generated point"),
})

_WHERE = {"Metric": "two_sample", "ALPHA": "two_sample", "holm": "two_sample",
          "C2ST": "c2st", "c2st_test": "c2st", "c2st_p_value": "c2st", "PRDC": "knn",
          "prdc": "knn", "DCR": "memorisation", "dcr": "memorisation", "Evaluation": "floors",
          "Row": "floors", "evaluate": "floors", "model_data": "floors", "MODES": "floors",
          "closing_check": "verdict"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
