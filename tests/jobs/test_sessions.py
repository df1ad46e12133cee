"""The session store: a browser session's table and choices survive a page refresh, and
only the same owner token leads back to them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.jobs import RunRegistry

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789ab"


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=80)


def test_nothing_is_kept_until_something_is_saved(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "home")
    assert registry.load_session(ALICE) is None
    assert not (tmp_path / "home").exists()  # reading creates nothing


def test_table_name_and_settings_round_trip(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path)
    registry.save_session_table(ALICE, small, "ward <extract>.csv")
    registry.save_session_settings(ALICE, {"choices": {"target": "died_within_6_months"}})
    saved = RunRegistry(tmp_path).load_session(ALICE)  # a new server process
    assert saved is not None and saved.data is not None
    pd.testing.assert_frame_equal(saved.data, small)
    assert saved.name == "ward <extract>.csv"
    assert saved.settings == {"choices": {"target": "died_within_6_months"}}


def test_only_the_same_owner_token_restores(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path)
    registry.save_session_table(ALICE, small, "alice.csv")
    assert registry.load_session(BOB) is None
    folder = registry.session_dir(ALICE)
    assert ALICE not in str(folder)  # the token itself is never written to disk
    assert folder.stat().st_mode & 0o077 == 0  # private to this user account
    with pytest.raises(ConfigError):
        registry.save_session_table("", small, "x.csv")


def test_a_new_table_replaces_the_old_one_whole(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path)
    registry.save_session_settings(ALICE, {"choices": {"target": "x"}, "small_cell": 50})
    registry.save_session_table(ALICE, small, "first.csv")
    registry.save_session_table(ALICE, small.head(10), "second.csv")
    saved = registry.load_session(ALICE)
    assert saved is not None and saved.name == "second.csv" and len(saved.data) == 10
    assert saved.settings["small_cell"] == 50  # settings are kept with a new table
    folder = registry.session_dir(ALICE)
    assert len(list(folder.glob("table-*.parquet"))) == 1
    assert not list(folder.glob(".*.tmp"))


def test_a_damaged_store_is_ignored(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path)
    registry.save_session_table(ALICE, small, "a.csv")
    folder = registry.session_dir(ALICE)
    meta = json.loads((folder / "session.json").read_text())
    (folder / meta["table"]).write_bytes(b"not parquet")
    saved = registry.load_session(ALICE)
    assert saved is not None and saved.data is None and saved.name is None
    (folder / "session.json").write_text("{broken")
    assert registry.load_session(ALICE) is None
    meta["table"] = "../../runs.sqlite"  # a tampered file name is never followed
    (folder / "session.json").write_text(json.dumps(meta))
    saved = registry.load_session(ALICE)
    assert saved is None or saved.data is None
