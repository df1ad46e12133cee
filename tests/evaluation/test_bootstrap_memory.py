"""The bootstrap and the group columns at scale: the same numbers as the straightforward
(dense, row-by-row) forms they replace, bit for bit, in bounded memory.

The reference functions below are the forms used before: one dense ``(B, n)`` multinomial
draw and float64 temporaries of that shape, fairlearn's parity functions, and the
row-wise intersection column. Saved audits hold numbers made by them, so every
comparison here is exact (``assert_array_equal``, NaN equal to NaN), not approximate.
"""

from __future__ import annotations

import importlib
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)

from mcrage_core.evaluation import AuditConfig, prepare
from mcrage_core.evaluation.metrics import (
    bootstrap_counts,
    group_metrics,
    group_table,
    metrics_from_counts,
    point_metrics,
)
from mcrage_core.evaluation.scoring import SeedBootstrap, _disparities
from mcrage_core.tables import code_key, infer_schema

metrics_module = importlib.import_module("mcrage_core.evaluation.metrics")
prepare_module = importlib.import_module("mcrage_core.evaluation.prepare")


# -- the reference: the dense forms used before ---------------------------------------


def _ref_counts(n: int, B: int, rng: np.random.Generator) -> np.ndarray:
    if n == 0 or B == 0:
        return np.zeros((B, n), dtype=np.int32)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=B).astype(np.int32)


def _ref_div(a, b, empty=np.nan):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), empty)


def _ref_ranked(y, score, W, descending):
    order = np.argsort(-score if descending else score, kind="mergesort")
    s, yy, Ws = score[order], y[order].astype(bool), W[:, order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return np.add.reduceat(Ws * yy, starts, axis=1), np.add.reduceat(Ws * ~yy, starts, axis=1)


def _ref_metrics(y, pred, score, W) -> dict[str, np.ndarray]:
    y, pred, score = np.asarray(y).astype(bool), np.asarray(pred).astype(bool), score.astype(float)
    Wf = W.astype(float)
    tp, fp = Wf @ (y & pred), Wf @ (~y & pred)
    fn, tn = Wf @ (y & ~pred), Wf @ (~y & ~pred)
    n = tp + fp + fn + tn
    tpr, tnr = _ref_div(tp, tp + fn), _ref_div(tn, tn + fp)
    with np.errstate(invalid="ignore"):
        balanced = np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, (tpr + tnr) / 2))
    pos, neg = _ref_ranked(y, score, W, descending=False)
    neg_below = np.cumsum(neg, axis=1) - neg
    auroc = _ref_div((pos * (neg_below + 0.5 * neg)).sum(axis=1), pos.sum(1) * neg.sum(1))
    pos, neg = _ref_ranked(y, score, W, descending=True)
    ctp, cfp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    total = ctp[:, -1:]
    ap = _ref_div(pos, np.broadcast_to(total, pos.shape), 0.0) * _ref_div(ctp, ctp + cfp, 0.0)
    valid = (total[:, 0] > 0) & (neg.sum(axis=1) > 0)
    return {
        "accuracy": _ref_div(tp + tn, n),
        "balanced_accuracy": balanced,
        "f1": _ref_div(2 * tp, 2 * tp + fp + fn, 0.0),
        "auroc": auroc,
        "pr_auc": np.where(valid, ap.sum(axis=1), np.nan),
        "base_rate": _ref_div(tp + fn, n),
        "selection_rate": _ref_div(tp + fp, n),
        "tpr": np.nan_to_num(tpr, nan=0.0),
        "fpr": _ref_div(fp, fp + tn, 0.0),
        "ppv": _ref_div(tp, tp + fp),
        "fnr": _ref_div(fn, tp + fn),
        "for": _ref_div(fn, fn + tn),
        "fdr": _ref_div(fp, tp + fp),
    }


def _ref_intersection(work: pd.DataFrame, columns: list[str]) -> pd.Series:
    known = work[columns].notna().all(axis=1)
    inter = pd.Series(np.nan, index=work.index, dtype=object)
    if known.any():
        inter.loc[known] = work.loc[known, columns].map(str).agg(" × ".join, axis=1)
    return inter


