"""The ``pushforward`` command: a thin typer layer over the library.

User errors (:class:`~pushforward.errors.PushforwardError`) print one line and exit with code 2;
``pushforward --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from .errors import PushforwardError


class _OneLineErrors(TyperGroup):
    """typer's group, but a usage error (a bad option value, a missing argument) is one line.

    ``error: Invalid value for '--seed': 'abc' is not a valid integer. (pushforward fit -h)``
    on stderr and exit code 2, like every other user error.
    """

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as e:  # click's usage errors, under typer's public name
            if type(e).__name__ == "NoArgsIsHelpError":  # a bare command: its help, as before
                e.show()
                sys.exit(e.exit_code)
            hint = f" (see {e.ctx.command_path} -h)" if getattr(e, "ctx", None) else ""
            message = " ".join(e.format_message().split())
            console(stderr=True).print(Text.assemble(("error:", "red"), f" {message}{hint}"),
                                       highlight=False, soft_wrap=True)
            sys.exit(e.exit_code)
        except typer.Abort:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Learn a map from simple noise to a distribution known only through samples.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
#: width of output that is not a terminal: wide enough that tables keep their natural width
#: (a log or a pipe is read by grep, not by a window 80 columns wide)
PIPE_WIDTH = 1000


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr) that never hard-wraps text when it is not a terminal.

    In a terminal: rich's defaults (its width, colours, a live progress bar). In a pipe or a
    file: every sentence on one line (``soft_wrap``) and tables at their natural width.
    """
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=PIPE_WIDTH)


out = console()
err = console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"pushforward {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    global out, err
    _state["debug"] = debug
    # built per invocation: whether stdout is a terminal is known only now
    out, err = console(), console(stderr=True)


def _errors(fn):
    """Turn user errors into one line on stderr and exit code 2 (unless --debug).

    A reader that stops early (``pushforward sample ... | head``) ends the command quietly with
    exit code 0; Ctrl-C prints one line and exits with 130.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            _flush_stdout()
            return result
        except PushforwardError as e:
            if _state["debug"]:
                raise
            if e.args and str(e.args[0]).startswith("standard output:"):
                _quiet_stdout()  # what is left in its buffer can never be written
            # user text (a path, a column, a spec) is never read as markup
            err.print(Text.assemble(("error:", "red"), f" {e}"), highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM during training (exit 143)
            signum = getattr(e, "signum", signal.SIGINT)
            what = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
            err.print(f"{what}; a learned run keeps its checkpoint: rerun with --resume",
                      highlight=False, soft_wrap=True)
            raise typer.Exit(128 + int(signum)) from None
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(0) from None

    return wrapper


def _flush_stdout() -> None:
    """Flush stdout; a full disk behind it (``> /dev/full``) is a one-line error, not a trace."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise PushforwardError(f"standard output: cannot write ({e.strerror or e})") from None


def _quiet_stdout() -> None:
    """Point stdout at devnull after its reader left, so the flush at exit raises nothing.

    The recipe of Python's documentation (signal module, "Note on SIGPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (a test runner's buffer)
        pass


def _print_table(table: Table, *, to: Console | None = None) -> None:
    """Print a table whose cells fold rather than end in "…": no verdict is ever cut.

    Not in a terminal, rich pads every row to the widest one (a 500-character settings cell
    made each line of ``info | cat`` 513 characters): the trailing spaces are cut, so a pipe
    gets each row as long as its own text.
    """
    for column in table.columns:
        column.overflow = "fold"
    console = to or out
    if console.is_terminal:
        console.print(table)
        return
    with console.capture() as captured:
        console.print(table)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _split(columns: str | None) -> list[str] | None:
    return [c.strip() for c in columns.split(",")] if columns else None


def _print_json(obj) -> None:
    """Machine-readable output: plain JSON on stdout, whatever stdout is."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


# One convention for every command: the thing a command acts on is its argument (the DATA to
# fit, the MODEL to sample, evaluate or report); other data is --data; --json prints JSON to
# stdout instead of the human table.
ModelArg = Annotated[Path, typer.Argument(help="Model folder or .safetensors file.")]
DataOption = Annotated[str | None, typer.Option(
    "--data", help="Real data to compare with (file, built-in target, spec); default the "
    "model's own built-in target. The model's own data file: judged on its held-out rows.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON to stdout instead of a "
                                        "table.")]


