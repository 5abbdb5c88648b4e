"""Pictures of a generated table beside the real one: pure functions returning matplotlib figures.

- :func:`column_panels`: one panel per column, worst first: a numeric column's histograms
  (real filled, generated outlined, on shared bins), a categorical column's category shares as
  bars side by side; each titled with its figure beside the floor;
- :func:`association_heatmaps`: the columns' association (Pearson's r of numeric pairs,
  Cramér's V of pairs with a category: :func:`pushforward.evaluation.tables.association_matrix`)
  for real rows, generated rows and their absolute difference.

Tables hold categories as codes (:mod:`pushforward.data.table`); labels come from the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .evaluation.tables import association_matrix, category_codes
from .plots import GENERATED, REAL, new_figure

__all__ = ["column_panels", "association_heatmaps", "MAX_PANELS"]

#: Columns drawn at most (the worst ones, when the order puts them first).
MAX_PANELS = 12


def column_panels(real, generated, schema, *, order: Sequence[str] | None = None,
                  titles: dict[str, str] | None = None, max_panels: int = MAX_PANELS):
    """One panel per modelled column of the float tables ``real`` and ``generated``.

    Arguments:
        real, generated: (n, d) and (m, d) rows, categories as codes.
        schema: the column kinds and categories.
        order: column names in the order to draw (e.g. worst first); default the schema's.
        titles: a panel title per column name (e.g. "KS 0.08, floor 0.05").
        max_panels: draw at most this many columns.

    Example:
        >>> from pushforward.data.schema import Column, Schema
        >>> s = Schema((Column("v"), Column("s", "categorical", categories=("a", "b"),
        ...                                 dtype="object")))
        >>> x = np.c_[np.arange(10.0), np.arange(10) % 2]
        >>> len(column_panels(x, x, s).axes)
        2
    """
    real, generated = category_codes(real, schema), category_codes(generated, schema)
    names = [c.name for c in schema.columns if c.kind != "constant"]
    names = [n for n in (order or names) if n in names][:max_panels]
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = new_figure(4.2 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        j = schema.names.index(name)
        column = schema.columns[j]
        if column.kind == "categorical":
            _bars(ax, real[:, j], generated[:, j], list(column.categories or ()))
        else:
            _histograms(ax, real[:, j], generated[:, j])
        ax.set_title(f"{name}: {titles[name]}" if titles and name in titles else name,
                     fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def _histograms(ax, r: np.ndarray, g: np.ndarray) -> None:
    r, g = r[~np.isnan(r)], g[~np.isnan(g)]
    both = np.concatenate([r, g])
    if not len(both):
        return
    lo, hi = np.quantile(both, [0.002, 0.998]) if len(both) > 1 else (both[0], both[0])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, 41)
    ax.hist(np.clip(r, lo, hi), edges, density=True, color=REAL, alpha=0.3,
            label=f"real ({len(r):,})")
    ax.hist(np.clip(g, lo, hi), edges, density=True, histtype="step", color=GENERATED, lw=1.5,
            label=f"generated ({len(g):,})")


def _bars(ax, r: np.ndarray, g: np.ndarray, labels: list) -> None:
    k = len(labels)

    def shares(c):
        c = c[~np.isnan(c)].astype(int)
        return np.bincount(c, minlength=k)[:k] / max(len(c), 1)

    at = np.arange(k)
    ax.bar(at - 0.2, shares(r), 0.4, color=REAL, alpha=0.55, label=f"real ({len(r):,})")
    ax.bar(at + 0.2, shares(g), 0.4, color=GENERATED, alpha=0.85,
           label=f"generated ({len(g):,})")
    shown = at if k <= 12 else at[:: -(-k // 12)]
    ax.set_xticks(shown, [str(labels[i])[:10] for i in shown], rotation=30 if k > 4 else 0,
                  ha="right" if k > 4 else "center")
    ax.set_ylabel("share", fontsize=7)


def association_heatmaps(real, generated, schema):
    """Three heat maps of the columns' association: real, generated, |generated − real|.

    Example:
        >>> from pushforward.data.schema import infer_schema
        >>> t = np.random.default_rng(0).normal(size=(200, 3))
        >>> len(association_heatmaps(t, t, infer_schema(t)).axes)  # three maps, two colour bars
        5
    """
    names, a = association_matrix(real, schema)
    _, b = association_matrix(generated, schema)
    size = min(max(3.0, 0.35 * len(names) + 1.5), 7.0)
    fig = new_figure(3 * size + 1, size)
    axes = fig.subplots(1, 3)
    panels = [("real", a, "RdBu_r", -1), ("generated", b, "RdBu_r", -1),
              ("|generated − real|", np.abs(b - a), "Oranges", 0)]
    images = []
    for ax, (title, m, cmap, lo) in zip(axes, panels, strict=True):
        images.append(ax.imshow(m, cmap=cmap, vmin=lo, vmax=1))
        ax.set_title(title, fontsize=10)
        ticks = np.arange(len(names)) if len(names) <= 20 else np.arange(0, len(names),
                                                                           len(names) // 20 + 1)
        ax.set_xticks(ticks, [names[i][:12] for i in ticks], rotation=90, fontsize=7)
        ax.set_yticks(ticks, [names[i][:12] for i in ticks], fontsize=7)
    fig.colorbar(images[0], ax=axes[:2], shrink=0.8, label="r or V")
    fig.colorbar(images[2], ax=axes[2], shrink=0.8)
    return fig
