"""The network registry: gradients everywhere, and a monotone net that is increasing."""

from __future__ import annotations

import pytest
import torch

from pushforward.errors import PushforwardError
from pushforward.losses import swd
from pushforward.nets import NETS, ConvCritic, ConvGenerator, MonotoneNet, TimeMLP, UNet

SHAPES = {"nsf": (2, 2), "monotone": (1, 1), "conv": (5, 48), "conv-critic": (48, 1),
          "unet": (48, 48), "base-unet": (48, 48)}
EVENT = {"conv": (3, 4, 4), "conv-critic": (3, 4, 4), "unet": (3, 4, 4), "base-unet": (3, 4, 4)}
U = torch.tensor([[1e-6], [1 - 1e-6]], dtype=torch.float32)


def forward(net: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    if isinstance(net, (TimeMLP, UNet)):
        return net(z, torch.linspace(0, 1, len(z)))
    return net(z)


@pytest.mark.parametrize("name", list(NETS))
def test_every_parameter_receives_a_gradient(name):
    torch.manual_seed(0)
    latent_dim, dim = SHAPES.get(name, (3, 2))
    image = {"event_shape": EVENT[name]} if name in EVENT else {}
    net = NETS.get(name)(latent_dim, dim, width=16, depth=2, **image) if name != "monotone" \
        else NETS.get(name)(latent_dim, dim, width=16)
    if name == "base-unet":  # its last convolution starts at zero (the Gaussian flow): move it
        torch.nn.init.normal_(net.out[-1].weight, std=0.1)
    z = torch.rand(64, latent_dim)
    out = forward(net, z)
    assert out.shape == (64, dim)
    (out - torch.randn(64, dim)).square().mean().backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


def scrambled(noise: str) -> MonotoneNet:
    # Strictly increasing by construction, not by a lucky initialisation.
    torch.manual_seed(1)
    net = MonotoneNet(1, 1, width=16, noise=noise)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(3 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_monotone_derivative_is_positive_in_float32_at_the_extremes(noise, fresh):
    net = MonotoneNet(1, 1, noise=noise) if fresh else scrambled(noise)
    z = U if noise == "uniform" else torch.special.ndtri(U)
    z = z.clone().requires_grad_()
    (grad,) = torch.autograd.grad(net(z).sum(), z)
    assert grad.dtype == torch.float32 and (grad > 0).all() and torch.isfinite(grad).all()


@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_monotone_is_strictly_increasing_on_a_grid(noise, fresh):
    net = MonotoneNet(1, 1, noise=noise) if fresh else scrambled(noise)
    u = torch.linspace(1e-6, 1 - 1e-6, 20001, dtype=torch.float64)
    z = (u if noise == "uniform" else torch.special.ndtri(u)).float()[:, None]
    y = net(z).detach()[:, 0]
    assert torch.isfinite(y).all() and (y[1:] > y[:-1]).all()


def test_monotone_is_finite_at_the_ends_of_uniform_noise():
    y = MonotoneNet(1, 1, noise="uniform")(torch.tensor([[0.0], [1.0]]))
    assert torch.isfinite(y).all() and y[0] < y[1]


@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_monotone_starts_standardised(noise):
    g = torch.Generator().manual_seed(2)
    z = torch.rand(50_000, 1, generator=g) if noise == "uniform" else \
        torch.randn(50_000, 1, generator=g)
    y = MonotoneNet(1, 1, noise=noise)(z).detach()
    assert abs(float(y.mean())) < 0.03 and abs(float(y.std()) - 1) < 0.03


@pytest.mark.parametrize("noise", ["uniform", "normal"])
def test_monotone_inverse_round_trip(noise):
    net = scrambled(noise)
    u = torch.linspace(0.001, 0.999, 101, dtype=torch.float64)[:, None]
    z = u if noise == "uniform" else torch.special.ndtri(u)
    net = net.double()
    torch.testing.assert_close(net.inverse(net(z).detach()), z, rtol=1e-6, atol=1e-8)


def test_monotone_learns_the_inverse_normal_cdf():
    # The note's step 1 learned: U[0,1] -> N(0,1), compared with Φ⁻¹ on [0.01, 0.99].
    torch.manual_seed(3)
    g = torch.Generator().manual_seed(4)
    net = MonotoneNet(1, 1, noise="uniform", width=16)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(200):
        loss = swd(net(torch.rand(2048, 1, generator=g)), torch.randn(2048, 1, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    u = torch.linspace(0.01, 0.99, 981)[:, None]
    err = (net(u).detach() - torch.special.ndtri(u)).abs()
    assert float(err.mean()) < 0.03 and float(err.max()) < 0.15


def test_monotone_rejects_other_dimensions():
    with pytest.raises(PushforwardError, match="1-D"):
        NETS.get("monotone")(2, 1)
    with pytest.raises(PushforwardError, match="uniform"):
        MonotoneNet(1, 1, noise="cauchy")


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(PushforwardError, match="silu"):
        NETS.get("mlp")(2, 2, activation="swish")


def test_mlp_without_hidden_layers_is_affine():
    net = NETS.get("mlp")(2, 3, depth=0)
    a, b = torch.randn(1, 2), torch.randn(1, 2)
    torch.testing.assert_close(net(a + b) - net(b), net(a) - net(torch.zeros(1, 2)))


@pytest.mark.parametrize("d", [2, 50])
def test_fourier_feature_phases_spread_the_same_in_any_dimension(d):
    torch.manual_seed(0)
    net = TimeMLP(d, d, width=8, depth=1, features=256, feature_scale=1.5)
    phase = torch.randn(4000, d) @ net.feature_matrix
    # 2π·s·bᵀx/√d with b, x standard normal: standard deviation 2π·s whatever d
    assert float(phase.std()) == pytest.approx(2 * torch.pi * 1.5, rel=0.1)


def test_fourier_features_are_saved_with_the_weights():
    torch.manual_seed(0)
    a = TimeMLP(2, 2, width=8, depth=1, features=16)
    torch.manual_seed(1)
    b = TimeMLP(2, 2, width=8, depth=1, features=16)
    x, t = torch.randn(5, 2), torch.rand(5)
    assert not torch.allclose(a(x, t), b(x, t))
    assert "feature_matrix" in a.state_dict()
    b.load_state_dict(a.state_dict())
    assert torch.equal(a(x, t), b(x, t))
    with pytest.raises(PushforwardError, match="features"):
        TimeMLP(2, 2, features=-1)


IMAGES = [(1, 8, 8), (3, 16, 16), (1, 28, 28), (3, 7, 10)]


def image_nets(shape):
    d = shape[0] * shape[1] * shape[2]
    return {"conv": (ConvGenerator(6, d, event_shape=shape, width=8), 6),
            "conv-critic": (ConvCritic(d, 1, event_shape=shape, width=8), d),
            "unet": (UNet(d, d, event_shape=shape, width=8), d)}


@pytest.mark.parametrize("shape", IMAGES)
def test_image_nets_fold_any_event_shape_and_treat_rows_independently(shape):
    # GroupNorm, not BatchNorm: a row's output never depends on the other rows of its batch
    torch.manual_seed(0)
    for name, (net, k) in image_nets(shape).items():
        x = torch.randn(5, k)
        run = (lambda rows, net=net: net(rows, 0.3)) if name == "unet" else net
        out = run(x).detach()
        assert out.shape == (5, 1 if name == "conv-critic" else k if name == "unet"
                             else shape[0] * shape[1] * shape[2]), name
        assert torch.allclose(run(x[2:3]).detach(), out[2:3], atol=1e-5), name


def test_unet_depends_on_time_and_sees_the_whole_image():
    torch.manual_seed(0)
    v = UNet(64, 64, event_shape=(1, 8, 8), width=8)
    x = torch.randn(1, 64)
    assert not torch.allclose(v(x, 0.0), v(x, 1.0))
    # a change in one pixel moves v: the velocity field sees the whole image through the U
    y = x.clone()
    y[0, 0] += 1.0
    assert (v(y, 0.5) - v(x, 0.5)).abs()[0, 63] > 0


def test_spectral_norm_critic_layers_have_unit_spectral_norm():
    torch.manual_seed(0)
    d = ConvCritic(64, 1, event_shape=(1, 8, 8), width=8, spectral_norm=True)
    for _ in range(30):  # power iterations run in training-mode forward passes
        d(torch.randn(4, 64))
    layers = [m for m in d.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 3
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), 2)
        assert abs(float(sigma) - 1) < 0.02


@pytest.mark.parametrize("bad", [(1, 8, 7), (2, 8, 8, 1), (0, 8, 8), "8x8"])
def test_image_nets_refuse_an_event_shape_that_does_not_fold_the_rows(bad):
    with pytest.raises(PushforwardError, match="event_shape"):
        ConvGenerator(4, 64, event_shape=bad)
