"""Checks of what a model file holds: a checksum, JSON nesting, tensors and numbers.

A model file comes from anywhere, so every field a loader reads is checked here before it is
used: one :class:`~pushforward.errors.PushforwardError` line names the field and the value.
The messages leave out the file; :func:`pushforward.load` puts it in front.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import PushforwardError

CHECKSUM = "sha256"


def checksum(meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> str:
    """sha256 over the settings (less ``checksum``) and every tensor's name, dtype, shape, bytes.

    The settings enter as canonical JSON (sorted keys), so any change to a value, a tensor or
    its shape changes the sum.

    Example:
        >>> a = checksum({"x": 1}, {"w": np.ones(2)})
        >>> a == checksum({"x": 1}, {"w": np.ones(2)}), a == checksum({"x": 2}, {"w": np.ones(2)})
        (True, False)
    """
    h = hashlib.sha256()
    settings = {k: v for k, v in meta.items() if k != "checksum"}
    h.update(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        t = np.require(tensors[name], requirements="C")  # keeps a 0-d array 0-d
        h.update(f"\0{name}\0{t.dtype.str}\0{list(t.shape)}\0".encode())
        h.update(t.tobytes())
    return f"{CHECKSUM}:{h.hexdigest()}"


def nesting(obj: Any) -> int:
    """Depth of nested lists and dicts, counted without recursion.

    Example:
        >>> nesting(1), nesting([1, {"a": [2]}])
        (0, 3)
    """
    deepest, stack = 0, [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            stack.extend((v, depth + 1) for v in item)
    return deepest


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi] (bools and floats refused).

    Example:
        >>> integer(3, "dim", 1, 10)
        3
        >>> integer("abc", "format_version", 1, 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: format_version must be an integer in [1, 2], got 'abc'
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            lo <= value <= hi):
        raise PushforwardError(f"{name} must be an integer in [{lo}, {hi}], got {_short(value)}")
    return int(value)


def real(value: Any, name: str, lo: float = -math.inf, hi: float = math.inf, *,
         strict_lo: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] with ``strict_lo``)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and (value > lo if strict_lo else value >= lo) and value <= hi)
    if not ok:
        side = "(" if strict_lo else "["
        raise PushforwardError(f"{name} must be in {side}{lo}, {hi}] (a finite number), got "
                               f"{_short(value)}")
    return float(value)


def string(value: Any, name: str, choices: Iterable[str] | None = None) -> str:
    """``value`` as a str, one of ``choices`` when given."""
    choices = None if choices is None else sorted(choices)
    if not isinstance(value, str) or (choices is not None and value not in choices):
        valid = f"; valid: {', '.join(choices)}" if choices is not None else ""
        raise PushforwardError(f"{name} must be a string{valid}, got {_short(value)}")
    return value


def mapping(value: Any, name: str) -> dict[str, Any]:
    """``value`` as a dict (settings, info)."""
    if not isinstance(value, dict):
        raise PushforwardError(f"{name} must be a JSON object, got {_short(value)}")
    return value


def tensor_keys(tensors: dict[str, np.ndarray], required: Iterable[str],
                optional: Iterable[str] = ()) -> None:
    """Exactly the ``required`` tensors, and maybe some ``optional`` ones; no others."""
    required = set(required)
    missing = sorted(required - set(tensors))
    extra = sorted(set(tensors) - required - set(optional))
    if missing:
        raise PushforwardError(f"missing tensor {missing[0]!r}")
    if extra:
        raise PushforwardError(f"unknown tensor {extra[0]!r}")


def array(tensors: dict[str, np.ndarray], name: str, shape: tuple[int | None, ...], *,
          finite: bool = True) -> np.ndarray:
    """The float tensor ``name`` with ``shape`` (None: any size), all finite unless not asked."""
    t = tensors[name]
    if t.dtype.kind != "f" or t.dtype.itemsize < 4:
        raise PushforwardError(f"tensor {name!r} has dtype {t.dtype}; need float32 or float64")
    if t.ndim != len(shape) or any(
            s is not None and s != n for s, n in zip(shape, t.shape, strict=True)):
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise PushforwardError(f"tensor {name!r} has shape {tuple(t.shape)}; need {want}")
    if finite and not np.isfinite(t).all():
        raise PushforwardError(f"tensor {name!r} holds a NaN or infinite value")
    return t


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
