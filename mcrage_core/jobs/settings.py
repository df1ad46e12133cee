"""The settings of one run: ONE typed contract shared by the dashboard, the CLI and the worker.

:class:`RunSettings` holds every choice a run needs (the table's schema choices and the
audit's or training's options), validates them on construction, crosses the process
boundary as a plain dict (:meth:`RunSettings.to_dict` / :meth:`RunSettings.from_dict`)
and builds what the engine needs (:meth:`~RunSettings.infer`,
:meth:`~RunSettings.audit_config`, :meth:`~RunSettings.cddpm_config`). Its field
defaults are THE defaults: the dashboard's widgets and the CLI's flags read them from
:data:`DEFAULTS` instead of repeating numbers.

The dashboard builds one from the Data page's choices and the Train page's widgets::

    settings = RunSettings.from_choices(
        st.session_state[state.CHOICES],          # target, sensitive, include, ...
        table=name, rebalance=("race",), strategies=("none", "cddpm"), preset="quick",
        n_seeds=1, train_steps=None, device="auto",
    )
    registry.start_run(owner, settings, df)      # the worker runs exactly this

The CLI builds one from its arguments (see :func:`mcrage_core.commands.audit.settings_from_args`)
and runs it in-process with :func:`mcrage_core.jobs.audit.run_settings`, the same function
the worker calls::

    settings = RunSettings(target="died", sensitive=("race",), preset="quick")
    coerced, schema = settings.infer(df)
    config = settings.audit_config(schema)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.rebalance import STRATEGIES

if TYPE_CHECKING:
    import pandas as pd

    from mcrage_core.diffusion import CDDPMConfig
    from mcrage_core.tables import Schema

__all__ = [
    "DEFAULTS",
    "EVALUATIONS",
    "evaluation_of",
    "RunKind",
    "RunPreset",
    "RunSettings",
    "SCHEMA_FIELDS",
    "OutcomeValue",
    "SensitiveSetting",
]

RunKind = Literal["audit", "train"]
RunPreset = Literal["tiny", "quick", "standard", "thorough"]
Classifier = Literal["logreg", "rf", "hgb"]
PlanMode = Literal["max", "share", "targeted"]
OutcomeValue = str | int | float | bool
SensitiveSetting = Mapping[str, str | None] | tuple[str, ...] | None
"""``{kind: column}`` (race/sex/age; ``None`` turns a kind off) or a list of columns."""

_KINDS: tuple[str, ...] = get_args(RunKind)
_PRESETS: tuple[str, ...] = get_args(RunPreset)
_CLASSIFIERS: tuple[str, ...] = get_args(Classifier)
_PLAN_MODES: tuple[str, ...] = get_args(PlanMode)
_AUDIT_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(AuditConfig)}
"""AuditConfig's defaults: the one place the audit's default numbers are written."""
_BOOTSTRAP: int = _AUDIT_DEFAULTS["n_bootstrap"]
_TINY_BOOTSTRAP = 50

SCHEMA_FIELDS: tuple[str, ...] = (
    "target",
    "positive_class",
    "sensitive",
    "exclude",
    "include",
    "age_bands",
)
"""Fields stored under ``"schema"`` in :meth:`RunSettings.to_dict` (arguments of ``infer_schema``)."""

_TOP_FIELDS = ("kind", "table")
_TUPLE_FIELDS = ("exclude", "include", "rebalance", "strategies")


@dataclass(frozen=True)
class RunSettings:
    """Every choice of one run, validated. Options after the schema choices are keyword-only
    in spirit: build with keywords.

    Parameters
    ----------
    kind
        ``"audit"`` (the whole pipeline) or ``"train"`` (fit a diffusion model only).
    table
        Name of the input table (shown in run lists).
    target, positive_class, sensitive, exclude, include, age_bands
        Schema choices, passed to :func:`mcrage_core.tables.infer_schema`
        (``age_bands=None``: the default bands).
    rebalance, strategies, classifier, n_seeds, folds, n_bootstrap, threshold, ...
        Audit options, see :class:`mcrage_core.evaluation.pipeline.AuditConfig`
        (``n_seeds`` = its ``seeds``, the repeats of the cross-validation;
        ``n_bootstrap=None``: 200, or 50 with the tiny preset).
    preset, device, train_steps, sampling_steps, overrides
        The diffusion model: preset (``"tiny"`` is for tests), device, training steps
        (``None`` or 0: the preset's), DDIM sampling steps (``None``: the model's) and
        other ``CDDPMConfig`` settings to change.
    """

    kind: RunKind = "audit"
    table: str | None = None
    target: str | None = None
    positive_class: OutcomeValue | None = None
    sensitive: SensitiveSetting = None
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    age_bands: tuple[int, ...] | None = None
    rebalance: tuple[str, ...] = ()
    strategies: tuple[str, ...] = _AUDIT_DEFAULTS["strategies"]
    classifier: Classifier = _AUDIT_DEFAULTS["classifier"]
    preset: RunPreset = _AUDIT_DEFAULTS["cddpm_preset"]
    device: str = _AUDIT_DEFAULTS["device"]
    n_seeds: int = _AUDIT_DEFAULTS["seeds"]
    folds: int = _AUDIT_DEFAULTS["folds"]
    train_steps: int | None = None
    sampling_steps: int | None = None
    overrides: Mapping[str, int | float | str | None] = field(default_factory=dict)
    test_size: float = _AUDIT_DEFAULTS["test_size"]
    small_group: int = _AUDIT_DEFAULTS["small_group"]
    n_bootstrap: int | None = None
    plan_mode: PlanMode = _AUDIT_DEFAULTS["plan_mode"]
    plan_share: float | None = _AUDIT_DEFAULTS["plan_share"]
    balance_outcome: bool = _AUDIT_DEFAULTS["balance_outcome"]
    plan_metric: str = _AUDIT_DEFAULTS["plan_metric"]
    plan_worst: int = _AUDIT_DEFAULTS["plan_worst"]
    max_synthetic_ratio: float | None = _AUDIT_DEFAULTS["max_synthetic_ratio"]
    intersect: tuple[str, ...] | None = _AUDIT_DEFAULTS["intersect"]
    sensitive_as_features: bool = _AUDIT_DEFAULTS["sensitive_as_features"]
    min_cell_rows: int = _AUDIT_DEFAULTS["min_cell_rows"]
    allow_small_cells: bool = _AUDIT_DEFAULTS["allow_small_cells"]
    value_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    merge_below: int = _AUDIT_DEFAULTS["merge_below"]
    threshold: float = _AUDIT_DEFAULTS["threshold"]
    min_test_rows: int = _AUDIT_DEFAULTS["min_test_rows"]

    def __post_init__(self) -> None:
        for name in _TUPLE_FIELDS:
            object.__setattr__(self, name, _str_tuple(name, getattr(self, name)))
        if self.age_bands is not None:  # no edges at all: the default bands
            edges = tuple(int(b) for b in self.age_bands)
            object.__setattr__(self, "age_bands", edges or None)
        if self.sensitive is not None and not isinstance(self.sensitive, Mapping):
            object.__setattr__(self, "sensitive", _str_tuple("sensitive", self.sensitive))
        if not self.train_steps:
            object.__setattr__(self, "train_steps", None)
        self._validate()

    def _validate(self) -> None:
        _choice("run kind", self.kind, _KINDS)
        _choice("model preset", self.preset, _PRESETS)
        _choice("classifier", self.classifier, _CLASSIFIERS)
        _choice("plan mode", self.plan_mode, _PLAN_MODES)
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise ConfigError(
                f"unknown strategy {', '.join(unknown)}: choose from {', '.join(STRATEGIES)}"
            )
        if not self.strategies:
            raise ConfigError(f"choose at least one strategy from {', '.join(STRATEGIES)}")
        _whole("n_seeds", self.n_seeds, 1, 100)
        _whole("folds", self.folds, 1, 20)
        _whole("plan_worst", self.plan_worst, 1, 50)
        if self.intersect is not None:
            object.__setattr__(self, "intersect", _str_tuple("intersect", self.intersect))
        _whole("train_steps", self.train_steps, 1)
        _whole("sampling_steps", self.sampling_steps, 1)
        _whole("min_cell_rows", self.min_cell_rows, 1)
        _whole("merge_below", self.merge_below, 0)
        _whole("min_test_rows", self.min_test_rows, 1)
        _whole("n_bootstrap", self.n_bootstrap, 0, 10_000)
        if not 0.0 < float(self.threshold) < 1.0:
            raise ConfigError(
                f"the decision threshold must be between 0 and 1, got {self.threshold!r}"
            )
        if self.plan_mode == "share" and self.plan_share is None:
            raise ConfigError("the 'share' plan needs a share, for example 0.1 (--share 0.1)")

    # ----------------------------------------------------------------- plain dict

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON settings: ``kind``, ``table``, ``schema`` (infer_schema's arguments)
        and ``audit`` (everything else); :meth:`from_dict` reads them back."""
        schema = {name: _plain(getattr(self, name)) for name in SCHEMA_FIELDS}
        skip = {*SCHEMA_FIELDS, *_TOP_FIELDS}
        audit = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name not in skip}
        return {"kind": self.kind, "table": self.table, "schema": schema, "audit": audit}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, kind: RunKind | None = None) -> RunSettings:
        """Settings from :meth:`to_dict`'s output, or from the older dict stored by runs
        registered before this class existed (``schema``/``audit``/``train`` sections,
        ``value_labels``/``merge_below`` possibly among the schema choices).

        ``kind`` is used when ``data`` holds none (old runs kept it in the registry row).
        Unknown entries raise :class:`~mcrage_core.errors.ConfigError`.
        """
        if not isinstance(data, Mapping):
            raise ConfigError("the run settings are damaged: they must be an object")
        unknown = [k for k in data if k not in (*_TOP_FIELDS, "schema", "audit", "train")]
        values: dict[str, Any] = {k: data[k] for k in _TOP_FIELDS if k in data}
        if kind is not None and "kind" not in values:
            values["kind"] = kind
        for section in ("schema", "audit", "train"):
            raw = data.get(section) or {}
            if not isinstance(raw, Mapping):
                raise ConfigError(f"the run settings are damaged: {section!r} must be an object")
            for key, value in raw.items():
                if key in _NAMES and key not in _TOP_FIELDS:
                    values[key] = value
                else:
                    unknown.append(f"{section}.{key}")
        if unknown:
            raise ConfigError(
                f"the run settings hold unknown entries ({', '.join(map(str, unknown))}); "
                "they were written by another version of MCRAGE: start the run again"
            )
        return _build(values)

    @classmethod
    def from_choices(cls, choices: Mapping[str, Any], **options: Any) -> RunSettings:
        """Settings from the dashboard's schema choices (``target``, ``sensitive``,
        ``include``, ``value_labels``, ``merge_below``...) plus keyword options."""
        values = {k: v for k, v in choices.items() if k in _NAMES}
        values.update(options)
        return _build(values)

    # ----------------------------------------------------------------- engine objects

    def infer(self, df: pd.DataFrame) -> tuple[pd.DataFrame, Schema]:
        """The coerced table and its :class:`~mcrage_core.tables.Schema`, with every
        schema choice (``include`` and ``age_bands`` too)."""
        from mcrage_core.tables import DEFAULT_AGE_BANDS, infer_schema

        sensitive = self.sensitive
        return infer_schema(
            df,
            target=self.target,
            positive_class=self.positive_class,
            sensitive=dict(sensitive) if isinstance(sensitive, Mapping) else sensitive,
            exclude=self.exclude,
            include=self.include,
            age_bands=self.age_bands if self.age_bands is not None else DEFAULT_AGE_BANDS,
        )

    def cddpm_config(self) -> CDDPMConfig:
        """The diffusion model's settings: the preset, then ``train_steps`` (a fixed step
        count in place of the preset's time budget) and ``overrides``."""
        from mcrage_core.diffusion import CDDPMConfig

        config = CDDPMConfig.preset(self.preset, device=self.device)
        if self.train_steps:
            config = config.with_steps(int(self.train_steps))
        return config.with_overrides(**self.overrides) if self.overrides else config

    def audit_config(self, schema: Schema) -> AuditConfig:
        """The :class:`~mcrage_core.evaluation.pipeline.AuditConfig` for ``schema`` (from
        :meth:`infer`)."""
        if schema.target is None:
            raise ConfigError(
                "the audit needs an outcome column; choose the target on the Data page "
                "(or --target)"
            )
        tiny = self.preset == "tiny"
        custom = self.cddpm_config() if tiny or self.train_steps or self.overrides else None
        sampling_steps = self.sampling_steps
        if sampling_steps is None and tiny and custom is not None:
            sampling_steps = custom.sampling_steps
        bootstrap = self.n_bootstrap
        if bootstrap is None:
            bootstrap = _TINY_BOOTSTRAP if tiny else _BOOTSTRAP
        return AuditConfig(
            schema.target,
            # a list of columns is evaluated as given; kinds → the columns the schema found
            sensitive=() if isinstance(self.sensitive, Mapping) else tuple(self.sensitive or ()),
            positive_class=schema.positive_class,
            rebalance=self.rebalance,
            strategies=self.strategies,
            classifier=self.classifier,
            seeds=int(self.n_seeds),
            folds=int(self.folds),
            test_size=float(self.test_size),
            small_group=int(self.small_group),
            n_bootstrap=int(bootstrap),
            plan_mode=self.plan_mode,
            plan_share=self.plan_share,
            balance_outcome=bool(self.balance_outcome),
            plan_metric=self.plan_metric,
            plan_worst=int(self.plan_worst),
            max_synthetic_ratio=self.max_synthetic_ratio,
            intersect=self.intersect,
            sensitive_as_features=bool(self.sensitive_as_features),
            cddpm_preset="quick" if tiny else self.preset,  # type: ignore[arg-type]
            cddpm_config=custom,
            device=self.device,
            sampling_steps=sampling_steps,
            min_cell_rows=int(self.min_cell_rows),
            allow_small_cells=bool(self.allow_small_cells),
            value_labels=self.value_labels or None,
            merge_below=int(self.merge_below or 0),
            threshold=float(self.threshold),
            min_test_rows=int(self.min_test_rows),
        )


