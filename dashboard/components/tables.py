"""Display tables: full width, no index, sized to their rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

__all__ = ["show_table"]


def show_table(
    frame: pd.DataFrame | Styler,
    *,
    key: str | None = None,
    height: int | None = None,
    column_config: dict[str, Any] | None = None,
) -> None:
    """A display table (already formatted, e.g. by :func:`format_table`): full width,
    no index, sized to its rows up to ``height``."""
    rows = len(frame.data if isinstance(frame, Styler) else frame)  # type: ignore[attr-defined]
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(height or 420, 38 + 35 * max(rows, 1)),
        column_config=column_config,
        key=key,
    )
