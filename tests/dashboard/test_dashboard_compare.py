"""Compare page: real vs synthetic per column and group, correlation difference, projection,
fidelity and privacy scores with explanations."""

from __future__ import annotations


def test_empty_state_points_to_training(app) -> None:
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    assert any("Train" in str(p.label) for p in app.get("page_link"))


def test_compare_a_group_and_a_column(results_app) -> None:
    at = results_app.switch_page("app_pages/compare.py").run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 3  # overlay, correlation difference, projection
    labels = {m.label for m in at.metric}
    assert {"Detection AUC", "Exact copies", "Column shapes"} <= labels
    assert all(m.help for m in at.metric)  # every score is explained
    groups = at.selectbox(key="compare_group").options
    assert "asian" in groups
    at.selectbox(key="compare_group").set_value("asian")
    at.selectbox(key="column").set_value("heart_rate")
    at.run()
    assert not at.exception
    assert any("race = asian" in c.value for c in at.caption)
    per_group = at.dataframe[0].value
    assert "asian" in set(per_group["race"].astype(str))
