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


@pytest.fixture()
def mcrage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mcrage_home"
    monkeypatch.setenv("MCRAGE_HOME", str(home))
    monkeypatch.setenv("MCRAGE_TEST_MODE", "1")
    return home


@pytest.fixture()
def new_app(mcrage_home: Path) -> Callable[[], AppTest]:
    def make() -> AppTest:
        return AppTest.from_file(str(APP), default_timeout=120)

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

    from mcrage_core.runs import RunRegistry

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
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["session"] = OWNER
    return at.run()
