"""The prepared table of an audit: the 0/1 outcome, the group columns (age bands, merged
groups, the intersection of rebalanced columns), the model inputs and the record columns
a generator must produce.

>>> prep = prepare(df, schema, AuditConfig("died", sensitive=("race", "age")))  # doctest: +SKIP
>>> prep.attributes  # doctest: +SKIP
{'race': 'race', 'age_band': 'age'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.tables import (
    MERGED_LABEL,
    Bands,
    Schema,
    apply_labels,
    band_columns,
    binarize_target,
    code_key,
    detect_positive_class,
    merge_small_groups,
    negative_label,
    resolve_positive_class,
)

__all__ = ["Prepared", "prepare", "prepare_labelled", "outcome_labels"]


@dataclass
class Prepared:
    """The table an audit runs on, and what each of its columns is for."""

    df: pd.DataFrame  # real rows with binary target and group columns
    target: str
    positive_class: str
    features: list[str]  # inputs of the downstream classifier
    attributes: dict[str, str]  # group column -> source column
    rebalance: list[str]  # group columns rebalanced
    primary: str  # attribute key used for the plan, split and primary disparity
    n_missing_target: int
    warnings: list[str] = field(default_factory=list)
    bands: Bands = field(default_factory=dict)  # banded group columns that are rebalanced
    columns: list[str] = field(default_factory=list)  # record columns a generator makes
    source_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    merged: dict[str, list[str]] = field(default_factory=dict)  # group column -> merged groups
    derived: list[str] = field(default_factory=list)  # helper columns (bands, merges, ×)
    intersections: list[str] = field(default_factory=list)  # "race × sex": also evaluated


@dataclass
class _Groups:
    """The group columns added to the working table."""

    attributes: dict[str, str] = field(default_factory=dict)
    bands: Bands = field(default_factory=dict)
    merged: dict[str, list[str]] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)


def prepare_labelled(
    df: pd.DataFrame, schema: Schema, config: AuditConfig
) -> tuple[pd.DataFrame, Prepared]:
    """The table with the config's value labels applied, and its :func:`prepare` form.

    The outcome column keeps its own values (its positive class is named in them)."""
    labels = dict(config.value_labels or {})
    warnings = []
    if config.target in labels:
        labels.pop(config.target)
        warnings.append(
            f"value labels for the outcome column {config.target!r} were not used: the outcome "
            "keeps its own values"
        )
    labelled, more = apply_labels(df, labels)
    prep = prepare(labelled, schema, config)
    prep.warnings[:0] = [*warnings, *more]
    return labelled, prep


def prepare(df: pd.DataFrame, schema: Schema, config: AuditConfig) -> Prepared:
    """The :class:`Prepared` table of ``df`` for ``config``.

    Raises
    ------
    ConfigError, DataError
        Unknown columns, an outcome with one value, no sensitive or no feature column.
    """
    work, positive, n_missing, warnings = _binary_outcome(df, schema, config)
    target = config.target
    sensitive = _sensitive(work, schema, config)
    work, groups = _group_columns(work, schema, sensitive, config, warnings)
    work, rebalance, primary = _rebalanced(work, schema, sensitive, groups, config)
    columns, features = _record_columns(df, schema, groups, target, config)
    intersections = _intersections(work, groups, config, primary)
    for g, src in groups.attributes.items():
        n_miss = int(work[g].isna().sum())
        if n_miss:
            warnings.append(
                f"{n_miss} row(s) have no value for {src!r}: they are kept for training but "
                "are not counted as a group"
            )
    return Prepared(
        df=work.reset_index(drop=True),
        target=target,
        positive_class=str(positive),
        features=features,
        attributes=groups.attributes,
        rebalance=rebalance,
        primary=primary,
        n_missing_target=n_missing,
        warnings=warnings,
        bands={k: v for k, v in groups.bands.items() if k in rebalance},
        columns=columns,
        source_index=work.index.to_numpy(),
        merged=groups.merged,
        derived=groups.derived,
        intersections=intersections,
    )


def _intersections(
    work: pd.DataFrame, groups: _Groups, config: AuditConfig, primary: str
) -> list[str]:
    """Add the intersection of two sensitive attributes (``config.intersect``, or the
    first two) as a group column, ``"race × sex"``; its name, or nothing."""
    names = list(groups.attributes)
    if config.intersect is None:
        pair = names[:2]
    else:
        pair = []
        for col in config.intersect:
            match = [g for g, src in groups.attributes.items() if col in (g, src)]
            if not match:
                raise ConfigError(
                    f"the column {col!r} to intersect is not one of the sensitive attributes "
                    f"({', '.join(dict.fromkeys(groups.attributes.values()))})"
                )
            pair.append(match[0])
    if len(pair) != 2 or pair[0] == pair[1] or " × ".join(pair) == primary:
        return []
    return [_add_intersection(work, groups, pair)]


def _add_intersection(work: pd.DataFrame, groups: _Groups, columns: list[str]) -> str:
    """Add the group column ``"a × b"`` of ``columns`` (missing where any part is) to
    ``work`` as a helper column; its name."""
    name = " × ".join(columns)
    known = work[columns].notna().all(axis=1).to_numpy()
    inter = pd.Series(np.nan, index=work.index, dtype=object)
    if known.any():
        # column by column (a row at a time was about 80 µs a row): each part as str()
        # writes it, the parts joined with " × "
        parts = [work.loc[known, c].astype(object).map(str).to_numpy(dtype=object) for c in columns]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined + " × " + part
        inter.loc[known] = joined
    work[name] = inter
    groups.derived.append(name)
    return name


def _binary_outcome(
    df: pd.DataFrame, schema: Schema, config: AuditConfig
) -> tuple[pd.DataFrame, str, int, list[str]]:
    """The rows with an outcome, the outcome as 0/1, the positive class, the rows left out."""
    if not isinstance(df, pd.DataFrame) or df.empty:
        raise DataError("the table is empty; load a table with rows first")
    target = config.target
    if target not in df.columns:
        raise ConfigError(
            f"the outcome column {target!r} is not in the table; available columns: "
            f"{', '.join(map(str, df.columns))}"
        )
    positive = config.positive_class
    if positive is None and schema.target == target:
        positive = schema.positive_class
    if positive is None:
        positive = detect_positive_class(df[target])
    values = df[target].dropna().astype(str).unique()
    if len(values) < 2:
        raise DataError(
            f"the outcome column {target!r} has only one value ({', '.join(values) or 'none'}); "
            "a model needs both outcomes in the data"
        )
    # as written in the column ('1' given, '1.0' stored because of a blank)
    positive = resolve_positive_class(df[target], positive, target)
    warnings: list[str] = []
    if len(values) > 2:
        warnings.append(
            f"the outcome {target!r} has {len(values)} values; it was made binary: "
            f"{positive!r} versus all others"
        )
    y = binarize_target(df[target], positive)
    n_missing = int(y.isna().sum())
    if n_missing:
        warnings.append(f"{n_missing} row(s) without an outcome in {target!r} were left out")
    work = df.loc[y.notna()].copy()
    work[target] = y.loc[y.notna()].astype(int).to_numpy()
    if work[target].nunique() < 2:
        raise DataError(f"after removing rows without an outcome, {target!r} has one value only")
    return work, str(positive), n_missing, warnings


def _sensitive(work: pd.DataFrame, schema: Schema, config: AuditConfig) -> list[str]:
    sensitive = list(config.sensitive) or list(dict.fromkeys(schema.sensitive.values()))
    if not sensitive:
        raise ConfigError(
            "no sensitive attribute was given or detected; name the race, sex or age "
            "column(s) to audit (for example --sensitive race)"
        )
    missing = [c for c in sensitive if c not in work.columns]
    if missing:
        raise ConfigError(
            f"sensitive column(s) {', '.join(map(repr, missing))} not in the table; available "
            f"columns: {', '.join(map(str, work.columns))}"
        )
    if config.target in sensitive:
        raise ConfigError(f"the outcome {config.target!r} cannot also be a sensitive attribute")
    return sensitive


def _group_columns(
    work: pd.DataFrame,
    schema: Schema,
    sensitive: list[str],
    config: AuditConfig,
    warnings: list[str],
) -> tuple[pd.DataFrame, _Groups]:
    """One group column per sensitive column: its age band, its merged form or itself;
    group values as text (a coded column with a blank, floats 1.0, 2.0, reads 1, 2)."""
    work, bands = band_columns(work, schema, sensitive)
    band_of = {src: name for name, (src, _) in bands.items()}
    groups = _Groups(bands=bands)
    for col in sensitive:
        if col in band_of:
            name = band_of[col]
            work[name] = work[name].astype(object).where(work[name].notna(), np.nan)
            groups.attributes[name] = col
            groups.derived.append(name)
            continue
        if config.merge_below:
            grouped, small = merge_small_groups(work[col], min_rows=int(config.merge_below))
            if small:
                name = f"{col} (merged)"
                work[name] = grouped.to_numpy()
                groups.attributes[name] = col
                groups.merged[name] = small
                groups.derived.append(name)
                warnings.append(
                    f"{col}: group(s) {', '.join(small)} have fewer than {config.merge_below} "
                    f"rows and are analysed together as '{col}: {MERGED_LABEL}'"
                )
                continue
        groups.attributes[col] = col
    merged_sources = [src for g, src in groups.attributes.items() if g in groups.merged]
    for gcol in [*groups.attributes, *merged_sources]:
        work[gcol] = _code_keys(work[gcol])
    return work, groups


# Kinds of column (pandas.api.types.infer_dtype) in which values that pandas counts as the
# same value (1 and 1.0) have the same code_key, so it can be worked out once per value.
_ONE_KEY_PER_VALUE = {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}


def _code_keys(col: pd.Series) -> pd.Series:
    """:func:`code_key` of every value of ``col`` (missing stays missing), once per
    distinct value where that gives the same keys, else value by value."""
    values = col.astype(object)
    if pd.api.types.infer_dtype(values, skipna=True) not in _ONE_KEY_PER_VALUE:
        return values.map(lambda v: np.nan if pd.isna(v) else code_key(v))
    codes, uniques = pd.factorize(values)  # a missing value: -1, the last key below
    keys = np.array([*(code_key(v) for v in uniques), np.nan], dtype=object)
    return pd.Series(keys[codes], index=col.index, name=col.name).infer_objects()


def _rebalanced(
    work: pd.DataFrame,
    schema: Schema,
    sensitive: list[str],
    groups: _Groups,
    config: AuditConfig,
) -> tuple[pd.DataFrame, list[str], str]:
    """The rebalanced group columns and the primary attribute (their intersection)."""
    reb_input = list(config.rebalance)
    if not reb_input:
        race = schema.sensitive.get("race")
        reb_input = [race] if race in sensitive else [sensitive[0]]
    rebalance: list[str] = []
    for col in reb_input:
        match = [g for g, src in groups.attributes.items() if col in (g, src)]
        if not match:
            raise ConfigError(
                f"the column to rebalance {col!r} is not one of the sensitive attributes "
                f"({', '.join(sensitive)}); add it with --sensitive too"
            )
        rebalance.append(match[0])
    rebalance = list(dict.fromkeys(rebalance))
    primary = rebalance[0] if len(rebalance) == 1 else _add_intersection(work, groups, rebalance)
    return work, rebalance, primary


def _record_columns(
    df: pd.DataFrame, schema: Schema, groups: _Groups, target: str, config: AuditConfig
) -> tuple[list[str], list[str]]:
    """The record columns a generator must produce (every modelled input column, the
    sensitive ones included unless excluded, never helper columns) and the features."""
    excluded = set(schema.excluded or {})
    modelled = schema.features or list(df.columns)
    columns = [
        c
        for c in modelled
        if c in df.columns and c != target and c not in excluded and c not in groups.derived
    ]
    for src in dict.fromkeys(groups.attributes.values()):
        if src not in columns and src not in excluded and src != target:
            columns.append(src)
    sources = set(groups.attributes.values())
    features = [c for c in columns if config.sensitive_as_features or c not in sources]
    if not features:
        raise ConfigError(
            "no feature columns are left to train a model on (all columns are the outcome, "
            "sensitive attributes or excluded); include more columns"
        )
    return columns, features


def outcome_labels(prep: Prepared, reference: pd.DataFrame) -> dict[int, Any]:
    """The user's own outcome values for ``1`` and ``0`` (native type: ``1`` stays an int,
    ``"Yes"`` a string)."""
    values = reference[prep.target].dropna()

    def plain(v: Any) -> Any:
        v = v.item() if hasattr(v, "item") else v
        if isinstance(v, float) and v.is_integer():
            return int(v)  # a 0/1 column with a blank is read as 0.0/1.0; the file says 0/1
        return v

    native = {str(v): plain(v) for v in pd.unique(values)}
    negative = negative_label(values, prep.positive_class)
    return {
        1: native.get(prep.positive_class, prep.positive_class),
        0: native.get(negative, negative) if negative is not None else "other",
    }
