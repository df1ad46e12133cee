"""Tables: load a patient table, infer its schema (column kinds and roles), group it
(value labels, merged groups, age bands) and audit its demographic imbalance; write
synthetic rows back in the input's own coding.

The lowest layer above :mod:`mcrage_core.util`: it imports no other package of the
library. Import from here (``from mcrage_core.tables import load_table, infer_schema``).

Modules: :mod:`.io` (load_table), :mod:`.readers` (one reader per format), :mod:`.scan`
(header, skipped lines and ragged rows of delimited text),
:mod:`.export` (safe CSV), :mod:`.vocabulary` (words roles look for), :mod:`.kinds`
(column kinds, numbers stored as text, the "too many categories" rule), :mod:`.roles`
(sensitive attributes, outcome detection), :mod:`.outcome` (positive class, 0/1
outcome), :mod:`.schema` (Schema, infer_schema), :mod:`.bands` (age bands, group
columns), :mod:`.groups` (value labels, merging small groups), :mod:`.imbalance` (the
audit), :mod:`.records` (the synthetic output contract).
"""

from __future__ import annotations

from mcrage_core.tables.bands import (
    AGE_BAND_COLUMN,
    BAND_ABOVE_LEVELS,
    DEFAULT_AGE_BANDS,
    Bands,
    add_age_band,
    age_band_labels,
    band_columns,
    group_columns,
    needs_band,
    validate_bands,
)
from mcrage_core.tables.export import neutralise_formulas, to_safe_csv
from mcrage_core.tables.groups import (
    MERGED_LABEL,
    ValueLabels,
    apply_labels,
    code_key,
    format_labels,
    invert_labels,
    merge_small_groups,
    normalise_labels,
    parse_labels,
)
from mcrage_core.tables.imbalance import (
    DEFAULT_SMALL_CELL,
    ImbalanceReport,
    audit_imbalance,
    wilson_interval,
)
from mcrage_core.tables.io import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    Source,
    list_sheets,
    load_table,
    table_warnings,
)
from mcrage_core.tables.kinds import (
    MAX_CATEGORIES,
    MAX_UNIQUE_FRACTION,
    ColumnKind,
    decimals_of,
    nearly_unique,
    too_many_categories,
)
from mcrage_core.tables.order import (
    MERGED_GROUP_LABEL,
    MISSING_GROUP_LABELS,
    group_sort_key,
    sort_groups,
    sort_rows_by_group,
)
from mcrage_core.tables.outcome import (
    binarize_target,
    detect_positive_class,
    resolve_positive_class,
)
from mcrage_core.tables.records import (
    PRIVACY_FILE,
    SIDECAR_FILE,
    SyntheticOutcome,
    contract_sidecar,
    negative_label,
    output_columns,
    synthetic_artefacts,
    to_input_coding,
)
from mcrage_core.tables.roles import SENSITIVE_KINDS, SensitiveChoice
from mcrage_core.tables.schema import ColumnInfo, ColumnRole, Schema, infer_schema, with_overrides

__all__ = [
    "MERGED_GROUP_LABEL",
    "MISSING_GROUP_LABELS",
    "group_sort_key",
    "sort_groups",
    "sort_rows_by_group",
    "AGE_BAND_COLUMN",
    "BAND_ABOVE_LEVELS",
    "DEFAULT_AGE_BANDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_SMALL_CELL",
    "MAX_CATEGORIES",
    "MAX_UNIQUE_FRACTION",
    "MERGED_LABEL",
    "SENSITIVE_KINDS",
    "PRIVACY_FILE",
    "SIDECAR_FILE",
    "SUPPORTED_EXTENSIONS",
    "Bands",
    "ColumnInfo",
    "ColumnKind",
    "ColumnRole",
    "ImbalanceReport",
    "Schema",
    "SensitiveChoice",
    "Source",
    "SyntheticOutcome",
    "ValueLabels",
    "add_age_band",
    "age_band_labels",
    "apply_labels",
    "audit_imbalance",
    "band_columns",
    "binarize_target",
    "code_key",
    "contract_sidecar",
    "decimals_of",
    "detect_positive_class",
    "format_labels",
    "group_columns",
    "infer_schema",
    "invert_labels",
    "list_sheets",
    "load_table",
    "merge_small_groups",
    "nearly_unique",
    "needs_band",
    "negative_label",
    "neutralise_formulas",
    "normalise_labels",
    "output_columns",
    "parse_labels",
    "resolve_positive_class",
    "synthetic_artefacts",
    "table_warnings",
    "to_input_coding",
    "to_safe_csv",
    "too_many_categories",
    "validate_bands",
    "wilson_interval",
    "with_overrides",
]
