"""Plain-dict registries keyed by short lowercase strings.

One registry per family (methods, losses, networks, targets, noises). The same keys serve the
Python API, config files, the CLI and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from .errors import PushforwardError

T = TypeVar("T")


class Registry(dict, Generic[T]):
    """A dict from short names to objects, with a one-line description for each.

    Arguments:
        kind: what the entries are ("method", "loss", ...), used in error messages.

    Example:
        >>> losses = Registry("loss")
        >>> @losses.register("l1", "mean absolute difference")
        ... def l1(x, y):
        ...     return abs(x - y)
        >>> losses.get("l1")(3, 1)
        2
        >>> losses.get("l2")
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: unknown loss 'l2'; valid: l1
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.descriptions: dict[str, str] = {}

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator that adds an entry under ``name``."""

        def add(obj: T) -> T:
            if name in self:
                raise KeyError(f"{self.kind} {name!r} registered twice")
            self[name] = obj
            doc = description or (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
            self.descriptions[name] = doc
            return obj

        return add

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry for ``name``; an unknown name raises an error listing the valid ones."""
        try:
            return self[name]
        except (KeyError, TypeError):
            raise PushforwardError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(sorted(self))}"
            ) from None

    def describe(self) -> list[tuple[str, str]]:
        """(name, one-line description) pairs, in registration order."""
        return [(k, self.descriptions.get(k, "")) for k in self]
