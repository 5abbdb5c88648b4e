"""Held-out log-likelihood, for the maps that have a density (``log_prob``).

A figure the two-sample rows cannot give: how much probability the model puts on rows it has
not seen, in nats per row (higher is better). It has no real-vs-real floor: beside it stands the
exact density's own figure where the data's distribution is known (1-D specs), and it takes no
part in the verdict. Maps with a density: ``nsf`` (exact), ``flow-matching`` and
``ot-flow-matching`` (the instantaneous change of variables), ``gmm`` and ``kde``. A VAE has
only a lower bound (the ELBO), so it is left out rather than shown beside exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LogLikelihood", "held_out_log_likelihood"]


@dataclass(frozen=True)
class LogLikelihood:
    """Mean log-density of held-out rows.

    Attributes:
        mean: nats per row (−inf when a row has zero density).
        se: its standard error (None when a row has zero density).
        n: rows scored.
        zero_density: rows with zero density (log p = −inf).
        exact: the exact density's mean over the same rows, where known (else None).
    """

    mean: float
    se: float | None
    n: int
    zero_density: int
    exact: float | None = None

    @property
    def note(self) -> str:
        text = (f"nats per row, ± {self.se:.3g} (s.e.), {self.n:,} rows" if self.se is not None
                else f"{self.zero_density:,} of {self.n:,} rows have zero density")
        return text + (f"; the exact density scores {self.exact:.4g}"
                       if self.exact is not None else "")


def held_out_log_likelihood(model: Any, test: np.ndarray,
                            source: Any = None) -> LogLikelihood | None:
    """The mean log-density of ``test`` under ``model``; None when it has no ``log_prob``.

    Arguments:
        model: a fitted map; scored when it has ``log_prob(x) -> (n,)``.
        test: the held-out rows (n, d), in data units.
        source: the data's :class:`~pushforward.data.source.Source`; with an exact 1-D
            distribution (``source.dist``), its own mean log-density over ``test`` is given too.

    Example:
        >>> import pushforward
        >>> m = pushforward.fit("norm", method="gmm", seed=0)
        >>> x = np.random.default_rng(1).normal(size=(4000, 1))
        >>> ll = held_out_log_likelihood(m, x)
        >>> bool(abs(ll.mean + 0.5 * np.log(2 * np.pi * np.e)) < 0.05)  # N(0, 1)'s −entropy
        True
    """
    if not hasattr(model, "log_prob"):
        return None
    lp = np.asarray(model.log_prob(test), dtype=np.float64)
    bad = int((~np.isfinite(lp)).sum())
    mean = float(lp.mean()) if not bad else -np.inf
    se = float(lp.std(ddof=1) / np.sqrt(len(lp))) if not bad and len(lp) > 1 else None
    dist = getattr(source, "dist", None)
    exact = (float(np.mean(dist.logpdf(test[:, 0])))
             if dist is not None and test.shape[1] == 1 else None)
    return LogLikelihood(mean, se, len(lp), bad, exact)
