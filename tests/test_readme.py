"""The README is a test: its quick start runs verbatim, and every command runs without options.

The shell lines of the README's quick start and its Python block run as written, in order, in a
fresh folder, as a new user would type them; each must exit 0 and leave the files it names.
Nothing is added to them: if CI needs shorter budgets, the README's own budgets are shortened.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent


def quick_start_blocks() -> tuple[list[str], str]:
    """(the quick start's shell lines, its Python block), read from README.md."""
    text = README.read_text()
    match = re.search(r"^## Quick start\n(.*?)^## ", text, flags=re.S | re.M)
    assert match, "README.md has no '## Quick start' section"
    section = match.group(1)
    shell = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    python = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(shell) == 1 and len(python) == 1, "the quick start has one bash and one python block"
    lines = [ln for ln in shell[0].splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return lines, python[0]


def user_env() -> dict[str, str]:
    """The environment a user's shell has: the installed ``pushforward`` on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def named_outputs(line: str) -> list[str]:
    """Files or folders a shell line says it writes: the argument after ``--out`` or ``>``."""
    words = shlex.split(line, comments=True)
    outs = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--out", ">")]
    return [o for o in outs if not o.startswith("-")]


def test_readme_quick_start_runs_verbatim(tmp_path):
    lines, python = quick_start_blocks()
    assert len(lines) >= 5, lines
    env = user_env()
    for line in lines:
        r = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, f"README line failed ({r.returncode}): {line}\n{r.stderr}"
        assert "Traceback" not in r.stderr, (line, r.stderr)
        for out in named_outputs(line):
            assert (tmp_path / out).exists(), f"README line wrote no {out}: {line}"
    r = subprocess.run([sys.executable, "-c", python], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README's Python block failed:\n{r.stderr}"
    assert r.stdout.strip(), "the Python block prints what it promises"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pushforward"), *args], cwd=cwd, env=user_env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A user's folder with a small data file and a file of uniform numbers."""
    d = tmp_path_factory.mktemp("user")
    rng = np.random.default_rng(0)
    np.savetxt(d / "data.csv", rng.normal(size=(300, 2)), delimiter=",", header="a,b",
               comments="")
    np.savetxt(d / "u.txt", rng.uniform(size=20))
    return d


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, f"{r.args}: exit {r.returncode}\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_every_command_runs_with_its_optional_flags_left_out(folder, tmp_path):
    """No --seed, no --out: the defaults a new user gets (model in ./model, a drawn seed)."""
    ok(run("fit", "data.csv", cwd=folder))
    assert (folder / "model").is_dir()
    rows = ok(run("sample", "model", "-n", "5", cwd=folder)).stdout.strip().splitlines()
    assert rows[0] == "a,b" and len(rows) == 6
    ok(run("info", "model", cwd=folder))
    # a model never names a file to read: its data is given again (its held-out rows are used)
    ok(run("evaluate", "model", "--data", "data.csv", cwd=folder))
    y = ok(run("transform", "u.txt", "--from", "uniform", "--to", "norm", cwd=folder)).stdout
    assert len(y.strip().splitlines()) == 21
    ok(run("list", cwd=folder))
    # a built-in target is named by the model, so evaluate and report need nothing more
    ok(run("fit", "moons", cwd=tmp_path))
    ok(run("evaluate", "model", cwd=tmp_path))
    ok(run("report", "model", cwd=tmp_path))
    assert (tmp_path / "report.html").stat().st_size > 1000


def test_a_learned_fit_without_a_seed_draws_one_and_records_it(folder):
    """A drawn seed fits every consumer (scikit-learn's too) and is printed and recorded."""
    r = ok(run("fit", "moons", "--method", "sliced-js", "--steps", "3", "--out", "learned",
               cwd=folder))
    import json

    seed = json.loads(ok(run("info", "learned", "--json", cwd=folder)).stdout)["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    assert str(seed) in r.stdout + r.stderr
