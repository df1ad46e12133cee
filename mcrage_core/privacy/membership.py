"""Membership inference: can an attacker holding the synthetic table tell which real
patients the generator was trained on?

The evaluation follows the usual membership-inference protocol. The hold-out rows (real
patients of the same population that the generator never saw) are shuffled and cut in
two halves: a **reference** half, which plays the attacker's background knowledge of the
population, and an **evaluated non-member** half. As many training rows (**members**)
are drawn at random, so that members and non-members are balanced. Each attack gives
every evaluated row a score (higher = "was in the training set"), and the risk is the
ROC AUC of that score: 0.5 means the attacker guesses, 1.0 that every member is exposed.

All rows live in one encoded space (:mod:`mcrage_core.privacy._common`: quantile-scaled
numbers with missing indicators, one-hot categories), fitted on the real rows used here.

* **distance attack** - score = minus the Euclidean distance from the row to its closest
  synthetic row (scikit-learn ``NearestNeighbors``). A generator that copies or barely
  perturbs its training rows puts a synthetic row right next to each member.
* **density attack** - in the spirit of DOMIAS (van Breugel et al., AISTATS 2023):
  score = ``log p_synth(x) - log p_ref(x)``, the log ratio of the synthetic density to the
  population density. Both are Gaussian kernel density estimates in a PCA space (fitted on
  reference + synthetic rows; whitened; as many components as explain 80 % of the
  variance, at most 30) with Scott's bandwidth ``n ** (-1 / (d + 4))`` for each set.
  Dividing by the reference density stops rows in dense regions from looking like
  members only because they are typical.

Intervals are 95 % percentile bootstraps over the evaluated rows (members and non-members
resampled separately). Per group of each ``by`` column the same scores are read on the
group's evaluated rows; a group with fewer than 10 members or 10 non-members gets no AUC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from scipy.stats import rankdata

from mcrage_core.errors import ConfigError
from mcrage_core.fidelity.columns import column_kinds
from mcrage_core.fidelity.privacy import copy_mask
from mcrage_core.privacy._common import (
    ALL,
    MIN_GROUP_ROWS,
    TOO_FEW,
    RiskTable,
    bootstrap_interval,
    by_list,
    check_tables,
    check_thresholds,
    fit_encoder,
    group_labels,
    group_order,
    risk_level,
)

__all__ = ["ATTACKS", "MEMBERSHIP_THRESHOLDS", "MembershipResult", "membership_risk"]

ATTACKS = ("distance", "density")
MEMBERSHIP_THRESHOLDS = (0.55, 0.60)
"""Attack AUC up to 0.55 reads low risk, up to 0.60 moderate, above that high."""
_COLUMNS = [
    "attack",
    "column",
    "group",
    "n_members",
    "n_nonmembers",
    "auc",
    "ci_low",
    "ci_high",
    "risk",
    "above_chance",
    "note",
]
_PCA_VARIANCE = 0.80
_PCA_MAX = 30
_CHUNK = 1024


@dataclass(frozen=True)
class MembershipResult(RiskTable):
    """Result of :func:`membership_risk`.

    Attributes
    ----------
    table : DataFrame
        One row per attack and group: ``attack`` (``distance`` / ``density``),
        ``column`` (the ``by`` column, ``"(all)"`` for all rows), ``group``,
        ``n_members``, ``n_nonmembers``, ``auc``, ``ci_low``, ``ci_high``, ``risk``
        (``low`` / ``moderate`` / ``high`` / ``unknown``, read from ``auc``),
        ``above_chance`` (the interval lies above 0.5: the attack beats guessing beyond
        sampling noise) and ``note`` (why there is no AUC).
    thresholds : tuple of float
        The AUC bounds of ``low`` and ``moderate``.
    settings : dict
        Row counts, columns, seed and bootstrap count the result was computed with, and
        ``holdout_rows_also_in_train`` (hold-out rows identical to a training row: should
        be 0, or the hold-out is not unseen and the AUC understates the risk).
    """

    table: pd.DataFrame
    thresholds: tuple[float, float] = MEMBERSHIP_THRESHOLDS
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Overall numbers: per attack its AUC, interval and risk; the worst risk; and the
        groups read as moderate or high risk."""
        out: dict[str, Any] = dict(self.settings)
        overall = self.table.loc[self.table["column"] == ALL]
        for row in overall.itertuples(index=False):
            out[str(row.attack)] = {
                "auc": row.auc,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "risk": row.risk,
            }
        levels = [r for r in ("high", "moderate", "low") if (overall["risk"] == r).any()]
        out["risk"] = levels[0] if levels else "unknown"
        flagged = self.at_risk("moderate")
        flagged = flagged.loc[flagged["column"] != ALL]
        out["groups_at_risk"] = flagged[["attack", "column", "group", "auc", "risk"]].to_dict(
            orient="records"
        )
        return out


