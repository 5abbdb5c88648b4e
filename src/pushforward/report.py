"""One self-contained HTML report of a fitted map: :func:`report`.

The file holds everything inline (styles, PNG figures and the GIF as base64), loads nothing
from the network and opens from disk: the data summary, the method and its settings, every
figure beside its noise floor with the verdict (:func:`pushforward.evaluation.evaluate`), every
plot that applies (:func:`pushforward.plots.plots_for`) and the training curve. An image model
shows images instead of pixel plots (:mod:`pushforward.image_report`: generated, real, each
generated image beside its nearest training image, the class histogram). A table gets a
section of its own: its columns worst first, each figure beside its floor and each column's
histogram or category bars, and the association heat maps (:mod:`pushforward.table_plots`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import _io
from .errors import PushforwardError
from .model import FittedMap

__all__ = ["report", "render_html", "CAPTIONS"]

#: What each plot shows, under it in the report.
CAPTIONS = {
    "histogram": "Histogram of generated values (orange) over real ones (grey), on shared bins.",
    "qq": "QQ plot: generated quantiles against real ones, from 0.5 % to 99.5 %. The points lie "
          "on the dashed diagonal when the two distributions agree.",
    "map": "The map itself: G(u), the data value the model gives to the noise value of quantile "
           "u, beside the exact map F⁻¹(u) (or the real data's quantiles), and their difference "
           "below.",
    "scatter": "Real points (left) and generated points (right), with their 2-D histograms below "
               "on the same axes.",
    "pairs": "Pairs of up to six columns: real (grey) and generated (orange) points below the "
             "diagonal, each column's histogram on it.",
    "training": "Training: the loss (top; light: each step, dark: running mean) and the "
                "validation energy distance on held-out data (bottom), against steps and "
                "seconds.",
}

SKIPPED = {"dcr": "memorisation (distance to closest record)",
           "exact_map": "the error against the exact map"}

CSS = """
:root { --ink: #2e3440; --muted: #6b7280; --line: #e5e7eb; --ok: #1b7f4b; --bad: #b42318;
        --accent: #e4572e; --bg: #fafafa; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 36px 0 12px; padding-bottom: 6px;
     border-bottom: 2px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 18px; }
