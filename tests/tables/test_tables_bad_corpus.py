"""Every file of the bad-input corpus (tests/data/bad/MANIFEST.json) gives a clear,
one-line message through the CLI: exit 2 with `error: ...` for unusable files, exit 0 with
the problem named in the warnings for files that can be read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.cli import main
from mcrage_core.tables import load_table, to_safe_csv

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = json.loads((BAD / "MANIFEST.json").read_text())


def test_corpus_is_complete():
    assert len(MANIFEST) >= 15
    for name in MANIFEST:
        assert (BAD / name).exists(), name


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_cli_on_bad_file(name, capsys):
    entry = MANIFEST[name]
    code = main(["inspect", str(BAD / name), "--json", *entry["args"]])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if entry["expect"] == "error":
        assert code == 2
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ")
        assert re.search(entry["match"], lines[0]), lines[0]
        assert captured.out == ""
    else:
        assert code == 0, captured.err
        out = json.loads(captured.out)
        assert out["n_rows"] > 0
        if entry["match"]:
            assert re.search(entry["match"], json.dumps(out)), out["warnings"]


def test_id_column_with_10000_categories_is_excluded(capsys):
    assert main(["inspect", str(BAD / "id_10000_categories.csv"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["identifiers"] == ["visit_code"]
    assert out["sensitive"] == {"race": "race", "sex": "sex", "age": "age"}


def test_formula_cells_are_neutralised_on_export():
    df = load_table(BAD / "formula_cells.csv")
    exported = pd.read_csv(pd.io.common.BytesIO(to_safe_csv(df)), dtype=str)
    risky = exported["race"].dropna()
    assert not risky.str.match(r"^[=+@]").any()
    assert "'=cmd|' /C calc'!A0" in set(risky)
    assert "'-2+3" in set(risky)


def test_html_is_kept_as_plain_text():
    df = load_table(BAD / "html_script.csv")
    assert "<script>alert('x')</script>" in df.columns
    assert "<img src=x onerror=alert(1)>" in set(df["race"])
