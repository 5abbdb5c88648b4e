"""What a run may ask for, and so what a model file may ask for.

``fit`` refuses settings beyond these limits, and :func:`pushforward.load` refuses model files
that ask for more: a file can never make ``sample`` build a network, an ODE grid or a table
larger than some ``fit`` could have produced.
"""

from __future__ import annotations

import numbers

#: Hidden units per layer of any network.
MAX_WIDTH = 4096
#: Hidden layers (or residual blocks) of any network.
MAX_DEPTH = 64
#: Weights of the hidden layers, about width² · depth (2²⁶ ≈ 67 M, 256 MiB in float32).
MAX_PARAMETERS = 2**26
#: Steps of a fixed-step ODE solver.
MAX_ODE_STEPS = 10_000
#: Data columns (a copula holds a d × d matrix; 4096² doubles are 128 MiB).
MAX_COLUMNS = 4096
#: Largest |value| in data: its square (a variance, a distance) stays finite in float64.
MAX_MAGNITUDE = 1e150
#: Bytes of a model file's JSON header.
MAX_HEADER_BYTES = 64 * 2**20
#: Nesting depth of a model file's JSON settings.
MAX_NESTING = 32
#: Steps of a training run.
MAX_STEPS = 10**9
#: Seconds of a training run's time budget (a year).
MAX_SECONDS = 365 * 86400.0
#: Rows of one sample request (beyond, write in several runs).
MAX_ROWS = 10**12
#: Samples per training step.
MAX_BATCH = 2**22
#: Rows of an evaluation's samples (its figures need memory and time that grow with n).
MAX_EVAL_ROWS = 10**6
#: Torch CPU threads.
MAX_THREADS = 1024


def check_net_size(width: int, depth: int, *, where: str = "net") -> None:
    """Refuse a network wider, deeper or heavier than any run may build (one line).

    Example:
        >>> check_net_size(256, 3)
        >>> check_net_size(1, 10**6)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: net: depth 1000000 is above the limit of 64
    """
    from .errors import PushforwardError

    for name, value, top in (("width", width, MAX_WIDTH), ("depth", depth, MAX_DEPTH)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise PushforwardError(f"{where}: {name} must be an integer, got {value!r}")
        if value > top:
            raise PushforwardError(f"{where}: {name} {value} is above the limit of {top}")
    if width * width * max(depth, 1) > MAX_PARAMETERS:
        raise PushforwardError(f"{where}: width {width} × depth {depth} needs about "
                               f"{width * width * depth:,} weights, above the limit of "
                               f"{MAX_PARAMETERS:,}")
