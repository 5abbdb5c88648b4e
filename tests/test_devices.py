"""Every loss, objective family and the flow solver on every device torch sees.

The CPU cases run everywhere (CI has no GPU); the CUDA cases run where torch sees a GPU and are
skipped, with the reason, where it does not. Each case asserts the mathematics on the device:
a loss is 0 (or its minimum) for a sample against itself and larger for a shifted one, its
gradient lands on the device, a fit trains there and its map samples finite points.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pushforward
from pushforward.losses import LOSSES
from pushforward.train.loop import step_generator

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="torch sees no CUDA GPU"))]


def _losses(dim: int) -> list[str]:
    keys = [k for k in LOSSES if not (k.startswith("hist-") and dim > 2)]
    try:
        import geomloss  # noqa: F401  (the sinkhorn extra)
    except ImportError:
        keys.remove("sinkhorn")
    return keys


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_every_loss_runs_and_differentiates_on_the_device(device, dim):
    g = torch.Generator(device=device).manual_seed(0)
    y = torch.randn(512, dim, generator=g, device=device)
    x = torch.randn(512, dim, generator=g, device=device)
    for key in _losses(dim):
        loss = LOSSES.get(key)
        options = {"generator": 0} if "generator" in _params(loss) else {}
        near = x.clone().requires_grad_(True)
        value = loss(near, y, **options)
        value.backward()
        assert value.device.type == device and near.grad.device.type == device, key
        assert torch.isfinite(near.grad).all(), key
        far, near_value = float(loss(x + 3.0, y, **options)), float(value.detach())
        # ≥ 0 up to the solver's rounding (debiased Sinkhorn in float32: ~1e-3 below 0)
        assert far > near_value > -0.01 * far, key


def _params(fn) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


@pytest.mark.parametrize("device", DEVICES)
def test_a_step_generator_is_the_same_on_every_call(device):
    a = torch.randn(5, generator=step_generator(3, 7, device), device=device)
    b = torch.randn(5, generator=step_generator(3, 7, device), device=device)
    c = torch.randn(5, generator=step_generator(3, 8, device), device=device)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["sliced-js", "flow-matching", "wgan-gp", "vae", "nsf"])
def test_each_family_trains_on_the_device_and_samples(device, method):
    x = np.random.default_rng(0).normal(size=(400, 2)) * [1.0, 2.0] + [0.0, 5.0]
    m = pushforward.fit(x, method=method, steps=15, batch_size=128, device=device, seed=0)
    assert m.settings["train"]["device"] == device
    s = m.sample(300, seed=1)
    assert s.shape == (300, 2) and np.isfinite(s).all()
    assert m.info["steps"] == 15 and m.history["step"][-1] == 15


def test_auto_device_is_the_gpu_when_torch_sees_one():
    from pushforward.learned import TrainConfig

    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert TrainConfig().device == "auto" and TrainConfig().torch_device().type == want
