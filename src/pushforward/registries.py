"""Every registry in one place, for ``pushforward list`` and the docs."""

from __future__ import annotations

import importlib


def all_registries() -> dict[str, list[tuple[str, str]]]:
    """{title: [(key, description), ...]} for each registry that is available."""
    from .data import TARGETS
    from .data.noise import NOISES
    from .methods import METHODS

    out = {
        "methods (--method)": METHODS.describe(),
        "noises (--noise)": NOISES.describe(),
        "targets (DATA)": TARGETS.describe() + [
            ("SPEC", "any continuous scipy.stats distribution: norm, gamma(a=2), t(df=3)"),
            ("mix(...)", "a mixture: mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))"),
            ("image:PATH", "a picture as a 2-D density (darkness = mass)"),
            ("FILE", "csv, tsv, npy, npz, parquet, txt"),
        ],
    }
    for title, module, attr in (("losses", ".losses", "LOSSES"), ("networks (--net)", ".nets",
                                                                  "NETS")):
        try:
            reg = getattr(importlib.import_module(module, __package__), attr)
        except ImportError:
            continue
        out[title] = reg.describe()
    return out