# ---------------------------------------------------------------------------------------- fit
def _method_keys(incomplete: str) -> list[str]:
    """Shell completion of --method: the keys that start with what is typed."""
    from .methods import METHODS

    return [k for k in ("auto", *METHODS) if k.startswith(incomplete)]


def _method_help() -> str:
    from .methods import BASELINES, EXACT, LEARNED  # literal tables: listing imports no torch

    return (f"auto (picks from the data and says what it picked); exact: {', '.join(EXACT)}; "
            f"baselines: {', '.join(BASELINES)}; learned: {', '.join(LEARNED)}. "
            "`pushforward list` describes each.")


_METHOD_HELP = _method_help()


def _launch_if_asked(nproc: int | None) -> None:
    """``--nproc N`` outside torchrun: the same command relaunched in N processes (exits)."""
    if nproc is not None and nproc < 1:
        raise PushforwardError(f"--nproc must be at least 1, got {nproc}")
    if nproc and nproc > 1 and "WORLD_SIZE" not in os.environ:  # not yet inside torchrun
        from .train.distributed import launch

        raise typer.Exit(launch(nproc))


@app.command()
@_errors
def fit(
    data: Annotated[str, typer.Argument(help="File (csv/tsv/npy/npz/parquet/txt), built-in "
                                        "target, distribution spec, image:PATH, "
                                        "images:FOLDER or patches:NAME.")],
    method: Annotated[str, typer.Option(help=_METHOD_HELP, autocompletion=_method_keys)
                      ] = "auto",
    noise: Annotated[str | None, typer.Option(help="Noise: normal (the default) or uniform."
                                              )] = None,
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
    dropna: Annotated[bool, typer.Option(help="Skip rows with missing or infinite values "
                                         "(default: gaps are modelled, inf refused).")
                      ] = False,
    size: Annotated[str | None, typer.Option(help="images:FOLDER: resize every image to WxH, "
                                             "e.g. 28x28 (default: the first image's size)."
                                             )] = None,
    skip_bad: Annotated[bool, typer.Option(help="images:FOLDER: leave out files that cannot "
                                           "be read instead of stopping.")] = False,
    categorical: Annotated[str | None, typer.Option(help="Columns to treat as categorical: "
                                                       "a,b (default: inferred).")] = None,
    integer: Annotated[str | None, typer.Option(help="Columns to treat as integer: c "
                                                   "(default: inferred).")] = None,
    discrete: Annotated[str | None, typer.Option(help="Numeric columns with few values to "
                                                    "model as categories, written back as "
                                                    "numbers: n")] = None,
    tails: Annotated[str | None, typer.Option(help="quantile/copula: extrapolate (default) "
                                                 "or clip.")] = None,
    knots: Annotated[int | None, typer.Option(help="quantile/copula: keep at most K points "
                                                 "per column, not every training value "
                                                 "(smaller file; KS cost in "
                                                 "docs/benchmarks.md).")] = None,
    family: Annotated[str | None, typer.Option(help="parametric: scipy family, e.g. "
                                                  "gamma (default norm).")] = None,
    config: Annotated[Path | None, typer.Option(help="Learned: TOML file of training "
                                                   "settings; flags override it.")] = None,
    steps: Annotated[int | None, typer.Option(help="Learned: step budget.")] = None,
    time_budget: Annotated[float | None, typer.Option(help="Wall-clock seconds for the whole "
                                                         "fit, any method (learned: 60 s of "
                                                         "training when no --steps).")] = None,
    net: Annotated[str | None, typer.Option(help="Learned: network key (default auto: "
                                               "monotone for 1-D, else mlp).")] = None,
    width: Annotated[int | None, typer.Option(help="Learned: hidden width (default: the "
                                              "net's own).")] = None,
    depth: Annotated[int | None, typer.Option(help="Learned: hidden layers (default: the "
                                              "net's own).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learned: Adam learning rate (1e-2 for "
                                             "the monotone net, 5e-3 for sliced-js/-kl "
                                             "(2e-2 for sliced-js in 2-D), "
                                             "5e-3 for vae on 1–2 columns, "
                                             "else 2e-3).")
                  ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Learned: batch size (default: by "
                                                   "loss, 512–16384).")
                          ] = None,
    holdout: Annotated[float | None, typer.Option(help="Share of a data file kept out of "
                                                     "the fit for its check (0.1).")] = None,
    threads: Annotated[int | None, typer.Option(help="Learned: torch CPU threads.")] = None,
    device: Annotated[str | None, typer.Option(help="Learned: cpu, cuda or auto (auto: "
                                                "CUDA when present).")
                      ] = None,
    precision: Annotated[str | None, typer.Option(help="Learned: fp32 (default) or bf16: "
                                                   "the networks in bfloat16, losses in "
                                                   "float32 (pays on a GPU; see "
                                                   "docs/benchmarks.md).")] = None,
    resume: Annotated[bool, typer.Option(help="Learned: continue the run in --out with its "
                                         "recorded settings; --steps (new total) or "
                                         "--time-budget (more seconds) extends it.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing model or an interrupted "
                                        "run's checkpoint in --out.")] = False,
    keep_checkpoint: Annotated[bool, typer.Option(help="Learned: keep checkpoint.safetensors "
                                                  "in --out after a successful run.")] = False,
    exclude: Annotated[str | None, typer.Option(help="auto: candidates not to race, e.g. "
                                                   "gmm,kde (of copula, gmm, kde, nsf, "
                                                   "ot-flow-matching).")] = None,
    prefer_learned: Annotated[bool, typer.Option(help="auto: race learned maps only (smooth "
                                                 "and differentiable; nsf also invertible, "
                                                 "with a density).")] = False,
    nproc: Annotated[int | None, typer.Option(help="Learned: train in N processes on this "
                                              "machine (torch.distributed.run: gloo on CPU, "
                                              "NCCL with one GPU each); see "
                                              "docs/distributed.md.")] = None,
) -> None:
    """Fit a map from noise to DATA and save it."""
    _launch_if_asked(nproc)
    started = time.monotonic()  # --time-budget counts reading the data too
    from . import api
    from .auto import leaderboard_lines
    from .data import load_source

    rank0 = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 speaks and saves
    if out_path.exists() and not out_path.is_dir():
        raise PushforwardError(f"{out_path}: exists and is not a model folder")
    options = _options({
        "tails": tails, "knots": knots, "family": family, "steps": steps,
        "time_budget": time_budget, "net": net, "width": width, "depth": depth, "lr": lr,
        "batch_size": batch_size, "holdout": holdout, "threads": threads, "device": device,
        "precision": precision, "exclude": exclude,
        "prefer_learned": prefer_learned or None}, config)
    if (size is not None or skip_bad) and not data.strip().startswith("images:"):
        raise PushforwardError(f"--{'size' if size is not None else 'skip-bad'} applies to an "
                               f"image folder (images:FOLDER), not to {data[:60]!r}")
    source = load_source(data, columns=_split(columns), key=key, dropna=dropna,
                         categorical=_split(categorical), size=size, skip_bad=skip_bad)
    # every setting checked before the start line: a bad one is all it prints
    if resume:
        from .resume import recorded_run

        recorded_run(out_path)  # something to resume, or one line saying there is not
    else:
        api.check_request(source, method, noise=noise, latent_dim=latent_dim, seed=seed,
                          options=options)
    from ._io import folder_lock
    from .model import CHECKPOINT_FILE

    _check_out(out_path, force=force, resume=resume)
    # one run per model folder (rank 0 writes it under torchrun): a second is refused
    with folder_lock(out_path) if rank0 else contextlib.nullcontext():
        _check_out(out_path, force=force, resume=resume)
        start = (f"resuming the run in {out_path} with its recorded settings" if resume
                 else _start_line(source, method, options))
        if start and rank0:  # learned runs only: an exact fit ends before anyone waits for it
            err.print(start, highlight=False, markup=False)
        fitted = api.fit(source, method=method, noise=noise, latent_dim=latent_dim, seed=seed,
                         categorical=_split(categorical), integer=_split(integer),
                         discrete=_split(discrete), out=str(out_path), resume=resume,
                         keep_checkpoint=True, console=err, started=started, **options)
        if not rank0:
            return
        if fitted.schema is not None:
            out.print(f"schema: {fitted.schema.summary()}", markup=False)
        if "auto" in fitted.info:
            out.print(Text.assemble("method auto → ", (fitted.method, "bold"),
                                    f": {fitted.info['auto']}"))
            for line in leaderboard_lines(fitted.info.get("leaderboard", [])):
                out.print(Text(f"  {line}"))
        path = fitted.save(out_path, overwrite=True)
        if not keep_checkpoint:  # the model is saved: the run's checkpoint has served its purpose
            (out_path / CHECKPOINT_FILE).unlink(missing_ok=True)
    _print_fit(fitted, path)


