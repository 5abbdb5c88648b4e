"""The data contract: schemas inferred and saved, codecs that invert, constant columns that pass
through every method exactly."""

import numpy as np
import pytest
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.data import load_source
from pushforward.data.codec import (
    Compose,
    Constant,
    Pixels,
    Standardize,
    build_codec,
    codec_from_state,
)
from pushforward.data.schema import Column, Schema, infer_schema
from pushforward.errors import PushforwardError


def test_inference_finds_each_kind():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=50), np.full(50, 2.0), rng.integers(0, 9, 50),
                         rng.normal(size=50)])
    s = infer_schema(x, ["a", "b", "c", "d"])
    assert [c.kind for c in s.columns] == ["continuous", "constant", "integer", "continuous"]
    assert s.columns[1].value == 2.0 and s.varying == [0, 2, 3] and s.encoded_dim == 3
    assert s.summary() == "2 continuous, 1 integer (c), 1 constant (b)"


def test_inference_of_strings_booleans_and_overrides():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"sp": ["a", "b", "a", None], "ok": [True, False, True, True],
                          "n": [1.0, 2.0, 2.0, 3.0]})
    s = infer_schema(frame, categorical=["n"])
    assert s.columns[0] == Column("sp", "categorical", categories=("a", "b"))
    assert s.columns[1].categories == (False, True)
    assert s.columns[2].categories == (1.0, 2.0, 3.0)
    with pytest.raises(PushforwardError, match="'n' is named both"):
        infer_schema(frame, categorical=["n"], integer=["n"])
    with pytest.raises(PushforwardError, match="no column 'zz'.*sp, ok, n"):
        infer_schema(frame, integer=["zz"])


def test_schema_round_trips_through_json():
    s = infer_schema(load_source("digits"))
    assert s.event_shape == (1, 8, 8) and s.indices("constant") == [0, 32, 39]
    assert Schema.from_dict(s.to_dict()) == s


def test_codec_round_trip_and_state():
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.gamma(2.0, 3.0, 100), np.full(100, -1.25), rng.normal(5, 0.1, 100)])
    c = build_codec(infer_schema(x), x, standardize=True)
    y = c.encode(x)
    assert y.shape == (100, 2)
    assert np.allclose(y.mean(0), 0) and np.allclose(y.std(0), 1)
    assert np.allclose(c.decode(y), x, rtol=1e-12) and (c.decode(y)[:, 1] == -1.25).all()
    back = codec_from_state(c.config(), c.state_dict())
    assert np.array_equal(back.decode(y), c.decode(y))
    # decode is affine: its derivative scales each modelled column, leaves constants at 0
    v = rng.normal(size=(4, 2))
    assert np.allclose(c.decode_tangent(v), c.decode(y[:4] + v) - c.decode(y[:4]))


def test_compose_applies_parts_in_order():
    x = np.array([[1.0, 4.0, 0.0], [3.0, 8.0, 0.0]])
    c = Compose([Constant([2]), Standardize()]).fit(x)
    assert c.encode(x).tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    assert (c.in_dim, c.out_dim) == (3, 2)


def test_categorical_columns_one_hot_for_learned_maps_ordinal_for_exact_ones():
    x = np.column_stack([np.arange(6.0), [0, 1, 0, 1, 5, 5]])
    schema = infer_schema(x, categorical=["x1"])
    learned = build_codec(schema, x, standardize=True)
    y = learned.encode(x)
    assert y.shape == (6, 4)  # x0 and the 3-wide one-hot block of x1
    assert np.array_equal(learned.decode(y), x)
    exact = build_codec(schema, x, standardize=False)
    assert exact.out_dim == 2 and np.array_equal(exact.decode(exact.encode(x)), x)
    # categories are ranked 0, 1, 2 (here by x0's mean in each: 1, 2, 4.5); off-rank values
    # snap to the nearest rank, so only 0, 1 or 5 ever come out
    assert exact.encode(x)[:, 1].tolist() == [0, 1, 0, 1, 2, 2]
    assert exact.decode(np.array([[0.0, 0.4], [0.0, 1.6]]))[:, 1].tolist() == [0.0, 5.0]


def test_fit_records_schema_and_codec_in_the_model_file(tmp_path):
    x = np.column_stack([np.random.default_rng(0).normal(size=300), np.full(300, 7.0)])
    m = pushforward.fit(x, seed=0)
    assert m.method == "quantile"  # one modelled column: auto picks the 1-D map
    loaded = pushforward.load(m.save(tmp_path / "m"))
    assert loaded.schema == m.schema and loaded.core_dim == 1
    assert np.array_equal(loaded.sample(100, seed=2), m.sample(100, seed=2))


runner = CliRunner()


