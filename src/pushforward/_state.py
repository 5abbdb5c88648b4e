"""Nested state dicts (modules, optimisers) as flat safetensors + JSON, so nothing is pickled."""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from . import _io
from .errors import PushforwardError

_TENSOR = "__tensor__"


def flatten(state: Any, prefix: str = "") -> tuple[Any, dict[str, torch.Tensor]]:
    """Split a nested dict/list of tensors and plain values into (JSON skeleton, tensors).

    Example:
        >>> skel, t = flatten({"w": torch.ones(2), "lr": 0.1, "s": {0: {"step": torch.tensor(3.)}}})
        >>> sorted(t)
        ['s.0.step', 'w']
        >>> unflatten(skel, t)["s"][0]["step"].item()
        3.0
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(obj, path):
        if isinstance(obj, torch.Tensor):
            tensors[path] = obj.detach().cpu().contiguous()
            return {_TENSOR: path}
        if isinstance(obj, dict):
            # JSON keys are strings: remember int keys (optimiser state is keyed by int)
            return {"__dict__": [[k, walk(v, f"{path}.{k}" if path else str(k))]
                                 for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(obj)]
        return obj

    return walk(state, prefix), tensors


def unflatten(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        if "__dict__" in skeleton:
            return {k: unflatten(v, tensors) for k, v in skeleton["__dict__"]}
        return {k: unflatten(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    return skeleton


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write a nested state atomically as one safetensors file with a JSON skeleton header."""
    from safetensors.torch import save

    skel, tensors = flatten(state)
    _io.write_bytes(path, save(tensors, metadata={"skeleton": json.dumps(skel)}))


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a state written by :func:`save_state` (no code is executed)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            skel = json.loads(f.metadata()["skeleton"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return unflatten(skel, tensors)
    except (Exception, RecursionError) as e:  # safetensors' errors, bad JSON, a bad skeleton
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        raise PushforwardError(f"{path}: unreadable checkpoint ({type(e).__name__}: {first})"
                               ) from None
