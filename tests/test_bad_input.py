"""Bad input, careless or hostile (issue 17): one line on stderr, exit code 2, nothing left.

Every case runs the CLI in process (typer's CliRunner) from an empty folder holding only the
case's input files, and asserts: exit code 2, exactly one stderr line that starts with
``error:`` and names the thing (file, row, column, option, value), no traceback, and no new
file in the folder or in the model folders. A handful run as real subprocesses, and the Python
API gets its own table. Hypothesis draws specs, CSV contents and option values.
"""

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.errors import PushforwardError

runner = CliRunner()
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

GAMMA = np.random.default_rng(0).gamma(2.0, size=200)
CSV = "x\n" + "\n".join(f"{v:.6f}" for v in GAMMA) + "\n"
CSV2 = "a,b\n" + "\n".join(f"{v:.6f},{w:.6f}"
                           for v, w in zip(GAMMA, GAMMA[::-1], strict=True)) + "\n"


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _png(array) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A 1-D quantile model and a 2-D copula model, outside the cases' folders."""
    d = tmp_path_factory.mktemp("models")
    one = pushforward.fit(GAMMA, method="quantile", seed=0).save(d / "one")
    two = pushforward.fit(np.column_stack([GAMMA, GAMMA[::-1]]), method="copula", seed=0)
    return {"{model}": str(one.parent), "{model2}": str(two.save(d / "two").parent)}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_case(tmp_path, monkeypatch, models, args, files, needles):
    """Run one CLI case and check the contract (see the module docstring)."""
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)
    monkeypatch.chdir(tmp_path)
    args = [models.get(a, a) for a in args]
    before = _tree(tmp_path), {m: _tree(Path(m)) for m in models.values()}
    r = runner.invoke(app, args)
    err = r.stderr
    assert r.exit_code == 2, (args, r.exit_code, r.output, r.exception)
    assert err.endswith("\n") and err.count("\n") == 1, (args, err)
    assert err.startswith("error: "), (args, err)
    assert "Traceback" not in r.output, (args, r.output)
    for needle in needles:
        assert needle in err, (args, needle, err)
    assert _tree(tmp_path) == before[0], (args, _tree(tmp_path) - before[0])
    assert {m: _tree(Path(m)) for m in models.values()} == before[1]
    return err


def case(id_, args, needles=(), files=None):
    return pytest.param(args.split() if isinstance(args, str) else args, tuple(needles),
                        files or {}, id=id_)


LEARN = "fit moons --method sliced-js --steps 2"

