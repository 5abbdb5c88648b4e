"""Registries keyed by short lowercase strings.

One registry per family (methods, losses, networks, targets, noises). The same keys serve the
Python API, config files, the CLI and the benchmarks. A :class:`Registry` holds objects its own
module defines; a :class:`Table` is a literal table of ``"module:object"`` strings, written where
the keys are dispatched and resolved on use, so listing its keys imports nothing (the method and
model-kind tables: no self-registration, no import circle, no torch for exact maps).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

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


class Entry(NamedTuple):
    """One row of a :class:`Table`: where the object lives, and what it is in one line."""

    target: str  # "package.module:object"
    description: str


class Table(Mapping[str, Entry], Generic[T]):
    """A literal, read-only table ``key → Entry("module:object", description)``.

    Iterating, ``in``, :meth:`describe` and error messages use the literal table only; :meth:`get`
    imports the object's module on first use.

    Arguments:
        kind: what the entries are ("method", "model kind"), used in error messages.
        entries: ``{key: ("module:object", one-line description)}``.

    Example:
        >>> t = Table("function", {"sqrt": ("math:sqrt", "square root")})
        >>> t.get("sqrt")(9.0), list(t), t.describe()
        (3.0, ['sqrt'], [('sqrt', 'square root')])
        >>> t.get("cbrt")
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: unknown function 'cbrt'; valid: sqrt
    """

    def __init__(self, kind: str, entries: Mapping[str, tuple[str, str]]):
        self.kind = kind
        self._entries = {k: Entry(*v) for k, v in entries.items()}

    def __getitem__(self, key: str) -> Entry:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, key: Any) -> str:
        """``key`` itself if the table has it, else an error listing the valid keys."""
        if not isinstance(key, str) or key not in self._entries:
            raise PushforwardError(
                f"unknown {self.kind} {key!r}; valid: {', '.join(sorted(self._entries))}"
            )
        return key

    def get(self, key: str) -> T:  # type: ignore[override]
        """The object for ``key``, imported now; an unknown key lists the valid ones."""
        return resolve(self._entries[self.check(key)].target)

    def describe(self) -> list[tuple[str, str]]:
        """(key, one-line description) pairs, in the table's order; imports nothing."""
        return [(k, e.description) for k, e in self._entries.items()]


def resolve(target: str) -> Any:
    """The object a ``"package.module:object"`` string names (importing the module).

    Example:
        >>> resolve("os.path:join")("a", "b")
        'a/b'
    """
    module, _, name = target.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj
