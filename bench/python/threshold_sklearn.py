"""The operating threshold with scikit-learn (issue 11), for bench/threshold.ts:

  1. GridSearchCV(Pipeline([StandardScaler(), MLPClassifier(solver='adam')]), scoring='roc_auc',
     cv=StratifiedKFold(5, shuffle=True, random_state=seed), refit=True) over the default
     experiment's grid (experiments/default.yaml): depth {1,2,3} x width {32,64} ("halve" hidden
     layers) x batch_size {128,256}, 20 epochs (max_iter, tol=0: every fit runs them all),
     learning rate 0.003, relu;
  2. the threshold of its winner chosen as TunedThresholdClassifierCV(scoring='f1') chooses it
     (scikit-learn >= 1.5; Debian's 1.2 lacks it, so its protocol is written out here): the
     winner's configuration is fitted on each training part of the same StratifiedKFold, its
     validation part scored, F1 computed on each fold at 100 thresholds spread evenly over its
     scores, interpolated onto 100 evenly spaced between the lowest and highest score of all
     folds, averaged over folds; the threshold of the highest mean F1 wins (a row is positive
     when its probability >= the threshold, as scikit-learn predicts). The test split is not used;
  3. the GridSearchCV refit (all training rows) scored once on foldwise's test rows: F1 at that
     threshold, and at 0.5 (scikit-learn's default, `predict`).

Prints one JSON object on stdout.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/python/threshold_sklearn.py
"""
import argparse
import json
import os
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# ConvergenceWarning after every fit that stops at max_iter, by design; the loky workers inherit this.
os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"

from common import N_FOLDS, default_csv, hidden_layers, load_fraud, runtime_info

# experiments/default.yaml
DEPTHS = (1, 2, 3)
WIDTHS = (32, 64)
BATCHES = (128, 256)
EPOCHS = 20
LEARNING_RATE = 0.003
N_THRESHOLDS = 100  # TunedThresholdClassifierCV's default thresholds=100


def f1_at(y_true, score, thresholds):
    """F1 at each threshold (positive: score >= threshold), zero_division=0."""
    return np.array([f1_score(y_true, (score >= t).astype(int), zero_division=0) for t in thresholds])


def tuned_threshold(folds):
    """TunedThresholdClassifierCV(scoring='f1', thresholds=100)'s choice from (y_true, score) per
    fold: each fold's F1 at 100 thresholds evenly spaced over its own scores (its _CurveScorer),
    interpolated onto 100 evenly spaced between the lowest and highest score of all folds and
    averaged over folds (_mean_interpolated_score); the threshold of the highest mean wins."""
    fold_thresholds = [np.linspace(np.min(score), np.max(score), num=N_THRESHOLDS) for _, score in folds]
    fold_f1 = [f1_at(y_true, score, thresholds) for (y_true, score), thresholds in zip(folds, fold_thresholds)]
    grid = np.linspace(min(t.min() for t in fold_thresholds), max(t.max() for t in fold_thresholds), num=N_THRESHOLDS)
    curves = [np.interp(grid, thresholds, f1) for thresholds, f1 in zip(fold_thresholds, fold_f1)]
    mean = np.mean(curves, axis=0)
    best = int(np.argmax(mean))
    return float(grid[best]), float(mean[best]), [float(curve[best]) for curve in curves]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=default_csv())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()

    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    x_train, y_train, x_test, y_test = load_fraud(args.csv)
    mlp = MLPClassifier(
        solver="adam", activation="relu", learning_rate_init=LEARNING_RATE, max_iter=EPOCHS, tol=0.0, n_iter_no_change=10**6,
        random_state=args.seed,
    )
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
    grid = {"mlp__hidden_layer_sizes": [hidden_layers(d, w) for d in DEPTHS for w in WIDTHS], "mlp__batch_size": list(BATCHES)}
    cv = StratifiedKFold(N_FOLDS, shuffle=True, random_state=args.seed)
    search = GridSearchCV(pipeline, grid, scoring="roc_auc", cv=cv, refit=True, n_jobs=args.n_jobs, error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        started = time.perf_counter()
        search.fit(x_train, y_train)
        search_s = time.perf_counter() - started

        # The threshold, on the winner's out-of-fold predictions (the same folds, never the test rows).
        started = time.perf_counter()
        folds = []
        for train, validation in cv.split(x_train, y_train):
            fitted = clone(search.best_estimator_).fit(x_train[train], y_train[train])
            folds.append((y_train[validation], fitted.predict_proba(x_train[validation])[:, 1]))
        threshold, cv_f1, fold_f1 = tuned_threshold(folds)
        threshold_s = time.perf_counter() - started

    test_score = search.best_estimator_.predict_proba(x_test)[:, 1]
    best = search.best_params_
    out = {
        "script": "threshold_sklearn.py",
        "loadavg_start": loadavg_start,
        "seed": args.seed,
        "train_rows": int(len(y_train)),
        "test_rows": int(len(y_test)),
        "test_positives": int(y_test.sum()),
        "configs": len(search.cv_results_["params"]),
        "best_params": {"hidden_layer_sizes": list(best["mlp__hidden_layer_sizes"]), "batch_size": best["mlp__batch_size"], "max_iter": EPOCHS},
        "best_cv_auc": round(float(search.best_score_), 4),
        "test_auc": round(float(roc_auc_score(y_test, test_score)), 4),
        "threshold": threshold,
        "cv_f1": cv_f1,
        "cv_f1_by_fold": fold_f1,
        "test_f1_at_threshold": float(f1_score(y_test, (test_score >= threshold).astype(int), zero_division=0)),
        "test_f1_at_half": float(f1_score(y_test, (test_score >= 0.5).astype(int), zero_division=0)),
        "search_s": round(search_s, 1),
        "threshold_s": round(threshold_s, 1),
        "runtime": runtime_info(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
