"""pushforward: learn a map from simple noise to a distribution known only through samples.

Example:
    >>> import pushforward
    >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform")
    >>> m.sample(3, seed=0).shape
    (3, 1)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["fit", "load", "load_source", "evaluate", "report", "PushforwardError",
           "__version__"]

from .errors import PushforwardError


def __getattr__(name: str):
    # Heavy modules (torch, scipy) load on first use, not at import.
    if name == "fit":
        from .api import fit

        return fit
    if name == "load":
        from .model import load

        return load
    if name == "evaluate":
        from .evaluation import evaluate

        return evaluate
    if name == "report":
        from .report import report

        return report
    if name == "load_source":
        from .data import load_source

        return load_source
    raise AttributeError(f"module 'pushforward' has no attribute {name!r}")