# --------------------------------------------------------------------------- options of fit
OPTION_CASES = [
    case("seed-negative", "fit d.csv --seed -1", ["seed", "-1"], {"d.csv": CSV}),
    case("seed-huge", f"fit d.csv --seed {2**70}", ["seed"], {"d.csv": CSV}),
    case("seed-text", "fit d.csv --seed abc", ["--seed"], {"d.csv": CSV}),
    case("seed-float", "fit d.csv --seed 1.5", ["--seed"], {"d.csv": CSV}),
    case("latent-zero", "fit d.csv --latent-dim 0", ["latent_dim", "0"], {"d.csv": CSV}),
    case("latent-negative", "fit d.csv --latent-dim -3", ["latent_dim"], {"d.csv": CSV}),
    case("latent-huge", f"{LEARN} --latent-dim 1000000000", ["latent_dim"]),
    case("latent-mismatch", "fit d.csv --method quantile --latent-dim 2", ["latent_dim"],
         {"d.csv": CSV}),
    case("noise-unknown", "fit d.csv --noise cauchy", ["noise", "cauchy"], {"d.csv": CSV}),
    case("noise-markup", ["fit", "d.csv", "--noise", "[b]x"], ["[b]x"], {"d.csv": CSV}),
    case("method-unknown", "fit d.csv --method nope", ["method", "nope"], {"d.csv": CSV}),
    case("method-markup", ["fit", "d.csv", "--method", "[/red]"], ["[/red]"], {"d.csv": CSV}),
    case("tails-unknown", "fit d.csv --method quantile --tails wild", ["tails", "wild"],
         {"d.csv": CSV}),
    case("family-unknown", "fit d.csv --method parametric --family gama", ["gama"],
         {"d.csv": CSV}),
    case("family-discrete", "fit d.csv --method parametric --family poisson", ["poisson"],
         {"d.csv": CSV}),
    case("option-for-other-method", "fit d.csv --method quantile --family gamma", ["family"],
         {"d.csv": CSV}),
    case("steps-exact-method", "fit d.csv --method quantile --steps 5", ["steps"],
         {"d.csv": CSV}),
    case("width-zero", f"{LEARN} --width 0", ["width", "0"]),
    case("width-negative", f"{LEARN} --width -1", ["width"]),
    case("width-billion", f"{LEARN} --width 1000000000", ["width", "1000000000"]),
    case("width-float", f"{LEARN} --width 1.5", ["--width"]),
    case("depth-negative", f"{LEARN} --depth -1", ["depth"]),
    case("depth-million", f"{LEARN} --depth 1000000", ["depth", "1000000"]),
    case("width-depth-weights", f"{LEARN} --width 4096 --depth 64", ["weights"]),
    case("steps-zero", f"{LEARN} --steps 0", ["steps", "0"]),
    case("steps-negative", "fit moons --method sliced-js --steps -5", ["steps", "-5"]),
    case("steps-huge", f"fit moons --method sliced-js --steps {10**20}", ["steps"]),
    case("steps-text", "fit moons --method sliced-js --steps abc", ["--steps"]),
    case("budget-nan", "fit moons --method sliced-js --time-budget nan", ["time_budget", "nan"]),
    case("budget-inf", "fit moons --method sliced-js --time-budget inf", ["time_budget", "inf"]),
    case("budget-neg-inf", "fit moons --method sliced-js --time-budget -inf", ["time_budget"]),
    case("budget-negative", "fit moons --method sliced-js --time-budget -1", ["time_budget"]),
    case("budget-zero", "fit moons --method sliced-js --time-budget 0", ["time_budget"]),
    case("budget-text", "fit moons --method sliced-js --time-budget soon", ["--time-budget"]),
    case("lr-nan", f"{LEARN} --lr nan", ["lr", "nan"]),
    case("lr-inf", f"{LEARN} --lr inf", ["lr", "inf"]),
    case("lr-zero", f"{LEARN} --lr 0", ["lr"]),
    case("lr-negative", f"{LEARN} --lr -0.1", ["lr"]),
    case("batch-zero", f"{LEARN} --batch-size 0", ["batch_size"]),
    case("batch-huge", f"{LEARN} --batch-size {10**12}", ["batch_size"]),
    case("holdout-one", f"{LEARN} --holdout 1", ["holdout"]),
    case("holdout-negative", f"{LEARN} --holdout -0.1", ["holdout"]),
    case("holdout-nan", f"{LEARN} --holdout nan", ["holdout", "nan"]),
    case("threads-negative", f"{LEARN} --threads -1", ["threads", "-1"]),
    case("threads-zero", f"{LEARN} --threads 0", ["threads", "0"]),
    case("threads-huge", f"{LEARN} --threads 100000", ["threads", "100000"]),
    case("device-unknown", f"{LEARN} --device tpu", ["device", "tpu"]),
    case("net-unknown", f"{LEARN} --net conv", ["net", "conv"]),
    case("net-monotone-2d", f"{LEARN} --net monotone", ["monotone"]),
    case("columns-unknown", "fit d.csv --columns zz", ["d.csv", "zz"], {"d.csv": CSV2}),
    case("columns-index", "fit d.csv --columns 9", ["d.csv", "9"], {"d.csv": CSV2}),
    case("columns-empty", ["fit", "d.csv", "--columns", ","], ["d.csv", "column"],
         {"d.csv": CSV2}),
    case("columns-markup", ["fit", "d.csv", "--columns", "[/b]"], ["[/b]"], {"d.csv": CSV2}),
    case("key-unknown", "fit d.npz --key nope", ["d.npz", "nope"],
         {"d.npz": _npz(a=GAMMA, b=GAMMA)}),
    case("unknown-option", "fit d.csv --bogus 3", ["--bogus"], {"d.csv": CSV}),
    case("missing-argument", "fit", ["data"]),
    case("unknown-command", "fitt d.csv", ["fitt"]),
    case("resume-nothing", "fit d.csv --method quantile --resume", ["resume"], {"d.csv": CSV}),
    case("out-is-file", "fit d.csv --out f.txt", ["f.txt"], {"d.csv": CSV, "f.txt": "x"}),
    case("out-exists", "fit d.csv --out m", ["m", "--force"],
         {"d.csv": CSV, "m/model.safetensors": "x"}),
]

