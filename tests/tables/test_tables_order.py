"""Group display order: age bands by their lower bound, codes by value, other labels as
they come, then the merged group, then missing."""

from __future__ import annotations

import pandas as pd

from mcrage_core.tables import DEFAULT_AGE_BANDS, age_band_labels
from mcrage_core.tables.order import group_sort_key, sort_groups, sort_rows_by_group


def test_age_bands_sort_by_their_lower_bound() -> None:
    labels = age_band_labels(DEFAULT_AGE_BANDS)
    shuffled = [labels[i] for i in (3, 4, 1, 0, 2)]
    assert sorted(shuffled) != labels  # plain text order puts '<30' last
    assert sort_groups(shuffled) == labels
    assert sort_groups(["80+", "(missing)", "other (merged)", "<30", "30-44"]) == [
        "<30",
        "30-44",
        "80+",
        "other (merged)",
        "(missing)",
    ]


def test_other_label_styles_and_codes_sort_sensibly() -> None:
    assert sort_groups(["[70-80)", "[40-50)", "> 89", "[50-60)"]) == [
        "[40-50)",
        "[50-60)",
        "[70-80)",
        "> 89",
    ]
    assert sort_groups(["10", "2", "1"]) == ["1", "2", "10"]  # coded groups
    # other labels keep their order (the audit lists them largest first)
    assert sort_groups(["white", "Black", "asian"]) == ["white", "Black", "asian"]
    assert sort_groups(["(missing)", "white", "other (merged)", "asian"]) == [
        "white",
        "asian",
        "other (merged)",
        "(missing)",
    ]
    combined = ["female · 30-44", "male · 80+", "female · <30", "male · <30"]
    assert sort_groups(combined) == [
        "female · <30",
        "female · 30-44",
        "male · <30",
        "male · 80+",
    ]
    assert group_sort_key(None) == group_sort_key("(missing)")


def test_rows_sort_by_group_and_keep_text_groups_together() -> None:
    frame = pd.DataFrame({"sex": ["m", "f", "m", "f"], "age": ["80+", "<30", "<30", "80+"]})
    shown = sort_rows_by_group(frame, ["sex", "age"])
    assert shown.to_dict("list") == {
        "sex": ["m", "m", "f", "f"],
        "age": ["<30", "80+", "<30", "80+"],
    }
    assert list(shown.index) == [0, 1, 2, 3]
    assert sort_rows_by_group(frame, ["no_such_column"]) is frame
