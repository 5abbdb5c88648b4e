"""One budget for every method: ``time_budget`` is wall-clock seconds for the whole fit."""

import time

import numpy as np
import pytest
import torch

import pushforward
from pushforward.api import fit_deadline
from pushforward.data import load_source
from pushforward.data.split import split_source
from pushforward.errors import PushforwardError
from pushforward.objectives import Objective
from pushforward.train import LoopSettings, train
from pushforward.train.loop import lr_factor


@pytest.mark.parametrize("method", ["quantile", "copula", "parametric"])
def test_exact_methods_take_a_time_budget_and_finish_early(method):
    x = np.random.default_rng(0).gamma(2.0, size=(400, 2))
    m = pushforward.fit(x, method=method, time_budget=30, seed=0)
    assert m.info["budget"]["seconds"] == 30 and m.info["budget"]["spent"] < 30


def test_auto_on_an_exact_pick_takes_a_time_budget():
    m = pushforward.fit(np.random.default_rng(1).normal(size=(300, 1)), time_budget=30, seed=0)
    assert m.method == "quantile" and m.info["budget"]["spent"] < 30


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "30", True])
def test_a_bad_budget_is_one_line(bad):
    with pytest.raises(PushforwardError, match="time_budget must be a positive number"):
        pushforward.fit(np.arange(10.0), time_budget=bad)


def test_the_deadline_keeps_time_for_the_closing_check():
    split = split_source(load_source(np.random.default_rng(0).normal(size=(5000, 2))), 0.1, 0)
    t = time.monotonic()
    # 500 held-out rows of 2 columns: the base, a half second for the rows, a bit for values
    assert fit_deadline(t, 30.0, split, 2) == pytest.approx(t + 30 - 4.5 - 0.5 - 3e-5 * 1000)
    # a few wide rows (14 held-out 25×25 images) keep little more than the base
    few = split_source(load_source(np.zeros((140, 625))), 0.1, 0)
    assert t + 30 - fit_deadline(t, 30.0, few, 625) < 5


def _loop(settings):
    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1).double()

    class Shift(Objective):
        def loss(self, generator, z, y, *, rng, progress):
            return (generator(z).mean() - y.mean()) ** 2

    obj = Shift()
    obj.setup(dim=1, latent_dim=1, device=torch.device("cpu"), dtype=torch.float64, seed=0)
    val = (torch.randn(16, 1, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64))
    return train(obj, net, noise=lambda n, g: torch.randn(n, 1, generator=g, dtype=torch.float64),
                 batch=lambda n, g: torch.randn(n, 1, generator=g, dtype=torch.float64),
                 validation=val, settings=settings)


@pytest.mark.parametrize("left", [0.5, -1.0])
def test_a_deadline_cuts_the_loops_time_budget_and_its_schedule_ends_there(left):
    s = LoopSettings(steps=None, time_budget=20.0, lr=1e-2, batch_size=8, ema=0.9,
                     eval_every=1000, patience=1000, checkpoint_every=1e9, seed=0,
                     deadline=time.monotonic() + left)  # -1: passed before training starts
    res = _loop(s)
    assert res.stopped == "budget" and res.seconds < 10
    assert s.time_budget <= max(left, 2.0)  # the time left, or a tenth of its own budget
    assert lr_factor(min(1.0, res.seconds / s.time_budget), s.lr_end) == s.lr_end


def test_a_learned_fit_keeps_to_its_whole_budget():
    t = time.monotonic()
    m = pushforward.fit("moons", method="swd", time_budget=8, seed=0, width=16, depth=1,
                        threads=1)
    spent = time.monotonic() - t
    assert m.info["budget"]["spent"] == pytest.approx(spent, abs=0.5)
    assert m.settings["train"]["time_budget"] == 8  # as given; the loop ran to the deadline
    assert m.info["seconds"] < 8 - 4.5 and m.info["steps"] > 0
    assert spent < 8 + 2  # the reserve covered the closing check (2 s of slack: busy CI)