.verdict { padding: 14px 18px; border-radius: 8px; font-size: 1.05rem; font-weight: 600;
           border-left: 6px solid; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.verdict.ok { border-color: var(--ok); color: var(--ok); }
.verdict.bad { border-color: var(--bad); color: var(--bad); }
.verdict.none { border-color: var(--muted); color: var(--muted); }
.verdict.warn { border-color: var(--warn); color: var(--warn); }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .92rem;
        box-shadow: 0 1px 3px rgba(0,0,0,.06); border-radius: 6px; overflow: hidden; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
.tag { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .82rem;
       font-weight: 600; white-space: nowrap; }
.tag.ok { background: #e3f4ea; color: var(--ok); }
.tag.bad { background: #fde7e5; color: var(--bad); }
.tag.warn { background: #fff4d6; color: var(--warn); }
.note { color: var(--muted); font-size: .85rem; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0;
        background: #fff; padding: 12px 16px; border-radius: 6px;
        box-shadow: 0 1px 3px rgba(0,0,0,.06); }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; white-space: pre-wrap; }
details { margin-top: 10px; }
pre { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
      overflow-x: auto; font-size: .82rem; }
figure { margin: 18px 0; background: #fff; padding: 12px; border-radius: 8px;
         box-shadow: 0 1px 3px rgba(0,0,0,.08); }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: 8px; }
ul.notes { color: var(--muted); font-size: .88rem; padding-left: 20px; }
footer { margin-top: 40px; color: var(--muted); font-size: .8rem; }
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(data: bytes, mime: str, name: str, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return (f'<figure data-plot="{_esc(name)}"><img src="data:{mime};base64,{b64}" '
            f'alt="{_esc(alt)}"><figcaption>{_esc(alt)}</figcaption></figure>')


def _data_section(source, real: np.ndarray | None) -> str:
    if source is None or real is None:
        return ("<p class='note'>No data given: pass <code>data=</code> (or <code>--data"
                "</code>) for the comparison with real data and the figures' noise floors.</p>")
    if source.data is not None:
        kind = f"{len(source.data):,} rows (a finite sample)"
    else:
        kind = "fresh draws (a built-in target or a distribution)"
    items = [("data", source.name), ("samples", kind), ("dimension", source.dim)]
    items += [(k, v) for k, v in source.meta.items()
              if isinstance(v, str | int | float) and k not in ("samples", "data", "dimension")]
    head = "<th>column</th>" + "".join(f"<th class='num'>{h}</th>" for h in (
        "mean", "std", "min", "1 %", "median", "99 %", "max"))
    rows = []
    for j, name in enumerate(source.columns[:12]):
        c = real[:, j]
        c = c[~np.isnan(c)] if np.isnan(c).any() else c  # gaps: the present values' summary
        vals = ([c.mean(), c.std(), c.min(), *np.quantile(c, [0.01, 0.5, 0.99]), c.max()]
                if len(c) else [np.nan] * 7)
        rows.append(f"<tr><td>{_esc(name)}</td>" +
                    "".join(f"<td class='num'>{v:.4g}</td>" for v in vals) + "</tr>")
    more = (f"<p class='note'>… and {source.dim - 12} more columns.</p>"
            if source.dim > 12 else "")
    return (_kv(items) + f"<p class='note'>Column summary of {len(real):,} real points:</p>"
            f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}")


def _kv(items) -> str:
    return "<dl class='kv'>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>"
                                       for k, v in items) + "</dl>"


def _model_section(model: FittedMap) -> str:
    items = [("method", model.method), ("map", type(model).__name__),
             ("noise", f"{model.noise}, {model.latent_dim}-D"),
             ("data dimension", model.dim), ("seed", model.seed)]
    info = dict(model.info or {})
    if "auto" in info:
        items.append(("why this method", info.pop("auto")))
    for key in ("steps", "seconds", "stopped"):
        if key in info:
            items.append((f"training {key}", info.pop(key)))
    board = info.pop("leaderboard", None)
    if isinstance(board, list):
        from .auto import leaderboard_lines

        items.append(("auto's race (score: energy distance to held-out rows, × the floor)",
                      "\n".join(leaderboard_lines([r for r in board if isinstance(r, dict)]))))
    hold = info.pop("holdout", None)
    if isinstance(hold, dict) and "summary" in hold:
        items.append(("check at the end of the fit", hold["summary"]))
    settings = json.dumps({"settings": model.settings, "info": info}, indent=2, default=str)
    return (_kv(items) + "<details><summary>all settings</summary>"
            f"<pre>{_esc(settings)}</pre></details>")


def _metrics_section(evaluation) -> str:
    from .evaluation.floors import fmt

    if evaluation is None:
        return "<p class='note'>No figures without real data.</p>"
    head = ("<th>figure</th><th class='num'>model</th><th class='num'>real vs real</th>"
            "<th class='num'>ratio</th><th>verdict</th><th>note</th>")
    rows = []
    for r in evaluation.rows:
        kind = "bad" if r.ok is False else ("ok" if evaluation.reference == "held-out"
                                              else "warn")
        tag = (f"<span class='note'>{_esc(r.verdict)}</span>" if r.ok is None else
               f"<span class='tag {kind}'>{_esc(r.verdict)}</span>")
        rows.append(f"<tr><td>{_esc(r.label)}</td><td class='num'>{_esc(fmt(r.value))}</td>"
                    f"<td class='num'>{_esc(fmt(r.floor))}</td>"
                    f"<td class='num'>{_esc(fmt(r.ratio, ratio=True))}</td><td>{tag}</td>"
                    f"<td class='note'>{_esc(r.note)}</td></tr>")
    notes = list(evaluation.notes) + [f"not measured: {SKIPPED.get(k, k)} ({v})"
                                      for k, v in evaluation.skipped.items()]
    notes.append("Each figure is measured twice against the same reference sample: for the "
                 "model, and for real data of the same size (the noise floor). Divergences "
                 "average 5 generated and 10 real samples and are tested by an exact "
                 "permutation test; C2ST by a binomial test (0.5 = indistinguishable). The "
                 "verdict: these tests vote together with Holm's correction at level 0.01 (a "
                 "perfect model is called distinguishable in at most 1 % of evaluations), with "
                 "mode coverage and the memorisation check; the k-NN figures are shown, not "
                 "voting.")
    return (f"<table><tr>{head}</tr>{''.join(rows)}</table><ul class='notes'>" +
            "".join(f"<li>{_esc(n)}</li>" for n in notes) + "</ul>")


def _table_section(evaluation, model: FittedMap, real, generated) -> str:
    """A table's page: worst columns first (figures beside floors, then each column's
    histogram or bars, real beside generated) and the association heat maps."""
    from . import plots
    from .evaluation.floors import fmt
    from .table_plots import association_heatmaps, column_panels

    t = evaluation.tabular
    head = ("<th>column</th><th>figure</th><th class='num'>model</th>"
            "<th class='num'>real vs real</th><th class='num'>missing Δ (pp)</th>"
            "<th class='num'>real</th>")
    rows = "".join(
        f"<tr><td>{_esc(c.name)}</td><td>{c.statistic}</td><td class='num'>{fmt(c.value)}</td>"
        f"<td class='num'>{fmt(c.floor)}</td><td class='num'>{c.missing:.1f}</td>"
        f"<td class='num'>{c.missing_floor:.1f}</td></tr>" for c in t.columns[:12])
    trends = (f"Column Pair Trends {t.trends:.3f} (real rows: {t.trends_floor:.3f})"
              if t.trends is not None else "one column: no pairs")
    summary = (f"<p>Column Shapes {t.shapes:.3f} (real rows: {t.shapes_floor:.3f}); {trends}"
               "; 1 = identical, as SDMetrics scores them.</p>")
    titles = {c.name: f"{c.statistic} {fmt(c.value)} (real {fmt(c.floor)})" for c in t.columns}
    panels = column_panels(real, generated, model.schema, order=[c.name for c in t.columns],
                           titles=titles)
    html_ = summary + f"<table><tr>{head}</tr>{rows}</table>" + _img(
        plots.to_png(panels), "image/png", "columns",
        "Each column, worst first: histograms of a numeric column (real filled grey, "
        "generated outlined orange) or the shares of each category (real grey, generated "
        "orange), titled with its figure beside the same figure for real rows.")
    if len(model.schema.varying) >= 2:
        html_ += _img(plots.to_png(association_heatmaps(real, generated, model.schema)),
                      "image/png", "associations",
                      "Association of each pair of columns: Pearson's r of two numeric "
                      "columns, Cramér's V of a pair with a category (numeric columns binned "
                      "by deciles); real, generated, and their absolute difference.")
    return html_


def _auto_grid(model: FittedMap, real, generated):
    """A flow map's velocity field or an adversarial model's critic over the plotted region."""
    if model.dim != 2 or not (hasattr(model, "velocity")
                              or getattr(model, "critic_", None) is not None):
        return None
    from .grid import field_on_grid
    from .plots import plot_limits

    lim = plot_limits(real, generated)
    return field_on_grid(model, (*lim[0], *lim[1]), 31)


def _image_figures(model: FittedMap, source, generated, real, evaluation) -> list[str]:
    """An image model's pictures (:mod:`pushforward.image_report`), in place of the plots of
    pixel columns, which say little about images."""
    from .image_report import image_panels

    return [_img(png, "image/png", name, caption) for png, name, caption in
            image_panels(model, source, generated, real, evaluation)]


def render_html(model: FittedMap | str | os.PathLike, data: Any = None, *, n: int = 10_000,
                seed: int = 0, train: Any = None, evaluation=None, grid=None,
                snapshots=None, snapshot_steps=None, title: str | None = None,
                plot_points: int = 5000) -> str:
    """The report's HTML text (:func:`report` writes it); see :func:`report` for arguments."""
    from . import __version__, plots
    from .evaluation import evaluate

    model = _as_model(model)
    source = _source(model, data)
    if snapshots is None:  # a learned map keeps its own, in memory and in its model file
        snapshots = getattr(model, "snapshots_", None)
        snapshot_steps = snapshot_steps or getattr(model, "snapshot_steps_", None) or None
    if evaluation is None and source is not None:
        evaluation = evaluate(model, source, n=n, seed=seed, train=train)
    k = min(n, plot_points)
    real = None if source is None else source.draw(k, seed=seed + 7)
    generated = model.sample_table(k, seed=seed + 8)
    if grid is None:
        grid = _auto_grid(model, real, generated)
    figs = plots.plots_for(model, real, generated, dist=getattr(source, "dist", None),
                           grid=grid)
    training = figs.pop("training", None)
    pictures = getattr(model.schema, "images", False) and real is not None
    images = (_image_figures(model, source, generated, real, evaluation) if pictures else
              [_img(plots.to_png(f), "image/png", name, CAPTIONS[name])
               for name, f in figs.items()])
    train_html = ""
    if training is not None:
        train_html += _img(plots.to_png(training), "image/png", "training", CAPTIONS["training"])
    if snapshots is not None and len(snapshots) and not pictures:
        gif = plots.training_animation(snapshots, real=real, steps=snapshot_steps)
        train_html += _img(gif, "image/gif", "animation",
                           "Training, animated: generated samples (orange) moving into place "
                           "over the real data (grey).")
    name = source.name if source is not None else model.info.get("source", "unknown data")
    title = title or f"{model.method} on {name}"
    verdict = evaluation.verdict if evaluation is not None else "not evaluated: no real data"
    cls = "none" if evaluation is None else {"green": "ok", "red": "bad"}.get(
        evaluation.colour, "warn")  # a pass only on held-out rows
    made = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        ("Verdict", f"<div class='verdict {cls}'>{_esc(verdict)}</div>"),
        ("Data", _data_section(source, real)),
        ("Method and settings", _model_section(model)),
        ("Figures beside their noise floor", _metrics_section(evaluation)),
    ]
    if evaluation is not None and evaluation.tabular is not None and real is not None:
        sections.append(("Table: columns and associations",
                         _table_section(evaluation, model, real, generated)))
    sections += [
        ("Pictures", "".join(images)),
        ("Training", train_html or "<p class='note'>This map was not trained (an exact "
                                   "method): no training curve.</p>"),
    ]
    body = "".join(f"<section><h2>{_esc(h)}</h2>{c}</section>" for h, c in sections)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_esc(title)}: pushforward report</title><style>{CSS}</style></head>"
            f"<body><main><h1>{_esc(title)}</h1><p class='sub'>pushforward report · "
            f"{_esc(made)} · seed {seed}</p>{body}<footer>Made by pushforward {__version__}. "
            f"Figures are measured as docs/measures.md defines them; this file is "
            f"self-contained and opens without a network.</footer></main></body></html>\n")


