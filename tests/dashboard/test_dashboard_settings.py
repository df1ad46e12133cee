"""What the dashboard saves is exactly what the worker runs: the Train page builds one
:class:`~mcrage_core.jobs.RunSettings`, previews it, and stores ``settings.to_dict()``; the
worker reads the same object back and builds its schema and audit config from it."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd

from dashboard.state import OWNER, RUN_SETTINGS
from mcrage_core.diffusion import CDDPMConfig
from mcrage_core.jobs import DEFAULTS, RunRegistry, RunSettings

SUPPORT2 = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
OPTIONS = (
    "strategies",
    "device",
    "plan_mode",
    "plan_worst",
    "max_synthetic_ratio",
    "train_steps",
    "min_cell_rows",
    "allow_small_cells",
    "threshold",
)


def _table() -> bytes:
    """300 real SUPPORT2 rows with an identifier column (excluded until brought back)."""
    df = pd.read_csv(SUPPORT2).head(300)
    df.insert(0, "patient_id", range(1000, 1300))
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


def test_the_worker_runs_exactly_the_settings_the_page_showed(app, upload, mcrage_home) -> None:
    at = upload(app, "ward.csv", _table())
    assert not at.exception
    at.selectbox(key="target").set_value("died_within_6_months")
    at.selectbox(key="sensitive_race").set_value("race")
    at.selectbox(key="sensitive_sex").set_value("sex")
    at.selectbox(key="sensitive_age").set_value("age")
    at.text_input(key="age_bands").set_value("40, 60, 75")
    excluded = at.multiselect(key="exclude").value
    assert "patient_id" in excluded  # an identifier, kept out automatically
    at.multiselect(key="exclude").set_value([*(c for c in excluded if c != "patient_id"), "income"])
    at.button(key="apply_roles").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    at.switch_page("app_pages/train.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    untouched = at.session_state[RUN_SETTINGS]
    for name in OPTIONS:  # the widgets start at the one set of defaults
        assert getattr(untouched, name) == getattr(DEFAULTS, name), name

    at.multiselect(key="rebalance").set_value(["race", "sex"])
    at.multiselect(key="strategies").set_value(["none", "oversample", "cddpm"])
    at.radio(key="preset").set_value("tiny")
    at.radio(key="evaluation").set_value("check")
    at.radio(key="plan_mode").set_value("targeted")
    at.selectbox(key="device").set_value("cpu")
    at.number_input(key="threshold").set_value(0.4).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = at.session_state[RUN_SETTINGS]
    assert (shown.folds, shown.n_seeds, shown.plan_mode) == (3, 1, "targeted")
    at.button(key="start_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    registry = RunRegistry(mcrage_home)
    (record,) = registry.list_runs(None)
    try:
        saved = RunSettings.from_dict(record.params)
        assert saved == shown
        assert record.settings == shown

        # the worker's own calls on the table it saved
        data = pd.read_parquet(record.artefact("input"))
        _, schema = saved.infer(data)
        assert "patient_id" not in schema.excluded  # brought back with include
        assert saved.include == ("patient_id",)
        assert schema.excluded.get("income") == "excluded by the user"
        assert schema.age_bands == (40, 60, 75)
        assert schema.target == "died_within_6_months"
        config = saved.audit_config(schema)
        assert config.strategies == ("none", "oversample", "cddpm")
        assert (config.seeds, config.folds, config.plan_mode) == (1, 3, "targeted")
        assert saved.preset == "tiny"
        assert config.cddpm_config == CDDPMConfig.preset("tiny", device="cpu")
        assert config.threshold == 0.4
        assert set(config.rebalance) == {"race", "sex"}
    finally:
        registry.cancel(record.id, owner=str(at.session_state[OWNER]))
        deadline = time.monotonic() + 120
        while registry.get(record.id).is_active and time.monotonic() < deadline:
            time.sleep(0.5)
            registry.refresh()
