"""Which SQLite journal mode the run registry uses, and why.

SQLite's WAL mode keeps an index of the log in shared memory (a memory-mapped ``-shm``
file) and relies on POSIX locks; both break on network file systems (NFS, SMB/CIFS, sshfs,
...), where WAL can corrupt the database or make it unreadable. Hospital workstations often
keep home directories, and so ``~/.mcrage``, on such shares. :func:`choose_journal` looks
up the file system that holds the registry and picks ``wal`` on local disks and ``delete``
(the classic rollback journal, safe everywhere, slower when many processes write) on
network or unknown file systems. ``MCRAGE_SQLITE_JOURNAL`` (``wal``, ``delete`` or
``truncate``) overrides the choice.

>>> choose_journal("/home/ana/.mcrage", mounts="srv:/home /home nfs4 rw 0 0\\n").mode
'delete'
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from mcrage_core.errors import ConfigError

__all__ = [
    "JOURNAL_ENV",
    "JOURNAL_MODES",
    "NETWORK_FILE_SYSTEMS",
    "JournalChoice",
    "JournalMode",
    "choose_journal",
    "file_system_type",
]

JournalMode = Literal["wal", "delete", "truncate"]
JOURNAL_MODES: tuple[str, ...] = ("wal", "delete", "truncate")
JOURNAL_ENV = "MCRAGE_SQLITE_JOURNAL"

NETWORK_FILE_SYSTEMS: frozenset[str] = frozenset(
    {
        # network shares
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afpfs", "webdav", "davfs",
        "ncpfs", "9p", "afs", "coda", "ceph", "glusterfs", "lustre", "gpfs", "beegfs",
        "orangefs", "pvfs2",
        # disks shared between hosts, virtual machines' shared folders
        "gfs2", "ocfs2", "vboxsf", "vmhgfs", "prl_fs",
        # user-space file systems (sshfs, gvfs, s3fs, rclone, ... mount as fuse.<name>)
        "fuse", "macfuse", "osxfuse",
    }
)  # fmt: skip
"""File systems on which WAL mode is not safe (``fuse.*`` types count too, except
``fuseblk``, a local disk such as NTFS or exFAT)."""

_OCTAL = re.compile(r"\\([0-7]{3})")
_BSD_LINE = re.compile(r"^.+? on (?P<point>/.*?) \((?P<type>[^,)]+)")


@dataclass(frozen=True)
class JournalChoice:
    """The journal mode of the registry database and the reason, in plain words.

    Attributes
    ----------
    mode
        ``"wal"``, ``"delete"`` or ``"truncate"``.
    reason
        Why this mode (for the dashboard and for IT).
    fs_type
        The file system that holds the registry, as the system names it (``None`` if
        unknown).
    """

    mode: JournalMode
    reason: str
    fs_type: str | None = None

    @property
    def on_network(self) -> bool:
        """Whether the registry is on a network (or otherwise WAL-unsafe) file system."""
        return self.fs_type is not None and _unsafe(self.fs_type)


def choose_journal(
    root: Path | str,
    *,
    mounts: str | None = None,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> JournalChoice:
    """The journal mode for a registry kept in ``root``.

    Parameters
    ----------
    root
        The registry folder (it need not exist yet).
    mounts
        The mount table as text (``/proc/mounts`` format, or the output of ``mount`` on
        macOS); read from the system when ``None``.
    env
        Environment to read ``MCRAGE_SQLITE_JOURNAL`` from (default: ``os.environ``).
    platform
        ``sys.platform`` to assume (for tests).

    Raises
    ------
    ConfigError
        If ``MCRAGE_SQLITE_JOURNAL`` names no journal mode.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    fs_type = file_system_type(root, mounts=mounts, platform=platform)
    where = f"on {fs_type}" if fs_type else "on a file system that could not be identified"
    wanted = env.get(JOURNAL_ENV, "").strip().lower()
    if wanted:
        if wanted not in JOURNAL_MODES:
            raise ConfigError(
                f"{JOURNAL_ENV} must be one of {', '.join(JOURNAL_MODES)}, got {wanted!r}; "
                "unset it to let MCRAGE choose"
            )
        note = " (WAL is unsafe there)" if wanted == "wal" and fs_type and _unsafe(fs_type) else ""
        mode = cast(JournalMode, wanted)
        return JournalChoice(mode, f"set by {JOURNAL_ENV}; the registry is {where}{note}", fs_type)
    if fs_type is None:
        return JournalChoice(
            "delete",
            "the file system that holds the registry could not be identified, so the "
            "rollback journal (DELETE), which is safe everywhere, is used",
        )
    if _unsafe(fs_type):
        return JournalChoice(
            "delete",
            f"the registry is on a network or shared file system ({fs_type}), where SQLite's "
            "WAL mode is unsafe, so the rollback journal (DELETE) is used",
            fs_type,
        )
    return JournalChoice("wal", f"the registry is on a local disk ({fs_type})", fs_type)


