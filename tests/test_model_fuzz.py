"""Damaged and hostile model files (issue 17): every one is a one-line error naming the file.

Bit flips anywhere (tensors, header, length prefix) and truncations are caught by the checksum
or the parser; hostile headers carry a valid checksum, so they reach the value checks and the
limits on what a file may ask for.
"""

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.numpy import save as st_save
from typer.testing import CliRunner

import pushforward
from pushforward._checks import checksum
from pushforward.cli import app
from pushforward.data.codec import Compose, Standardize
from pushforward.errors import PushforwardError
from pushforward.flow_map import FlowMap
from pushforward.learned import LearnedMap
from pushforward.model import read_model_file
from pushforward.nets import MLP, TimeMLP

X2 = np.random.default_rng(0).gamma(2.0, size=(300, 2))


def _learned(cls, net, spec):
    m = cls(net, spec)
    codec = Compose([Standardize()]).fit(np.array([[0.5, -1.0], [1.5, 5.0]]))  # mean 1, 2
    m._init_map(method="flow-matching" if cls is FlowMap else "sliced-js", noise="normal",
                latent_dim=2, dim=2, seed=3, codec=codec,
                settings={"train": {"dtype": "float32"},
                          "objective": {"solver": "euler", "ode_steps": 3}})
    return m


def _bases():
    torch.manual_seed(0)
    return {
        "quantile": pushforward.fit(X2[:, :1], method="quantile", seed=1),
        "copula": pushforward.fit(X2, method="copula", seed=1),
        "parametric": pushforward.fit(X2, method="parametric", family="gamma", seed=1),
        "inverse-cdf": pushforward.fit("gamma(a=2)", method="inverse-cdf", seed=1),
        "learned": _learned(LearnedMap, MLP(2, 2, width=8, depth=2),
                            {"name": "mlp", "kwargs": {"width": 8, "depth": 2}}),
        "flow": _learned(FlowMap, TimeMLP(2, 2, width=8, depth=1),
                         {"name": "time-mlp", "kwargs": {"width": 8, "depth": 1}}),
    }


BASES = _bases()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    return {k: m.save(d / f"{k}.safetensors") for k, m in BASES.items()}


def _parts(path):
    data = path.read_bytes()
    (hlen,) = struct.unpack("<Q", data[:8])
    return data, hlen


def _write(path, meta, tensors, *, sign=True):
    meta = dict(meta)
    if sign:
        meta["checksum"] = checksum(meta, tensors)
    path.write_bytes(st_save(tensors, metadata={"pushforward": json.dumps(meta)}))
    return path