def _assert_same(new: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> None:
    assert new.keys() == ref.keys()
    for metric in ref:
        np.testing.assert_array_equal(new[metric], ref[metric], err_msg=metric)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few resamples, so that small tables go through several blocks."""
    monkeypatch.setattr(metrics_module, "_BLOCK_ELEMENTS", 700)


def _predictions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.25, n), 0, 1), 1)  # many ties
    return y, (score >= 0.5).astype(int), score


# -- (a) the same numbers ----------------------------------------------------------------


def test_counts_drawn_in_blocks_are_the_dense_draw(small_blocks):
    for n, B in [(300, 37), (1, 5), (2, 9), (0, 4), (50, 0)]:
        W = bootstrap_counts(n, B, np.random.default_rng(11))
        np.testing.assert_array_equal(W, _ref_counts(n, B, np.random.default_rng(11)))
        assert W.dtype == np.uint8 and W.shape == (B, n)
    # the stream goes on where the dense draw left it
    rng_new, rng_ref = np.random.default_rng(3), np.random.default_rng(3)
    bootstrap_counts(300, 37, rng_new), _ref_counts(300, 37, rng_ref)
    assert rng_new.integers(2**62) == rng_ref.integers(2**62)


def test_a_block_with_a_count_over_255_is_kept_whole(small_blocks):
    class Rigged:  # multinomial blocks (two resamples each) whose second holds a 300
        sizes: list[int] = []

        def multinomial(self, n, p, size):
            self.sizes.append(size)
            out = np.ones((size, n), dtype=np.int64)
            if len(self.sizes) == 2:
                out[0, 1] = 300
            return out

    rigged = Rigged()
    W = bootstrap_counts(300, 5, rigged)
    assert rigged.sizes == [2, 2, 1]
    assert W.dtype == np.uint16
    assert W[2, 1] == 300 and (np.delete(W.ravel(), 2 * 300 + 1) == 1).all()


@pytest.mark.parametrize("B", [0, 1, 23])
def test_resample_metrics_equal_the_dense_formulas(small_blocks, B):
    y, pred, score = _predictions(400, seed=B)
    W = bootstrap_counts(len(y), B, np.random.default_rng(B))
    new = metrics_from_counts(y, pred, score, W)
    _assert_same(new, _ref_metrics(y, pred, score, W.astype(np.int32)))
    assert all(v.shape == (B,) for v in new.values())


def test_continuous_scores_and_nan_scores_give_the_same_numbers(small_blocks):
    y, pred, _ = _predictions(300, seed=5)
    score = np.random.default_rng(5).random(300)
    score[[3, 40, 41]] = np.nan
    for s in (score, np.where(np.isnan(score), 0.5, score)):
        W = bootstrap_counts(300, 19, np.random.default_rng(8))
        _assert_same(metrics_from_counts(y, pred, s, W), _ref_metrics(y, pred, s, W))


@pytest.mark.parametrize(
    ("y", "pred", "score"),
    [
        ([1], [1], [0.7]),  # one row
        ([0, 1], [0, 1], [0.2, 0.2]),  # two rows, tied
        ([1, 1, 1, 1], [1, 0, 1, 1], [0.9, 0.1, 0.9, 0.6]),  # positives only
        ([0, 0, 0], [0, 0, 0], [0.3, 0.1, 0.3]),  # negatives only, nothing predicted
    ],
)
def test_tiny_and_one_class_groups_give_the_same_numbers(small_blocks, y, pred, score):
    y, pred, score = np.array(y), np.array(pred), np.array(score)
    W = bootstrap_counts(len(y), 41, np.random.default_rng(2))
    _assert_same(metrics_from_counts(y, pred, score, W), _ref_metrics(y, pred, score, W))


def test_seed_bootstrap_draws_the_same_resamples_in_the_same_order(small_blocks):
    rng = np.random.default_rng(0)
    test = pd.DataFrame(
        {
            "race": rng.choice(np.array(["b", "a", "c", None], dtype=object), 200),
            "sex": pd.Series(rng.choice(["m", "f"], 200)).astype("category"),
            "code": rng.choice([2.0, 1.0, np.nan, 10.0], 200),
        }
    )
    boot = SeedBootstrap.draw(test, ["race", "sex", "code"], 13, np.random.default_rng(4))
    ref_rng = np.random.default_rng(4)
    np.testing.assert_array_equal(boot.overall, _ref_counts(200, 13, ref_rng))
    for attr in ("race", "sex", "code"):
        col = test[attr]
        groups = sorted(col.dropna().unique(), key=str)
        assert list(boot.groups[attr]) == [str(g) for g in groups]
        for g in groups:
            idx, W = boot.groups[attr][str(g)]
            np.testing.assert_array_equal(idx, np.flatnonzero((col == g).to_numpy()))
            np.testing.assert_array_equal(W, _ref_counts(len(idx), 13, ref_rng))


def test_group_table_and_point_metrics_are_the_metric_frames_numbers():
    y, pred, score = _predictions(500, seed=9)
    groups = np.random.default_rng(9).choice(["a", "b", "c", "d"], 500, p=[0.6, 0.3, 0.098, 0.002])
    y[groups == "c"] = 1  # a group with positives only
    frame = group_metrics(y, pred, score, groups)
    table = group_table(y, pred, score, groups)
    expected = frame.by_group
    assert list(table.index) == list(expected.index)
    assert list(table.columns) == list(expected.columns)
    for metric in expected.columns:
        np.testing.assert_array_equal(
            table[metric].to_numpy(float), expected[metric].to_numpy(float), err_msg=metric
        )
    overall = point_metrics(y, pred, score)
    assert [float(overall[m]) for m in expected.columns] == pytest.approx(
        [float(frame.overall[m]) for m in expected.columns], abs=0, rel=0, nan_ok=True
    )


@pytest.mark.parametrize("case", ["plain", "no_positives_in_a_group", "nothing_predicted"])
def test_disparities_are_fairlearns_parity_functions(case):
    rng = np.random.default_rng(1)
    y, pred, score = _predictions(600, seed=1)
    col = pd.Series(rng.choice(["a", "b", "c", "tiny"], 600, p=[0.5, 0.3, 0.19, 0.01]))
    if case == "no_positives_in_a_group":
        y[(col == "b").to_numpy()] = 0
    if case == "nothing_predicted":
        pred[:] = 0
    eligible = ["a", "b", "c"]
    table = group_table(y, pred, score, col.astype(str))
    points, _ = _disparities(table, eligible, {}, 0)
    sel = col.isin(eligible).to_numpy()
    args = (y[sel], pred[sel])
    sf = col[sel].astype(str).to_numpy()
    expected = {
        "demographic_parity_difference": demographic_parity_difference(
            *args, sensitive_features=sf
        ),
        "demographic_parity_ratio": demographic_parity_ratio(*args, sensitive_features=sf),
        "equalized_odds_difference": equalized_odds_difference(*args, sensitive_features=sf),
        "equalized_odds_ratio": equalized_odds_ratio(*args, sensitive_features=sf),
    }
    for metric, value in expected.items():
        np.testing.assert_array_equal(points[metric], float(value), err_msg=metric)


# -- (b) bounded memory ------------------------------------------------------------------


def test_bootstrap_memory_stays_far_below_one_dense_float_array():
    """At 200,000 rows and 200 resamples one dense float64 (B, n) array is 320 MB; the old
    forms drew an int64 array of that size and held several float64 ones (2.6 GB) while
    measuring. Now the counts take one byte each, and drawing and measuring need a small
    fraction of one such array on top: a block of resamples at a time, whatever n."""
    n, B = 200_000, 200
    dense = 8 * B * n
    y, pred, score = _predictions(n, seed=0)
    score = score + np.random.default_rng(0).random(n) * 1e-3  # nearly every score distinct
    tracemalloc.start()
    try:
        drawn = bootstrap_counts(n, B // 4, np.random.default_rng(1))  # 40 blocks
        _, draw_peak = tracemalloc.get_traced_memory()
        W = np.tile(drawn, (4, 1))  # the 200 resamples (a quarter of the draw's time)
        tracemalloc.reset_peak()
        m = metrics_from_counts(y, pred, score, W)
        _, measure_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert drawn.dtype == np.uint8 and drawn.nbytes == B // 4 * n  # one byte a count
    assert draw_peak - drawn.nbytes < dense / 4 / 4, draw_peak  # old: dense / 4 more
    assert measure_peak - W.nbytes - drawn.nbytes < dense / 5, measure_peak
    np.testing.assert_array_equal(m["auroc"][:50], m["auroc"][150:])
    assert np.isfinite(m["auroc"]).all() and m["auroc"].shape == (B,)


# -- (c) the group columns ---------------------------------------------------------------


@pytest.fixture
def mixed() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "text": ["a", "b", None, "c", " d ", "e"],
            "int": [1, 2, 3, 4, 5, 6],
            "float": [1.0, np.nan, 2.5, -0.0, 1e20, 3.0],
            "float32": np.array([0.1, 1, 2, 3, 4, np.nan], dtype=np.float32),
            "category": pd.Categorical(["x", "y", "x", None, "y", "x"]),
            "objects": pd.Series([True, 1, 1.0, "z", None, 2.5], dtype=object),
            "nullable": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
            "empty": [np.nan] * 6,
        }
    )
    df.index = [10, 11, 12, 10, 14, 15]  # not a range, and not unique
    return df


def test_intersection_column_is_the_row_wise_one(mixed):
    pairs = [[a, b] for a in mixed.columns for b in mixed.columns if a != b]
    for columns in [*pairs, ["text", "int", "float"], ["category", "objects", "nullable"]]:
        work = mixed.copy()
        name = prepare_module._add_intersection(work, prepare_module._Groups(), columns)
        expected = _ref_intersection(mixed, columns)
        assert name == " × ".join(columns)
        assert work[name].dtype == expected.dtype
        assert work[name].equals(expected), (columns, work[name].tolist(), expected.tolist())
    assert _ref_intersection(mixed, ["text", "objects"]).iloc[0] == "a × True"  # not vacuous


def test_group_keys_are_code_key_of_each_value(mixed):
    for name, col in mixed.items():
        got = prepare_module._code_keys(col)
        expected = col.astype(object).map(lambda v: np.nan if pd.isna(v) else code_key(v))
        assert got.dtype == expected.dtype, name
        assert got.equals(expected), (name, got.tolist(), expected.tolist())


def test_prepared_intersection_of_coded_columns(support2_small):
    data, schema = infer_schema(support2_small, target="died_within_6_months")
    data = data.assign(sex=data["sex"].map({"male": 1.0, "female": 2.0}))  # codes with blanks
    config = AuditConfig(
        "died_within_6_months", sensitive=("race", "sex"), rebalance=("race", "sex")
    )
    prep = prepare(data, schema, config)
    expected = _ref_intersection(prep.df, ["race", "sex"])
    assert prep.df["race × sex"].equals(expected)
    assert set(prep.df["sex"].dropna()) == {"1", "2"}
