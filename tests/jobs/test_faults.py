"""Faults during a background run are reported in the registry, never left hanging.

The worker is started through a small launcher that sets a real operating-system limit
(the largest file a process may write, as on a full quota) before running Python, so the
failure comes from the kernel, not from a patched function.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.jobs import RunRegistry

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
pytestmark = pytest.mark.slow


def _launcher(tmp_path: Path, max_file_bytes: int) -> str:
    script = tmp_path / "limited_python"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import os, resource, signal, sys
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails instead of killing
            resource.setrlimit(resource.RLIMIT_FSIZE, ({max_file_bytes}, {max_file_bytes}))
            os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])
            """
        )
    )
    script.chmod(0o755)
    return str(script)


def test_a_write_failure_marks_the_run_failed_with_a_plain_reason(tmp_path: Path) -> None:
    df = pd.read_csv(SAMPLE)
    small = pd.concat([g.head(60) for _, g in df.groupby("race")]).reset_index(drop=True)
    # 1 MB: enough for the registry, progress and model files, not for the HTML report
    registry = RunRegistry(tmp_path / "home", python=_launcher(tmp_path, 1024 * 1024))
    params = {
        "schema": {},
        "audit": {
            "rebalance": ["race"],
            "strategies": ["none", "cddpm"],
            "preset": "tiny",
            "device": "cpu",
            "n_seeds": 1,
            "folds": 1,
        },
    }
    run_id = registry.start_run("alice", params, small)
    deadline = time.monotonic() + 300
    while registry.get(run_id).is_active and time.monotonic() < deadline:
        time.sleep(0.3)
        registry.refresh()
    record = registry.get(run_id)
    assert record.status == "failed", registry.log_tail(run_id)
    assert "disk is full" in record.error or "too large" in record.error
    assert "resume" in record.error
    assert "Traceback" not in record.error
    assert record.error_kind == "disk_full" and record.can_resume  # an interruption