def _refused(path):
    """load refuses the file with one line naming it; info reads it or refuses it the same way."""
    with pytest.raises(PushforwardError) as e:
        pushforward.load(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and len(msg) < 400, msg
    r = CliRunner().invoke(app, ["info", str(path)])
    assert r.exit_code in (0, 2) and r.exception is None or isinstance(r.exception, SystemExit)
    if r.exit_code == 2:
        assert r.stderr.count("\n") == 1 and str(path) in r.stderr, r.stderr
    return msg


def test_saved_models_load_identically(saved):
    for key, path in saved.items():
        m = pushforward.load(path)
        np.testing.assert_array_equal(m.sample(50, seed=2), BASES[key].sample(50, seed=2))


# ------------------------------------------------------------------ bit flips and truncations
FLIPS = [(key, region, i) for key in BASES for region in ("tensor", "header")
         for i in range(6)]


@pytest.mark.parametrize("key,region,i", FLIPS)
def test_one_flipped_bit_is_detected(saved, tmp_path, key, region, i):
    data, hlen = _parts(saved[key])
    rng = np.random.default_rng([i, len(key), region == "tensor"])
    lo, hi = (8 + hlen, len(data)) if region == "tensor" and len(data) > 8 + hlen else (
        0, 8 + hlen)
    pos = int(rng.integers(lo, hi))
    bad = bytearray(data)
    bad[pos] ^= 1 << int(rng.integers(8))
    path = tmp_path / f"{key}-{region}-{i}.safetensors"
    path.write_bytes(bytes(bad))
    _refused(path)


@pytest.mark.parametrize("key", list(BASES))
@pytest.mark.parametrize("cut", [0, 5, 8, 30, -1, -9])
def test_truncated_file_is_refused(saved, tmp_path, key, cut):
    data, _ = _parts(saved[key])
    path = tmp_path / "cut.safetensors"
    path.write_bytes(data[:cut] if cut else b"")
    _refused(path)


# ------------------------------------------------------------------ hostile headers
@pytest.fixture(scope="module")
def originals(saved):
    return {k: read_model_file(p) for k, p in saved.items()}


def _edit(meta, dotted, value):
    meta = json.loads(json.dumps(meta))
    *path, last = dotted.split(".")
    node = meta
    for p in path:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return meta


_DELETE = object()

META_EDITS = [
    ("quantile", "format_version", "abc", "format_version"),
    ("quantile", "format_version", 0, "format_version"),
    ("quantile", "format_version", 99, "newer"),
    ("quantile", "format_version", True, "format_version"),
    ("quantile", "kind", "pickle", "unknown model kind"),
    ("quantile", "kind", 7, "kind"),
    ("quantile", "method", "rm -rf", "unknown method"),
    ("quantile", "method", "copula", "unknown method"),
    ("quantile", "noise", "cauchy", "noise"),
    ("quantile", "dim", 10**9, "dim"),
    ("quantile", "dim", -1, "dim"),
    ("quantile", "latent_dim", "2", "latent_dim"),
    ("quantile", "columns", ["a", "b", "c"], "columns"),
    ("quantile", "columns", "x", "columns"),
    ("quantile", "seed", -1, "seed"),
    ("quantile", "seed", 1.5, "seed"),
    ("quantile", "settings", [], "settings"),
    ("quantile", "settings.tails", "wild", "tails"),
    ("quantile", "settings.tails", _DELETE, "tails"),
    ("quantile", "info", "x", "info"),
    ("quantile", "info", {"source": ["/etc/passwd"]}, "info.source"),
    ("copula", "latent_dim", 1, "latent_dim"),
    ("copula", "core_dim", 3, "core_dim"),
    ("copula", "core_dim", 1, "codec maps 2 → 2"),
    ("copula", "codec", "pickle", "codec"),
    ("copula", "codec.name", "os.system", "unknown codec"),
    ("copula", "codec.parts", [{"name": "compose"}] * 99, "at most"),
    ("copula", "codec.parts", [{"name": "constant", "in_dim": 2, "columns": [5]}],
     "codec.columns"),
    ("copula", "codec.in_dim", 10**9, "codec.in_dim"),
    ("learned", "codec.parts", [{"name": "standardize", "in_dim": 3}], "shape"),
    ("copula", "schema.columns", [{"name": "x0"}], "kind"),
    ("copula", "schema.columns", "x", "schema.columns"),
    ("copula", "schema.event_shape", [-1], "event_shape"),
    ("copula", "dim", 3, "columns"),
    ("parametric", "settings.family", "notafamily", "family"),
    ("parametric", "settings.family", {"a": 1}, "family"),
    ("parametric", "settings.params", [[1.0, 0.0, 1.0]], "params"),
    ("parametric", "settings.params", [[2.0, 0.0, -1.0], [2.0, 0.0, 1.0]], "params[0][2]"),
    ("parametric", "settings.params", [[2.0, 0.0, 0.0], [2.0, 0.0, 1.0]], "params[0][2]"),
    ("parametric", "settings.params", [[-2.0, 0.0, 1.0], [2.0, 0.0, 1.0]], "invalid"),
    ("parametric", "settings.params", [[1e400, 0.0, 1.0], [2.0, 0.0, 1.0]], "params[0][0]"),
    ("parametric", "settings.params", [["2", 0.0, 1.0], [2.0, 0.0, 1.0]], "params[0][0]"),
    ("inverse-cdf", "settings.target", "/etc/passwd", "spec"),
    ("inverse-cdf", "settings.target", "norm(0, 1" + "0" * 400 + ")", "spec"),
    ("inverse-cdf", "settings.target", "__import__('os')", "spec"),
    ("inverse-cdf", "settings.target", 5, "settings.target"),
    ("inverse-cdf", "settings.source", "gamma(a=-1)", "spec"),
    ("inverse-cdf", "dim", 2, "columns"),
    ("learned", "net.kwargs.depth", 10**6, "depth"),
    ("learned", "net.kwargs.width", 10**9, "width"),
    ("learned", "net.kwargs", {"width": 4096, "depth": 8}, "weights"),
    ("learned", "net.kwargs.width", "8", "width"),
    ("learned", "net.kwargs.activation", "os.system", "activation"),
    ("learned", "net.kwargs.evil", 1, "evil"),
    ("learned", "net.kwargs.dim", 1, "dim"),
    ("learned", "net.name", "no-such-net", "unknown net"),
    ("learned", "net.name", "conv", "event_shape"),  # a real net, without its image shape
    ("learned", "net", "mlp", "net"),
    ("learned", "net.kwargs.depth", 1, "unknown tensor"),
    ("learned", "net.kwargs.depth", 3, "missing tensor"),
    ("learned", "net.kwargs.width", 16, "shape"),
    ("learned", "settings.train.dtype", "float16", "dtype"),
    ("learned", "settings.train", 3, "settings.train"),
    ("learned", "history", {"loss": ["x"]}, "history"),
    ("learned", "history", [1], "history"),
    ("learned", "snapshot_steps", [1, 2], "snapshot"),
    ("flow", "settings.objective.ode_steps", 10**8, "ODE steps"),
    ("flow", "settings.objective.ode_steps", 0, "ODE steps"),
    ("flow", "settings.objective.solver", "heun", "solver"),
    ("flow", "settings.objective.rtol", -1.0, "rtol"),
    ("flow", "settings.objective", [], "objective"),
    ("flow", "net.kwargs.frequencies", 10**7, "frequencies"),
]


@pytest.mark.parametrize("key,field,value,needle", META_EDITS,
                         ids=[f"{k}-{f}-{i}" for i, (k, f, _, _) in enumerate(META_EDITS)])
def test_hostile_settings_are_refused(originals, tmp_path, key, field, value, needle):
    meta, tensors = originals[key]
    path = _write(tmp_path / "h.safetensors", _edit(meta, field, value), tensors)
    assert needle in _refused(path)


def _scaled(t, name, f):
    return {**t, name: f(t[name])}


def _nan_at(a, idx=(0,)):
    a = a.copy()
    a[idx] = np.nan
    return a


TENSOR_EDITS = [
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: _nan_at(q)), "NaN"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: q[::-1].copy()), "sorted"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: np.zeros_like(q)), "sorted"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: q[:1].copy()), "2 rows"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: q.astype(np.int64)), "dtype"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: q.astype(np.float16)), "dtype"),
    ("quantile", lambda t: _scaled(t, "quantiles", lambda q: q.ravel().copy()), "shape"),
    ("quantile", lambda t: _scaled(t, "upper_tail", lambda u: -np.abs(u) - 1), "scale"),
    ("quantile", lambda t: _scaled(t, "lower_tail", lambda u: u * np.inf), "NaN"),
    ("quantile", lambda t: {k: v for k, v in t.items() if k != "upper_tail"}, "missing"),
    ("quantile", lambda t: {**t, "extra": np.ones(2)}, "unknown tensor"),
    ("copula", lambda t: _scaled(t, "correlation", lambda c: c * 3), "correlation"),
    ("copula", lambda t: _scaled(t, "cholesky", lambda c: c.T.copy()), "cholesky"),
    ("copula", lambda t: _scaled(t, "cholesky", lambda c: -c), "cholesky"),
    ("copula", lambda t: _scaled(t, "cholesky", lambda c: np.ones((9, 9))), "shape"),
    ("parametric", lambda t: {**t, "w": np.ones(3)}, "unknown tensor"),
    ("learned", lambda t: _scaled(t, "codec.0.std", lambda s: s * 0), "positive"),
    ("learned", lambda t: _scaled(t, "codec.0.std", lambda s: -s), "positive"),
    ("learned", lambda t: _scaled(t, "codec.0.mean", lambda s: s[:1].copy()), "shape"),
    ("learned", lambda t: {**t, "codec.1.mean": np.ones(2)}, "unknown tensor"),
    ("copula", lambda t: {**t, "codec.0.values": np.ones(1)}, "unknown tensor"),
    ("learned", lambda t: _scaled(t, "net.0.weight", lambda w: _nan_at(w, (0, 0))), "NaN"),
    ("learned", lambda t: _scaled(t, "net.0.weight", lambda w: np.ones((10**3, 2),
                                                                      np.float32)), "shape"),
    ("learned", lambda t: {k: v for k, v in t.items() if k != "net.0.bias"}, "missing"),
    ("learned", lambda t: {**t, "net.99.weight": np.ones(2, np.float32)}, "unknown tensor"),
    ("learned", lambda t: {**t, "snapshots": np.ones((2, 3, 2))}, "snapshot"),
    ("flow", lambda t: _scaled(t, "codec.0.mean", lambda s: _nan_at(s)), "NaN"),
]