@pytest.mark.parametrize("method,flags", [
    ("auto", []), ("copula", []),
    ("sliced-js", ["--steps", "3", "--width", "8", "--depth", "1", "--batch-size", "64"]),
    ("flow-matching", ["--steps", "3", "--width", "8", "--depth", "1", "--batch-size", "64"]),
])
def test_digits_blank_pixels_come_out_as_they_went_in(tmp_path, method, flags):
    model, out = tmp_path / "m", tmp_path / "s.npy"
    r = runner.invoke(app, ["fit", "digits", "--method", method, "--out", str(model),
                            "--seed", "0", "--threads", "1", *flags]
                      if flags else ["fit", "digits", "--method", method, "--out", str(model),
                                     "--seed", "0"])
    assert r.exit_code == 0, r.output
    assert "3 constant (px0, px32, px39)" in r.stdout
    r = runner.invoke(app, ["sample", str(model), "-n", "200", "--out", str(out), "--seed", "1"])
    assert r.exit_code == 0, r.output
    s = np.load(out).reshape(200, 64)  # an image model's .npy is (n, H, W)
    data = load_source("digits").data
    blank = np.flatnonzero(data.min(0) == data.max(0))
    assert s.shape == (200, 64) and (s[:, blank] == data[0, blank]).all()
    assert (s.std(0) > 0).sum() > 50  # the other pixels are modelled (some are rarely inked)
    assert np.isin(s, np.arange(17.0)).all()  # on digits' support: the 17 levels 0 … 16


