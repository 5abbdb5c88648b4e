"""The one hold-out split: its rule, its record, and every fit training on its training rows."""

import numpy as np
import pytest

import pushforward
from pushforward.data import load_source
from pushforward.data.codec import Standardize
from pushforward.data.split import (
    RULE,
    find_split,
    holdout_split,
    split_record,
    split_source,
)
from pushforward.exact import GaussianCopula, QuantileMap

X = np.random.default_rng(0).normal(size=(500, 2)) @ [[1.0, 0.6], [0.0, 0.8]]


def test_the_split_partitions_the_rows_by_its_documented_rule():
    train, held = holdout_split(500, 0.1, seed=7)
    assert len(held) == 50 and len(train) == 450
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(500))
    perm = np.random.default_rng(np.random.SeedSequence([7, 1])).permutation(500)
    np.testing.assert_array_equal(held, perm[:50])  # the rule of the module's docstring
    np.testing.assert_array_equal(train, perm[50:])
    assert not np.array_equal(holdout_split(500, 0.1, seed=8)[1], held)


@pytest.mark.parametrize(("rows", "share", "held"), [(10, 0.1, 1), (3, 0.1, 0), (4, 0.5, 2),
                                                     (2, 0.4, 0), (100, 0.0, 0)])
def test_tiny_data_keeps_at_least_two_training_rows(rows, share, held):
    train, h = holdout_split(rows, share, seed=0)
    assert len(h) == held and len(train) == rows - held >= 2


def test_a_share_outside_zero_one_is_refused():
    with pytest.raises(pushforward.PushforwardError, match="holdout must be in"):
        holdout_split(10, 1.0, seed=0)
    with pytest.raises(pushforward.PushforwardError, match="holdout must be in"):
        pushforward.fit("moons", method="copula", holdout=-0.1, seed=0)


def test_the_record_finds_the_split_again_and_only_in_the_same_data():
    record = split_record(X, 0.2, seed=3)
    assert record["rule"] == RULE and record["rows"] == 500 and record["held"] == 100
    train, held = find_split(record, X)
    np.testing.assert_array_equal(held, holdout_split(500, 0.2, seed=3)[1])
    changed = X.copy()
    changed[17, 1] += 1e-9  # one value differs: not the data the model was fitted on
    assert find_split(record, changed) is None and find_split(record, X[:-1]) is None
    with pytest.raises(pushforward.PushforwardError, match="rule"):
        find_split({**record, "rule": "something-else"}, X)
    with pytest.raises(pushforward.PushforwardError, match="found again"):
        find_split({**record, "indices": "0" * 16}, X)


def test_a_sampler_is_not_split():
    s = split_source(load_source("moons"), 0.1, seed=0)
    assert s.held is None and s.record is None and s.train.sampler is not None


@pytest.mark.parametrize("method", ["quantile", "copula"])
def test_exact_methods_fit_the_training_rows_only(method):
    x = X[:, :1] if method == "quantile" else X
    m = pushforward.fit(x, method=method, seed=4)
    train, held = holdout_split(len(x), 0.1, seed=4)
    assert m.info["split"] == split_record(x, 0.1, 4)
    ref = (QuantileMap if method == "quantile" else GaussianCopula)().fit(x[train])
    z = np.random.default_rng(1).normal(size=(200, x.shape[1]))
    np.testing.assert_array_equal(m.inverse_transform(z), ref.inverse_transform(z))
    everything = (QuantileMap if method == "quantile" else GaussianCopula)().fit(x)
    assert not np.allclose(m.inverse_transform(z), everything.inverse_transform(z))


def test_a_learned_fit_trains_and_scales_on_the_same_training_rows():
    m = pushforward.fit(X, method="swd", steps=2, seed=5, holdout=0.2)
    train, _ = holdout_split(500, 0.2, seed=5)
    scaler = m.codec_.part(Standardize)  # the codec is fitted on the training rows only
    np.testing.assert_array_equal(scaler.mean_, X[train].mean(axis=0))
    assert m.settings["train"]["holdout"] == 0.2 and m.info["split"]["held"] == 100


def test_holdout_zero_trains_on_every_row_and_the_check_says_so():
    m = pushforward.fit(X, method="copula", seed=0, holdout=0.0)
    assert m.info["split"]["held"] == 0
    h = m.info["holdout"]
    assert h["reference"] == "training" and not h["passed"]
    assert h["summary"].startswith("measured on the model's own training rows")


@pytest.mark.parametrize(("data", "method"), [("norm", "inverse-cdf"), ("gamma(a=2)", "parametric"),
                                              (X[:, :1], "quantile"), (X, "copula"),
                                              ("moons", "copula"), (X, "swd")])
