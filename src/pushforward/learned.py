"""Learned maps: a network G trained by the one loop, and the settings of a run.

Data go through the map's codec (:func:`~pushforward.data.codec.build_codec`, fitted on the
training rows): constant columns are set aside and the others standardised (per-column mean and
standard deviation), so the network trains in standardised space at any scale and outputs are
decoded back. The fit's held-out rows (:mod:`pushforward.data.split`) validate: early stopping
and the validation curve.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from . import _checks
from ._limits import (
    MAX_BATCH,
    MAX_DEPTH,
    MAX_SECONDS,
    MAX_STEPS,
    MAX_THREADS,
    MAX_WIDTH,
    check_net_size,
)
from ._random import SeedLike
from .data.codec import Codec, Compose, build_codec
from .data.noise import get_noise
from .data.rows import PoolBatches, on_disk, random_access, release, sample_rows, take
from .data.schema import Schema, infer_schema
from .data.source import Source
from .data.split import split_source
from .errors import PushforwardError
from .model import MAP_KINDS, FittedMap
from .objectives import Objective
from .train import CHECKPOINT, COPY_REFERENCE_ROWS, History, LoopSettings, train
from .train.precision import PRECISIONS

DEFAULT_TIME_BUDGET = 60.0
DEFAULT_LR = 2e-3  # a network may name its own (``default_lr``), e.g. the monotone net
CODEC_ROWS = 1_000_000  # rows of a memory-mapped file that fit its standardisation
#: the batch of a convolutional net unless the run names one: on digits (one CPU thread) flow
#: matching with a U-Net took 12 steps/s at 128 rows and reached C2ST 0.61 in 120 s
IMAGE_BATCH = 128


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; ``--config run.toml`` fills it, flags override it.

    Attributes:
        net: network key (``pushforward list``); ``auto`` is ``monotone`` for 1-D → 1-D maps,
            for images (a schema with an ``event_shape``) the objective's convolutional net
            (``conv``; ``unet`` for flow matching), and ``mlp`` otherwise.
        width, depth, activation: network size and non-linearity (None: the network's own
            defaults, see ``pushforward list``; the model file records the values used).
        dropout: share of a U-Net's inner features dropped at each training step, against
            memorising a small training set (None: the objective's default for its image net,
            else 0; only nets with that option take it).
        lr: Adam's learning rate, cosine-decayed over the budget to 5 % (0.5 % for ``sliced-js``
            on 2-D data, whose rate is 10× higher) (None: 1e-2 for the
            ``monotone`` net, whose few parameters move far, else the objective's own (5e-3 for
            ``sliced-js`` and ``sliced-kl``, 2e-2 for ``sliced-js`` on 2-D data, 5e-3 for
            ``vae`` on flat rows of at most 2 columns) or 2e-3).
        batch_size: noise and target samples per step (None: the objective's default, from
            16384 for 1-D histogram losses down to 512 for Sinkhorn).
        steps, time_budget: budgets; the first reached ends training. With neither, the budget is
            ``DEFAULT_TIME_BUDGET`` (60) seconds. Given to :func:`pushforward.fit`,
            ``time_budget`` is the whole fit's wall clock: training ends by a deadline that
            leaves time for the closing check (:func:`pushforward.api.fit_deadline`).
        holdout: share of a finite data set kept out of training (validation and the closing
            check; :mod:`pushforward.data.split`).
        eval_every, patience: validation cadence (steps) and early-stopping patience (checks;
            training stops early only in the second half of its budget, see
            :mod:`pushforward.train`).
        ema: decay of the exponential moving average of the weights used for sampling.
        copy_guard: on images from a finite data set, the copy ratio below which a validation
            check's samples count as copies of training images (:func:`pushforward.train.
            copy_ratio`: the median distance of 1,024 fresh samples, 128 a check over the last
            8 checks, to their nearest training image over the training images' own; ≈ 1 for
            new images). Such checks are never kept as the best, a run whose final weights
            copy ends with the weights of the last check that did not (the oldest of its
            pool), and three copying checks in a row (second half of the budget) stop
            training. 0: off. Default 0.94: the issue's DCR bar of 0.9 is measured against
            other images (a test set's distance to the training images, which on digits' split
            is 2 % above the training images' own) on 539 samples (±1 %); on digits at 600 s
            without dropout, 0.92 ended seed 1 at a DCR ratio of 0.897 and 0.94 at 0.923
            (docs/benchmarks.md).
        checkpoint_every: seconds between checkpoints.
        threads: torch CPU threads (None: torch's default, or 1 when the machine's load
            average already fills every core: :func:`saturated`).
        device: ``cpu``, ``cuda`` or ``auto`` (the default: CUDA when torch sees a GPU, else
            the CPU). Data, noise and batches are made on the device; nothing per step is
            copied from the host.
        dtype: ``float32`` or ``float64``.
        precision: ``fp32`` (the default) or ``bf16``: mixed precision, the networks' forward
            passes in bfloat16 under autocast and every loss in float32
            (:mod:`pushforward.train.precision`; ``nsf`` keeps float32). Weights, checkpoints
            and the model file stay float32. It needs ``dtype`` float32.
        objective_options: keyword options of the objective: a loss's (``bins``,
            ``n_projections``...) or a critic's (``n_critic``...).
    """

    net: str = "auto"
    width: int | None = None
    depth: int | None = None
    activation: str | None = None
    dropout: float | None = None
    lr: float | None = None
    batch_size: int | None = None
    steps: int | None = None
    time_budget: float | None = None
    holdout: float = 0.1
    eval_every: int = 100
    patience: int = 30
    ema: float = 0.995
    copy_guard: float = 0.94
    checkpoint_every: float = 30.0
    threads: int | None = None
    device: str = "auto"
    dtype: str = "float32"
    precision: str = "fp32"
    objective_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TrainConfig:
        """Read the ``[train]`` table (or the top level) of a TOML file."""
        try:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        except FileNotFoundError:
            raise PushforwardError(f"{path}: no such config file") from None
        except IsADirectoryError:
            raise PushforwardError(f"{path}: is a folder, not a config file") from None
        except OSError as e:
            raise PushforwardError(f"{path}: cannot read ({e.strerror})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise PushforwardError(f"{path}: not valid TOML ({reason})") from None
        table = raw.get("train", raw)
        if not isinstance(table, dict):
            raise PushforwardError(f"{path}: [train] must be a table, got {table!r}")
        try:
            return cls().replace(**table)
        except PushforwardError as e:
            raise PushforwardError(f"{path}: {e}") from None

    def replace(self, **overrides: Any) -> TrainConfig:
        """A copy with ``overrides``; unknown names give an error listing the valid ones."""
        names = {f.name for f in dataclasses.fields(self)}
        for k in overrides:
            if k not in names:
                raise PushforwardError(
                    f"unknown training setting {k!r}; valid: {', '.join(sorted(names))}"
                )
        cfg = dataclasses.replace(self, **overrides)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Every setting's type and range, within what a run may ask for (one line each)."""
        from .nets import ACTIVATIONS

        for name, top in (("batch_size", MAX_BATCH), ("eval_every", MAX_STEPS),
                          ("patience", MAX_STEPS), ("steps", MAX_STEPS),
                          ("threads", MAX_THREADS)):
            if getattr(self, name) is not None:
                _checks.integer(getattr(self, name), name, 1, top)
        for name in ("width", "depth"):
            if getattr(self, name) is not None:
                _checks.integer(getattr(self, name), name, 1 if name == "width" else 0,
                                MAX_WIDTH if name == "width" else MAX_DEPTH)
        check_net_size(self.width or 1, self.depth or 1)
        if self.time_budget is not None:
            _checks.real(self.time_budget, "time_budget", 0, MAX_SECONDS, strict_lo=True)
        _checks.real(self.holdout, "holdout", 0, 0.99)
        if self.lr is not None:
            _checks.real(self.lr, "lr", 0, 10, strict_lo=True)
        _checks.real(self.ema, "ema", 0, 0.999999)
        _checks.real(self.copy_guard, "copy_guard", 0, 1)
        if self.dropout is not None:
            _checks.real(self.dropout, "dropout", 0, 0.9)
        if not (isinstance(self.checkpoint_every, (int, float)) and self.checkpoint_every >= 0):
            raise PushforwardError("checkpoint_every must be seconds >= 0 (inf: only after the "
                                   f"first validation and at the end), got "
                                   f"{self.checkpoint_every!r}")
        _checks.string(self.net, "net")
        if self.activation is not None:
            _checks.string(self.activation, "activation", ACTIVATIONS)
        _checks.string(self.device, "device", ("cpu", "cuda", "auto"))
        _checks.string(self.dtype, "dtype", ("float32", "float64"))
        _checks.string(self.precision, "precision", PRECISIONS)
        if self.precision != "fp32" and self.dtype != "float32":
            raise PushforwardError(f"precision {self.precision!r} mixes bfloat16 into float32 "
                                   f"training; it needs dtype 'float32', got {self.dtype!r}")
        _checks.mapping(self.objective_options, "objective_options")

    def net_name(self, latent_dim: int, dim: int, objective: Objective | None = None,
                 event_shape: tuple[int, ...] | None = None) -> str:
        """The run's network key: ``net``, or what ``auto`` picks for the data and objective."""
        if self.net != "auto":
            return self.net
        if event_shape is not None and objective is not None and objective.image_net:
            return objective.image_net
        if objective is not None and objective.default_net:
            return objective.default_net
        return "monotone" if latent_dim == dim == 1 else "mlp"

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise PushforwardError("device 'cuda' asked for, but torch sees no CUDA GPU")
        return torch.device(self.device)


def build_net(name: str, latent_dim: int, dim: int, cfg: TrainConfig,
              noise: str, defaults: dict | None = None,
              event_shape: tuple[int, ...] | None = None) -> tuple[nn.Module, dict]:
    """The network ``name`` with the run's size; returns (module, JSON spec to rebuild it).

    ``defaults`` (an objective's ``net_options``) fill the options the run leaves unset, and the
    network's own defaults the rest. The spec names every option with the value used (width,
    depth, activation...), so a model file says what its net is without this version's defaults;
    an image network's spec holds the ``event_shape`` it folds rows into, so a loaded model
    rebuilds without its data.
    """
    import inspect

    from .nets import NETS

    cls = NETS.get(name)
    signature = inspect.signature(cls)
    params = signature.parameters
    kwargs = {k: v for k, v in (defaults or {}).items() if k in params}
    kwargs.update({k: getattr(cfg, k) for k in ("width", "depth", "activation")
                   if k in params and getattr(cfg, k) is not None})
    if getattr(cfg, "dropout", None) is not None:
        if "dropout" not in params:
            raise PushforwardError(f"dropout: net {name!r} has none (the U-Nets have)")
        kwargs["dropout"] = float(cfg.dropout)
    if "noise" in params:
        kwargs["noise"] = noise
    if "event_shape" in params:
        if event_shape is None:
            raise PushforwardError(f"net {name!r} is for images: the data have no event shape "
                                   "(C, H, W); use --net mlp")
        kwargs["event_shape"] = [int(s) for s in event_shape]
    bound = signature.bind(latent_dim, dim, **kwargs)
    bound.apply_defaults()
    kwargs = {k: v for k, v in bound.arguments.items() if k not in ("latent_dim", "dim")}
    # evaluation mode (no dropout): the training loop switches its own generator to training
    return cls(latent_dim, dim, **kwargs).eval(), {"name": name, "kwargs": kwargs}


def image_event(event_shape: tuple[int, ...] | None, dim: int) -> tuple[int, int, int] | None:
    """(C, H, W) when the ``dim`` encoded columns are every pixel of an image, else None.

    A codec that sets pixels aside (a table codec dropping constant columns) leaves rows that
    no longer fold into the image: those train on flat networks.

    Example:
        >>> image_event((1, 8, 8), 64), image_event((1, 8, 8), 61), image_event((8, 8), 64)
        ((1, 8, 8), None, (1, 8, 8))
    """
    if not event_shape:
        return None
    shape = tuple(int(s) for s in event_shape)
    shape = (1, *shape) if len(shape) == 2 else shape
    return shape if len(shape) == 3 and int(np.prod(shape)) == dim else None


def _net_defaults(name: str, objective: Objective) -> dict[str, Any]:
    from .nets import IMAGE_NETS

    return objective.image_net_options if name in IMAGE_NETS else objective.net_options


def resolve_schedule(config: TrainConfig, net: nn.Module, objective: Objective,
                     dim: int) -> tuple[float, float, int]:
    """The run's learning rate, the fraction its cosine ends at, and its batch size.

    The rate is the run's, else the network's (``default_lr``), else the objective's for
    d-dimensional data, else :data:`DEFAULT_LR`; the batch is the run's, else the objective's
    (at most :data:`IMAGE_BATCH` for an image network).
    """
    lr = (config.lr or getattr(net, "default_lr", None) or objective.learning_rate(dim)
          or DEFAULT_LR)
    batch = objective.batch_size(dim)
    if getattr(net, "event_shape", None) is not None:  # an image net: convolutions cost more
        batch = min(batch, IMAGE_BATCH)
    return lr, objective.lr_end(dim), config.batch_size or batch


class LearnedMap(FittedMap):
    """A network G from noise to the encoded (standardised) data, then decoded by the codec.

    ``inverse_transform(z) = codec_.decode(G(z))`` (or the objective's push, e.g. an ODE flow).
    """

    kind: ClassVar[str] = "learned"

    def __init__(self, net: nn.Module, net_spec: dict):
        self.net = net.eval()
        self.net_spec = net_spec
        self.history: dict[str, list] = {}
        self.snapshots_: np.ndarray | None = None  # (k, m, d) samples during training
        self.snapshot_steps_: list[int] = []
        self.critic_: nn.Module | None = None  # an adversarial critic, in standardised units
        self.critic_spec: dict[str, Any] | None = None

    @property
    def _param(self) -> torch.Tensor:
        return next(self.net.parameters())

    def _push(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        p = self._param
        out = []
        with torch.no_grad():
            for i in range(0, len(z), 65536):
                zt = torch.as_tensor(z[i : i + 65536], dtype=p.dtype, device=p.device)
                out.append(self._push(zt).double().cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, self.core_dim))

    def _transform(self, x: np.ndarray) -> np.ndarray:
        """Encoded data → noise, for the monotone 1-D network (bisection on the increasing map)."""
        if self.net_spec.get("name") != "monotone":
            return super()._transform(x)
        noise = self.noise_
        lo = np.full(len(x), noise.ppf(1e-12) if self.noise == "normal" else 0.0)
        hi = np.full(len(x), noise.ppf(1 - 1e-12) if self.noise == "normal" else 1.0)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            above = self._inverse(mid[:, None])[:, 0] > x[:, 0]
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        return (0.5 * (lo + hi))[:, None]

    def _log_prob_through_codec(self, x: np.ndarray, core_log_prob) -> np.ndarray:
        """log p(x) in data units from ``core_log_prob(encoded rows)``, the core's log-density.

        The codec's scaling has Jacobian diag(1/std), so Σⱼ log stdⱼ is subtracted
        (``codec_.log_scale()``); a constant column or pinned pixel is a point mass, left out
        of the density (−∞ where a row differs from it).
        """
        x = self._check_data(x)
        out = np.asarray(core_log_prob(self.codec_.encode(x)), dtype=np.float64)
        out = out - self.codec_.log_scale()
        if isinstance(self.codec_, Compose):
            out[self.codec_.off_constants(x)] = -np.inf
        return out

    def _state(self) -> dict[str, np.ndarray]:
        st = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}
        if self.snapshots_ is not None:
            st["snapshots"] = self.snapshots_
        if self.critic_ is not None:  # so plots of a loaded adversarial model can draw it
            st.update({f"critic.{k}": v.detach().cpu().numpy()
                       for k, v in self.critic_.state_dict().items()})
        return st

    def metadata(self) -> dict[str, Any]:
        meta = super().metadata()
        meta["net"] = self.net_spec
        meta["history"] = self.history
        meta["snapshot_steps"] = self.snapshot_steps_
        if self.critic_spec is not None:
            meta["critic"] = self.critic_spec
        return meta

    @classmethod
    def _from_state(cls, meta, tensors) -> LearnedMap:
        net, spec = _net_from_file(meta, tensors)
        d = meta["dim"]
        snaps = tensors.get("snapshots")
        m = cls(net, spec)
        m._init_map(method=meta["method"], noise=meta["noise"], latent_dim=meta["latent_dim"],
                    dim=d, columns=meta["columns"], seed=meta["seed"],
                    settings=meta["settings"])
        m.history = _checked_history(meta.get("history", {}))
        steps = meta.get("snapshot_steps", [])
        if snaps is not None:
            _checks.array(tensors, "snapshots", (len(steps), None, d), finite=False)
        if not isinstance(steps, list) or (snaps is None and steps):
            raise PushforwardError("snapshot_steps must list the step of each snapshot")
        m.snapshots_ = snaps
        m.snapshot_steps_ = [_checks.integer(k, "snapshot_steps", 0, MAX_STEPS) for k in steps]
        m.critic_, m.critic_spec = _critic_from_file(meta, tensors, next(net.parameters()).dtype)
        return m


