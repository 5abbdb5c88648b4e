"""Learned maps end to end: a short fit, model files, config files, CLI resume."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.errors import PushforwardError
from pushforward.learned import TrainConfig

GAUSS = np.random.default_rng(0).multivariate_normal([3.0, -1.0], [[2.0, 0.8], [0.8, 1.0]],
                                                     size=3000)


@pytest.fixture(scope="module")
def gauss_map():
    return pushforward.fit(GAUSS, method="sliced-js", steps=300, batch_size=256, seed=0,
                           eval_every=50)


def test_short_fit_on_a_2d_gaussian_is_close_to_its_floor(gauss_map):
    h = gauss_map.info["holdout"]
    # 300 steps of sliced-js on a correlated Gaussian: measured ratio ≈ 1–2
    assert h["ed_ratio"] < 3.0, h
    x = gauss_map.sample(20_000, seed=1)
    np.testing.assert_allclose(x.mean(0), GAUSS.mean(0), atol=0.15)
    np.testing.assert_allclose(np.cov(x.T), np.cov(GAUSS.T), atol=0.3)


def test_learned_model_saves_and_loads_identically(gauss_map, tmp_path):
    gauss_map.save(tmp_path / "m")
    m2 = pushforward.load(tmp_path / "m")
    np.testing.assert_array_equal(m2.sample(1000, seed=3, chunk_size=77),
                                  gauss_map.sample(1000, seed=3))
    assert m2.history["loss"] and m2.settings["train"]["steps"] == 300


def test_resolved_learning_rate_and_batch_size_are_recorded(gauss_map):
    # sliced-js's own rate depends on the dimension: 2e-2 for 2-D data, 5e-3 otherwise
    assert gauss_map.settings["train"]["lr"] == pytest.approx(2e-2)
    assert gauss_map.settings["train"]["batch_size"] == 256
    assert gauss_map.settings["train"]["lr_end"] == pytest.approx(0.005)  # ends at 1e-4
    x3 = np.random.default_rng(1).normal(size=(400, 3))
    m = pushforward.fit(x3, method="sliced-js", steps=2, seed=0)
    assert m.settings["train"]["lr"] == pytest.approx(5e-3)
    assert m.settings["train"]["batch_size"] == 1024
    assert m.settings["train"]["lr_end"] == pytest.approx(0.05)
    assert pushforward.fit(x3, method="energy", steps=2, seed=0).settings["train"]["lr"] == 2e-3


def test_the_model_file_names_the_net_it_holds(gauss_map, tmp_path):
    """Every option that rebuilds the net is written with its real value, not None: the file
    says what its net is without this version's defaults (the default mlp is 3 × 256, SiLU)."""
    import json

    gauss_map.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "settings.json").read_text())
    train = meta["settings"]["train"]
    assert (train["net"], train["width"], train["depth"], train["activation"]) == (
        "mlp", 256, 3, "silu")
    assert meta["net"] == {"name": "mlp", "kwargs": {"width": 256, "depth": 3,
                                                    "activation": "silu"}}
    linear = [m for m in gauss_map.net.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linear] == [256, 256, 256, 2]
    m = pushforward.fit("norm", method="hist-js", steps=2, seed=0, width=16)
    train = m.settings["train"]
    assert (train["net"], train["width"], train["depth"], train["activation"]) == (
        "monotone", 16, None, None)  # the monotone net has no depth or activation option
    assert m.net_spec["kwargs"]["noise"] == "normal"


def test_data_scale_does_not_matter():
    # standardisation inside: the same data ×1000 gives the same map ×1000
    small = pushforward.fit(GAUSS[:500], method="energy", steps=20, seed=1, batch_size=64)
    big = pushforward.fit(GAUSS[:500] * 1000.0, method="energy", steps=20, seed=1, batch_size=64)
    np.testing.assert_allclose(big.sample(50, seed=2), 1000.0 * small.sample(50, seed=2),
                               rtol=1e-4, atol=1e-2)


def test_monotone_map_is_invertible():
    m = pushforward.fit("norm", method="hist-js", noise="uniform", steps=30, seed=0)
    assert m.settings["train"]["net"] == "monotone"
    u = np.array([[0.01], [0.3], [0.5], [0.9]])
    np.testing.assert_allclose(m.transform(m.inverse_transform(u)), u, atol=1e-7)


def test_config_file_fills_settings_and_flags_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text("[train]\nsteps = 7\nlr = 0.01\nbatch_size = 32\n")
    c = TrainConfig.from_toml(cfg)
    assert (c.steps, c.lr, c.batch_size) == (7, 0.01, 32)
    m = pushforward.fit(GAUSS, method="swd", config=c, steps=5, seed=0)
    assert m.info["steps"] == 5 and m.settings["train"]["lr"] == 0.01
    cfg.write_text("[train]\nstepz = 7\n")
    with pytest.raises(PushforwardError, match="stepz"):
        TrainConfig.from_toml(cfg)


