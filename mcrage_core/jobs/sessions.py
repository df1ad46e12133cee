"""What a browser session keeps between page loads: its table and its choices about it.

One private folder per session under ``<root>/sessions/`` (named by a hash of the
session's owner token), holding the table as Parquet and ``session.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mcrage_core.jobs.payloads import params_json, write_parquet
from mcrage_core.jobs.records import check_owner
from mcrage_core.util import atomic_write_json

__all__ = ["SESSIONS_DIR", "SavedSession", "SessionStore"]

SESSIONS_DIR = "sessions"
_SESSION_FILE = "session.json"
_SESSION_FORMAT = "mcrage-session/1"


@dataclass(frozen=True)
class SavedSession:
    """What a browser session keeps between page loads (see
    :meth:`SessionStore.save_session_table`).

    Attributes
    ----------
    name
        Display name of the table (its file name), ``None`` without a table.
    data
        The table as it was loaded, ``None`` if none was kept (or it cannot be read).
    settings
        The session's choices about the table (JSON object; empty if none).
    updated
        Unix time of the last change.
    """

    name: str | None
    data: pd.DataFrame | None
    settings: dict[str, Any]
    updated: float


class SessionStore:
    """The saved sessions under ``root`` (nothing is created until something is saved)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def session_dir(self, owner: str) -> Path:
        """The private folder of one browser session (named by a hash of its owner token,
        so the folder name reveals nothing and only that token leads to it)."""
        check_owner(owner)
        digest = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:40]
        return self.root / SESSIONS_DIR / digest

    def save_session_table(self, owner: str, data: pd.DataFrame, name: str) -> None:
        """Keep the session's loaded table (Parquet) and its display name, so that a page
        refresh restores it. Written atomically: a reader sees the old or the new table."""
        folder = self._session_folder(owner)
        table_file = f"table-{secrets.token_hex(6)}.parquet"
        write_parquet(data, folder / table_file)
        meta = self._read_session_meta(folder)
        meta.update({"table": table_file, "name": str(name), "updated": time.time()})
        atomic_write_json(folder / _SESSION_FILE, meta)
        for old in folder.glob("table-*.parquet"):
            if old.name != table_file:
                with contextlib.suppress(OSError):
                    old.unlink()

    def save_session_settings(self, owner: str, settings: Mapping[str, Any]) -> None:
        """Keep the session's choices about its table (a JSON object)."""
        payload = json.loads(params_json(settings, what="the session's settings"))
        folder = self._session_folder(owner)
        meta = self._read_session_meta(folder)
        meta.update({"settings": payload, "updated": time.time()})
        atomic_write_json(folder / _SESSION_FILE, meta)

    def load_session(self, owner: str) -> SavedSession | None:
        """The table and settings kept for ``owner``, or ``None`` if there are none (or
        they cannot be read)."""
        folder = self.session_dir(owner)
        meta = self._read_session_meta(folder)
        if not meta.get("table") and not meta.get("settings"):
            return None
        data: pd.DataFrame | None = None
        table = meta.get("table")
        if isinstance(table, str) and re.fullmatch(r"table-[0-9a-f]{12}\.parquet", table):
            try:
                data = pd.read_parquet(folder / table)
            except (OSError, ValueError, ImportError):
                data = None
        settings = meta.get("settings")
        name = meta.get("name")
        return SavedSession(
            name=str(name) if data is not None and name is not None else None,
            data=data,
            settings=dict(settings) if isinstance(settings, Mapping) else {},
            updated=float(meta.get("updated") or 0.0),
        )

    def forget_session(self, owner: str) -> None:
        """Delete the table and settings kept for ``owner``."""
        folder = self.session_dir(owner)
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()

    def _session_folder(self, owner: str) -> Path:
        folder = self.session_dir(owner)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder

    @staticmethod
    def _read_session_meta(folder: Path) -> dict[str, Any]:
        try:
            meta = json.loads((folder / _SESSION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"format": _SESSION_FORMAT}
        if not isinstance(meta, dict) or meta.get("format") != _SESSION_FORMAT:
            return {"format": _SESSION_FORMAT}
        return meta
