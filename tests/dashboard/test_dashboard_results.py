"""Results page: strategies side by side, per-group metrics with n, disparities, summary."""

from __future__ import annotations

import json


def test_empty_state_points_to_training(app) -> None:
    app.switch_page("app_pages/results.py").run()
    assert not app.exception
    assert any("No finished run yet" in i.value for i in app.info)
    assert any("Train" in str(p.label) for p in app.get("page_link"))


def test_results_of_a_finished_run(results_app) -> None:
    at = results_app.switch_page("app_pages/results.py").run()
    assert not at.exception
    assert not at.error
    summary = at.info[0].value
    assert len(summary) > 40  # a plain-language paragraph
    overall = at.dataframe[1].value
    assert list(overall["Strategy"])[0].startswith("No change")
    assert len(overall) == 3  # none, oversample, cddpm
    groups = at.dataframe[2].value
    assert {"asian", "black", "hispanic", "other", "white"} <= set(groups["Group"])
    assert (groups["Test rows"].str.replace(",", "").astype(int) > 0).all()
    # per-group bars, fairness gaps, then the curves: ROC, calibration, decision threshold
    assert len(at.get("plotly_chart")) == 5
    assert "Verdicts on F1 for race" in summary  # the verdict paragraph comes first
    names = [
        str(t.get("name") or "")
        for c in at.get("plotly_chart")
        for t in json.loads(c.proto.spec)["data"]
    ]
    assert any("AUROC" in n and "n=" in n for n in names)  # ROC legend: group, n, AUROC
    assert any("Brier" in n for n in names)  # reliability diagram legend
    at.radio(key="metric").set_value("auroc").run()
    assert not at.exception
    assert "AUROC" in at.dataframe[2].value.columns
    rule = at.dataframe[3].value
    readings = {"met", "not met", "–"}
    readings |= {f"{r} (outcome rates differ: not a fairness verdict)" for r in readings}
    assert set(rule["80 % rule"]) <= readings
    infos = " ".join(i.value for i in at.info)
    assert "probability is at least 0.50" in infos  # the threshold reading
    base = at.dataframe[4].value
    assert "Real outcome rate (base rate)" in base.columns
    assert not any("outcome is rare" in w.value for w in at.warning)  # not rare here


def test_runs_of_another_session_stay_hidden(
    results_app, new_app, finished_home, monkeypatch
) -> None:
    monkeypatch.setenv("MCRAGE_HOME", str(finished_home))
    stranger = new_app()
    stranger.query_params["session"] = "someone-else-entirely-42"
    stranger.run().switch_page("app_pages/results.py").run()
    assert any("No finished run yet" in i.value for i in stranger.info)


def test_a_shared_run_can_be_opened_by_id(results_app, new_app, finished_home, monkeypatch) -> None:
    from mcrage_core.jobs import RunRegistry

    monkeypatch.setenv("MCRAGE_HOME", str(finished_home))
    registry = RunRegistry(finished_home)
    run_id = registry.list_runs(None)[0].id
    stranger = new_app()
    stranger.query_params["session"] = "someone-else-entirely-43"
    stranger.run().switch_page("app_pages/results.py").run()
    stranger.text_input(key="shared_run_id").set_value(run_id).run()
    assert any("another session" in e.value for e in stranger.error)  # not shared yet
    registry.set_shared(run_id, True, owner=registry.get(run_id).owner)
    try:
        stranger.run()
        assert not stranger.exception, stranger.exception
        assert not stranger.error, [e.value for e in stranger.error]
        assert any("Per group" in s.value for s in stranger.subheader)
    finally:
        registry.set_shared(run_id, False, owner=registry.get(run_id).owner)


def test_the_page_shows_the_reports_tables(results_app) -> None:
    """The tables come from mcrage_core.presentation.tables, as in the HTML report."""
    import pandas as pd

    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRegistry
    from mcrage_core.presentation import tables
    from mcrage_core.presentation.verdicts import verdict_table

    at = results_app.switch_page("app_pages/results.py").run()
    record = RunRegistry().list_runs(None)[0]
    results = AuditResults.from_json(record.artefact("results").read_text())
    attribute = at.selectbox(key="attribute").value
    expected = [
        tables.comparison_table(results),
        tables.group_table(results, attribute, at.radio(key="metric").value),
        tables.disparity_table(results, attribute),
        tables.base_rate_table(results, attribute),
    ]
    verdicts = verdict_table(
        results,
        attribute=at.selectbox(key="verdict_attribute").value,
        metric=at.radio(key="verdict_metric").value,
        compact=True,
    )
    for shown, table in zip(at.dataframe, [verdicts, *expected], strict=True):
        pd.testing.assert_frame_equal(
            shown.value.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False
        )
