"""Plots: the data behind them is right, and each figure has the panels it promises."""

import io
import sys

import numpy as np
import pytest
from PIL import Image
from scipy import stats

import pushforward
from pushforward import plots
from pushforward.grid import Grid

RNG = np.random.default_rng(0)
X1 = RNG.normal(size=(800, 1))
X2 = RNG.normal(size=(800, 2))
HISTORY = {"step": list(range(1, 51)), "seconds": [0.01 * i for i in range(1, 51)],
           "loss": [1 / i for i in range(1, 51)], "val_step": [10, 20, 30, 40, 50],
           "val_seconds": [0.1, 0.2, 0.3, 0.4, 0.5], "val_energy": [0.5, 0.1, 0.05, 0.02, 0.01]}


def test_qq_points_of_identical_samples_lie_on_the_diagonal():
    q_real, q_gen = plots.qq_points(X1, X1.copy())
    np.testing.assert_array_equal(q_real, q_gen)
    q_real, q_gen = plots.qq_points(X1, 2 * X1 + 1)  # an affine map shows as a line
    np.testing.assert_allclose(q_gen, 2 * q_real + 1, atol=1e-12)


def test_map_points_of_the_exact_map_are_the_exact_quantiles():
    m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
    u, g, exact = plots.map_points(m, ppf=stats.norm.ppf)
    np.testing.assert_allclose(g, stats.norm.ppf(u), atol=1e-9)
    q = pushforward.fit(X1, method="quantile", noise="uniform", seed=0, holdout=0.0)
    u, g, exact = plots.map_points(q, data=X1)
    np.testing.assert_allclose(exact, np.quantile(X1[:, 0], u))
    # the quantile map interpolates the order statistics at i/(m + 1) (Weibull's positions)
    # of the rows it was fitted on (holdout=0: all of them)
    np.testing.assert_allclose(g, np.quantile(X1[:, 0], u, method="weibull"), atol=1e-9)


@pytest.mark.parametrize(("make", "axes"), [
    (lambda: plots.histogram(X1, X1 + 0.1), 1),
    (lambda: plots.histogram(None, X1), 1),
    (lambda: plots.qq(X1, X1 + 0.1), 1),
    (lambda: plots.learned_map(pushforward.fit(X1, method="quantile", seed=0), data=X1), 2),
    (lambda: plots.scatter_2d(X2, X2 + 0.1), 4),
    (lambda: plots.scatter_2d(None, X2), 2),
    (lambda: plots.pairs(RNG.normal(size=(300, 9)), RNG.normal(size=(300, 9))), 21),
    (lambda: plots.pairs(None, RNG.normal(size=(300, 3))), 6),
    (lambda: plots.training_curves(HISTORY), 4),
    (lambda: plots.training_curves({k: HISTORY[k] for k in ("step", "seconds", "loss")}), 2),
])
def test_each_plot_has_its_panels_and_renders(make, axes):
    fig = make()
    assert len(fig.axes) == axes
    png = Image.open(io.BytesIO(plots.to_png(fig, dpi=50)))
    w, h = fig.get_size_inches() * 50
    assert png.format == "PNG" and abs(png.width - w) <= 1 and abs(png.height - h) <= 1


def test_scatter_draws_a_critic_as_contours_and_a_velocity_field_as_arrows():
    from matplotlib.contour import ContourSet
    from matplotlib.quiver import Quiver

    x = y = np.linspace(-3, 3, 25)
    xx, yy = np.meshgrid(x, y)
    critic = plots.scatter_2d(X2, X2, grid=Grid(x, y, xx**2 - yy, "critic"))
    flow = plots.scatter_2d(X2, X2, grid=(x, y, np.stack([-yy, xx], axis=-1)))
    top = critic.axes[:2]
    assert all(any(isinstance(a, ContourSet) for a in [*ax.collections, *ax.get_children()])
               for ax in top)
    assert all(any(isinstance(c, Quiver) for c in ax.collections) for ax in flow.axes[:2])
    with pytest.raises(pushforward.PushforwardError, match="grid values"):
        plots.scatter_2d(X2, X2, grid=(x, y, np.zeros((3, 3))))


def test_training_animation_is_a_gif_with_one_frame_per_snapshot():
    for d in (1, 2):
        snaps = [RNG.normal(s, 1, size=(300, d)) for s in (3, 2, 1, 0)]
        gif = Image.open(io.BytesIO(plots.training_animation(snaps, real=snaps[-1],
                                                             steps=[0, 10, 20, 30])))
        assert gif.format == "GIF" and gif.n_frames == 4
        assert gif.info.get("loop") == 0  # loops forever
    with pytest.raises(pushforward.PushforwardError, match="1-D or 2-D"):
        plots.training_animation([RNG.normal(size=(10, 3))])


def test_plots_for_picks_what_applies():
    exact = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
    assert list(plots.plots_for(exact, X1, dist=stats.norm, n=300)) == ["histogram", "qq", "map"]
    assert list(plots.plots_for(exact, None, n=300)) == ["histogram"]
    cop = pushforward.fit(X2, method="copula", seed=0)
    assert list(plots.plots_for(cop, X2, n=300)) == ["scatter"]
    x5 = RNG.normal(size=(300, 5))
    assert list(plots.plots_for(pushforward.fit(x5, method="copula", seed=0), x5,
                                n=300)) == ["pairs"]
    learned = pushforward.fit(X2[:200], method="swd", steps=2, seed=0)
    assert list(plots.plots_for(learned, X2, n=300)) == ["scatter", "training"]


def test_pairs_shows_at_most_six_columns():
    with pytest.raises(pushforward.PushforwardError, match="1 to 6"):
        plots.pairs(None, RNG.normal(size=(50, 9)), columns=list(range(7)))


def test_a_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(pushforward.PushforwardError, match=r'pip install "pushforward\[plot\]"'):
        plots.histogram(X1, X1)
