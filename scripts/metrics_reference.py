#!/usr/bin/python3
"""Reference numbers for tests/metrics/*_test.cpp, computed ONCE with scikit-learn 1.2.1 and
numpy 1.24 (Debian 12's python3-sklearn / python3-numpy) and pasted into the tests.

Run:  /usr/bin/python3 scripts/metrics_reference.py

The pseudo-random inputs come from the LCG below, which the C++ tests implement identically
(tests/metrics/metrics_test_util.h): state = (1664525 * state + 1013904223) mod 2^32, output =
state >> 16. Everything is float64, so the C++ values must agree to a few ulps.
"""
import warnings

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, classification_report, f1_score,
                             precision_recall_fscore_support, precision_score, recall_score)


class Lcg:
    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next(self):
        self.state = (1664525 * self.state + 1013904223) & 0xFFFFFFFF
        return self.state >> 16


def classification_case(n=200, seed=12345):
    """6 classes in play out of 7: truth in 0..4, predictions in 0..5 (class 5 only predicted,
    class 6 never seen), weights in {0.25, 0.5, ..., 2.0}."""
    rng = Lcg(seed)
    t, p, w = [], [], []
    for _ in range(n):
        ti = rng.next() % 5
        pi = ti if rng.next() % 10 < 6 else rng.next() % 6
        t.append(ti)
        p.append(pi)
        w.append(0.25 * (1 + rng.next() % 8))
    return np.array(t), np.array(p), np.array(w)


def sentiment_case(n=60, seed=777):
    """Truth on MOSI's 1/3 grid in [-3, 3] (so exact zeros occur), prediction = truth + a
    multiple of 1/8 in [-2, 2] (so predictions leave [-3, 3] and hit x.5 ties)."""
    rng = Lcg(seed)
    t, p = [], []
    for _ in range(n):
        ti = (rng.next() % 19 - 9) / 3.0
        pi = ti + (rng.next() % 33 - 16) / 8.0
        t.append(ti)
        p.append(pi)
    return np.array(p), np.array(t)


def sentiment_metrics(pred, truth):
    """MMSA __eval_mosei_regression conventions (+ GCNet's non-zero MAE / Corr), in float64."""
    out = {}
    nz = truth != 0
    out["acc2"] = accuracy_score(truth[nz] > 0, pred[nz] > 0)
    out["f1"] = f1_score(truth[nz] > 0, pred[nz] > 0, average="weighted")
    out["acc2_has0"] = accuracy_score(truth >= 0, pred >= 0)
    out["f1_has0"] = f1_score(truth >= 0, pred >= 0, average="weighted")
    r = lambda x, b: np.round(np.clip(x, -b, b))
    out["acc5"] = np.mean(r(pred, 2.0) == r(truth, 2.0))
    out["acc7"] = np.mean(r(pred, 3.0) == r(truth, 3.0))
    out["mae"] = np.mean(np.abs(pred - truth))
    out["corr"] = np.corrcoef(pred, truth)[0][1]
    out["mae_non0"] = np.mean(np.abs(pred[nz] - truth[nz]))
    out["corr_non0"] = np.corrcoef(pred[nz], truth[nz])[0][1]
    return out


def show(name, values):
    vals = ", ".join(repr(float(v)) for v in np.atleast_1d(values))
    print(f"  {name}: {{{vals}}}")


def classification_block(title, t, p, w=None, labels=None):
    print(f"{title}")
    pr, rc, f, s = precision_recall_fscore_support(t, p, sample_weight=w, labels=labels,
                                                   zero_division="warn")
    show("precision", pr)
    show("recall", rc)
    show("f1", f)
    show("support", s)
    show("accuracy", accuracy_score(t, p, sample_weight=w))
    show("macro_precision", precision_score(t, p, average="macro", sample_weight=w, labels=labels))
    show("macro_recall (ua)", recall_score(t, p, average="macro", sample_weight=w, labels=labels))
    show("macro_f1", f1_score(t, p, average="macro", sample_weight=w, labels=labels))
    show("weighted_f1", f1_score(t, p, average="weighted", sample_weight=w, labels=labels))


def main():
    # sklearn warns for every 0/0 (zero_division="warn" -> 0.0); those cases are intended here.
    warnings.simplefilter("ignore")
    print(f"sklearn {sklearn.__version__}, numpy {np.__version__}")
    # Hand example of classification_test.cpp (ThreeClassHandCounted).
    t = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    p = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])
    print(classification_report(t, p, target_names=["neu", "happy", "sad"], digits=4))
    w = np.array([1, 2, 1, 1, 0.5, 1, 1, 2, 1, 0])
    classification_block("three-class weighted", t, p, w)

    t, p, w = classification_case()
    print("LCG classification: first truths", t[:8].tolist(), "preds", p[:8].tolist(),
          "weights", w[:8].tolist())
    classification_block("LCG unweighted (labels present)", t, p)
    classification_block("LCG weighted (labels present)", t, p, w)
    classification_block("LCG unweighted labels=range(7)", t, p, labels=list(range(7)))

    pred = np.array([2.5, -0.5, 0.0, 1.4, -3.7, 0.2, 3.5, -1.5, 2.6])
    truth = np.array([2.0, 0.0, 0.0, 1.6, -3.0, -0.2, 2.8, -2.4, 2.2])
    print("sentiment hand example:")
    for k, v in sentiment_metrics(pred, truth).items():
        print(f"  {k}: {float(v)!r}")

    pred, truth = sentiment_case()
    print("LCG sentiment: first preds", pred[:4].tolist(), "truths", truth[:4].tolist(),
          "zeros in truth", int(np.sum(truth == 0)))
    for k, v in sentiment_metrics(pred, truth).items():
        print(f"  {k}: {float(v)!r}")


if __name__ == "__main__":
    main()