# --------------------------------------------------------------------------- config files
CONFIG_CASES = [
    case("toml-steps-text", "fit moons --method sliced-js --config c.toml", ["c.toml", "steps"],
         {"c.toml": 'steps = "abc"\n'}),
    case("toml-steps-float", "fit moons --method sliced-js --config c.toml", ["steps"],
         {"c.toml": "steps = 2.5\n"}),
    case("toml-width-negative", "fit moons --method sliced-js --config c.toml", ["width"],
         {"c.toml": "[train]\nwidth = -4\n"}),
    case("toml-budget-nan", "fit moons --method sliced-js --config c.toml", ["time_budget"],
         {"c.toml": "time_budget = nan\n"}),
    case("toml-budget-inf", "fit moons --method sliced-js --config c.toml", ["time_budget"],
         {"c.toml": "time_budget = inf\n"}),
    case("toml-unknown-key", "fit moons --method sliced-js --config c.toml", ["stepz"],
         {"c.toml": "stepz = 3\n"}),
    case("toml-invalid", "fit moons --method sliced-js --config c.toml", ["c.toml", "TOML"],
         {"c.toml": "steps = = 3\n"}),
    case("toml-missing", "fit moons --method sliced-js --config nope.toml", ["nope.toml"]),
    case("toml-folder", "fit moons --method sliced-js --config c.toml", ["c.toml"],
         {"c.toml": None}),
    case("toml-binary", "fit moons --method sliced-js --config c.toml", ["c.toml"],
         {"c.toml": b"\xff\xfe\x00garbage"}),
    case("toml-train-not-table", "fit moons --method sliced-js --config c.toml", ["train"],
         {"c.toml": "train = 3\n"}),
    case("toml-lr-text", "fit moons --method sliced-js --config c.toml", ["lr"],
         {"c.toml": 'lr = "fast"\n'}),
    case("toml-dtype", "fit moons --method sliced-js --config c.toml", ["dtype"],
         {"c.toml": 'dtype = "float16"\n'}),
    case("toml-device", "fit moons --method sliced-js --config c.toml", ["device"],
         {"c.toml": "device = 5\n"}),
    case("toml-objective-options", "fit moons --method sliced-js --config c.toml",
         ["objective_options"], {"c.toml": "objective_options = 5\n"}),
    case("toml-objective-unknown", "fit moons --method sliced-js --config c.toml",
         ["bogus"], {"c.toml": "[train.objective_options]\nbogus = 1\n"}),
    case("toml-ema", "fit moons --method sliced-js --config c.toml", ["ema"],
         {"c.toml": "ema = 2.0\n"}),
    case("toml-checkpoint-every", "fit moons --method sliced-js --config c.toml",
         ["checkpoint_every"], {"c.toml": "checkpoint_every = -1\n"}),
    case("toml-eval-every-text", "fit moons --method sliced-js --config c.toml",
         ["eval_every"], {"c.toml": 'eval_every = "x"\n'}),
    case("toml-activation", "fit moons --method sliced-js --config c.toml", ["activation"],
         {"c.toml": 'activation = "nope"\n'}),
]

