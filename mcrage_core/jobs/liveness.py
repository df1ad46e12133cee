"""Is a run's worker still alive, and still working?

A worker proves it is alive with a heartbeat (a timestamp written every few seconds by a
background thread, :class:`Lease`) and that it is working with its progress events. A
running run is judged (:func:`judge`) when the registry is read: its worker is **dead** when
the process is gone, **silent** when no heartbeat came for ``MCRAGE_HUNG_AFTER_S`` seconds
(default 120) and **stuck** when no progress event came for ``MCRAGE_NO_PROGRESS_S``
seconds (default 1800). Such a run is marked failed (an interruption: it can be resumed)
and a silent or stuck worker still running on this computer is terminated
(:func:`terminate_worker`, only if the process id still belongs to that run's worker).
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mcrage_core.errors import ConfigError
from mcrage_core.jobs.records import DEAD_WORKER_REASON

__all__ = [
    "HUNG_ENV",
    "NO_PROGRESS_ENV",
    "WORKER_MODULE",
    "Lease",
    "Limits",
    "Verdict",
    "judge",
    "pid_alive",
    "remember_child",
    "terminate_worker",
    "this_host",
    "worker_command",
]

HUNG_ENV = "MCRAGE_HUNG_AFTER_S"
NO_PROGRESS_ENV = "MCRAGE_NO_PROGRESS_S"
WORKER_MODULE = "mcrage_core.jobs.worker"

# Worker processes started by this process, so that they can be reaped (no zombies)
# and their liveness checked without relying on /proc. Holds process handles only,
# never user data.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Limits:
    """How long a worker may stay silent (no heartbeat) or make no progress before its run
    is marked failed; 0 turns a check off. A worker that has not sent its first heartbeat
    yet gets at least ``startup_s``."""

    hung_after_s: float = 120.0
    no_progress_s: float = 1800.0
    startup_s: float = 60.0
    """Least time a starting worker gets for its first heartbeat (loading libraries)."""

    @classmethod
    def from_env(
        cls,
        *,
        hung_after_s: float | None = None,
        no_progress_s: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Limits:
        """The given limits, else ``$MCRAGE_HUNG_AFTER_S`` / ``$MCRAGE_NO_PROGRESS_S``,
        else the defaults."""
        env = os.environ if env is None else env
        return cls(
            hung_after_s=_seconds(HUNG_ENV, hung_after_s, env, cls.hung_after_s),
            no_progress_s=_seconds(NO_PROGRESS_ENV, no_progress_s, env, cls.no_progress_s),
        )

    @property
    def heartbeat_every_s(self) -> float:
        """How often a worker writes its heartbeat: every 5 s, more often when the silence
        limit is short (at least four heartbeats fit in it)."""
        if self.hung_after_s <= 0:
            return 5.0
        return min(5.0, max(0.1, self.hung_after_s / 4))

    def to_env(self) -> dict[str, str]:
        """The environment variables that give a worker these limits."""
        return {HUNG_ENV: repr(self.hung_after_s), NO_PROGRESS_ENV: repr(self.no_progress_s)}


def _seconds(name: str, given: float | None, env: Mapping[str, str], default: float) -> float:
    if given is None:
        text = env.get(name, "").strip()
        if not text:
            return default
        try:
            given = float(text)
        except ValueError:
            given = math.nan
    if not math.isfinite(given) or given < 0:
        raise ConfigError(
            f"{name} must be a number of seconds (0 turns the check off), got {given!r}"
        )
    return float(given)


@dataclass(frozen=True)
class Verdict:
    """Why a running run is over: ``reason`` in plain words; ``hung`` when its worker may
    still be running (silent or stuck) and should be terminated."""

    reason: str
    hung: bool


def judge(
    *,
    now: float,
    limits: Limits,
    alive: bool | None,
    launched: float | None,
    heartbeat: float | None,
    last_progress: float | None,
) -> Verdict | None:
    """The verdict on a running run, or ``None`` while its worker is fine.

    ``alive`` is whether the worker process exists (``None``: cannot be told, e.g. it runs
    on another computer). ``launched`` is when the worker was started, ``heartbeat`` and
    ``last_progress`` its last heartbeat and progress event (``None`` until the first).
    Until its first heartbeat a starting worker gets at least ``limits.startup_s``. A run
    of an older MCRAGE has none of the three: only its process is checked.
    """
    if alive is False:
        return Verdict(DEAD_WORKER_REASON, hung=False)
    limit = (
        limits.hung_after_s if heartbeat is not None else max(limits.hung_after_s, limits.startup_s)
    )
    sign = heartbeat if heartbeat is not None else launched
    if sign is not None and limits.hung_after_s > 0 and limit < now - sign:
        return Verdict(
            f"The worker stopped answering for {_span(now - sign)} (last sign of life "
            f"at {_clock(sign, now)}); it may have hung or been killed. Resume the run "
            "to continue from its last checkpoint.",
            hung=True,
        )
    moved = last_progress if last_progress is not None else launched
    if moved is not None and 0 < limits.no_progress_s < now - moved:
        return Verdict(
            f"The worker made no progress for {_span(now - moved)} (last progress "
            f"at {_clock(moved, now)}) although it still answered; it looks stuck. "
            "Resume the run to continue from its last checkpoint.",
            hung=True,
        )
    return None


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _clock(stamp: float, now: float) -> str:
    same_day = time.localtime(stamp)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", time.localtime(stamp))


# --------------------------------------------------------------------------- processes


def this_host() -> str:
    """The name of this computer, stored with a run so that other computers sharing the
    registry do not judge its worker by their own process table."""
    return socket.gethostname()


def remember_child(proc: subprocess.Popen[bytes]) -> None:
    """Keep the handle of a worker this process started (reaped, checked without /proc)."""
    _CHILDREN[proc.pid] = proc


def pid_alive(pid: int, run_id: str | None = None) -> bool:
    """Whether ``pid`` is a live (non-zombie) MCRAGE worker process (of ``run_id``, if
    given). On Windows a worker this process did not start counts as alive: only its
    heartbeat can tell."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would end the process there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        command = worker_command(pid)
        if state in ("Z", "X") or command is None:
            return False
        return _is_worker(command, run_id, None)  # a reused pid is not our worker
    return True


