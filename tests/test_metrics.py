from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from model.metrics import auroc, binary_metrics, cohen_kappa, kappa_confidence_interval, roc_curve, study_level_report


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=60))
def test_kappa_matches_scikit_learn(pairs) -> None:
    truth, pred = zip(*pairs, strict=True)
    kappa, _, _ = cohen_kappa(truth, pred)
    expected = cohen_kappa_score(truth, pred)
    if kappa is None:
        assert math.isnan(expected) or len(set(truth) | set(pred)) == 1
    else:
        assert kappa == pytest.approx(expected, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])),
                min_size=2, max_size=60))
def test_auroc_matches_scikit_learn_with_ties(pairs) -> None:
    truth, scores = zip(*pairs, strict=True)
    if len(set(truth)) < 2:
        assert auroc(truth, scores) is None
        return
    assert auroc(truth, scores) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)


def test_roc_curve_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 80)
    scores = np.round(rng.random(80), 1)
    fpr, tpr = roc_curve(truth, scores)
    sk_fpr, sk_tpr, _ = sk_roc_curve(truth, scores, drop_intermediate=False)
    assert np.allclose(fpr, sk_fpr) and np.allclose(tpr, sk_tpr)


def test_kappa_ci_formula_mchugh() -> None:
    # hand-computed: n=100, p_o=0.85, p_e=0.5 -> kappa 0.7, SE = sqrt(.85*.15/(100*.25)) = 0.0714143
    low, high = kappa_confidence_interval(0.7, 0.85, 0.5, 100)
    se = math.sqrt(0.85 * 0.15 / (100 * 0.25))
    assert (low, high) == pytest.approx((0.7 - 1.96 * se, 0.7 + 1.96 * se))
    assert se == pytest.approx(0.0714143, abs=1e-6)


def test_binary_metrics_counts_and_report_layout() -> None:
    truth = [1, 1, 1, 0, 0, 0, 0, 1]
    probs = [0.9, 0.6, 0.4, 0.2, 0.7, 0.1, 0.3, 0.8]
    m = binary_metrics(truth, probs)
    assert (m.tp, m.fn, m.tn, m.fp) == (3, 1, 3, 1)
    assert m.sensitivity == 0.75 and m.specificity == 0.75 and m.accuracy == 0.75
    assert m.kappa == pytest.approx(cohen_kappa_score(truth, [int(p > 0.5) for p in probs]))
    assert m.kappa_ci[0] < m.kappa < m.kappa_ci[1]
    report = study_level_report(["WRIST"] * 4 + ["HAND"] * 4, truth, probs)
    assert set(report["by_study_type"]) == {"WRIST", "HAND"}
    assert report["overall"]["n_studies"] == 8
    for block in (report["overall"], *report["by_study_type"].values()):
        assert {"n_studies", "kappa", "kappa_ci", "auroc", "sensitivity", "specificity", "accuracy"} <= set(block)