def membership_risk(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = (),
    columns: str | Sequence[str] | None = None,
    seed: int = 0,
    n_boot: int = 200,
    max_rows: int = 5000,
    thresholds: Sequence[float] = MEMBERSHIP_THRESHOLDS,
) -> MembershipResult:
    """Membership-inference risk of ``synthetic`` for the patients of ``train``.

    Parameters
    ----------
    train : DataFrame
        The real rows the generator was trained on (members).
    holdout : DataFrame
        Real rows of the same population the generator never saw (non-members); half
        are the attacker's reference, half are evaluated.
    synthetic : DataFrame
        The generated rows.
    by : str or sequence of str, optional
        Sensitive columns; each is read separately, group by group.
    columns : sequence of str, optional
        The columns the attacker uses (default: every column of the three tables; drop
        identifiers first).
    seed : int
        Seeds the split, the subsamples and the bootstrap.
    n_boot : int
        Bootstrap replicates of each interval (0: no intervals).
    max_rows : int
        Cap on the rows of each set (members, non-members, reference, synthetic);
        larger sets are subsampled at random.
    thresholds : (float, float)
        Largest AUC read as low risk, and as moderate risk.

    Returns
    -------
    MembershipResult

    Raises
    ------
    DataError
        A table is not a DataFrame, has fewer than 20 rows, the tables share no column,
        or a ``by`` / ``columns`` column is missing.
    """
    limits = check_thresholds(thresholds)
    if n_boot < 0 or max_rows < MIN_GROUP_ROWS:
        raise ConfigError(f"n_boot must be >= 0 and max_rows >= {MIN_GROUP_ROWS}.")
    by_cols = by_list(by)
    cols = _columns(train, holdout, synthetic, columns, by_cols)
    mem, non, ref, syn = _sample(train, holdout, synthetic, seed=seed, max_rows=max_rows)
    evaluated = pd.concat([mem, non], ignore_index=True)
    groups = {c: group_labels(evaluated[c]) for c in by_cols}
    orders = {c: group_order(c, labels) for c, labels in groups.items()}  # refuses ids
    scores = _scores(mem, non, ref, syn, cols, seed)
    is_member = np.r_[np.ones(len(mem), dtype=bool), np.zeros(len(non), dtype=bool)]
    rows = []
    for attack in ATTACKS:
        rows.extend(_attack_rows(attack, scores[attack], is_member, (groups, orders), seed, n_boot))
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["risk"] = [risk_level(a, limits) for a in table["auc"]]
    table["above_chance"] = (table["ci_low"] > 0.5).to_numpy(dtype=bool)
    settings = {
        "n_members": len(mem),
        "n_nonmembers": len(non),
        "n_reference": len(ref),
        "n_synthetic": len(syn),
        "holdout_rows_also_in_train": int(copy_mask(holdout, train, cols).sum()),
        "columns": cols,
        "seed": seed,
        "n_boot": n_boot,
    }
    return MembershipResult(table=table, thresholds=limits, settings=settings)


def _columns(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: str | Sequence[str] | None,
    by_cols: list[str],
) -> list[str]:
    """The columns to attack, after checking the tables and the group columns."""
    chosen = None if columns is None else list(dict.fromkeys(by_list(columns)))
    needed = by_cols + (chosen or [])
    shared = check_tables("membership_risk", train, holdout, synthetic, needed=needed)
    cols = shared if chosen is None else chosen
    if not cols:
        raise ConfigError("membership_risk() needs at least one column to attack.")
    return cols


def _sample(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int,
    max_rows: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Members, evaluated non-members, reference and synthetic rows (see module doc)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(holdout))
    n_ref = len(holdout) // 2
    ref = holdout.iloc[order[: min(n_ref, max_rows)]]
    n_eval = min(len(holdout) - n_ref, len(train), max_rows)
    non = holdout.iloc[order[n_ref : n_ref + n_eval]]
    mem = train.iloc[rng.permutation(len(train))[:n_eval]]
    syn = synthetic.iloc[rng.permutation(len(synthetic))[:max_rows]]
    return (
        mem.reset_index(drop=True),
        non.reset_index(drop=True),
        ref.reset_index(drop=True),
        syn.reset_index(drop=True),
    )


def _scores(
    mem: pd.DataFrame,
    non: pd.DataFrame,
    ref: pd.DataFrame,
    syn: pd.DataFrame,
    cols: list[str],
    seed: int,
) -> dict[str, np.ndarray]:
    """Each attack's score of the evaluated rows (members first, then non-members)."""
    real = pd.concat([mem[cols], non[cols], ref[cols]], ignore_index=True)
    encode = fit_encoder(real, column_kinds(real, cols), seed)
    x_eval = np.vstack([encode(mem), encode(non)])
    x_syn = encode(syn)
    return {
        "distance": _distance_scores(x_syn, x_eval),
        "density": _density_scores(x_syn, encode(ref), x_eval, seed),
    }