def _options(flags: dict, config: Path | None) -> dict:
    """The fit's options: the flags given, and a TOML file's training settings."""
    options = {k: v for k, v in flags.items() if v is not None}
    if config is not None:
        from .learned import TrainConfig

        options["config"] = TrainConfig.from_toml(config)
    return options


def _check_out(out_path: Path, *, force: bool, resume: bool) -> None:
    """Refuse to replace a model or an interrupted run's checkpoint without --force/--resume."""
    from .model import CHECKPOINT_FILE, model_file

    if force or resume:
        return
    if model_file(out_path).exists():
        raise PushforwardError(f"{out_path}: a model already exists; pass --force to replace "
                               f"it (or --resume to continue its run)")
    if (out_path / CHECKPOINT_FILE).exists():
        raise PushforwardError(f"{out_path / CHECKPOINT_FILE}: an interrupted run's checkpoint; "
                               f"pass --resume to continue it or --force to start over")


def _start_line(source, method: str, options: dict) -> str | None:
    """One line before training: what is fitted, with which method, for how long."""
    from .api import choose_method

    picked = choose_method(source)[0] if method == "auto" else method
    if not _is_learned(picked):
        return None
    if source.data is not None:
        shape = f"{len(source.data):,} rows × {source.dim} columns"
    else:
        shape = f"built-in target, fresh draws, {source.dim}-D"
    cols = ", ".join(source.columns[:6]) + (f", … ({source.dim} in all)"
                                            if source.dim > 6 else "")
    return f"fitting {source.name} ({shape}: {cols}) with {picked}, {_budget(options)}"


