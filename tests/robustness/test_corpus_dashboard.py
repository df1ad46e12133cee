"""The dashboard walked through on every real clinical table of ``tests/data/real``.

The companion of ``test_corpus_cli.py``: the same eight tables of ``MANIFEST.json``, but
through the Streamlit app (``streamlit.testing`` AppTest: the real app, the real worker
process, no mock of ``mcrage_core``), clicked through the way a user would::

    1 · Data       upload the CSV; outcome and positive class, race/sex/age columns, the
                   manifest's value labels (commas inside a label become "/", as for the
                   CLI) and "merge groups smaller than 20 rows" (actg320, icu); Apply.
                   No error; the preview and the roles table show
    2 · Imbalance  every attribute: no exception; labelled groups shown by their labels,
                   never by their codes; the merged groups named (actg320, icu)
    3 · Train      the plan preview (headline and table, labelled groups, the merged
                   group where merging is on); the tiny preset, one seed, every strategy;
                   Start training; wait for the worker (as ``tests/dashboard`` does); the
                   run generates the rows the headline promised
    4 · Compare    the default view and one group; icu (no synthetic rows) says why
    5 · Results    every metric and attribute; the decision-threshold sentence
    6 · Report     offers synthetic.csv, whose header (in the run folder) is the input's
                   columns minus the sidecar's dropped_columns (``check_columns``); the
                   columns dropped are those ``mcrage audit`` drops: the walk leaves
                   "Columns kept out of modelling" alone, so none is dropped as "excluded
                   by the user", and a constant column keeps its constant

On every page: no exception, no traceback, and no number with 7+ decimals or nan/None
cell in any text, markdown, metric or table cell (the Data page's preview of the user's
own rows excepted).

One module-scoped walk per table (Data to the finished run); the page checks are separate
tests on it, so a failing case names the table and the page. Each walk's time is printed
by :func:`test_timing_is_recorded`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from robustness_contract import (
    _LONG_FLOAT,
    _bad_cell,
    check_columns,
    check_constants,
    is_blank,
    load_outputs,
    read_text,
)
from streamlit.testing.v1 import AppTest

from dashboard.state import TEST_PRESETS
from mcrage_core.tables.groups import MERGED_LABEL, code_key, format_labels

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
CORPUS = REPO / "tests" / "data" / "real"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
MERGE = {"actg320.csv", "icu.csv"}  # tables whose rebalanced column has a group < 20 rows
MERGE_BELOW = 20
NONE = "(none)"  # the Data page's "no column" choice
KIND = {"raceth": "race", "race": "race", "racegrp": "race", "sex": "sex", "gender": "sex"}
"""The Data page's role (race or sex select box) of each sensitive column; ``age`` is age."""

PAGES = {
    "data": "app_pages/data.py",
    "imbalance": "app_pages/imbalance.py",
    "train": "app_pages/train.py",
    "compare": "app_pages/compare.py",
    "results": "app_pages/results.py",
    "report": "app_pages/report.py",
}


def kind_of(column: str) -> str:
    return "age" if column == "age" else KIND[column]


