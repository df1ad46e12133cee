"""Coded values and small groups: value labels on the Data page shown everywhere, groups
merged by the audit, the Train page's plan equal to what the run generates, and the
readings of a rare outcome on the Results, Compare and Report pages.

Real data only: the ACTG 320 trial table (race coded 1-5 with groups of 14 and 11 rows,
sex coded 1/2, an outcome of 8 % positives)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from mcrage_core.tables.groups import MERGED_LABEL

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
ACTG320 = REPO / "tests" / "data" / "real" / "actg320.csv"
ACTG320_LABELS = "raceth=1:White,2:Black,3:Hispanic,4:Asian,5:Native American\nsex=1:Male,2:Female"
LABELS = {
    "raceth": {"1": "White", "2": "Black", "3": "Hispanic", "4": "Asian", "5": "Native American"},
    "sex": {"1": "Male", "2": "Female"},
}


def _actg320(app: AppTest, upload) -> AppTest:
    return upload(app, "actg320.csv", ACTG320.read_bytes())


def _count(text: str) -> int:
    return int(text.replace(",", ""))


# --------------------------------------------------------------------------- Data page


def test_the_choices_leave_labels_and_merging_to_the_audit() -> None:
    from dashboard.state import DEFAULT_CHOICES
    from mcrage_core.jobs import RunSettings
    from mcrage_core.jobs.settings import SCHEMA_FIELDS

    choices = {**DEFAULT_CHOICES, "target": "censor", "value_labels": LABELS, "merge_below": 20}
    settings = RunSettings.from_choices(choices)
    stored = settings.to_dict()
    assert "value_labels" not in stored["schema"] and "merge_below" not in stored["schema"]
    assert stored["audit"]["value_labels"] == LABELS and stored["audit"]["merge_below"] == 20
    assert set(stored["schema"]) == set(SCHEMA_FIELDS)
    _, schema = settings.infer(pd.read_csv(ACTG320))  # infer_schema accepts every argument
    assert schema.target == "censor"


def test_coded_columns_get_a_hint_and_labels_show_everywhere(
    app, upload, plain, set_coded_roles
) -> None:
    at = _actg320(app, upload)
    at.selectbox(key="target").set_value("censor")
    at.selectbox(key="sensitive_race").set_value("raceth")
    at.selectbox(key="sensitive_sex").set_value("sex")
    at.button(key="apply_roles").click().run()
    hint = at.text_area(key="value_labels").proto.placeholder
    assert hint.splitlines() == ["raceth=1:…,2:…,3:…,4:…,5:…", "sex=1:…,2:…"]
    assert any("raceth: 1, 2, 3, 4, 5" in plain(c.value) for c in at.caption)

    set_coded_roles(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    choices = at.session_state["mcrage_choices"]
    assert choices["value_labels"] == LABELS and choices["merge_below"] == 20
    assert at.text_area(key="value_labels").value == ACTG320_LABELS

    at.switch_page("app_pages/imbalance.py").run()
    assert not at.exception
    groups = at.dataframe[0].value
    assert list(groups["Group"]) == ["White", "Black", "Hispanic", "Asian", "Native American"]
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert "White" in [str(x) for x in bars["x"]]
    merge_note = " ".join(plain(i.value) for i in at.info)
    assert f"'{MERGED_LABEL}' (raceth: Asian, Native American)" in merge_note
    at.segmented_control(key="imbalance_attribute").set_value("sex (sex)").run()
    assert set(at.dataframe[0].value["Group"]) == {"Male", "Female"}

    at.switch_page("app_pages/train.py").run()
    assert not at.exception and not at.error
    plan = at.dataframe[0].value
    assert set(plan["raceth (merged)"]) == {"White", "Black", "Hispanic", MERGED_LABEL}
    assert "1" not in set(plan["raceth (merged)"])

    # a refresh (same address, new session) brings the labels back
    again = AppTest.from_file(str(APP), default_timeout=120)
    again.query_params["session"] = at.session_state["mcrage_owner"]
    again.run()
    assert again.text_area(key="value_labels").value == ACTG320_LABELS
    assert again.number_input(key="merge_below").value == 20


def test_value_label_mistakes_are_explained_in_plain_words(
    app, upload, plain, set_coded_roles
) -> None:
    at = _actg320(app, upload)
    set_coded_roles(at, labels="", merge_below=0)
    assert not at.error
    cases = {
        "sex=1:Male\nraceth=1White": r"Line 2: .*'1White'.*CODE:LABEL.*raceth=1:White",
        "ward__no=1:A": r"'ward__no'.*not in the table",
        "censor=0:alive,1:died": r"outcome column 'censor' keeps its own values",
        "raceth=1:2": r"'2'.*also codes of the column",
        "sex=1:Same,2:Same": r"'Same' is given to two codes",
    }
    for text, expected in cases.items():
        at.text_area(key="value_labels").set_value(text)
        at.button(key="apply_roles").click().run()
        assert not at.exception
        messages = [plain(e.value) for e in at.error]
        assert any(re.search(expected, m) for m in messages), (text, messages)
        assert not any("--labels" in m for m in messages)
        assert at.session_state["mcrage_choices"]["value_labels"] == {}
    # shown literally: '__' in a column name does not turn into bold text
    at.text_area(key="value_labels").set_value("ward__no=1:A")
    at.button(key="apply_roles").click().run()
    assert any("ward\\_\\_no" in e.value for e in at.error)


def test_a_label_for_a_code_that_never_occurs_is_pointed_out(
    app, upload, plain, set_coded_roles
) -> None:
    at = _actg320(app, upload)
    set_coded_roles(at, labels="sex=1:Male,2:Female,9:Unknown", merge_below=0)
    assert not at.exception and not at.error
    warnings = " ".join(plain(w.value) for w in at.warning)
    assert "code(s) 9 do not occur in the table" in warnings


def test_a_new_table_starts_with_an_empty_labels_form(
    app, upload, support2_small_csv, set_coded_roles
) -> None:
    at = _actg320(app, upload)
    set_coded_roles(at)
    upload(at, "small.csv", support2_small_csv)
    assert not at.exception and not at.error
    assert at.text_area(key="value_labels").value == ""
    assert at.number_input(key="merge_below").value == 0


# --------------------------------------------------------------------------- Train page


def test_a_table_too_small_to_judge_cannot_start(app, upload, plain, set_coded_roles) -> None:
    df = pd.read_csv(ACTG320)
    small = pd.concat([df[df["censor"] == 1].head(12), df[df["censor"] == 0].head(60)])
    buf = io.StringIO()
    small.to_csv(buf, index=False)
    at = upload(app, "tiny_trial.csv", buf.getvalue().encode())
    set_coded_roles(at, merge_below=0)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    problem = " ".join(plain(e.value) for e in at.error)
    assert "too small to judge" in problem and "at least 5 of each" in problem
    assert at.button(key="start_run").disabled
    assert at.dataframe[0].value is not None  # the plan is still shown


def test_small_cells_allowed_anyway_are_named(app, upload, plain, set_coded_roles) -> None:
    at = _actg320(app, upload)
    set_coded_roles(at)
    at.switch_page("app_pages/train.py").run()
    skipped = at.dataframe[0].value["MCRAGE"]
    assert (skipped != "").sum() == 4  # Black/1, Hispanic/1, other/0, other/1
    at.checkbox(key="allow_small").check().run()
    assert (at.dataframe[0].value["MCRAGE"] == "").all()
    warning = " ".join(plain(w.value) for w in at.warning)
    assert "You allowed them anyway" in warning and "other (merged) / 1 (3 rows)" in warning
    headline = next(m.value for m in at.markdown if "Augmentation plan" in m.value)
    # the default cap: never more synthetic than real rows per group (925 without it)
    assert "generate 373 synthetic rows" in plain(headline).replace("**", "")


def test_the_run_generates_what_the_train_page_promised(coded_run) -> None:
    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRegistry
    from mcrage_core.tables.records import SIDECAR_FILE

    record = RunRegistry(coded_run["home"]).get(str(coded_run["run_id"]))
    promised = re.search(r"generate \*\*([\d,]+) synthetic rows", str(coded_run["headline"]))
    assert promised, coded_run["headline"]
    side = json.loads((record.run_dir / SIDECAR_FILE).read_text())
    assert side["planned_rows_after_guardrail"] == _count(promised.group(1))
    assert side["n_rows"] == side["planned_rows_after_guardrail"]
    plan = coded_run["plan"]
    assert side["planned_rows"] == plan["Rows to add"].map(_count).sum()

    audit = record.params["audit"]
    assert audit["value_labels"] == LABELS
    assert audit["merge_below"] == 20 and audit["threshold"] == 0.4
    assert record.params["schema"]["include"] == []
    results = AuditResults.from_json(record.artefact("results").read_text())
    assert results.dataset["threshold"] == 0.4
    assert results.dataset["merged_groups"] == {"raceth (merged)": ["Asian", "Native American"]}

    synthetic = pd.read_csv(record.artefact("synthetic"))
    assert list(synthetic.columns) == list(pd.read_csv(ACTG320, nrows=0).columns)
    assert set(synthetic["raceth"]) <= {1, 2, 3, 4, 5}
    assert set(synthetic["censor"]) <= {0, 1}


# --------------------------------------------------------------------------- results


def test_results_read_a_rare_outcome_with_its_caveats(coded_app, coded_run, plain) -> None:
    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRegistry
    from mcrage_core.presentation.report import four_fifths_text

    at = coded_app.switch_page("app_pages/results.py").run()
    assert not at.exception and not at.error
    warnings = " ".join(plain(w.value) for w in at.warning)
    infos = " ".join(plain(i.value) for i in at.info)
    assert "The outcome is rare (8.3 % of patients)" in warnings
    assert "probability is at least 0.40" in infos
    assert "Threshold optimizer: its AUROC" in infos

    overall = at.dataframe[1].value
    assert {"Balanced accuracy", "PR-AUC (average precision)"} <= set(overall.columns)
    groups = at.dataframe[2].value
    assert {"White", "Black", "Hispanic", MERGED_LABEL} <= set(groups["Group"])
    rare = at.dataframe[3].value
    assert {"Balanced accuracy", "PR-AUC (average precision)"} <= set(rare.columns)
    assert rare["Balanced accuracy"].str.fullmatch(r"\d\.\d{3}|—").all()

    record = RunRegistry().get(str(coded_run["run_id"]))
    results = AuditResults.from_json(record.artefact("results").read_text())
    labels = results.dataset["strategy_labels"]
    for attribute in ("raceth (merged)", "sex"):
        at.selectbox(key="attribute").set_value(attribute).run()
        assert not at.exception
        rule = at.dataframe[4].value.set_index("Strategy")["80 % rule"]
        for strategy in results.strategies:
            assert rule[labels[strategy]] == four_fifths_text(results, strategy, attribute)
        base = at.dataframe[5].value
        assert "Real outcome rate (base rate)" in base.columns
        assert base["Real outcome rate (base rate)"].str.fullmatch(r"\d+\.\d %").all()


def test_compare_reads_verdicts_and_labelled_groups(coded_app, plain) -> None:
    at = coded_app.switch_page("app_pages/compare.py").run()
    assert not at.exception and not at.error
    verdicts = " ".join(plain(m.value) for m in at.markdown)
    assert "good ≥ 0.90, fair ≥ 0.80" in verdicts
    assert re.search(r"detection auc\*\*: \d\.\d\d · (🟢 good|🟡 fair|🔴 poor)", verdicts)
    assert any("within groups" in plain(c.value) for c in at.caption)
    groups = at.selectbox(key="compare_group").options
    assert {"Black", "Hispanic"} <= set(groups)  # the groups that got synthetic rows
    at.selectbox(key="compare_group").set_value("Black").run()
    assert not at.exception
    assert any("raceth (merged) = Black" in plain(c.value) for c in at.caption)


def test_report_offers_the_columns_sidecar(coded_app) -> None:
    at = coded_app.switch_page("app_pages/report.py").run()
    assert not at.exception and not at.error
    keys = {b.key for b in at.get("download_button")}
    assert "download_columns" in keys and "download_synthetic" in keys


def test_compare_says_why_a_run_has_no_synthetic_rows(
    no_synthetic_runs, new_app, monkeypatch, plain
) -> None:
    monkeypatch.setenv("MCRAGE_HOME", str(no_synthetic_runs["home"]))
    for run, expected in (
        ("no_cddpm", r"MCRAGE \(CDDPM\) was not among its strategies \(No change"),
        (
            "all_blocked",
            r"guardrail skipped every cell.*fewer than 1000 real training rows: "
            r"sex = (Male|Female|1|2), censor = [01] \(\d+ real training rows",
        ),
    ):
        at = new_app()
        at.query_params["session"] = no_synthetic_runs["owner"]
        at.session_state["mcrage_current_run"] = no_synthetic_runs[run]
        at.run().switch_page("app_pages/compare.py").run()
        assert not at.exception
        text = " ".join(plain(i.value) for i in at.info)
        assert re.search(expected, text), text
        assert "or every cell was too small" not in text


def test_the_coded_run_is_listed_for_its_own_session_only(coded_run, new_app, monkeypatch) -> None:
    monkeypatch.setenv("MCRAGE_HOME", str(coded_run["home"]))
    at = new_app()
    at.query_params["session"] = str(coded_run["owner"]) + "-other"
    at.run().switch_page("app_pages/results.py").run()
    assert any("No finished run yet" in i.value for i in at.info)
