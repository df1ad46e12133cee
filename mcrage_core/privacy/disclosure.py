"""Attribute disclosure: does the synthetic table let an attacker who knows a training
patient's quasi-identifiers (age, sex, race, ...) guess a sensitive value of theirs?

This is the idea of SDMetrics' ``CategoricalCAP`` / ``DisclosureProtection``, with a
majority-vote attacker and a population baseline:

1. **Coding.** Numeric quasi-identifiers (and a numeric sensitive column) are cut into
   ``n_bins`` quantile bins fitted on the real rows (training + hold-out); missing is a
   bin of its own. Categorical columns are compared as labels, missing as a label.
2. **Attack.** For each real training patient (the target), the attacker looks up the
   rows with the same quasi-identifier codes in the table they hold and predicts the most
   common sensitive value among them. Where no row matches exactly, they use the ``k``
   nearest rows on the encoded quasi-identifiers (bin positions scaled to [0, 1] with a
   missing indicator, one-hot categories). Ties go to the value more common among the
   real rows.
3. **Synthetic attacker** holds the synthetic rows; **baseline attacker** holds the
   hold-out rows (real patients who are not the targets) and attacks the same way. The
   baseline is what the population already reveals about people with these
   quasi-identifiers, so a generator that learnt only population patterns scores about
   the same as the baseline.

Reported per group of each ``by`` column and overall: ``synthetic_accuracy``,
``baseline_accuracy``, ``majority_accuracy`` (always guessing the hold-out's most common
value), ``disclosure_risk = synthetic_accuracy - baseline_accuracy`` with a 95 %
percentile bootstrap interval over targets (paired), ``exact_match_share`` (targets with
an exact match in the synthetic rows) and ``protection`` - SDMetrics' normalised
DisclosureProtection, ``min(1, (1 - synthetic_accuracy) / (1 - 1 / K))`` with ``K``
the number of sensitive values among the real rows (SDMetrics plugs in CAP, the share of
matching rows that hold the right value, where we plug in the majority vote's accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.fidelity.columns import as_float, as_labels, column_kinds
from mcrage_core.fidelity.privacy import row_hashes
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

__all__ = ["DISCLOSURE_THRESHOLDS", "DisclosureResult", "disclosure_risk"]

DISCLOSURE_THRESHOLDS = (0.05, 0.10)
"""Disclosure risk (accuracy over the baseline) up to 0.05 reads low, up to 0.10
moderate, above that high: the synthetic rows let an attacker guess right for more than
1 in 10 extra patients."""
_COLUMNS = [
    "column",
    "group",
    "n_targets",
    "synthetic_accuracy",
    "baseline_accuracy",
    "majority_accuracy",
    "disclosure_risk",
    "ci_low",
    "ci_high",
    "protection",
    "exact_match_share",
    "risk",
    "above_baseline",
    "note",
]


@dataclass(frozen=True)
class DisclosureResult(RiskTable):
    """Result of :func:`disclosure_risk`.

    Attributes
    ----------
    table : DataFrame
        One row overall (``column`` and ``group`` ``"(all)"``) and one per group of each
        ``by`` column, with the numbers of the module docstring, ``risk`` (``low`` /
        ``moderate`` / ``high`` / ``unknown``, read from ``disclosure_risk``),
        ``above_baseline`` (the interval lies above 0) and ``note`` (why no numbers).
    thresholds : tuple of float
        The disclosure-risk bounds of ``low`` and ``moderate``.
    settings : dict
        Quasi-identifiers, sensitive column, bins, ``k``, counts, seed.
    """

    table: pd.DataFrame
    thresholds: tuple[float, float] = DISCLOSURE_THRESHOLDS
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The settings, the overall row's numbers and the groups at moderate or high risk."""
        overall = self.table.loc[self.table["column"] == ALL].iloc[0]
        out: dict[str, Any] = dict(self.settings)
        out.update({k: overall[k] for k in _COLUMNS[2:]})
        flagged = self.at_risk("moderate")
        flagged = flagged.loc[flagged["column"] != ALL]
        out["groups_at_risk"] = flagged[["column", "group", "disclosure_risk", "risk"]].to_dict(
            orient="records"
        )
        return out


