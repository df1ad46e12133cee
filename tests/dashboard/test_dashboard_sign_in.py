"""Optional sign-in (Streamlit's OIDC login): with an ``[auth]`` section nothing is shown
before sign-in, and tables and runs belong to the signed-in user, not to an address."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import user_token

# AppTest.user (a signed-in visitor) exists from Streamlit 1.67; `make test-min` runs the
# fast tests on the declared floor, where only this test file cannot be expressed.
needs_user = pytest.mark.skipif(
    not hasattr(AppTest.from_string(""), "user"), reason="AppTest.user needs Streamlit >= 1.67"
)

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret-for-tests-only",
    "client_id": "mcrage-tests",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example-hospital.org/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "email": "alice@hospital.org", "sub": "a-1", "iss": "https://idp"}
BOB = {"is_logged_in": True, "email": "bob@hospital.org", "sub": "b-2", "iss": "https://idp"}


def _visit(user: dict, *, address_token: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.secrets["auth"] = AUTH
    at.user = user
    if address_token is not None:
        at.query_params["session"] = address_token
    return at.run()


@needs_user
def test_nothing_is_shown_before_sign_in(mcrage_home) -> None:
    at = _visit({"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert any("sign in with your organisation" in i.value for i in at.info)
    assert not any("Upload a file" in i.value for i in at.info)
    assert not at.file_uploader and not at.sidebar.caption


@needs_user
def test_tables_belong_to_the_signed_in_user(
    mcrage_home, upload, support2_small_csv, plain
) -> None:
    alice = _visit(ALICE)
    assert not alice.exception
    assert "session" not in alice.query_params  # the address carries no access
    assert any("Signed in as alice@hospital.org" in c.value for c in alice.sidebar.caption)
    upload(alice, "ward_extract.csv", support2_small_csv)

    again = _visit(ALICE)  # another browser, same user: the table is back
    assert any("Table: ward_extract.csv" in plain(c.value) for c in again.sidebar.caption)

    # Bob holding Alice's owner token in his address still sees nothing of hers.
    bob = _visit(BOB, address_token=user_token(ALICE))
    assert not bob.exception
    assert any("No table loaded yet" in c.value for c in bob.sidebar.caption)


def test_user_token_is_stable_and_reveals_nobody() -> None:
    token = user_token(ALICE)
    assert token == user_token(dict(ALICE)) and token != user_token(BOB)
    assert "alice" not in token and token.startswith("user-")
