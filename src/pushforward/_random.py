"""One helper to normalise ``seed=`` / ``generator=`` arguments."""

from __future__ import annotations

import numpy as np
import torch

SeedLike = int | np.random.Generator | None


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int, a Generator (returned as is) or None (fresh entropy).

    Example:
        >>> float(as_rng(0).random()) == float(as_rng(0).random())
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def as_seed(seed: SeedLike) -> int:
    """An int seed: the int itself, or one drawn from a Generator or from fresh entropy."""
    if isinstance(seed, (int, np.integer)):
        return int(seed)
    return int(as_rng(seed).integers(0, 2**63 - 1))


def torch_generator(seed: SeedLike, device: str | torch.device = "cpu") -> torch.Generator:
    """A seeded torch Generator on ``device``."""
    g = torch.Generator(device=device)
    g.manual_seed(as_seed(seed))
    return g
