"""The registry's journal mode: WAL on a local disk, DELETE on a network share (where WAL is
unsafe) or an unknown file system, MCRAGE_SQLITE_JOURNAL overrides."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.jobs import RunStore, choose_journal
from mcrage_core.jobs.journal import file_system_type

MOUNTS = """\
/dev/sda2 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
fileserver:/export/home /home nfs4 rw,relatime,vers=4.2,rsize=1048576 0 0
//fs01/users /mnt/users cifs rw,vers=3.0,cache=strict 0 0
//fs01/ward\\0403 /mnt/ward\\0403 smb3 rw 0 0
ana@gw:/data /mnt/sshfs fuse.sshfs rw,nosuid,nodev 0 0
/dev/sdb1 /media/usb fuseblk rw,nosuid,nodev 0 0
/dev/sdc1 /home/ana/local xfs rw 0 0
"""
NO_ENV: dict[str, str] = {}


@pytest.mark.parametrize(
    ("root", "fs_type", "mode"),
    [
        ("/home/ana/.mcrage", "nfs4", "delete"),
        ("/mnt/users/ana/.mcrage", "cifs", "delete"),
        ("/mnt/ward 3/.mcrage", "smb3", "delete"),
        ("/mnt/sshfs/mcrage", "fuse.sshfs", "delete"),
        ("/var/lib/mcrage", "ext4", "wal"),
        ("/tmp/mcrage", "tmpfs", "wal"),
        ("/media/usb/mcrage", "fuseblk", "wal"),  # a local NTFS/exFAT disk
        ("/home/ana/local/mcrage", "xfs", "wal"),  # a local disk mounted inside the share
        ("/homework/mcrage", "ext4", "wal"),  # not under /home
    ],
)
def test_the_file_system_decides_the_mode(root: str, fs_type: str, mode: str) -> None:
    assert file_system_type(root, mounts=MOUNTS, platform="linux") == fs_type
    choice = choose_journal(root, mounts=MOUNTS, env=NO_ENV, platform="linux")
    assert (choice.mode, choice.fs_type) == (mode, fs_type)
    assert fs_type in choice.reason
    assert choice.on_network == (mode == "delete")


def test_unknown_file_systems_and_macos_mount_tables() -> None:
    unknown = choose_journal("/srv/mcrage", mounts="", env=NO_ENV, platform="linux")
    assert unknown.mode == "delete" and unknown.fs_type is None
    assert "could not be identified" in unknown.reason
    macos = (
        "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)\n"
        "//ana@fs01._smb._tcp.local/home on /Users/ana (smbfs, nodev, nosuid, mounted by ana)\n"
    )
    choice = choose_journal("/Users/ana/.mcrage", mounts=macos, env=NO_ENV, platform="darwin")
    assert (choice.mode, choice.fs_type) == ("delete", "smbfs")
    local = choose_journal("/opt/mcrage", mounts=macos, env=NO_ENV, platform="darwin")
    assert (local.mode, local.fs_type) == ("wal", "apfs")


def test_the_environment_overrides_the_choice() -> None:
    share = "/home/ana/.mcrage"
    forced = choose_journal(
        share, mounts=MOUNTS, env={"MCRAGE_SQLITE_JOURNAL": "WAL"}, platform="linux"
    )
    assert forced.mode == "wal"
    assert "MCRAGE_SQLITE_JOURNAL" in forced.reason and "unsafe" in forced.reason
    local = choose_journal(
        "/var/x", mounts=MOUNTS, env={"MCRAGE_SQLITE_JOURNAL": "truncate"}, platform="linux"
    )
    assert local.mode == "truncate"
    with pytest.raises(ConfigError, match="MCRAGE_SQLITE_JOURNAL must be one of"):
        choose_journal(share, mounts=MOUNTS, env={"MCRAGE_SQLITE_JOURNAL": "off"})


def _mode_on_disk(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    finally:
        con.close()


def test_a_real_store_opens_with_the_chosen_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCRAGE_SQLITE_JOURNAL", raising=False)
    local = RunStore(tmp_path)
    expected = choose_journal(tmp_path).mode  # this machine's temporary folder
    assert local.journal.mode == expected and local.journal.reason
    local.list_runs(None)
    assert local.journal_mode == expected == _mode_on_disk(local.db_path)

    monkeypatch.setenv("MCRAGE_SQLITE_JOURNAL", "delete")  # as on a network share
    share = RunStore(tmp_path)
    share.list_runs(None)
    assert share.journal.mode == share.journal_mode == "delete"
    assert _mode_on_disk(share.db_path) == "delete"  # switched from WAL, persistently
    assert not Path(f"{share.db_path}-wal").exists()

    monkeypatch.setenv("MCRAGE_SQLITE_JOURNAL", "wal")
    again = RunStore(tmp_path)
    again.list_runs(None)
    assert again.journal_mode == "wal" == _mode_on_disk(again.db_path)