# --------------------------------------------------------------------------- readers
BAD_FILES = [
    case("csv-empty", "fit d.csv", ["d.csv", "empty"], {"d.csv": ""}),
    case("csv-blank-lines", "fit d.csv", ["d.csv", "empty"], {"d.csv": "\n\n  \n"}),
    case("csv-header-only", "fit d.csv", ["d.csv", "no data rows"], {"d.csv": "a,b\n"}),
    case("csv-text-cell", "fit d.csv", ["d.csv", "row 2", "'b'", "abc"],
         {"d.csv": "a,b\n1,2\n3,abc\n"}),
    case("csv-ragged", "fit d.csv", ["d.csv", "line 3"], {"d.csv": "a,b\n1,2\n3,4,5\n"}),
    case("csv-minus-inf", "fit d.csv", ["d.csv", "row 2", "'a'"],
         {"d.csv": "a\n1\n-inf\n3\n"}),
    case("csv-inf", "fit d.csv", ["d.csv", "'a'", "inf"], {"d.csv": "a\n1\ninf\n3\n"}),
    case("csv-all-missing", "fit d.csv", ["d.csv", "b"], {"d.csv": "a,b\n1,\n3,\n4,\n"}),
    case("csv-one-row", "fit d.csv", ["d.csv", "1 row"], {"d.csv": "a\n1\n"}),
    case("csv-constant", "fit d.csv --method quantile", ["constant"],
         {"d.csv": "a\n1\n1\n1\n"}),
    case("csv-overflow-literal", "fit d.csv", ["d.csv", "'a'"], {"d.csv": "a\n1\n1e999\n2\n"}),
    case("csv-binary", "fit d.csv", ["d.csv"], {"d.csv": bytes(range(256)) * 4}),
    case("csv-latin1", "fit d.csv", ["d.csv", "UTF-8"],
         {"d.csv": "a\n1\n\xe9\n".encode("latin-1")}),
    case("csv-only-header-text", "fit d.csv", ["d.csv", "no data rows"],
         {"d.csv": "name,age\n"}),
    case("csv-bracket-name", "fit data[v2].csv", ["data[v2].csv"]),
    case("csv-bracket-name-bad", "fit data[v2].csv", ["data[v2].csv", "empty"],
         {"data[v2].csv": ""}),
    case("csv-markup-cell", "fit d.csv", ["[/b]"], {"d.csv": "a\n1\n[/b]\n"}),
    case("csv-quote", "fit d.csv", ["d.csv"], {"d.csv": 'a,b\n1,"2\n3,4\n'}),
    case("csv-gz-corrupt", "fit d.csv.gz", ["d.csv.gz"], {"d.csv.gz": b"\x1f\x8b\x08garbage"}),
    case("csv-gz-text", "fit d.csv.gz", ["d.csv.gz", "'x'"],
         {"d.csv.gz": gzip.compress(b"x\n1\noops\n")}),
    case("csv-wide", "fit wide.csv", ["wide.csv", "columns"],
         {"wide.csv": ",".join(f"c{j}" for j in range(10_000)) + "\n"
          + ",".join("1" for _ in range(10_000)) + "\n"}),
    case("tsv-ragged", "fit d.tsv", ["d.tsv", "line"], {"d.tsv": "a\tb\n1\t2\n3\t4\t5\n"}),
    case("tsv-text", "fit d.tsv", ["d.tsv", "'b'", "x"], {"d.tsv": "a\tb\n1\t2\n3\tx\n"}),
    case("txt-text", "fit d.txt", ["d.txt", "row 2"], {"d.txt": "0.1\nhello\n0.3\n"}),
    case("txt-one", "fit d.txt", ["d.txt", "1 row"], {"d.txt": "0.1\n"}),
    case("npy-garbage", "fit d.npy", ["d.npy", ".npy"], {"d.npy": b"not numpy at all"}),
    case("npy-truncated", "fit d.npy", ["d.npy"], {"d.npy": _npy(GAMMA)[:100]}),
    case("npy-pickle", "fit d.npy", ["d.npy", "object"],
         {"d.npy": _npy(np.array([{"a": 1}, None], dtype=object))}),
    case("npy-5d", "fit d.npy", ["d.npy", "shape"], {"d.npy": _npy(np.ones((4, 3, 2, 2, 2)))}),
    case("npy-images-7-channels", "fit d.npy", ["d.npy", "channels", "7"],
         {"d.npy": _npy(np.ones((4, 3, 2, 7)))}),
    case("npy-images-nan", "fit d.npy", ["d.npy", "image 1", "NaN"],
         {"d.npy": _npy(np.where(np.arange(24).reshape(4, 3, 2) == 7, np.nan, 1.0))}),
    case("images-no-folder", "fit images:nope", ["images:nope", "no such folder"]),
    case("images-empty-folder", "fit images:imgs", ["images:imgs", "no images"],
         {"imgs/notes.txt": "x"}),
    case("images-one", "fit images:imgs", ["images:imgs", "1 image"],
         {"imgs/a.png": _png(np.zeros((4, 4)))}),
    case("images-mixed-sizes", "fit images:imgs", ["b.png", "5×4", "--size"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.zeros((4, 5)))}),
    case("images-corrupt", "fit images:imgs", ["b.png", "--skip-bad"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.zeros((4, 4)))[:40],
          "imgs/c.png": _png(np.ones((4, 4)))}),
    case("images-not-png", "fit images:imgs", ["a.png", "not an image"],
         {"imgs/a.png": "hello", "imgs/c.png": _png(np.ones((4, 4)))}),
    case("images-all-bad-skipped", "fit images:imgs --skip-bad", ["imgs", "none of its 2"],
         {"imgs/a.png": "hello", "imgs/b.png": "x"}),
    case("images-size-bad", "fit images:imgs --size 0x5", ["--size", "0x5"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.ones((4, 4)))}),
    case("images-size-text", "fit images:imgs?size=big", ["size", "big"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.ones((4, 4)))}),
    case("images-option-unknown", "fit images:imgs?colour=1", ["colour"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.ones((4, 4)))}),
    case("images-too-large", "fit images:imgs --size 100x100", ["10,000", "--size"],
         {"imgs/a.png": _png(np.zeros((4, 4))), "imgs/b.png": _png(np.ones((4, 4)))}),
    case("size-for-a-table", "fit d.csv --size 8x8", ["--size", "images:FOLDER", "d.csv"],
         {"d.csv": CSV}),
    case("patches-unknown", "fit patches:nope", ["nope", "camera"]),
    case("patches-size-huge", "fit patches:camera?size=600", ["size 600", "512"]),
    case("patches-stride-zero", "fit patches:camera?stride=0", ["stride", "0"]),
    case("npy-empty", "fit d.npy", ["d.npy"], {"d.npy": _npy(np.ones((0, 2)))}),
    case("npy-no-columns", "fit d.npy", ["d.npy", "columns"], {"d.npy": _npy(np.ones((5, 0)))}),
    case("npy-strings", "fit d.npy", ["d.npy", "dtype"], {"d.npy": _npy(np.array(["a", "b"]))}),
    case("npy-complex", "fit d.npy", ["d.npy", "dtype"], {"d.npy": _npy(np.ones(3) * 1j)}),
    case("npy-inf", "fit d.npy", ["d.npy", "row index 1"],
         {"d.npy": _npy(np.array([1.0, np.inf, 2.0]))}),
    case("npy-wide", "fit d.npy", ["d.npy", "columns"], {"d.npy": _npy(np.ones((3, 10_000)))}),
    case("npy-scalar", "fit d.npy", ["d.npy"], {"d.npy": _npy(np.float64(3.0))}),
    case("npz-garbage", "fit d.npz", ["d.npz", ".npz"], {"d.npz": b"PK\x03\x04garbage"}),
    case("npz-two-arrays", "fit d.npz", ["d.npz", "--key"], {"d.npz": _npz(a=GAMMA, b=GAMMA)}),
    case("npz-empty", "fit d.npz", ["d.npz"], {"d.npz": _npz()}),
    case("npz-pickle", "fit d.npz", ["d.npz", "object"],
         {"d.npz": _npz(a=np.array([None, 1], dtype=object))}),
    case("parquet-garbage", "fit d.parquet", ["d.parquet", "Parquet"],
         {"d.parquet": b"PAR1 garbage PAR1"}),
    case("parquet-one-row", "fit d.parquet", ["d.parquet", "1 row"],
         {"d.parquet": _parquet({"x": [1.0]})}),
    case("parquet-empty", "fit d.parquet", ["d.parquet", "no data rows"],
         {"d.parquet": _parquet({"x": np.array([], dtype=float)})}),
    case("parquet-inf", "fit d.parquet", ["d.parquet", "'x'"],
         {"d.parquet": _parquet({"x": [1.0, float("inf"), 2.0]})}),
    case("png-garbage", "fit d.png", ["d.png"], {"d.png": b"\x89PNG\r\n\x1a\nnot really"}),
    case("png-image-garbage", "fit image:d.png", ["d.png"], {"d.png": b"GIF89a"}),
    case("png-white", "fit d.png", ["d.png"], {"d.png": _png(np.full((4, 4), 255))}),
    case("png-missing", "fit image:nope.png", ["nope.png"]),
    case("png-folder", "fit image:d.png", ["d.png"], {"d.png": None}),
    case("data-folder", "fit d.csv", ["d.csv", "folder"], {"d.csv": None}),
    case("data-missing", "fit nope.csv", ["nope.csv"]),
    case("data-dev-null", "fit /dev/null", ["/dev/null"]),
]