def _net_from_file(meta: dict[str, Any], tensors: dict[str, np.ndarray]) -> tuple[nn.Module, dict]:
    """The network a model file describes, its size within the limits, its weights checked."""
    spec = _checks.mapping(meta.get("net"), "net")
    cls, kwargs = _net_options(spec, "net")
    train_settings = _checks.mapping(meta["settings"].get("train", {}), "settings.train")
    dtype = _checks.string(train_settings.get("dtype", "float32"), "settings.train.dtype",
                           ("float32", "float64"))
    net = cls(meta["latent_dim"], meta["core_dim"], **kwargs).eval()
    own = {k: 0 for k in tensors if not k.startswith("critic.")}  # the critic's: its own check
    _checks.tensor_keys(own, [f"net.{k}" for k in net.state_dict()], ("snapshots",))
    sd = {}
    for k, v in net.state_dict().items():
        t = _checks.array(tensors, f"net.{k}", tuple(v.shape))
        sd[k] = torch.from_numpy(t.copy())
    net.load_state_dict(sd)
    return net.to(getattr(torch, dtype)), spec


def _checked_history(history: Any) -> dict[str, list]:
    """The loss curves of a model file: lists of numbers (NaN allowed: a diverged step)."""
    history = _checks.mapping(history, "history")
    for k, v in history.items():
        if not isinstance(v, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            raise PushforwardError(f"history.{k} must be a list of numbers")
    return history
def _validation_rows(source: Source, seed: int) -> np.ndarray:
    """Validation rows when none are held out: 2,000 fresh draws, or a subsample of the data."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    if source.data is None:
        return source.draw(2000, seed=rng)
    data = source.data
    return data[rng.choice(len(data), size=min(len(data), 2000), replace=False)]


def _net_options(spec: dict[str, Any], field: str):
    """The registry class a model file's network spec names, and its options, checked."""
    import inspect

    from .nets import NETS

    cls = NETS.get(spec.get("name"))
    kwargs = _checks.mapping(spec.get("kwargs", {}), f"{field}.kwargs")
    params = inspect.signature(cls).parameters
    for k in kwargs:
        if k in ("latent_dim", "dim") or params.get(k, None) is None or (
                params[k].kind is not params[k].KEYWORD_ONLY):
            raise PushforwardError(f"{field} {spec['name']!r} has no option {k!r}")
    return cls, kwargs


def _critic_from_file(meta: dict[str, Any], tensors: dict[str, np.ndarray],
                      dtype: torch.dtype) -> tuple[nn.Module | None, dict | None]:
    """An adversarial model's critic (``critic.*`` tensors, spec ``critic``), checked; or None."""
    keys = {k: 0 for k in tensors if k.startswith("critic.")}
    if meta.get("critic") is None:
        _checks.tensor_keys(keys, ())
        return None, None
    spec = _checks.mapping(meta["critic"], "critic")
    if spec.get("in") != meta["core_dim"] or spec.get("out") != 1:
        raise PushforwardError(f"critic must map the data's {meta['core_dim']} columns to 1 value"
                               f" (constant ones aside), got in={spec.get('in')!r}, "
                               f"out={spec.get('out')!r}")
    cls, kwargs = _net_options(spec, "critic")
    critic = cls(meta["core_dim"], 1, **kwargs)
    _checks.tensor_keys(keys, [f"critic.{k}" for k in critic.state_dict()])
    critic.load_state_dict({k: torch.from_numpy(_checks.array(tensors, f"critic.{k}",
                                                              tuple(v.shape)).copy())
                            for k, v in critic.state_dict().items()})
    return critic.to(dtype).eval().requires_grad_(False), spec


def _group_rows(x) -> int:
    """Rows of a Parquet file's typical row group (at least 2¹⁶): a pool piece reads one."""
    base = getattr(x, "base", x)
    return max(1 << 16, int(np.median(np.diff(base.starts))))


def _codec(source: Source, schema: Schema, train_data: np.ndarray | None, seed: int) -> Codec:
    """The codec fitted on the training split (on 20,000 fresh draws for a sampler).

    A memory-mapped file of more than :data:`CODEC_ROWS` training rows is not read whole into
    memory: its codec (the network's standardisation) is fitted on that many rows drawn at
    random (seeded).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    if on_disk(train_data) and len(train_data) > CODEC_ROWS:
        return build_codec(schema, sample_rows(train_data, CODEC_ROWS, rng), standardize=True)
    ref = train_data if train_data is not None else source.draw(20000, seed=rng)
    return build_codec(schema, ref, standardize=True)


def _dequantized(batch, codec: Codec, device: torch.device, dtype: torch.dtype):
    """``batch`` with each value spread uniformly over its grid cell (``codec.cells()``), or
    ``batch`` itself on continuous data. A likelihood fitted to values on a grid (digits' 17
    pixel levels) grows without bound as the density piles onto the levels (a spline flow's
    loss fell past −100 nats and kept falling); on the cells it is a bounded density whose
    output the codec rounds back onto the levels."""
    cells = codec.cells()
    if cells is None:
        return batch
    width = torch.as_tensor(cells, dtype=dtype, device=device)

    def spread(n: int, rng: torch.Generator) -> torch.Tensor:
        y = batch(n, rng)
        return y + (torch.rand(y.shape, generator=rng, device=device, dtype=dtype) - 0.5) * width

    return spread


def saturated() -> bool:
    """True when the machine's 1-minute load average already fills every core.

    There, torch's intra-op threads wait on each other: on 2 cores at load 7.6, a spline flow
    reached 6 steps in 30 s with 2 threads and 549 with 1 (its closing check: 19.8 s against
    7.3 s), and the zoo benchmark measured 27 ms against 790 ms a step. So a run that was not
    given ``threads`` takes one thread then; an idle machine keeps torch's default.
    """
    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:  # no load average on this platform
        return False


@contextlib.contextmanager
def one_thread_if_saturated() -> Iterator[None]:
    """torch on one thread while the machine is :func:`saturated`, restored after: for the
    energy distances of auto's race and of the closing check (2,000 × 10 columns at load 7:
    0.13 s on one thread, 0.59–0.75 s on two)."""
    threads = torch.get_num_threads()
    if saturated():
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit_learned(
    source: Source,
    objective: Objective,
    *,
    method: str,
    noise: str,
    latent_dim: int,
    seed: int,
    config: TrainConfig,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    console=None,
    on_step=None,
    held: np.ndarray | None = None,
    schema: Schema | None = None,
    deadline: float | None = None,
) -> LearnedMap:
    """Train a network on ``objective`` with the one loop and return the fitted map.

    Arguments:
        source: the target samples.
        objective: the training objective (a divergence, a critic, flow matching).
        method: the method key recorded in the model.
        noise, latent_dim, seed: the noise and the run's seed.
        config: the run's settings.
        out: model folder for checkpoints (``checkpoint.safetensors``); None: none.
        resume: continue from the checkpoint in ``out``.
        console: rich console for progress (None: silent).
        on_step: hook called with the step count after every step.
        held: the fit's held-out rows, when ``source`` holds its training rows only
            (:func:`pushforward.fit` splits); None: ``source`` is split here with
            ``config.holdout``, by the same rule.
        schema: the data's schema (None: inferred from ``source``).
        deadline: ``time.monotonic()`` by which training must end (:func:`pushforward.fit`
            sets it from its whole-fit ``time_budget``); the loop's time budget is cut to it.
    """
    if objective.noise is not None and noise != objective.noise:
        raise PushforwardError(f"method {method!r} needs {objective.noise} noise (the prior of "
                               f"its model), got noise={noise!r}")
    from .train.distributed import current

    strategy = current()  # one process, or one rank of a torchrun
    device = strategy.device(config.torch_device())
    dtype = getattr(torch, config.dtype)
    if config.steps is None and config.time_budget is None:
        config = config.replace(time_budget=DEFAULT_TIME_BUDGET)
    threads = torch.get_num_threads()
    if config.threads is None and device.type == "cpu" and saturated():
        config = config.replace(threads=1)  # recorded in the model's settings
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _fit(source, objective, method=method, noise=noise, latent_dim=latent_dim,
                    seed=seed, config=config, out=out, resume=resume,
                    console=console if strategy.is_main else None, on_step=on_step,
                    device=device, dtype=dtype, held=held, strategy=strategy,
                    schema=schema if schema is not None else infer_schema(source),
                    deadline=deadline)
    finally:
        torch.set_num_threads(threads)


def _fit(source, objective, *, method, noise, latent_dim, seed, config, out, resume, console,
         on_step, device, dtype, held, schema, strategy, deadline) -> LearnedMap:
    # long: builds the run (codec, net, batches, validation, settings) in the order the loop
    # and the model file need it; the batch closures share the codec and the device.
    if held is None:
        split = split_source(source, config.holdout, seed)
        source, held = split.train, split.held
    train_data = source.data
    if held is None:
        held = _validation_rows(source, seed)
    codec = _codec(source, schema, train_data, seed)
    release(train_data)  # the pages of a file that the codec's rows were read from
    dim = codec.out_dim  # the network sees the encoded columns only
    event = image_event(schema.event_shape, dim)
    torch.manual_seed(seed)  # network initialisation; the loop's own randomness is per step
    pixels = _some_pixels(train_data, held, event, codec, seed)
    net_name = config.net_name(latent_dim, dim, objective, event)
    net, spec = build_net(net_name, latent_dim, dim, config, noise, event_shape=event,
                          defaults=_net_defaults(net_name, objective))
    net = net.to(device=device, dtype=dtype)
    if hasattr(net, "fit_base"):  # a field on top of a Gaussian fit of the training pixels
        net.fit_base(torch.as_tensor(pixels, dtype=dtype, device=device))
        spec["kwargs"]["knots"] = list(net.counts)
    objective.setup(dim=dim, latent_dim=latent_dim, device=device, dtype=dtype, seed=seed,
                    event_shape=event)
    nz = get_noise(noise)

    def to_t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(codec.encode(a), dtype=dtype, device=device)

    def noise_batch(n: int, rng: torch.Generator) -> torch.Tensor:
        if noise == "uniform":
            return torch.rand(n, latent_dim, generator=rng, device=device, dtype=dtype)
        return torch.randn(n, latent_dim, generator=rng, device=device, dtype=dtype)

    if on_disk(train_data) and not random_access(train_data):  # Parquet: a pool of row groups
        pool = PoolBatches(train_data, seed=seed + strategy.rank,
                           piece=_group_rows(train_data))

        def batch(n: int, rng: torch.Generator) -> torch.Tensor:
            return to_t(pool(n))
    elif on_disk(train_data):  # a file on disk (or its training blocks): each batch read from it
        def batch(n: int, rng: torch.Generator) -> torch.Tensor:
            rows = torch.randint(len(train_data), (n,), generator=rng, device=device)
            return to_t(take(train_data, rows.cpu().numpy()))
    elif train_data is not None:
        train_t = to_t(train_data)

        def batch(n: int, rng: torch.Generator) -> torch.Tensor:
            return train_t[torch.randint(len(train_t), (n,), generator=rng, device=device)]
    else:
        def batch(n: int, rng: torch.Generator) -> torch.Tensor:
            s = int(torch.randint(2**62, (1,), generator=rng, device=device))
            return to_t(source.draw(n, seed=s))
    if objective.dequantize:
        batch = _dequantized(batch, codec, device, dtype)

    n_val = min(len(held), 2000)
    z_val = torch.as_tensor(nz.sample(n_val, latent_dim, seed=seed + 7), dtype=dtype,
                            device=device)
    # rows in random order, except the blocks of a large file: n_val rows drawn from them
    y_val = to_t(held[:n_val] if not on_disk(held) else sample_rows(held, n_val, seed + 7))
    lr, lr_end, batch_size = resolve_schedule(config, net, objective, dim)
    # the resolved settings: defaults chosen from the data and method are written out as used
    # (width, depth, activation: the net's real values; None where the net has no such option)
    size = {k: spec["kwargs"].get(k) for k in ("width", "depth", "activation")}
    settings = {"train": {**dataclasses.asdict(config), "net": net_name, **size, "lr": lr,
                          "lr_end": lr_end, "batch_size": batch_size},
                "objective": objective.settings()}
    if deadline is not None:  # the closing check samples the map too: keep time for that
        deadline -= _sampling_seconds(MAP_KINDS.get(objective.map_kind), net, spec, settings,
                                      latent_dim, len(held))
    loop = LoopSettings(steps=config.steps, time_budget=config.time_budget, lr=lr,
                        batch_size=batch_size, lr_end=lr_end,
                        ema=config.ema,
                        eval_every=config.eval_every, patience=config.patience,
                        checkpoint_every=config.checkpoint_every, seed=seed, deadline=deadline,
                        precision=config.precision)
    if objective.generator_betas is not None:
        loop.betas = tuple(objective.generator_betas)
    start, earlier = None, None
    if resume and not (Path(out) / CHECKPOINT).exists():
        start, earlier = _continue_model(Path(out), net)
    result = train(objective, net, noise=noise_batch, batch=batch, validation=(z_val, y_val),
                   settings=loop, checkpoint_dir=Path(out) if out is not None else None,
                   resume=resume and start is None, console=console, on_step=on_step,
                   meta={"method": method, "seed": seed, "noise": noise,
                         "latent_dim": latent_dim, **_jsonable(settings)},
                   start=start, strategy=strategy,
                   reference=_copy_reference(train_data, pixels, dtype, device),
                   copy_below=config.copy_guard)
    fitted = MAP_KINDS.get(objective.map_kind)(result.generator, spec)
    fitted._init_map(method=method, noise=noise, latent_dim=latent_dim, dim=source.dim,
                     columns=source.columns, seed=seed, settings=settings, codec=codec,
                     schema=schema)
    fitted.calibrate_decoding()  # missing and category shares as in the training rows
    fitted.history = _history_summary(result.history)
    if earlier:  # a run extended from its model file: its curves go on from the earlier ones
        fitted.history = {k: list(earlier.get(k, [])) + v for k, v in fitted.history.items()}
    critic = objective.saved_critic()
    if critic is not None:  # saved with the model, for its contour plots
        fitted.critic_, fitted.critic_spec = critic
    if result.snapshots:
        fitted.snapshot_steps_ = [k for k, _ in result.snapshots]
        fitted.snapshots_ = np.stack([codec.decode(v.double().numpy())
                                      for _, v in result.snapshots])
    fitted.info.update({"stopped": result.stopped, "steps": result.steps,
                        "seconds": round(result.seconds, 2)})
    if config.precision != "fp32" and not objective.mixed_precision:  # asked, not applied
        fitted.info["precision"] = f"fp32: {method} keeps float32 (its loss is the network's)"
    return fitted


def _some_rows(rows, seed: int) -> np.ndarray:
    """At most ``COPY_REFERENCE_ROWS`` of ``rows`` (a seeded subsample beyond), in memory."""
    if len(rows) <= COPY_REFERENCE_ROWS:
        return np.asarray(rows)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    return take(rows, np.sort(rng.choice(len(rows), COPY_REFERENCE_ROWS, replace=False)))


def _some_pixels(train_data, held, event, codec, seed: int) -> np.ndarray | None:
    """Some encoded training images (``_some_rows``; held-out rows where the training rows stay
    on disk), for a Gaussian base's fit and the copy guard; None for rows that are not images."""
    if event is None:
        return None
    if train_data is not None and not on_disk(train_data):
        return codec.encode(_some_rows(train_data, seed))
    return codec.encode(sample_rows(held, min(len(held), COPY_REFERENCE_ROWS), seed + 3))


