"""The whole benchmark search with scikit-learn (issue 6):

  GridSearchCV(Pipeline([StandardScaler(), MLPClassifier(solver='adam')]), n_jobs=2, refit=True,
               scoring='roc_auc', cv=StratifiedKFold(5, shuffle=True, random_state=seed))

on the exported training rows (bench/export-fraud.ts: 16,000 rows), over the 24 configurations
depth {1,2,3} x width {32,64} x batch_size {64,128} x max_iter (epochs) {10,20}. Depth d and
width w give hidden_layer_sizes by the "halve" schedule: (w,), (w, w/2), (w, w/2, w/4), e.g.
(64, 32, 16) for depth 3 width 64. The scaler sits in the pipeline, so it is fitted per fold.

Two variants, run one after the other:
  - "full": tol=0, n_iter_no_change=10**6, early_stopping=False -> every fit runs all its epochs;
  - "early_stopping": scikit-learn's early_stopping=True with its defaults (validation_fraction
    0.1, n_iter_no_change 10, tol 1e-4): it holds out 10 % of each training fold and stops when
    the held-out ACCURACY stops improving, which on a 3 %-positive task is flat from the start.

cpu_s is the CPU time of the search (this process and the loky workers, which are started
fresh for each variant and reaped after it); cpu_s / 2 is the wall time two idle cores would need
at best, a check on other processes competing for the cores. Epochs trained are counted for real: an extra scorer returns each fitted fold's n_iter_, and the
refit model's n_iter_ is added. Wall time covers GridSearchCV.fit (search + refit) only; the test
ROC AUC is the refit pipeline's on foldwise's test rows. Prints one JSON object on stdout.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/python/search_sklearn.py
"""
import argparse
import json
import os
import resource
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# ConvergenceWarning (a UserWarning) after every fit that stops at max_iter, by design here; the
# loky worker processes inherit this, the warnings filter below covers this process (the refit).
os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"

from common import BATCHES, DEPTHS, EPOCHS, N_FOLDS, WIDTHS, default_csv, hidden_layers, load_fraud, runtime_info


def epochs_scorer(estimator, x, y):
    """Not a score: the number of epochs the fold's MLP actually trained (n_iter_)."""
    return float(estimator[-1].n_iter_)


def kept_epoch_scorer(estimator, x, y):
    """Not a score: the epoch whose weights the fold's MLP keeps. With early_stopping=True
    scikit-learn restores the weights of the epoch with the best held-out accuracy
    (argmax of validation_scores_); without it, the last epoch's."""
    mlp = estimator[-1]
    scores = getattr(mlp, "validation_scores_", None)
    return float(np.argmax(scores) + 1) if mlp.early_stopping and scores else float(mlp.n_iter_)


def param_grid():
    return {
        "mlp__hidden_layer_sizes": [hidden_layers(d, w) for d in DEPTHS for w in WIDTHS],
        "mlp__batch_size": list(BATCHES),
        "mlp__max_iter": list(EPOCHS),
    }


def cpu_seconds():
    """CPU seconds used so far by this process and its reaped children (the loky workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_search(x_train, y_train, x_test, y_test, seed, n_jobs, early_stopping):
    if early_stopping:
        mlp = MLPClassifier(solver="adam", early_stopping=True, random_state=seed)
    else:
        mlp = MLPClassifier(solver="adam", tol=0.0, n_iter_no_change=10**6, early_stopping=False, random_state=seed)
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", mlp)])
    search = GridSearchCV(
        pipeline, param_grid(), scoring={"roc_auc": "roc_auc", "epochs": epochs_scorer, "kept_epoch": kept_epoch_scorer}, refit="roc_auc",
        cv=StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed), n_jobs=n_jobs, error_score="raise",
    )
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # fresh workers: their CPU time is this search's
    cpu_start = cpu_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(x_train, y_train)
        wall = time.perf_counter() - start
    get_reusable_executor().shutdown(wait=True)  # outside the wall time; reaps the workers
    cpu = cpu_seconds() - cpu_start

    results = search.cv_results_
    fold_epochs = np.array([results[f"split{k}_test_epochs"] for k in range(N_FOLDS)])  # folds x configs
    kept_epochs = np.array([results[f"split{k}_test_kept_epoch"] for k in range(N_FOLDS)])
    refit_epochs = int(search.best_estimator_[-1].n_iter_)
    test_auc = roc_auc_score(y_test, search.best_estimator_.predict_proba(x_test)[:, 1])
    best = search.best_params_
    return {
        "wall_s": round(wall, 2),
        "refit_s": round(search.refit_time_, 2),
        "cpu_s": round(cpu, 1),
        "fit_s_sum": round(float(sum(results[f"mean_fit_time"]) * N_FOLDS), 1),
        "configs": len(results["params"]),
        "folds": N_FOLDS,
        "best_params": {"hidden_layer_sizes": list(best["mlp__hidden_layer_sizes"]), "batch_size": best["mlp__batch_size"], "max_iter": best["mlp__max_iter"]},
        "best_cv_auc": round(float(search.best_score_), 4),
        "test_auc": round(float(test_auc), 4),
        "epochs_cv": int(fold_epochs.sum()),
        "epochs_refit": refit_epochs,
        "epochs_total": int(fold_epochs.sum()) + refit_epochs,
        "mean_epochs_per_fit": round(float(fold_epochs.mean()), 2),
        "median_kept_epoch": float(np.median(kept_epochs)),
        "mean_kept_epoch": round(float(kept_epochs.mean()), 2),
        "cv_auc_by_config": [
            {
                "hidden_layer_sizes": list(p["mlp__hidden_layer_sizes"]), "batch_size": p["mlp__batch_size"], "max_iter": p["mlp__max_iter"],
                "cv_auc": round(float(m), 4), "epochs_per_fold": [int(e) for e in fold_epochs[:, i]],
                "kept_epoch_per_fold": [int(e) for e in kept_epochs[:, i]],
            }
            for i, (p, m) in enumerate(zip(results["params"], results["mean_test_roc_auc"]))
        ],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=default_csv())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--variants", default="full,early_stopping")
    args = parser.parse_args()

    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    x_train, y_train, x_test, y_test = load_fraud(args.csv)
    out = {
        "loadavg_start": loadavg_start,
        "script": "search_sklearn.py",
        "train_rows": int(len(y_train)), "test_rows": int(len(y_test)),
        "train_positives": int(y_train.sum()), "test_positives": int(y_test.sum()),
        "n_jobs": args.n_jobs, "seed": args.seed,
        "hidden_layer_sizes_schedule": "halve: depth d, width w -> (w, w//2, ..., w//2**(d-1))",
    }
    for variant in args.variants.split(","):
        out[variant] = run_search(x_train, y_train, x_test, y_test, args.seed, args.n_jobs, early_stopping=(variant == "early_stopping"))
    out["runtime"] = runtime_info()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
