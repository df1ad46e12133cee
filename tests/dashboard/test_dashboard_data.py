"""Data page: sample in one click, upload, schema and role overrides, readable errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BAD_DIR = Path(__file__).resolve().parents[1] / "data" / "bad"


def test_first_visit_offers_upload_and_sample(app) -> None:
    assert not app.exception
    assert app.file_uploader(key="upload") is not None
    assert app.button(key="sample_support2").label.startswith("Use the support2")
    assert any("Upload a file" in i.value for i in app.info)


def test_sample_in_one_click_shows_preview_and_schema(app, metrics) -> None:
    app.button(key="sample_support2").click().run()
    assert not app.exception
    m = metrics(app)
    assert m["Rows"] == "9,105"
    assert m["Outcome (target)"] == "died_within_6_months"
    assert "race: race" in m["Sensitive attributes"]
    assert "sex: sex" in m["Sensitive attributes"]
    schema_table = app.dataframe[1].value
    assert set(schema_table["Column"]) >= {"race", "sex", "age", "died_within_6_months"}
    roles = dict(zip(schema_table["Column"], schema_table["Role"], strict=True))
    assert roles["race"] == "sensitive" and roles["died_within_6_months"] == "target"
    assert any("Imbalance" in str(p.label) for p in app.get("page_link"))


def test_upload_then_override_roles(app, upload, metrics, support2_small_csv) -> None:
    upload(app, "ward_extract.csv", support2_small_csv)
    assert not app.exception
    assert metrics(app)["Rows"] == "422"
    app.selectbox(key="sensitive_sex").set_value("(none)")
    app.text_input(key="age_bands").set_value("40, 60, 75")
    app.multiselect(key="exclude").set_value(["income"])
    app.button(key="apply_roles").click().run()
    assert not app.exception
    m = metrics(app)
    assert "sex" not in m["Sensitive attributes"]
    schema_table = app.dataframe[1].value
    roles = dict(zip(schema_table["Column"], schema_table["Role"], strict=True))
    assert roles["income"] == "excluded"
    assert app.text_input(key="age_bands").value == "40, 60, 75"


def test_bad_age_bands_are_refused_with_a_message(app, metrics, plain) -> None:
    app.button(key="sample_patient_treatment").click().run()
    before = metrics(app)["Sensitive attributes"]
    app.text_input(key="age_bands").set_value("forty, sixty")
    app.button(key="apply_roles").click().run()
    assert not app.exception
    assert any("whole numbers" in plain(e.value) for e in app.error)
    app.text_input(key="age_bands").set_value("60, 30")
    app.button(key="apply_roles").click().run()
    assert any("increasing" in plain(e.value) for e in app.error)
    assert metrics(app)["Sensitive attributes"] == before


MANIFEST = json.loads((BAD_DIR / "MANIFEST.json").read_text()) if BAD_DIR.is_dir() else {}
LOAD_ERRORS = sorted(n for n, v in MANIFEST.items() if v["expect"] == "error" and not v["args"])
OTHERS = sorted(n for n in MANIFEST if n not in LOAD_ERRORS)


def test_bad_file_corpus_is_present() -> None:
    assert LOAD_ERRORS and OTHERS, "tests/data/bad/MANIFEST.json is missing or empty"


@pytest.mark.parametrize("name", LOAD_ERRORS)
def test_unreadable_upload_shows_message_and_keeps_the_current_table(
    new_app, upload, metrics, plain, support2_small_csv, name: str
) -> None:
    at = new_app().run()
    upload(at, "good.csv", support2_small_csv)
    assert metrics(at)["Rows"] == "422"
    upload(at, name, (BAD_DIR / name).read_bytes())
    assert not at.exception
    if name.endswith(".xlsx"):  # several sheets: the page asks which one instead
        assert at.selectbox(key="sheet").options == ["Patients", "Lookup"]
        assert metrics(at)["Rows"] == "422"
        return
    messages = " ".join(plain(e.value) for e in at.error)
    assert re.search(MANIFEST[name]["match"], messages), messages
    assert "Traceback" not in messages
    assert metrics(at)["Rows"] == "422"
    assert any("still in use" in i.value for i in at.info)


@pytest.mark.parametrize("name", OTHERS)
def test_odd_but_readable_upload_keeps_the_page_usable(new_app, upload, name: str) -> None:
    at = upload(new_app().run(), name, (BAD_DIR / name).read_bytes())
    assert not at.exception
    assert all("Traceback" not in e.value for e in at.error)
    assert at.button(key="apply_roles") is not None  # roles can still be changed


def test_user_text_is_never_rendered_as_html(app, upload) -> None:
    evil = b"<img src=x onerror=alert(1)>,sex,race,age,died\n" + b"1,male,white,50,0\n" * 40
    upload(app, "<script>alert(1)</script>.csv", evil)
    assert not app.exception
    for md in app.markdown:
        assert not md.proto.allow_html, md.value
    for caption in app.caption:
        assert "<script>" not in caption.value
