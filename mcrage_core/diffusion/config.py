"""Settings of the conditional diffusion model: :class:`CDDPMConfig` and its presets.

This is the single source of every default: the trainer's settings are derived from a
config (:meth:`~mcrage_core.diffusion.trainer.TrainerSettings.from_config`), and the
"looks like an identifier" rule comes from the tables package
(:data:`~mcrage_core.tables.MAX_CATEGORIES`,
:data:`~mcrage_core.tables.MAX_UNIQUE_FRACTION`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal, get_args

from mcrage_core.diffusion.device import DeviceName, resolve_device
from mcrage_core.diffusion.sampler import SamplingMethod
from mcrage_core.diffusion.schedule import ScheduleKind
from mcrage_core.errors import ConfigError
from mcrage_core.tables import MAX_CATEGORIES, MAX_UNIQUE_FRACTION

__all__ = [
    "AmpMode",
    "CDDPMConfig",
    "ConfigValue",
    "DEFAULT_PRESET",
    "PresetName",
    "PRESET_LABELS",
    "PRESET_NAMES",
]

PresetName = Literal["tiny", "quick", "standard", "thorough"]
PRESET_NAMES: tuple[PresetName, ...] = get_args(PresetName)
AmpMode = Literal["auto", "off", "bf16", "fp16"]
ConfigValue = int | float | str | None
"""The type of one setting's value (what :meth:`CDDPMConfig.to_dict` holds)."""

DEFAULT_PRESET: PresetName = "quick"
"""The preset a user gets without choosing: the dashboard, ``mcrage audit`` and
``mcrage train`` all start from it. It meets the fidelity targets of
``benchmarks/RESULTS.md`` on SUPPORT2 within its minute of training."""

PRESET_LABELS: dict[str, tuple[str, str]] = {
    "tiny": ("Tiny (test)", "seconds; for automated tests only"),
    "quick": ("Quick", "about 1 minute of training; meets the quality targets (default)"),
    "standard": ("Standard", "the best within 5 minutes of training"),
    "thorough": ("Thorough", "a bigger model, the best within 15 minutes"),
}
"""Label and caption of each preset: what it promises, for a user choosing one. Every
preset also stops early once its validation loss stops improving."""

# Every preset is a time budget: training stops at ``time_budget_s`` of training, when
# the held-out validation loss stops improving, or at ``train_steps`` (a ceiling),
# whichever comes first. Sizes on the CPU (False) and on a CUDA GPU (True).
# A private run (``dp_epsilon``) cannot follow the clock: its steps are planned before it
# starts, so each preset also fixes ``dp_steps`` Poisson batches of ``dp_batch_size``
# expected rows (DP-SGD's noise is divided by the batch size, so larger batches than the
# non-private ones). Quick on the CPU: 500 steps of 1,024 rows, 76-78 s for fit() on a
# shared 2-core CPU against 58 s without privacy, and up to about 120 s when the machine
# is busier (benchmarks/bench_dp.py); the other plans are scaled from it, unmeasured.
_PRESETS: dict[tuple[str, bool], dict[str, ConfigValue]] = {
    ("quick", False): {
        "time_budget_s": 55.0,
        "train_steps": 4000,
        "cpu_threads": 1,
        "dp_steps": 500,
        "dp_batch_size": 1024,
    },
    ("standard", False): {
        "time_budget_s": 290.0,
        "train_steps": 20000,
        "cpu_threads": 1,
        "dp_steps": 2500,
        "dp_batch_size": 1024,
    },
    ("thorough", False): {
        "hidden": 384,
        "depth": 4,
        "time_budget_s": 890.0,
        "train_steps": 60000,
        "ema_decay": 0.999,
        "dp_steps": 3500,
        "dp_batch_size": 1024,
    },
    ("quick", True): {
        "hidden": 512,
        "depth": 4,
        "time_budget_s": 50.0,
        "train_steps": 20000,
        "batch_size": 4096,
        "lr": 2e-3,
        "dp_steps": 1500,
        "dp_batch_size": 2048,
    },
    ("standard", True): {
        "hidden": 1024,
        "depth": 4,
        "time_budget_s": 290.0,
        "train_steps": 60000,
        "batch_size": 4096,
        "lr": 1e-3,
        "ema_decay": 0.999,
        "dp_steps": 4000,
        "dp_batch_size": 2048,
    },
    ("thorough", True): {
        "hidden": 1024,
        "depth": 6,
        "time_budget_s": 890.0,
        "train_steps": 150000,
        "batch_size": 8192,
        "lr": 1e-3,
        "ema_decay": 0.9995,
        "dp_steps": 8000,
        "dp_batch_size": 2048,
    },
}
# The "tiny" preset (tests): a fixed number of steps (private runs too), no time budget
# and no validation rows, so that a run takes seconds and is deterministic.
_TINY: dict[str, ConfigValue] = {
    "hidden": 32,
    "depth": 1,
    "train_steps": 40,
    "dp_steps": None,
    "dp_batch_size": None,
    "time_budget_s": None,
    "validation_fraction": 0.0,
    "batch_size": 128,
    "timesteps": 50,
    "sampling_steps": 10,
    "checkpoint_every": 10,
    "n_quantiles": 50,
}