def _copy_reference(train_data, pixels, dtype, device) -> torch.Tensor | None:
    """The copy guard's training rows (encoded): images held in memory only, at most
    ``COPY_REFERENCE_ROWS`` of them (seeded); None for other data (no guard)."""
    if pixels is None or train_data is None or on_disk(train_data):
        return None
    return torch.as_tensor(pixels, dtype=dtype, device=device)


def _sampling_seconds(cls: type[LearnedMap], net: nn.Module, spec: dict, settings: dict,
                      latent_dim: int, held: int) -> float:
    """Seconds the closing check will spend drawing from the map: 6 samples (5 for the energy
    distance, 1 for C2ST) of up to ``CLOSING_N`` rows, timed on one such sample pushed through
    a copy of the untrained network (a flow integrates its ODE: the costly case, measured
    12.8 s of a 30 s budget on two busy cores). A first call on a few rows is not timed: it
    pays one-off set-up (a spline flow's first inverse took 1.7 s on a busy machine, a warm
    one 0.15 s), which scaled up to the check once ate a 30 s budget (80 s reserved, 2 steps)."""
    from .evaluation.verdict import CLOSING_N

    probe = cls(copy.deepcopy(net), spec)
    probe.settings = settings
    rng = np.random.default_rng(0)
    probe._inverse(rng.standard_normal((8, latent_dim)))
    z = rng.standard_normal((max(min(held, CLOSING_N), 1), latent_dim))
    t = time.perf_counter()
    probe._inverse(z)
    return (time.perf_counter() - t) * 6


