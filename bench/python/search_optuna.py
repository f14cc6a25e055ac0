"""The whole benchmark search with Optuna + PyTorch (issue 6), as users run it on two cores:

  - one study in one storage (SQLite by default, `--storage journal` for Optuna's
    JournalStorage on a file), GridSampler over the same 24 configurations as search_sklearn.py
    (depth {1,2,3} x width {32,64} x batch {64,128} x epochs {10,20}; hidden layers by the
    "halve" schedule, e.g. (64, 32, 16) for depth 3 width 64);
  - two worker processes (this script with --worker), each study.optimize(...) until the grid is
    exhausted, PyTorch with torch.set_num_threads(1) in each;
  - a trial = 5-fold CV: StratifiedKFold(5, shuffle=True, random_state=seed) on the exported
    training rows (the same folds as GridSearchCV), standardised per fold, the trial's value is
    the mean validation ROC AUC. Each fold's AUC is reported as an intermediate value with
    step = fold index;
  - then the best configuration is refitted on all training rows (in this process) and scored on
    foldwise's test rows.

Two variants: "no_pruning" (optuna.pruners.NopPruner) and "median_pruner" (MedianPruner with
its defaults: n_startup_trials=5, n_warmup_steps=0), which may stop a trial after any fold.
cpu_s: CPU time of the workers and this process over the same span (cpu_s / 2 is the best wall
time on two idle cores, a check on other processes competing for them). Wall time runs from creating the study to the refit model's test score, the worker processes'
start-up (importing torch, reading the CSV) included. Prints one JSON object on stdout.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/python/search_optuna.py
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
import zlib

import numpy as np

from common import BATCHES, DEPTHS, EPOCHS, N_FOLDS, WIDTHS, default_csv, hidden_layers, load_fraud, runtime_info

SEARCH_SPACE = {"depth": list(DEPTHS), "width": list(WIDTHS), "batch": list(BATCHES), "epochs": list(EPOCHS)}
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")


def make_pruner(name):
    import optuna

    if name == "median_pruner":
        return optuna.pruners.MedianPruner()
    return optuna.pruners.NopPruner()


def open_storage(kind, path):
    import optuna

    if kind == "journal":
        from optuna.storages import JournalFileStorage, JournalStorage

        return JournalStorage(JournalFileStorage(path))
    return f"sqlite:///{path}"


def fit_seed(seed, params, fold):
    key = f"{params['depth']}/{params['width']}/{params['batch']}/{params['epochs']}/{fold}"
    return (seed * 1_000_003 + zlib.crc32(key.encode())) % 2**31


def cpu_seconds():
    """CPU seconds used so far by this process and its reaped children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# ───────────────────────────── worker process ─────────────────────────────


def worker(args):
    import optuna
    import torch
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from torch_mlp import predict_scores, standardise, train_mlp

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y, _, _ = load_fraud(args.csv)
    folds = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=args.seed).split(x, y))

    def objective(trial):
        params = {name: trial.suggest_categorical(name, values) for name, values in SEARCH_SPACE.items()}
        hidden = hidden_layers(params["depth"], params["width"])
        aucs, train_s = [], 0.0
        trial.set_user_attr("worker", args.worker_index)
        for k, (fit_rows, val_rows) in enumerate(folds):
            x_fit, x_val = standardise(x[fit_rows], x[val_rows])
            start = time.perf_counter()
            model = train_mlp(x_fit, y[fit_rows], hidden, params["epochs"], params["batch"], fit_seed(args.seed, params, k))
            auc = roc_auc_score(y[val_rows], predict_scores(model, x_val))
            train_s += time.perf_counter() - start
            aucs.append(auc)
            trial.set_user_attr("train_s", train_s)
            trial.report(auc, step=k)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(aucs))

    study = optuna.load_study(
        study_name=args.study, storage=open_storage(args.storage, args.storage_path),
        sampler=optuna.samplers.GridSampler(SEARCH_SPACE, seed=args.seed + args.worker_index),
        pruner=make_pruner(args.variant),
    )
    study.optimize(objective)


# ───────────────────────────── coordinating process ─────────────────────────────