def _images(n=200, levels=17, seed=0):
    """``n`` 4×4 images on the levels 0 … levels−1, with a blank (0) corner pixel."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, size=(n, 16)).astype(np.float64)
    x[:, 0] = 0.0
    return x, Schema(tuple(Column(f"px{j}", "constant" if j == 0 else "integer", value=0.0)
                           for j in range(16)), event_shape=(1, 4, 4))


@pytest.mark.parametrize("standardize", [True, False])
def test_pixel_codec_round_trips_and_decodes_onto_the_support(standardize):
    x, schema = _images()
    c = build_codec(schema, x, standardize=standardize)
    pixels = c.part(Pixels)
    assert pixels.levels_.tolist() == list(range(17))
    assert c.out_dim == (16 if standardize else 15)  # learned maps keep the whole grid
    y = c.encode(x)
    np.testing.assert_array_equal(c.decode(y), x)
    if standardize:  # one global scale: all pixels together have mean 0 and sd 1
        assert abs(y.mean()) < 1e-12 and abs(y.std() - 1) < 1e-12
        assert np.allclose(y[:, 1:] * pixels.scale_ + pixels.center_, x[:, 1:])
    # anything the core makes comes back on the levels, inside the range, the corner exact
    out = c.decode(np.random.default_rng(1).uniform(-20, 20, size=(500, c.out_dim)))
    assert np.isin(out, np.arange(17.0)).all() and (out[:, 0] == 0).all()
    assert out[:, 1:].min() == 0 and out[:, 1:].max() == 16
    back = codec_from_state(c.config(), c.state_dict())
    np.testing.assert_array_equal(back.decode(y), x)


def test_pixel_support_of_8_bit_scaled_and_continuous_images():
    rng = np.random.default_rng(2)
    eight = rng.integers(0, 256, size=(50, 16)) / 255.0  # an 8-bit image scaled to [0, 1]
    c = Pixels().fit(eight)
    assert c.levels_.size == 256 and set(np.unique(eight)) <= set(c.levels_)
    out = c.decode(rng.normal(size=(100, 16)))
    assert np.isin(out, c.levels_).all()
    smooth = rng.random((50, 16))  # 800 distinct values: continuous, decoded unrounded
    c = Pixels().fit(smooth)
    y = rng.normal(size=(10, 16)) * 0.1
    assert c.levels_.size == 0
    np.testing.assert_allclose(c.decode(y), y * c.scale_ + c.center_)


def _table_codec():
    x = np.column_stack([np.arange(8.0), [0, 1, 2, 0, 1, 2, 0, 1], [1, 2, 3, 4, 5, 6, 7, 8]])
    x[2, 0] = np.nan
    schema = Schema((Column("a"), Column("s", "categorical", categories=("p", "q", "r"),
                                         dtype="object"), Column("n", "integer")))
    return build_codec(schema, x, standardize=True), x


def test_table_codec_parts_round_trip_through_their_state():
    c, x = _table_codec()
    assert [p.name for p in c.parts] == ["missing", "round", "onehot", "standardize"]
    back = codec_from_state(c.config(), c.state_dict())
    y = c.encode(x)
    assert y.shape == (8, 1 + 1 + 1 + 3)  # a, n, a's gap indicator, s one-hot
    np.testing.assert_array_equal(back.decode(y), c.decode(y))
    np.testing.assert_array_equal(c.decode(y), x)  # the gap comes back as NaN


@pytest.mark.parametrize("edit, needle", [
    (lambda cfg, st: st.__setitem__("2.seen", np.array([1.0, 0.5, 1.0])), "seen"),
    (lambda cfg, st: st.__setitem__("2.seen", np.zeros(3)), "seen"),
    (lambda cfg, st: st.__setitem__("2.levels", np.array([0.0, 2.0, 1.0])), "increase"),
    (lambda cfg, st: cfg["parts"][2].__setitem__("sizes", [2]), "levels"),
    (lambda cfg, st: cfg["parts"][2].__setitem__("sizes", [10**6]), "sizes"),
    (lambda cfg, st: st.__setitem__("1.lo", np.array([9.0])), "lo"),
    (lambda cfg, st: st.__setitem__("1.hi", np.array([8.5])), "whole"),
    (lambda cfg, st: cfg["parts"][1].__setitem__("clip", "yes"), "clip"),
    (lambda cfg, st: st.__setitem__("0.pool", np.ones((2, 64))), "pool"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("columns", [7]), "columns"),
])
def test_a_hostile_table_codec_state_is_refused_in_one_line(edit, needle):
    c, _ = _table_codec()
    cfg, state = c.config(), dict(c.state_dict())
    edit(cfg, state)
    with pytest.raises(PushforwardError, match=needle) as e:
        codec_from_state(cfg, state)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("edit, needle", [
    (lambda cfg, st: st.__setitem__("0.affine", np.array([0.0, -1.0, 0.0, 16.0])), "scale"),
    (lambda cfg, st: st.__setitem__("0.affine", np.array([0.0, 1.0, 9.0, 1.0])), "lo"),
    (lambda cfg, st: st.__setitem__("0.affine", np.array([0.0, np.nan, 0.0, 1.0])), "NaN"),
    (lambda cfg, st: st.__setitem__("0.levels", np.arange(17.0)[::-1].copy()), "levels"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("levels", 3), "levels"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("levels", 10**9), "levels"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("pinned", [0, 0]), "pinned"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("pinned", [99]), "pinned"),
    (lambda cfg, st: cfg["parts"][0].__setitem__("scale", "yes"), "scale"),
    (lambda cfg, st: st.pop("0.values"), "values"),
])
def test_a_hostile_pixel_codec_state_is_refused_in_one_line(edit, needle):
    x, schema = _images()
    c = build_codec(schema, x, standardize=True)
    cfg, state = c.config(), dict(c.state_dict())
    edit(cfg, state)
    with pytest.raises(PushforwardError, match=needle) as e:
        codec_from_state(cfg, state)
    assert "\n" not in str(e.value)


def test_a_hostile_ordinal_order_is_refused():
    x = np.column_stack([np.arange(6.0), [0, 1, 0, 1, 2, 2]])
    c = build_codec(infer_schema(x, categorical=["x1"]), x, standardize=False)
    assert [p.name for p in c.parts] == ["round", "ordinal"]
    state = {**c.state_dict(), "1.order": np.array([0.0, 0.0, 2.0])}
    with pytest.raises(PushforwardError, match="permutation"):
        codec_from_state(c.config(), state)
    back = codec_from_state(c.config(), c.state_dict())
    np.testing.assert_array_equal(back.encode(x), c.encode(x))


def test_a_column_constant_in_the_training_rows_only_passes_exact_maps_as_a_constant():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=60), rng.normal(size=60), np.zeros(60)])
    x[59, 2] = 1.0  # inked in one row only: the split left it out of the training rows
    schema = infer_schema(x)
    assert schema.columns[2].kind == "integer"
    train = x[:50]
    c = build_codec(schema, train, standardize=False)
    assert c.out_dim == 2 and c.part(Constant).columns == [2]
    from pushforward.exact import GaussianCopula, QuantileMap

    for cls in (GaussianCopula, QuantileMap):  # the digits copula failed so on some seeds
        m = cls().fit(train, schema=schema)
        s = m.sample(100, seed=1)
        assert m.latent_dim == 2 and (s[:, 2] == 0).all()
    pixels, _ = _images(n=30)
    pixels[:, 5], pixels[-1, 5] = 0.0, 3.0  # the same for images: exact maps drop it,
    _, image_schema = _images(n=30)  # learned maps pin it
    exact = build_codec(image_schema, pixels[:-1], standardize=False)
    assert exact.part(Constant).columns == [0, 5]
    learned = build_codec(image_schema, pixels[:-1], standardize=True)
    assert learned.out_dim == 16 and learned.part(Pixels).pinned_.tolist() == [0, 5]
