"""Many processes (issue 15 §2): real gloo process groups on the CPU, spawned by the tests.

The histogram losses are additive: with ``reduce=`` the per-rank histograms are summed, so two
ranks holding half a batch each compute the single-process loss of the whole batch, and the
gradient that DistributedDataParallel averages is that loss's gradient.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from pushforward._state import load_state
from pushforward.data import load_source
from pushforward.losses import LOSSES
from pushforward.methods import METHODS
from pushforward.metrics import energy_distance_sq
from pushforward.objectives import Objective
from pushforward.train import Loop, LoopSettings
from pushforward.train.distributed import Reduce, current

# (loss, data dimension, options, rows of rank 0 out of B): 1-D and 2-D joint histograms, the
# sliced ones in 3-D (rank 1 draws other directions than rank 0 and must use rank 0's), and an
# uneven split, where the sizes are summed too.
B = 400
CASES = [
    ("hist-js", 1, {}, B // 2),
    ("hist-kl", 1, {"direction": "forward"}, B // 2),
    ("hist-kl", 1, {"direction": "reverse"}, 150),
    ("hist-js", 2, {"bins": 16}, B // 2),
    ("sliced-js", 3, {"n_projections": 8}, B // 2),
    ("sliced-kl", 3, {"n_projections": 8, "bins": 32}, 250),
]


def _problem(d: int) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A linear generator and a whole batch (z, y), identical in every process."""
    g = torch.Generator().manual_seed(d)
    net = torch.nn.Linear(d, d).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5)
    z = torch.randn(B, d, generator=g, dtype=torch.float64)
    y = torch.randn(B, d, generator=g, dtype=torch.float64) * 1.5 + 0.3
    return net, z, y


def _loss_and_grads(name, net, z, y, options, rank, reduce):
    kwargs = dict(options, reduce=reduce)
    if name.startswith("sliced"):
        kwargs["generator"] = 1000 + rank  # rank 1's own directions must be overruled
    loss = LOSSES.get(name)(net(z), y, **kwargs)
    net.zero_grad()
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in net.parameters()]


