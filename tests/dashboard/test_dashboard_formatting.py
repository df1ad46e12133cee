"""What a user reads on every page: numbers without float noise, with fixed decimals;
counts as whole numbers; plain-language headers; '—' or 'baseline' instead of None/nan;
age bands in age order; fairness tables narrow enough to read."""

from __future__ import annotations

import json
import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from mcrage_core.presentation.format import HUMAN_LABELS

NOISE = re.compile(r"\d\.\d{5,}")  # 0.30000000000000004, 0.8125912
MISSING_WORDS = re.compile(r"^(nan|NaN|None|<NA>|NaT)$|\bnan\b|\bNone\b")
RAW_HEADERS = set(HUMAN_LABELS)


def _texts(at: AppTest) -> list[str]:
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader"):
        out += [str(e.value) for e in at.get(kind)]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(m.proto.help or "")]
    return out


def _assert_readable(at: AppTest, *, skip_tables: tuple[int, ...] = ()) -> None:
    assert not at.exception, at.exception
    for text in _texts(at):
        assert not NOISE.search(text), text
        assert not MISSING_WORDS.search(text), text
    for i, table in enumerate(at.dataframe):
        if i in skip_tables:
            continue
        frame = table.value
        assert json.loads(table.proto.columns or "{}").get("_index", {}).get("hidden"), i
        raw = RAW_HEADERS & {str(c) for c in frame.columns}
        assert not raw, f"table {i} shows machine column names {raw}"
        for col in frame.columns:
            assert not pd.api.types.is_float_dtype(frame[col]), f"unformatted numbers in {col}"
            for cell in frame[col].tolist():
                assert isinstance(cell, str) or pd.api.types.is_integer(cell), (col, cell)
                assert not NOISE.search(str(cell)), (col, cell)
                assert not MISSING_WORDS.search(str(cell)), (col, cell)


def _chart_x(at: AppTest, i: int) -> list[str]:
    return [str(x) for x in json.loads(at.get("plotly_chart")[i].proto.spec)["data"][0]["x"]]


def test_data_imbalance_and_train_pages_read_cleanly(app, upload, support2_small_csv) -> None:
    upload(app, "small.csv", support2_small_csv)
    _assert_readable(app, skip_tables=(0,))  # table 0 is the user's own rows, as they are
    schema = app.dataframe[1].value
    assert {"Column", "Role", "Empty cells (%)"} <= set(schema.columns)

    app.switch_page("app_pages/imbalance.py").run()
    _assert_readable(app)
    app.segmented_control(key="imbalance_attribute").set_value("age (age)").run()
    _assert_readable(app)
    bands = ["<30", "30-44", "45-64", "65-79", "80+"]
    groups = app.dataframe[0].value
    assert list(groups["Group"]) == bands  # by age, not alphabetically ('<30' last)
    assert _chart_x(app, 0) == bands
    assert _chart_x(app, 1) == bands
    assert groups["Rows"].str.fullmatch(r"\d{1,3}(,\d{3})*").all()
    assert groups["Outcome rate, 95 % interval"].str.fullmatch(r"\d+\.\d % to \d+\.\d %").all()
    heatmap = json.loads(app.get("plotly_chart")[2].proto.spec)["data"][0]
    across = [str(x) for x in heatmap["x"]]
    assert across.index("female · <30") < across.index("female · 30-44")

    app.switch_page("app_pages/train.py").run()
    _assert_readable(app)
    plan = app.dataframe[0].value
    assert {"Real rows", "Rows to add"} <= set(plan.columns)


def test_results_page_reads_cleanly(results_app) -> None:
    at = results_app.switch_page("app_pages/results.py").run()
    _assert_readable(at)
    verdicts = at.dataframe[0].value  # the verdicts come first
    assert set(verdicts["Verdict"]) <= {"helped", "no measurable change", "hurt"}
    assert (
        verdicts["Change (95 % CI)"]
        .str.fullmatch(r"[+-]\d\.\d{3} \([+-]\d\.\d{3} to [+-]\d\.\d{3}\)")
        .all()
    )
    overall = at.dataframe[1].value.set_index("Strategy")
    baseline = overall.loc["No change (baseline)"]
    assert baseline["F1 score"].endswith("(baseline)")
    assert re.fullmatch(r"\d\.\d{3} \([+-]\d\.\d{3}\)", overall.iloc[1]["F1 score"])
    groups = at.dataframe[2].value
    base_rows = groups[groups["Strategy"] == "No change (baseline)"]
    assert (base_rows["Change vs baseline"] == "baseline").all()
    other = groups[groups["Strategy"] != "No change (baseline)"]
    assert other["Change vs baseline"].str.fullmatch(r"[+-]?\d\.\d{3}|—").all()
    for table in at.dataframe:
        assert table.value.shape[1] <= 7  # fits the page width without scrolling
    at.selectbox(key="attribute").set_value("sex").run()  # two large groups: gaps exist
    _assert_readable(at)
    fairness = at.dataframe[3].value
    measures = fairness.drop(columns=["Strategy", "80 % rule"])
    assert measures.iloc[0].str.fullmatch(r"\d\.\d{3} \(baseline\)").all()
    assert measures.iloc[1:].stack().str.fullmatch(r"\d\.\d{3}( \([+-]\d\.\d{3}\))?|—").all()

    at.selectbox(key="attribute").set_value("age_band").run()
    _assert_readable(at)
    groups = at.dataframe[2].value
    first = groups[groups["Strategy"] == "No change (baseline)"]["Group"].tolist()
    assert first == sorted(first, key=lambda g: -1 if g.startswith("<") else int(g[:2]))
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]
    assert bars[0].startswith("<30")


def test_notes_are_listed_once(results_app) -> None:
    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRegistry

    at = results_app.switch_page("app_pages/results.py").run()
    record = RunRegistry().list_runs(None)[0]
    results = AuditResults.from_json(record.artefact("results").read_text())
    strategy_notes = [n for ns in results.strategy_notes.values() for n in ns]
    assert strategy_notes and set(strategy_notes) <= set(results.warnings)  # the library
    expander = next(e for e in at.expander if "note(s) about this run" in e.label)
    items = [m.value for m in expander.markdown]
    assert len(items) == len(set(items)) == int(expander.label.split()[0])


def test_compare_train_and_report_pages_read_cleanly(results_app) -> None:
    at = results_app.switch_page("app_pages/compare.py").run()
    _assert_readable(at)
    per_group = at.dataframe[0].value
    assert {"Real rows", "Synthetic rows", "Detection AUC"} <= set(per_group.columns)
    at.switch_page("app_pages/train.py").run()
    _assert_readable(at)
    at.switch_page("app_pages/report.py").run()
    _assert_readable(at)


def test_pages_of_a_coded_rare_outcome_run_read_cleanly(coded_app) -> None:
    """Labels, merged groups, the rare-outcome tables and the verdicts read like the rest."""
    at = coded_app.switch_page("app_pages/results.py").run()
    _assert_readable(at)
    for table in at.dataframe:
        assert table.value.shape[1] <= 7  # fits the page width without scrolling
    at.switch_page("app_pages/compare.py").run()
    _assert_readable(at)
    at.switch_page("app_pages/report.py").run()
    _assert_readable(at)