def report(model: FittedMap | str | os.PathLike, data: Any = None, *,
           out: str | os.PathLike = "report.html", n: int = 10_000, seed: int = 0,
           train: Any = None, evaluation=None, grid=None, snapshots=None,
           snapshot_steps=None, title: str | None = None, force: bool = True) -> Path:
    """Write one self-contained HTML report of a fitted map (images inline, no network).

    Arguments:
        model: the fitted map, or the path of a saved one.
        data: the real data (anything :func:`pushforward.load_source` takes); default the
            built-in target or distribution the model was fitted on. Given the data the model
            was fitted on, the evaluation uses the fit's held-out rows.
        out: the HTML file to write (atomically).
        n: sample size of the evaluation (see :func:`pushforward.evaluation.evaluate`).
        seed: seed of every sample drawn.
        train: the training rows when ``data`` is held out (memorisation check).
        evaluation: an :class:`~pushforward.evaluation.Evaluation` already computed (skips
            the evaluation).
        grid: a critic's or velocity field's :class:`~pushforward.grid.Grid` for the 2-D plot
            (a flow map's velocity field is drawn without asking).
        snapshots, snapshot_steps: generated samples during training and their steps, for the
            animated GIF (1-D and 2-D); default the learned map's own (``snapshots_``).
        title: the report's title.
        force: overwrite an existing file.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pushforward
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> path = report(m, "norm", out=tempfile.mkdtemp() + "/r.html", n=500)
        >>> path.read_text().count("data:image/png;base64,")
        3
    """
    path = _io.check_writable(out, force=force)
    text = render_html(model, data, n=n, seed=seed, train=train, evaluation=evaluation,
                       grid=grid, snapshots=snapshots, snapshot_steps=snapshot_steps,
                       title=title)
    _io.write_text(path, text)
    return path


def _as_model(model) -> FittedMap:
    if isinstance(model, str | os.PathLike):
        from .model import load

        return load(model)
    return model


def _source(model: FittedMap, data: Any):
    from .data import load_source
    from .evaluation import model_data

    if data is not None:  # an image folder is read at the model's image size
        from .data.images import image_size

        return load_source(data, size=image_size(model.schema))
    try:
        return model_data(model)  # the model's own built-in target
    except PushforwardError:
        return None  # user data (a file or an array): the user gives it again
