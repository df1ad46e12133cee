"""Train page: plan, presets, device, background run with live progress, cancel, past runs."""

from __future__ import annotations

import time


def test_without_a_table_past_runs_are_still_listed(results_app) -> None:
    at = results_app.switch_page("app_pages/train.py").run()
    assert not at.exception
    assert any("Load a table" in i.value for i in at.info)
    past = at.dataframe[0].value
    assert list(past["Status"]) == ["succeeded"]
    assert past["Duration"].iloc[0].endswith(("s", "min"))
    assert "succeeded" in " ".join(m.value for m in at.markdown)  # the selected run


def test_plan_presets_start_and_cancel(app, upload, support2_small_csv) -> None:
    upload(app, "small.csv", support2_small_csv)
    at = app.switch_page("app_pages/train.py").run()
    assert not at.exception
    plan = at.dataframe[0].value
    assert {"race", "Real rows", "Rows to add"} <= set(plan.columns)
    to_add = plan["Rows to add"].str.replace(",", "").astype(int)
    assert to_add[plan["race"] == "white"].sum() == 0 and to_add.sum() > 0  # largest: nothing
    assert at.radio(key="preset").options[:4] == ["Tiny (test)", "Quick", "Standard", "Thorough"]
    device = " ".join(m.value for m in at.markdown)
    assert "CPU" in device or "GPU" in device
    at.multiselect(key="rebalance").set_value(["race", "sex"]).run()
    assert {"race", "sex"} <= set(at.dataframe[0].value.columns)
    at.multiselect(key="rebalance").set_value(["race"]).run()

    at.radio(key="preset").set_value("quick")
    at.button(key="start_run").click().run()
    assert not at.exception and not at.error
    status = " ".join(m.value for m in at.markdown if m.value.startswith("Run `"))
    assert "running" in status or "queued" in status
    assert at.get("progress")  # live progress bar
    at.button(key="cancel_run").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        at.run()
        status = " ".join(m.value for m in at.markdown if m.value.startswith("Run `"))
        if "cancelled" in status or "failed" in status:
            break
        time.sleep(0.5)
    assert "cancelled" in status
    assert at.button(key="resume_run") is not None
    assert list(at.dataframe[-1].value["Status"]) == ["cancelled"]


def _headline(at, plain) -> str:
    text = next(m.value for m in at.markdown if "Augmentation plan" in m.value)
    return plain(text).replace("**", "")


def test_small_cells_are_flagged_before_training(app, upload, support2_small_csv, plain) -> None:
    upload(app, "small.csv", support2_small_csv)
    at = app.switch_page("app_pages/train.py").run()
    assert not at.exception
    at.number_input(key="min_cell_rows").set_value(1).run()
    assert (at.dataframe[0].value["MCRAGE"] == "").all()
    assert not any("MCRAGE:" in w.value for w in at.warning)
    at.number_input(key="min_cell_rows").set_value(1000).run()
    warnings = " ".join(plain(w.value) for w in at.warning)
    assert "MCRAGE: no synthetic rows for race = " in warnings and "fewer than 1000" in warnings
    plan = at.dataframe[0].value
    to_add = plan["Rows to add"].str.replace(",", "").astype(int)
    assert (plan.loc[to_add > 0, "MCRAGE"] != "").all()  # every cell with rows to add skipped
    headline = _headline(at, plain)
    assert "generate 0 synthetic rows" in headline and f"asks for {to_add.sum():,}" in headline
    at.checkbox(key="allow_small").check().run()
    warnings = " ".join(w.value for w in at.warning)
    assert "You allowed them anyway" in warnings
    at.number_input(key="min_cell_rows").set_value(1).run()
    assert not any("Privacy" in w.value or "MCRAGE:" in w.value for w in at.warning)


def test_the_plan_counts_the_training_split_of_the_chosen_settings(
    app, upload, support2_small_csv, plain
) -> None:
    """The headline is the library's preview of this very run (its split and guardrail)."""
    import io

    import pandas as pd

    from mcrage_core.evaluation import AuditConfig, preview_plan
    from mcrage_core.tables import infer_schema

    upload(app, "small.csv", support2_small_csv)
    at = app.switch_page("app_pages/train.py").run()
    caption = next(plain(c.value) for c in at.caption if "real rows with an outcome" in c.value)
    df = pd.read_csv(io.BytesIO(support2_small_csv))
    coerced, schema = infer_schema(df)
    folds = 1  # the test session's evaluation: one hold-out split
    config = AuditConfig(schema.target, rebalance=("race",), folds=folds, seeds=1)
    preview = preview_plan(coerced, schema, config)
    assert f"{preview.n_train:,} train the models" in caption
    assert f"{preview.n_test:,} real rows are held out" in caption
    headline = _headline(at, plain)
    assert f"generate {preview.n_add_cddpm:,} synthetic rows" in headline
    at.multiselect(key="strategies").set_value(["none", "oversample"]).run()
    headline = _headline(at, plain)
    assert "MCRAGE (CDDPM) is not among the strategies" in headline
    assert "MCRAGE" not in at.dataframe[0].value.columns  # nothing is skipped by it