def disclosure_risk(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    quasi_identifiers: Sequence[str],
    sensitive: str,
    by: str | Sequence[str] | None = (),
    seed: int = 0,
    n_boot: int = 200,
    n_bins: int = 10,
    k: int = 5,
    max_rows: int = 5000,
    thresholds: Sequence[float] = DISCLOSURE_THRESHOLDS,
) -> DisclosureResult:
    """Attribute-disclosure risk of ``sensitive`` for the patients of ``train``.

    Parameters
    ----------
    train, holdout, synthetic : DataFrame
        Training rows (the targets), real hold-out rows (the baseline attacker's
        knowledge) and generated rows (the synthetic attacker's knowledge).
    quasi_identifiers : sequence of str
        What the attacker knows of a target (e.g. ``["age_band", "sex", "race"]``).
    sensitive : str
        What the attacker tries to infer.
    by : str or sequence of str, optional
        Group columns, each read separately.
    seed, n_boot : int
        Seed of the subsample and the bootstrap; bootstrap replicates (0: none).
    n_bins : int
        Quantile bins of a numeric quasi-identifier or sensitive column.
    k : int
        Nearest rows used when no row matches a target exactly.
    max_rows : int
        Cap on the targets and on each attacker's table (random subsamples).
    thresholds : (float, float)
        Largest disclosure risk read as low, and as moderate.

    Raises
    ------
    DataError
        A table is not a DataFrame or has fewer than 20 rows, or a named column is absent.
    ConfigError
        No quasi-identifier, the sensitive column among them, or a bad setting.
    """
    limits = check_thresholds(thresholds)
    qis = _check_settings(
        quasi_identifiers, sensitive, n_bins=n_bins, k=k, n_boot=n_boot, max_rows=max_rows
    )
    by_cols = by_list(by)
    check_tables("disclosure_risk", train, holdout, synthetic, needed=[*qis, sensitive, *by_cols])
    rng = np.random.default_rng(seed)
    targets, base, syn = (
        f.iloc[rng.permutation(len(f))[:max_rows]].reset_index(drop=True)
        for f in (train, holdout, synthetic)
    )
    groups = {c: group_labels(targets[c]) for c in by_cols}
    orders = {c: group_order(c, labels) for c, labels in groups.items()}
    coder = _Coder(pd.concat([train, holdout], ignore_index=True), qis, sensitive, n_bins, seed)
    hits, matched = _attack(coder, targets, {"synthetic": syn, "baseline": base}, k)
    cells = _Cells(hits, matched, coder.n_values, seed, n_boot)
    table = pd.DataFrame(cells.rows(groups, orders), columns=_COLUMNS)
    table["risk"] = [risk_level(v, limits) for v in table["disclosure_risk"]]
    table["above_baseline"] = (table["ci_low"] > 0).to_numpy(dtype=bool)
    settings = {
        "quasi_identifiers": qis,
        "sensitive": sensitive,
        "sensitive_values": coder.n_values,
        "n_bins": n_bins,
        "k": k,
        "n_targets": len(targets),
        "n_baseline": len(base),
        "n_synthetic": len(syn),
        "seed": seed,
        "n_boot": n_boot,
    }
    return DisclosureResult(table=table, thresholds=limits, settings=settings)


def _check_settings(
    quasi_identifiers: str | Sequence[str],
    sensitive: str,
    *,
    n_bins: int,
    k: int,
    n_boot: int,
    max_rows: int,
) -> list[str]:
    """The quasi-identifiers as a list, after checking the settings make sense."""
    qis = [quasi_identifiers] if isinstance(quasi_identifiers, str) else quasi_identifiers
    out = list(dict.fromkeys(qis))
    if not out:
        raise ConfigError("disclosure_risk() needs at least one quasi-identifier column.")
    if sensitive in out:
        raise ConfigError(f"The sensitive column {sensitive!r} is also a quasi-identifier.")
    if n_bins < 2 or k < 1 or n_boot < 0 or max_rows < MIN_GROUP_ROWS:
        raise ConfigError(
            f"Need n_bins >= 2, k >= 1, n_boot >= 0 and max_rows >= {MIN_GROUP_ROWS}; got "
            f"{n_bins}, {k}, {n_boot} and {max_rows}."
        )
    return out


