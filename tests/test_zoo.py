"""The VAE and the neural spline flow in the one loop, and log_prob where a map has a density."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import expm
from scipy.stats import multivariate_normal

import pushforward
from pushforward.data.codec import codec_from_state
from pushforward.errors import PushforwardError
from pushforward.evaluation import evaluate
from pushforward.flow_map import FlowMap, divergence
from pushforward.learned import TrainConfig, fit_learned
from pushforward.nets.spline_flow import SplineFlow
from pushforward.normalizing_flow import NormalizingFlowMap
from pushforward.objectives import VAE, MaximumLikelihood
from pushforward.objectives.vae import negative_elbo

SMALL = {"vae": {"width": 16, "depth": 1,
                 "objective_options": {"encoder_width": 16, "encoder_depth": 1}},
         "nsf": {"width": 16, "depth": 1}}


def banana(n: int = 600, seed: int = 0) -> np.ndarray:
    """A curved 2-D sample on an odd scale (the maps standardise inside)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return np.column_stack([3.0 * a + 10.0, 0.5 * a**2 + 0.3 * rng.normal(size=n) - 4.0])


@pytest.mark.parametrize("key", ["vae", "nsf"])
def test_a_few_steps_then_save_and_load_give_identical_samples(tmp_path, key):
    m = pushforward.fit(banana(), method=key, seed=0, steps=5, threads=1, **SMALL[key])
    assert m.info["steps"] == 5 and m.method == key
    loaded = pushforward.load(m.save(tmp_path / "m"))
    assert type(loaded) is type(m)
    assert np.array_equal(loaded.sample(300, seed=3), m.sample(300, seed=3))
    if key == "nsf":
        x = banana(50, seed=9)
        assert np.array_equal(loaded.log_prob(x), m.log_prob(x))


@pytest.mark.parametrize("key", ["vae", "nsf"])
def test_training_lowers_the_loss(key):
    m = pushforward.fit(banana(), method=key, seed=0, steps=60, threads=1, **SMALL[key])
    loss = np.asarray(m.history["loss"])
    assert loss[-10:].mean() < loss[:10].mean() - 0.3, loss


def test_vae_takes_any_latent_dim_and_passes_constant_columns_through():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)), np.full(400, -3.0)])
    m = pushforward.fit(x, method="vae", latent_dim=2, seed=0, steps=4, threads=1,
                        **SMALL["vae"])
    s = m.sample(50, seed=0)
    assert m.latent_dim == 2 and m.core_dim == 4 and s.shape == (50, 5)
    assert (s[:, 4] == -3.0).all() and np.isfinite(s).all()


def test_vae_and_nsf_need_normal_noise():
    for key in ("vae", "nsf"):
        with pytest.raises(PushforwardError, match=f"method '{key}' needs normal noise"):
            pushforward.fit(banana(), method=key, noise="uniform", seed=0, steps=2)


def test_negative_elbo_is_the_closed_form():
    x, dec = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, -1.0]])
    log_sigma, mean, logvar = torch.tensor([0.0, np.log(2.0)]), torch.tensor([[0.3]]), \
        torch.tensor([[np.log(0.25)]])
    recon = (0.5 * 0.5**2 + 0.5 * np.log(2 * np.pi)) + (0.5 * (1.0 / 2) ** 2 + np.log(2.0)
                                                        + 0.5 * np.log(2 * np.pi))
    kl = 0.5 * (0.3**2 + 0.25 - 1 - np.log(0.25))
    got = negative_elbo(x, dec, log_sigma, mean, logvar)
    assert got.shape == (1,) and abs(float(got) - (recon + kl)) < 1e-6