def _budget(options: dict) -> str:
    config = options.get("config")
    steps = options.get("steps", getattr(config, "steps", None))
    seconds = options.get("time_budget", getattr(config, "time_budget", None))
    if steps is None and seconds is None:
        from .learned import DEFAULT_TIME_BUDGET

        return f"budget {DEFAULT_TIME_BUDGET:g} s (the default; set --time-budget or --steps)"
    parts = ([f"{steps:,} steps"] if steps is not None else []) + (
        [f"{seconds:g} s"] if seconds is not None else [])
    return "budget " + " or ".join(parts)


def _is_learned(method: str) -> bool:
    from .methods import LEARNED

    return method in LEARNED


def _print_fit(fitted, path: Path) -> None:
    out.print(f"fitted {fitted.method} ({fitted.noise} noise, k={fitted.latent_dim} → "
              f"d={fitted.dim}); saved {path}", markup=False)
    if "sketch" in fitted.info:  # KLL compacts at random, and DataSketches takes no seed
        out.print(f"seed {fitted.seed} (--seed {fitted.seed} repeats this fit within the "
                  f"sketch's rank error {fitted.info['sketch'].get('rank_error')}, not exactly:"
                  " the sketch compacts at random)", highlight=False)
    else:
        out.print(f"seed {fitted.seed} (--seed {fitted.seed} repeats this fit)", highlight=False)
    if "stopped" in fitted.info:
        i = fitted.info
        out.print(f"trained {i['steps']:,} steps in {i['seconds']:.1f} s ({i['stopped']})")
    if "holdout" in fitted.info:
        h = fitted.info["holdout"]
        colour = "green" if h.get("passed") else ("yellow" if h.get("ok", True) else "red")
        out.print(f"held-out check: [{colour}]{escape(h['summary'])}[/]. Full table: "
                  f"pushforward evaluate")


