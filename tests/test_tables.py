"""Mixed-type tables (issue 13): categories, integers and booleans in, through the methods,
and out with the same columns, order and dtypes."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.data import load_source
from pushforward.data.schema import infer_schema

runner = CliRunner()


def mixed(n=600, seed=0):
    """A category that shifts x's mean by 3 for 'b', a count whose rate depends on the
    category, a boolean flag."""
    rng = np.random.default_rng(seed)
    sp = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"sp": sp,
                         "x": rng.normal(size=n) + 3.0 * (sp == "b"),
                         "count": rng.poisson(2 + 3 * (sp == "c")),
                         "flag": rng.random(n) < 0.3})


def assert_same_types(real: pd.DataFrame, fake: pd.DataFrame):
    assert list(fake.columns) == list(real.columns)
    assert [str(t) for t in fake.dtypes] == [str(t) for t in real.dtypes]
    assert set(fake["sp"]) <= set(real["sp"])
    assert set(fake["flag"]) <= {False, True}
    assert real["count"].min() <= fake["count"].min() <= fake["count"].max() <= (
        real["count"].max())


def test_a_frame_is_read_into_the_schema():
    src = load_source(mixed())
    assert src.meta["categories"] == {"sp": ["a", "b", "c"], "flag": [False, True]}
    schema = infer_schema(src)
    kinds = [c.kind for c in schema.columns]
    assert kinds == ["categorical", "continuous", "integer", "categorical"]
    assert schema.encoded_dim == 3 + 1 + 1 + 2 and schema.pointwise_dim == 4
    assert np.isin(src.data[:, 0], (0, 1, 2)).all()


@pytest.mark.parametrize("method, options", [("copula", {"tails": "clip"}),
                                             ("swd", {"steps": 100})])
def test_methods_give_back_the_frame_types_and_the_category_frequencies(method, options):
    real = mixed()
    m = pushforward.fit(real, method=method, seed=0, holdout=0, **options)
    fake = m.sample(3000, seed=1)
    assert_same_types(real, fake)
    share = fake["sp"].value_counts(normalize=True)
    want = real["sp"].value_counts(normalize=True)
    assert np.abs(share.reindex(want.index, fill_value=0) - want).max() < 0.08
    assert abs(fake["flag"].mean() - real["flag"].mean()) < 0.08
    if method == "swd":  # one-hot categories train with the rest: the dependence is learned
        means = fake.groupby("sp")["x"].mean()
        assert means["b"] - means["a"] > 1.5  # real: 3; without the dependence it would be 0


def test_auto_takes_a_table():
    real = mixed(400)
    m = pushforward.fit(real, seed=0, time_budget=5)
    assert_same_types(real, m.sample(500, seed=0))


def test_an_unseen_category_is_never_generated():
    real = mixed(300)
    real["sp"] = pd.Categorical(real["sp"], categories=["a", "b", "c", "never"])
    for method, opts in [("copula", {}), ("swd", {"steps": 20})]:
        fake = pushforward.fit(real, method=method, seed=0, holdout=0, **opts).sample(2000,
                                                                                     seed=0)
        assert str(fake["sp"].dtype) == "category" and "never" not in set(fake["sp"])
        assert list(fake["sp"].cat.categories) == ["a", "b", "c", "never"]


def test_saved_model_keeps_the_types(tmp_path):
    real = mixed(300)
    m = pushforward.fit(real, method="copula", seed=0)
    back = pushforward.load(m.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(back.sample(100, seed=3), m.sample(100, seed=3))


def test_csv_round_trip_writes_integers_as_integers_and_categories_as_strings(tmp_path):
    data = tmp_path / "d.csv"
    mixed(300).to_csv(data, index=False)
    model, out = tmp_path / "m", tmp_path / "s.csv"
    r = runner.invoke(app, ["fit", str(data), "--method", "copula", "--out", str(model),
                            "--seed", "0"])
    assert r.exit_code == 0, r.output
    assert "2 categorical (sp, flag)" in r.stdout and "1 integer (count)" in r.stdout
    assert runner.invoke(app, ["sample", str(model), "-n", "200", "--out", str(out)]
                         ).exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "sp,x,count,flag"
    cells = [line.split(",") for line in lines[1:]]
    assert {c[0] for c in cells} <= {"a", "b", "c"} and {c[3] for c in cells} <= {"True",
                                                                                    "False"}
    assert all(c[2].isdigit() for c in cells)  # "3", not "3.0"
    back = pd.read_csv(out)
    assert [str(t) for t in back.dtypes] == [str(t) for t in pd.read_csv(data).dtypes]


def test_parquet_keeps_the_dtypes(tmp_path):
    pytest.importorskip("pyarrow")
    real = mixed(300)
    real["sp"] = real["sp"].astype("category")
    data, model, out = tmp_path / "d.parquet", tmp_path / "m", tmp_path / "s.parquet"
    real.to_parquet(data)
    assert runner.invoke(app, ["fit", str(data), "--method", "copula", "--out", str(model)]
                         ).exit_code == 0
    assert runner.invoke(app, ["sample", str(model), "-n", "100", "--out", str(out)]
                         ).exit_code == 0
    back = pd.read_parquet(out)
    assert [str(t) for t in back.dtypes] == [str(t) for t in real.dtypes]


def test_a_numeric_column_named_categorical_keeps_its_values():
    real = mixed(300)
    m = pushforward.fit(real, method="swd", steps=10, seed=0, categorical=["count"])
    assert m.schema.columns[2].kind == "categorical"
    fake = m.sample(500, seed=0)
    assert set(fake["count"]) <= set(real["count"]) and str(fake["count"].dtype) == "int64"


def test_a_mostly_unique_string_column_is_left_out_with_a_warning(capsys):
    real = mixed(300)
    real.insert(0, "id", [f"row{i}" for i in range(len(real))])
    src = load_source(real)
    assert src.columns == ["sp", "x", "count", "flag"] and src.meta["left_out"] == ["id"]
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'id'" not in err and "id left out" in err and "--columns" in err


def fails_with(result, *needles):
    assert result.exit_code == 2, result.output
    msg = result.stderr.strip()
    assert msg.startswith("error:") and "\n" not in msg, msg
    for n in needles:
        assert n in msg, (n, msg)


def test_bad_tables_get_one_line_and_exit_2(tmp_path):
    def fit(text, *flags):
        p = tmp_path / "d.csv"
        p.write_text(text)
        return runner.invoke(app, ["fit", str(p), "--out", str(tmp_path / "m"), *flags])

    fails_with(fit("a,b\n1,\n2,\n3,\n"), "'b'", "every value is missing")
    fails_with(fit("a,s\n1,x\n2,y\n3,x\n", "--integer", "s"), "'s'", "categories",
               "integer")
    fails_with(fit("a,s\n1,2\n2,3\n3,oops\n4,5\n"), "row 3", "'s'", "'oops'", "--categorical")
    many = "a,s\n" + "\n".join(f"{i % 7},{i}" for i in range(100_000))
    fails_with(fit(many, "--categorical", "s"), "'s'", "100,000", "categor")


def test_missing_values_are_modelled_with_their_share():
    real = mixed(800)
    rng = np.random.default_rng(5)
    real.loc[rng.random(len(real)) < 0.15, "x"] = np.nan
    real.loc[rng.random(len(real)) < 0.1, "sp"] = None
    src = load_source(real)
    assert np.isnan(src.data).any()  # kept, not dropped
    m = pushforward.fit(real, method="copula", seed=0, holdout=0)
    fake = m.sample(5000, seed=0)
    assert [str(t) for t in fake.dtypes] == [str(t) for t in real.dtypes]
    share, want = fake.isna().mean(), real.isna().mean()
    assert (np.abs(share - want) < 0.02).all(), (share, want)
    assert set(fake["sp"].dropna()) <= {"a", "b", "c"}
    assert load_source(real, dropna=True).meta["dropped_rows"] > 0


def test_a_learned_table_model_with_gaps_saves_and_loads(tmp_path):
    real = mixed(300)
    real.loc[::7, "x"] = np.nan
    # flow matching needs noise of the encoded dimension: the indicator counts
    m = pushforward.fit(real, method="flow-matching", steps=5, seed=0, holdout=0)
    assert m.core_dim == m.latent_dim == 1 + 1 + 3 + 2 + 1  # x, count, sp, flag, x's gaps
    back = pushforward.load(m.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(back.sample(200, seed=1), m.sample(200, seed=1))


def test_evaluate_matches_categories_by_label_not_code(tmp_path):
    from pushforward.evaluation import evaluate

    real = mixed(600)
    m = pushforward.fit(real, method="copula", seed=0)
    held = mixed(400, seed=9)
    held = held[held["sp"] != "a"]  # codes b→0, c→1 on their own; the model's are 1, 2
    assert load_source(held).meta["categories"]["sp"] == ["b", "c"]
    e = evaluate(m, held, n=300, seed=0, metrics=["c2st"])
    assert e.n > 0
    bad = held.copy()
    bad.loc[bad.index[0], "sp"] = "zebra"
    with pytest.raises(pushforward.PushforwardError, match="'zebra', a category"):
        evaluate(m, bad, n=300, seed=0, metrics=["c2st"])


def test_transform_takes_a_frame_with_categories():
    real = mixed(400)
    m = pushforward.fit(real, method="copula", seed=0, holdout=0)
    z = m.transform(real.iloc[:50])  # strings and booleans read as the map's codes
    assert z.shape == (50, 4) and np.isfinite(z).all()
    back = m.inverse_transform(z)
    assert back[:, 0].tolist() == [["a", "b", "c"].index(s) for s in real["sp"][:50]]


def test_discrete_models_a_numeric_column_as_categories_and_writes_numbers(tmp_path):
    real = mixed(400)
    real["dose"] = np.random.default_rng(3).choice([0.5, 1.5, 4.0], len(real))
    m = pushforward.fit(real, method="swd", steps=10, seed=0, discrete=["count", "dose"])
    kinds = {c.name: c.kind for c in m.schema.columns}
    assert kinds["count"] == kinds["dose"] == "categorical"
    fake = m.sample(500, seed=0)
    assert str(fake["count"].dtype) == "int64" and str(fake["dose"].dtype) == "float64"
    assert set(fake["dose"]) <= {0.5, 1.5, 4.0} and set(fake["count"]) <= set(real["count"])
    data = tmp_path / "d.csv"
    real.to_csv(data, index=False)
    r = runner.invoke(app, ["fit", str(data), "--method", "copula", "--out",
                            str(tmp_path / "m"), "--discrete", "dose"])
    assert r.exit_code == 0 and "3 categorical (sp, flag, dose)" in r.stdout, r.output
    r = runner.invoke(app, ["fit", str(data), "--out", str(tmp_path / "m2"), "--discrete",
                            "sp"])
    fails_with(r, "'sp'", "words", "--categorical sp")
    r = runner.invoke(app, ["fit", str(data), "--out", str(tmp_path / "m2"), "--discrete",
                            "count", "--integer", "count"])
    fails_with(r, "'count'", "discrete", "integer")


def test_learned_maps_decode_the_training_missing_and_category_shares():
    # a briefly trained flow gives blurred indicators and one-hot blocks: the decoding cuts
    # are calibrated on its own outputs, so the shares come out as in the training rows
    real = mixed(1500)
    rng = np.random.default_rng(4)
    real.loc[rng.random(len(real)) < 0.08, "x"] = np.nan
    real.loc[rng.random(len(real)) < 0.05, "sp"] = None
    m = pushforward.fit(real, method="ot-flow-matching", steps=40, seed=0, holdout=0)
    fake = m.sample(6000, seed=2)
    gap = (fake.isna().mean() - real.isna().mean()).abs()
    assert (gap < 0.02).all(), gap
    share = fake["sp"].value_counts(normalize=True)
    want = real["sp"].value_counts(normalize=True)
    assert 0.5 * np.abs(share.reindex(want.index, fill_value=0) - want).sum() < 0.03
    onehot = next(p for p in m.codec_.parts if p.name == "onehot")
    missing = next(p for p in m.codec_.parts if p.name == "missing")
    assert np.abs(onehot.offset_).max() > 0 and not np.allclose(missing.cut_, 0.5)


def test_a_model_file_without_calibration_decodes_with_the_plain_cuts():
    from pushforward.data.codec import Missing, OneHot, codec_from_state

    x = np.array([[0.0, np.nan], [1.0, 2.0], [2.0, 3.0]])
    miss = Missing([1]).fit(x)
    old = {"pool": miss.state_dict()["pool"]}  # written before the cut was saved
    assert codec_from_state(miss.config(), old).cut_.tolist() == [0.5]
    hot = OneHot([0], [[0.0, 1.0, 2.0]]).fit(x[:, :1])
    state = {k: v for k, v in hot.state_dict().items() if k != "offset"}
    assert codec_from_state(hot.config(), state).offset_.tolist() == [0.0, 0.0, 0.0]
