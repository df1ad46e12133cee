"""How numbers, column names and group labels are shown to people: one place for the
dashboard, the HTML report and the CLI, so that the wording and the rounding cannot drift.

Nothing here imports streamlit or plotly; every function is pure.

Examples
--------
>>> fmt_number(0.1 + 0.2)
'0.30'
>>> fmt_count(9105)
'9,105'
>>> fmt_pct(0.3)
'30.0 %'
>>> fmt_interval(0.30000000000000004, 0.45)
'0.30 to 0.45'
>>> fmt_signed(None)
'—'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from mcrage_core.presentation.labels import HUMAN_LABELS, human_label, humanize_columns

__all__ = [
    "MISSING",
    "NO_VALUE",
    "BASELINE",
    "HUMAN_LABELS",
    "is_missing",
    "fmt_number",
    "fmt_signed",
    "fmt_count",
    "fmt_pct",
    "fmt_interval",
    "fmt_change",
    "fmt_with_change",
    "fmt_estimate",
    "fmt_duration",
    "fmt_group",
    "fmt_value",
    "human_label",
    "humanize_columns",
    "format_table",
    "training_sentence",
]

NO_VALUE = "—"
"""Shown where a number does not exist (missing, not computed, not applicable)."""
MISSING = NO_VALUE
BASELINE = "baseline"
"""Shown as the baseline's change against itself."""


Formatter = Callable[[object], str]

# --------------------------------------------------------------------------- numbers


def is_missing(x: object) -> bool:
    """``True`` for ``None``, NaN, NA and non-finite numbers."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, str):
        return False
    if isinstance(x, (int, numbers.Integral)):
        return False
    if isinstance(x, numbers.Real):  # float and numpy scalars
        return not math.isfinite(float(x))
    try:
        return bool(pd.isna(x)) or not math.isfinite(_float(x))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return False


def _float(x: object) -> float:
    return float(x)  # type: ignore[arg-type]


def _zero_if_tiny(value: float, decimals: int) -> float:
    # avoid "-0.00": a value that rounds to zero is shown as zero
    return 0.0 if round(value, decimals) == 0 else value


def fmt_number(x: object, decimals: int = 2) -> str:
    """A number with a fixed count of decimals and thousands separators (``'1,234.50'``);
    ``'—'`` where there is no number."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(_float(x), decimals)
    return f"{value:,.{decimals}f}"


