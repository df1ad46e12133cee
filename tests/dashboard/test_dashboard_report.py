"""Report page: downloads of the HTML report, synthetic rows, augmented set and JSON."""

from __future__ import annotations


def test_empty_state_points_to_training(app) -> None:
    app.switch_page("app_pages/report.py").run()
    assert not app.exception
    assert any("Train" in str(p.label) for p in app.get("page_link"))


def test_six_downloads(results_app) -> None:
    at = results_app.switch_page("app_pages/report.py").run()
    assert not at.exception and not at.error
    keys = {b.key for b in at.get("download_button")}
    assert keys == {
        "download_report",
        "download_synthetic",
        "download_columns",
        "download_privacy",
        "download_augmented",
        "download_results",
    }
