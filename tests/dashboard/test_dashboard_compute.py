"""The Train page's compute panel says which torch build, CUDA version and driver it found,
where training runs and why, and where the run registry lives with its journal mode."""

from __future__ import annotations

import torch


def test_compute_panel_names_build_driver_and_registry(
    new_app, upload, support2_small_csv, mcrage_home
) -> None:
    at = new_app().run()
    upload(at, "ward.csv", support2_small_csv)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    panel = next(df.value for df in at.dataframe if list(df.value.columns) == ["What", "Found"])
    found = dict(zip(panel["What"], panel["Found"], strict=True))
    assert found["PyTorch build"] == torch.__version__
    assert found["Training runs on"] in ("cpu", "cuda", "mps")
    if torch.version.cuda is None:
        assert found["CUDA version of that build"].startswith("none")
    assert str(mcrage_home) in found["Run registry"] and "journal" in found["Run registry"]
    assert any("training runs on the CPU" in str(m.value) or "GPU" in str(m.value)
               for m in at.markdown)  # fmt: skip


def test_compute_panel_says_where_the_evaluation_folds_run(
    new_app, upload, support2_small_csv, monkeypatch
) -> None:
    def panel() -> dict[str, str]:
        at = new_app().run()
        upload(at, "ward.csv", support2_small_csv)
        at.switch_page("app_pages/train.py").run()
        assert not at.exception
        table = next(df.value for df in at.dataframe if list(df.value.columns) == ["What", "Found"])
        return dict(zip(table["What"], table["Found"], strict=True))

    monkeypatch.delenv("MCRAGE_RAY_ADDRESS", raising=False)
    assert panel()["Folds and training run on"].startswith("this server")
    monkeypatch.setenv("MCRAGE_RAY_ADDRESS", "10.0.0.5:6379")
    assert panel()["Folds and training run on"].startswith("the Ray cluster at 10.0.0.5:6379")
