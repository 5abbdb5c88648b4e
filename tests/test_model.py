"""Model files: safetensors + JSON, atomic, clear errors for corrupt or foreign files."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

import pushforward
from pushforward.errors import PushforwardError
from pushforward.model import MODEL_FILE, read_model_file


@pytest.fixture(scope="module")
def fitted():
    x = np.random.default_rng(0).gamma(2.0, size=(400, 2))
    return pushforward.fit(x, method="quantile", noise="normal", seed=5)


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_save_load_gives_identical_samples_at_any_chunk_size(tmp_path, fitted, chunk):
    path = fitted.save(tmp_path / "m")
    loaded = pushforward.load(tmp_path / "m")
    ref = fitted.sample(1500, seed=11)
    assert np.array_equal(loaded.sample(1500, seed=11, chunk_size=chunk), ref)
    assert path.name == MODEL_FILE and (tmp_path / "m" / "settings.json").exists()


def test_model_file_holds_json_settings_and_no_pickle(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.safetensors")
    meta, tensors = read_model_file(path)
    assert meta["method"] == "quantile" and meta["noise"] == "normal" and meta["seed"] == 5
    assert set(meta["versions"]) >= {"pushforward", "numpy", "torch"}
    assert all(isinstance(v, np.ndarray) for v in tensors.values())
    assert b"pickle" not in path.read_bytes()[:200] and path.read_bytes()[:8] != b"\x80\x04"


def test_truncated_file_is_a_one_line_error(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.safetensors")
    data = path.read_bytes()
    for cut in (4, 40, len(data) - 10):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(PushforwardError, match=f"cut{cut}.safetensors") as e:
            pushforward.load(bad)
        assert "\n" not in str(e.value)


def test_foreign_and_garbage_files_are_rejected(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": np.ones(3)}, foreign, metadata={"format": "pt"})
    with pytest.raises(PushforwardError, match="not a pushforward model"):
        pushforward.load(foreign)
    other = tmp_path / "other.safetensors"
    save_file({"w": np.ones(3)}, other, metadata={"pushforward": json.dumps({"format": "x"})})
    with pytest.raises(PushforwardError, match="foreign format"):
        pushforward.load(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\xff" * 100)
    with pytest.raises(PushforwardError, match="junk.safetensors"):
        pushforward.load(junk)
    with pytest.raises(PushforwardError, match="no such model"):
        pushforward.load(tmp_path / "missing")


def test_saving_is_atomic_no_temporary_files_left(tmp_path, fitted):
    fitted.save(tmp_path / "m")
    fitted.save(tmp_path / "m", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.safetensors",
                                                                  "settings.json"]


def test_a_map_fitted_on_a_dataframe_samples_a_dataframe(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"height": rng.normal(170, 9, 300), "weight": rng.gamma(9, 8, 300)})
    m = pushforward.fit(frame, method="copula", seed=0)
    s = m.sample(50, seed=2)
    assert isinstance(s, pd.DataFrame) and list(s.columns) == ["height", "weight"]
    assert np.array_equal(s.to_numpy(), np.concatenate(list(m.iter_samples(50, seed=2))))
    m.save(tmp_path / "m")
    again = pushforward.load(tmp_path / "m").sample(50, seed=2)
    assert isinstance(again, pd.DataFrame) and again.equals(s)
    assert isinstance(pushforward.fit(frame.to_numpy(), method="copula", seed=0).sample(3),
                      np.ndarray)


@pytest.mark.parametrize("name", ["m", "m.safetensors"])
def test_save_refuses_to_replace_a_model_unless_asked(tmp_path, fitted, name):
    path = fitted.save(tmp_path / name)
    before = path.read_bytes()
    with pytest.raises(PushforwardError, match="overwrite=True"):
        fitted.save(tmp_path / name)
    assert path.read_bytes() == before
    fitted.save(tmp_path / name, overwrite=True)
    assert pushforward.load(path).method == fitted.method


def test_a_1d_learned_model_with_scalar_parameters_saves_and_loads(tmp_path):
    """The monotone net (1-D default) has 0-d parameters: their shape () survives the file."""
    x = np.random.default_rng(0).gamma(2.0, size=(300, 1))
    m = pushforward.fit(x, method="energy", seed=0, steps=3, threads=1)
    assert m.net_spec["name"] == "monotone"
    loaded = pushforward.load(m.save(tmp_path / "m"))
    assert np.array_equal(loaded.sample(50, seed=1), m.sample(50, seed=1))
