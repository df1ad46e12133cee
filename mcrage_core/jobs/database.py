"""The registry database: its table, how older registries are brought up to date, and how a
connection is opened (journal mode chosen by :mod:`.journal`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mcrage_core.jobs.journal import JournalChoice
from mcrage_core.jobs.records import kind_from_text

__all__ = ["SCHEMA", "migrate", "open_connection"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    pid INTEGER,
    error TEXT,
    progress TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    error_kind TEXT,
    host TEXT,
    launched REAL,
    heartbeat REAL,
    last_progress REAL
);
CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner, created);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
"""

# Columns added after the first release, in order: (name, SQL type).
_ADDED = (
    ("error_kind", "TEXT"),
    ("host", "TEXT"),
    ("launched", "REAL"),
    ("heartbeat", "REAL"),
    ("last_progress", "REAL"),
)


def open_connection(db_path: Path, journal: JournalChoice) -> tuple[sqlite3.Connection, str]:
    """A connection to the registry in autocommit mode with rows as :class:`sqlite3.Row`,
    and the journal mode actually in effect (switching fails while another program holds
    the database open in another mode; the database then keeps its mode)."""
    network = journal.mode != "wal"
    timeout = 60.0 if network else 30.0  # locks over a network share take longer
    con = sqlite3.connect(db_path, timeout=timeout, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        mode = str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != journal.mode:
            try:
                mode = str(con.execute(f"PRAGMA journal_mode = {journal.mode}").fetchone()[0])
                mode = mode.lower()
            except sqlite3.OperationalError:
                pass
        # NORMAL is durable with WAL; a rollback journal needs FULL to survive a power cut
        con.execute(f"PRAGMA synchronous = {'NORMAL' if mode == 'wal' else 'FULL'}")
    except BaseException:
        con.close()
        raise
    return con, mode


def migrate(con: sqlite3.Connection) -> None:
    """Create the table, or bring a registry written by an older MCRAGE up to date
    (idempotent, safe when several processes open it at once)."""
    con.executescript(SCHEMA)
    if not _missing(con):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        missing = _missing(con)
        for name, sql_type in _ADDED:
            if name in missing:
                con.execute(f"ALTER TABLE runs ADD COLUMN {name} {sql_type}")
        if "error_kind" in missing:
            rows = con.execute(
                "SELECT id, status, error FROM runs WHERE status IN ('failed', 'cancelled')"
            ).fetchall()
            for row in rows:
                con.execute(
                    "UPDATE runs SET error_kind = ? WHERE id = ?",
                    (kind_from_text(row[1], row[2]), row[0]),
                )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _missing(con: sqlite3.Connection) -> set[str]:
    columns = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
    return {name for name, _ in _ADDED if name not in columns}