# --------------------------------------------------------------------------- specs
LONG_MIX = "mix(" + ", ".join(["0.01*norm(0, 1)"] * 100) + ")"
SPECS = [
    case("spec-long-mix", ["fit", LONG_MIX[:300]], ["distribution spec"]),
    case("spec-very-long", ["fit", "norm(" + "1+" * 2000 + "1)"], ["spec"]),
    case("spec-long-name", ["fit", "x" * 5000], ["no such file"]),
    case("spec-overflow-int", ["fit", "norm(0, 1" + "0" * 400 + ")"], ["not a finite number"]),
    case("spec-overflow-float", ["fit", "norm(0, 1e999)"], ["not a finite number"]),
    case("spec-overflow-product", ["fit", "norm(0, 1e200*1e200)"], ["not a finite number"]),
    case("spec-unknown", "fit nrom", ["nrom", "norm"]),
    case("spec-unknown-call", "fit nrom(0,1)", ["nrom"]),
    case("spec-discrete", "fit poisson(3)", ["discrete"]),
    case("spec-bad-param", "fit gamma(a=-1)", ["gamma"]),
    case("spec-zero-scale", "fit norm(0,0)", ["norm"]),
    case("spec-syntax", "fit norm(", ["norm("]),
    case("spec-attribute", "fit os.system('x')", ["os.system"]),
    case("spec-string-arg", ["fit", "norm('a')"], ["norm('a')"]),
    case("spec-lambda", ["fit", "norm(lambda: 1)"], ["lambda"]),
    case("spec-dunder", ["fit", "__import__('os')"], ["__import__"]),
    case("spec-kwargs", ["fit", "norm(**{'a': 1})"], ["norm"]),
    case("spec-deep", ["fit", "mix(" * 150 + "norm" + ")" * 150], ["spec"]),
    case("spec-mix-weights", ["fit", "mix(0.5*norm, 0.2*norm(1))"], ["weight"]),
    case("spec-mix-negative", ["fit", "mix(-0.5*norm, 1.5*norm(1))"], ["mix"]),
    case("spec-mix-empty", ["fit", "mix()"], ["mix"]),
    case("spec-mix-partial", ["fit", "mix(0.5*norm, norm(1))"], ["weight"]),
    case("spec-div-zero", ["fit", "norm(1/0)"], ["division by zero"]),
    case("spec-markup", ["fit", "[/red]"], ["[/red]"]),
    case("spec-markup-open", ["fit", "[bold red]x"], ["[bold red]x"]),
    case("spec-empty", ["fit", ""], ["''"]),
    case("spec-blank", ["fit", "   "], ["spec"]),
    case("spec-newline", ["fit", "norm\n(0, 1)"], []),
    case("spec-nul", ["fit", "norm\x00"], []),
    case("target-no-columns", "fit moons --columns z", ["z"]),
]

