"""How the Train page shows a run: failures (resume only after an interruption, escaped
error text, where the log is), and one consistent picture of status and duration."""

from __future__ import annotations

import io
import os
import re
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mcrage_core.jobs import DEAD_WORKER_REASON, RunRegistry

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TOKEN = "dashboard-runs-owner-0001"
MARKUP = re.compile(r"[*_`\[\]<>]")


def _unescaped_markup(markdown: str) -> list[str]:
    """Markdown-active characters that are not escaped with a backslash."""
    return MARKUP.findall(re.sub(r"\\.", "", markdown))


def _wait_final(registry: RunRegistry, run_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while registry.get(run_id).is_active:
        assert time.monotonic() < deadline, registry.log_tail(run_id)
        time.sleep(0.2)
        registry.refresh()


@pytest.fixture(scope="module")
def failed_home(tmp_path_factory: pytest.TempPathFactory, support2_small_csv: bytes):
    """Two failed runs of TOKEN: one whose settings cannot work (the real worker exits with
    status 2), one whose worker was killed."""
    home = tmp_path_factory.mktemp("failed_home")
    registry = RunRegistry(home, max_parallel=2)
    df = pd.read_csv(io.BytesIO(support2_small_csv))
    bad = registry.start_run(
        TOKEN,
        {
            "schema": {"target": "__rare__ *x*"},
            "audit": {"rebalance": ["race"], "preset": "tiny", "device": "cpu"},
            "table": "small.csv",
        },
        df,
    )
    killed = registry.start_run(
        TOKEN,
        {"schema": {}, "audit": {"rebalance": ["race"], "preset": "quick"}, "table": "small.csv"},
        df,
    )
    pid = registry.get(killed).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _wait_final(registry, bad)
    _wait_final(registry, killed)
    return home, bad, killed


def _open(home: Path, monkeypatch: pytest.MonkeyPatch, run_id: str) -> AppTest:
    monkeypatch.setenv("MCRAGE_HOME", str(home))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["session"] = TOKEN
    at.run().switch_page("app_pages/train.py").run()
    at.selectbox(key="pick_run").set_value(run_id).run()
    assert not at.exception, at.exception
    assert at.markdown and any(m.value.startswith(f"Run `{run_id}`") for m in at.markdown)
    return at


def test_a_settings_failure_offers_no_resume_and_says_where_the_log_is(
    failed_home, monkeypatch, plain
) -> None:
    home, bad, _ = failed_home
    at = _open(home, monkeypatch, bad)
    errors = [e.value for e in at.error if "This run failed" in e.value]
    assert len(errors) == 1
    assert "__rare__ *x*" in plain(errors[0])  # the column name, literally
    assert _unescaped_markup(errors[0]) == []  # ... never bold or italic
    assert not [b for b in at.button if b.key == "resume_run"]
    assert any("Resuming would stop at the same problem" in i.value for i in at.info)
    log = Path(at.code[0].value)
    assert log.is_absolute() and log.name == "worker.log" and log.is_file()
    assert log == RunRegistry(home).get(bad).run_dir.resolve() / "worker.log"
    assert [d.key for d in at.get("download_button")] == ["download_log"]


def test_an_interrupted_run_can_be_resumed(failed_home, monkeypatch, plain) -> None:
    home, _, killed = failed_home
    at = _open(home, monkeypatch, killed)
    assert any(DEAD_WORKER_REASON in plain(e.value) for e in at.error)
    assert [b for b in at.button if b.key == "resume_run"]
    assert Path(at.code[0].value).name == "worker.log"


def test_run_labels_status_and_duration_agree(new_app, upload, support2_small_csv, monkeypatch):
    """The Show-run box names a run the same way for its whole life (the browser keeps the
    chosen label: a label with the status in it went stale, e.g. "running" for a cancelled
    run), and the header and the table show one duration, from one clock."""
    from mcrage_core.jobs import records as runs

    at = upload(new_app().run(), "small.csv", support2_small_csv)
    at.switch_page("app_pages/train.py").run()
    at.radio(key="preset").set_value("quick")
    at.button(key="start_run").click().run()
    assert not at.exception and not at.error
    run_id = at.selectbox(key="pick_run").value
    label_while_running = at.selectbox(key="pick_run").options[0]
    assert "running" not in label_while_running and run_id in label_while_running

    class JumpingClock:  # every reading of the registry's clock is 7 s later
        def __init__(self) -> None:
            self.calls = 0

        def time(self) -> float:
            self.calls += 1
            return time.time() + 7 * self.calls

        def __getattr__(self, name: str):
            return getattr(time, name)

    with monkeypatch.context() as patch:
        patch.setattr(runs, "time", JumpingClock())
        at.run()
    header = next(m.value for m in at.markdown if m.value.startswith(f"Run `{run_id}`"))
    shown = at.dataframe[-1].value.set_index("Run id").loc[run_id, "Duration"]
    assert header.endswith(f"duration {shown}")

    at.button(key="cancel_run").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        at.run()
        if at.dataframe[-1].value.set_index("Run id").loc[run_id, "Status"] == "cancelled":
            break
        time.sleep(0.5)
    header = next(m.value for m in at.markdown if m.value.startswith(f"Run `{run_id}`"))
    assert "cancelled" in header and "running" not in header
    assert at.selectbox(key="pick_run").options == [label_while_running]
    assert at.button(key="resume_run") is not None  # a cancelled run may continue
    shown = at.dataframe[-1].value.set_index("Run id").loc[run_id, "Duration"]
    assert header.endswith(f"duration {shown}")


def test_the_sidebar_is_right_in_the_same_run(app, upload, support2_small_csv, plain) -> None:
    upload(app, "ward_extract.csv", support2_small_csv)  # one script run after the upload
    sidebar = " ".join(plain(c.value) for c in app.sidebar.caption)
    assert "Table: ward_extract.csv (422 rows × 31 columns)" in sidebar
    assert "No table loaded yet" not in sidebar


def test_the_sidebar_names_the_run_a_page_selected(results_app) -> None:
    at = results_app.switch_page("app_pages/results.py").run()
    assert not at.exception
    picked = at.selectbox(key="run_results").value
    assert f"Selected run: {picked}" in [c.value for c in at.sidebar.caption]