def _continue_model(folder: Path, net: nn.Module) -> tuple[tuple[int, float], dict]:
    """Load a finished run's weights from its model file into ``net``.

    Returns the run's (steps, seconds) to count on from and its loss history. The optimiser
    starts afresh (a model file keeps only the weights), so an extended run is not bit-identical
    to one trained in one go; a checkpoint, when kept, resumes exactly.
    """
    from .model import read_model_file

    meta, tensors = read_model_file(folder)
    weights = {k[4:]: torch.from_numpy(v.copy()) for k, v in tensors.items()
               if k.startswith("net.")}
    p = next(net.parameters())
    net.load_state_dict({k: v.to(device=p.device, dtype=p.dtype) if v.is_floating_point() else v
                         for k, v in weights.items()})
    info = meta.get("info", {})
    return (int(info.get("steps", 0)), float(info.get("seconds", 0.0))), meta.get("history", {})


def _jsonable(obj):
    import json

    return json.loads(json.dumps(obj, default=str))


def _history_summary(h: History, max_points: int = 2000) -> dict[str, list]:
    """The loss history, thinned to at most ``max_points`` per curve for the model file."""
    d = h.as_dict()
    stride = max(1, len(h.step) // max_points)
    for k in ("step", "seconds", "loss"):
        d[k] = d[k][::stride]
    return d


def learned_fit(key: str, description: str, make_objective):
    """The fit function of learned method ``key``: trains ``make_objective(**objective_options)``.

    :func:`pushforward.methods.get` builds it from the method table.
    """

    def fit(source: Source, *, noise: str, latent_dim: int, seed: SeedLike,
            config: TrainConfig | None = None, out=None, resume: bool = False, console=None,
            on_step=None, held: np.ndarray | None = None, schema: Schema | None = None,
            deadline: float | None = None, **overrides) -> LearnedMap:
        cfg = (config or TrainConfig()).replace(**overrides)
        objective = _objective(make_objective, cfg)
        return fit_learned(source, objective, method=key, noise=noise, latent_dim=latent_dim,
                           seed=int(seed), config=cfg, out=out, resume=resume, console=console,
                           on_step=on_step, held=held, schema=schema, deadline=deadline)

    def check(source: Source, *, noise: str, latent_dim: int | None,
              config: TrainConfig | None = None, on_step=None, **overrides) -> None:
        """Every setting of a run, its objective and its network, checked before training."""
        if config is not None and not isinstance(config, TrainConfig):
            raise PushforwardError(f"config must be a TrainConfig, got {type(config).__name__}")
        cfg = (config or TrainConfig()).replace(**overrides)
        objective = _objective(make_objective, cfg)
        if objective.noise is not None and noise != objective.noise:
            raise PushforwardError(f"method {key!r} needs {objective.noise} noise (the prior of "
                                   f"its model), got noise={noise!r}")
        k = source.dim if latent_dim is None else int(latent_dim)
        image = source.meta.get("image_shape")
        event = image_event(image, source.dim) if image else None
        name = cfg.net_name(k, source.dim, objective, event)
        build_net(name, k, source.dim, cfg, noise, defaults=_net_defaults(name, objective),
                  event_shape=event)

    fit.__doc__ = description
    fit.check = check
    # declared options: every training setting, and a whole TrainConfig
    fit.options = (*(f.name for f in dataclasses.fields(TrainConfig)), "config")
    return fit


def _objective(make_objective, cfg: TrainConfig) -> Objective:
    try:
        return make_objective(**cfg.objective_options)
    except TypeError as e:  # an option the objective does not take
        reason = str(e).split(") ", 1)[-1] if ") " in str(e) else str(e)
        raise PushforwardError(f"objective_options: {reason}") from None
