"""The train/test split of an audit: stratified by group × outcome, never failing for a
table of two rows or more."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.evaluation.prepare import Prepared
from mcrage_core.rebalance import MISSING_GROUP

__all__ = ["Split", "fold_splits", "split_folds", "split_prepared", "split_train_test"]


def split_train_test(
    strata: pd.Series, *, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training and test rows, stratified by ``strata``.

    A stratum label is ``"group|outcome"``. Strata with a single row cannot be split
    both ways, so they are merged into the largest stratum with the same outcome (or the
    largest stratum when none shares the outcome). If stratification is still impossible
    (for example an outcome with one row in the whole table), the split falls back to
    the outcome alone and finally to a plain random split. It never fails for a table
    of at least two rows.
    """
    from sklearn.model_selection import train_test_split

    labels = pd.Series(strata.astype(str).to_numpy(), dtype=object)
    positions = np.arange(len(labels))
    if len(labels) < 2:
        raise DataError(
            f"the table has {len(labels)} usable row(s); at least two are needed to hold some "
            "out for testing"
        )
    labels = _merge_single_strata(labels)
    outcome = labels.map(lambda lab: lab.rsplit("|", 1)[-1])
    for stratify in (labels, _merge_single_strata(outcome), None):
        try:
            train, test = train_test_split(
                positions,
                test_size=test_size,
                random_state=seed,
                stratify=None if stratify is None else stratify.to_numpy(),
            )
        except ValueError:
            continue
        return np.sort(train), np.sort(test)
    raise DataError(  # pragma: no cover - a plain split of >= 2 rows always works
        "the rows could not be split into a training and a test part"
    )


def split_folds(strata: pd.Series, *, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Positions of the training and test rows of each of ``folds`` cross-validation folds,
    stratified by ``strata`` (``"group|outcome"``): every row is a test row exactly once.

    Strata with fewer rows than folds are merged into the largest stratum with the same
    outcome first; if stratification is still impossible the folds are stratified by the
    outcome alone, and finally not at all.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = pd.Series(strata.astype(str).to_numpy(), dtype=object)
    if len(labels) < 2 * folds:
        raise DataError(
            f"the table has {len(labels)} usable row(s); {folds}-fold cross-validation needs "
            f"at least {2 * folds}. Use fewer folds or a larger table."
        )
    positions = np.arange(len(labels))
    labels = _merge_single_strata(labels, below=folds)
    outcome = labels.map(lambda lab: lab.rsplit("|", 1)[-1])
    for stratify in (labels, _merge_single_strata(outcome, below=folds)):
        counts = stratify.value_counts()
        if counts.min() < folds:
            continue
        kf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in kf.split(positions, stratify.to_numpy())]
    kfold = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in kfold.split(positions)]


def _merge_single_strata(labels: pd.Series, *, below: int = 2) -> pd.Series:
    """Relabel strata with fewer than ``below`` rows as the largest stratum with the same
    outcome."""
    counts = labels.value_counts()
    single = counts[counts < below].index
    if len(single) == 0 or len(counts) < 2:
        return labels
    big = counts[counts >= below]
    if big.empty:
        return labels
    by_outcome: dict[str, str] = {}
    for lab in big.index:  # value_counts is sorted by size, so the first one wins
        by_outcome.setdefault(str(lab).rsplit("|", 1)[-1], lab)
    largest = big.index[0]
    mapping = {lab: by_outcome.get(str(lab).rsplit("|", 1)[-1], largest) for lab in single}
    return labels.map(lambda lab: mapping.get(lab, lab))


@dataclass(frozen=True)
class Split:
    """The training rows, the (real) test rows, and their positions in ``prep.df``."""

    train: pd.DataFrame
    test: pd.DataFrame
    train_pos: np.ndarray
    test_pos: np.ndarray


def _strata(prep: Prepared) -> pd.Series:
    data = prep.df
    strata = data[prep.primary].astype(object).where(data[prep.primary].notna(), MISSING_GROUP)
    return strata.astype(str) + "|" + data[prep.target].astype(str)


def _make(prep: Prepared, train_pos: np.ndarray, test_pos: np.ndarray) -> Split:
    train_pos, test_pos = np.sort(train_pos), np.sort(test_pos)
    train = prep.df.iloc[train_pos].reset_index(drop=True)
    test = prep.df.iloc[test_pos].reset_index(drop=True)
    return Split(train, test, train_pos, test_pos)


def split_prepared(prep: Prepared, *, test_size: float, seed: int) -> Split:
    """Split the prepared table, stratified by primary group × outcome."""
    train_pos, test_pos = split_train_test(_strata(prep), test_size=test_size, seed=seed)
    return _make(prep, train_pos, test_pos)


def fold_splits(prep: Prepared, *, folds: int, test_size: float, seed: int) -> list[Split]:
    """The splits of one repeat: ``folds`` cross-validation folds stratified by primary
    group × outcome (every real row is tested once), or with ``folds=1`` one hold-out
    split of ``test_size``."""
    if int(folds) <= 1:
        return [split_prepared(prep, test_size=test_size, seed=seed)]
    return [_make(prep, tr, te) for tr, te in split_folds(_strata(prep), folds=folds, seed=seed)]
