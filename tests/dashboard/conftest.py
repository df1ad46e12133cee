"""Fixtures for the dashboard AppTests: the real app, a private run registry, small real data."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
SUPPORT2 = REPO / "sample_data" / "support2.csv"


def app_test() -> AppTest:
    """The real app, offering the test-only "tiny" model preset (seeded session key)."""
    from dashboard.state import TEST_PRESETS

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[TEST_PRESETS] = True
    return at


@pytest.fixture()
def mcrage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mcrage_home"
    monkeypatch.setenv("MCRAGE_HOME", str(home))
    return home


@pytest.fixture()
def new_app(mcrage_home: Path) -> Callable[[], AppTest]:
    def make() -> AppTest:
        return app_test()

    return make


@pytest.fixture()
def app(new_app: Callable[[], AppTest]) -> AppTest:
    return new_app().run()


@pytest.fixture(scope="session")
def support2_small_csv() -> bytes:
    """400 real SUPPORT2 rows (every race group present), as CSV bytes."""
    df = pd.read_csv(SUPPORT2)
    parts = [g.head(140 if race == "white" else 60) for race, g in df.groupby("race", dropna=False)]
    small = pd.concat(parts).sample(frac=1.0, random_state=0)
    buf = io.StringIO()
    small.to_csv(buf, index=False)
    return buf.getvalue().encode()


def _upload(at: AppTest, name: str, content: bytes, mime: str = "text/csv") -> AppTest:
    at.switch_page("app_pages/data.py").run()
    at.file_uploader(key="upload").set_value((name, content, mime))
    return at.run()


@pytest.fixture()
def upload() -> Callable[..., AppTest]:
    """``upload(at, name, content)``: put a file into the Data page's uploader and rerun."""
    return _upload


def plain(markdown: str) -> str:
    """Text of a markdown string whose punctuation was escaped (``\\_`` → ``_``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture(name="plain")
def plain_fixture() -> Callable[[str], str]:
    """``plain(markdown)``: the text a user reads in an escaped markdown string."""
    return plain


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture()
def metrics() -> Callable[[AppTest], dict[str, str]]:
    return metric_values


OWNER = "dashboard-tests-owner-0001"


@pytest.fixture(scope="session")
def finished_home(tmp_path_factory: pytest.TempPathFactory, support2_small_csv: bytes) -> Path:
    """A registry with one finished tiny audit run (real worker, real pipeline) by OWNER."""
    import time

    from mcrage_core.jobs import RunRegistry

    home = tmp_path_factory.mktemp("finished_home")
    registry = RunRegistry(home)
    df = pd.read_csv(io.BytesIO(support2_small_csv))
    params = {
        "schema": {},
        "audit": {
            "rebalance": ["race"],
            "strategies": ["none", "oversample", "cddpm"],
            "preset": "tiny",
            "device": "cpu",
            "n_seeds": 1,
            "folds": 1,
        },
        "table": "small.csv",
    }
    run_id = registry.start_run(OWNER, params, df)
    deadline = time.monotonic() + 600
    while registry.get(run_id).is_active and time.monotonic() < deadline:
        time.sleep(0.5)
        registry.refresh()
    record = registry.get(run_id)
    assert record.status == "succeeded", (record.error, registry.log_tail(run_id))
    return home


@pytest.fixture()
def results_app(finished_home: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app, seen by the session that owns the finished run."""
    monkeypatch.setenv("MCRAGE_HOME", str(finished_home))
    at = app_test()
    at.query_params["session"] = OWNER
    return at.run()


# --------------------------------------------------------------------------- coded trial table

ACTG320 = REPO / "tests" / "data" / "real" / "actg320.csv"
ACTG320_LABELS = "raceth=1:White,2:Black,3:Hispanic,4:Asian,5:Native American\nsex=1:Male,2:Female"
CODED_OWNER = "dashboard-tests-coded-0001"