def _attack(
    coder: _Coder, targets: pd.DataFrame, knowledge: dict[str, pd.DataFrame], k: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Whether each attacker (``knowledge``: name -> the table it holds) guesses each
    target right, plus ``majority`` (the baseline table's most common value); and which
    targets had an exact match in the synthetic table."""
    t_keys, t_x, t_val = coder.code(targets)
    hits: dict[str, np.ndarray] = {}
    matched = np.zeros(len(targets), dtype=bool)
    for name, table in knowledge.items():
        pred, exact = _predict(coder.code(table), (t_keys, t_x), k)
        hits[name] = pred == t_val
        if name == "synthetic":
            matched = exact
    majority = np.bincount(coder.code(knowledge["baseline"])[2]).argmax()
    hits["majority"] = t_val == majority
    return hits, matched


class _Coder:
    """Codes quasi-identifiers and the sensitive column with bins fitted on real rows."""

    def __init__(
        self, real: pd.DataFrame, qis: list[str], sensitive: str, n_bins: int, seed: int
    ) -> None:
        kinds = column_kinds(real, [*qis, sensitive])
        cuts = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
        self.edges: dict[str, np.ndarray] = {}
        for c, kind in kinds.items():
            if kind == "numeric":
                obs = as_float(real[c])
                obs = obs[~np.isnan(obs)]
                self.edges[c] = np.unique(np.quantile(obs, cuts)) if obs.size else np.array([])
        self.qis, self.sensitive = qis, sensitive
        values = self._labels(real, sensitive).value_counts()
        # most common first; equally common values in label order (ties go to the first)
        order = sorted(values.index, key=lambda v: (-int(values[v]), str(v)))
        self.values = pd.Index(order)
        self.n_values = len(order)
        qi_kinds = {c: ("numeric" if c in self.edges else "categorical") for c in qis}
        self.encode = fit_encoder(self._qi_frame(real), qi_kinds, seed)

    def _labels(self, f: pd.DataFrame, c: str) -> pd.Series:
        if c not in self.edges:
            return as_labels(f[c])
        x = as_float(f[c])
        code = np.searchsorted(self.edges[c], x, side="right").astype(float)
        return pd.Series(
            np.where(np.isnan(x), "missing", code.astype(int).astype(str)), index=f.index
        )

    def _qi_frame(self, f: pd.DataFrame) -> pd.DataFrame:
        """Bin positions (missing stays missing) and category labels."""
        out: dict[str, Any] = {}
        for c in self.qis:
            if c in self.edges:
                x = as_float(f[c])
                pos = np.searchsorted(self.edges[c], x, side="right").astype(float)
                out[c] = np.where(np.isnan(x), np.nan, pos)
            else:
                out[c] = as_labels(f[c]).to_numpy()
        return pd.DataFrame(out, index=f.index)

    def code(self, f: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Key hashes, encoded quasi-identifiers and sensitive value codes of ``f``
        (``n_values`` for a value the real rows never hold)."""
        keys = pd.DataFrame({c: self._labels(f, c) for c in self.qis}, index=f.index)
        val = self.values.get_indexer(pd.Index(self._labels(f, self.sensitive)))
        val = np.where(val < 0, self.n_values, val)
        return row_hashes(keys, self.qis), self.encode(self._qi_frame(f)), val


def _predict(
    knowledge: tuple[np.ndarray, np.ndarray, np.ndarray],
    targets: tuple[np.ndarray, np.ndarray],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Majority sensitive code among the exact matches (else the ``k`` nearest rows) of
    each target, and whether it had an exact match."""
    from sklearn.neighbors import NearestNeighbors

    keys, x, val = knowledge
    t_keys, t_x = targets
    width = int(val.max()) + 1
    counts = pd.crosstab(keys, val).reindex(columns=range(width), fill_value=0)
    majority = pd.Series(counts.to_numpy().argmax(axis=1), index=counts.index)
    pred = majority.reindex(t_keys).to_numpy(dtype=np.float64, copy=True)
    exact = ~np.isnan(pred)
    if (~exact).any():
        nn = NearestNeighbors(n_neighbors=min(k, len(x))).fit(x)
        idx = nn.kneighbors(t_x[~exact])[1]
        votes = np.zeros((len(idx), width))
        np.add.at(votes, (np.repeat(np.arange(len(idx)), idx.shape[1]), val[idx].ravel()), 1)
        pred[~exact] = votes.argmax(axis=1)
    return pred.astype(np.int64), exact


class _Cells:
    """The numbers of one row of the table from the targets' hits."""

    def __init__(
        self,
        hits: dict[str, np.ndarray],
        matched: np.ndarray,
        n_values: int,
        seed: int,
        n_boot: int,
    ) -> None:
        self.hits, self.matched, self.seed, self.n_boot = hits, matched, seed, n_boot
        self.chance_miss = 1.0 - 1.0 / n_values if n_values > 1 else 0.0

    def rows(
        self, groups: dict[str, np.ndarray], orders: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        """The overall row, then one per group of each column (``groups``: the label of
        each target; ``orders``: each column's groups in display order)."""
        n = len(self.matched)
        out = [{"column": ALL, "group": ALL} | self.row(np.ones(n, dtype=bool))]
        for column, labels in groups.items():
            out.extend(
                {"column": column, "group": g} | self.row(labels == g) for g in orders[column]
            )
        return out

    def row(self, mask: np.ndarray) -> dict[str, Any]:
        n = int(mask.sum())
        out: dict[str, Any] = {"n_targets": n}
        if n < MIN_GROUP_ROWS:
            return out | {"note": TOO_FEW}
        syn = self.hits["synthetic"][mask].astype(float)
        base = self.hits["baseline"][mask].astype(float)
        acc = float(syn.mean())
        draws = np.random.default_rng(self.seed).integers(0, n, size=(self.n_boot, n))
        low, high = bootstrap_interval(lambda i: syn[i].mean(axis=1) - base[i].mean(axis=1), draws)
        protection = min(1.0, (1.0 - acc) / self.chance_miss) if self.chance_miss else math.nan
        return out | {
            "synthetic_accuracy": acc,
            "baseline_accuracy": float(base.mean()),
            "majority_accuracy": float(self.hits["majority"][mask].mean()),
            "disclosure_risk": acc - float(base.mean()),
            "ci_low": low,
            "ci_high": high,
            "protection": protection,
            "exact_match_share": float(self.matched[mask].mean()),
            "note": "",
        }
