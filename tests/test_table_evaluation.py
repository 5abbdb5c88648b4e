"""Table figures (issue 13): per column, per pair, the SDMetrics scores, memorisation, and
evaluate/CLI on a table model. Each test asserts the mathematics of a figure."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

import pushforward
from pushforward.cli import app
from pushforward.data.schema import Column, Schema, infer_schema
from pushforward.evaluation.c2st import c2st_test
from pushforward.evaluation.tables import (
    association_matrix,
    category_codes,
    contingency_tv,
    correlation_difference,
    encode_rows,
    exact_copies,
    table_figures,
    tv_distance,
)

runner = CliRunner()

SCHEMA = Schema((Column("sp", "categorical", categories=("a", "b", "c"), dtype="object"),
                 Column("x"), Column("n", "integer")))


def table(n, seed, shift=0.0, shares=(0.5, 0.3, 0.2)):
    """sp with the given shares (exactly), x ~ N(sp-dependent mean + shift, 1), n ~ Poisson."""
    rng = np.random.default_rng(seed)
    sp = np.repeat(np.arange(3), np.round(np.array(shares) * n).astype(int))[:n]
    rng.shuffle(sp)
    x = rng.normal(size=len(sp)) + 2.0 * (sp == 1) + shift
    return np.c_[sp, x, rng.poisson(3, size=len(sp))].astype(float)


def test_identical_tables_score_one_and_zero_distance():
    t = table(2000, 0)
    f = table_figures(t, t, [t], SCHEMA)
    assert f.shapes == 1.0 and f.trends == 1.0
    assert all(c.value == 0.0 and c.missing == 0.0 for c in f.columns)
    assert all(p.value == 0.0 for p in f.pairs)
    assert {p.statistic for p in f.pairs} == {"corr", "TV"}  # x × n numeric; sp × others TV


def test_a_shifted_column_has_the_ks_of_two_shifted_normals():
    # KS between N(0, 1) and N(δ, 1) is sup |Φ(t) − Φ(t − δ)| = 2Φ(δ/2) − 1
    s = infer_schema(np.zeros((2, 1)) + [[0.0], [1.5]])
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40_000, 1)), rng.normal(size=(40_000, 1)) + 1.0
    f = table_figures(b, a, [rng.normal(size=(40_000, 1))], s)
    c = f.columns[0]
    assert abs(c.value - (2 * norm.cdf(0.5) - 1)) < 0.015
    assert abs(c.w1 - 1.0) < 0.03  # W₁ of a shift is the shift
    assert c.floor < 0.02 and abs(f.shapes - (1 - c.value)) < 1e-12


def test_tv_of_known_category_frequencies():
    a = np.repeat([0.0, 1.0, 2.0], [50, 30, 20])
    b = np.repeat([0.0, 1.0, 2.0], [20, 30, 50])
    assert tv_distance(a, b, 3) == pytest.approx(0.3)  # ½(0.3 + 0 + 0.3)
    assert tv_distance(a, np.r_[a, np.nan], 3) == 0.0  # a gap is not a category share
    t, u = table(1000, 0), table(1000, 0, shares=(0.2, 0.3, 0.5))
    f = table_figures(u, t, [t], SCHEMA)
    sp = next(c for c in f.columns if c.name == "sp")
    assert sp.statistic == "TV" and sp.value == pytest.approx(0.3) and sp.floor == 0.0


def test_contingency_tv_sees_a_broken_dependence_the_margins_do_not():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 2, size=4000).astype(float)
    tied = np.c_[a, a]  # the second column copies the first
    free = np.c_[a, rng.permutation(a)]  # same margins, independent
    assert contingency_tv(tied, tied, 2, 2) == 0.0
    # tied puts ½ on (0,0) and (1,1); independent ¼ on each cell: TV = ½(4 × ¼) = ½
    assert contingency_tv(free, tied, 2, 2) == pytest.approx(0.5, abs=0.03)
    assert tv_distance(free[:, 1], tied[:, 1], 2) == 0.0


def test_correlation_difference_and_the_pair_trends_score():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(20_000, 2))
    rho = 0.8
    corr = np.c_[z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]]
    assert correlation_difference(corr, z) == pytest.approx(rho, abs=0.02)
    s = infer_schema(z)
    f = table_figures(z, corr, [corr], s)
    assert f.pairs[0].statistic == "corr"
    assert f.trends == pytest.approx(1 - rho / 2, abs=0.01)  # SDMetrics: 1 − |Δ|/2


def test_missing_share_difference_in_points():
    t = table(1000, 0)
    g = t.copy()
    g[:100, 1] = np.nan  # 10 % gaps where the reference has none
    f = table_figures(g, t, [t], SCHEMA)
    x = next(c for c in f.columns if c.name == "x")
    assert x.missing == pytest.approx(10.0) and x.missing_floor == 0.0 and f.missing == 10.0


def test_dcr_of_copies_is_zero_and_copies_are_counted():
    train, held = table(1500, 4), table(1500, 5)
    f = table_figures(train[:500], held[:500], [train[500:1000]], SCHEMA, train=train,
                      held=held)
    assert f.dcr["generated"] == 0.0 and f.dcr["held_out"] > 0 and f.copies == 1.0
    assert f.copies_floor < 0.05  # real held-out rows: a continuous x is never repeated
    fresh = table(500, 6)
    g = table_figures(fresh, held[:500], [train[:500]], SCHEMA, train=train, held=held)
    assert g.copies == 0.0 and 0.7 < g.dcr["ratio"] < 1.4


def test_exact_copies_and_encoding_treat_gaps_as_values():
    t = np.array([[1.0, np.nan], [2.0, 3.0]])
    assert exact_copies(np.array([[1.0, np.nan], [-0.0, 3.0]]), t) == 0.5
    s = Schema((Column("v"), Column("s", "categorical", categories=("a", "b"), dtype="object")))
    e = encode_rows(np.array([[1.0, np.nan]]), s, np.zeros(2), np.ones(2), gaps=[1])
    assert e.tolist() == [[1.0, 0.0, 0.0, 1.0]]  # v, one-hot (none hot), s's gap indicator


def test_category_codes_of_a_numeric_column_named_categorical():
    s = Schema((Column("n", "categorical", categories=(1.0, 4.0, 9.0)),))
    assert category_codes(np.array([[9.0], [1.0], [4.0]]), s).ravel().tolist() == [2, 0, 1]


def test_association_matrix_is_correlation_or_cramers_v():
    rng = np.random.default_rng(7)
    t = table(3000, 7)
    names, a = association_matrix(t, SCHEMA)
    assert names == ["sp", "x", "n"] and np.allclose(np.diag(a), 1.0)
    free = t.copy()
    free[:, 0] = rng.permutation(free[:, 0])
    # sp shifts x's mean: a strong association (Cramér's V); shuffled, none
    assert a[0, 1] > 0.4 and association_matrix(free, SCHEMA)[1][0, 1] < 0.1
    assert a[1, 2] == pytest.approx(np.corrcoef(t[:, 1], t[:, 2])[0, 1])
    c = rng.integers(0, 3, size=3000).astype(float)
    s2 = Schema((Column("a", "categorical", categories=(0.0, 1.0, 2.0)),
                 Column("b", "categorical", categories=(0.0, 1.0, 2.0))))
    assert association_matrix(np.c_[c, c], s2)[1][0, 1] == pytest.approx(1.0)


def test_c2st_takes_categories_natively():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 12, size=(3000, 1)).astype(float)
    same = rng.integers(0, 12, size=(3000, 1)).astype(float)
    assert c2st_test(same, y, categorical=[True]).p_value > 0.01
    # every odd category replaced by the even one below it: interleaved codes a tree on
    # numbers must cut one by one, a categorical split takes in one go
    odd = np.where(y % 2 == 1, y - 1, y)
    assert c2st_test(odd, y, categorical=[True]).accuracy > 0.7
    gaps = y.copy()
    gaps[rng.random(3000) < 0.3] = np.nan  # missing values taken as they are
    assert c2st_test(gaps, y, categorical=[True]).accuracy > 0.6


def mixed(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    sp = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    f = pd.DataFrame({"sp": sp, "x": rng.normal(size=n) + 3.0 * (sp == "b"),
                      "count": rng.poisson(2 + 3 * (sp == "c"))})
    f.loc[rng.random(n) < 0.1, "x"] = np.nan
    return f


def test_evaluate_on_a_table_model_gives_the_table_figures():
    from pushforward.evaluation import evaluate

    real = mixed()
    m = pushforward.fit(real, method="copula", seed=0)
    e = evaluate(m, real, n=2000, seed=0)
    t = e.tabular
    assert {c.name for c in t.columns} == {"sp", "x", "count"} and len(t.pairs) == 3
    assert e["column_shapes"].value == pytest.approx(t.shapes) and t.shapes > 0.8
    assert "natively" in e["c2st"].note and "one-hot" in e["dcr"].note
    assert t.columns[0].excess >= t.columns[-1].excess  # worst first
    d = e.as_dict()["table"]
    assert d["column_shapes"] == pytest.approx(t.shapes) and len(d["columns"]) == 3
    # the closing check asks for two figures only: no table figures, no time spent on them
    assert m.info["holdout"]["n"] > 0 and evaluate(m, real, n=500, metrics=["c2st"]
                                                   ).tabular is None


def test_cli_evaluate_prints_the_table_figures(tmp_path):
    data, model = tmp_path / "d.csv", tmp_path / "m"
    mixed().to_csv(data, index=False)
    assert runner.invoke(app, ["fit", str(data), "--method", "copula", "--out", str(model),
                               "--seed", "0"]).exit_code == 0
    r = runner.invoke(app, ["evaluate", str(model), "--data", str(data), "-n", "1000"])
    assert r.exit_code == 0, r.output
    assert "Column Shapes" in r.stdout and "columns, worst first" in r.stdout
    assert "contingency TV" in r.stdout
    r = runner.invoke(app, ["evaluate", str(model), "--data", str(data), "-n", "1000",
                            "--json"])
    d = json.loads(r.stdout)["table"]
    assert 0 < d["column_shapes"] <= 1 and 0 < d["column_pair_trends"] <= 1
    assert 0 <= d["exact_copies"] <= 1


def test_the_report_has_a_page_for_tables(tmp_path):
    from pushforward.report import report

    real = mixed()
    m = pushforward.fit(real, method="copula", seed=0)
    text = report(m, real, out=tmp_path / "r.html", n=1000).read_text()
    assert "Table: columns and associations" in text and "Column Shapes" in text
    assert 'data-plot="columns"' in text and 'data-plot="associations"' in text
    # the columns' table lists the worst column first
    e = pushforward.evaluate(m, real, n=1000)
    page = text[text.index("Table: columns and associations"):]
    at = [page.index(f"<td>{c.name}</td>") for c in e.tabular.columns]
    assert at == sorted(at)


def test_gaps_only_in_the_training_rows_still_give_finite_figures():
    from pushforward.evaluation import evaluate

    real = mixed(600)
    real["x"] = real["x"].fillna(0.0)
    real.loc[[3, 7, 11], "x"] = np.nan  # few gaps: the held-out rows may have none
    m = pushforward.fit(real, method="copula", seed=0)
    held = np.flatnonzero(~np.isin(np.arange(len(real)), [3, 7, 11]))[:200]
    e = evaluate(m, real.iloc[held], train=real, n=200, seed=0, metrics=["energy", "c2st"])
    assert np.isfinite(e["energy"].value) and np.isfinite(e["energy"].floor)
    assert "—" not in e.verdict
