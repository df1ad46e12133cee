"""End-to-end tests of `mcrage inspect` through the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from mcrage_core.cli import main


def _mcrage(*args: str, cwd=None) -> subprocess.CompletedProcess:
    exe = shutil.which("mcrage", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "mcrage_core.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_inspect_json_on_support2(support2_path):
    proc = _mcrage("inspect", str(support2_path), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n_rows"] == 9105 and out["n_columns"] == 31
    assert out["target"] == "died_within_6_months"
    assert out["positive_class"] == "1"
    assert out["sensitive"] == {"race": "race", "sex": "sex", "age": "age"}
    assert out["identifiers"] == []
    cols = {c["name"]: c for c in out["columns"]}
    assert cols["glucose"]["kind"] == "numeric"
    assert cols["glucose"]["missing_fraction"] == pytest.approx(0.494, abs=0.001)
    race = {g["group"]: g for g in out["groups"] if g["attribute"] == "race"}
    assert {k: v["n"] for k, v in race.items()} == {
        "white": 7191,
        "black": 1391,
        "hispanic": 290,
        "other": 112,
        "asian": 79,
    }
    assert 0 < race["black"]["outcome_rate"] < 1
    assert isinstance(out["warnings"], list)


def test_inspect_human_output(patient_treatment_path, capsys):
    assert main(["inspect", str(patient_treatment_path)]) == 0
    text = capsys.readouterr().out
    assert "Target: SOURCE" in text and "positive class: 'in'" in text
    assert "Groups" in text and "Imbalance" in text


def test_inspect_with_explicit_roles(support2_path, capsys):
    code = main(
        ["inspect", str(support2_path), "--json", "--target", "diabetes", "--sensitive", "sex"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "diabetes" and out["sensitive"] == {"sex": "sex"}
    assert {g["attribute"] for g in out["groups"]} == {"sex"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "is empty"), (b"a,b\n1,2,3\n", "line 2 has 3"), (b"a,b\n", "no data rows")],
)
def test_inspect_bad_input_exits_2_without_traceback(tmp_path, content, needle):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    proc = _mcrage("inspect", str(path), "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_column_and_bad_flag(support2_path, capsys):
    assert main(["inspect", str(support2_path), "--target", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'nope'" in err
    with pytest.raises(SystemExit) as exc:
        main(["inspect"])
    assert exc.value.code == 2