def test_every_fit_ends_with_a_held_out_check(data, method):
    options = {"steps": 2} if method == "swd" else {}
    if method == "parametric":
        options["family"] = "gamma"
    h = pushforward.fit(data, method=method, seed=0, **options).info["holdout"]
    assert h["reference"] == "held-out" and h["summary"].startswith(h["verdict"])
    assert h["n"] == (45 if isinstance(data, np.ndarray) else 2000)  # 50 held, 450 // 10
    assert 0 <= h["c2st"] <= 1 and h["energy"] >= 0 and h["seconds"] < 10
    if method in ("inverse-cdf", "parametric"):  # the exact distribution: at its floor
        assert h["passed"] and h["verdict"].startswith("indistinguishable")
    if isinstance(data, str) and data == "moons":  # a Gaussian copula can't make two moons
        assert not h["ok"] and h["verdict"].startswith("distinguishable: C2ST")


def test_too_little_data_for_a_check_says_so():
    h = pushforward.fit(X[:40, :1], method="quantile", seed=0).info["holdout"]
    assert h["summary"] == "no held-out check: fewer than 20 rows to compare with"


# ------------------------------------------------------------------ large memory-mapped files
@pytest.fixture
def big_file(tmp_path, monkeypatch):
    """A memory-mapped .npy split by blocks: the threshold lowered so 200,000 rows count."""
    from pushforward.data import split

    monkeypatch.setattr(split, "BLOCK_SPLIT_ROWS", 10_000)
    path = tmp_path / "big.npy"
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(200_000, 2))
    x[:] = np.random.default_rng(0).normal(size=(200_000, 2)) @ [[1.0, 0.6], [0.0, 0.8]]
    x.flush()
    return path


def test_a_large_file_is_split_by_blocks_without_reading_it_into_memory(big_file):
    import tracemalloc

    from pushforward.data.rows import Rows
    from pushforward.data.split import BLOCK_ROWS, BLOCK_RULE, held_blocks

    source = load_source(big_file)
    assert isinstance(source.data, np.memmap)
    tracemalloc.start()
    s = split_source(source, 0.1, seed=3)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # one copy of the rows is 1.6 MB, a permutation of them 1.6 MB; the block lists are 6 kB
    assert peak < 200_000, peak
    assert isinstance(s.train.data, Rows) and isinstance(s.held, Rows)
    assert s.record["rule"] == BLOCK_RULE and s.record["block"] == BLOCK_ROWS
    blocks = held_blocks(200_000, 0.1, seed=3)  # round(0.1 · 782 blocks), the last one short
    assert len(blocks) == 78 and s.record["held"] == len(s.held) == 200_000 - len(s.train.data)
    train = s.train.data.positions(np.arange(len(s.train.data)))
    held = s.held.positions(np.arange(len(s.held)))
    assert np.array_equal(np.sort(np.concatenate([train, held])), np.arange(200_000))
    assert np.array_equal(np.unique(held // BLOCK_ROWS), blocks)
    rows = np.array([5, len(s.held) - 1, 0])
    np.testing.assert_array_equal(s.held[rows], source.data[held[rows]])  # the file's rows
    np.testing.assert_array_equal(s.train.data[10:20], source.data[train[10:20]])


def test_a_model_fitted_on_a_large_file_finds_its_held_out_blocks_again(big_file):
    from pushforward.data.split import find_rows

    m = pushforward.fit(str(big_file), method="swd", steps=2, seed=5, batch_size=64)
    record = m.info["split"]
    assert record["rule"] == "blocks-v1" and m.info["holdout"]["n"] == 2000  # rows drawn
    data = load_source(big_file).data
    expected = split_source(load_source(big_file), 0.1, seed=5)
    train, held = find_rows(record, data)
    np.testing.assert_array_equal(held.blocks, expected.held.blocks)
    assert len(find_split(record, data)[1]) == record["held"]
    e = pushforward.evaluate(m, str(big_file), n=500, metrics=["energy"])
    assert e.reference == "held-out"
    assert any("drawn at random from the file" in note for note in e.notes), e.notes


def test_rows_of_a_file_read_by_positioned_reads_are_the_files_rows(big_file):
    from pushforward.data.rows import chunks, sample_rows, take

    data = load_source(big_file).data
    x = np.asarray(data).copy()  # the rows in memory, for reference
    idx = np.random.default_rng(1).integers(-len(x), len(x), 3000)
    np.testing.assert_array_equal(take(data, idx), x[idx])  # any order, repeats, negatives
    np.testing.assert_array_equal(take(data, np.arange(5, 900)), x[5:900])
    np.testing.assert_array_equal(np.concatenate(list(chunks(data, 70_001))), x)
    s = split_source(load_source(big_file), 0.1, seed=2)
    train = s.train.data.positions(np.arange(len(s.train.data)))
    np.testing.assert_array_equal(np.concatenate(list(chunks(s.train.data, 9_999))), x[train])
    drawn = sample_rows(s.held, 500, seed=0)
    held = x[s.held.positions(np.arange(len(s.held)))]
    assert len({tuple(r) for r in drawn.tolist()} & {tuple(r) for r in held.tolist()}) == 500