# --------------------------------------------------------------------------- other commands
OTHER = [
    case("sample-n-zero", "sample {model} -n 0", ["0"]),
    case("sample-n-negative", "sample {model} -n -5", ["-5"]),
    case("sample-n-power", "sample {model} -n 10^20", ["-n"]),
    case("sample-n-float", "sample {model} -n 1e3", ["-n"]),
    case("sample-n-huge", f"sample {{model}} -n {10**20}", ["100000000000000000000"]),
    case("sample-n-disk", f"sample {{model}} -n {10**11} --out s.csv", ["s.csv"]),
    case("sample-seed-negative", "sample {model} -n 5 --seed -1", ["seed", "-1"]),
    case("sample-seed-huge", f"sample {{model}} -n 5 --seed {2**64}", ["seed"]),
    case("sample-png-of-a-table", "sample {model} -n 3 --format png --out imgs",
         ["not fitted on images"]),
    case("sample-format-unknown", "sample {model} -n 3 --format jpg --out imgs", ["jpg"]),
    case("sample-png-no-out", "sample {model} -n 3 --format png", ["--out"]),
    case("sample-grid-of-a-table", "sample {model} -n 3 --grid g.png", ["not fitted on images"]),
    case("sample-chunk-zero", "sample {model} -n 5 --chunk-size 0", ["chunk"]),
    case("sample-chunk-negative", "sample {model} -n 5 --chunk-size -1", ["chunk"]),
    case("sample-missing-model", "sample nope -n 5", ["nope"]),
    case("sample-model-folder-empty", "sample m -n 5", ["m"], {"m": None}),
    case("sample-model-garbage", "sample m.safetensors -n 5", ["m.safetensors"],
         {"m.safetensors": b"\x00" * 64}),
    case("sample-model-is-csv", "sample d.csv -n 5", ["d.csv"], {"d.csv": CSV}),
    case("sample-out-folder", "sample {model} -n 5 --out o", ["o", "folder"], {"o": None}),
    case("sample-out-folder-csv", "sample {model} -n 5 --out o.csv", ["o.csv", "folder"],
         {"o.csv": None}),
    case("sample-out-exists", "sample {model} -n 5 --out o.csv", ["o.csv", "--force"],
         {"o.csv": "x"}),
    case("sample-out-ext", "sample {model} -n 5 --out o.xlsx", ["o.xlsx", "format"]),
    case("sample-out-parent-file", "sample {model} -n 5 --out f/o.csv", ["f"], {"f": "x"}),
    case("sample-out-dev-full", "sample {model} -n 5 --out /dev/full", ["/dev/full"]),
    case("transform-uniform-support", "transform u.txt --from uniform --to norm",
         ["u.txt", "row 2", "1.5", "uniform"], {"u.txt": "0.1\n1.5\n-0.2\n"}),
    case("transform-gamma-support", ["transform", "g.txt", "--from", "gamma(a=2)", "--to",
                                     "norm"], ["g.txt", "row 3", "-3", "gamma"],
         {"g.txt": "1\n2\n-3\n"}),
    case("transform-beta-support", ["transform", "b.txt", "--from", "beta(2, 2)", "--to",
                                    "norm"], ["b.txt", "row 1", "2"], {"b.txt": "2\n0.5\n"}),
    case("transform-spec-overflow", ["transform", "u.txt", "--from", "uniform", "--to",
                                     "norm(0, 1" + "0" * 400 + ")"], ["not a finite"],
         {"u.txt": "0.1\n0.5\n"}),
    case("transform-unknown-from", "transform u.txt --from unifrom --to norm", ["unifrom"],
         {"u.txt": "0.1\n0.5\n"}),
    case("transform-target", "transform moons --from uniform --to norm", ["moons"]),
    case("transform-markup", ["transform", "u.txt", "--from", "[/red]", "--to", "norm"],
         ["[/red]"], {"u.txt": "0.1\n0.5\n"}),
    case("transform-out-folder", "transform u.txt --from uniform --to norm --out o",
         ["o", "folder"], {"u.txt": "0.1\n0.5\n", "o": None}),
    case("transform-dev-full", "transform u.txt --from uniform --to norm --out /dev/full",
         ["/dev/full"], {"u.txt": "0.1\n0.5\n"}),
    case("transform-missing-to", "transform u.txt --from uniform", ["--to"],
         {"u.txt": "0.1\n"}),
    case("info-missing", "info nope", ["nope"]),
    case("info-garbage", "info m.safetensors", ["m.safetensors"], {"m.safetensors": "{}"}),
    case("evaluate-n-zero", "evaluate {model} --data norm -n 0", ["0"]),
    case("evaluate-n-huge", f"evaluate {{model}} --data norm -n {10**12}", ["-n"]),
    case("evaluate-seed-negative", "evaluate {model} --data norm --seed -1", ["seed"]),
    case("evaluate-dim-mismatch", "evaluate {model} --data moons", ["moons", "columns"]),
    case("evaluate-data-missing", "evaluate {model} --data nope.csv", ["nope.csv"]),
    case("evaluate-file-source", "evaluate {model}", ["data again", "--data"]),
    case("evaluate-columns", "evaluate {model2} --data d.csv --columns zz", ["zz"],
         {"d.csv": CSV2}),
    case("report-n-zero", "report {model} --data norm -n 0 --out r.html", ["0"]),
    case("report-out-folder", "report {model} --data norm --out r", ["r", "folder"],
         {"r": None}),
    case("report-out-exists", "report {model} --data norm --out r.html", ["r.html"],
         {"r.html": "x"}),
    case("report-seed-negative", "report {model} --data norm --seed -3 --out r.html",
         ["seed", "-3"]),
    case("report-n-huge", f"report {{model}} --data norm -n {10**9} --out r.html", ["-n"]),
]

