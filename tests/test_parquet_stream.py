"""Parquet read by row group and large CSVs converted once to Parquet (issue 15 §3)."""

import numpy as np
import pytest

import pushforward
from pushforward.data import convert, load_source, parquet, split
from pushforward.data.parquet import ParquetRows
from pushforward.data.rows import PoolBatches, Rows
from pushforward.data.schema import infer_schema

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

N = 20_000


@pytest.fixture
def big_parquet(tmp_path, monkeypatch):
    """20,000 rows in 7 row groups, counted as large (thresholds lowered)."""
    monkeypatch.setattr(parquet, "STREAM_ROWS", 1000)
    monkeypatch.setattr(split, "BLOCK_SPLIT_ROWS", 1000)
    rng = np.random.default_rng(0)
    a = rng.normal(size=N)
    table = pa.table({"a": a, "b": 0.5 * a + rng.gamma(2.0, size=N), "i": np.arange(N)})
    path = tmp_path / "big.parquet"
    pq.write_table(table, path, row_group_size=3_000)
    return path, np.column_stack([table.column(c).to_numpy() for c in ("a", "b", "i")])


def test_a_large_parquet_file_is_read_by_row_group_not_loaded(big_parquet):
    path, x = big_parquet
    s = load_source(path)
    assert isinstance(s.data, ParquetRows) and s.data.groups == 7
    assert s.meta["dtypes"] == {"a": "float64", "b": "float64", "i": "int64"}
    idx = np.random.default_rng(1).integers(-N, N, 500)
    np.testing.assert_array_equal(s.data[idx], x[idx])
    np.testing.assert_array_equal(s.data[2_990:3_020], x[2_990:3_020])  # across two groups
    np.testing.assert_array_equal(s.data[:, 2][100:105], x[100:105, 2])  # one column, lazily
    assert infer_schema(s).summary() == "2 continuous, 1 integer (i)"  # read column-wise


def test_pool_batches_visit_every_row_group_of_the_training_rows(big_parquet):
    path, x = big_parquet
    s = split.split_source(load_source(path), 0.1, seed=3)
    train = s.train.data
    assert isinstance(train, Rows) and isinstance(train.base, ParquetRows)
    draw = PoolBatches(train, seed=0, piece=3_000, pool_rows=7_000)
    seen = set()
    for _ in range(40):  # 40 × 1,500 rows: every piece read at least once
        seen.update(draw(1_500)[:, 2].astype(int).tolist())
    assert sorted(set(draw.visited)) == list(range(draw.n_pieces))  # every piece in the pool
    rows = set(train.positions(np.arange(len(train))).tolist())
    assert seen <= rows  # only training rows, never a held-out one
    assert len(seen) > 0.8 * len(rows)


def test_a_learned_fit_on_a_large_parquet_file_splits_it_and_finds_it_again(big_parquet):
    path, _ = big_parquet
    m = pushforward.fit(str(path), method="swd", steps=3, seed=2, batch_size=64)
    record = m.info["split"]
    assert record["rule"] == "blocks-v1"  # n: the training rows ÷ 10 (the floor's samples)
    assert m.info["holdout"]["n"] == (N - record["held"]) // 10
    e = pushforward.evaluate(m, str(path), n=300, metrics=["energy"])
    assert e.reference == "held-out"


def test_a_large_csv_is_converted_once_to_parquet_and_read_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(convert, "CONVERT_BYTES", 1000)
    monkeypatch.setattr(parquet, "STREAM_ROWS", 1000)
    x = np.random.default_rng(0).normal(size=(5_000, 2)).round(6)
    x[7, 1] = np.nan  # an empty field: a gap, as the text reader has it
    path = tmp_path / "big.csv"
    text = "u,v\n" + "\n".join(",".join("" if np.isnan(v) else f"{v:.6f}" for v in row)
                               for row in x) + "\n"
    path.write_text(text)
    s = load_source(path)
    assert "converting it once to Parquet" in capsys.readouterr().err
    assert s.meta["converted"].endswith("big.csv.parquet") and s.columns == ["u", "v"]
    np.testing.assert_array_equal(np.asarray(s.data), x)  # the same values, the gap NaN
    load_source(path, columns="v")
    assert "reading its Parquet copy" in capsys.readouterr().err
    path.write_text(text.replace("u,v", "u,w"))  # a changed file is converted again
    assert load_source(path).columns == ["u", "w"]
    words = tmp_path / "words.csv"
    words.write_text("u,label\n" + "\n".join(f"{i},{'ab'[i % 2]}" for i in range(400)) + "\n")
    s = load_source(words)  # not all numbers: read as before, categories kept
    assert "not converted to Parquet" in capsys.readouterr().err
    assert s.meta["categories"] == {"label": ["a", "b"]}
