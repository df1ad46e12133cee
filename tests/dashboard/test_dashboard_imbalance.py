"""Imbalance page: charts per attribute, intersection heatmap, prevalence with CIs, small cells."""

from __future__ import annotations


def test_empty_state_points_to_the_data_page(app) -> None:
    app.switch_page("app_pages/imbalance.py").run()
    assert not app.exception
    assert any("No table is loaded" in i.value for i in app.info)
    assert any("Data" in str(p.label) for p in app.get("page_link"))


def test_charts_heatmap_and_small_cell_warnings(app, upload, support2_small_csv) -> None:
    upload(app, "small.csv", support2_small_csv)
    app.switch_page("app_pages/imbalance.py").run()
    assert not app.exception
    charts = app.get("plotly_chart")
    # counts + prevalence for the chosen attribute, plus the intersection heatmap
    assert len(charts) == 3
    specs = " ".join(c.proto.spec for c in charts)
    assert '"type":"heatmap"' in specs.replace(" ", "")
    assert "error_y" in specs  # prevalence with confidence intervals
    assert "asian" in charts[0].proto.spec  # race is shown first
    app.segmented_control(key="imbalance_attribute").set_value("age (age)").run()
    assert not app.exception
    assert "80+" in app.get("plotly_chart")[0].proto.spec
    ratios = {m.label: m.value for m in app.metric}
    assert ratios["race: largest ÷ smallest group"] == "2.3×"  # 140 white vs 60 in the others
    warnings = " ".join(w.value for w in app.warning)
    assert "intersectional cells" in warnings
    assert "no value for 'race'" in warnings  # the 42 rows without race


def test_small_cell_threshold_changes_the_warnings(app) -> None:
    app.button(key="sample_support2").click().run()
    app.switch_page("app_pages/imbalance.py").run()
    assert not app.exception
    before = " ".join(w.value for w in app.warning)
    assert "Group race = asian" not in before  # 79 rows: above the default of 30
    app.number_input(key="small_cell_input").set_value(100).run()
    app.run()
    after = " ".join(w.value for w in app.warning)
    assert "Group race = asian has only 79 rows" in after