_NAMES: frozenset[str] = frozenset(f.name for f in fields(RunSettings))


def _build(values: Mapping[str, Any]) -> RunSettings:
    try:
        return RunSettings(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the run settings are damaged ({exc})") from exc


def _str_tuple(name: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if not isinstance(value, Sequence | set | frozenset):
        raise ConfigError(f"{name} must be a list of names, got {value!r}")
    return tuple(str(v) for v in value)


def _choice(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"unknown {what} {value!r}: choose {', '.join(allowed)}")


def _whole(name: str, value: object, low: int, high: int | None = None) -> None:
    if value is None:
        return
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or int(value) < low or (high is not None and int(value) > high):  # type: ignore[call-overload]
        limit = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name} must be a whole number {limit}, got {value!r}")


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


DEFAULTS = RunSettings()
"""The one set of defaults: dashboard widgets and CLI flags read theirs from here."""

EVALUATIONS: dict[str, tuple[int, int, str, str]] = {
    "holdout": (1, 1, "One hold-out split", "fastest; verdicts have the least power"),
    "check": (3, 1, "Quick check: 3-fold", "every row tested once; 3 models per strategy"),
    "standard": (
        DEFAULTS.folds,
        DEFAULTS.n_seeds,
        f"Standard: {DEFAULTS.folds}-fold × {DEFAULTS.n_seeds}",
        f"the default; {DEFAULTS.folds * DEFAULTS.n_seeds} models per strategy",
    ),
    "thorough": (5, 5, "Thorough: 5-fold × 5", "most power; 25 models per strategy"),
}
"""Evaluation protocols offered by name: ``(folds, repeats, label, caption)``."""


def evaluation_of(folds: int, repeats: int) -> str | None:
    """The name of the :data:`EVALUATIONS` entry with these folds and repeats, if any."""
    return next((k for k, v in EVALUATIONS.items() if v[:2] == (folds, repeats)), None)
