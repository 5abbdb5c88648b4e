"""Mixed precision (issue 15): ``precision="bf16"`` runs the networks in bfloat16, the losses in
float32, on every device torch sees (the CUDA cases skip, with the reason, without a GPU)."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.errors import PushforwardError
from pushforward.model import CHECKPOINT_FILE, read_model_file
from pushforward.train.precision import autocast_networks

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="torch sees no CUDA GPU"))]
# a correlated 2-D Gaussian: mean (1, -2), standard deviations (1, 0.5), correlation 0.8
COV = np.array([[1.0, 0.4], [0.4, 0.25]])
X = np.random.default_rng(0).multivariate_normal([1.0, -2.0], COV, size=2000)


class Probe(torch.nn.Module):
    """A linear layer that records the dtype its product was computed in."""

    def __init__(self):
        super().__init__()
        self.lin, self.seen = torch.nn.Linear(3, 2), []

    def forward(self, x):
        y = self.lin(x)
        self.seen.append(y.dtype)
        if not torch.isfinite(x).all():
            raise ValueError("bad input")
        return y


@pytest.mark.parametrize("device", DEVICES)
def test_networks_run_in_bf16_and_hand_back_float32(device):
    net, dev = Probe().to(device), torch.device(device)
    with autocast_networks([net], dev, "bf16"):
        y = net(torch.ones(4, 3, device=device))
        assert not torch.is_autocast_enabled(dev.type)  # between networks: float32
        with pytest.raises(ValueError):
            net(torch.full((4, 3), float("nan"), device=device))
        assert not torch.is_autocast_enabled(dev.type)  # left also when the forward raised
    assert net.seen == [torch.bfloat16, torch.bfloat16] and y.dtype == torch.float32
    assert not net._forward_hooks and not net._forward_pre_hooks  # removed on leaving
    with autocast_networks([net], dev, "fp32"):
        assert net(torch.ones(1, 3, device=device)).dtype == torch.float32
    assert net.seen[-1] == torch.float32


def _moments_error(m) -> tuple[float, float]:
    s = m.sample(20000, seed=1)
    return (float(np.abs(s.mean(0) - [1.0, -2.0]).max()),
            float(np.abs(np.cov(s.T) - COV).max()))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["sliced-js", "flow-matching"])
def test_a_bf16_fit_learns_as_well_as_fp32(device, method):
    fits = {p: pushforward.fit(X, method=method, steps=150, batch_size=256, width=32, depth=2,
                               device=device, seed=0, precision=p) for p in ("fp32", "bf16")}
    errors = {p: _moments_error(m) for p, m in fits.items()}
    mean32, cov32 = errors["fp32"]
    mean16, cov16 = errors["bf16"]
    # as near the data's moments as the fp32 fit, within run-to-run noise (measured on CPU:
    # mean 0.005–0.009 against 0.009–0.021, covariance 0.15–0.21 against 0.10–0.21; after 3
    # steps, an untrained map: mean 0.05–0.06, covariance 0.40–0.77)
    assert mean16 <= 2 * mean32 + 0.02 and cov16 <= 1.6 * cov32 + 0.02 and cov16 < 0.3, errors
    assert fits["bf16"].settings["train"]["precision"] == "bf16"
    # the networks did run in bf16: the weights differ from the fp32 run's
    wa, wb = (m.net.state_dict() for m in fits.values())
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)
    assert all(v.dtype == torch.float32 for v in wb.values())  # weights stay float32


def test_nsf_keeps_float32_whatever_the_precision():
    a, b = (pushforward.fit(X[:400], method="nsf", steps=10, batch_size=64, device="cpu",
                            seed=0, precision=p) for p in ("fp32", "bf16"))
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k]), k
    assert b.info["precision"].startswith("fp32") and "precision" not in a.info  # says so


def test_the_model_file_of_a_bf16_run_is_float32(tmp_path):
    m = pushforward.fit(X, method="wgan-gp", steps=10, batch_size=64, device="cpu", seed=0,
                        precision="bf16")  # a critic with a double backward, in bf16
    meta, tensors = read_model_file(m.save(tmp_path / "m").parent)
    assert meta["settings"]["train"]["precision"] == "bf16"
    weights = [v for k, v in tensors.items() if k.startswith(("net.", "critic."))]
    assert len(weights) > 4 and {v.dtype for v in weights} == {np.dtype("float32")}
    np.testing.assert_array_equal(pushforward.load(tmp_path / "m").sample(50, seed=2),
                                  m.sample(50, seed=2))


@pytest.mark.parametrize("bad,needle", [({"precision": "fp16"}, "precision"),
                                        ({"precision": "bf16", "dtype": "float64"},
                                         "needs dtype 'float32'")])
def test_bad_precision_is_one_line(bad, needle):
    with pytest.raises(PushforwardError, match=needle) as e:
        pushforward.fit(X, method="swd", steps=5, seed=0, **bad)
    assert "\n" not in str(e.value)


def test_cli_bad_precision_exits_2_with_one_line(tmp_path):
    r = CliRunner().invoke(app, ["fit", "moons", "--method", "swd", "--precision", "half",
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.output
    assert "precision" in r.stderr and "half" in r.stderr and "Traceback" not in r.stderr


def _swd(**options):
    from pushforward.data import load_source
    from pushforward.methods import METHODS

    return METHODS.get("swd")(load_source(X[:400]), noise="normal", latent_dim=2, seed=0,
                              width=16, depth=1, batch_size=64, threads=1, device="cpu",
                              precision="bf16", **options)


def test_a_bf16_run_resumes_exactly(tmp_path):
    full = _swd(steps=40)

    def kill(step):
        if step == 25:
            raise KeyError("killed")  # like SIGKILL: the last checkpoint stays

    with pytest.raises(KeyError):
        _swd(steps=40, out=tmp_path / "m", eval_every=10, checkpoint_every=0.0, on_step=kill)
    assert (tmp_path / "m" / CHECKPOINT_FILE).exists()
    resumed = _swd(steps=40, out=tmp_path / "m", eval_every=10, checkpoint_every=0.0,
                   resume=True)
    for k, v in full.net.state_dict().items():
        assert torch.equal(v, resumed.net.state_dict()[k]), k


def test_cli_resume_keeps_the_recorded_precision(tmp_path):
    runner, out = CliRunner(), str(tmp_path / "m")
    r = runner.invoke(app, ["fit", "moons", "--method", "swd", "--steps", "20", "--seed", "1",
                            "--precision", "bf16", "--batch-size", "64", "--out", out,
                            "--keep-checkpoint"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["fit", "moons", "--out", out, "--resume", "--steps", "30",
                            "--precision", "fp32"])
    assert r.exit_code == 2 and "precision='bf16'" in r.stderr, r.output
    r = runner.invoke(app, ["fit", "moons", "--out", out, "--resume", "--steps", "30"])
    assert r.exit_code == 0, r.output
    m = pushforward.load(out)
    assert m.info["steps"] == 30 and m.settings["train"]["precision"] == "bf16"