# ------------------------------------------------------------------------------------- sample
@app.command()
@_errors
def sample(
    model: ModelArg,
    n: Annotated[int, typer.Option("-n", "--n", help="Number of samples.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="Output .csv/.tsv/.npy/"
                                                     ".parquet, or a folder with --format png;"
                                                     " default CSV to stdout.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed; same seed, same samples.")] = None,
    chunk_size: Annotated[int, typer.Option(help="Rows per chunk (memory bound); does not "
                                            "change the samples.")] = 65536,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    format_: Annotated[str | None, typer.Option("--format", help="png: image models only, "
                                                "one PNG per sample in the --out folder "
                                                "(default: from --out's extension).")] = None,
    grid_path: Annotated[Path | None, typer.Option("--grid", help="Image models: also a PNG "
                                                   "grid of the first 64 samples here.")
                         ] = None,
) -> None:
    """Draw N samples from a saved MODEL, streamed in chunks."""
    from .model import check_n, load
    from .writers import write_samples

    check_n(n)
    fitted = load(model)
    if format_ not in (None, "png"):
        raise PushforwardError(f"--format {format_[:40]!r}: only png is a format of its own; "
                               "other formats follow --out's extension")
    if format_ == "png" and out_path is None:
        raise PushforwardError("--format png writes a folder: give it with --out")
    chunks = fitted.iter_samples(n, seed=seed, chunk_size=chunk_size)
    if format_ == "png" or grid_path is not None:
        from . import image_files as pics

        shape = pics.image_shape(fitted.schema, str(model))
        lo, hi = pics.pixel_range(fitted.codec_)
        if grid_path is not None:
            _io_check(grid_path, force)
            chunks = pics.FirstRows(chunks)
    if format_ == "png":
        pics.write_png_folder(chunks, out_path, n=n, shape=shape, lo=lo, hi=hi, force=force)
    else:
        write_samples(chunks, out_path, n=n, columns=fitted.columns, force=force,
                      schema=fitted.schema)
    if grid_path is not None:
        pics.write_grid(grid_path, chunks.rows(), shape, lo, hi, force=force)
    if out_path is not None:
        err.print(f"wrote {n:,} samples to {out_path}" + (
            f" and a grid of the first {min(n, 64)} to {grid_path}" if grid_path else ""),
            markup=False, highlight=False)


def _io_check(path: Path, force: bool) -> None:
    from ._io import check_writable

    check_writable(path, force=force)
    if path.suffix.lower() != ".png":
        raise PushforwardError(f"{path}: a grid is a PNG file; name it ….png")


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
    from .exact.inverse_cdf import check_finite, check_support, transform_between
    from .writers import write_samples

    src = load_source(input, columns=_split(columns))
    if src.data is None:
        raise PushforwardError(f"{input}: transform needs a data file, not a built-in target")
    y = transform_between(src.data, check_support(src.data, from_, where=input), to)
    check_finite(src.data, y, to, where=input)
    write_samples([y], out_path, n=len(y), columns=src.columns, force=force)


# --------------------------------------------------------------------------------------- list
@app.command("list")
@_errors
def list_(as_json: JsonFlag = False) -> None:
    """Every registry: methods, noises, targets (and losses and networks), one line each."""
    from .registries import all_registries

    registries = all_registries()
    if as_json:
        _print_json({title: dict(entries) for title, entries in registries.items()})
        return
    for title, entries in registries.items():
        t = Table(title=title, title_justify="left", show_header=False, box=None)
        for name, desc in entries:
            t.add_row(f"[bold]{name}[/bold]", desc)
        _print_table(t)
        out.print()


# --------------------------------------------------------------------------------------- info
@app.command()
@_errors
def info(model: ModelArg, as_json: JsonFlag = False) -> None:
    """Print what a saved model is: method, noise, dimensions, settings, versions."""
    from .model import read_model_file

    meta, tensors = read_model_file(model)
    if as_json:
        _print_json(meta)
        return
    t = Table(show_header=False, box=None)

    def row(key: str, value: str) -> None:
        t.add_row(Text(key), Text(value))  # Text: a column named "[/b]" is not markup

    for k in ("method", "noise", "latent_dim", "dim", "columns", "seed", "created"):
        row(k, str(meta.get(k)))
    for k, v in meta.get("settings", {}).items():
        row(f"settings.{k}", json.dumps(v))
    for k, v in meta.get("info", {}).items():
        if k == "leaderboard" and isinstance(v, list):  # auto's race: one line per candidate
            from .auto import leaderboard_lines

            for i, line in enumerate(leaderboard_lines([r for r in v if isinstance(r, dict)])):
                row("info.leaderboard" if i == 0 else "", line)
            continue
        row(f"info.{k}", str(v))
    row("tensors", ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items()) or "none")
    row("versions", ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()))
    _print_table(t)


