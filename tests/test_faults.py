"""Faults (issue 17): signals, checkpoints, write failures and two writers on one folder.

Each fault ends in one line on stderr and a known exit code, and leaves either the complete
file or nothing: no traceback, no half-written file, no temporary file.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pushforward
from pushforward._io import LOCK_FILE, folder_lock
from pushforward._state import load_state, save_state
from pushforward.errors import PushforwardError
from pushforward.model import CHECKPOINT_FILE, read_model_file

SRC = str(Path(pushforward.__file__).resolve().parents[1])
X = np.random.default_rng(0).normal(size=(400, 2)) @ np.array([[1.0, 0.5], [0.0, 1.0]])
SMALL = dict(width=8, depth=1, batch_size=32, threads=1, dtype="float64")


def swd(**options):
    """The swd method's fit function itself: it takes ``on_step``, the tests' simulated kill."""
    from pushforward.data import load_source
    from pushforward.methods import METHODS

    return METHODS.get("swd")(load_source(X), noise="normal", latent_dim=2, seed=0,
                              **{**SMALL, **options})


def cli(*args, cwd, stdout=subprocess.PIPE, **kw):
    """The real command in a subprocess (signals, file descriptors and limits are real)."""
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "pushforward.cli", *map(str, args)],
                            cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
                            **kw)


def one_line(stderr: str, *needles: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for n in needles:
        assert n in stderr, (n, stderr)
    return stderr


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    return pushforward.fit(X, method="copula", seed=0).save(d / "m").parent


def _no_temporaries(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ signals and checkpoints
def _fit_args(out, steps):
    return ["fit", "data.npy", "--method", "swd", "--steps", steps, "--seed", 3, "--out", out,
            "--width", 8, "--depth", 1, "--batch-size", 32, "--threads", 1, "--config",
            "c.toml"]


def test_sigterm_checkpoints_and_resume_gives_the_uninterrupted_weights(tmp_path):
    np.save(tmp_path / "data.npy", X)
    (tmp_path / "c.toml").write_text('dtype = "float64"\neval_every = 20\n')
    steps = 1500
    p = cli(*_fit_args("b", steps), cwd=tmp_path)
    ckpt = tmp_path / "b" / CHECKPOINT_FILE
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)  # the first checkpoint follows the first validation (step 20)
    assert ckpt.exists(), p.communicate()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    one_line(err.split("\n", 1)[1], "SIGTERM", "--resume")  # after the start line
    stopped = load_state(ckpt)["step"]
    assert 20 <= stopped < steps
    r = cli(*_fit_args("b", steps), "--resume", cwd=tmp_path)
    r.communicate(timeout=120)
    assert r.returncode == 0
    a = cli(*_fit_args("a", steps), cwd=tmp_path)
    a.communicate(timeout=120)
    assert a.returncode == 0
    wa, wb = read_model_file(tmp_path / "a")[1], read_model_file(tmp_path / "b")[1]
    for k in wa:
        if k.startswith("net."):
            np.testing.assert_array_equal(wa[k], wb[k])
    _no_temporaries(tmp_path)


def test_the_first_checkpoint_follows_the_first_validation(tmp_path):
    def kill(step):
        if step == 15:
            raise KeyError("killed")  # like SIGKILL: no chance to save

    with pytest.raises(KeyError):
        swd(steps=10_000, out=tmp_path / "m", eval_every=10, checkpoint_every=1e9,
            on_step=kill)
    assert load_state(tmp_path / "m" / CHECKPOINT_FILE)["step"] == 10


@pytest.fixture
def checkpointed(tmp_path):
    """A run killed at step 30 of 60, its checkpoint at step 20."""
    def kill(step):
        if step == 30:
            raise KeyError("killed")

    kw = dict(steps=60, out=tmp_path / "m", eval_every=20, checkpoint_every=1e9)
    with pytest.raises(KeyError):
        swd(on_step=kill, **kw)
    return tmp_path / "m" / CHECKPOINT_FILE, kw


@pytest.mark.parametrize("field,value,needle", [
    ("step", 10**9, "1,000,000,000"),
    ("step", -4, "step"),
    ("step", "abc", "step"),
    ("elapsed", float("nan"), "elapsed"),
    ("elapsed", -1.0, "elapsed"),
])
def test_a_hostile_checkpoint_field_is_refused_on_resume(checkpointed, field, value, needle):
    path, kw = checkpointed
    st = load_state(path)
    st[field] = value
    save_state(path, st)
    with pytest.raises(PushforwardError, match=needle) as e:
        swd(resume=True, **kw)
    assert "\n" not in str(e.value) and str(path.parent) in str(e.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "skeleton", "deep"])
def test_a_damaged_checkpoint_is_one_line(checkpointed, damage):
    path, kw = checkpointed
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        from safetensors.torch import save

        skel = ('{"__dict__": [["step", {"__tensor__": "nope"}]]}' if damage == "skeleton"
                else "[" * 100_000 + "]" * 100_000)
        path.write_bytes(save({}, metadata={"skeleton": skel}))
    with pytest.raises(PushforwardError) as e:
        swd(resume=True, **kw)
    assert "\n" not in str(e.value) and "checkpoint" in str(e.value)


def test_a_resumed_run_equals_an_uninterrupted_one(checkpointed):
    path, kw = checkpointed
    resumed = swd(resume=True, **kw)
    full = swd(**{**kw, "out": path.parent.parent / "full"})
    z = np.random.default_rng(1).normal(size=(50, 2))
    np.testing.assert_array_equal(resumed.inverse_transform(z), full.inverse_transform(z))


# ------------------------------------------------------------------ write failures
def test_stdout_that_cannot_be_written_is_one_line(model, tmp_path):
    with open("/dev/full", "w") as full:
        p = cli("sample", model, "-n", 1000, cwd=tmp_path, stdout=full)
        _, err = p.communicate(timeout=60)
    assert p.returncode == 2
    one_line(err, "standard output", "No space left on device")


def test_a_file_too_large_is_one_line_and_leaves_nothing(model, tmp_path):
    def limit():  # 64 KiB files (EFBIG beyond); Python ignores SIGXFSZ
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    p = cli("sample", model, "-n", 100_000, "--out", "s.csv", cwd=tmp_path, preexec_fn=limit)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2
    one_line(err, "s.csv", "File too large", "nothing was written")
    assert sorted(os.listdir(tmp_path)) == []


def test_a_failed_write_keeps_the_old_file(model, tmp_path, monkeypatch):
    out = tmp_path / "s.npy"
    out.write_bytes(b"old")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    m = pushforward.load(model)
    from pushforward.writers import write_samples

    with pytest.raises(PushforwardError, match="s.npy: cannot write .No space left") as e:
        write_samples(m.iter_samples(10, seed=0), out, n=10, columns=m.columns, force=True)
    assert "\n" not in str(e.value) and out.read_bytes() == b"old"
    _no_temporaries(tmp_path)


def test_a_dead_writers_temporary_files_are_removed_on_the_next_write(model, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = folder / f".model.safetensors.{dead.pid}.x1y2.tmp"
    live = folder / f".model.safetensors.{os.getpid()}.x1y2.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    pushforward.load(model).save(folder)
    assert not stale.exists() and live.exists()
    assert (folder / "model.safetensors").exists() and not (folder / LOCK_FILE).exists()


# ------------------------------------------------------------------ two writers, one folder
def test_a_second_writer_is_refused_with_the_first_ones_pid(tmp_path):
    np.save(tmp_path / "data.npy", X)
    hold = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pushforward._io import folder_lock\n"
         "with folder_lock('m'):\n    print('held', flush=True); time.sleep(60)"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "held"
        p = cli("fit", "data.npy", "--method", "copula", "--out", "m", cwd=tmp_path)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 2
        one_line(err, "m: is being written by another process", f"pid {hold.pid}")
        with pytest.raises(PushforwardError, match=f"pid {hold.pid}"):
            pushforward.fit(X, method="copula").save(tmp_path / "m")
        assert not (tmp_path / "m" / "model.safetensors").exists()
    finally:
        hold.kill()  # SIGKILL: the lock file stays, but the lock dies with its holder
        hold.wait()
    assert (tmp_path / "m" / LOCK_FILE).exists()
    p = cli("fit", "data.npy", "--method", "copula", "--out", "m", cwd=tmp_path)
    p.communicate(timeout=60)
    assert p.returncode == 0 and not (tmp_path / "m" / LOCK_FILE).exists()


def test_the_lock_is_reentrant_and_removed(tmp_path):
    with folder_lock(tmp_path / "m"), folder_lock(tmp_path / "m"):
        assert (tmp_path / "m" / LOCK_FILE).read_text().strip() == str(os.getpid())
    assert not (tmp_path / "m").exists()  # made for the lock, left empty: removed
