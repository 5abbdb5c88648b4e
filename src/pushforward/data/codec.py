"""Codecs: the fitted, invertible step between a table and the tensor a core map sees.

Every fitted map is ``codec.decode ∘ core``: the core (a quantile map, a copula, a network, a
flow) works on ``codec.encode(table)`` and its outputs go back through ``codec.decode``. A codec
is fitted once on training data, saved with the model (``config()`` is JSON, ``state_dict()``
arrays) and rebuilt by :func:`codec_from_state`. Parts compose with :class:`Compose`:

- :class:`Constant` drops the columns that hold one value and writes that value back on
  decode, so a constant column (a blank border pixel, an always-"yes" flag) passes through any
  map exactly;
- :class:`Standardize` is the one per-column scaler (mean 0, standard deviation 1) of learned
  maps, which train in standardised units.

Room is kept for ``OneHot`` (categorical columns) and ``PixelScale`` (one global pixel scale).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import _checks
from .._limits import MAX_COLUMNS
from ..errors import PushforwardError
from .schema import Schema

#: Parts a composed codec may have (a model file asking for more is refused).
MAX_PARTS = 16


class Codec:
    """A fitted map between tables (n, ``in_dim``) and encoded tensors (n, ``out_dim``)."""

    name: ClassVar[str] = ""
    in_dim: int
    out_dim: int

    def fit(self, x: np.ndarray) -> Codec:
        """Learn the codec's state from training rows ``x``; returns ``self``."""
        raise NotImplementedError

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Table rows (n, in_dim) → encoded rows (n, out_dim)."""
        raise NotImplementedError

    def decode(self, y: np.ndarray) -> np.ndarray:
        """Encoded rows (n, out_dim) → table rows (n, in_dim)."""
        raise NotImplementedError

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        """The derivative of :meth:`decode` applied to directions ``v`` (e.g. a velocity)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """JSON settings that, with :meth:`state_dict`, rebuild the codec."""
        return {"name": self.name, "in_dim": self.in_dim}

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted arrays."""
        return {}

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, np.ndarray]) -> Codec:
        raise NotImplementedError


class Standardize(Codec):
    """Per-column standardisation: y = (x − mean)/std, x = y·std + mean.

    A column with standard deviation 0 gets std 1 (it is only shifted).

    Example:
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> c = Standardize().fit(x)
        >>> c.encode(x).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
        >>> bool(np.allclose(c.decode(c.encode(x)), x))
        True
    """

    name = "standardize"

    def fit(self, x: np.ndarray) -> Standardize:
        x = np.asarray(x, dtype=np.float64)
        std = x.std(axis=0)
        self._set(x.mean(axis=0), np.where(std > 0, std, 1.0))
        return self

    def _set(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.std_ = np.asarray(std, dtype=np.float64)
        self.in_dim = self.out_dim = len(self.mean_)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.std_

    def decode(self, y: np.ndarray) -> np.ndarray:
        return y * self.std_ + self.mean_

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        return v * self.std_

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_, "std": self.std_}

    @classmethod
    def from_state(cls, config, state) -> Standardize:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        _checks.tensor_keys(state, ("mean", "std"))
        std = _checks.array(state, "std", (d,))
        if not (std > 0).all():
            raise PushforwardError("codec tensor 'std' must be positive")
        c = cls()
        c._set(_checks.array(state, "mean", (d,)), std)
        return c


class Constant(Codec):
    """Drops the constant columns ``columns`` on encode and writes their values back on decode.

    Arguments:
        columns: positions of the constant columns in the table.

    Example:
        >>> x = np.array([[0.0, 1.0, 7.0], [0.0, 2.0, 7.0]])
        >>> c = Constant([0, 2]).fit(x)
        >>> c.encode(x).tolist()
        [[1.0], [2.0]]
        >>> c.decode(np.array([[5.0]])).tolist()
        [[0.0, 5.0, 7.0]]
    """

    name = "constant"

    def __init__(self, columns: list[int] | tuple[int, ...] = ()):
        self.columns = [int(j) for j in columns]

    def fit(self, x: np.ndarray) -> Constant:
        x = np.asarray(x, dtype=np.float64)
        self._set(x.shape[1], x[0, self.columns] if len(x) else np.zeros(len(self.columns)))
        return self

    def _set(self, in_dim: int, values: np.ndarray) -> None:
        self.in_dim = int(in_dim)
        self.values_ = np.asarray(values, dtype=np.float64)
        self.keep_ = np.setdiff1d(np.arange(self.in_dim), self.columns)
        self.out_dim = len(self.keep_)

    def encode(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)[:, self.keep_]

    def decode(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        out = np.empty((len(y), self.in_dim), dtype=np.result_type(y, np.float64))
        out[:, self.keep_] = y
        out[:, self.columns] = self.values_
        return out

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        out = np.zeros((len(v), self.in_dim), dtype=np.result_type(v, np.float64))
        out[:, self.keep_] = v
        return out

    def config(self) -> dict[str, Any]:
        return {**super().config(), "columns": self.columns}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"values": self.values_}

    @classmethod
    def from_state(cls, config, state) -> Constant:
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        columns = config.get("columns")
        if not isinstance(columns, list) or len(set(map(str, columns))) != len(columns):
            raise PushforwardError("codec.columns must list distinct column positions")
        columns = [_checks.integer(j, "codec.columns", 0, d - 1) for j in columns]
        _checks.tensor_keys(state, ("values",))
        c = cls(columns)
        c._set(d, _checks.array(state, "values", (len(columns),)))
        return c


class Compose(Codec):
    """Parts applied in order on encode and in reverse order on decode (none: the identity).

    Example:
        >>> x = np.array([[0.0, 1.0], [0.0, 3.0]])
        >>> c = Compose([Constant([0]), Standardize()]).fit(x)
        >>> c.encode(x).tolist(), c.out_dim
        ([[-1.0], [1.0]], 1)
        >>> c.decode(c.encode(x)).tolist()
        [[0.0, 1.0], [0.0, 3.0]]
    """

    name = "compose"

    def __init__(self, parts: list[Codec] | tuple[Codec, ...] = ()):
        self.parts = list(parts)

    def fit(self, x: np.ndarray) -> Compose:
        x = np.asarray(x, dtype=np.float64)
        self.in_dim = x.shape[1]
        for part in self.parts:
            x = part.fit(x).encode(x)
        self.out_dim = x.shape[1]
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        for part in self.parts:
            x = part.encode(x)
        return x

    def decode(self, y: np.ndarray) -> np.ndarray:
        for part in reversed(self.parts):
            y = part.decode(y)
        return y

    def decode_tangent(self, v: np.ndarray) -> np.ndarray:
        for part in reversed(self.parts):
            v = part.decode_tangent(v)
        return v

    def part(self, cls: type[Codec]) -> Codec | None:
        """The first part of type ``cls``, or None."""
        return next((p for p in self.parts if isinstance(p, cls)), None)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "out_dim": self.out_dim,
                "parts": [p.config() for p in self.parts]}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {f"{i}.{k}": v for i, p in enumerate(self.parts) for k, v in p.state_dict().items()}

    @classmethod
    def from_state(cls, config, state) -> Compose:
        configs = config.get("parts")
        if not isinstance(configs, list) or len(configs) > MAX_PARTS:
            raise PushforwardError(f"codec.parts must be a list of at most {MAX_PARTS} codecs")
        known = {f"{i}.{k}" for i in range(len(configs)) for k in ("mean", "std", "values")}
        _checks.tensor_keys(state, (), known)
        parts = [codec_from_state(_checks.mapping(c, "codec part"),
                                  {k[len(f"{i}."):]: v for k, v in state.items()
                                   if k.startswith(f"{i}.")})
                 for i, c in enumerate(configs)]
        d = _checks.integer(config.get("in_dim"), "codec.in_dim", 1, MAX_COLUMNS)
        c = cls(parts)
        c.in_dim, c.out_dim = d, d
        for p in parts:  # each part takes what the one before it gives
            if p.in_dim != c.out_dim:
                raise PushforwardError(f"codec part {p.name!r} takes {p.in_dim} columns, "
                                       f"gets {c.out_dim}")
            c.out_dim = p.out_dim
        if config.get("out_dim") != c.out_dim:
            raise PushforwardError(f"codec.out_dim must be {c.out_dim}")
        return c


#: Codec parts by the name in their config.
CODECS: dict[str, type[Codec]] = {"standardize": Standardize, "constant": Constant,
                                  "compose": Compose}


def codec_from_state(config: dict[str, Any], state: dict[str, np.ndarray]) -> Codec:
    """Rebuild a codec from its :meth:`~Codec.config` and :meth:`~Codec.state_dict`."""
    name = config.get("name") if isinstance(config, dict) else None
    if name not in CODECS:
        raise PushforwardError(f"unknown codec {str(name)[:40]!r}; valid: {', '.join(CODECS)}")
    return CODECS[name].from_state(config, state)


def build_codec(schema: Schema, x: np.ndarray, *, standardize: bool) -> Compose:
    """The codec of ``schema`` fitted on training rows ``x``.

    Constant columns are dropped (and restored on decode); with ``standardize`` the others are
    standardised (learned maps); exact maps, which are equivariant to each column's scale, keep
    data units.

    Raises:
        PushforwardError: a categorical column (no method models categories yet), or every
            column constant (nothing to model).

    Example:
        >>> from pushforward.data.schema import infer_schema
        >>> x = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0]])
        >>> build_codec(infer_schema(x), x, standardize=True).encode(x).ravel().round(3).tolist()
        [-1.225, 1.225, 0.0]
    """
    cat = schema.indices("categorical")
    if cat:
        raise PushforwardError(f"column {schema.names[cat[0]]!r} is categorical: no method "
                               "models categorical columns yet; drop it (--columns) or leave it "
                               "numeric")
    schema.check_modelled()
    parts: list[Codec] = []
    if schema.indices("constant"):
        parts.append(Constant(schema.indices("constant")))
    if standardize:
        parts.append(Standardize())
    return Compose(parts).fit(x)
