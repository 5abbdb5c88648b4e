"""Learned maps on images: convolutional nets picked by the event shape, every method, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import pushforward
from pushforward.data.source import Source
from pushforward.errors import PushforwardError
from pushforward.methods import LEARNED, METHODS

#: the learned methods that take images (the 1-D/2-D histogram losses do not take 64 columns)
IMAGE_METHODS = [k for k in LEARNED if k not in ("hist-js", "hist-kl")]
NET = {"flow-matching": "unet", "ot-flow-matching": "unet", "nsf": "nsf"}
SMALL = {"width": 8, "batch_size": 16, "eval_every": 2}


def images(n: int, shape: tuple[int, int, int], seed: int = 0) -> Source:
    """Smooth random images (cumulated noise): every pixel varies, so any codec keeps it."""
    x = np.random.default_rng(seed).normal(size=(n, *shape)).cumsum(2).cumsum(3)
    return Source(name="images", columns=[f"p{j}" for j in range(int(np.prod(shape)))],
                  data=x.reshape(n, -1), meta={"image_shape": list(shape)})


def fit(key: str, source: Source, **options):
    """The method's own fit (the one loop; no closing check, to keep the test fast)."""
    if key == "sinkhorn":
        pytest.importorskip("geomloss")
    opts = {**SMALL, **options}
    return METHODS.get(key)(source, noise="normal", latent_dim=source.dim, seed=0, steps=3,
                            **opts)


@pytest.fixture(scope="module")
def digits():
    from pushforward.data import TARGETS

    return TARGETS.get("digits")()


@pytest.mark.parametrize("key", IMAGE_METHODS)
def test_every_learned_method_fits_digits_with_the_image_nets(key, digits):
    m = fit(key, digits)
    assert m.net_spec["name"] == NET.get(key, "conv")
    if key != "nsf":
        assert m.net_spec["kwargs"]["event_shape"] == [1, 8, 8]
    if key in ("gan", "wgan", "wgan-gp"):
        assert m.critic_spec["name"] == "conv-critic"
        assert m.critic_spec["kwargs"]["spectral_norm"] is (key == "gan")
    x = m.sample(7, seed=1)
    assert x.shape == (7, 64) and np.isfinite(x).all()
    assert set(np.unique(x)) <= set(range(17))  # digits' support: the codec rounds
    assert m.info["steps"] == 3


@pytest.mark.parametrize("key", ["gan", "flow-matching", "sliced-js"])
def test_rgb_16x16_images_build_and_train(key):
    m = fit(key, images(40, (3, 16, 16)))
    assert m.net_spec["kwargs"]["event_shape"] == [3, 16, 16]
    losses = np.asarray(m.history["loss"])
    assert np.isfinite(losses).all() and len(losses) == 3
    assert m.sample(3, seed=0).shape == (3, 768)


@pytest.mark.parametrize("key", ["gan", "ot-flow-matching"])
def test_conv_model_file_rebuilds_the_nets_without_the_data(key, tmp_path):
    m = fit(key, images(60, (1, 8, 8)))
    m.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "settings.json").read_text())
    assert meta["net"]["kwargs"]["event_shape"] == [1, 8, 8]
    loaded = pushforward.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.sample(50, seed=3), m.sample(50, seed=3))
    if key == "gan":  # the spectrally normalised critic comes back with its power-iteration state
        z = torch.randn(4, 64, generator=torch.Generator().manual_seed(0))
        assert torch.equal(loaded.critic_(z), m.critic_.eval()(z))


def test_net_mlp_overrides_the_image_nets():
    m = fit("swd", images(60, (1, 8, 8)), net="mlp")
    assert m.net_spec["name"] == "mlp"
    w = fit("wgan-gp", images(60, (1, 8, 8)), objective_options={"critic_net": "mlp"})
    assert w.critic_spec["name"] == "mlp" and w.net_spec["name"] == "conv"


def test_image_nets_on_a_table_are_one_line_errors():
    table = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(PushforwardError, match="net 'conv' is for images"):
        pushforward.fit(table, method="swd", net="conv", steps=1, seed=0)
    with pytest.raises(PushforwardError, match="conv critic needs image data"):
        pushforward.fit(table, method="gan", steps=1, seed=0,
                        objective_options={"critic_net": "conv-critic"})


def test_the_copy_guard_watches_image_fits_only():
    # images: every check's copy ratio is recorded; the same rows as a table, or
    # copy_guard=0: no guard
    x = images(60, (1, 8, 8))
    m = fit("swd", x)
    ratios = m.history["val_copy"]
    assert len(ratios) == len(m.history["val_step"]) > 0 and min(ratios) > 0
    assert fit("swd", x, copy_guard=0.0).history["val_copy"] == []
    table = Source(name="t", columns=x.columns, data=x.data)
    assert METHODS.get("swd")(table, noise="normal", latent_dim=64, seed=0, steps=4,
                              eval_every=2).history["val_copy"] == []


def test_unet_dropout_acts_in_training_only_and_the_model_samples_deterministically(tmp_path):
    x = images(60, (1, 8, 8))
    m = fit("flow-matching", x, dropout=0.3)
    assert m.net_spec["kwargs"]["dropout"] == 0.3
    net, rows, t = m.net, torch.randn(4, 64, generator=torch.Generator().manual_seed(0)), 0.5
    with torch.no_grad():
        assert not net.training and torch.equal(net(rows, t), net(rows, t))
        net.train()
        assert not torch.equal(net(rows, t), net(rows, t))  # features dropped at random
        net.eval()
    m.save(tmp_path / "m")
    loaded = pushforward.load(tmp_path / "m")  # rebuilt in evaluation mode too
    np.testing.assert_array_equal(loaded.sample(20, seed=3), m.sample(20, seed=3))
    with pytest.raises(PushforwardError, match="dropout: net 'conv' has none"):
        fit("swd", x, dropout=0.1)
    with pytest.raises(PushforwardError, match="dropout must be in"):
        fit("flow-matching", x, dropout=1.0)
