"""The fitted-map interface shared by every method, and its model file.

A model file is a safetensors file: the tensors are the map's learned state and the header's
metadata holds the settings as JSON (method, settings, noise, columns, scaler, seed, package
versions, created). Loading parses JSON and raw tensors only, so it never executes code.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import _io
from ._random import SeedLike, as_seed
from .data.noise import Noise, get_noise
from .errors import PushforwardError
from .registry import Table

FORMAT = "pushforward-model"
FORMAT_VERSION = 1
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
})


class FittedMap:
    """A map G from noise to data, fitted by some method.

    Directions follow scikit-learn: subclasses implement :meth:`inverse_transform` (noise → data),
    optionally :meth:`transform`
    (data → noise), and ``_state``/``_from_state`` for the model file.

    Attributes:
        method: the method key that produced the map.
        noise: the noise name (``"uniform"`` or ``"normal"``).
        latent_dim: the noise dimension k.
        dim: the data dimension d.
        columns: the data's column names.
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
    seed: int | None
    settings: dict[str, Any]
    info: dict[str, Any]

    def _init_map(self, *, method: str, noise: str, latent_dim: int, dim: int,
                  columns: list[str] | None = None, seed: int | None = None,
                  settings: dict[str, Any] | None = None) -> None:
        """Set the attributes every fitted map has (called by ``fit``)."""
        get_noise(noise)
        self.method = method
        self.noise = noise
        self.latent_dim = int(latent_dim)
        self.dim = int(dim)
        self.columns = list(columns) if columns is not None else [f"x{i}" for i in range(dim)]
        self.seed = seed
        self.settings = dict(settings or {})
        self.info = getattr(self, "info", {}) or {}

    # ------------------------------------------------------------------ the map
    @property
    def noise_(self) -> Noise:
        return get_noise(self.noise)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Map noise ``z`` (n, latent_dim) to data (n, dim)."""
        raise NotImplementedError(f"{type(self).__name__} has no pointwise transform")

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map data ``x`` (n, dim) back to noise (n, latent_dim), where the map is invertible."""
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
        x = np.asarray(x, dtype=float)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise PushforwardError(f"data must have shape (n, {self.dim}), got {tuple(x.shape)}")
        return x

    # ------------------------------------------------------------------ sampling
    def iter_samples(self, n: int, *, seed: SeedLike = None,
                     chunk_size: int = 65536) -> Iterator[np.ndarray]:
        """Yield ``n`` samples in chunks; the rows for a seed do not depend on ``chunk_size``."""
        n = check_n(n)
        if chunk_size <= 0:
            raise PushforwardError(f"chunk_size must be positive, got {chunk_size}")
        s = as_seed(seed)
        for z in self.noise_.chunks(n, self.latent_dim, s, chunk_size):
            yield self.inverse_transform(z)

    def sample(self, n: int, *, seed: SeedLike = None, chunk_size: int = 65536):
        """Draw ``n`` samples (n, dim) from the map.

        Arguments:
            n: number of samples, positive.
            seed: an int (reproducible), a numpy Generator, or None (fresh entropy).
            chunk_size: rows transformed at a time; does not change the result.

        Returns:
            A float64 array (n, dim); a pandas DataFrame with the same columns when the map was
            fitted on a DataFrame.
        """
        x = np.concatenate(list(self.iter_samples(n, seed=seed, chunk_size=chunk_size)))
        if self.info.get("frame"):
            import pandas as pd

            return pd.DataFrame(x, columns=self.columns)
        return x

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
            "columns": self.columns,
            "seed": self.seed,
            "settings": self.settings,
            "info": self.info,
            "versions": _versions(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
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
        meta = self.metadata()
        tensors = {k: np.ascontiguousarray(v) for k, v in self._state().items()}
        blob = st_save(tensors, metadata={"pushforward": json.dumps(meta)})
        _io.write_bytes(file, blob)
        if file is not path:
            _io.write_text(path / SETTINGS_FILE, json.dumps(meta, indent=2) + "\n")
        return file

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(method={self.method!r}, noise={self.noise!r}, "
                f"latent_dim={self.latent_dim}, dim={self.dim})")


def check_n(n) -> int:
    """``n`` as an int if it is a positive integer, else a one-line error."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise PushforwardError(f"number of samples must be a positive integer, got {n!r}")
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

    Raises:
        PushforwardError: the file is missing, truncated, corrupt or not a pushforward model.
    """
    from safetensors.numpy import load as st_load

    file = model_file(path)
    if not file.exists():
        raise PushforwardError(f"{file}: no such model file")
    data = file.read_bytes()
    bad = f"{file}: not a pushforward model file"
    if len(data) < 8:
        raise PushforwardError(f"{bad} (truncated: {len(data)} bytes)")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > len(data) - 8:
        raise PushforwardError(f"{bad} (truncated or corrupt header)")
    try:
        header = json.loads(data[8 : 8 + hlen])
        meta = json.loads(header["__metadata__"]["pushforward"])
    except (ValueError, KeyError, TypeError):
        raise PushforwardError(f"{bad} (no pushforward settings in its header)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PushforwardError(f"{bad} (foreign format)")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise PushforwardError(
            f"{file}: model format {meta['format_version']} is newer than this pushforward "
            f"understands ({FORMAT_VERSION}); upgrade pushforward"
        )
    try:
        tensors = st_load(data)
    except Exception as e:  # safetensors raises its own error types for corrupt data
        raise PushforwardError(f"{bad} (corrupt tensors: {e})") from None
    return meta, tensors


def load(path: str | os.PathLike) -> FittedMap:
    """Load a fitted map saved with :meth:`FittedMap.save`; never executes code.

    Example:
        >>> import tempfile, pushforward
        >>> m = pushforward.fit("norm", method="inverse-cdf", noise="uniform", seed=0)
        >>> p = m.save(tempfile.mkdtemp() + "/m")
        >>> bool((pushforward.load(p).sample(5, seed=1) == m.sample(5, seed=1)).all())
        True
    """
    meta, tensors = read_model_file(path)
    cls = MAP_KINDS.get(meta.get("kind"))
    try:
        fitted = cls._from_state(meta, tensors)
    except (KeyError, ValueError, TypeError) as e:
        if isinstance(e, PushforwardError):
            raise
        raise PushforwardError(f"{model_file(path)}: incomplete model file ({e})") from None
    fitted.info = meta.get("info", {})
    return fitted