@pytest.mark.parametrize("key,edit,needle", TENSOR_EDITS,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(TENSOR_EDITS)])
def test_hostile_tensors_are_refused(originals, tmp_path, key, edit, needle):
    meta, tensors = originals[key]
    path = _write(tmp_path / "h.safetensors", meta, edit(dict(tensors)))
    assert needle in _refused(path)


def test_hostile_structure_is_refused(originals, tmp_path):
    meta, tensors = originals["quantile"]
    text = json.dumps(meta)
    deep = text[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(st_save(tensors, metadata={"pushforward": deep}))
    assert "nested" in _refused(path)
    shallow = _edit(meta, "info", {"x": json.loads("[" * 40 + "]" * 40)})
    assert "nested" in _refused(_write(tmp_path / "d40.safetensors", shallow, tensors))
    unsigned = _write(tmp_path / "nosum.safetensors", _edit(meta, "checksum", _DELETE), tensors,
                      sign=False)
    assert "checksum" in _refused(unsigned)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    assert "header" in _refused(huge)
    shape = tmp_path / "shape.safetensors"
    header = json.dumps({"w": {"dtype": "F64", "shape": [2**40, 2**40], "data_offsets": [0, 8]},
                         "__metadata__": {"pushforward": json.dumps(meta)}}).encode()
    shape.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    _refused(shape)
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    _refused(folder)


def test_the_cli_prints_one_line_for_a_hostile_file(originals, tmp_path):
    meta, tensors = originals["learned"]
    path = _write(tmp_path / "h.safetensors", _edit(meta, "net.kwargs.depth", 10**6), tensors)
    for args in (["sample", str(path), "-n", "5"], ["evaluate", str(path), "--data", "norm"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and r.stderr.count("\n") == 1, r.output
        assert "Traceback" not in r.output and "depth" in r.stderr