def test_every_parameter_gets_a_gradient():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(64, 3, generator=g)
    vae = VAE(encoder_width=8, encoder_depth=1)
    vae.setup(dim=3, latent_dim=2, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.SiLU(), torch.nn.Linear(8, 3))
    vae.loss(decoder, torch.randn(64, 2, generator=g), y, rng=g, progress=0.0).backward()
    flow = SplineFlow(3, 3, transforms=2, width=8, depth=1)
    MaximumLikelihood().loss(flow, None, y, rng=g, progress=0.0).backward()
    params = [*decoder.named_parameters(), *flow.named_parameters(),
              *[(f"vae.{k}", p) for k, m in vae.modules().items() for p in m.parameters()]]
    assert len(vae.joint_parameters()) == 5  # the encoder's 4 and log σ
    missing = [k for k, p in params if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_the_loop_trains_the_vae_encoder_and_resumes_it_exactly(tmp_path):
    cfg = TrainConfig(steps=10, checkpoint_every=0.0, width=8, depth=1, batch_size=32,
                      eval_every=4, dtype="float64", threads=1)

    def run(out, objective, **kw):
        return fit_learned(pushforward.load_source(banana()), objective, method="vae",
                           noise="normal", latent_dim=2, seed=0, config=cfg, out=out, **kw)

    def new():
        return VAE(encoder_width=8, encoder_depth=1)

    full_obj = new()
    full = run(tmp_path / "a", full_obj)
    start = new()
    start.setup(dim=2, latent_dim=2, device=torch.device("cpu"), dtype=torch.float64, seed=0)
    moved = [not torch.equal(a, b) for a, b in zip(start.encoder.state_dict().values(),
                                                   full_obj.encoder.state_dict().values(),
                                                   strict=True)]
    sigma = full_obj.scale.log_sigma.detach().exp()
    assert all(moved) and not torch.allclose(sigma, torch.full_like(sigma, 0.3))

    class Killed(Exception):
        pass

    def kill(step):
        if step == 6:
            raise Killed

    with pytest.raises(Killed):
        run(tmp_path / "b", new(), on_step=kill)
    resumed_obj = new()
    resumed = run(tmp_path / "b", resumed_obj, resume=True)
    z = np.random.default_rng(1).normal(size=(40, 2))
    assert np.array_equal(full.inverse_transform(z), resumed.inverse_transform(z))
    for key in ("encoder", "scale"):
        for a, b in zip(full_obj.modules()[key].state_dict().values(),
                        resumed_obj.modules()[key].state_dict().values(), strict=True):
            assert torch.equal(a, b)


def _scaler(mean, std):
    """The codec of a learned map: standardisation with this mean and standard deviation."""
    d = len(mean)
    return codec_from_state({"name": "compose", "in_dim": d, "out_dim": d,
                             "parts": [{"name": "standardize", "in_dim": d}]},
                            {"0.mean": np.asarray(mean, float), "0.std": np.asarray(std, float)})


def _flow_map(dim: int, mean, std, **net) -> NormalizingFlowMap:
    torch.manual_seed(0)
    flow = SplineFlow(dim, dim, **net).double()
    with torch.no_grad():  # away from the identity, so the test sees a real transform
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    m = NormalizingFlowMap(flow, {"name": "nsf", "kwargs": net})
    m._init_map(method="nsf", noise="normal", latent_dim=dim, dim=dim, codec=_scaler(mean, std))
    return m


def test_nsf_log_prob_integrates_to_one_in_1d():
    m = _flow_map(1, [3.0], [2.0], transforms=2, width=8, depth=1)
    grid = np.linspace(3.0 - 30, 3.0 + 30, 120_001)[:, None]
    mass = np.trapezoid(np.exp(m.log_prob(grid)), grid[:, 0])
    assert abs(mass - 1.0) < 2e-3


def test_a_1d_spline_flow_starts_near_the_identity():
    """zuko's 1-D splines start from N(0, 1) parameters; ours are scaled to start near x = z."""
    torch.manual_seed(0)
    flow = SplineFlow(1, 1).double()
    z = torch.linspace(-3, 3, 61, dtype=torch.float64)[:, None]
    with torch.no_grad():
        assert (flow(z) - z).abs().max() < 0.1
        want = -0.5 * z[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)
        assert (flow.log_prob(z) - want).abs().max() < 0.25  # zuko's own init: above 3


def test_nsf_log_prob_is_the_change_of_variables():
    """log p(x) = log N(f(x̃)) + log|det ∂f/∂x̃| − Σ log std, the Jacobian by autograd."""
    mean, std = np.array([1.0, -2.0, 0.5]), np.array([2.0, 0.5, 3.0])
    m = _flow_map(3, mean, std, transforms=2, width=8, depth=1)
    x = np.random.default_rng(0).normal(size=(6, 3)) * std + mean
    want = []
    for row in (x - mean) / std:
        xt = torch.as_tensor(row, dtype=torch.float64)
        z = m.net.transform(xt[None])[0]
        jac = torch.autograd.functional.jacobian(lambda v: m.net.transform(v[None])[0], xt)
        want.append(float((-0.5 * (z**2).sum() - 1.5 * np.log(2 * np.pi)
                           + torch.linalg.slogdet(jac)[1]).detach()) - np.log(std).sum())
    assert np.allclose(m.log_prob(x), want, atol=1e-8)


def test_nsf_transform_inverts_inverse_transform():
    m = _flow_map(2, [10.0, -4.0], [3.0, 0.7], transforms=3, width=8, depth=1)
    z = np.random.default_rng(2).normal(size=(200, 2)) * 1.5
    assert np.allclose(m.transform(m.inverse_transform(z)), z, atol=1e-8)
    x = m.inverse_transform(z)
    assert np.allclose(m.inverse_transform(m.transform(x)), x, atol=1e-8)


def _rewrite(file, edit) -> None:
    """Apply ``edit`` to a model file's settings and write it back with a valid checksum."""
    import json

    from safetensors.numpy import load_file, save_file

    from pushforward import _checks

    meta = json.loads(json.loads(file.read_bytes()[8:8 + int.from_bytes(
        file.read_bytes()[:8], "little")])["__metadata__"]["pushforward"])
    edit(meta)
    tensors = load_file(file)
    meta["checksum"] = _checks.checksum(meta, tensors)
    save_file(tensors, file, metadata={"pushforward": json.dumps(meta)})


def test_a_hostile_nsf_file_is_refused_in_one_line(tmp_path):
    m = pushforward.fit(banana(), method="nsf", seed=0, steps=2, threads=1, **SMALL["nsf"])
    file = m.save(tmp_path / "m")
    _rewrite(file, lambda meta: meta["net"]["kwargs"].update(transforms=10**6))
    with pytest.raises(PushforwardError, match="transforms must be an integer in"):
        pushforward.load(file)
    plain = pushforward.fit(banana(), method="energy", seed=0, steps=2, threads=1, width=8,
                            depth=1).save(tmp_path / "p")
    _rewrite(plain, lambda meta: meta.update(kind="normalizing-flow"))
    with pytest.raises(PushforwardError, match="needs a flow network") as e:
        pushforward.load(plain)
    assert "\n" not in str(e.value)


def test_vae_learning_rate_is_set_from_the_rows():
    """5e-3 for flat rows of at most 2 columns, the loop's 2e-3 for wider rows and images;
    a rate the run names wins."""
    from pushforward.learned import DEFAULT_LR

    cpu = torch.device("cpu")
    for dim, event, want in ((1, None, 5e-3), (2, None, 5e-3), (3, None, None),
                             (4, (1, 2, 2), None)):
        vae = VAE(encoder_width=8, encoder_depth=1)
        vae.setup(dim=dim, latent_dim=dim, device=cpu, dtype=torch.float32, seed=0,
                  event_shape=event)
        assert vae.learning_rate(dim) == want, (dim, event)
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(300, 3))
    lrs = [pushforward.fit(x, method="vae", seed=0, steps=2, threads=1, **kw,
                           **SMALL["vae"]).settings["train"]["lr"]
           for x, kw in ((banana(), {}), (wide, {}), (banana(), {"lr": 1e-3}))]
    assert lrs == [5e-3, DEFAULT_LR, 1e-3]


