"""A page refresh (a new browser session with the same ?session= address) brings back the
uploaded table and the choices about it; another address does not."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TOKEN = "refresh-test-owner-00001"


def _visit(token: str | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    if token is not None:
        at.query_params["session"] = token
    return at.run()


def test_a_refresh_restores_the_table_and_the_choices(
    mcrage_home, upload, metrics, support2_small_csv, plain
) -> None:
    first = _visit(TOKEN)
    upload(first, "ward_extract.csv", support2_small_csv)
    first.selectbox(key="sensitive_sex").set_value("(none)")
    first.text_input(key="age_bands").set_value("40, 60, 75")
    first.button(key="apply_roles").click().run()
    assert not first.exception

    refreshed = _visit(TOKEN)  # same address, new session: what a page refresh does
    assert not refreshed.exception
    assert metrics(refreshed)["Rows"] == "422"
    assert "sex" not in metrics(refreshed)["Sensitive attributes"]
    assert refreshed.text_input(key="age_bands").value == "40, 60, 75"
    assert any("Table: ward_extract.csv" in plain(c.value) for c in refreshed.sidebar.caption)
    refreshed.switch_page("app_pages/imbalance.py").run()
    assert not refreshed.exception
    assert not any("No table is loaded" in i.value for i in refreshed.info)


def test_only_the_same_session_address_restores(mcrage_home, upload, support2_small_csv) -> None:
    upload(_visit(TOKEN), "ward_extract.csv", support2_small_csv)
    for other in ("someone-else-entirely-0042", None):
        stranger = _visit(other)
        assert not stranger.exception
        assert any("Upload a file" in i.value for i in stranger.info)
        assert any("No table loaded yet" in c.value for c in stranger.sidebar.caption)
    assert not list(mcrage_home.rglob("*ward_extract*"))  # the name is data, not a path


def test_a_new_table_after_a_refresh_is_the_one_restored(
    mcrage_home, upload, metrics, support2_small_csv
) -> None:
    upload(_visit(TOKEN), "ward_extract.csv", support2_small_csv)
    second = _visit(TOKEN)
    second.button(key="sample_patient_treatment").click().run()
    assert metrics(_visit(TOKEN))["Rows"] == "4,412"
