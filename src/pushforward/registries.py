"""Every registry in one place, for ``pushforward list`` and the docs."""

from __future__ import annotations


def all_registries() -> dict[str, list[tuple[str, str]]]:
    """{title: [(key, description), ...]} for each registry."""
    from .data import TARGETS
    from .data.noise import NOISES
    from .evaluation import METRICS
    from .losses import LOSSES
    from .methods import METHODS
    from .nets import NETS

    return {
        "methods (--method)": METHODS.describe(),
        "noises (--noise)": NOISES.describe(),
        "targets (DATA)": TARGETS.describe() + [
            ("SPEC", "any continuous scipy.stats distribution: norm, gamma(a=2), t(df=3)"),
            ("mix(...)", "a mixture: mix(0.3*norm(-2,0.5), 0.7*gamma(a=2))"),
            ("image:PATH", "a picture as a 2-D density (darkness = mass)"),
            ("FILE", "csv, tsv, npy, npz, parquet, txt"),
        ],
        "losses (each is also a learned method)": LOSSES.describe(),
        "networks (--net)": NETS.describe(),
        "metrics (pushforward evaluate; how each is measured: docs/measures.md)":
            METRICS.describe(),
    }
