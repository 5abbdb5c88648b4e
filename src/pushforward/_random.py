"""One helper to normalise ``seed=`` / ``generator=`` arguments.

torch is imported only by :func:`torch_generator`: exact maps draw their noise with numpy and
never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

SeedLike = int | np.random.Generator | None

#: Largest int seed a user may give (numpy and torch take 63-bit seeds).
SEED_LIMIT = 2**63 - 1


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int, a Generator (returned as is) or None (fresh entropy).

    Example:
        >>> float(as_rng(0).random()) == float(as_rng(0).random())
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed < 0:
        _bad(seed)
    return np.random.default_rng(seed)


MAX_SEED = 2**32 - 1  # the largest seed every consumer takes (scikit-learn's random_state)


def as_seed(seed: SeedLike) -> int:
    """An int seed: the int itself, or one drawn from a Generator or from fresh entropy.

    A drawn seed lies in [0, 2³²), so it can be printed, typed back with ``--seed`` and given to
    any library as it is.

    A given int must lie in [0, 2⁶³ − 1] (:data:`SEED_LIMIT`).

    Example:
        >>> 0 <= as_seed(None) <= MAX_SEED
        True
    """
    if isinstance(seed, bool):
        _bad(seed)
    if isinstance(seed, (int, np.integer)):
        if not 0 <= seed <= SEED_LIMIT:
            _bad(seed)
        return int(seed)
    return int(as_rng(seed).integers(0, MAX_SEED, endpoint=True))


def bounded_seed(seed: int) -> int:
    """A seed in [0, 2³²) for libraries that take no larger one (scikit-learn's random_state).

    A seed already in range is kept, so figures made with it do not change; any other int is
    hashed into range through ``SeedSequence``.

    Example:
        >>> bounded_seed(7), bounded_seed(2**63 + 5) == bounded_seed(2**63 + 5) <= MAX_SEED
        (7, True)
    """
    seed = int(seed)
    if 0 <= seed <= MAX_SEED:
        return seed
    return int(np.random.SeedSequence(abs(seed)).generate_state(1)[0])


def torch_generator(seed: SeedLike, device: str | torch.device = "cpu") -> torch.Generator:
    """A seeded torch Generator on ``device``."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(as_seed(seed))
    return g


def _bad(seed) -> None:
    from .errors import PushforwardError

    raise PushforwardError(f"seed must be an integer in [0, 2^63 - 1], got {seed!r}")