def set_coded_roles(at: AppTest, *, labels: str = ACTG320_LABELS, merge_below: int = 20) -> AppTest:
    """On the Data page with actg320 loaded: outcome censor = 1, race raceth, sex sex, the
    value labels and the merge threshold; applied (twice: the positive class list belongs
    to the outcome applied before)."""
    at.selectbox(key="target").set_value("censor")
    at.selectbox(key="sensitive_race").set_value("raceth")
    at.selectbox(key="sensitive_sex").set_value("sex")
    at.button(key="apply_roles").click().run()
    at.selectbox(key="positive_class").set_value("1")
    at.text_area(key="value_labels").set_value(labels)
    at.number_input(key="merge_below").set_value(merge_below)
    return at.button(key="apply_roles").click().run()


def wait_for_runs(registry: object, *, timeout: float = 600) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()  # type: ignore[attr-defined]
        if not any(r.is_active for r in registry.list_runs(None)):  # type: ignore[attr-defined]
            return
        time.sleep(0.5)
    raise AssertionError("runs did not finish in time")


@pytest.fixture(scope="session")
def coded_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A tiny audit of the coded trial table started from the Train page (real worker):
    value labels, groups under 20 rows merged, decision threshold 0.4, every strategy.

    Returns the home, the run id and what the Train page promised before the start."""
    from mcrage_core.jobs import RunRegistry

    home = tmp_path_factory.mktemp("coded_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCRAGE_HOME", str(home))
        at = app_test()
        at.query_params["session"] = CODED_OWNER
        at.run()
        _upload(at, "actg320.csv", ACTG320.read_bytes())
        set_coded_roles(at)
        assert not at.exception and not at.error, [e.value for e in at.error]
        at.switch_page("app_pages/train.py").run()
        at.number_input(key="threshold").set_value(0.4).run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        headline = next(m.value for m in at.markdown if "Augmentation plan" in m.value)
        plan = at.dataframe[0].value
        at.button(key="start_run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        registry = RunRegistry(home)
        wait_for_runs(registry)
        (record,) = registry.list_runs(None)
        assert record.status == "succeeded", (record.error, registry.log_tail(record.id))
    return {
        "home": home,
        "owner": CODED_OWNER,
        "run_id": record.id,
        "headline": headline,
        "plan": plan,
    }


@pytest.fixture(name="set_coded_roles")
def set_coded_roles_fixture() -> Callable[..., AppTest]:
    """``set_coded_roles(at, labels=..., merge_below=...)`` (see :func:`set_coded_roles`)."""
    return set_coded_roles


@pytest.fixture()
def coded_app(coded_run: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app, seen by the session that started the coded run."""
    monkeypatch.setenv("MCRAGE_HOME", str(coded_run["home"]))
    at = app_test()
    at.query_params["session"] = CODED_OWNER
    return at.run()


@pytest.fixture(scope="session")
def no_synthetic_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two finished tiny runs on actg320 without synthetic rows: one without the CDDPM
    strategy, one whose every plan cell the privacy guardrail skips."""
    from mcrage_core.jobs import RunRegistry

    home = tmp_path_factory.mktemp("no_synthetic_home")
    registry = RunRegistry(home)
    df = pd.read_csv(ACTG320)
    base = {
        "schema": {
            "target": "censor",
            "positive_class": "1",
            "sensitive": {"race": "raceth", "sex": "sex", "age": None},
        },
        "table": "actg320.csv",
    }
    audit = {"rebalance": ["sex"], "preset": "tiny", "device": "cpu", "n_seeds": 1, "folds": 1}
    ids = {
        "no_cddpm": registry.start_run(
            OWNER, {**base, "audit": {**audit, "strategies": ["none", "oversample"]}}, df
        ),
        "all_blocked": registry.start_run(
            OWNER,
            {**base, "audit": {**audit, "strategies": ["none", "cddpm"], "min_cell_rows": 1000}},
            df,
        ),
    }
    wait_for_runs(registry)
    for run_id in ids.values():
        record = registry.get(run_id)
        assert record.status == "succeeded", (record.error, registry.log_tail(run_id))
    return {"home": home, "owner": OWNER, **ids}
