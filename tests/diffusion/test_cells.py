"""Cell bookkeeping: levels, codes, and turning requested counts into rows per cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.diffusion.cells import (
    cell_codes,
    cell_columns,
    cells_frame,
    known_cells,
    match_level,
    resolve_counts,
    sorted_levels,
    usable_rows,
)
from mcrage_core.errors import ConfigError, DataError


@pytest.fixture()
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "race": ["white"] * 6 + ["black"] * 3 + [None],
            "died": [0, 0, 0, 0, 1, 1, 1, 1, 0, 0],
            "age": range(10),
        }
    )


def _cells(data: pd.DataFrame) -> tuple[list[str], list, pd.DataFrame]:
    cols = cell_columns(data, target="died", condition="race")
    rows, notes = usable_rows(data, cols)
    assert len(rows) == 9 and notes and "1 row(s)" in notes[0]
    levels = [sorted_levels(rows[c].tolist()) for c in cols]
    return cols, levels, cells_frame(cell_codes(rows, cols, levels), cols, levels)


def test_cells_are_counted_with_sorted_levels(data: pd.DataFrame) -> None:
    cols, levels, cells = _cells(data)
    assert cols == ["race", "died"] and levels == [["black", "white"], [0, 1]]
    assert known_cells(cells, cols) == [("black", 0), ("black", 1), ("white", 0), ("white", 1)]
    assert cells["n_real"].tolist() == [1, 2, 4, 2]


def test_full_cells_and_groups_resolve_to_codes(data: pd.DataFrame) -> None:
    cols, levels, cells = _cells(data)
    plan = resolve_counts(
        {("White", 1): 5, "black": 30, ("white", 0): 0},
        cells=cells,
        cols=cols,
        levels=levels,
    )
    # a group is split by its real outcome mix (1:2), the zero count is dropped
    assert plan == [((1, 1), 5), ((0, 0), 10), ((0, 1), 20)]
    table = pd.DataFrame({"race": ["white"], "died": [1.0], "n": [3.0]})
    assert resolve_counts(table, cells=cells, cols=cols, levels=levels) == [((1, 1), 3)]


def test_bad_requests_are_refused_with_the_known_cells(data: pd.DataFrame) -> None:
    cols, levels, cells = _cells(data)
    with pytest.raises(ConfigError, match="Known cells: black\\|0 \\(n=1\\)"):
        resolve_counts({("martian", 0): 1}, cells=cells, cols=cols, levels=levels)
    with pytest.raises(ConfigError, match="Unknown group"):
        resolve_counts({"martian": 1}, cells=cells, cols=cols, levels=levels)
    with pytest.raises(ConfigError, match="whole number"):
        resolve_counts({("white", 0): 1.5}, cells=cells, cols=cols, levels=levels)
    with pytest.raises(ConfigError, match="should name 2 values"):
        resolve_counts({("white", 0, 1): 1}, cells=cells, cols=cols, levels=levels)


def test_levels_match_by_value_then_text_then_number() -> None:
    assert match_level([0, 1], np.int64(1)) == 1
    assert match_level(["Black", "White"], " white ") == 1
    assert match_level([1, 2], "2.0") == 1
    assert match_level(["a"], "b") is None


def test_cell_columns_are_checked(data: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="at least one condition"):
        cell_columns(data, target="died", condition=[])
    with pytest.raises(ConfigError, match="listed twice"):
        cell_columns(data, target="died", condition=["race", "race"])
    with pytest.raises(ConfigError, match="available columns"):
        cell_columns(data, target="died", condition="sex")
    with pytest.raises(DataError, match="at least 2"):
        usable_rows(data.iloc[8:], ["race", "died"])
