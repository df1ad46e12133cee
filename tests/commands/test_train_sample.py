"""`mcrage train | sample | fidelity` end to end on a small real SUPPORT2 extract."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mcrage_core.cli import main
from mcrage_core.commands.sample import parse_counts
from mcrage_core.errors import ConfigError


@pytest.fixture(scope="module")
def trained(support2_small: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("cli")
    csv = base / "real.csv"
    support2_small.to_csv(csv, index=False)
    model = base / "model"
    rc = main(
        [
            "train",
            str(csv),
            "--target",
            "died_within_6_months",
            "--condition",
            "race",
            "--condition",
            "sex",
            "--out",
            str(model),
            "--preset",
            "quick",
            "--steps",
            "8",
            "--device",
            "cpu",
            "--seed",
            "1",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    return {"csv": csv, "model": model, "base": base}


def test_train_writes_a_model_and_shows_progress(trained, capsys) -> None:
    assert (trained["model"] / "manifest.json").exists()


def test_sample_counts_syntax_and_fidelity(trained, capsys) -> None:
    out = trained["base"] / "synth.csv"
    capsys.readouterr()
    rc = main(
        [
            "sample",
            str(trained["model"]),
            "--counts",
            "black|female=12,hispanic|male|1=5",
            "--sampling-steps",
            "5",
            "--seed",
            "3",
            "--out",
            str(out),
            "--exclude-copies-of",
            str(trained["csv"]),
            "--json",
        ]
    )
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_rows"] == 17 and info["network_evaluations"] == 5
    synth = pd.read_csv(out)
    assert ((synth.race == "black") & (synth.sex == "female")).sum() == 12
    his = synth[(synth.race == "hispanic")]
    assert len(his) == 5 and set(his.sex) == {"male"} and set(his.died_within_6_months) == {1}

    rc = main(
        ["fidelity", str(trained["csv"]), str(out), "--by", "race", "--json", "--no-detection"]
    )
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["n_synthetic"] == 17
    assert {g["race"] for g in report["by_group"]} >= {"black", "hispanic"}


def test_sample_n_and_errors(trained, capsys) -> None:
    out = trained["base"] / "n.csv"
    assert (
        main(
            [
                "sample",
                str(trained["model"]),
                "--n",
                "20",
                "--sampling-steps",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert len(pd.read_csv(out)) == 20
    capsys.readouterr()
    rc = main(["sample", str(trained["model"]), "--counts", "martian|male=3", "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Known cells" in err
    rc = main(["sample", str(trained["base"] / "missing"), "--n", "3", "--out", str(out)])
    assert rc == 2


def test_parse_counts() -> None:
    assert parse_counts("black=500, hispanic=800", 1) == {("black",): 500, ("hispanic",): 800}
    assert parse_counts("black|female|1=5", 2) == {("black", "female", "1"): 5}
    for bad in ("black", "black=x", "black=-1", "a|b|c|d=1", ""):
        with pytest.raises(ConfigError):
            parse_counts(bad, 2)
