"""The fitted-map interface shared by every method, and its model file.

Every fitted map is ``codec.decode ∘ core``: the core (a quantile map, a copula, a network...)
maps noise to the encoded tensor, and the codec (:mod:`pushforward.data.codec`) maps it back to
the table: constant columns come back exactly, learned maps' outputs are un-standardised.

A model file is a safetensors file: the tensors are the map's learned state and the codec's
(``codec.*``); the header's metadata holds the settings as JSON (method, settings, noise,
columns, schema, codec, seed, package versions, created). Loading parses JSON and raw tensors
only, so it never executes code.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import _checks, _io
from ._limits import MAX_COLUMNS, MAX_HEADER_BYTES, MAX_NESTING, MAX_ROWS
from ._random import SEED_LIMIT, SeedLike, as_seed
from .data.codec import Codec, Compose, codec_from_state
from .data.noise import Noise, get_noise
from .data.schema import Schema
from .data.table import MAX_CATEGORIES
from .errors import PushforwardError
from .registry import Table

FORMAT = "pushforward-model"
#: 2: a checksum over settings and tensors (``checksum``), checked on load.
#: 3: the schema and the codec (``codec.*`` tensors): every map is codec.decode ∘ core.
FORMAT_VERSION = 3
MODEL_FILE = "model.safetensors"
#: a learned run's checkpoint in the model folder (removed after a successful run unless kept)
CHECKPOINT_FILE = "checkpoint.safetensors"
SETTINGS_FILE = "settings.json"

#: Fitted-map classes by the ``kind`` stored in a model file: a literal table, so loading an
#: exact map imports only its own module (no torch).
MAP_KINDS: Table[type[FittedMap]] = Table("model kind", {
    "inverse-cdf": ("pushforward.exact.inverse_cdf:InverseCDF", "exact inverse CDF of a spec"),
    "parametric": ("pushforward.exact.parametric:Parametric", "a fitted scipy.stats family"),
    "quantile": ("pushforward.exact.quantile:QuantileMap", "empirical quantile map per column"),
    "copula": ("pushforward.exact.copula:GaussianCopula", "Gaussian copula"),
    "gmm": ("pushforward.baselines.gmm:GaussianMixtureMap", "a Gaussian mixture model"),
    "kde": ("pushforward.baselines.kde:KernelDensityMap", "a Gaussian kernel density estimate"),
    "learned": ("pushforward.learned:LearnedMap", "a network trained by the one loop"),
    "flow": ("pushforward.flow_map:FlowMap",
             "the flow map of a learned velocity field (ODE from t = 0 to 1)"),
    "normalizing-flow": ("pushforward.normalizing_flow:NormalizingFlowMap",
                         "a normalizing flow trained by maximum likelihood (exact density)"),
})

#: Kinds whose only method is the kind itself.
EXACT_KINDS = ("inverse-cdf", "parametric", "quantile", "copula", "gmm", "kde")


class FittedMap:
    """A map G from noise to data, fitted by some method.

    Directions follow scikit-learn: :meth:`inverse_transform` is noise → data and
    :meth:`transform` data → noise (where invertible). Both go through the codec:
    ``inverse_transform(z) = codec_.decode(core(z))``; subclasses implement the core,
    ``_inverse`` (noise → encoded data) and optionally ``_transform`` (encoded data → noise),
    and ``_state``/``_from_state`` for the model file.

    Attributes:
        method: the method key that produced the map.
        noise: the noise name (``"uniform"`` or ``"normal"``).
        latent_dim: the noise dimension k.
        dim: the data dimension d.
        core_dim: the dimension of the encoded data the core maps to (d less constant columns,
            plus a one-hot block per categorical column and an indicator per column with gaps).
        columns: the data's column names.
        schema: the kind of each column (None for a map fitted without one).
        codec_: the fitted codec between data and the core's space.
        seed: the seed the map was fitted with (or None).
        settings: the method's settings, JSON-serialisable.
        info: free-form notes (for example why ``method="auto"`` picked this method).
    """

    kind: ClassVar[str] = ""
    pointwise: ClassVar[bool] = True

    method: str
    noise: str
    latent_dim: int
    dim: int
    columns: list[str]
    schema: Schema | None
    codec_: Codec
    seed: int | None
    settings: dict[str, Any]
    info: dict[str, Any]

    #: The constructor's settings, declared (scikit-learn's convention): :meth:`get_params`
    #: reads them, :meth:`set_params` writes them, ``sklearn.base.clone`` builds an unfitted
    #: copy from them. Maps built by a training run rather than a constructor declare none.
    _param_names: ClassVar[tuple[str, ...]] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's settings, by name (``deep`` is accepted for scikit-learn)."""
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params: Any) -> FittedMap:
        """Change constructor settings; an unknown one is an error naming the valid ones."""
        for k, v in params.items():
            if k not in self._param_names:
                raise PushforwardError(f"{type(self).__name__} has no parameter {k!r}; its "
                                       f"parameters: {', '.join(self._param_names) or 'none'}")
            setattr(self, k, v)
        return self

    def _init_map(self, *, method: str, noise: str, latent_dim: int, dim: int,
                  columns: list[str] | None = None, seed: int | None = None,
                  settings: dict[str, Any] | None = None, codec: Codec | None = None,
                  schema: Schema | None = None) -> None:
        """Set the attributes every fitted map has (called by ``fit``).

        Without ``codec`` the codec is the identity on ``dim`` columns.
        """
        get_noise(noise)
        self.method = method
        self.noise = noise
        self.latent_dim = int(latent_dim)
        self.dim = int(dim)
        self.columns = list(columns) if columns is not None else [f"x{i}" for i in range(dim)]
        self.seed = seed
        self.settings = dict(settings or {})
        self.info = getattr(self, "info", {}) or {}
        self.schema = schema
        if codec is None:
            codec = Compose().fit(np.zeros((0, self.dim)))
        self.codec_ = codec

    @property
    def core_dim(self) -> int:
        return self.codec_.out_dim

    #: Rows a learned or mixture map draws to calibrate its decoding (:meth:`calibrate_decoding`).
    CALIBRATION_ROWS = 8192

    def calibrate_decoding(self) -> None:
        """Set the codec's decoding cuts from the map's own outputs: the missing indicators'
        cuts and the categories' argmax offsets, so that decoded missing shares and category
        shares are the training rows' (:meth:`pushforward.data.codec.Compose.calibrate`).
        Maps whose core outputs are smooth call it at the end of ``fit`` (learned maps,
        ``gmm``, ``kde``); exact maps give back 0/1 indicators and training codes as they are.
        """
        if isinstance(self.codec_, Compose) and any(hasattr(p, "calibrate")
                                                    for p in self.codec_.parts):
            seed = np.random.SeedSequence([self.seed or 0, 104_729]).generate_state(1)[0]
            z = self.noise_.sample(self.CALIBRATION_ROWS, self.latent_dim, seed=int(seed))
            self.codec_.calibrate(self._inverse(z))

    # ------------------------------------------------------------------ the map
    @property
    def noise_(self) -> Noise:
        return get_noise(self.noise)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Map noise ``z`` (n, latent_dim) to data (n, dim): ``codec_.decode(core(z))``."""
        return self.codec_.decode(self._inverse(self._check_noise(z)))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map data ``x`` (n, dim) back to noise (n, latent_dim), where the map is invertible."""
        return self._transform(self.codec_.encode(self._check_data(x)))

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        """The core: noise (n, latent_dim) → encoded data (n, core_dim)."""
        raise NotImplementedError(f"{type(self).__name__} has no pointwise transform")

    def _transform(self, y: np.ndarray) -> np.ndarray:
        """The core's inverse: encoded data (n, core_dim) → noise (n, latent_dim)."""
        raise PushforwardError(f"method {self.method!r} gives a map that is not invertible")

    def _check_noise(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if z.ndim == 1 and self.latent_dim == 1:
            z = z[:, None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise PushforwardError(
                f"noise must have shape (n, {self.latent_dim}), got {tuple(z.shape)}"
            )
        return z

    def _check_data(self, x) -> np.ndarray:
        if type(x).__module__.startswith("pandas") and getattr(x, "ndim", 0) == 2:
            from .data import load_source
            from .data.table import align

            # a frame's categories as the map's codes, matched by label; gaps kept as NaN
            x = align(load_source(x, columns=[c for c in self.columns if c in x.columns] or None),
                      self.schema).data
        x = np.asarray(x, dtype=float)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise PushforwardError(f"data must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return x

    # ------------------------------------------------------------------ sampling
    def iter_samples(self, n: int, *, seed: SeedLike = None,
                     chunk_size: int = 65536) -> Iterator[np.ndarray]:
        """Yield ``n`` samples in chunks; the rows for a seed do not depend on ``chunk_size``.

        The arguments are checked now, not at the first chunk; a chunk holding an infinite
        value, or a NaN outside the columns whose missing values the map models, raises a
        :class:`PushforwardError` naming its row instead of being yielded, so no writer ever
        writes one.
        """
        n = check_n(n)
        if (isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer))
                or chunk_size <= 0):
            raise PushforwardError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        s = as_seed(seed)
        return self._finite_chunks(self.noise_.chunks(n, self.latent_dim, s, int(chunk_size)))

    def _finite_chunks(self, noise: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        from .data.codec import Missing

        row = 0
        gaps = np.zeros(self.dim, dtype=bool)  # columns whose missing values the map models
        part = self.codec_.part(Missing) if isinstance(self.codec_, Compose) else None
        gaps[part.columns if part is not None else []] = True
        for z in noise:
            x = self.inverse_transform(z)
            x_ = np.asarray(x, dtype=float)
            bad = np.isinf(x_) | (np.isnan(x_) & ~gaps)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise PushforwardError(
                    f"sample row {row + i + 1}, column {self.columns[j]!r}: the {self.method} "
                    f"map gave {x[i, j]}, beyond float64; nothing was written (is the model's "
                    "data near the float64 limit? rescale it and fit again)")
            row += len(x)
            yield x

    def sample(self, n: int, *, seed: SeedLike = None, chunk_size: int = 65536):
        """Draw ``n`` samples (n, dim) from the map.

        Arguments:
            n: number of samples, positive.
            seed: an int (reproducible), a numpy Generator, or None (fresh entropy).
            chunk_size: rows transformed at a time; does not change the result.

        Returns:
            A float64 array (n, dim); a pandas DataFrame with the same columns, in the same
            order, with the same dtypes when the map was fitted on a DataFrame or on a table
            with categorical (string, boolean) columns (:func:`pushforward.data.table.to_frame`).
        """
        x = self.sample_table(n, seed=seed, chunk_size=chunk_size)
        if self.info.get("frame") or (self.schema is not None and self.schema.labelled):
            from .data.schema import Column, Schema
            from .data.table import to_frame

            schema = self.schema or Schema(tuple(Column(c) for c in self.columns))
            return to_frame(x, schema)
        return x

    def sample_table(self, n: int, *, seed: SeedLike = None,
                     chunk_size: int = 65536) -> np.ndarray:
        """``n`` samples as the float table (n, dim) the map works on: categories as their
        codes (what :meth:`sample` turns into labels), the same rows for the same seed."""
        return np.concatenate(list(self.iter_samples(n, seed=seed, chunk_size=chunk_size)))

    # ------------------------------------------------------------------ files
    def _state(self) -> dict[str, np.ndarray]:
        """The tensors that, with the settings, rebuild the map."""
        return {}

    @classmethod
    def _from_state(cls, meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> FittedMap:
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """The JSON settings written into the model file."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "method": self.method,
            "noise": self.noise,
            "latent_dim": self.latent_dim,
            "dim": self.dim,
            "core_dim": self.core_dim,
            "columns": self.columns,
            "schema": self.schema.to_dict() if self.schema is not None else None,
            "codec": self.codec_.config(),
            "seed": self.seed,
            "settings": self.settings,
            "info": self.info,
            "versions": _versions(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model atomically; returns the model file's path.

        ``path`` ending in ``.safetensors`` is the file itself; any other path is a folder that
        receives ``model.safetensors`` and a readable ``settings.json``. An existing model is
        replaced only with ``overwrite=True``.
        """
        from safetensors.numpy import save as st_save

        path = Path(path)
        file = path if path.suffix == ".safetensors" else path / MODEL_FILE
        if file.exists() and not overwrite:
            raise PushforwardError(f"{file}: a model already exists; pass overwrite=True to "
                                   f"replace it")
        if path.exists() and not path.is_dir() and file is not path:
            raise PushforwardError(f"{path}: exists and is not a model folder")
        state = {**self._state(), **{f"codec.{k}": v for k, v in self.codec_.state_dict().items()}}
        # np.require, not np.ascontiguousarray: the latter turns a 0-d parameter into shape (1,)
        tensors = {k: np.require(v, requirements="C") for k, v in state.items()}
        meta = json.loads(json.dumps(self.metadata()))  # as a reader will see it (str keys)
        meta["checksum"] = _checks.checksum(meta, tensors)
        blob = st_save(tensors, metadata={"pushforward": json.dumps(meta)})
        # one writer per model folder: a second process gets a one-line error, no mixed files
        with _io.folder_lock(path) if file is not path else contextlib.nullcontext():
            _io.write_bytes(file, blob)
            if file is not path:
                _io.write_text(path / SETTINGS_FILE, json.dumps(meta, indent=2) + "\n")
        return file

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(method={self.method!r}, noise={self.noise!r}, "
                f"latent_dim={self.latent_dim}, dim={self.dim})")


def check_n(n) -> int:
    """``n`` as an int if it is a positive integer up to :data:`~pushforward._limits.MAX_ROWS`.

    Example:
        >>> check_n(10**20)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pushforward.errors.PushforwardError: number of samples -n 100000000000000000000 is ...
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise PushforwardError(f"number of samples must be a positive integer, got {n!r}")
    if n > MAX_ROWS:
        raise PushforwardError(f"number of samples -n {n} is above the limit of {MAX_ROWS:.0e} "
                               "rows; draw them in several runs with different --seed")
    return int(n)


def _versions() -> dict[str, str]:
    """Installed versions, read from package metadata: an exact map never imports torch."""
    from importlib import metadata

    from . import __version__

    out = {"pushforward": __version__, "numpy": np.__version__}
    for name in ("scipy", "torch"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def model_file(path: str | os.PathLike) -> Path:
    """The model file for a folder or file path."""
    path = Path(path)
    return path / MODEL_FILE if path.is_dir() else path


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Parse a model file into (metadata, tensors) without executing code.

    The header is bounded (:data:`~pushforward._limits.MAX_HEADER_BYTES`, nesting
    :data:`~pushforward._limits.MAX_NESTING`), the checksum over settings and tensors must match,
    and the fields every model has are checked (kind, method, noise, dimensions, columns, seed).

    Raises:
        PushforwardError: one line: the file is missing, truncated, corrupt, changed since it was
            written, or not a pushforward model.
    """
    file = model_file(path)
    try:
        meta, tensors = _parse(file)
        _check_meta(meta)
    except PushforwardError as e:
        raise PushforwardError(f"{file}: {e}") from None
    except (Exception, RecursionError) as e:  # anything a damaged file provokes
        raise PushforwardError(f"{file}: not a valid model file ({_reason(e)})") from None
    return meta, tensors


def _parse(file: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from safetensors.numpy import load as st_load

    if not file.exists():
        raise PushforwardError("no such model file")
    if not file.is_file():
        raise PushforwardError("not a model file (a folder or a device)")
    try:
        data = file.read_bytes()
    except OSError as e:
        raise PushforwardError(f"cannot read ({e.strerror})") from None
    bad = "not a pushforward model file"
    if len(data) < 8:
        raise PushforwardError(f"{bad} (truncated: {len(data)} bytes)")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > MAX_HEADER_BYTES:
        raise PushforwardError(f"{bad} (header of {hlen:,} bytes, above the limit of "
                               f"{MAX_HEADER_BYTES:,})")
    if hlen > len(data) - 8:
        raise PushforwardError(f"{bad} (truncated or corrupt header)")
    try:
        header = json.loads(data[8 : 8 + hlen])
        meta = json.loads(header["__metadata__"]["pushforward"])
    except RecursionError:
        raise PushforwardError(f"{bad} (settings nested too deeply)") from None
    except (ValueError, KeyError, TypeError):
        raise PushforwardError(f"{bad} (no pushforward settings in its header)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PushforwardError(f"{bad} (foreign format)")
    if _checks.nesting(meta) > MAX_NESTING:
        raise PushforwardError(f"{bad} (settings nested deeper than {MAX_NESTING} levels)")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise PushforwardError(f"model format {version} is newer than this pushforward "
                               f"understands ({FORMAT_VERSION}); upgrade pushforward")
    if isinstance(version, int) and not isinstance(version, bool) and 1 <= version < FORMAT_VERSION:
        raise PushforwardError(f"model format {version} is older than this pushforward reads "
                               f"({FORMAT_VERSION}); fit the model again")
    _checks.integer(version, "format_version", FORMAT_VERSION, FORMAT_VERSION)
    try:
        tensors = st_load(data)
    except Exception as e:  # safetensors raises its own error types for corrupt data
        raise PushforwardError(f"{bad} (corrupt tensors: {_reason(e)})") from None
    if meta.get("checksum") != _checks.checksum(meta, tensors):
        raise PushforwardError("damaged or changed since it was written: its checksum does "
                               "not match its settings and tensors")
    return meta, tensors


def _check_meta(meta: dict[str, Any]) -> None:
    """The fields every model has, checked before any map is built from them."""
    from .data.noise import NOISES

    _checks.string(meta.get("kind"), "kind")
    method = _checks.string(meta.get("method"), "method")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", method):
        raise PushforwardError(f"unknown method {method[:40]!r}: not a method key")
    _checks.string(meta.get("noise"), "noise", NOISES)
    _checks.integer(meta.get("latent_dim"), "latent_dim", 1, MAX_COLUMNS)
    dim = _checks.integer(meta.get("dim"), "dim", 1, MAX_COLUMNS)
    columns = meta.get("columns")
    if (not isinstance(columns, list) or len(columns) != dim
            or not all(isinstance(c, str) for c in columns)):
        raise PushforwardError(f"columns must be a list of {dim} names")
    if meta.get("seed") is not None:
        _checks.integer(meta["seed"], "seed", 0, SEED_LIMIT)
    _checks.mapping(meta.get("settings"), "settings")
    _checks.mapping(meta.get("versions", {}), "versions")
    info = _checks.mapping(meta.get("info", {}), "info")
    if "source" in info:
        _checks.string(info["source"], "info.source")


def _codec_from_file(meta: dict[str, Any], tensors: dict[str, np.ndarray]):
    """The codec and the schema a model file holds, checked against its dimensions."""
    dim = meta["dim"]
    # one-hot blocks and missing indicators widen the encoded data beyond the table's columns
    core = _checks.integer(meta.get("core_dim"), "core_dim", 1, dim * (MAX_CATEGORIES + 1))
    codec: Codec = codec_from_state(_checks.mapping(meta.get("codec"), "codec"),
                                    {k[6:]: v for k, v in tensors.items()
                                     if k.startswith("codec.")})
    if (codec.in_dim, codec.out_dim) != (dim, core):
        raise PushforwardError(f"codec maps {codec.in_dim} → {codec.out_dim} columns; dim and "
                               f"core_dim need {dim} → {core}")
    schema = meta.get("schema")
    if schema is None:
        return codec, None
    schema = Schema.from_dict(_checks.mapping(schema, "schema"))
    if schema.names != meta["columns"]:
        raise PushforwardError("schema must name the model's columns, in order")
    return codec, schema


def _reason(e: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    text = text if len(text) <= 160 else text[:160] + "..."
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def load(path: str | os.PathLike) -> FittedMap:
    """Load a fitted map saved with :meth:`FittedMap.save`; never executes code.

    Every value is checked before it is used (finite, sorted quantiles, positive scales, known
    keys, shapes that agree with the settings, sizes within :mod:`pushforward._limits`); any
    problem is one :class:`PushforwardError` line naming the file.

    Example:
        >>> import tempfile, pushforward
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> p = m.save(tempfile.mkdtemp() + "/m")
        >>> bool((pushforward.load(p).sample(5, seed=1) == m.sample(5, seed=1)).all())
        True
    """
    meta, tensors = read_model_file(path)
    file = model_file(path)
    try:
        cls = MAP_KINDS.get(meta["kind"])
        if cls.kind in EXACT_KINDS and meta["method"] != cls.kind:
            raise PushforwardError(f"unknown method {meta['method']!r} for a {cls.kind} map")
        for name in tensors:  # every map's state is float; snapshots may hold a diverged run
            _checks.array(tensors, name, tensors[name].shape, finite=name != "snapshots")
        codec, schema = _codec_from_file(meta, tensors)
        fitted = cls._from_state(meta, {k: v for k, v in tensors.items()
                                        if not k.startswith("codec.")})
        fitted.codec_, fitted.schema = codec, schema
    except PushforwardError as e:
        raise PushforwardError(f"{file}: invalid model: {e}") from None
    except (Exception, RecursionError) as e:  # anything a hostile file provokes
        raise PushforwardError(f"{file}: invalid model ({_reason(e)})") from None
    fitted.info = meta.get("info", {})
    return fitted