def test_vae_noise_scale_stays_at_or_above_its_floor():
    vae = VAE(sigma_init=0.5, sigma_min=0.2, encoder_width=8, encoder_depth=1)
    vae.setup(dim=2, latent_dim=2, device=torch.device("cpu"), dtype=torch.float64, seed=0)
    with torch.no_grad():
        vae.scale.log_sigma.copy_(torch.tensor([-5.0, 0.0]))
    assert torch.allclose(vae.observation_sigma(), torch.tensor([0.2, 1.0], dtype=torch.float64))
    with pytest.raises(PushforwardError, match="sigma_init must be in"):
        VAE(sigma_init=0.05, sigma_min=0.1)


def test_a_constant_column_passes_through_nsf_and_is_a_point_mass_of_its_density():
    x = np.column_stack([banana(), np.full(600, 7.0)])
    m = pushforward.fit(x, method="nsf", seed=0, steps=5, threads=1, **SMALL["nsf"])
    assert m.core_dim == 2 and (m.sample(100, seed=1)[:, 2] == 7.0).all()
    held = np.column_stack([banana(10, seed=4), np.full(10, 7.0)])
    off = held.copy()
    off[:3, 2] = 7.5
    assert np.isfinite(m.log_prob(held)).all()
    assert np.isneginf(m.log_prob(off)[:3]).all() and np.isfinite(m.log_prob(off)[3:]).all()


class _Linear(torch.nn.Module):
    """v(x, t) = A x: its time-1 flow is x = e^A z, so N(0, I) goes to N(0, e^A e^Aᵀ)."""

    def __init__(self, a: np.ndarray):
        super().__init__()
        self.a = torch.nn.Parameter(torch.as_tensor(a, dtype=torch.float64))

    def forward(self, x, t):
        return x @ self.a.T


def _linear_flow(a: np.ndarray, mean: np.ndarray, std: np.ndarray) -> FlowMap:
    m = FlowMap(_Linear(a), {})
    m._init_map(method="flow-matching", noise="normal", latent_dim=len(a), dim=len(a),
                settings={"objective": {"solver": "rk4", "ode_steps": 40}},
                codec=_scaler(mean, std))
    return m


