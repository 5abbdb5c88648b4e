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
"""

from __future__ import annotations

from . import c2st as _c2st  # noqa: F401  (registers "c2st")
from . import prdc as _prdc  # noqa: F401  (registers the k-NN figures)
from .c2st import C2ST, c2st_p_value, c2st_test
from .floors import MODES, Evaluation, Row, evaluate, model_data
from .memorisation import DCR, dcr
from .prdc import PRDC, prdc
from .two_sample import ALPHA, METRICS, Metric, holm
from .verdict import closing_check

__all__ = ["METRICS", "Metric", "C2ST", "c2st_test", "c2st_p_value", "PRDC", "prdc", "DCR",
           "dcr", "Evaluation", "Row", "evaluate", "model_data", "MODES", "ALPHA", "holm",
           "closing_check"]
