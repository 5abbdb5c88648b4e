"""The sample losses: identities, closed forms and reference implementations."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from scipy import stats

from pushforward.errors import PushforwardError
from pushforward.losses import (
    LOSSES,
    common_range,
    energy,
    hard_histogram,
    hist_js,
    hist_kl,
    js_divergence,
    mmd,
    random_projections,
    sliced_js,
    sliced_kl,
    soft_histogram,
    swd,
)

NAMES = list(LOSSES)
HISTOGRAM = {"hist-js", "hist-kl", "sliced-js", "sliced-kl"}
SYMMETRIC = set(NAMES) - {"hist-kl", "sliced-kl"}
F64 = torch.float64


def call(name: str, x: torch.Tensor, y: torch.Tensor, **options) -> torch.Tensor:
    """The loss with fixed random state, so two calls see the same projections."""
    fn = LOSSES.get(name)
    if "generator" in inspect.signature(fn).parameters:
        options.setdefault("generator", 0)
    return fn(x, y, **options)


def sample(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=F64) * scale + shift


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_identical_samples_give_zero(name, d):
    x = sample(300, d, 0)
    value = float(call(name, x, x.clone()))
    if name in HISTOGRAM or name in {"mmd", "swd"} or (name == "energy" and d > 1):
        assert value == 0.0
    else:  # sums of sorted values in 1-D energy, iterations in Sinkhorn
        assert abs(value) < 1e-12


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_nonnegative_and_separates(name, d):
    y = sample(300, d, 1)
    close = float(call(name, sample(300, d, 2), y))
    far = float(call(name, sample(300, d, 3, shift=1.5), y))
    assert 0 <= close < far


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_symmetric(name):
    x, y = sample(200, 2, 4, shift=0.5, scale=1.5), sample(250, 2, 5)
    a, b = float(call(name, x, y)), float(call(name, y, x))
    assert a == pytest.approx(b, rel=1e-6 if name != "sinkhorn" else 1e-4)


@pytest.mark.parametrize("d", [1, 2])
def test_kl_directions_are_mirror_images(d):
    x, y = sample(200, d, 6, shift=0.5), sample(300, d, 7, scale=2.0)
    forward = hist_kl(x, y, direction="forward")
    assert forward == hist_kl(y, x, direction="reverse")
    assert abs(float(forward) - float(hist_kl(x, y, direction="reverse"))) > 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_every_input_gets_a_finite_gradient(name, d, dtype):
    x = sample(200, d, 8, shift=0.3).to(dtype).requires_grad_()
    y = sample(150, d, 9).to(dtype).requires_grad_()
    call(name, x, y).backward()
    for t in (x, y):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("name", ["energy", "mmd"])
def test_gradient_is_finite_on_ties(name, d):
    # ‖a − b‖ and the Laplace kernel are not differentiable at a = b: the guard returns 0 there.
    x = torch.tensor([[0.0, 1.0], [0.0, 1.0], [2.0, 0.5]], dtype=F64)[:, :d].requires_grad_()
    y = torch.tensor([[0.0, 1.0], [1.0, 1.0]], dtype=F64)[:, :d]
    options = {"kernel": "laplace"} if name == "mmd" else {}
    call(name, x, y, **options).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_one_gradient_step_lowers_the_loss(name):
    x = sample(256, 2, 10, shift=0.7, scale=1.3).requires_grad_()
    y = sample(256, 2, 11)
    before = call(name, x, y)
    (grad,) = torch.autograd.grad(before, x)
    after = call(name, (x - 1e-3 * grad / grad.abs().max()).detach(), y)
    assert float(after) < float(before.detach())


@pytest.mark.parametrize("name", NAMES)
def test_trains_from_a_bad_start(name):
    # G(z) = a·z + b starts 10 units away from the data; the loss must pull it back.
    g = torch.Generator().manual_seed(12)
    a = torch.ones(1, requires_grad=True)
    b = torch.full((1,), 10.0, requires_grad=True)
    opt = torch.optim.Adam([a, b], lr=0.1)
    losses = []
    for _ in range(100):
        z, y = torch.randn(256, 1, generator=g), torch.randn(256, 1, generator=g)
        loss = call(name, a * z + b, y)
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert abs(b.item()) < 5.0, b.item()


@pytest.mark.parametrize("name", ["hist-js", "sliced-js"])
def test_histogram_js_converges_from_a_bad_start(name):
    g = torch.Generator().manual_seed(13)
    a = torch.ones(1, requires_grad=True)
    b = torch.full((1,), 10.0, requires_grad=True)
    opt = torch.optim.Adam([a, b], lr=0.1)
    for step in range(300):
        for group in opt.param_groups:
            group["lr"] = 0.1 * (1 - step / 300)
        z, y = torch.randn(1024, 1, generator=g), torch.randn(1024, 1, generator=g)
        loss = call(name, a * z + b, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert abs(b.item()) < 0.1 and abs(abs(a.item()) - 1) < 0.1


def test_joint_histogram_converges_from_a_bad_start_in_2d():
    g = torch.Generator().manual_seed(38)
    a = torch.eye(2, requires_grad=True)
    b = torch.full((2,), 10.0, requires_grad=True)
    opt = torch.optim.Adam([a, b], lr=0.1)
    scale = torch.tensor([1.0, 0.3])
    for step in range(300):
        for group in opt.param_groups:
            group["lr"] = 0.1 * (1 - step / 300)
        z, y = torch.randn(1024, 2, generator=g), torch.randn(1024, 2, generator=g) * scale
        loss = hist_js(z @ a + b, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    cov = (a.T @ a).detach()
    assert b.detach().abs().max() < 0.1
    torch.testing.assert_close(cov, torch.diag(scale**2), atol=0.08, rtol=0)


def test_far_apart_js_saturates_at_log2_without_the_pyramid():
    # The note's problem: disjoint histograms give JS = log 2 and no gradient.
    y = sample(500, 1, 14)
    x = sample(500, 1, 15, shift=10.0).requires_grad_()
    flat = hist_js(x, y, levels=0, eps=1e-12)
    assert flat.item() == pytest.approx(math.log(2), abs=1e-6)
    (grad,) = torch.autograd.grad(flat, x)
    assert (grad.abs() < 1e-9).double().mean() > 0.95  # all but the extreme points: no signal
    (grad,) = torch.autograd.grad(hist_js(x, y), x)
    assert (grad > 0).all()  # every generated point is pushed down, towards the data


def test_pyramid_levels_are_linear_binnings_of_the_points():
    # With nested grids (bins a power of two) rebinning the fine histogram equals binning the
    # points at the coarse resolution, so the pyramid is the mean of single-resolution values.
    x, y = sample(400, 1, 36, shift=0.5), sample(300, 1, 37)
    single = [hist_js(x, y, bins=b, levels=0) for b in (8, 4, 2)]
    assert float(hist_js(x, y, bins=8, levels=2)) == pytest.approx(float(sum(single)) / 3,
                                                                   rel=1e-12)


def test_js_is_bounded_by_log2():
    p, q = torch.rand(5, 20, dtype=F64), torch.rand(5, 20, dtype=F64)
    value = js_divergence(p, q, eps=0.0)
    assert ((value >= 0) & (value <= math.log(2))).all()


@pytest.mark.parametrize("name", ["hist-js", "hist-kl"])
def test_sliced_in_one_dimension_equals_the_exact_value(name):
    x, y = sample(300, 1, 16, shift=0.4), sample(200, 1, 17, scale=1.5)
    sliced = sliced_js if name == "hist-js" else sliced_kl
    exact = LOSSES.get(name)(x, y, bins=100)
    assert sliced(x, y, bins=100, projections=torch.tensor([[1.0]])) == exact
    assert sliced(x, y, bins=100) == exact  # the default in 1-D is that single direction


def test_sliced_on_the_axes_averages_the_marginals():
    x, y = sample(300, 2, 18, shift=0.4), sample(200, 2, 19)
    marginals = [hist_js(x[:, [k]], y[:, [k]], bins=64) for k in range(2)]
    value = sliced_js(x, y, bins=64, projections=torch.eye(2, dtype=F64))
    assert value.item() == pytest.approx(float(sum(marginals)) / 2, rel=1e-12)


def test_joint_histogram_sees_dependence_that_marginals_miss():
    z = sample(2000, 2, 20)
    y = torch.stack([z[:, 0], z[:, 0]], 1)  # perfectly correlated
    x = torch.stack([z[:, 0], z[torch.randperm(2000, generator=torch.Generator()), 0]], 1)
    axes = torch.eye(2, dtype=F64)
    assert float(sliced_js(x, y, projections=axes)) == 0.0  # identical marginals
    assert float(hist_js(x, y)) > 0.1


def test_histogram_losses_stop_at_two_dimensions():
    x = sample(10, 3, 21)
    with pytest.raises(PushforwardError, match="sliced-js"):
        hist_js(x, x)
    with pytest.raises(PushforwardError, match="sliced-kl"):
        hist_kl(x, x)


@pytest.mark.parametrize(("n", "m"), [(300, 300), (300, 170)])
def test_swd_in_one_dimension_agrees_with_scipy(n, m):
    x, y = sample(n, 1, 22, shift=0.3), sample(m, 1, 23, scale=2.0)
    expected = stats.wasserstein_distance(x[:, 0].numpy(), y[:, 0].numpy())
    assert float(swd(x, y, p=1)) == pytest.approx(expected, rel=1e-12)


def test_swd_with_unequal_sizes_is_exact():
    # W2 between n and m points equals W2 between the samples repeated m and n times.
    x, y = sample(6, 1, 24), sample(4, 1, 25, shift=1.0)
    repeated = swd(x.repeat(4, 1), y.repeat(6, 1), p=2)
    assert float(swd(x, y, p=2)) == pytest.approx(float(repeated), rel=1e-12)


def test_energy_in_one_dimension_agrees_with_scipy():
    # scipy's energy_distance is the square root of 2E|X−Y| − E|X−X'| − E|Y−Y'|.
    x, y = sample(300, 1, 26, shift=0.3), sample(170, 1, 27, scale=2.0)
    expected = stats.energy_distance(x[:, 0].numpy(), y[:, 0].numpy()) ** 2
    assert float(energy(x, y)) == pytest.approx(expected, rel=1e-10)


def dense_mmd(x, y, kernel, bandwidths):
    def k(a, b):
        r2 = (a[:, None, :] - b[None, :, :]).square().sum(-1)
        if kernel == "gaussian":
            return sum(torch.exp(-r2 / (2 * h**2)) for h in bandwidths) / len(bandwidths)
        r = torch.sqrt(r2 + 1e-300)
        return sum(torch.exp(-r / h) for h in bandwidths) / len(bandwidths)

    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("kernel", ["gaussian", "laplace"])
def test_chunked_mmd_matches_the_dense_formula_and_its_gradient(kernel, d):
    x, y = sample(70, d, 28, shift=0.5).requires_grad_(), sample(50, d, 29)
    scales = (0.5, 1.0, 2.0)
    value = mmd(x, y, kernel=kernel, bandwidth=1.3, scales=scales, chunk_size=16)
    dense = dense_mmd(x, y, kernel, [1.3 * s for s in scales])
    assert value.item() == pytest.approx(dense.item(), rel=1e-10)
    (g1,) = torch.autograd.grad(value, x)
    (g2,) = torch.autograd.grad(dense, x)
    torch.testing.assert_close(g1, g2, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("d", [1, 3])
def test_chunked_energy_gradient_matches_autograd(d):
    x, y = sample(70, d, 30, shift=0.5).requires_grad_(), sample(50, d, 31)
    value = energy(x, y, chunk_size=16)

    def dist(a, b):
        return torch.sqrt((a[:, None, :] - b[None, :, :]).square().sum(-1) + 1e-300)

    dense = 2 * dist(x, y).mean() - dist(x, x).mean() - dist(y, y).mean()
    assert value.item() == pytest.approx(dense.item(), rel=1e-10)
    torch.testing.assert_close(torch.autograd.grad(value, x)[0], torch.autograd.grad(dense, x)[0])


@pytest.mark.parametrize("bins", [1, 7, 100])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hard_histogram_matches_numpy(bins, dtype):
    rng = np.random.default_rng(32)
    a = np.concatenate([rng.normal(size=1000), np.linspace(-1, 1, 11)]).astype(
        np.float64 if dtype == F64 else np.float32)
    for range_ in (None, (-1.0, 1.0), (0.25, 0.25)):
        counts, edges = hard_histogram(torch.from_numpy(a), bins=bins, range=range_)
        expected, expected_edges = np.histogram(a, bins=bins, range=range_)
        np.testing.assert_array_equal(counts.numpy(), expected)
        np.testing.assert_array_equal(edges.numpy(), expected_edges.astype(a.dtype))


def test_no_gradient_reaches_the_generator_through_the_literal_histogram():
    torch.manual_seed(33)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    z, y = torch.randn(500, 1), torch.randn(500, 1) + 1
    out = net(z)[:, 0]
    lo, hi = common_range(out[:, None], y)
    p = hard_histogram(out, bins=32, range=(lo.item(), hi.item()))[0]
    q = hard_histogram(y[:, 0], bins=32, range=(lo.item(), hi.item()))[0]
    literal = js_divergence(p, q)
    assert float(literal) > 0 and not literal.requires_grad
    # the same network trained through the soft histogram does get a gradient
    hist_js(net(z), y).backward()
    assert all(param.grad is not None and param.grad.abs().sum() > 0
               for param in net.parameters())


def test_soft_histogram_keeps_mass_and_mean():
    x = sample(1000, 1, 34)[:, 0]
    p, nodes = soft_histogram(x, bins=13)
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float((p * nodes).sum()) == pytest.approx(float(x.mean()), abs=1e-12)


def test_random_projections_are_orthonormal_blocks_and_seeded():
    theta = random_projections(3, 7, generator=35, dtype=F64)
    assert theta.shape == (3, 7)
    torch.testing.assert_close(theta.norm(dim=0), torch.ones(7, dtype=F64))
    torch.testing.assert_close(theta[:, 3:6].T @ theta[:, 3:6], torch.eye(3, dtype=F64))
    assert torch.equal(theta, random_projections(3, 7, generator=35, dtype=F64))


def test_random_projections_in_2d_are_evenly_spaced_angles():
    theta = random_projections(2, 16, generator=36, dtype=F64)
    torch.testing.assert_close(theta.norm(dim=0), torch.ones(16, dtype=F64))
    angles = torch.atan2(theta[1], theta[0])
    torch.testing.assert_close(torch.diff(angles), torch.full((15,), math.pi / 16, dtype=F64))
    assert 0 <= float(angles[0]) < math.pi / 16  # one random turn of the evenly spaced set
    assert not torch.equal(theta, random_projections(2, 16, generator=37, dtype=F64))


def test_unknown_loss_lists_the_valid_ones():
    with pytest.raises(PushforwardError, match="hist-js"):
        LOSSES.get("histogram")


def test_sinkhorn_without_geomloss_names_the_extra_before_training(monkeypatch):
    """geomloss is optional: a missing one is one line naming the extra, raised when the
    objective is built (before any training), not a traceback at the first step."""
    import importlib.util

    from pushforward.objectives import Divergence

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "geomloss" else real(name, *a))
    with pytest.raises(PushforwardError, match=r'pip install "pushforward\[sinkhorn\]"$'):
        Divergence("sinkhorn")
    Divergence("energy")  # the other losses do not need it