def test_flow_map_log_prob_of_a_linear_field_is_the_gaussian_closed_form():
    a = np.array([[0.3, 0.5], [-0.2, -0.4]])
    mean, std = np.array([1.0, -2.0]), np.array([2.0, 0.5])
    m = _linear_flow(a, mean, std)
    e = expm(a)
    cov = np.diag(std) @ e @ e.T @ np.diag(std)
    x = np.random.default_rng(0).normal(size=(20, 2)) * 2
    assert np.allclose(m.log_prob(x), multivariate_normal(mean, cov).logpdf(x), atol=1e-7)


def test_flow_map_log_prob_by_hutchinson_above_8_dimensions():
    """Rademacher probes make εᵀAε = tr A for a diagonal A: the estimate is then exact."""
    d = 10
    a = np.diag(np.linspace(-0.5, 0.5, d))
    m = _linear_flow(a, np.zeros(d), np.ones(d))
    x = np.random.default_rng(1).normal(size=(30, d))
    want = multivariate_normal(np.zeros(d), np.diag(np.exp(2 * np.diag(a)))).logpdf(x)
    assert np.allclose(m.log_prob(x), want, atol=1e-7)  # estimated (d > 8)
    assert np.allclose(m.log_prob(x, exact_trace=True), want, atol=1e-7)
    b = np.random.default_rng(2).normal(size=(d, d)) * 0.2  # off the diagonal: noisy, unbiased
    full = _linear_flow(b, np.zeros(d), np.ones(d))
    one = np.zeros((4000, d))
    est = full.log_prob(one, seed=3) - full.log_prob(one, exact_trace=True)
    assert abs(est.mean()) < 4 * est.std() / np.sqrt(len(est)) and est.std() > 0


def test_divergence_exact_and_estimated_agree_on_average():
    a = torch.tensor([[0.5, 2.0, 0.0], [1.0, -1.0, 0.3], [0.0, 0.7, 0.2]])
    x = torch.zeros(20000, 3)
    probe = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(0)) * 2.0 - 1
    _, exact = divergence(lambda y, t: y @ a.T, x, torch.tensor(0.0))
    _, est = divergence(lambda y, t: y @ a.T, x, torch.tensor(0.0), probe=probe)
    assert torch.allclose(exact, torch.full((20000,), -0.3))
    assert abs(float(est.mean()) + 0.3) < 0.05


def test_evaluate_reports_held_out_log_likelihood_where_the_map_has_one():
    nsf = pushforward.fit(banana(1200), method="nsf", seed=0, steps=40, threads=1,
                          **SMALL["nsf"])
    rows = {r.key: r for r in evaluate(nsf, banana(1200, seed=5), n=500,
                                       metrics=["energy"]).rows}
    ll = rows["log_likelihood"]
    x = banana(1200, seed=5)
    assert ll.votes is False and ll.better == "higher"
    assert np.isfinite(ll.value) and ll.value > -20
    vae = pushforward.fit(banana(), method="vae", seed=0, steps=3, threads=1, **SMALL["vae"])
    assert not hasattr(vae, "log_prob")  # the ELBO is a bound, not a density: left out
    assert "log_likelihood" not in {r.key for r in evaluate(vae, x, n=500,
                                                            metrics=["energy"]).rows}


def test_likelihood_objectives_train_on_dequantised_pixels():
    """nsf and vae see each pixel spread over its level's cell; the others see the levels."""
    import torch

    from pushforward.data import load_source
    from pushforward.data.codec import build_codec
    from pushforward.data.schema import infer_schema
    from pushforward.learned import _dequantized
    from pushforward.objectives.likelihood import MaximumLikelihood
    from pushforward.objectives.vae import VAE

    assert MaximumLikelihood.dequantize and VAE.dequantize
    src = load_source("digits")
    codec = build_codec(infer_schema(src), src.data, standardize=True)
    cells = codec.cells()
    levels = codec.encode(np.arange(17.0)[:, None].repeat(64, axis=1))[:, 0]
    assert cells is not None and np.allclose(cells, np.diff(levels).mean())
    data = torch.as_tensor(codec.encode(src.data), dtype=torch.float64)
    plain = lambda n, rng: data[torch.randint(len(data), (n,), generator=rng)]  # noqa: E731
    spread = _dequantized(plain, codec, torch.device("cpu"), torch.float64)
    a, b = (f(500, torch.Generator().manual_seed(0)) for f in (plain, spread))
    off = (b - a).abs()
    assert float(off.max()) <= cells[0] / 2 + 1e-12 and float(off.mean()) > cells[0] / 5
    decoded = codec.decode(b.numpy())  # rounding on output puts every pixel back on its level
    assert np.array_equal(decoded, codec.decode(a.numpy()))
    table = build_codec(infer_schema(np.random.default_rng(0).normal(size=(50, 2))),
                        np.random.default_rng(0).normal(size=(50, 2)), standardize=True)
    assert table.cells() is None and _dequantized(plain, table, None, None) is plain