def file_system_type(
    path: Path | str, *, mounts: str | None = None, platform: str | None = None
) -> str | None:
    """The type of the file system that holds ``path`` (``"ext4"``, ``"nfs4"``, ...), or
    ``None`` if it cannot be told. On Windows, ``"network drive"`` or ``"local drive"``."""
    platform = sys.platform if platform is None else platform
    target = _absolute(path, platform)
    if mounts is None:
        if platform == "win32":
            return _windows_drive_kind(target)
        mounts = _read_mount_table(platform)
        if mounts is None:
            return None
    best: tuple[int, str] | None = None
    for point, fs_type in _parse_mounts(mounts):
        if _under(target, point) and (best is None or len(point) >= best[0]):
            best = (len(point), fs_type)
    return best[1] if best else None


# --------------------------------------------------------------------------- helpers


def _unsafe(fs_type: str) -> bool:
    fs_type = fs_type.lower()
    return fs_type in NETWORK_FILE_SYSTEMS or (fs_type.startswith("fuse.") and fs_type != "fuseblk")


def _absolute(path: Path | str, platform: str) -> str:
    raw = Path(path).expanduser()
    if platform == "win32" or platform != sys.platform:
        return str(raw)  # paths of another system: take them as given
    try:
        return str(raw.resolve())  # symlinks of the existing part are followed
    except (OSError, RuntimeError):
        return os.path.abspath(raw)


def _under(path: str, point: str) -> bool:
    if point == "/":
        return path.startswith("/")
    point = point.rstrip("/")
    return path == point or path.startswith(point + "/")


def _parse_mounts(text: str) -> list[tuple[str, str]]:
    """``(mount point, file system type)`` pairs of a mount table, in its order (a later
    mount on the same point hides an earlier one)."""
    found: list[tuple[str, str]] = []
    for line in text.splitlines():
        bsd = _BSD_LINE.match(line)
        if bsd:  # macOS / BSD ``mount``: "//u@srv/share on /Volumes/share (smbfs, ...)"
            found.append((bsd["point"], bsd["type"].strip().lower()))
            continue
        fields = line.split()
        if len(fields) >= 3 and fields[1].startswith("/"):  # Linux /proc/mounts
            point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[1])
            found.append((point, fields[2].lower()))
    return found


def _read_mount_table(platform: str) -> str | None:
    if platform.startswith("linux"):
        for name in ("/proc/self/mounts", "/proc/mounts"):
            try:
                return Path(name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        return None
    if platform == "darwin" or "bsd" in platform:
        try:
            done = subprocess.run(
                ["/sbin/mount"], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None
    return None


def _windows_drive_kind(path: str) -> str | None:
    if path.startswith(("\\\\", "//")):
        return "network drive"  # \\server\share
    drive = os.path.splitdrive(path)[0]
    if not drive:
        return None
    try:
        import ctypes

        kind = ctypes.windll.kernel32.GetDriveTypeW(drive + "\\")  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None
    return {4: "network drive", 2: "local drive", 3: "local drive", 6: "local drive"}.get(kind)