def form_labels(entry: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The manifest's labels as the form can take them (no comma inside a label)."""
    return {
        col: {code: label.replace(",", "/") for code, label in mapping.items()}
        for col, mapping in (entry.get("labels") or {}).items()
    }


def plain(markdown: str) -> str:
    """Text of a markdown string whose punctuation was escaped (``\\_`` → ``_``)."""
    return re.sub(r"\\(.)", r"\1", markdown)


# --------------------------------------------------------------------------- page reading

_TEXT_TYPES = {
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "text",
    "code",
    "latex",
    "info",
    "warning",
    "error",
    "success",
    "exception",
}


@dataclass
class Page:
    """What one page showed: its texts (markdown, captions, alerts ...), its metrics and
    its tables (as text), with the exceptions raised while drawing it."""

    name: str
    texts: list[str] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    download_keys: list[str] = field(default_factory=list)

    def cells(self, *, skip_columns: list[str] | None = None) -> list[str]:
        """Every column name and cell of the tables shown, as text; tables with exactly
        ``skip_columns`` as their columns (the Data page's preview of the user's own rows)
        left out."""
        out: list[str] = []
        for table in self.tables:
            if skip_columns is not None and [str(c) for c in table.columns] == skip_columns:
                continue
            out += [str(c) for c in table.columns]
            out += [str(v) for v in table.to_numpy().ravel().tolist()]
        return out

    def everything(self, *, skip_columns: list[str] | None = None) -> list[str]:
        return [*self.texts, *self.cells(skip_columns=skip_columns)]


def read_page(at: AppTest, name: str) -> Page:
    page = Page(name)
    for node in at._tree:  # every element of the page, in containers and expanders too
        kind = getattr(node, "type", "")
        if kind == "exception":
            page.exceptions.append(f"{node.value}\n" + "\n".join(node.stack_trace))
            page.texts.append(str(node.value))
        elif kind in _TEXT_TYPES:
            value = plain(str(node.value))
            page.texts.append(value)
            if kind == "info":
                page.infos.append(value)
            elif kind == "error":
                page.errors.append(value)
        elif kind == "metric":
            page.texts += [str(node.label), str(node.value)]
        elif kind in ("dataframe", "table"):
            value = node.value
            if isinstance(value, pd.DataFrame):
                page.tables.append(value)
        elif kind == "download_button":
            page.download_keys.append(str(node.key))
    return page


def assert_clean(page: Page, table: str, *, raw_columns: list[str] | None = None) -> None:
    """No exception, no traceback, no float noise in what the page shows (the user's own
    rows, a table with ``raw_columns``, may hold any number: they are the input's)."""
    assert not page.exceptions, f"{table}: the {page.name} page raised:\n" + "\n".join(
        page.exceptions
    )
    traces = [t for t in page.everything() if "Traceback" in t]
    assert not traces, f"{table}: the {page.name} page shows a traceback: {traces[0][:800]}"
    shown = page.everything(skip_columns=raw_columns)
    noisy = sorted({m for t in shown for m in _LONG_FLOAT.findall(t)})
    assert not noisy, f"{table}: the {page.name} page shows numbers with 7+ decimals: {noisy[:10]}"
    bad = sorted({c for c in page.cells(skip_columns=raw_columns) if _bad_cell(c.strip())})
    assert not bad, f"{table}: the {page.name} page shows empty-value cells: {bad[:10]}"


def visit(at: AppTest, name: str) -> Page:
    at.switch_page(PAGES[name]).run()
    return read_page(at, name)


# --------------------------------------------------------------------------- the walk


@dataclass
class Walk:
    """One table walked from upload to a finished run."""

    entry: dict[str, Any]
    at: AppTest
    home: Path
    owner: str
    labels: dict[str, dict[str, str]]
    pages: dict[str, Page]
    imbalance_groups: dict[str, list[str]]  # "raceth (race)" -> the Group column shown
    plan: pd.DataFrame
    headline: str
    run_id: str
    seconds: dict[str, float]

    @property
    def name(self) -> str:
        return self.entry["file"]


def wait_for_runs(registry: Any, *, timeout: float = 600) -> None:
    """As in ``tests/dashboard/conftest.py``: poll the registry until no run is active."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()
        if not any(r.is_active for r in registry.list_runs(None)):
            return
        time.sleep(0.5)
    raise AssertionError("runs did not finish in time")


def set_roles(at: AppTest, entry: dict[str, Any], labels: dict[str, dict[str, str]]) -> AppTest:
    """On the Data page: outcome, race/sex/age columns, applied; then the positive class
    (its list belongs to the outcome applied before), the value labels and merging."""
    at.selectbox(key="target").set_value(entry["target"])
    chosen = {kind_of(c): c for c in entry["sensitive"]}
    for kind in ("race", "sex", "age"):
        at.selectbox(key=f"sensitive_{kind}").set_value(chosen.get(kind, NONE))
    at.button(key="apply_roles").click().run()
    at.selectbox(key="positive_class").set_value(str(entry["positive_class"]))
    at.text_area(key="value_labels").set_value("\n".join(format_labels(labels)))
    at.number_input(key="merge_below").set_value(MERGE_BELOW if entry["file"] in MERGE else 0)
    return at.button(key="apply_roles").click().run()


@pytest.fixture(scope="module", params=MANIFEST, ids=[e["file"] for e in MANIFEST])
def walk(request, tmp_path_factory) -> Iterator[Walk]:
    from mcrage_core.jobs import RunRegistry

    entry = request.param
    stem = entry["file"].split(".")[0]
    home = tmp_path_factory.mktemp(f"home_{stem}")
    owner = f"robustness-dashboard-{stem}".replace("_", "-")
    labels = form_labels(entry)
    seconds: dict[str, float] = {}
    pages: dict[str, Page] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCRAGE_HOME", str(home))
        mp.delenv("MCRAGE_DEBUG", raising=False)
        t0 = time.monotonic()
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state[TEST_PRESETS] = True  # offer the tiny model preset
        at.query_params["session"] = owner
        at.run()

        # 1 · Data
        at.switch_page(PAGES["data"]).run()
        at.file_uploader(key="upload").set_value(
            (entry["file"], (CORPUS / entry["file"]).read_bytes(), "text/csv")
        )
        at.run()
        set_roles(at, entry, labels)
        pages["data"] = read_page(at, "data")
        assert not pages["data"].exceptions and not pages["data"].errors, (
            f"{entry['file']}: the Data page refused the roles: "
            f"{pages['data'].errors or pages['data'].exceptions}"
        )
        choices = at.session_state["mcrage_choices"]
        assert choices["target"] == entry["target"], choices
        assert choices["positive_class"] == str(entry["positive_class"]), choices
        assert choices["value_labels"] == labels, choices
        seconds["data"] = time.monotonic() - t0

        # 2 · Imbalance: every attribute of the segmented control
        t0 = time.monotonic()
        pages["imbalance"] = visit(at, "imbalance")
        groups: dict[str, list[str]] = {}
        if not pages["imbalance"].exceptions:
            control = at.segmented_control(key="imbalance_attribute")
            for option in control.options:
                at.segmented_control(key="imbalance_attribute").set_value(option).run()
                shown = read_page(at, "imbalance")
                pages[f"imbalance {option}"] = shown
                if at.dataframe:
                    groups[option] = [str(g) for g in at.dataframe[0].value["Group"]]
        seconds["imbalance"] = time.monotonic() - t0

        # 3 · Train: the plan preview, the tiny preset, Start training
        t0 = time.monotonic()
        at.switch_page(PAGES["train"]).run()
        at.multiselect(key="rebalance").set_value([kind_of(entry["rebalance"])])
        at.radio(key="preset").set_value("tiny")
        at.radio(key="evaluation").set_value("holdout")
        at.run()
        pages["train"] = read_page(at, "train")
        train = pages["train"]
        assert not train.exceptions and not train.errors, (
            f"{entry['file']}: the Train page: {train.errors or train.exceptions}"
        )
        headline = next((t for t in train.texts if "Augmentation plan" in t), "")
        plan = at.dataframe[0].value if at.dataframe else pd.DataFrame()
        start = at.button(key="start_run")
        assert not start.disabled, f"{entry['file']}: Start training is disabled: {train.texts}"
        start.click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        registry = RunRegistry(home)
        wait_for_runs(registry)
        (record,) = registry.list_runs(None)
        assert record.status == "succeeded", (record.error, registry.log_tail(record.id))
        seconds["train"] = time.monotonic() - t0

        yield Walk(
            entry=entry,
            at=at,
            home=home,
            owner=owner,
            labels=labels,
            pages=pages,
            imbalance_groups=groups,
            plan=plan,
            headline=headline,
            run_id=record.id,
            seconds=seconds,
        )


def _record(walk: Walk) -> Any:
    from mcrage_core.jobs import RunRegistry

    return RunRegistry(walk.home).get(walk.run_id)


def _present_labels(walk: Walk, column: str) -> list[str]:
    """The labels of the codes that occur in ``column`` of the input (label order)."""
    table = read_text(CORPUS / walk.name)
    present = {code_key(v) for v in table[column] if not is_blank(v)}
    return [lab for code, lab in walk.labels.get(column, {}).items() if code in present]


# --------------------------------------------------------------------------- the tests


def test_corpus_roles_cover_the_manifest() -> None:
    assert len(MANIFEST) == 8
    for entry in MANIFEST:
        kinds = [kind_of(c) for c in entry["sensitive"]]
        assert len(set(kinds)) == len(kinds), entry["file"]
        assert entry["rebalance"] in entry["sensitive"]


def test_data_page(walk: Walk) -> None:
    raw = [str(c) for c in walk.at.session_state["mcrage_data"].columns]
    page = walk.pages["data"]
    assert_clean(page, walk.name, raw_columns=raw)
    assert any([str(c) for c in t.columns] == raw for t in page.tables), (
        f"{walk.name}: the Data page shows no preview of the table"
    )


def test_imbalance_page_shows_labelled_groups(walk: Walk) -> None:
    for key, page in walk.pages.items():
        if key.startswith("imbalance"):
            assert_clean(page, walk.name)
    assert walk.imbalance_groups, f"{walk.name}: the Imbalance page shows no group table"
    for column, mapping in walk.labels.items():
        if column not in walk.entry["sensitive"]:
            continue  # labels of a non-sensitive column (helprct's female) are not groups
        option = f"{column} ({kind_of(column)})"
        assert option in walk.imbalance_groups, (
            f"{walk.name}: no attribute {option!r} on the Imbalance page: "
            f"{list(walk.imbalance_groups)}"
        )
        shown = walk.imbalance_groups[option]
        expected = _present_labels(walk, column)
        missing = [lab for lab in expected if lab not in shown]
        assert not missing, f"{walk.name}: {option} groups {shown} lack the labels {missing}"
        codes = [g for g in shown if g in mapping]
        assert not codes, f"{walk.name}: {option} shows codes {codes} although they have labels"
    if walk.name in MERGE:
        infos = " ".join(walk.pages["imbalance"].infos)
        assert f"'{MERGED_LABEL}' ({walk.entry['rebalance']}: " in infos, (
            f"{walk.name}: the Imbalance page does not say which groups are merged: {infos}"
        )


def test_train_page_previews_the_plan(walk: Walk) -> None:
    assert_clean(walk.pages["train"], walk.name)
    assert walk.headline, f"{walk.name}: no 'Augmentation plan' on the Train page"
    assert len(walk.plan), f"{walk.name}: the plan table is empty"
    rebalance = walk.entry["rebalance"]
    group_cols = [c for c in walk.plan.columns if c.startswith(rebalance)]
    assert group_cols, f"{walk.name}: the plan has no {rebalance} column: {list(walk.plan)}"
    shown = {str(v) for v in walk.plan[group_cols[0]]}
    mapping = walk.labels.get(rebalance, {})
    codes = sorted(shown & set(mapping))
    assert not codes, f"{walk.name}: the plan shows codes {codes} although they have labels"
    allowed = set(read_text(CORPUS / walk.name)[rebalance]) | set(mapping.values())
    assert shown <= allowed | {MERGED_LABEL}, f"{walk.name}: plan groups {sorted(shown)}"
    assert (MERGED_LABEL in shown) == (walk.name in MERGE), (
        f"{walk.name}: plan groups {sorted(shown)} (merge below {MERGE_BELOW}: "
        f"{walk.name in MERGE})"
    )


def test_the_run_generates_what_the_train_page_promised(walk: Walk) -> None:
    from mcrage_core.tables.records import SIDECAR_FILE

    record = _record(walk)
    promised = re.search(r"generate \*\*([\d,]+) synthetic rows", walk.headline)
    assert promised, f"{walk.name}: {walk.headline}"
    side = json.loads((record.run_dir / SIDECAR_FILE).read_text(encoding="utf-8"))
    want = int(promised.group(1).replace(",", ""))
    assert side["planned_rows_after_guardrail"] == want, (
        f"{walk.name}: the Train page promised {want} rows, the run planned "
        f"{side['planned_rows_after_guardrail']}"
    )
    assert side["n_rows"] == want, f"{walk.name}: {side['n_rows']} rows generated, {want} promised"


def test_compare_page(walk: Walk) -> None:
    page = visit(walk.at, "compare")
    assert_clean(page, walk.name)
    record = _record(walk)
    synthetic = read_text(record.artefact("synthetic"))
    if len(synthetic) == 0:  # icu.csv: the guardrail skips every planned cell
        assert any("no synthetic rows" in t.lower() or "skipped" in t for t in page.infos), (
            f"{walk.name}: no synthetic rows, and the Compare page does not say why: {page.infos}"
        )
        return
    rebalance = walk.entry["rebalance"]
    options = walk.at.selectbox(key="compare_group").options
    mapping = walk.labels.get(rebalance, {})
    codes = sorted(set(options) & set(mapping))
    assert not codes, f"{walk.name}: the Compare page offers codes {codes} as groups"
    if len(options) > 1:  # the first group that received synthetic rows
        walk.at.selectbox(key="compare_group").set_value(options[1]).run()
        assert_clean(read_page(walk.at, "compare"), walk.name)


def test_results_page(walk: Walk) -> None:
    from mcrage_core.evaluation.results import METRIC_LABELS

    page = visit(walk.at, "results")
    assert_clean(page, walk.name)
    info = " ".join(page.infos)
    target, positive = walk.entry["target"], walk.entry["positive_class"]
    sentence = f"A patient is predicted positive ({target} = {positive}) when the model's "
    assert sentence in info and "probability is at least 0.50" in info, (
        f"{walk.name}: the Results page does not state the threshold: {page.infos}"
    )
    metric_keys = {label: key for key, label in METRIC_LABELS.items()}
    for label in walk.at.radio(key="metric").options[1:]:  # the first is shown already
        walk.at.radio(key="metric").set_value(metric_keys[label]).run()
        assert_clean(read_page(walk.at, f"results ({label})"), walk.name)
    attributes = walk.at.selectbox(key="attribute").options
    for attribute in attributes[1:]:  # the first is shown already
        walk.at.selectbox(key="attribute").set_value(attribute).run()
        assert_clean(read_page(walk.at, f"results ({attribute})"), walk.name)


def test_report_page_offers_the_synthetic_rows(walk: Walk) -> None:
    page = visit(walk.at, "report")
    assert_clean(page, walk.name)
    assert "download_synthetic" in page.download_keys, (
        f"{walk.name}: the Report page offers {page.download_keys}, not synthetic.csv"
    )
    record = _record(walk)
    files = {
        name: (record.run_dir / name).read_bytes()
        for name in ("synthetic.csv", "augmented_train.csv", "synthetic.columns.json")
        if (record.run_dir / name).is_file()
    }
    assert record.artefact("synthetic").name == "synthetic.csv"
    synthetic, augmented, sidecar = load_outputs(files)
    check_columns(walk.name, read_text(CORPUS / walk.name), synthetic, augmented, sidecar)


def test_untouched_exclusions_keep_the_schema_reasons(walk: Walk) -> None:
    """The walk never touches "Columns kept out of modelling", so the synthetic files drop
    what ``mcrage audit`` drops (identifiers, with the schema's reasons) and keep a constant
    column with its constant (actg175's ``zprior``), as ``test_corpus_cli.py`` checks."""
    files = {
        name: (_record(walk).run_dir / name).read_bytes()
        for name in ("synthetic.csv", "synthetic.columns.json")
    }
    synthetic, _, sidecar = load_outputs(files)
    table = read_text(CORPUS / walk.name)
    by_user = [d["column"] for d in sidecar["dropped_columns"] if "by the user" in d["reason"]]
    assert not by_user, (
        f"{walk.name}: nothing was excluded on the Data page, but the synthetic files drop "
        f"{by_user} as 'excluded by the user': {sidecar['dropped_columns']}"
    )
    check_constants(walk.name, table, synthetic, what="synthetic.csv")


def test_timing_is_recorded(walk: Walk, record_property) -> None:
    """Not a speed limit: records each walk's time in the JUnit XML/console."""
    total = sum(walk.seconds.values())
    record_property("walk_seconds", round(total, 1))
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in walk.seconds.items())
    print(f"{walk.name}: {total:.1f} s ({parts})")