def worker_command(pid: int) -> str | None:
    """The command line of process ``pid`` (arguments joined by spaces), or ``None``."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.is_dir():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            return None
    if sys.platform == "win32":
        return None
    try:
        done = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _is_worker(command: str, run_id: str | None, attempt: int | None) -> bool:
    if WORKER_MODULE not in command or (run_id is not None and run_id not in command):
        return False
    if attempt is None or "--attempt" not in command:
        return True
    return re.search(rf"--attempt {int(attempt)}(\s|$)", command) is not None


def terminate_worker(pid: int, run_id: str, attempt: int, *, grace_s: float = 0.5) -> bool:
    """Stop the worker of ``run_id`` (attempt ``attempt``) if ``pid`` still is that worker:
    SIGTERM to its process group, SIGKILL after ``grace_s``. Returns whether it was
    signalled (never signals a process that is not that worker)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is None:
        args = child.args
        command = " ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args)
    elif sys.platform == "win32":
        return False
    else:
        command = worker_command(pid) or ""
    if not _is_worker(command, run_id, attempt):
        return False
    _signal(pid, child, kill=False)
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        _signal(pid, child, kill=True)
        deadline = time.monotonic() + 2.0
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    return True


def _signal(pid: int, child: subprocess.Popen[bytes] | None, *, kill: bool) -> None:
    if sys.platform == "win32":
        if child is not None:
            child.kill() if kill else child.terminate()
        return
    sig = signal.SIGKILL if kill else signal.SIGTERM
    try:
        if os.getpgid(pid) == pid:  # the worker leads its own session: stop its helpers too
            os.killpg(pid, sig)
            if not kill:
                os.killpg(pid, signal.SIGCONT)  # a stopped process handles SIGTERM now
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------- worker side


class Lease:
    """A worker's hold on its run: writes the heartbeat every ``every_s`` seconds in a
    background thread (independent of the training loop) and notices when the registry no
    longer gives the run to this worker's attempt (``beat`` returned ``False``: the run was
    resumed by a newer worker, or marked failed). Then :attr:`lost` is set; the worker's
    cancel check reads it, so the job stops at its next check and writes nothing more.

    Parameters
    ----------
    beat
        Writes one heartbeat; ``False`` if the registry ignored it (stale attempt).
    every_s
        Seconds between heartbeats.
    """

    def __init__(self, beat: Callable[[], bool], *, every_s: float) -> None:
        self._beat = beat
        self.every_s = every_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Lease:
        """Beat once now, then keep beating in a daemon thread."""
        if self.beat():
            self._thread = threading.Thread(target=self._loop, name="mcrage-heartbeat", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the heartbeat (the worker is about to record its outcome)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.every_s + 1.0)

    def beat(self) -> bool:
        """Write one heartbeat now; ``False`` once the run is no longer this worker's."""
        if self.lost.is_set():
            return False
        try:
            owned = self._beat()
        except Exception as exc:  # noqa: BLE001 - a busy or full disk must not end the run
            _say(f"heartbeat not recorded ({type(exc).__name__}: {exc}); trying again")
            return True
        if not owned:
            self.release("the registry no longer lists this worker's attempt as running")
        return owned

    def release(self, why: str) -> None:
        """Give the run up: this worker stops at its next check and writes nothing more."""
        if not self.lost.is_set():
            self.lost.set()
            _say(f"{why}; this worker stops and leaves the run to the registry")

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            if not self.beat():
                return


def _say(text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}", flush=True)
