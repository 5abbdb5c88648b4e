"""The hold-out split: which rows train a map and which are kept out to judge it.

One public rule, so that training (:mod:`pushforward.learned`) and evaluation
(:mod:`pushforward.evaluation`) find the same rows from the same seed.
"""

from __future__ import annotations

import numpy as np

from .source import Source


def holdout_split(source: Source, holdout: float,
                  seed: int) -> tuple[np.ndarray | None, np.ndarray]:
    """(training rows, or None for a sampler; held-out rows) for ``seed``.

    A finite data set loses ``round(holdout · n)`` rows, drawn by a permutation seeded with
    ``SeedSequence([seed, 1])``; when nothing (or all but one row) would be left out, the
    held-out sample is up to 2,000 training rows instead. A sampler gives 2,000 fresh draws.

    Example:
        >>> src = Source("x", ["x"], data=np.arange(10.0)[:, None])
        >>> train, held = holdout_split(src, 0.2, seed=0)
        >>> len(train), len(held), sorted(np.concatenate([train, held]).ravel()) == list(range(10))
        (8, 2, True)
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    if source.data is None:
        return None, source.draw(2000, seed=rng)
    data = source.data
    n_hold = int(round(holdout * len(data))) if holdout > 0 else 0
    if n_hold == 0 or len(data) - n_hold < 2:
        return data, data[rng.choice(len(data), size=min(len(data), 2000), replace=False)]
    perm = rng.permutation(len(data))
    return data[perm[n_hold:]], data[perm[:n_hold]]