# ----------------------------------------------------------------------------------- evaluate
@app.command()
@_errors
def evaluate(
    model: ModelArg,
    data: DataOption = None,
    n: Annotated[int, typer.Option("-n", "--n", help="Sample size of every figure.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of every sample drawn.")] = 0,
    columns: Annotated[str | None, typer.Option(help="Columns of --data to use.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every metric of MODEL against its data, beside its two-sample noise floor, with a verdict."""
    from ._random import as_seed
    from .data import load_source
    from .data.images import image_size
    from .evaluation import evaluate as run_evaluation
    from .model import load

    _check_eval_n(n)
    as_seed(seed)
    fitted = load(model)
    # no --data: the model's own built-in target; the model's data file: its held-out rows
    source = load_source(data, columns=_split(columns), size=image_size(fitted.schema)
                         ) if data is not None else None
    with err.status("evaluating…"):
        ev = run_evaluation(fitted, source, n=n, seed=seed)
    if as_json:
        _print_json(ev.as_dict())
        return
    _print_table(ev.table())
    if ev.tabular is not None:  # a table: its worst columns and pairs beside their floors
        for t in ev.tabular.tables():
            _print_table(t)


def _check_eval_n(n: int) -> None:
    """An evaluation's sample size: a positive integer up to MAX_EVAL_ROWS."""
    from ._limits import MAX_EVAL_ROWS
    from .model import check_n

    check_n(n)
    if n > MAX_EVAL_ROWS:
        raise PushforwardError(f"-n {n} is above the limit of {MAX_EVAL_ROWS:,} rows for an "
                               "evaluation")


# ------------------------------------------------------------------------------------- report
@app.command()
@_errors
def report(
    model: ModelArg,
    data: DataOption = None,
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"),
    n: Annotated[int, typer.Option("-n", "--n", help="Sample size of the evaluation.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Seed of every sample drawn.")] = 0,
    force: Annotated[bool, typer.Option(help="Overwrite an existing report.")] = False,
) -> None:
    """One self-contained HTML report: data, method, metrics beside floors, plots, curves."""
    from ._io import check_writable
    from ._random import as_seed
    from .model import load
    from .report import report as write_report

    _check_eval_n(n)
    as_seed(seed)
    check_writable(out_path, force=force)
    fitted = load(model)
    with err.status("evaluating and plotting…"):
        path = write_report(fitted, data, out=out_path, n=n, seed=seed, force=True,
                            snapshots=getattr(fitted, "snapshots_", None),
                            snapshot_steps=getattr(fitted, "snapshot_steps_", None))
    out.print(f"wrote {path}", markup=False, highlight=False)


# -------------------------------------------------------------------------------------- bench
@app.command()
@_errors
def bench(
    targets: Annotated[str, typer.Argument(help="Comma-separated built-in targets, "
                                           "distribution specs or data files.")],
    methods: Annotated[str, typer.Option(help="Comma-separated method keys, each run with "
                                         "fit's defaults.")] = "auto,gmm,kde,copula,nsf",
    budget: Annotated[float, typer.Option(help="--time-budget of every fit (wall-clock "
                                          "seconds for the whole fit).")] = 30.0,
    seeds: Annotated[int, typer.Option(help="Seeds 0 … K−1 per cell.")] = 1,
    perfect: Annotated[int, typer.Option(help="Also score K perfect samplers per target and "
                                         "seed: what the protocol cannot resolve.")] = 0,
    n: Annotated[int, typer.Option("-n", "--n", help="Points of every compared sample.")
                 ] = 3000,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for cells/*.json (reused by "
                                          "a rerun), bench.json and bench.html.")
                       ] = Path("pushforward-bench"),
    as_json: JsonFlag = False,
) -> None:
    """Run every (target, method, seed) through fit, sample and evaluate; cached, resumable."""
    from .bench import run_bench, split_list

    result = run_bench(split_list(targets), methods=split_list(methods), budget=budget,
                       seeds=seeds, perfect=perfect, n=n, out=out_dir, console=err)
    if as_json:
        _print_json(result.as_dict())
        return
    _print_table(result.table())
    out.print(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.html'}", markup=False,
              highlight=False)


# --------------------------------------------------------------------------------------- demo
@app.command()
@_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for every file the demo "
                                          "writes (small samples, plots, report.html).")
                       ] = Path("pushforward-demo"),
    quick: Annotated[bool, typer.Option(help="Smaller sizes and 2 s budgets: under 30 s on an "
                                        "idle 2-core machine (the full demo: about 3 "
                                        "minutes).")] = False,
) -> None:
    """Walk the note on built-in examples: the exact map, the loss as written, the learned map."""
    from .demo import run_demo

    run_demo(out_dir, quick=quick, console=out)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()
