"""MCRAGE: a conditional denoising diffusion model (:class:`~mcrage_core.diffusion.CDDPM`)
is trained on the real training rows and generates the planned rows per cell.

Cells with fewer than ``min_cell_rows`` real rows are *blocked* (privacy guardrail)
unless ``allow_small_cells=True``. The strategy owns its model: the configuration
(``context.cddpm_config``, default the preset ``context.cddpm_preset``), its checkpoints
(``context.workdir / "cddpm_seed<seed>"``), keeping generated rows inside their cell,
and its extra outputs (:meth:`CDDPMStrategy.report`: the rows in the input's coding, the
augmented training set, fidelity and the training summary).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.fidelity import evaluate_fidelity
from mcrage_core.privacy import assess_privacy
from mcrage_core.rebalance.plan import blocked_mask, display_plan, guardrail_notes
from mcrage_core.rebalance.strategies.base import (
    Augmentation,
    AugmentContext,
    PlanCells,
    ReportInputs,
    StrategyReport,
)
from mcrage_core.rebalance.strategies.generated import Generated, GeneratingStrategy
from mcrage_core.tables import output_columns, to_input_coding

if TYPE_CHECKING:
    from mcrage_core.diffusion import CDDPM

__all__ = ["CDDPMStrategy"]


class CDDPMStrategy(GeneratingStrategy):
    """MCRAGE: conditional diffusion model trained on the real training rows."""

    name = "cddpm"
    label = "MCRAGE (CDDPM synthetic rows)"
    guards_small_cells = True
    cost = 8.0
    progress_stage = "Training the diffusion model"

    def generate(
        self, cells: PlanCells, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Generated:
        train, cols = cells.train, cells.cols
        warnings: list[str] = []
        skip = blocked_mask(plan, min_rows=context.min_cell_rows, allow=context.allow_small_cells)
        blocked = plan[skip]
        todo = plan[(plan["n_add"] > 0) & ~skip]
        if len(blocked):
            warnings.extend(
                guardrail_notes(
                    plan[[*cols, "n_real", "n_add"]],
                    cols,
                    min_rows=context.min_cell_rows,
                    outcome_names=context.outcome_names,
                )
            )
        if todo.empty:
            return Generated(train.iloc[0:0], warnings=tuple(warnings), blocked=blocked)
        model = self._fit(train, context)
        counts = todo[[*cols, "n_add"]].rename(columns={"n_add": "n"}).reset_index(drop=True)
        synthetic = model.sample(
            counts,
            sampling_steps=context.sampling_steps,
            seed=context.seed,
            exclude_copies_of=train,
        )
        synthetic = _like(synthetic, train)
        short = int(todo["n_add"].sum()) - len(synthetic)
        if short > 0:
            warnings.append(
                f"MCRAGE: {short} of the {int(todo['n_add'].sum())} planned synthetic rows were "
                "not produced (exact copies of real rows are dropped)"
            )
        return Generated(
            synthetic, warnings=tuple(warnings), blocked=blocked, extras={"model": model}
        )

    def _fit(self, train: pd.DataFrame, context: AugmentContext) -> CDDPM:
        try:
            from mcrage_core.diffusion import CDDPM, CDDPMConfig
        except ImportError as exc:  # pragma: no cover - engine always ships
            raise ConfigError(
                "the CDDPM engine (mcrage_core.diffusion) is not available in this "
                f"installation ({exc}); leave 'cddpm' out of the strategies"
            ) from exc
        config = context.cddpm_config or CDDPMConfig.preset(
            context.cddpm_preset, device=context.device
        )
        cols = context.cell_columns
        feats = [c for c in (context.columns or context.features) if c not in cols]
        run_dir = None
        if context.workdir is not None:
            run_dir = str(context.workdir / f"{self.name}_seed{context.seed}")
        model = CDDPM(config)
        model.fit(
            train,
            target=context.target,
            condition=list(context.rebalance),
            columns=feats,
            progress=context.progress,
            should_stop=context.should_stop,
            run_dir=run_dir,
            resume=run_dir is not None,
        )
        return model

    def report(
        self, aug: Augmentation, inputs: ReportInputs, *, context: AugmentContext
    ) -> StrategyReport:
        """The synthetic rows and the augmented training set in the input's own coding
        (see :mod:`mcrage_core.tables.records`), the fidelity report and the training
        summary."""
        names = dict(context.outcome_names or {1: 1, 0: 0})
        reference = inputs.reference
        columns, dropped = output_columns(reference, inputs.schema)
        synthetic = to_input_coding(
            aug.synthetic,
            reference=reference,
            columns=columns,
            target=context.target,
            positive_class=names[1],
            negative_class=names[0],
            labels=inputs.value_labels,
        )
        real_part = to_input_coding(
            reference.loc[inputs.train_index, columns],
            reference=reference,
            columns=columns,
            exact=True,
        )
        out = StrategyReport(
            synthetic=synthetic,
            augmented_train=pd.concat(
                [real_part.assign(source="real"), synthetic.assign(source="synthetic")],
                ignore_index=True,
            ),
        )
        if len(aug.synthetic):
            out.fidelity = _fidelity(aug, inputs, context, out.warnings)
        out.training = _training_summary(aug, context)
        out.training["n_synthetic"] = int(len(synthetic))
        out.training["output_columns"] = list(columns)
        out.training["dropped_columns"] = [{"column": c, "reason": r} for c, r in dropped.items()]
        if aug.blocked is not None and len(aug.blocked):
            blocked = display_plan(aug.blocked, context.target, names)
            out.training["blocked_cells"] = blocked.to_dict(orient="records")
        return out


def _like(synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Generated rows with the training rows' columns (missing ones empty) and dtypes."""
    for c in train.columns:
        if c not in synthetic.columns:
            synthetic[c] = np.nan
    synthetic = synthetic[list(train.columns)]
    for c in train.columns:
        if synthetic[c].dtype != train[c].dtype:
            with contextlib.suppress(TypeError, ValueError):
                synthetic[c] = synthetic[c].astype(train[c].dtype)
    return synthetic


