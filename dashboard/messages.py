"""Text on the page that comes from users or from error messages: escaped for Streamlit
markdown, so that ``__rare__`` or ``*x*`` in a column name never turns into formatting,
and library errors shown as readable messages instead of tracebacks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import streamlit as st

from mcrage_core.errors import MCRAGEError

__all__ = ["md_escape", "show_error", "show_warning", "user_errors"]


def md_escape(text: object) -> str:
    """Escape user text for Streamlit markdown (no links, emphasis or HTML from user data)."""
    out = str(text)
    for ch in "\\`*_{}[]()<>#+-.!|:$~":
        out = out.replace(ch, "\\" + ch)
    return out


def show_error(message: object, *, prefix: str = "") -> None:
    """An error box whose message is shown literally: ``__rare__`` or ``*x*`` in a column
    name or an error text never turn into markdown."""
    st.error(prefix + md_escape(message))


def show_warning(message: object, **kwargs: Any) -> None:
    """A warning box whose (library-written, data-bearing) message is shown literally."""
    st.warning(md_escape(message), **kwargs)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show library errors as readable messages and stop the page (never a traceback)."""
    try:
        yield
    except MCRAGEError as exc:
        show_error(exc)
        st.stop()
    except Exception as exc:  # noqa: BLE001 - last line of defence in the UI
        st.error(
            f"Something unexpected went wrong ({type(exc).__name__}). Your data and runs are "
            "kept; try again, and if it happens again please report it."
        )
        st.stop()
