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

# Heavy modules (torch, scipy) load on first use, not at import.
_LAZY = {"fit": ".api", "load": ".model", "load_source": ".data", "evaluate": ".evaluation",
         "report": ".report"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'pushforward' has no attribute {name!r}")
