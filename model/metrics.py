"""Study-level metrics as the MURA paper reports them.

Cohen's kappa with the 95% confidence interval from its standard error (McHugh 2012):
``SE = sqrt(p_o (1 - p_o) / (n (1 - p_e)^2))``, ``CI = kappa +/- 1.96 SE``; AUROC from the rank
statistic (ties counted half); sensitivity, specificity, accuracy and the confusion counts.
Plain numpy, so the trainer and tests agree with scikit-learn without depending on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryMetrics:
    n_studies: int
    kappa: float | None
    kappa_ci: list[float] | None
    auroc: float | None
    sensitivity: float | None
    specificity: float | None
    accuracy: float | None
    tp: int
    fp: int
    tn: int
    fn: int

    def as_dict(self) -> dict:
        return asdict(self)


def cohen_kappa(y_true: Sequence[int], y_pred: Sequence[int]) -> tuple[float | None, float, float]:
    """Return (kappa, p_o, p_e); kappa is None when p_e == 1 (both raters constant and equal)."""
    truth = np.asarray(y_true, dtype=int)
    pred = np.asarray(y_pred, dtype=int)
    n = len(truth)
    if n == 0:
        return None, 0.0, 0.0
    p_o = float(np.mean(truth == pred))
    p_e = float(np.mean(truth) * np.mean(pred) + (1 - np.mean(truth)) * (1 - np.mean(pred)))
    if p_e >= 1.0:
        return None, p_o, p_e
    return (p_o - p_e) / (1 - p_e), p_o, p_e


def kappa_confidence_interval(kappa: float, p_o: float, p_e: float, n: int, z: float = 1.96) -> list[float]:
    se = math.sqrt(p_o * (1 - p_o) / (n * (1 - p_e) ** 2))
    return [kappa - z * se, kappa + z * se]


def auroc(y_true: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with average ranks); None with one class only."""
    truth = np.asarray(y_true, dtype=int)
    values = np.asarray(scores, dtype=np.float64)
    n_pos = int(truth.sum())
    n_neg = len(truth) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_values = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[truth == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates over all thresholds (for the report's plot)."""
    truth = np.asarray(y_true, dtype=int)
    values = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-values, kind="mergesort")
    truth, values = truth[order], values[order]
    distinct = np.r_[np.where(np.diff(values))[0], len(values) - 1]
    tps = np.cumsum(truth)[distinct]
    fps = (1 + distinct) - tps
    tpr = np.r_[0.0, tps / max(truth.sum(), 1)]
    fpr = np.r_[0.0, fps / max(len(truth) - truth.sum(), 1)]
    return fpr, tpr


def binary_metrics(y_true: Sequence[int], probabilities: Sequence[float], threshold: float = 0.5) -> BinaryMetrics:
    truth = np.asarray(y_true, dtype=int)
    probs = np.asarray(probabilities, dtype=np.float64)
    pred = (probs > threshold).astype(int)
    tp = int(((pred == 1) & (truth == 1)).sum())
    tn = int(((pred == 0) & (truth == 0)).sum())
    fp = int(((pred == 1) & (truth == 0)).sum())
    fn = int(((pred == 0) & (truth == 1)).sum())
    n = len(truth)
    kappa, p_o, p_e = cohen_kappa(truth, pred)
    ci = kappa_confidence_interval(kappa, p_o, p_e, n) if kappa is not None else None
    return BinaryMetrics(
        n_studies=n,
        kappa=kappa,
        kappa_ci=ci,
        auroc=auroc(truth, probs),
        sensitivity=tp / (tp + fn) if tp + fn else None,
        specificity=tn / (tn + fp) if tn + fp else None,
        accuracy=(tp + tn) / n if n else None,
        tp=tp, fp=fp, tn=tn, fn=fn,
    )


def study_level_report(
    study_types: Sequence[str], y_true: Sequence[int], probabilities: Sequence[float], threshold: float = 0.5
) -> dict:
    """``{"overall": {...}, "by_study_type": {"WRIST": {...}, ...}}`` as ``evaluate --json`` prints it."""
    types = np.asarray(study_types)
    truth = np.asarray(y_true, dtype=int)
    probs = np.asarray(probabilities, dtype=np.float64)
    by_type = {
        str(t): binary_metrics(truth[types == t], probs[types == t], threshold).as_dict()
        for t in sorted(set(types.tolist()))
    }
    return {"threshold": threshold, "overall": binary_metrics(truth, probs, threshold).as_dict(),
            "by_study_type": by_type}
