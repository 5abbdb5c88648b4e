"""The U-Net on a Gaussian base (issue 14): untrained, its flow is the Gaussian fit of the
pixels; its whitening inverts; its density counts the whitening's Jacobian."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from pushforward.nets import BaseUNet
from pushforward.objectives.flow_matching import Solver, integrate


def correlated(n: int, d: int = 16, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """n rows of N(0, Σ), Σ an AR(1) correlation (0.8 between neighbours), and Σ."""
    idx = np.arange(d)
    cov = 0.8 ** np.abs(idx[:, None] - idx[None, :])
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(d), cov, size=n)
    return torch.as_tensor(x, dtype=torch.float64), cov


def base(x: torch.Tensor) -> BaseUNet:
    torch.manual_seed(0)
    return BaseUNet(16, 16, event_shape=(1, 4, 4), width=4).double().fit_base(x)


def test_the_untrained_flow_samples_the_gaussian_fit_of_the_pixels():
    x, cov = correlated(4000)
    net = base(x)
    z = torch.randn(4000, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        w = integrate(net, z, solver=Solver("rk4", steps=20))
        y = net.unwhiten(w)
    # between two standard normals the field is (2t − 1)/D(t)·w, D = (1 − t)² + t²: w(t) =
    # w(0)·√D(t), so at t = 1/2 the points sit at √½ of their start and at t = 1 back on it
    with torch.no_grad():
        half = integrate(net, z, t1=0.5, solver=Solver("rk4", steps=20))
    assert torch.allclose(half, z * 0.5**0.5, atol=1e-6)
    assert torch.allclose(w, z, atol=1e-6)
    assert torch.cov(y.T).numpy() == pytest.approx(cov, abs=0.1)


def test_whiten_inverts_and_whitens():
    x, _ = correlated(3000, seed=2)
    net = base(x.exp())  # skewed pixels: the pooled map to normal scores does the work
    w = net.whiten(x.exp())
    assert torch.allclose(net.unwhiten(w), x.exp(), atol=1e-6)
    assert torch.cov(w.T).numpy() == pytest.approx(np.eye(16), abs=0.02)
    assert net.knots_x.numel() == 256  # continuous pixels: the most knots


def test_discrete_pixels_keep_one_knot_a_level():
    levels = torch.randint(0, 17, (500, 16), generator=torch.Generator().manual_seed(0))
    net = base(levels.double())
    assert net.knots_x.tolist() == list(range(17))


def test_the_density_counts_the_whitening():
    # N(0, Σ) pixels: the pooled map is near the identity, so the untrained flow's density
    # (the base's: N(0, I) at the whitened point, times the whitening's Jacobian) is Σ's
    x, cov = correlated(20000, seed=3)
    net = base(x)
    y = x[:200]
    with torch.no_grad():
        w = net.whiten(y)
    logp = (stats.norm.logpdf(w.numpy()).sum(1) + net.whiten_log_det(y).numpy())
    ref = stats.multivariate_normal(np.zeros(16), cov).logpdf(y.numpy())
    assert np.median(np.abs(logp - ref)) < 0.3


def test_a_fitted_flow_on_images_inverts_and_has_a_density():
    from pushforward.data.source import Source
    from pushforward.methods import METHODS

    x = np.random.default_rng(0).normal(size=(80, 1, 8, 8)).cumsum(2).cumsum(3).reshape(80, 64)
    src = Source(name="images", columns=[f"p{j}" for j in range(64)], data=x,
                 meta={"image_shape": [1, 8, 8]})
    m = METHODS.get("flow-matching")(src, noise="normal", latent_dim=64, seed=0, steps=3,
                                     net="base-unet", width=8, batch_size=16, eval_every=2)
    assert m.net_spec["name"] == "base-unet" and m.net_spec["kwargs"]["knots"] == [256]
    z = np.random.default_rng(1).normal(size=(20, 64))
    back = m.transform(m.inverse_transform(z))
    assert np.median(np.abs(back - z)) < 1e-3
    lp = m.log_prob(x[:5])
    assert lp.shape == (5,) and np.isfinite(lp).all()
    assert m.velocity(x[:3], 0.5).shape == (3, 64)


def rgb(n: int, seed: int = 0) -> np.ndarray:
    """n stationary 3×4×4 images, channel first, whose three channels differ in marginal:
    red N(0, 1) (neighbours correlated), green exp(N(0, 1)) (skewed), blue 17 levels."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 17))
    red = (a[:, 1:] + a[:, :-1]) / 2**0.5
    green = np.exp(rng.normal(size=(n, 16)))
    blue = rng.integers(0, 17, size=(n, 16)).astype(float)
    return np.concatenate([red, green, blue], axis=1)


def test_each_channel_has_its_own_marginal_map():
    x = torch.as_tensor(rgb(3000))
    torch.manual_seed(0)
    net = BaseUNet(48, 48, event_shape=(3, 4, 4), width=4).double().fit_base(x)
    assert net.counts[:2] == [256, 256] and net.counts[2] == 17  # blue keeps one knot a level
    assert net.knots_x[-17:].tolist() == list(range(17))
    w = net.whiten(x)
    assert torch.allclose(net.unwhiten(w), x, atol=1e-6)
    assert torch.cov(w.T).numpy() == pytest.approx(np.eye(48), abs=0.1)
    # one map for all three channels could not make every channel's scores standard normal
    scores = net._map(x, net.knots_x, net.knots_z).reshape(3000, 3, 16)
    for c in range(3):
        assert abs(float(scores[:, c].mean())) < 0.05
        assert float(scores[:, c].std()) == pytest.approx(1.0, abs=0.05)


def test_a_fitted_gaussian_base_keeps_each_channel_in_its_range():
    from pushforward.data.source import Source
    from pushforward.methods import METHODS

    x = rgb(120)
    src = Source(name="images", columns=[f"p{j}" for j in range(48)], data=x,
                 meta={"image_shape": [3, 4, 4]})
    m = METHODS.get("flow-matching")(src, noise="normal", latent_dim=48, seed=0, steps=2,
                                     net="base-unet", width=4, batch_size=16, eval_every=2)
    assert m.net_spec["kwargs"]["knots"][2] == 17  # blue's levels, per channel
    s = m.sample(200, seed=1)
    # each channel's map ends at its own training range: no negative green, blue in [0, 16]
    assert s[:, 16:32].min() > 0 and s[:, 32:].min() > -1e-6 and s[:, 32:].max() < 16 + 1e-6
