"""7 · Compare runs: two real finished runs of one session side by side (real worker,
real pipeline), and the empty state with fewer than two."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
OWNER = "dashboard-tests-compare-0001"


@pytest.fixture(scope="module")
def two_runs_home(tmp_path_factory: pytest.TempPathFactory, support2_small_csv: bytes) -> Path:
    from mcrage_core.jobs import RunRegistry

    home = tmp_path_factory.mktemp("two_runs_home")
    registry = RunRegistry(home)
    df = pd.read_csv(io.BytesIO(support2_small_csv))
    audit = {"rebalance": ["race"], "strategies": ["none", "oversample"], "classifier": "logreg"}
    for extra in ({"folds": 1, "n_seeds": 1}, {"folds": 3, "n_seeds": 1, "plan_mode": "targeted"}):
        registry.start_run(OWNER, {"schema": {}, "audit": {**audit, **extra}, "table": "s.csv"}, df)
    deadline = time.monotonic() + 600
    while any(r.is_active for r in registry.list_runs(None)) and time.monotonic() < deadline:
        time.sleep(0.5)
        registry.refresh()
    assert all(r.status == "succeeded" for r in registry.list_runs(None))
    return home


def test_two_finished_runs_side_by_side(two_runs_home, monkeypatch) -> None:
    monkeypatch.setenv("MCRAGE_HOME", str(two_runs_home))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["session"] = OWNER
    at.run().switch_page("app_pages/compare_runs.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    differs = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert re.search(r"plan: (max|targeted) in A .*, (max|targeted) in B", differs), differs
    assert "cross-validation folds" in differs
    verdicts = at.dataframe[0].value
    assert {"Strategy", "Group", "Agree"} <= set(verdicts.columns)
    assert set(verdicts["Agree"]) <= {"yes", "no"}
    groups = at.dataframe[1].value
    assert any("n =" in str(v) for v in groups.iloc[:, 2])  # every number with its n
    assert len(at.get("plotly_chart")) == 1
    assert at.get("download_button")
    at.radio(key="compare_metric").set_value("auroc").run()
    assert not at.exception


def test_fewer_than_two_runs_points_to_the_train_page(results_app) -> None:
    at = results_app.switch_page("app_pages/compare_runs.py").run()
    assert not at.exception
    assert any("needs two finished runs" in i.value for i in at.info)