@pytest.mark.parametrize("bad", [{"lr": -1.0}, {"holdout": 1.5}, {"device": "tpu"},
                                 {"steps": 0}])
def test_bad_training_settings_are_clear_errors(bad):
    with pytest.raises(PushforwardError, match=next(iter(bad))):
        pushforward.fit(GAUSS, method="swd", seed=0, **bad)


def test_cli_resume_continues_to_the_same_weights(tmp_path):
    np.save(tmp_path / "d.npy", GAUSS[:600])
    runner = CliRunner()
    common = [str(tmp_path / "d.npy"), "--method", "swd", "--seed", "4", "--batch-size", "64"]
    r = runner.invoke(app, ["fit", *common, "--steps", "20", "--out", str(tmp_path / "twice"),
                            "--keep-checkpoint"])
    assert r.exit_code == 0, r.output
    short = pushforward.load(tmp_path / "twice")
    # the seed, method and settings come from the checkpoint; --steps is the new total
    r = runner.invoke(app, ["fit", str(tmp_path / "d.npy"), "--out", str(tmp_path / "twice"),
                            "--resume", "--steps", "30", "--keep-checkpoint"])
    assert r.exit_code == 0, r.output
    twice = pushforward.load(tmp_path / "twice")
    assert twice.info["steps"] == 30 and twice.seed == 4 and twice.method == "swd"
    assert twice.history["step"] == list(range(1, 31))  # the curve goes on from step 20
    z = np.random.default_rng(0).normal(size=(50, 2))
    assert not np.allclose(short.inverse_transform(z), twice.inverse_transform(z))
    # a setting given again must match the record, and the message names it
    r = runner.invoke(app, ["fit", *common, "--lr", "0.5", "--steps", "40", "--out",
                            str(tmp_path / "twice"), "--resume"])
    assert r.exit_code == 2 and "lr=" in r.stderr and "0.5" in r.stderr, r.output
    r = runner.invoke(app, ["fit", *common, "--steps", "30", "--out", str(tmp_path / "twice"),
                            "--resume"])
    assert r.exit_code == 2 and "already has 30 steps" in r.stderr, r.output


def test_resume_extends_a_finished_run_from_its_model_file(tmp_path):
    """Without a checkpoint (removed after success) the model's weights and step count go on."""
    runner = CliRunner()
    out = str(tmp_path / "m")
    r = runner.invoke(app, ["fit", "moons", "--method", "sliced-js", "--steps", "15",
                            "--batch-size", "128", "--out", out])
    assert r.exit_code == 0, r.output
    first = pushforward.load(out)
    assert not (tmp_path / "m" / "checkpoint.safetensors").exists()
    r = runner.invoke(app, ["fit", "moons", "--out", out, "--resume", "--steps", "25"])
    assert r.exit_code == 0, r.output
    longer = pushforward.load(out)
    assert longer.seed == first.seed and longer.info["steps"] == 25
    assert longer.settings["train"]["batch_size"] == 128
    assert longer.history["step"][-1] == 25 and len(longer.history["step"]) == 25
    r = runner.invoke(app, ["fit", "moons", "--out", out, "--resume"])
    assert r.exit_code == 2 and "finished after 25 steps" in r.stderr, r.output


def test_a_fit_without_a_seed_draws_one_every_library_takes():
    """A drawn seed reaches scikit-learn's random_state (the closing C2ST) without error."""
    m = pushforward.fit("moons", method="sliced-js", steps=2, batch_size=64)
    assert isinstance(m.seed, int) and 0 <= m.seed < 2**32
    assert "verdict" in m.info["holdout"]


def test_a_fit_draws_its_batches_from_a_memory_mapped_file_exactly(tmp_path):
    # holdout 0 keeps the file whole, so batches are read from disk; same rows, same weights
    x = np.random.default_rng(1).normal(size=(3000, 2)) * [1.0, 3.0]
    np.save(tmp_path / "x.npy", x)
    source = pushforward.load_source(tmp_path / "x.npy")
    assert isinstance(source.data, np.memmap)
    fit = pushforward.methods.METHODS.get("sliced-js")
    on_disk, in_memory = (fit(data, noise="normal", latent_dim=2, seed=4, steps=20, holdout=0.0)
                          for data in (source, pushforward.load_source(x)))
    for k, v in on_disk.net.state_dict().items():
        assert torch.equal(v, in_memory.net.state_dict()[k]), k
