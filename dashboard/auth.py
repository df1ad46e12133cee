"""Optional sign-in for a shared server, through Streamlit's built-in OpenID Connect login.

Without an ``[auth]`` section in ``.streamlit/secrets.toml`` nothing changes: a browser
session is identified by the random ``?session=`` token in its address, which suits one
person on one workstation. With it, every visitor must sign in with the hospital's
identity provider first, and runs and kept tables belong to the signed-in user (a hash
of the provider's issuer and subject), not to whoever holds an address; the address
token is ignored. See docs/SIGN_IN.md for the set-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import streamlit as st

__all__ = ["configured", "providers", "require_sign_in", "sign_out_button", "user_token"]


def _auth_section() -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets.toml at all (StreamlitSecretNotFoundError)
        return None
    return section if isinstance(section, Mapping) else None


def configured() -> bool:
    """Whether sign-in is switched on (an ``[auth]`` section in the secrets)."""
    return _auth_section() is not None


def providers() -> list[str]:
    """Named providers (``[auth.microsoft]`` ...); empty for one unnamed provider."""
    section = _auth_section() or {}
    return [k for k, v in section.items() if isinstance(v, Mapping)]


def user_token(user: Mapping[str, Any]) -> str:
    """A stable owner token for a signed-in user: the provider's issuer and subject
    (email when there is no subject), hashed, so the token reveals nobody's identity."""
    who = str(user.get("sub") or user.get("email") or "")
    issuer = str(user.get("iss") or "")
    digest = hashlib.sha256(f"{issuer}\n{who}".encode()).hexdigest()
    return "user-" + digest[:40]


def require_sign_in() -> str | None:
    """The signed-in user's owner token; ``None`` when sign-in is not configured.

    When sign-in is configured and nobody is signed in, shows the sign-in page and stops
    the script (no page, no data, no runs are shown).
    """
    if not configured():
        return None
    if st.user.is_logged_in:
        user = st.user.to_dict()
        if user.get("sub") or user.get("email"):
            return user_token(user)
    st.title("MCRAGE: fairness audit of EHR tables")
    st.info(
        "This server is shared: sign in with your organisation's account to see your own "
        "tables and runs. Nobody else can see them, and you cannot see theirs.",
        icon=":material/lock:",
    )
    named = providers()
    for name in named or [""]:
        label = f"Sign in with {name.title()}" if name else "Sign in"
        if st.button(label, type="primary", key=f"sign_in_{name or 'default'}"):
            st.login(name) if name else st.login()
    st.stop()
    return None  # pragma: no cover - st.stop() ends the run


def sign_out_button() -> None:
    """Who is signed in, and a sign-out button (sidebar); nothing without sign-in."""
    if not configured() or not st.user.is_logged_in:
        return
    user = st.user.to_dict()
    st.caption(f"Signed in as {user.get('email') or user.get('name') or 'you'}")
    if st.button("Sign out", key="sign_out"):
        st.logout()