def run_variant(args, variant, x_train, y_train, x_test, y_test):
    import optuna
    import torch
    from sklearn.metrics import roc_auc_score

    from torch_mlp import predict_scores, standardise, train_mlp

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.makedirs(OUT_DIR, exist_ok=True)
    storage_path = os.path.abspath(os.path.join(OUT_DIR, f"optuna-{variant}.{'db' if args.storage == 'sqlite' else 'journal'}"))
    for suffix in ("", "-journal", "-wal", "-shm", ".lock"):
        if os.path.exists(storage_path + suffix):
            os.remove(storage_path + suffix)
    study_name = f"foldwise-bench-{variant}"

    cpu_start = cpu_seconds()
    start = time.perf_counter()
    study = optuna.create_study(
        study_name=study_name, storage=open_storage(args.storage, storage_path), direction="maximize",
        sampler=optuna.samplers.GridSampler(SEARCH_SPACE, seed=args.seed), pruner=make_pruner(variant),
    )
    workers = [
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--worker-index", str(i), "--variant", variant,
             "--study", study_name, "--storage", args.storage, "--storage-path", storage_path,
             "--csv", args.csv, "--seed", str(args.seed)],
            stdout=sys.stderr, stderr=sys.stderr,
        )
        for i in range(args.workers)
    ]
    codes = [w.wait() for w in workers]
    search_s = time.perf_counter() - start
    if any(codes):
        raise SystemExit(f"search_optuna.py: a worker failed ({variant}): exit codes {codes}")

    best = study.best_trial
    params = best.params
    torch.set_num_threads(1)
    refit_start = time.perf_counter()
    x_fit, x_test_scaled = standardise(x_train, x_test)
    model = train_mlp(x_fit, y_train, hidden_layers(params["depth"], params["width"]), params["epochs"], params["batch"], fit_seed(args.seed, params, -1))
    test_auc = roc_auc_score(y_test, predict_scores(model, x_test_scaled))
    refit_s = time.perf_counter() - refit_start
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start

    trials = study.get_trials(deepcopy=False)
    states = [t.state.name for t in trials]
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    epochs_cv = sum(len(t.intermediate_values) * t.params["epochs"] for t in finished)
    folds_trained = sum(len(t.intermediate_values) for t in finished)
    configs_seen = {tuple(sorted(t.params.items())) for t in finished}
    train_s = sum(t.user_attrs.get("train_s", 0.0) for t in finished)
    return {
        "wall_s": round(wall, 2),
        "search_s": round(search_s, 2),
        "refit_s": round(refit_s, 2),
        "cpu_s": round(cpu, 1),
        "storage": args.storage,
        "workers": args.workers,
        "trials": len(trials),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "distinct_configs": len(configs_seen),
        "duplicate_trials": len(finished) - len(configs_seen),
        "folds_trained": folds_trained,
        "best_params": {**params, "hidden": list(hidden_layers(params["depth"], params["width"]))},
        "best_cv_auc": round(float(best.value), 4),
        "test_auc": round(float(test_auc), 4),
        "epochs_cv": epochs_cv,
        "epochs_refit": params["epochs"],
        "epochs_total": epochs_cv + params["epochs"],
        "train_s_in_workers": round(train_s, 2),
        "busy_share": round(train_s / (args.workers * search_s), 3),
        "trials_detail": [
            {
                "number": t.number, "state": t.state.name, "worker": t.user_attrs.get("worker"), "params": t.params,
                "value": None if t.value is None else round(t.value, 4),
                "fold_aucs": [round(t.intermediate_values[k], 4) for k in sorted(t.intermediate_values)],
            }
            for t in trials
        ],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=default_csv())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--storage", choices=("sqlite", "journal"), default="sqlite")
    parser.add_argument("--variants", default="no_pruning,median_pruner")
    # worker-only arguments
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--worker-index", type=int, default=0)
    parser.add_argument("--variant")
    parser.add_argument("--study")
    parser.add_argument("--storage-path")
    args = parser.parse_args()
    args.csv = os.path.abspath(args.csv)

    if args.worker:
        worker(args)
        return

    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    x_train, y_train, x_test, y_test = load_fraud(args.csv)
    out = {
        "loadavg_start": loadavg_start,
        "script": "search_optuna.py",
        "train_rows": int(len(y_train)), "test_rows": int(len(y_test)), "seed": args.seed,
        "hidden_layer_sizes_schedule": "halve: depth d, width w -> (w, w//2, ..., w//2**(d-1))",
        "intermediate_values": "one per fold, step = fold index (0..4), value = that fold's validation ROC AUC",
    }
    for variant in args.variants.split(","):
        out[variant] = run_variant(args, variant, x_train, y_train, x_test, y_test)
    out["runtime"] = runtime_info()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