def fmt_signed(x: object, decimals: int = 2) -> str:
    """A change with its sign (``'+0.05'``, ``'-0.10'``, ``'0.00'``); ``'—'`` if none."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(_float(x), decimals)
    if value == 0:
        return f"{0.0:.{decimals}f}"
    return f"{value:+,.{decimals}f}"


def fmt_count(n: object) -> str:
    """A count as a whole number with thousands separators (``'9,105'``)."""
    if is_missing(n):
        return NO_VALUE
    return f"{round(_float(n)):,}"


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A share (0–1) as a percentage (``0.3`` → ``'30.0 %'``)."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(100 * _float(x), decimals)
    return f"{value:,.{decimals}f} %"


def fmt_interval(lo: object, hi: object, *, decimals: int | None = None, pct: bool = False) -> str:
    """A confidence interval (``'0.30 to 0.45'``, or ``'30.0 % to 45.0 %'`` with ``pct``;
    ``decimals`` defaults to 2, or 1 for percentages)."""
    if is_missing(lo) or is_missing(hi):
        return NO_VALUE
    places = decimals if decimals is not None else (1 if pct else 2)
    fmt: Formatter = (lambda v: fmt_pct(v, places)) if pct else (lambda v: fmt_number(v, places))
    return f"{fmt(lo)} to {fmt(hi)}"


def fmt_change(change: object, *, decimals: int = 3, baseline: bool = False) -> str:
    """A change against the baseline (``'+0.013'``); ``'baseline'`` for the baseline's
    change against itself, ``'—'`` where none was computed."""
    if baseline:
        return BASELINE
    return fmt_signed(change, decimals)


def fmt_with_change(
    value: object, change: object, *, decimals: int = 3, baseline: bool = False
) -> str:
    """A value with its change against the baseline: ``'0.812 (+0.013)'``; the baseline
    itself reads ``'0.800 (baseline)'``."""
    text = fmt_number(value, decimals)
    if text == NO_VALUE:
        return NO_VALUE
    if baseline:
        return f"{text} ({BASELINE})"
    if is_missing(change):
        return text
    return f"{text} ({fmt_signed(change, decimals)})"


def fmt_estimate(
    value: object, lo: object, hi: object, *, decimals: int = 3, signed: bool = False
) -> str:
    """A value with its 95 % interval: ``'0.812 (0.790 to 0.833)'``; with ``signed`` (a
    change) every number carries its sign: ``'+0.013 (-0.004 to +0.030)'``. The value
    alone where the interval is missing, ``'—'`` where the value is."""
    fmt: Formatter = (
        (lambda v: fmt_signed(v, decimals)) if signed else (lambda v: fmt_number(v, decimals))
    )
    text = fmt(value)
    if text == NO_VALUE or is_missing(lo) or is_missing(hi):
        return text
    return f"{text} ({fmt(lo)} to {fmt(hi)})"


def fmt_duration(seconds: object) -> str:
    """``42`` → ``'42 s'``, ``130`` → ``'2 min 10 s'``, ``7300`` → ``'2 h 01 min'``."""
    if is_missing(seconds):
        return NO_VALUE
    total = max(0, round(_float(seconds)))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {(total % 3600) // 60:02d} min"


def fmt_group(label: object) -> str:
    """A group label as text; a missing label reads ``'(missing)'``."""
    return "(missing)" if is_missing(label) else str(label)


def fmt_value(x: object, decimals: int = 2) -> str:
    """Any cell value as text: whole numbers with thousands separators, other numbers
    with ``decimals`` decimals, booleans as yes/no, missing as ``'—'``."""
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt_value(v, decimals) for v in x)
    if is_missing(x):
        return NO_VALUE
    if isinstance(x, numbers.Integral):
        return fmt_count(x)
    if isinstance(x, numbers.Real):
        return fmt_number(x, decimals)
    return str(x)


# --------------------------------------------------------------------------- tables


def format_table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    decimals: int = 2,
) -> pd.DataFrame:
    """A display copy of ``df``: every cell as text (``formats`` per column, otherwise
    :func:`fmt_value`), headers in plain language. For tables shown to people only;
    keep the numbers for computing."""
    formats = dict(formats or {})
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        fmt = formats.get(str(col)) or (lambda v: fmt_value(v, decimals))
        out[col] = [fmt(v) for v in df[col].tolist()]
    return humanize_columns(out, labels)


def training_sentence(training: Mapping[str, object]) -> str:
    """How the generator trained, in one sentence (empty when nothing is known).

    ``training`` is an audit's training summary: ``config`` (the model settings) and
    ``info`` (:attr:`CDDPM.train_info_ <mcrage_core.diffusion.CDDPM.train_info_>`).
    """
    info = training.get("info")
    if not isinstance(info, Mapping) or not info.get("steps"):
        return ""
    text = (
        f"The generator trained for {fmt_count(info['steps'])} steps in "
        f"{fmt_duration(info.get('wall_s'))} on {info.get('device', 'the CPU')}"
    )
    why = info.get("stopped_because")
    budget = info.get("time_budget_s")
    if why:
        text += f" and {why}"
        if info.get("stop_reason") == "time" and budget:
            text += f" of {fmt_duration(budget)}"
    elif budget:
        text += f" (time budget {fmt_duration(budget)})"
    n_val = info.get("validation_rows")
    if n_val:
        text += f"; {fmt_count(n_val)} rows were held out to check it on unseen data"
    return text + "."