_POSITIVE_INTS = (
    "hidden",
    "depth",
    "timesteps",
    "train_steps",
    "batch_size",
    "sampling_steps",
    "n_quantiles",
    "max_categories",
)
_NON_NEGATIVE_INTS = ("seed", "checkpoint_every", "discrete_max_levels", "patience")
_FRACTIONS = ("dropout", "cond_drop_prob", "max_unique_fraction", "ddim_eta")
_CHOICES: dict[str, tuple[str, ...]] = {
    "schedule": get_args(ScheduleKind),
    "amp": get_args(AmpMode),
    "sampling_method": get_args(SamplingMethod),
}


def _is_whole(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _choice_text(options: tuple[str, ...]) -> str:
    quoted = [repr(o) for o in options]
    return "choose " + ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass(frozen=True)
class CDDPMConfig:
    """Settings of the conditional diffusion model (frozen; see :meth:`preset`).

    Model: ``hidden`` width, ``depth`` residual blocks, ``dropout``.
    Diffusion: ``timesteps`` (length of the full chain), ``schedule``.
    Training: at most ``train_steps`` of ``batch_size`` rows and at most
    ``time_budget_s`` seconds of training (``None``: no time limit), AdamW ``lr`` /
    ``weight_decay``, ``ema_decay``, ``grad_clip``, ``cond_drop_prob`` (share of rows
    trained without their condition, which classifier-free guidance at sampling time
    needs; 0 spends all training on the conditional model), ``min_snr_gamma`` (loss weighting; 0 = plain mean squared error),
    ``validation_fraction`` of the rows held out to stop early once their loss has not
    improved for ``patience`` checks (0 = never stop early), ``amp`` (mixed precision
    on CUDA only), ``seed``, ``checkpoint_every`` steps (0: only at the end).
    Sampling defaults: ``sampling_method`` (``"dpmpp"``: DPM-Solver++(2M)),
    ``sampling_steps`` (network evaluations), ``ddim_eta`` (noise of the fast samplers:
    1 = stochastic, which reproduces the spread of numeric columns far better on tables
    than deterministic 0), ``guidance`` (1 = plain conditional), ``clip_sample``.
    Compute: ``device`` and ``cpu_threads`` (torch threads while training or sampling on
    the CPU, restored afterwards; ``None`` keeps torch's default. On a CPU shared with
    other busy processes, 1 thread is often several times faster than 2).
    Encoding: ``n_quantiles``, ``discrete_max_levels`` (numbers with at most this many
    distinct values are categories), ``max_categories`` and ``max_unique_fraction``
    (text columns above either are left out as identifiers or free text; the defaults
    are the tables package's rule, :data:`~mcrage_core.tables.MAX_CATEGORIES` and
    :data:`~mcrage_core.tables.MAX_UNIQUE_FRACTION`).
    Differential privacy (DP-SGD through Opacus, :mod:`~mcrage_core.diffusion.private`):
    ``dp_epsilon`` (``None``: ordinary, non-private training), ``dp_delta`` (``None``:
    ``min(1e-5, 1 / (10 n))`` for ``n`` training rows, see
    :func:`~mcrage_core.diffusion.private.default_delta`), ``max_grad_norm`` (the
    per-row gradient clipping bound C), ``dp_steps`` and ``dp_batch_size`` (the fixed
    plan of a private run: its number of steps and expected Poisson batch size; ``None``
    means ``train_steps`` and ``batch_size``), ``dp_secure_mode`` (noise drawn with
    Opacus' floating-point-attack-resistant method and randomness seeded from the
    operating system rather than ``seed``).
    """

    hidden: int = 256
    depth: int = 3
    dropout: float = 0.0
    timesteps: int = 250
    schedule: ScheduleKind = "cosine"
    train_steps: int = 3000
    time_budget_s: float | None = None
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.995
    grad_clip: float = 1.0
    cond_drop_prob: float = 0.0
    min_snr_gamma: float = 2.0
    validation_fraction: float = 0.05
    patience: int = 6
    amp: AmpMode = "auto"
    seed: int = 0
    checkpoint_every: int = 500
    sampling_method: SamplingMethod = "dpmpp"
    sampling_steps: int = 12
    ddim_eta: float = 1.0
    guidance: float = 1.0
    clip_sample: float | None = 6.0
    device: str = "auto"
    cpu_threads: int | None = None
    n_quantiles: int = 1000
    discrete_max_levels: int = 15
    max_categories: int = MAX_CATEGORIES
    max_unique_fraction: float = MAX_UNIQUE_FRACTION
    dp_epsilon: float | None = None
    dp_delta: float | None = None
    max_grad_norm: float = 1.0
    dp_steps: int | None = None
    dp_batch_size: int | None = None
    dp_secure_mode: bool = False

    def __post_init__(self) -> None:
        self._check_counts()
        self._check_numbers()
        self._check_choices()
        self._check_privacy()

    def _bad(self, name: str, rule: str) -> ConfigError:
        return ConfigError(f"CDDPM setting {name}={getattr(self, name)!r} is invalid: {rule}.")

    def _check_counts(self) -> None:
        for name in _POSITIVE_INTS:
            if not _is_whole(getattr(self, name), 1):
                raise self._bad(name, "it must be a whole number of at least 1")
        for name in _NON_NEGATIVE_INTS:
            if not _is_whole(getattr(self, name), 0):
                raise self._bad(name, "it must be a whole number, 0 or more")
        if self.cpu_threads is not None and not _is_whole(self.cpu_threads, 1):
            raise self._bad("cpu_threads", "it must be a whole number of at least 1, or None")
        if self.timesteps < 2:
            raise self._bad("timesteps", "at least 2 are needed")

    def _check_numbers(self) -> None:
        for name in _FRACTIONS:
            v = getattr(self, name)
            if not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
                raise self._bad(name, "it must be between 0 and 1")
        if not 0.0 <= float(self.ema_decay) < 1.0:
            raise self._bad("ema_decay", "it must be at least 0 and below 1")
        for name in ("lr", "grad_clip"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise self._bad(name, "it must be a positive number")
        for name in ("weight_decay", "min_snr_gamma"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise self._bad(name, "it must be 0 or more")
        if not isinstance(self.validation_fraction, int | float) or not (
            0.0 <= float(self.validation_fraction) <= 0.5
        ):
            raise self._bad("validation_fraction", "it must be between 0 and 0.5")
        budget = self.time_budget_s
        if budget is not None and (
            not isinstance(budget, int | float) or not math.isfinite(budget) or budget <= 0
        ):
            raise self._bad("time_budget_s", "it must be a positive number of seconds, or None")
        if not isinstance(self.guidance, int | float) or self.guidance < 0:
            raise self._bad("guidance", "it must be 0 or more (1 means no guidance)")
        if self.clip_sample is not None and (
            not isinstance(self.clip_sample, int | float) or self.clip_sample <= 0
        ):
            raise self._bad("clip_sample", "it must be a positive number or None")

    def _check_privacy(self) -> None:
        eps, delta, clip = self.dp_epsilon, self.dp_delta, self.max_grad_norm
        if eps is not None and not (_is_number(eps) and 0 < eps < math.inf):
            raise self._bad("dp_epsilon", "the privacy budget ε must be a positive number, or None")
        if delta is not None and not (_is_number(delta) and 0 < delta < 1):
            raise self._bad("dp_delta", "δ must be between 0 and 1 (both excluded), or None")
        if not (_is_number(clip) and 0 < clip < math.inf):
            raise self._bad("max_grad_norm", "the clipping bound C must be a positive number")
        for name in ("dp_steps", "dp_batch_size"):
            if getattr(self, name) is not None and not _is_whole(getattr(self, name), 1):
                raise self._bad(name, "it must be a whole number of at least 1, or None")
        if not isinstance(self.dp_secure_mode, bool):
            raise self._bad("dp_secure_mode", "it must be True or False")

    def _check_choices(self) -> None:
        for name, options in _CHOICES.items():
            if getattr(self, name) not in options:
                raise self._bad(name, _choice_text(options))
        devices = get_args(DeviceName)
        if not isinstance(self.device, str) or self.device.split(":")[0] not in devices:
            raise self._bad("device", _choice_text(devices))

    @classmethod
    def preset(cls, name: PresetName = DEFAULT_PRESET, *, device: str = "auto") -> CDDPMConfig:
        """Ready-made settings, each a time budget (:data:`PRESET_LABELS`); larger
        networks and batches when ``device`` resolves to a CUDA GPU.

        ``"quick"`` (the default everywhere) trains for about a minute and meets the
        fidelity targets of ``benchmarks/RESULTS.md`` on SUPPORT2 with a 2-core CPU;
        ``"standard"`` trains for up to 5 minutes and ``"thorough"`` for up to 15, with
        a bigger network. Each stops earlier when its held-out validation loss stops
        improving. The CPU presets of quick and standard train with one torch thread
        (``cpu_threads=1``): barely slower on an idle 2-core machine, several times
        faster on a busy one. ``"tiny"`` is ``"quick"`` shrunk, with a fixed step count,
        so that a run takes seconds: for tests only, its output is not meant to be read.
        """
        if name not in PRESET_NAMES:
            raise ConfigError(f"Unknown preset {name!r}: choose 'quick', 'standard' or 'thorough'.")
        gpu = resolve_device(device).type == "cuda"
        changes = dict(_PRESETS[("quick" if name == "tiny" else name, gpu)])
        if name == "tiny":
            changes.update(_TINY)
        return cls(device=device).with_overrides(**changes)

    def with_steps(self, steps: int) -> CDDPMConfig:
        """A copy that trains exactly ``steps`` steps: the step count replaces the time
        budget (and the run is deterministic on the CPU), early stopping aside. A
        private run (``dp_epsilon``) then plans exactly ``steps`` steps too."""
        return self.with_overrides(train_steps=steps, time_budget_s=None, dp_steps=None)

    def with_overrides(self, **changes: object) -> CDDPMConfig:
        """A copy with some settings changed (validated)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"Unknown CDDPM setting(s): {sorted(unknown)}.")
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, ConfigValue]:
        """Every setting by name (plain JSON values)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CDDPMConfig:
        """The config of :meth:`to_dict` (validated; unknown names are refused)."""
        if not isinstance(data, Mapping):
            raise ConfigError("The CDDPM settings must be a mapping of names to values.")
        return cls().with_overrides(**data)