ALL = OPTION_CASES + CONFIG_CASES + BAD_FILES + SPECS + OTHER


def test_the_table_is_large():
    assert len(ALL) >= 150


@pytest.mark.parametrize("args,needles,files", ALL)
def test_bad_input_is_one_line(tmp_path, monkeypatch, models, args, needles, files):
    run_case(tmp_path, monkeypatch, models, args, files, needles)


# --------------------------------------------------------------------------- numbers
NEAR_LIMIT = np.random.default_rng(0).uniform(5e307, 1e308, 200)
NUMBERS = [
    case("csv-near-float-limit", "fit h.csv", ["h.csv", "'x'", "rescale"],
         {"h.csv": "x\n" + "\n".join(repr(float(v)) for v in NEAR_LIMIT) + "\n"}),
    case("npy-near-float-limit", "fit h.npy --method sliced-js --steps 5", ["h.npy", "rescale"],
         {"h.npy": _npy(NEAR_LIMIT)}),
    case("csv-near-float-limit-2d", "fit h.csv --method copula", ["h.csv", "'b'"],
         {"h.csv": "a,b\n" + "\n".join(f"{v},{float(w)!r}" for v, w in
                                       zip(range(200), NEAR_LIMIT, strict=True)) + "\n"}),
    case("transform-to-infinity", "transform u.txt --from uniform --to norm",
         ["u.txt", "row 2", "inf"], {"u.txt": "0.5\n1\n"}),
]


@pytest.mark.parametrize("args,needles,files", NUMBERS)
def test_numbers_beyond_float64_are_one_line(tmp_path, monkeypatch, models, args, needles,
                                             files):
    run_case(tmp_path, monkeypatch, models, args, files, needles)


def test_every_table_case_together_is_over_150():
    assert len(ALL) + len(NUMBERS) >= 150


# --------------------------------------------------------------------------- real processes
SUBPROCESS = ["seed-negative", "spec-markup", "sample-n-power", "csv-text-cell",
              "transform-uniform-support", "csv-bracket-name", "budget-nan"]


@pytest.mark.parametrize("id_", SUBPROCESS)
def test_a_few_cases_as_real_processes(tmp_path, models, id_):
    (args, needles, files), = [p.values for p in ALL if p.id == id_]
    for name, content in files.items():
        (tmp_path / name).write_bytes(content.encode() if isinstance(content, str) else content)
    before = _tree(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(pushforward.__file__).parents[1]),
           "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "pushforward.cli", *[models.get(a, a)
                                                                    for a in args]],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert all(n in r.stderr for n in needles), (needles, r.stderr)
    assert _tree(tmp_path) == before


# --------------------------------------------------------------------------- the Python API
def _api_cases():
    x = np.column_stack([GAMMA, GAMMA[::-1]])
    fit = pushforward.fit
    return [
        ("seed", lambda: fit(x, method="copula", seed=-1), "seed"),
        ("seed-bool", lambda: fit(x, method="copula", seed=True), "seed"),
        ("latent", lambda: fit(x, method="copula", latent_dim=0), "latent_dim"),
        ("latent-text", lambda: fit(x, method="copula", latent_dim="2"), "latent_dim"),
        ("method", lambda: fit(x, method="nope"), "nope"),
        ("noise", lambda: fit(x, noise="cauchy"), "cauchy"),
        ("inf", lambda: fit(np.array([[1.0], [np.inf], [2.0]])), "row index 1"),
        ("huge", lambda: fit(NEAR_LIMIT), "rescale"),
        ("3d", lambda: fit(np.ones((3, 2, 2))), "shape"),
        ("objects", lambda: fit(np.array([None, 1.0], dtype=object)), "objects"),
        ("ragged", lambda: fit([[1.0, 2.0], [3.0]]), "rows"),
        ("wide", lambda: fit(np.ones((3, 5000))), "columns"),
        ("columns", lambda: fit(x, columns=["zz"]), "zz"),
        ("steps", lambda: fit(x, method="swd", steps="abc"), "steps"),
        ("budget-nan", lambda: fit(x, method="swd", time_budget=float("nan")), "time_budget"),
        ("budget-inf", lambda: fit(x, method="swd", time_budget=float("inf")), "time_budget"),
        ("threads", lambda: fit(x, method="swd", steps=2, threads=-1), "threads"),
        ("width", lambda: fit(x, method="swd", steps=2, width=10**9), "width"),
        ("depth", lambda: fit(x, method="swd", steps=2, depth=10**6), "depth"),
        ("config", lambda: fit(x, method="swd", config="c.toml"), "config"),
        ("objective", lambda: fit(x, method="swd", steps=2, objective_options={"x": 1}), "'x'"),
        ("option", lambda: fit(x, method="copula", steps=3), "steps"),
        ("spec-overflow", lambda: fit("norm(0, 1" + "0" * 400 + ")"), "not a finite"),
        ("spec-long", lambda: fit("x" * 10_000), "no such file"),
        ("spec-nul", lambda: fit("norm\x00"), "spec"),
        ("load-missing", lambda: pushforward.load("no/such/model"), "no such model"),
    ]