def _worker(rank: int, world: int, init: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        results = []
        for name, d, options, k in CASES:
            net, z, y = _problem(d)
            rows = slice(0, k) if rank == 0 else slice(k, B)
            ddp = DistributedDataParallel(net)
            results.append(_loss_and_grads(name, ddp, z[rows], y[rows], options, rank, Reduce()))
        torch.save(results, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Each rank's (loss, averaged gradients) for every case, from 2 gloo processes."""
    tmp = tmp_path_factory.mktemp("ranks")
    # fork: the children start with the modules already imported (spawn re-imports torch:
    # ~20 s on a loaded 2-core machine instead of ~1 s)
    mp.start_processes(_worker, args=(2, f"file://{tmp}/store", str(tmp)), nprocs=2,
                       start_method="fork")
    return [torch.load(tmp / f"rank{r}.pt") for r in range(2)]


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{c[1]}d-{c[3]}of{B}" for c in CASES])
def test_two_ranks_compute_the_single_process_loss_of_the_union(two_ranks, case):
    name, d, options, _ = CASES[case]
    net, z, y = _problem(d)
    loss, grads = _loss_and_grads(name, net, z, y, options, rank=0, reduce=None)
    assert loss > 0.01  # a real divergence, not 0 = 0
    for rank_loss, rank_grads in (results[case] for results in two_ranks):
        assert rank_loss == pytest.approx(loss, rel=1e-12, abs=1e-14)
        for gr, g in zip(rank_grads, grads, strict=True):
            torch.testing.assert_close(gr, g, rtol=1e-10, atol=1e-13)


def test_without_reduce_the_ranks_losses_differ_from_the_union(two_ranks):
    # The check above is not vacuous: a half batch alone gives another loss and gradient.
    name, d, options, k = CASES[0]
    net, z, y = _problem(d)
    half, _ = _loss_and_grads(name, net, z[:k], y[:k], options, 0, None)
    assert abs(half - two_ranks[0][0][0]) > 1e-3


# ------------------------------------------------------------------ a distributed fit (CI)
# The one loop in 2 gloo processes, set up as torchrun sets them up (RANK, WORLD_SIZE,
# MASTER_ADDR/PORT in the environment; pushforward.train.distributed.current() joins the group).
FIT = {"steps": 300, "batch_size": 256, "eval_every": 1000, "threads": 1}


def _moons(n: int = 4000) -> np.ndarray:
    return load_source("moons").draw(n, seed=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fit(out: Path | None, **options):
    fit = METHODS.get("sliced-js")
    return fit(load_source(_moons()), noise="normal", latent_dim=2, seed=3, out=out,
               **{**FIT, **options})


def _fit_rank(rank: int, world: int, port: int, folder: str, task: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    out = Path(folder) / ("run" if task == "fit" else "killed")
    try:
        if task == "kill":  # both ranks die after step 150; rank 0 checkpoints every step
            with contextlib.suppress(_Killed):
                _fit(out, checkpoint_every=0.0, on_step=_kill_at(150))
            return
        if task == "stops":
            torch.save(_one_rank_stops(rank), Path(folder) / f"stops{rank}.pt")
            return
        fitted = _fit(out, resume=task == "resume")
        torch.save({"net": fitted.net.state_dict(), "info": fitted.info,
                    "sample": fitted.sample(2000, seed=11) if rank == 0 else None},
                   Path(folder) / f"{task}{rank}.pt")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


class _Killed(Exception):
    pass


def _kill_at(step: int):
    def hook(k: int) -> None:
        if k == step:
            raise _Killed
    return hook


def _ranks(folder: Path, task: str) -> list[dict]:
    mp.start_processes(_fit_rank, args=(2, _free_port(), str(folder), task), nprocs=2,
                       start_method="fork")
    return [torch.load(folder / f"{task}{r}.pt", weights_only=False)
            for r in range(2) if (folder / f"{task}{r}.pt").exists()]


class _NaNOnRank1(Objective):
    def loss(self, generator, z, y, *, rng, progress):
        bad = float("nan") if dist.get_rank() == 1 and progress >= 0.5 else 1.0
        return (generator(z).mean(0) - y.mean(0)).pow(2).sum() * bad


def _one_rank_stops(rank: int) -> dict:
    """A NaN on rank 1 only, then a Ctrl-C on rank 1 only: where each rank stopped."""
    out: dict = {}
    net = torch.nn.Linear(1, 1).double()
    settings = LoopSettings(steps=40, time_budget=None, lr=1e-2, batch_size=8, ema=0.9,
                            eval_every=5, patience=5, checkpoint_every=1e9, seed=0)
    data = lambda n, g: torch.randn(n, 1, generator=g, dtype=torch.float64)  # noqa: E731
    loop = Loop(_NaNOnRank1(), net, noise=data, batch=data, settings=settings,
                strategy=current())
    current().prepare(loop)
    out["nan"] = (loop.run(), loop.step)

    def ctrl_c(k: int) -> None:
        if rank == 1 and k == 60:
            os.kill(os.getpid(), signal.SIGINT)

    try:
        _fit(None, on_step=ctrl_c)
    except KeyboardInterrupt:
        out["ctrl_c"] = "interrupted"
    return out


@pytest.fixture(scope="module")
def distributed_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit")
    return folder, _ranks(folder, "fit")


def test_two_processes_end_with_identical_weights_and_one_process_quality(distributed_fit):
    _, (r0, r1) = distributed_fit
    assert r0["info"]["steps"] == r1["info"]["steps"] == FIT["steps"]
    for k, v in r0["net"].items():
        assert torch.equal(v, r1["net"][k]), k  # bit for bit: averaged gradients, one state
    single = _fit(None)
    test = load_source("moons").draw(2000, seed=5)
    floor = energy_distance_sq(load_source("moons").draw(2000, seed=6), test)
    two, one = (energy_distance_sq(x, test) for x in (r0["sample"], single.sample(2000, seed=11)))
    # both trained (far below an untrained net's ED²) and within noise of each other
    assert two < 10 * floor and one < 10 * floor
    assert abs(two - one) < 4 * floor, (two, one, floor)


def test_a_distributed_run_resumes_exactly(distributed_fit):
    folder, uninterrupted = distributed_fit
    assert _ranks(folder, "kill") == []  # both ranks died at step 150
    assert load_state(folder / "killed" / "checkpoint.safetensors")["step"] == 149
    for full, resumed in zip(uninterrupted, _ranks(folder, "resume"), strict=True):
        assert resumed["info"]["steps"] == FIT["steps"]
        for k, v in full["net"].items():
            assert torch.equal(v, resumed["net"][k]), k


def test_a_nan_or_ctrl_c_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    r0, r1 = _ranks(tmp_path, "stops")
    assert r0["nan"] == r1["nan"] == ("diverged", 20)  # rank 0 computed finite losses
    assert r0["ctrl_c"] == r1["ctrl_c"] == "interrupted"  # rank 0 was not pressed


def test_nproc_must_be_positive():
    from typer.testing import CliRunner

    from pushforward.cli import app

    r = CliRunner().invoke(app, ["fit", "moons", "--method", "swd", "--nproc", "0"])
    assert r.exit_code == 2 and "--nproc must be at least 1, got 0" in r.output
