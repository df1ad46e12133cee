"""The settings of one audit run (:class:`AuditConfig`): typed, validated, and saved to
and rebuilt from plain JSON (:meth:`AuditConfig.to_dict` / :meth:`AuditConfig.from_dict`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.classifiers import CLASSIFIERS, ClassifierName
from mcrage_core.rebalance import STRATEGIES, Strategy, get_strategy
from mcrage_core.rebalance import registered_strategies as _known_strategies
from mcrage_core.tables import normalise_labels

if TYPE_CHECKING:
    from mcrage_core.diffusion import CDDPMConfig

__all__ = ["AuditConfig", "CDDPMPreset"]

CDDPMPreset = Literal["quick", "standard", "thorough"]
AuditPlanMode = Literal["max", "share", "counts", "targeted"]
PLAN_MODES = ("max", "share", "counts", "targeted")
VERDICT_METRICS = ("f1", "auroc")
"""The metrics every strategy is judged on, per group."""


@dataclass(frozen=True)
class AuditConfig:
    """Settings of one audit run.

    Parameters
    ----------
    target
        The outcome column.
    sensitive
        Columns whose groups are evaluated (race, sex, age...). Age-like numeric columns
        are evaluated by band (``age_band``). Empty → the ones the schema detected.
    positive_class
        The outcome value counted as positive; ``None`` → the schema's choice.
    rebalance
        Column(s) to rebalance (several → their intersection). Empty → the race column
        if one is sensitive, else the first sensitive column.
    strategies
        Any of ``none, oversample, smote, reweigh, cddpm, threshold`` (or a strategy
        added with :func:`mcrage_core.rebalance.register_strategy`). ``none`` (the
        baseline every change is measured against) is always run.
    classifier
        ``"hgb"`` (default: histogram gradient boosting, fast and strong on tables),
        ``"rf"`` (random forest) or ``"logreg"`` (logistic regression).
    folds, seeds
        Repeated stratified cross-validation: the real rows are split into ``folds``
        folds (stratified by group × outcome), each fold is the test part once, and
        this is repeated ``seeds`` times with different splits and models (default
        5 × 2). Every strategy is scored on exactly the same real test folds; per-group
        numbers are pooled over the folds of a repeat (every real row is scored once by
        a model that never saw it). ``folds=1``: one hold-out split of ``test_size``.
    test_size
        Share of real rows held out for testing when ``folds=1``.
    small_group
        Groups with fewer (pooled) test rows are flagged, left out of disparities and
        not judged.
    n_bootstrap
        Bootstrap resamples of the test rows for confidence intervals (0 = none).
    confidence
        Confidence level of all intervals.
    plan_mode, plan_share, plan_counts, balance_outcome
        The augmentation plan; see :func:`mcrage_core.rebalance.plan_augmentation`.
        ``"targeted"`` raises only the groups of the rebalanced attribute(s) where the
        baseline model is worst by ``plan_metric`` (estimated by a 3-fold
        cross-validation inside the training part, never on test rows): at most
        ``plan_worst`` groups whose metric is below the training part's overall value.
    plan_metric, plan_worst
        The metric (``f1``, ``auroc``, ``tpr`` or ``balanced_accuracy``) and the number
        of groups of the targeted plan.
    max_synthetic_ratio
        Cap on synthetic rows per group, as a multiple of its real training rows
        (default 1.0: never more synthetic than real rows; ``None``: no cap).
    min_effect
        The smallest change of a metric that a verdict calls *helped* or *hurt* (default
        0.01); a statistically clear change below it counts as no measurable change.
    intersect
        Two sensitive columns whose intersection (for example ``race × sex``) is also
        evaluated; ``None``: the first two sensitive columns; ``()``: none.
    sensitive_as_features
        Whether the sensitive columns are also model inputs (default ``True``).
    cddpm_preset, cddpm_config, device, sampling_steps
        The diffusion model: a preset name, or a full ``CDDPMConfig`` (wins over the
        preset); the device; DDIM sampling steps (``None`` → the model's default).
    min_cell_rows, allow_small_cells
        Privacy guardrail: no CDDPM rows for a cell with fewer real training rows than
        ``min_cell_rows`` unless ``allow_small_cells``.
    base_seed
        Seeds used are ``base_seed, base_seed + 1, ...``.
    value_labels
        What coded values mean, per column (``{"raceth": {"1": "White"}}``): labels are
        shown everywhere; the synthetic files keep the codes.
    merge_below
        Groups of a (non-age) sensitive attribute with fewer rows than this in the whole
        table are merged into one group, "other (merged)" (0 = never merge).
    threshold
        Decision threshold on the predicted probability (default 0.5); shown with every
        result.
    min_test_rows
        The audit is refused when the test part would hold fewer rows than this of either
        outcome, or fewer than two groups of the rebalanced attribute with at least this
        many test rows (nothing could be judged).
    threads
        CPU threads for the downstream classifiers and the fidelity checks (default 1:
        multi-threaded gradient boosting slows down badly on a busy or shared machine;
        ``None`` = all cores). The diffusion model's threads are torch's own.
    """

    target: str
    sensitive: tuple[str, ...] = ()
    _: KW_ONLY
    positive_class: str | None = None
    rebalance: tuple[str, ...] = ()
    strategies: tuple[str, ...] = STRATEGIES
    classifier: ClassifierName = "hgb"
    # the split and the intervals
    folds: int = 5
    seeds: int = 2
    test_size: float = 0.25
    small_group: int = 30
    n_bootstrap: int = 200
    confidence: float = 0.95
    # the plan
    plan_mode: AuditPlanMode = "max"
    plan_share: float | None = None
    plan_counts: Mapping[Any, int] | None = None
    balance_outcome: bool = False
    plan_metric: str = "f1"
    plan_worst: int = 3
    max_synthetic_ratio: float | None = 1.0
    intersect: tuple[str, ...] | None = None
    min_effect: float = 0.01
    sensitive_as_features: bool = True
    # the diffusion model and its guardrail
    cddpm_preset: CDDPMPreset = "quick"
    cddpm_config: CDDPMConfig | None = None
    device: str = "auto"
    sampling_steps: int | None = None
    min_cell_rows: int = 20
    allow_small_cells: bool = False
    base_seed: int = 0
    threads: int | None = 1
    # groups and decisions
    value_labels: Mapping[str, Mapping[str, str]] | None = None
    merge_below: int = 0
    threshold: float = 0.5
    min_test_rows: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.intersect, str):
            object.__setattr__(self, "intersect", tuple(self.intersect.split(",")))
        if self.intersect is not None:
            pair = tuple(str(c).strip() for c in self.intersect if str(c).strip())
            if len(pair) not in (0, 2):
                raise ConfigError(
                    f"intersect names two sensitive columns (for example race,sex), got {pair!r}"
                )
            object.__setattr__(self, "intersect", pair)
        for name in ("sensitive", "rebalance", "strategies"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(value or ()))
        self._check_strategies()
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"unknown classifier {self.classifier!r}: choose logreg, rf or hgb")
        self._check_protocol()
        self._check_plan()
        self._check_model()
        object.__setattr__(self, "value_labels", normalise_labels(self.value_labels) or None)
        self._check_groups()

    def _check_strategies(self) -> None:
        known = _known_strategies()
        strategies = tuple(s.strip().lower() for s in self.strategies)
        unknown = [s for s in strategies if s not in known]
        if unknown:
            raise ConfigError(
                f"unknown strateg{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: "
                f"choose from {', '.join(known)}"
            )
        if not strategies:
            raise ConfigError(f"choose at least one strategy from {', '.join(known)}")
        object.__setattr__(self, "strategies", tuple(dict.fromkeys(strategies)))

    def _check_protocol(self) -> None:
        if not isinstance(self.seeds, (int, np.integer)) or not 1 <= int(self.seeds) <= 100:
            raise ConfigError(f"seeds must be a whole number from 1 to 100, got {self.seeds!r}")
        if not isinstance(self.folds, (int, np.integer)) or not 1 <= int(self.folds) <= 20:
            raise ConfigError(
                f"folds must be a whole number from 1 (one hold-out split) to 20, got "
                f"{self.folds!r}"
            )
        if not 0.05 <= float(self.test_size) <= 0.5:
            raise ConfigError(
                "test_size must be between 0.05 and 0.5 (share of rows held out), "
                f"got {self.test_size!r}"
            )
        if int(self.small_group) < 1:
            raise ConfigError(f"small_group must be at least 1, got {self.small_group!r}")
        if not 0 <= int(self.n_bootstrap) <= 10_000:
            raise ConfigError(f"n_bootstrap must be from 0 to 10000, got {self.n_bootstrap!r}")
        if not 0.0 <= float(self.min_effect) < 1.0:
            raise ConfigError(f"min_effect must be from 0 to 1, got {self.min_effect!r}")
        if not 0.5 < float(self.confidence) < 1.0:
            raise ConfigError(f"confidence must be between 0.5 and 1, got {self.confidence!r}")

    def _check_plan(self) -> None:
        if self.plan_mode not in PLAN_MODES:
            raise ConfigError(
                f"unknown plan mode {self.plan_mode!r}: choose {', '.join(PLAN_MODES)}"
            )
        if self.plan_metric not in ("f1", "auroc", "tpr", "balanced_accuracy"):
            raise ConfigError(
                f"unknown metric {self.plan_metric!r} for the targeted plan: choose f1, auroc, "
                "tpr or balanced_accuracy"
            )
        if not 1 <= int(self.plan_worst) <= 50:
            raise ConfigError(f"plan_worst must be from 1 to 50 groups, got {self.plan_worst!r}")
        ratio = self.max_synthetic_ratio
        if ratio is not None and not 0 < float(ratio) <= 100:
            raise ConfigError(
                "max_synthetic_ratio is the most synthetic rows per real row of a group "
                f"(for example 1.0), or None for no cap; got {ratio!r}"
            )

    def _check_model(self) -> None:
        if self.cddpm_preset not in ("quick", "standard", "thorough"):
            raise ConfigError(
                f"unknown CDDPM preset {self.cddpm_preset!r}: choose quick, standard or thorough"
            )
        if int(self.min_cell_rows) < 1:
            raise ConfigError(f"min_cell_rows must be at least 1, got {self.min_cell_rows!r}")
        if self.threads is not None and int(self.threads) < 1:
            raise ConfigError(f"threads must be at least 1 (or None for all), got {self.threads!r}")
        if self.sampling_steps is not None and int(self.sampling_steps) < 1:
            raise ConfigError(f"sampling_steps must be at least 1, got {self.sampling_steps!r}")

    def _check_groups(self) -> None:
        if int(self.merge_below) < 0:
            raise ConfigError(
                f"merge_below must be 0 (off) or a number of rows, got {self.merge_below!r}"
            )
        if not 0.0 < float(self.threshold) < 1.0:
            raise ConfigError(
                f"the decision threshold must be between 0 and 1, got {self.threshold!r}"
            )
        if int(self.min_test_rows) < 1:
            raise ConfigError(f"min_test_rows must be at least 1, got {self.min_test_rows!r}")

    @property
    def seed_values(self) -> list[int]:
        return [int(self.base_seed) + i for i in range(int(self.seeds))]

    def make_strategies(self) -> list[Strategy]:
        """The strategies to run, the baseline ``none`` first (added when not chosen)."""
        names = ["none", *(s for s in self.strategies if s != "none")]
        return [get_strategy(name) for name in names]

    def to_dict(self) -> dict[str, Any]:
        """Plain settings (the CDDPM config through its own ``to_dict``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "_":
                continue
            value = getattr(self, f.name)
            if f.name == "cddpm_config" and value is not None:
                value = value.to_dict()
            elif f.name == "plan_counts" and value is not None:
                value = [
                    {"group": list(k) if isinstance(k, tuple) else k, "n": int(v)}
                    for k, v in value.items()
                ]
            elif f.name == "value_labels" and value is not None:
                value = {str(c): dict(m) for c, m in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditConfig:
        """Rebuild a config from :meth:`to_dict` (a CDDPM config dict becomes a CDDPMConfig)."""
        known = {f.name for f in fields(cls)} - {"_"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown audit setting(s): {', '.join(unknown)}")
        kwargs = dict(data)
        counts = kwargs.get("plan_counts")
        if counts is not None and not isinstance(counts, Mapping):
            kwargs["plan_counts"] = {
                (tuple(c["group"]) if isinstance(c["group"], list) else c["group"]): int(c["n"])
                for c in counts
            }
        cfg = kwargs.get("cddpm_config")
        if isinstance(cfg, Mapping):
            from mcrage_core.diffusion import CDDPMConfig

            kwargs["cddpm_config"] = CDDPMConfig.from_dict(cfg)
        target = kwargs.pop("target")
        return cls(target, **kwargs)