def _fidelity(
    aug: Augmentation, inputs: ReportInputs, context: AugmentContext, warnings: list[str]
) -> dict[str, Any] | None:
    cols = [*context.columns, *context.rebalance, context.target]
    cols = list(dict.fromkeys(c for c in cols if c in aug.synthetic.columns))
    try:
        report = evaluate_fidelity(
            inputs.train[cols],
            aug.synthetic[cols],
            by=list(context.rebalance),
            holdout=inputs.test[cols],
            seed=context.seed,
        )
    except (ConfigError, DataError, ValueError) as exc:
        warnings.append(f"the fidelity of the synthetic rows could not be measured ({exc})")
        return None
    out = report.to_dict()
    out["privacy"] = _privacy(aug, inputs, context, cols, warnings)
    return out


def _dp_record(info: dict[str, Any]) -> dict[str, Any] | None:
    """The model's DP record with what its ε covers and does not cover, in words."""
    dp = info.get("dp")
    if not isinstance(dp, dict):
        return None
    return {**dp, "covers": info.get("dp_covers"), "does_not_cover": info.get("dp_does_not_cover")}


def _privacy(
    aug: Augmentation,
    inputs: ReportInputs,
    context: AugmentContext,
    cols: list[str],
    warnings: list[str],
) -> dict[str, Any] | None:
    """Membership and attribute-disclosure risk of the synthetic rows (the generator's
    training rows against the real test rows it never saw), per group."""
    model = aug.extras.get("model")
    info = getattr(model, "train_info_", None) or {}
    sampled = getattr(model, "last_sample_info_", None) or {}
    groups = [c for c in context.rebalance if c in cols]
    # the attacker knows race, sex and age (band) where the table has them
    sensitive = [str(c) for c in dict(inputs.schema.sensitive or {}).values()]
    quasi = list(dict.fromkeys(c for c in [*groups, *sensitive] if c in cols))
    try:
        assessment = assess_privacy(
            inputs.train[cols],
            inputs.test[cols],
            aug.synthetic[cols],
            by=groups,
            quasi_identifiers=quasi,
            sensitive=context.target,
            dp=_dp_record(info),
            exact_copies_removed=int(sampled.get("exact_copies_removed") or 0),
            seed=context.seed,
        )
    except (ConfigError, DataError, ValueError) as exc:
        warnings.append(f"the privacy risks of the synthetic rows could not be measured ({exc})")
        return None
    return assessment.to_dict()


def _training_summary(aug: Augmentation, context: AugmentContext) -> dict[str, Any]:
    training: dict[str, Any] = {}
    model = aug.extras.get("model")
    history = getattr(model, "train_log_", None)
    if history:
        frame = pd.DataFrame(list(history))
        if {"step", "loss"} <= set(frame.columns):
            keep = [c for c in ("step", "loss", "val_loss") if c in frame.columns]
            training["loss_history"] = frame[keep].to_dict(orient="records")
    info = getattr(model, "train_info_", None)
    if info:
        training["info"] = dict(info)
    config_obj = getattr(model, "config", None)
    if config_obj is not None:
        training["config"] = config_obj.to_dict()
    return training
