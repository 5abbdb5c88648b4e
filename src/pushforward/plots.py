"""Pictures of a fitted map beside real data: pure functions that return matplotlib figures.

- 1-D: :func:`histogram` (generated over real), :func:`qq`, :func:`learned_map` (G(u) beside the
  exact map F⁻¹(u) and their difference);
- 2-D: :func:`scatter_2d`, real and generated side by side (points and density), with a
  critic's contours or a velocity field's arrows from a :class:`~pushforward.grid.Grid`;
- d > 2: :func:`pairs`, a corner plot of up to 6 columns with the marginals on the diagonal;
- training: :func:`training_curves` (loss and validation figure against steps and seconds) and
  :func:`training_animation` (a GIF of samples moving into place, written with Pillow);
- benchmarks: :func:`quality_vs_time`, each method's figure against its fit seconds beside the
  perfect samplers' spread.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global state, no display):
save them with :func:`to_png`. matplotlib is an optional extra (``pip install
"pushforward[plot]"``); the data helpers (:func:`qq_points`, :func:`map_points`) need only numpy.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import PushforwardError

__all__ = ["histogram", "qq_points", "qq", "map_points", "learned_map", "scatter_2d", "pairs",
           "training_curves", "training_animation", "plots_for", "quality_vs_time", "to_png",
           "MAX_PAIRS"]

REAL, GENERATED, EXACT = "#3b4252", "#e4572e", "#2e86de"
MAX_PAIRS = 6


def new_figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PushforwardError('plots need matplotlib: pip install "pushforward[plot]"') from None
    return Figure(figsize=(width, height), layout="constrained")


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    if a.ndim != 2 or not len(a):
        raise PushforwardError(f"{name} must be a non-empty (n, d) array, got shape {a.shape}")
    return a


def plot_limits(*samples: np.ndarray | None, q: float = 0.002, pad: float = 0.05) -> np.ndarray:
    """(d, 2) plotting limits: pooled quantiles q and 1 − q, padded (gaps, NaN, left out)."""
    pooled = np.concatenate([s for s in samples if s is not None])
    if np.isnan(pooled).any():  # a table with gaps; an all-missing column gets [0, 1]
        pooled = np.where(np.isnan(pooled).all(axis=0), 0.0, pooled)
        lo, hi = np.nanquantile(pooled, [q, 1 - q], axis=0)
    else:
        lo, hi = np.quantile(pooled, [q, 1 - q], axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.stack([lo - pad * span, hi + pad * span], axis=1)


def _thin(a: np.ndarray | None, k: int) -> np.ndarray | None:
    return None if a is None else a[:: max(1, -(-len(a) // k))]


def to_png(fig, *, dpi: int = 100) -> bytes:
    """The figure as PNG bytes.

    Example:
        >>> import numpy as np
        >>> to_png(histogram(np.zeros(3) + [0, 1, 2], np.ones(3)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------- 1-D
def histogram(real, generated, *, column: int = 0, bins: int = 60, name: str | None = None):
    """Histogram of generated values over that of real values (densities, shared bins).

    Arguments:
        real: real sample (n, d) or (n,), or None to show the generated values alone.
        generated: generated sample (m, d) or (m,).
        column: the column shown.
        bins: number of bins over the pooled range (0.2 % trimmed at each end).
        name: the column's name for the axis label.

    Returns:
        A figure with one axes.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=500)
        >>> len(histogram(x, x + 0.1).axes)
        1
    """
    g = _as_2d(generated, "generated")[:, column]
    r = None if real is None else _as_2d(real, "real")[:, column]
    lo, hi = plot_limits(*(s[:, None] for s in (r, g) if s is not None))[0]
    edges = np.linspace(lo, hi, bins + 1)
    fig = new_figure(6, 3.6)
    ax = fig.add_subplot()
    if r is not None:
        ax.hist(r, edges, density=True, color=REAL, alpha=0.25, label=f"real ({len(r):,})")
        ax.hist(r, edges, density=True, histtype="step", color=REAL, lw=1.2)
    ax.hist(g, edges, density=True, histtype="step", color=GENERATED, lw=1.8,
            label=f"generated ({len(g):,})")
    ax.set(xlabel=name or f"column {column}", ylabel="density", title="histogram")
    ax.legend(frameon=False)
    return fig


def qq_points(real, generated, *, column: int = 0,
              n_quantiles: int = 199) -> tuple[np.ndarray, np.ndarray]:
    """Matching quantiles of two samples at levels 0.5 %, …, 99.5 % (the QQ plot's points).

    Arguments:
        real: real sample (n, d) or (n,).
        generated: generated sample (m, d) or (m,).
        column: the column compared.
        n_quantiles: number of levels, evenly spaced in [0.005, 0.995].

    Returns:
        (real quantiles, generated quantiles); equal samples give equal arrays (the diagonal).

    Example:
        >>> import numpy as np
        >>> x = np.arange(100.0)
        >>> q_r, q_g = qq_points(x, x + 1, n_quantiles=3)
        >>> (q_g - q_r).tolist()
        [1.0, 1.0, 1.0]
    """
    levels = np.linspace(0.005, 0.995, n_quantiles)
    return (np.quantile(_as_2d(real, "real")[:, column], levels),
            np.quantile(_as_2d(generated, "generated")[:, column], levels))


def qq(real, generated, *, column: int = 0, name: str | None = None):
    """QQ plot: generated quantiles against real ones (:func:`qq_points`), with the diagonal.

    Returns:
        A figure with one axes.

    Example:
        >>> import numpy as np
        >>> len(qq(np.arange(50.0), np.arange(50.0)).axes)
        1
    """
    q_r, q_g = qq_points(real, generated, column=column)
    fig = new_figure(4.2, 4.2)
    ax = fig.add_subplot()
    lo, hi = min(q_r.min(), q_g.min()), max(q_r.max(), q_g.max())
    ax.plot([lo, hi], [lo, hi], color=REAL, lw=1, ls="--", label="y = x")
    ax.plot(q_r, q_g, ".", color=GENERATED, ms=4, label="0.5 % … 99.5 %")
    label = name or f"column {column}"
    ax.set(xlabel=f"real quantiles of {label}", ylabel="generated quantiles", title="QQ plot")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(frameon=False, loc="upper left")
    return fig


def map_points(model, *, ppf=None, data=None, levels: np.ndarray | None = None):
    """The learned map G at noise quantile u beside the exact map F⁻¹(u), for a 1-D map.

    Arguments:
        model: a fitted pointwise map with 1-D noise and data.
        ppf: the exact inverse cdf F⁻¹ (for a known distribution), or
        data: real values, whose empirical quantiles stand in for F⁻¹.
        levels: the u values (default 981 points in [0.01, 0.99], as ``docs/measures.md``).

    Returns:
        (u, G(z_u), F⁻¹(u)) with z_u the noise value of quantile u.

    Example:
        >>> import pushforward
        >>> from scipy import stats
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> u, g, f = map_points(m, ppf=stats.norm.ppf)
        >>> float(abs(g - f).max()) < 1e-9
        True
    """
    if not (model.dim == model.latent_dim == 1 and model.pointwise):
        raise PushforwardError("the map plot needs a pointwise map from 1-D noise to 1-D data")
    u = np.linspace(0.01, 0.99, 981) if levels is None else np.asarray(levels, dtype=float)
    g = np.asarray(model.inverse_transform(model.noise_.ppf(u)[:, None]), dtype=float)[:, 0]
    if ppf is not None:
        exact = np.asarray(ppf(u), dtype=float)
    elif data is not None:
        exact = np.quantile(_as_2d(data, "data")[:, 0], u)
    else:
        raise PushforwardError("map_points needs the exact ppf or real data")
    return u, g, exact


def learned_map(model, *, ppf=None, data=None):
    """G(u) beside the exact map F⁻¹(u) (or the empirical quantiles), and |G − F⁻¹| below.

    Returns:
        A figure with two axes (the maps; their difference).

    Example:
        >>> import pushforward
        >>> from scipy import stats
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> len(learned_map(m, ppf=stats.norm.ppf).axes)
        2
    """
    u, g, exact = map_points(model, ppf=ppf, data=data)
    exact_label = "exact F⁻¹(u)" if ppf is not None else "empirical quantiles F̂⁻¹(u)"
    fig = new_figure(6, 4.8)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    top.plot(u, exact, color=EXACT, lw=3, alpha=0.5, label=exact_label)
    top.plot(u, g, color=GENERATED, lw=1.4, label=f"{model.method}: G(u)")
    top.set(ylabel="x", title="the map, at noise quantile u")
    top.legend(frameon=False)
    bottom.plot(u, np.abs(g - exact), color=GENERATED, lw=1.2)
    bottom.set(xlabel="u", ylabel="|G(u) − F⁻¹(u)|")
    return fig


# ---------------------------------------------------------------------------------------- 2-D
def _grid_parts(grid) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if isinstance(grid, Mapping):
        x, y, v, kind = grid["x"], grid["y"], grid["values"], grid.get("kind", "")
    elif hasattr(grid, "values") and hasattr(grid, "x"):
        x, y, v, kind = grid.x, grid.y, grid.values, getattr(grid, "kind", "")
    else:
        x, y, v = grid
        kind = ""
    x, y, v = (np.asarray(a, dtype=float) for a in (x, y, v))
    if v.shape[:2] != (len(y), len(x)) or v.ndim not in (2, 3):
        raise PushforwardError(f"grid values must have shape (len(y), len(x)) or "
                               f"(len(y), len(x), 2), got {v.shape}")
    return x, y, v, kind or ("velocity" if v.ndim == 3 else "critic")


def draw_field(ax, grid) -> None:
    x, y, v, kind = _grid_parts(grid)
    if v.ndim == 2:
        cs = ax.contour(x, y, v, levels=12, cmap="coolwarm", linewidths=0.9, alpha=0.9)
        ax.clabel(cs, fontsize=6, fmt="%.2g")
        return
    step = max(1, len(x) // 21)
    xs, ys = np.meshgrid(x[::step], y[::step])
    ax.quiver(xs, ys, v[::step, ::step, 0], v[::step, ::step, 1], color=EXACT, alpha=0.7,
              width=0.003, angles="xy")


def scatter_2d(real, generated, *, grid=None, columns: Sequence[int] = (0, 1),
               names: Sequence[str] | None = None, max_points: int = 4000, bins: int = 90):
    """Real and generated points side by side (top) and their 2-D histograms (bottom).

    Arguments:
        real: real sample (n, d), or None to show the generated points alone.
        generated: generated sample (m, d).
        grid: a critic or velocity field on a grid, drawn over the points: a
            :class:`~pushforward.grid.Grid`, or (x, y, values) with values (len(y), len(x))
            for contours or (len(y), len(x), 2) for arrows.
        columns: the two columns shown.
        names: the columns' names for the axis labels.
        max_points: at most this many points are drawn per panel.
        bins: histogram cells per axis.

    Returns:
        A figure with 2 × 2 axes (2 × 1 without real data).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(300, 2))
        >>> len(scatter_2d(x, x + 0.1).axes), len(scatter_2d(None, x).axes)
        (4, 2)
    """
    cols = list(columns)
    g = _as_2d(generated, "generated")[:, cols]
    r = None if real is None else _as_2d(real, "real")[:, cols]
    lim = plot_limits(r, g)
    panels = [("real", r, REAL, "Greys"), ("generated", g, GENERATED, "Oranges")]
    panels = panels if r is not None else panels[1:]
    fig = new_figure(4.2 * len(panels), 8)
    axes = np.asarray(fig.subplots(2, len(panels), sharex=True, sharey=True, squeeze=False))
    edges = [np.linspace(*lim[0], bins + 1), np.linspace(*lim[1], bins + 1)]
    for k, (title, s, colour, cmap) in enumerate(panels):
        top, bottom = axes[0, k], axes[1, k]
        shown = _thin(s, max_points)
        top.scatter(shown[:, 0], shown[:, 1], s=3, color=colour, alpha=0.5, linewidths=0)
        if grid is not None:
            draw_field(top, grid)
        top.set_title(f"{title} ({len(s):,} points)")
        h, _, _ = np.histogram2d(s[:, 0], s[:, 1], bins=edges, density=True)
        bottom.imshow(np.sqrt(h.T), origin="lower", aspect="auto", cmap=cmap,
                      extent=(*lim[0], *lim[1]))
        bottom.set_title(f"{title}: density (square-root scale)", fontsize=9)
    labels = list(names) if names is not None else [f"column {c}" for c in cols]
    for ax in axes.ravel():
        ax.set(xlim=lim[0], ylim=lim[1])
    for ax in axes[1]:
        ax.set_xlabel(labels[0])
    for ax in axes[:, 0]:
        ax.set_ylabel(labels[1])
    return fig


def pairs(real, generated, *, columns: Sequence[int] | None = None,
          names: Sequence[str] | None = None, max_points: int = 1500, bins: int = 40):
    """Corner plot of up to 6 columns: pairwise scatter below the diagonal, marginals on it.

    Arguments:
        real: real sample (n, d), or None.
        generated: generated sample (m, d).
        columns: the columns shown (default the first 6).
        names: names of all the data's columns.
        max_points: at most this many points per scatter.
        bins: bins of the marginal histograms.

    Returns:
        A figure with k(k + 1)/2 axes for k columns.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(200, 8))
        >>> len(pairs(x, x).axes), len(pairs(x, x, columns=[0, 3, 5]).axes)
        (21, 6)
    """
    g = _as_2d(generated, "generated")
    cols = list(columns) if columns is not None else list(range(min(g.shape[1], MAX_PAIRS)))
    if not 1 <= len(cols) <= MAX_PAIRS:
        raise PushforwardError(f"pairs shows 1 to {MAX_PAIRS} columns, got {len(cols)}")
    g = g[:, cols]
    r = None if real is None else _as_2d(real, "real")[:, cols]
    lim, k = plot_limits(r, g), len(cols)
    labels = [names[c] if names is not None else f"column {c}" for c in cols]
    fig = new_figure(1.9 * k + 1, 1.9 * k + 0.6)
    gs = fig.add_gridspec(k, k)
    rt, gt = _thin(r, max_points), _thin(g, max_points)
    for i in range(k):
        for j in range(i + 1):
            ax = fig.add_subplot(gs[i, j])
            if i == j:
                edges = np.linspace(*lim[i], bins + 1)
                if r is not None:
                    ax.hist(r[:, i], edges, density=True, color=REAL, alpha=0.3)
                ax.hist(g[:, i], edges, density=True, histtype="step", color=GENERATED)
                ax.set_yticks([])
            else:
                if rt is not None:
                    ax.scatter(rt[:, j], rt[:, i], s=1.5, color=REAL, alpha=0.35, linewidths=0)
                ax.scatter(gt[:, j], gt[:, i], s=1.5, color=GENERATED, alpha=0.35,
                           linewidths=0)
                ax.set_ylim(lim[i])
            ax.set_xlim(lim[j])
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(labels[j], fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i], fontsize=8)
    fig.suptitle("real (grey) and generated (orange): pairs and marginals", fontsize=10)
    return fig


# ----------------------------------------------------------------------------------- training
def _history(history) -> Mapping[str, Sequence[float]]:
    h = getattr(history, "history", history)
    if hasattr(h, "as_dict"):
        h = h.as_dict()
    if not isinstance(h, Mapping) or not len(h.get("step", ())):
        raise PushforwardError("no training history to plot (exact maps are not trained)")
    return h


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` points (fewer at the start)."""
    if window <= 1:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    i = np.arange(1, len(y) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def training_curves(history):
    """Training loss and the validation figure (ED² on held-out data) against steps and seconds.

    Arguments:
        history: a learned map (its ``history``) or its history dict: ``step``, ``seconds``,
            ``loss`` and optionally ``val_step``, ``val_seconds``, ``val_energy``.

    Returns:
        A figure with 2 × 2 axes (1 × 2 without validation): rows loss, validation; columns
        against steps, against seconds.

    Example:
        >>> h = {"step": [1, 2, 3], "seconds": [0.1, 0.2, 0.3], "loss": [3.0, 2.0, 1.5],
        ...      "val_step": [2], "val_seconds": [0.2], "val_energy": [0.1]}
        >>> len(training_curves(h).axes)
        4
    """
    h = _history(history)
    val = len(h.get("val_energy", ()) or ()) > 0
    fig = new_figure(9, 6.2 if val else 3.4)
    axes = np.asarray(fig.subplots(2 if val else 1, 2, squeeze=False))
    loss = np.asarray(h["loss"], dtype=float)
    smooth = _smooth(loss, max(1, len(loss) // 50))
    log = bool(loss.min() > 0 and loss.max() / loss.min() > 30)
    for k, (key, vkey, unit) in enumerate((("step", "val_step", "step"),
                                           ("seconds", "val_seconds", "seconds"))):
        t = np.asarray(h[key], dtype=float)
        ax = axes[0, k]
        ax.plot(t, loss, color=GENERATED, alpha=0.25, lw=0.8, label="loss")
        ax.plot(t, smooth, color=GENERATED, lw=1.6, label="running mean")
        ax.set(xlabel=unit, ylabel="training loss", yscale="log" if log else "linear")
        if k == 0:
            ax.legend(frameon=False)
        if val:
            v = np.asarray(h["val_energy"], dtype=float)
            ax = axes[1, k]
            ax.plot(np.asarray(h[vkey], dtype=float), v, "o-", color=EXACT, ms=3, lw=1.2)
            spread = (v > 0).all() and v.max() / v.min() > 10
            ax.set(xlabel=unit, ylabel="validation ED²", yscale="log" if spread else "linear")
    fig.suptitle("training", fontsize=11)
    return fig


def training_animation(snapshots: Sequence[Any], *, real=None, steps: Sequence[int] | None = None,
                       fps: float = 4, dpi: int = 72, bins: int = 60) -> bytes:
    """An animated GIF of training: the histogram (1-D) or point cloud (2-D) moving into place.

    Arguments:
        snapshots: generated samples at successive points of training, each (n, 1) or (n, 2).
        real: real sample drawn behind every frame (optional).
        steps: the training step of each snapshot, for the frame titles.
        fps: frames per second.
        dpi: resolution of the frames.
        bins: histogram bins (1-D).

    Returns:
        The GIF file's bytes (loops forever); written with Pillow, no ffmpeg.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> gif = training_animation([rng.normal(s, 1, (200, 2)) for s in (2, 1, 0)])
        >>> gif[:6]
        b'GIF89a'
    """
    from PIL import Image

    new_figure(1, 1)  # a clear error when matplotlib is missing
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    shots = [_as_2d(s, "snapshot") for s in snapshots]
    if not shots or shots[0].shape[1] not in (1, 2):
        raise PushforwardError("training_animation needs 1-D or 2-D snapshots")
    r = None if real is None else _as_2d(real, "real")
    lim = plot_limits(r, *shots)
    frames = []
    for k, s in enumerate(shots):
        fig = new_figure(4.5, 4 if s.shape[1] == 2 else 3.2)
        ax = fig.add_subplot()
        if s.shape[1] == 1:
            edges = np.linspace(*lim[0], bins + 1)
            if r is not None:
                ax.hist(r[:, 0], edges, density=True, color=REAL, alpha=0.3)
            ax.hist(s[:, 0], edges, density=True, histtype="step", color=GENERATED, lw=1.8)
        else:
            if r is not None:
                rt = _thin(r, 3000)
                ax.scatter(rt[:, 0], rt[:, 1], s=2, color=REAL, alpha=0.25, linewidths=0)
            st = _thin(s, 3000)
            ax.scatter(st[:, 0], st[:, 1], s=3, color=GENERATED, alpha=0.6, linewidths=0)
            ax.set_ylim(lim[1])
        ax.set_xlim(lim[0])
        ax.set_title(f"step {steps[k]:,}" if steps is not None else f"snapshot {k + 1}")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB"))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=int(1000 / fps), optimize=True)
    return buf.getvalue()


# ---------------------------------------------------------------------------- what applies
def plots_for(model, real=None, generated=None, *, dist=None, grid=None, seed: int = 0,
              n: int = 5000) -> dict[str, Any]:
    """Every plot that applies to ``model``, by name, in the report's order.

    1-D: ``histogram``, ``qq`` (with real data), ``map`` (pointwise 1-D maps, against ``dist``'s
    ppf or the real data's quantiles); 2-D: ``scatter``; d > 2: ``pairs``; learned maps with
    a history: ``training``.

    Arguments:
        model: the fitted map.
        real: real sample (n, d), or None.
        generated: generated sample; default ``model.sample(n, seed=seed)``.
        dist: the exact distribution of 1-D data (anything with ``ppf``), if known.
        grid: a critic or velocity field for the 2-D plot (see :func:`scatter_2d`).
        seed, n: the generated sample drawn when none is given.

    Returns:
        {name: figure}.

    Example:
        >>> import pushforward
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> list(plots_for(m, m.sample(500, seed=1), n=500))
        ['histogram', 'qq', 'map']
    """
    g = (_as_2d(generated, "generated") if generated is not None
         else model.sample_table(n, seed=seed))
    names = getattr(model, "columns", None)
    out: dict[str, Any] = {}
    if model.dim == 1:
        out["histogram"] = histogram(real, g, name=names[0] if names else None)
        if real is not None:
            out["qq"] = qq(real, g, name=names[0] if names else None)
        if model.latent_dim == 1 and model.pointwise and (dist is not None or real is not None):
            out["map"] = learned_map(model, ppf=getattr(dist, "ppf", None),
                                     data=real if dist is None else None)
    elif model.dim == 2:
        out["scatter"] = scatter_2d(real, g, grid=grid, names=names)
    else:
        out["pairs"] = pairs(real, g, names=names)
    history = getattr(model, "history", None)
    if history and len(history.get("step", ())):
        out["training"] = training_curves(history)
    return out


# ----------------------------------------------------------------------------------- benchmark
def quality_vs_time(points: Sequence[tuple[str, float, float]], *,
                    perfect: Sequence[float] = (), title: str = "",
                    label: str = "ed_ratio (1 = real data)"):
    """One benchmark target: each (method, fit seconds, figure) as a point, log-log, with the
    perfect samplers' spread as a band and 1 (real data's floor) as a line.

    Example:
        >>> fig = quality_vs_time([("gmm", 1.2, 1.1), ("nsf", 30.0, 1.4)], perfect=[0.8, 1.2])
        >>> len(fig.axes[0].collections) >= 2
        True
    """
    fig = new_figure(5.5, 3.6)
    ax = fig.add_subplot()
    if len(perfect):
        ax.axhspan(min(perfect), max(perfect), color=EXACT, alpha=0.15,
                   label=f"perfect samplers ({len(perfect)})")
    ax.axhline(1.0, color=REAL, lw=0.8, ls="--")
    colours = {}
    for method, seconds, value in points:
        if not (np.isfinite(value) and value > 0):
            continue
        first = method not in colours
        colours.setdefault(method, f"C{len(colours) % 10}")
        ax.scatter([max(seconds, 1e-2)], [value], color=colours[method], s=30,
                   label=method if first else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("fit seconds (wall clock)")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="best")
    return fig