API = _api_cases()


@pytest.mark.parametrize("make,needle", [(m, n) for _, m, n in API],
                         ids=[i for i, _, _ in API])
def test_the_api_raises_one_line(make, needle):
    with pytest.raises(PushforwardError) as e:
        make()
    assert "\n" not in str(e.value) and needle in str(e.value), str(e.value)


@pytest.mark.parametrize("call,needle", [
    (lambda m: m.sample(0), "positive"),
    (lambda m: m.sample(10**20), "limit"),
    (lambda m: m.sample(5, chunk_size=0), "chunk_size"),
    (lambda m: m.sample(5, seed=-2), "seed"),
    (lambda m: m.inverse_transform(np.ones((3, 5))), "shape"),
    (lambda m: m.save("/dev/full/m.safetensors"), "/dev/full"),
])
def test_a_fitted_map_refuses_bad_calls_in_one_line(models, call, needle):
    m = pushforward.load(models["{model}"])
    with pytest.raises(PushforwardError) as e:
        call(m)
    assert "\n" not in str(e.value) and needle in str(e.value), str(e.value)


# --------------------------------------------------------------------------- Hypothesis
SPEC_TEXT = st.text(alphabet="normgamixbet()[],.*=+-/0123456789e_ ", max_size=60)


@FAST
@given(text=SPEC_TEXT)
def test_any_spec_text_is_a_source_or_one_line(text):
    from pushforward.data import load_source

    try:
        s = load_source(text)
    except PushforwardError as e:
        assert "\n" not in str(e) and len(str(e)) < 400
    else:
        assert s.dim >= 1 and np.isfinite(s.draw(5, seed=0)).all()


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(-10**30, 10**30).map(str),
                 st.text(alphabet="abc,;\t\"'[]/ 1e-", max_size=6))


@FAST
@given(rows=st.lists(st.lists(CELL, min_size=1, max_size=4), min_size=0, max_size=8),
       header=st.booleans())
def test_any_csv_is_finite_data_or_one_line_naming_the_file(tmp_path, rows, header):
    from pushforward.data import load_file

    path = tmp_path / "h.csv"
    lines = (["a,b,c,d"[: 2 * max(len(r) for r in rows) - 1]] if header and rows else [])
    path.write_text("\n".join(lines + [",".join(r) for r in rows]) + "\n")
    try:
        s = load_file(path)
    except PushforwardError as e:
        assert "\n" not in str(e) and "h.csv" in str(e), str(e)
    else:
        # gaps (NaN) are modelled; an infinity or a value beyond 1e150 never gets through
        assert s.data.ndim == 2 and len(s.data) >= 2 and not np.isinf(s.data).any()
        assert not (np.abs(s.data) > 1e150).any()


SETTING = st.sampled_from(["steps", "time_budget", "width", "depth", "threads", "batch_size",
                           "lr", "holdout", "ema", "eval_every", "patience"])
VALUE = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True,
                                                         allow_infinity=True),
                  st.text(max_size=5), st.booleans(), st.none())


@FAST
@given(name=SETTING, value=VALUE)
def test_any_training_setting_is_accepted_or_one_line_naming_it(name, value):
    from pushforward.learned import TrainConfig

    try:
        cfg = TrainConfig().replace(**{name: value})
    except PushforwardError as e:
        assert "\n" not in str(e) and name in str(e), str(e)
    else:
        got = getattr(cfg, name)
        assert got is None or (not isinstance(got, str) and np.isfinite(float(got)))


@FAST
@given(option=st.sampled_from(["--seed", "--steps", "--width", "--threads", "--time-budget",
                               "--latent-dim", "--holdout", "--lr"]),
       value=st.one_of(st.integers(-10**20, 10**20).map(str),
                       st.sampled_from(["nan", "inf", "-inf", "1e400", "abc", "", "[/b]",
                                        "0x10", "1_000", "-0"])))
def test_any_option_value_fits_or_is_one_line(tmp_path_factory, option, value):
    d = tmp_path_factory.mktemp("h")
    (d / "d.csv").write_text(CSV2)
    args = ["fit", str(d / "d.csv"), "--method", "swd", "--steps", "1", "--batch-size", "16",
            "--width", "4", "--depth", "1", "--out", str(d / "m"), option, value]
    if option == "--steps":
        args[5] = value
        args = args[:-2]
    r = runner.invoke(app, args)
    if r.exit_code == 0:
        return
    assert r.exit_code == 2, (args, r.output, r.exception)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), (args, r.stderr)
    assert not (d / "m").exists()
