"""The closing check of every fit: one line saying how the model does on rows it never saw.

:func:`closing_check` runs :func:`~pushforward.evaluation.evaluate` with two figures, the energy
distance (5 generated against 10 real samples) and the classifier two-sample test, on at most
2,000 held-out rows (fresh draws for a built-in target; for a file on disk, 2,000 held-out and
20,000 training rows drawn at random, so the check never reads the whole file), under the
verdict's one rule (Holm at α = 0.01). It takes about a second at n = 2,000 on two cores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.rows import on_disk, sample_rows
from ..data.source import Source
from ..data.split import Split
from ..model import FittedMap
from .floors import MIN_N, TooFewRows, evaluate

__all__ = ["closing_check", "CLOSING_METRICS", "CLOSING_N"]

#: The figures of the closing check: the headline ratio and the pre-registered classifier test.
CLOSING_METRICS = ("energy", "c2st")

#: Most rows the closing check compares.
CLOSING_N = 2000

#: Training rows the check draws from a file on disk (its 10 real samples of CLOSING_N rows).
CLOSING_POOL = 10 * CLOSING_N


def closing_check(fitted: FittedMap, source: Source, split: Split | None = None,
                  seed: int = 0) -> dict[str, Any]:
    """The fit's held-out quality check, for ``fitted.info["holdout"]``.

    Arguments:
        fitted: the fitted map.
        source: the whole data it was fitted from (all rows, or the sampler).
        split: the fit's hold-out split (:func:`pushforward.data.split.split_source`); None
            finds it again from ``fitted.info["split"]``.
        seed: seed of every sample drawn.

    Returns:
        A JSON-able dict: ``summary`` (the one line to print), ``verdict``, ``ok``, ``passed``
        (ok on held-out rows), ``reference``, ``n``, ``energy``, ``floor``, ``ed_ratio``,
        ``c2st`` and ``c2st_p``; with too few held-out rows, only ``summary``, ``verdict`` and
        ``n``.

    Example:
        >>> import pushforward
        >>> m = pushforward.fit("norm", method="inverse-cdf", seed=0)
        >>> m.info["holdout"]["passed"], m.info["holdout"]["n"]
        (True, 2000)
    """
    if split is not None and split.held is not None:
        data, train = split.held, split.train.data
        if on_disk(data):  # a file on disk: random rows of each side, not every row read
            data = sample_rows(data, CLOSING_N, seed + 11)
            train = sample_rows(train, CLOSING_POOL, seed + 12)
    else:
        data, train = source, None
    try:
        e = evaluate(fitted, data, train=train, n=CLOSING_N, seed=seed,
                     metrics=list(CLOSING_METRICS))
    except TooFewRows:
        text = f"no held-out check: fewer than {MIN_N} rows to compare with"
        return {"summary": text, "verdict": text, "n": 0}
    energy, c2st = e["energy"], e["c2st"]
    summary = f"{e.verdict}; energy-distance ratio {energy.ratio:.2f} (1 = real data's)"
    return {"summary": summary, "verdict": e.verdict, "ok": e.ok, "passed": e.passed,
            "reference": e.reference, "n": e.n, "energy": energy.value, "floor": energy.floor,
            "ed_ratio": _finite(energy.ratio), "c2st": c2st.value, "c2st_floor": c2st.floor,
            "c2st_p": c2st.details["p_value"], "seconds": round(e.seconds, 2)}


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None