def _distance_scores(x_syn: np.ndarray, x_eval: np.ndarray) -> np.ndarray:
    """Minus the distance from each evaluated row to its closest synthetic row."""
    from sklearn.neighbors import NearestNeighbors

    dist = NearestNeighbors(n_neighbors=1).fit(x_syn).kneighbors(x_eval)[0][:, 0]
    return -dist


def _density_scores(
    x_syn: np.ndarray, x_ref: np.ndarray, x_eval: np.ndarray, seed: int
) -> np.ndarray:
    """``log p_synth - log p_ref`` at each evaluated row (Gaussian KDEs in PCA space)."""
    from sklearn.decomposition import PCA

    fit_on = np.vstack([x_syn, x_ref])
    if not np.any(fit_on.std(axis=0) > 0):  # every row the same: nothing to learn
        return np.zeros(len(x_eval))
    full = PCA(random_state=seed).fit(fit_on)
    kept = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), _PCA_VARIANCE)) + 1
    kept = max(1, min(kept, _PCA_MAX, len(full.explained_variance_ratio_)))
    pca = PCA(n_components=kept, whiten=True, random_state=seed).fit(fit_on)
    z_syn, z_ref, z_eval = pca.transform(x_syn), pca.transform(x_ref), pca.transform(x_eval)
    return _log_kde(z_syn, z_eval) - _log_kde(z_ref, z_eval)


def _log_kde(points: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Log density of a Gaussian KDE of ``points`` (Scott's bandwidth) at ``at``."""
    n, d = points.shape
    h = n ** (-1.0 / (d + 4))
    const = -math.log(n) - d * math.log(h * math.sqrt(2.0 * math.pi))
    sq_points = np.einsum("ij,ij->i", points, points)
    out = np.empty(len(at))
    for start in range(0, len(at), _CHUNK):
        block = at[start : start + _CHUNK]
        sq = np.einsum("ij,ij->i", block, block)[:, None] + sq_points[None, :]
        sq -= 2.0 * block @ points.T
        out[start : start + _CHUNK] = logsumexp(-np.maximum(sq, 0.0) / (2.0 * h * h), axis=1)
    return out + const


def _auc(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """ROC AUC of scores ``pos`` (members) against ``neg``, along the last axis (ties
    count one half)."""
    n1, n0 = pos.shape[-1], neg.shape[-1]
    ranks = rankdata(np.concatenate([pos, neg], axis=-1), axis=-1)
    return (ranks[..., :n1].sum(axis=-1) - n1 * (n1 + 1) / 2.0) / (n1 * n0)


def _auc_cells(
    scores: np.ndarray, is_member: np.ndarray, mask: np.ndarray, seed: int, n_boot: int
) -> dict[str, Any]:
    """Counts, AUC and bootstrap interval of the rows in ``mask``."""
    pos, neg = scores[mask & is_member], scores[mask & ~is_member]
    out: dict[str, Any] = {"n_members": len(pos), "n_nonmembers": len(neg)}
    if min(len(pos), len(neg)) < MIN_GROUP_ROWS:
        return {**out, "auc": math.nan, "ci_low": math.nan, "ci_high": math.nan, "note": TOO_FEW}
    rng = np.random.default_rng(seed)
    draws_pos = rng.integers(0, len(pos), size=(n_boot, len(pos)))
    draws_neg = rng.integers(0, len(neg), size=(n_boot, len(neg)))
    low, high = bootstrap_interval(
        lambda idx: _auc(pos[idx[:, : len(pos)]], neg[idx[:, len(pos) :]]),
        np.hstack([draws_pos, draws_neg]),
    )
    auc = float(_auc(pos, neg))
    return {**out, "auc": auc, "ci_low": low, "ci_high": high, "note": ""}


def _attack_rows(
    attack: str,
    scores: np.ndarray,
    is_member: np.ndarray,
    groups: tuple[dict[str, np.ndarray], dict[str, list[str]]],
    seed: int,
    n_boot: int,
) -> list[dict[str, Any]]:
    """The overall row and one row per group of each ``by`` column for one attack
    (``groups``: each column's label per evaluated row, and its groups in order)."""
    everyone = np.ones(len(scores), dtype=bool)
    rows = [
        {"attack": attack, "column": ALL, "group": ALL}
        | _auc_cells(scores, is_member, everyone, seed, n_boot)
    ]
    labels_of, order_of = groups
    for column, labels in labels_of.items():
        for group in order_of[column]:
            cells = _auc_cells(scores, is_member, labels == group, seed, n_boot)
            rows.append({"attack": attack, "column": column, "group": group} | cells)
    return rows
