"""The ``pushforward`` command: a thin typer layer over the library.

User errors (:class:`~pushforward.errors.PushforwardError`) print one line and exit with code 2;
``pushforward --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .errors import PushforwardError

app = typer.Typer(
    help="Learn a map from simple noise to a distribution known only through samples.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    _state["debug"] = debug


def _errors(fn):
    """Turn user errors into one line on stderr and exit code 2 (unless --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PushforwardError as e:
            if _state["debug"]:
                raise
            err.print(f"[red]error:[/red] {e}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted; a learned run keeps its checkpoint: rerun with --resume")
            raise typer.Exit(130) from None

    return wrapper


def _split(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",")] if columns else None


# ---------------------------------------------------------------------------------------- fit
@app.command()
@_errors
def fit(
    data: Annotated[str, typer.Argument(help="File (csv/tsv/npy/npz/parquet/txt), built-in "
                                        "target, distribution spec or image:PATH.")],
    method: Annotated[str, typer.Option(help="Method key (see `pushforward list`); auto picks "
                                        "from the data and says what it picked.")] = "auto",
    noise: Annotated[str, typer.Option(help="Noise: normal or uniform.")] = "normal",
    latent_dim: Annotated[int | None, typer.Option(help="Noise dimension; default the "
                                                      "data's dimension.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="Model folder to write (learned "
                                           "methods keep their checkpoints there).")
                        ] = Path("model"),
    seed: Annotated[int | None, typer.Option(help="Seed; default a random one, recorded "
                                                "in the model.")] = None,
    columns: Annotated[str | None, typer.Option(help="Columns to use, by name or 0-based "
                                                   "index: a,b")] = None,
    key: Annotated[str | None, typer.Option(help="Array name inside an .npz file.")] = None,
    dropna: Annotated[bool, typer.Option(help="Skip rows with NaN/inf instead of failing.")
                      ] = False,
    tails: Annotated[str | None, typer.Option(help="quantile/copula: extrapolate (default) "
                                                 "or clip.")] = None,
    family: Annotated[str | None, typer.Option(help="parametric: scipy family, e.g. "
                                                  "gamma (default norm).")] = None,
    config: Annotated[Path | None, typer.Option(help="Learned: TOML file of training "
                                                   "settings; flags override it.")] = None,
    steps: Annotated[int | None, typer.Option(help="Learned: step budget.")] = None,
    time_budget: Annotated[float | None, typer.Option(help="Learned: seconds of training "
                                                         "(default 60 when no --steps).")] = None,
    net: Annotated[str | None, typer.Option(help="Learned: network key (default auto: "
                                               "monotone for 1-D, else mlp).")] = None,
    width: Annotated[int | None, typer.Option(help="Learned: hidden width (default: the "
                                              "net's own).")] = None,
    depth: Annotated[int | None, typer.Option(help="Learned: hidden layers (default: the "
                                              "net's own).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learned: Adam learning rate (1e-2 for "
                                             "the monotone net, 5e-3 for sliced-js/-kl "
                                             "(2e-2 for sliced-js in 2-D), "
                                             "else 2e-3).")
                  ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Learned: batch size (default: by "
                                                   "loss, 512–16384).")
                          ] = None,
    holdout: Annotated[float | None, typer.Option(help="Learned: held-out share of a data "
                                                     "file (0.1).")] = None,
    threads: Annotated[int | None, typer.Option(help="Learned: torch CPU threads.")] = None,
    device: Annotated[str | None, typer.Option(help="Learned: cpu, cuda or auto (cpu).")
                      ] = None,
    resume: Annotated[bool, typer.Option(help="Learned: continue the run checkpointed in "
                                         "--out.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing model.")] = False,
) -> None:
    """Fit a map from noise to DATA and save it."""
    from . import api
    from .learned import TrainConfig
    from .model import model_file

    if model_file(out_path).exists() and not (force or resume):
        raise PushforwardError(f"{out_path}: a model already exists; pass --force to overwrite")
    flags = {"tails": tails, "family": family, "steps": steps, "time_budget": time_budget,
             "net": net, "width": width, "depth": depth, "lr": lr, "batch_size": batch_size,
             "holdout": holdout, "threads": threads, "device": device}
    options = {k: v for k, v in flags.items() if v is not None}
    if config is not None:
        options["config"] = TrainConfig.from_toml(config)
    fitted = api.fit(data, method=method, noise=noise, latent_dim=latent_dim, seed=seed,
                     columns=_split(columns), key=key, dropna=dropna, out=str(out_path),
                     resume=resume, console=err, **options)
    if "auto" in fitted.info:
        out.print(f"method auto → [bold]{fitted.method}[/bold]: {fitted.info['auto']}")
    path = fitted.save(out_path)
    out.print(f"fitted {fitted.method} ({fitted.noise} noise, k={fitted.latent_dim} → "
              f"d={fitted.dim}); saved {path}")
    if "stopped" in fitted.info:
        i = fitted.info
        out.print(f"trained {i['steps']:,} steps in {i['seconds']:.1f} s ({i['stopped']})")
    if "holdout" in fitted.info:
        h = fitted.info["holdout"]
        out.print(f"held-out check: {h['verdict']}; energy distance² {h['energy']:.3g} vs "
                  f"real-data floor {h['floor']:.3g} (ratio {h['ed_ratio']:.2f}). Full table: "
                  f"pushforward evaluate")


# ------------------------------------------------------------------------------------- sample
@app.command()
@_errors
def sample(
    model: Annotated[Path, typer.Argument(help="Model folder or .safetensors file.")],
    n: Annotated[int, typer.Option("-n", "--n", help="Number of samples.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="Output .csv/.tsv/.npy/"
                                                     ".parquet; default CSV to stdout.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed; same seed, same samples.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Rows per chunk (memory bound); does not "
                                            "change the samples.")] = 65536,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
) -> None:
    """Draw N samples from a saved MODEL, streamed in chunks."""
    from .model import check_n, load
    from .writers import write_samples

    check_n(n)
    fitted = load(model)
    chunks = fitted.iter_samples(n, seed=seed, chunk_size=chunk_size)
    write_samples(chunks, out_path, n=n, columns=fitted.columns, force=force)
    if out_path is not None:
        err.print(f"wrote {n:,} samples to {out_path}")


# ---------------------------------------------------------------------------------- transform
@app.command()
@_errors
def transform(
    input: Annotated[str, typer.Argument(help="File of numbers (one column or --columns).")],
    from_: Annotated[str, typer.Option("--from", help="Distribution of the input, e.g. "
                                       "uniform, norm, gamma(a=2).")],
    to: Annotated[str, typer.Option("--to", help="Distribution to map to.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="Output file; default "
                                                     "CSV to stdout.")] = None,
    columns: Annotated[str | None, typer.Option(help="Columns to transform.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
) -> None:
    """Map values exactly: y = F_to⁻¹(F_from(x)), accurate in both tails (the note's step 1)."""
    from .data import load_source
    from .exact.inverse_cdf import transform_between
    from .writers import write_samples

    src = load_source(input, columns=_split(columns))
    if src.data is None:
        raise PushforwardError(f"{input}: transform needs a data file, not a built-in target")
    y = transform_between(src.data, from_, to)
    write_samples([y], out_path, n=len(y), columns=src.columns, force=force)


# --------------------------------------------------------------------------------------- list
@app.command("list")
@_errors
def list_() -> None:
    """Every registry: methods, noises, targets (and losses and networks), one line each."""
    from .registries import all_registries

    for title, entries in all_registries().items():
        t = Table(title=title, title_justify="left", show_header=False, box=None)
        for name, desc in entries:
            t.add_row(f"[bold]{name}[/bold]", desc)
        out.print(t)
        out.print()


# --------------------------------------------------------------------------------------- info
@app.command()
@_errors
def info(model: Annotated[Path, typer.Argument(help="Model folder or .safetensors file.")],
         as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
         ) -> None:
    """Print what a saved model is: method, noise, dimensions, settings, versions."""
    from .model import read_model_file

    meta, tensors = read_model_file(model)
    if as_json:
        out.print_json(json.dumps(meta))
        return
    t = Table(show_header=False, box=None)
    for k in ("method", "noise", "latent_dim", "dim", "columns", "seed", "created"):
        t.add_row(k, str(meta.get(k)))
    for k, v in meta.get("settings", {}).items():
        t.add_row(f"settings.{k}", json.dumps(v))
    for k, v in meta.get("info", {}).items():
        t.add_row(f"info.{k}", str(v))
    t.add_row("tensors", ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items()) or "none")
    t.add_row("versions", ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()))
    out.print(t)


# ----------------------------------------------------------------------------------- evaluate
@app.command()
@_errors
def evaluate(
    model: Annotated[Path, typer.Argument(help="Model folder or .safetensors file.")],
    data: Annotated[str | None, typer.Argument(help="Real data to compare with (file, "
                                                  "built-in, spec); default the model's own "
                                                  "built-in target.")] = None,
    n: Annotated[int, typer.Option("-n", "--n", help="Sample size of every figure.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of every sample drawn.")] = 0,
    columns: Annotated[str | None, typer.Option(help="Columns of DATA to use.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures "
                                                     "as JSON here.")] = None,
) -> None:
    """Every metric of MODEL against DATA, beside its two-sample noise floor, with a verdict."""
    from ._io import write_text
    from .data import load_source
    from .evaluation import evaluate as run_evaluation
    from .model import check_n, load

    check_n(n)
    fitted = load(model)
    source = load_source(data if data is not None else _model_target(fitted),
                         columns=_split(columns))
    with err.status("evaluating…"):
        ev = run_evaluation(fitted, source, n=n, seed=seed)
    out.print(ev.table())
    if json_out is not None:
        write_text(json_out, json.dumps(ev.as_dict(), indent=2) + "\n")
        err.print(f"wrote {json_out}")


def _model_target(fitted) -> str:
    name = fitted.info.get("source")
    if not name:
        raise PushforwardError("give the DATA to compare with: the model does not name its data")
    return name


# ------------------------------------------------------------------------------------- report
@app.command()
@_errors
def report(
    model: Annotated[Path, typer.Argument(help="Model folder or .safetensors file.")],
    data: Annotated[str | None, typer.Option(help="Real data to compare with; default the "
                                                "model's own built-in target.")] = None,
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"),
    n: Annotated[int, typer.Option("-n", "--n", help="Sample size of the evaluation.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of every sample drawn.")] = 0,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """One self-contained HTML report: data, method, metrics beside floors, plots, curves."""
    from ._io import check_writable
    from .model import check_n, load
    from .report import report as write_report

    check_n(n)
    check_writable(out_path, force=force)
    fitted = load(model)
    with err.status("evaluating and plotting…"):
        path = write_report(fitted, data if data is not None else _model_target(fitted),
                            out=out_path, n=n, seed=seed, force=True,
                            snapshots=getattr(fitted, "snapshots_", None),
                            snapshot_steps=getattr(fitted, "snapshot_steps_", None))
    out.print(f"wrote {path}")


# --------------------------------------------------------------------------------------- demo
@app.command()
@_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for samples and plots.")] = Path(
        "pushforward-demo"),
    quick: Annotated[bool, typer.Option(help="Smaller sizes (seconds).")] = False,
) -> None:
    """Walk the note on built-in examples: the exact map, the loss as written, the learned map."""
    from .demo import run_demo

    run_demo(out_dir, quick=quick, console=out)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
