"""The one hold-out split of finite data: which rows a fit may use, which it never sees.

Every fit of finite data (exact and learned methods alike) trains on the training part only, and
the model records how its split was drawn, so ``evaluate`` and ``report`` find the held-out rows
again exactly, by the same rule, from the same data:

    perm  = numpy.random.default_rng(numpy.random.SeedSequence([seed, 1])).permutation(rows)
    held  = perm[:round(share · rows)]        (none when that is 0 or leaves < 2 training rows)
    train = perm[round(share · rows):]

The record (:func:`split_record`) holds the rule, the seed, the share, the row count and two
fingerprints: one of the data (so a file that changed is noticed, never silently re-split) and
one of the held-out indices (so a change of numpy's permutation would be noticed too).
Built-in samplers need no split: evaluation draws fresh test data from them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PushforwardError
from .source import Source

__all__ = ["RULE", "DEFAULT_SHARE", "holdout_split", "split_record", "fingerprint", "Split",
           "split_source", "find_split"]

#: The name of the rule above, recorded in every model fitted on finite data.
RULE = "permutation-v1"

#: Share of a finite data set kept out of every fit by default.
DEFAULT_SHARE = 0.1


def holdout_split(n_rows: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-out indices) of ``n_rows`` rows, by the module's rule.

    Arguments:
        n_rows: number of rows of the data.
        share: share of the rows held out, in [0, 1).
        seed: the fit's seed.

    Returns:
        Two int64 index arrays, disjoint, together every row once, in the permutation's order.
        The held-out one is empty when ``round(share · n_rows)`` is 0 or would leave fewer than
        two training rows.

    Example:
        >>> train, held = holdout_split(10, 0.2, seed=0)
        >>> len(train), len(held), sorted(np.concatenate([train, held])) == list(range(10))
        (8, 2, True)
        >>> holdout_split(10, 0.0, seed=0)[1].size
        0
    """
    if not 0 <= share < 1:
        raise PushforwardError(f"holdout must be in [0, 1), got {share}")
    n_rows = int(n_rows)
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), 1])).permutation(n_rows)
    n_held = int(round(share * n_rows))
    if n_held == 0 or n_rows - n_held < 2:
        return perm, perm[:0]
    return perm[n_held:], perm[:n_held]


def fingerprint(a: np.ndarray) -> str:
    """A short hex digest of an array's values and shape (BLAKE2b, 16 hex digits).

    Example:
        >>> fingerprint(np.zeros((2, 2))) == fingerprint(np.zeros((2, 2)))
        True
    """
    a = np.asanyarray(a)
    a = a.reshape(1) if a.ndim == 0 else a  # as numpy.ascontiguousarray has it
    h = hashlib.blake2b(digest_size=8)
    h.update(str((a.dtype.str, a.shape)).encode())
    step = max(1, (1 << 23) // max(1, a[:1].nbytes))  # ~8 MB at a time: a file on disk
    for i in range(0, len(a), step):  # is never copied whole
        h.update(np.ascontiguousarray(a[i: i + step]).tobytes())
    return h.hexdigest()


def split_record(data: np.ndarray, share: float, seed: int) -> dict[str, Any]:
    """What a model records of its split: enough to re-derive it exactly from the same data.

    Example:
        >>> r = split_record(np.arange(20.0)[:, None], 0.1, seed=3)
        >>> r["rule"], r["rows"], r["held"]
        ('permutation-v1', 20, 2)
    """
    n_held = int(round(share * len(data)))
    if n_held == 0 or len(data) - n_held < 2:  # nothing held out: no permutation to draw
        held = np.empty(0, dtype=np.int64)
    else:
        _, held = holdout_split(len(data), share, seed)
    return {"rule": RULE, "seed": int(seed), "share": float(share), "rows": int(len(data)),
            "held": int(len(held)), "data": fingerprint(data), "indices": fingerprint(held)}


@dataclass(frozen=True)
class Split:
    """A source cut for one fit.

    Attributes:
        train: the source the method fits (finite data: the training rows only; a sampler:
            the source itself).
        held: the held-out rows (None for a sampler, or when no row is held out).
        record: the split's record for ``info["split"]`` (None for a sampler).
    """

    train: Source
    held: np.ndarray | None
    record: dict[str, Any] | None


def split_source(source: Source, share: float, seed: int) -> Split:
    """Cut a finite source into its training and held-out rows; a sampler is left whole.

    Example:
        >>> from pushforward.data import load_source
        >>> s = split_source(load_source(np.arange(50.0)), 0.1, seed=0)
        >>> s.train.data.shape, s.held.shape, s.record["held"]
        ((45, 1), (5, 1), 5)
    """
    if not 0 <= share < 1:
        raise PushforwardError(f"holdout must be in [0, 1), got {share}")
    if source.data is None:
        return Split(source, None, None)
    record = split_record(source.data, share, seed)
    if not record["held"]:  # the source whole (a file on disk stays there)
        return Split(source, None, record)
    train, held = holdout_split(len(source.data), share, seed)
    meta = {**source.meta, "rows": len(train), "held_out_rows": len(held)}
    part = Source(name=source.name, columns=list(source.columns), data=source.data[train],
                  spec=source.spec, meta=meta)
    return Split(part, source.data[held], record)


def find_split(record: dict[str, Any] | None,
               data: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A model's (training indices, held-out indices) in ``data``, or None if ``data`` is not
    the data it was fitted on (another row count or other values).

    Raises:
        PushforwardError: the record names a rule this version does not know, or the rule no
            longer gives the recorded held-out rows (e.g. numpy's permutation changed).

    Example:
        >>> x = np.arange(30.0)[:, None]
        >>> train, held = find_split(split_record(x, 0.1, seed=4), x)
        >>> bool((held == holdout_split(30, 0.1, seed=4)[1]).all()), len(train)
        (True, 27)
        >>> find_split(split_record(x, 0.1, seed=4), x[:-1]) is None
        True
    """
    if not record:
        return None
    if record.get("rule") != RULE:
        raise PushforwardError(f"the model's hold-out split follows rule {record.get('rule')!r}; "
                               f"this pushforward knows {RULE!r}: pass the data and train=")
    if int(record.get("rows", -1)) != len(data) or record.get("data") != fingerprint(data):
        return None
    train, held = holdout_split(len(data), float(record["share"]), int(record["seed"]))
    if fingerprint(held) != record.get("indices"):
        raise PushforwardError("the model's held-out rows can't be found again (numpy's "
                               "permutation changed): pass held-out data and train=")
    return train, held
