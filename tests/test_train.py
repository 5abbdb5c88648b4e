"""The one training loop: budgets, resume exactness, NaN guard, early stopping."""

import pytest
import torch

from pushforward.errors import PushforwardError
from pushforward.objectives import Objective
from pushforward.train import CHECKPOINT, EARLY_STOP_FROM, LoopSettings, train, validation_noise


class MomentMatch(Objective):
    """(mean gap)² + (std gap)²: a tiny objective with a known optimum."""

    def loss(self, generator, z, y, *, rng, progress):
        x = generator(z)
        return (x.mean(0) - y.mean(0)).pow(2).sum() + (x.std(0) - y.std(0)).pow(2).sum()


class Critic(MomentMatch):
    """An objective that owns a module and an optimiser, like an adversarial critic."""

    def setup(self, *, dim, latent_dim, device, dtype, seed):
        self.critic = torch.nn.Linear(dim, 1).to(dtype)
        self.opt = torch.optim.Adam(self.critic.parameters(), lr=1e-2)

    def loss(self, generator, z, y, *, rng, progress):
        c = (self.critic(y).mean() - self.critic(generator(z).detach()).mean()) ** 2
        self.opt.zero_grad()
        c.backward()
        self.opt.step()
        return super().loss(generator, z, y, rng=rng, progress=progress)

    def modules(self):
        return {"critic": self.critic}

    def optimizers(self):
        return {"critic": self.opt}


def _run(tmp_path, steps, objective=None, resume=False, on_step=None, lr=1e-2, ckpt_every=0.0,
         patience=1000):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    net = net.double()
    obj = objective or MomentMatch()
    obj.setup(dim=1, latent_dim=1, device=torch.device("cpu"), dtype=torch.float64, seed=0)
    settings = LoopSettings(steps=steps, time_budget=None, lr=lr, batch_size=64, ema=0.9,
                            eval_every=5, patience=patience, checkpoint_every=ckpt_every, seed=3)
    val = (torch.randn(64, 1, dtype=torch.float64), 2 + 0.5 * torch.randn(64, 1,
                                                                         dtype=torch.float64))
    res = train(obj, net,
                noise=lambda n, g: torch.randn(n, 1, generator=g, dtype=torch.float64),
                batch=lambda n, g: 2 + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64),
                validation=val, settings=settings, checkpoint_dir=tmp_path, resume=resume,
                on_step=on_step)
    return res, net, obj


def test_training_reaches_the_target_moments(tmp_path):
    res, net, _ = _run(tmp_path, 300, lr=5e-2)
    x = res.generator(torch.randn(4000, 1, dtype=torch.float64))
    assert float(x.mean()) == pytest.approx(2.0, abs=0.1)
    assert float(x.std()) == pytest.approx(0.5, abs=0.1)
    assert res.steps == 300 and len(res.history.loss) == 300
    assert res.history.loss[-1] < res.history.loss[0]


@pytest.mark.parametrize("objective", [MomentMatch, Critic])
def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path, objective):
    full, net_full, obj_full = _run(tmp_path / "a", 40, objective())

    class Killed(Exception):
        pass

    def kill(step):
        if step == 23:
            raise Killed

    with pytest.raises(Killed):
        _run(tmp_path / "b", 40, objective(), on_step=kill)  # checkpoint written every step
    assert (tmp_path / "b" / CHECKPOINT).exists()
    resumed, net_res, obj_res = _run(tmp_path / "b", 40, objective(), resume=True)
    for a, b in zip(net_full.state_dict().values(), net_res.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(full.generator.state_dict().values(), resumed.generator.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    for k, m in obj_full.modules().items():
        for a, b in zip(m.state_dict().values(), obj_res.modules()[k].state_dict().values(),
                        strict=True):
            assert torch.equal(a, b)
    assert full.history.loss == resumed.history.loss


def test_nan_loss_stops_with_a_clear_message(tmp_path):
    class Bad(MomentMatch):
        def loss(self, generator, z, y, *, rng, progress):
            return generator(z).sum() * float("nan")

    with pytest.raises(PushforwardError, match="diverged at step 0"):
        _run(tmp_path, 10, Bad())


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(PushforwardError, match="nothing to resume"):
        _run(tmp_path, 10, resume=True)


class Frozen(MomentMatch):
    """A loss with no gradient path to the weights' effect: validation never improves."""

    def loss(self, generator, z, y, *, rng, progress):
        return 0.0 * super().loss(generator, z, y, rng=rng, progress=progress)


def test_a_run_that_does_not_get_worse_uses_its_whole_budget(tmp_path):
    # validation never improves, but never gets worse either: no early stop (patience 2)
    res, _, _ = _run(tmp_path, 200, Frozen(), patience=2)
    assert res.stopped == "budget" and res.steps == 200


@pytest.mark.parametrize("drift_from", [0.1, 0.7])
def test_early_stopping_waits_for_the_second_half_and_a_clear_loss(tmp_path, drift_from):
    class Late(MomentMatch):
        def loss(self, generator, z, y, *, rng, progress):
            shift = 3.0 if progress > drift_from else 0.0
            return super().loss(generator, z, y + shift, rng=rng, progress=progress)

    res, _, _ = _run(tmp_path, 400, Late(), patience=8, lr=5e-2)
    assert res.stopped.startswith("early stop")
    # checks every 5 steps: stops a few checks after the drift, never before half the budget
    start = max(EARLY_STOP_FROM, drift_from) * 400
    assert start <= res.steps < start + 80


class Drift(MomentMatch):
    """Fits the target in the first half of the budget, then drifts ``shift`` units away."""

    def __init__(self, shift):
        self.shift = shift

    def loss(self, generator, z, y, *, rng, progress):
        return super().loss(generator, z, y + (self.shift if progress > 0.5 else 0.0), rng=rng,
                            progress=progress)


@pytest.mark.parametrize("shift", [0.02, 3.0])
def test_final_weights_are_kept_unless_the_best_validated_better_beyond_noise(tmp_path, shift):
    res, net, _ = _run(tmp_path, 400, Drift(shift), lr=5e-2)
    assert res.best_energy == pytest.approx(min(res.history.val_energy))
    z = torch.randn(4000, 1, dtype=torch.float64)
    with torch.no_grad():
        x = res.generator(z)
        kept_final = float((x - net(z)).abs().max()) < 0.05  # the EMA (0.9) tracks the net
    # a 0.02 shift moves ED² far less than the validation's noise (64 points): final kept
    # (measured: best check 0.011, final 0.037, noise level 0.018);
    # a 3-unit shift is clearly worse: the best weights, fitted to the target, come back
    assert kept_final == (shift < 1)
    if not kept_final:
        assert float(x.mean()) == pytest.approx(2.0, abs=0.2)


@pytest.mark.parametrize("d", [1, 3])
def test_validation_noise_is_the_expected_energy_distance_of_real_samples(d):
    g = torch.Generator().manual_seed(0)
    n, m = 150, 250
    eds = []
    for _ in range(400):
        x, y = torch.randn(n, d, generator=g), torch.randn(m, d, generator=g)
        eds.append(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean()
                   - torch.cdist(y, y).mean())
    big = torch.randn(4000, d, generator=g)
    pair_mean = validation_noise(big, 4000) / (2 / 4000)  # E‖Y − Y′‖ from the big sample
    assert float(torch.stack(eds).mean()) == pytest.approx((1 / n + 1 / m) * pair_mean, rel=0.1)
