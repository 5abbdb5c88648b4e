"""Many processes (issue 15 §2): real gloo process groups on the CPU, spawned by the tests.

The histogram losses are additive: with ``reduce=`` the per-rank histograms are summed, so two
ranks holding half a batch each compute the single-process loss of the whole batch, and the
gradient that DistributedDataParallel averages is that loss's gradient.
"""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from pushforward.losses import LOSSES
from pushforward.train.distributed import Reduce

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
