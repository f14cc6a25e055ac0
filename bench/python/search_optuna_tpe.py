"""Optuna's TPE over the issue-12 space, on foldwise's own folds, for bench/search-strategies.ts.

  - the space: learning rate (log 1e-4..1e-1), L2 (log 1e-6..1e-2), dropout (0..0.5), width (int,
    log 8..128), depth (1..3), batch (32, 64, 128, 256); an MLP of `depth` hidden layers of `width`
    units (ReLU, dropout after each), Adam, L2 on the Linear kernels, `--epochs` epochs, no early
    stopping (bench/python/torch_mlp.py);
  - the folds: the file bench/search-strategies.ts writes (`--folds`): the training rows of the
    CSV and each fold's validation rows, exactly as foldwise cuts them for that seed; standardised
    per fold; a trial's value is the mean validation ROC AUC over the folds;
  - the sampler: TPESampler(multivariate=True, constant_liar=True, seed=seed + worker), Optuna's
    defaults otherwise (10 startup trials, 24 candidates); `--workers` processes on one SQLite
    study until `--trials` trials are finished (MaxTrialsCallback).

Prints one JSON object on stdout: every trial (number, state, value, params, seconds from the
study's creation to its completion), the wall time, the runtime.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/python/search_optuna_tpe.py \\
      --csv bench/out/fraud.csv --folds bench/out/fraud.folds-42.json --seed 42 --trials 50
"""
import argparse
import json
import os
import subprocess
import sys
import time
import zlib

import numpy as np

from common import runtime_info

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "out")
BATCHES = [32, 64, 128, 256]


def suggest(trial):
    return {
        "learningRate": trial.suggest_float("learningRate", 1e-4, 1e-1, log=True),
        "l2": trial.suggest_float("l2", 1e-6, 1e-2, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "width": trial.suggest_int("width", 8, 128, log=True),
        "depth": trial.suggest_int("depth", 1, 3),
        "batchSize": trial.suggest_categorical("batchSize", BATCHES),
    }


def load(csv_path, folds_path):
    data = np.loadtxt(csv_path, delimiter=",", skiprows=1, dtype=np.float64)
    x = data[:, :-1].astype(np.float32)
    y = data[:, -1].astype(np.int64)
    with open(folds_path) as handle:
        spec = json.load(handle)
    train = np.asarray(spec["train"], dtype=np.int64)
    folds = []
    for validation in spec["folds"]:
        val = np.asarray(validation, dtype=np.int64)
        folds.append((np.setdiff1d(train, val), val))
    return x, y, folds


def worker(args):
    import optuna
    import torch
    from sklearn.metrics import roc_auc_score

    from torch_mlp import predict_scores, standardise, train_mlp

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y, folds = load(args.csv, args.folds)

    def objective(trial):
        p = suggest(trial)
        aucs = []
        for k, (fit_rows, val_rows) in enumerate(folds):
            x_fit, x_val = standardise(x[fit_rows], x[val_rows])
            seed = (args.seed * 1_000_003 + zlib.crc32(f"{trial.number}/{k}".encode())) % 2**31
            model = train_mlp(
                x_fit, y[fit_rows], tuple([p["width"]] * p["depth"]), args.epochs, p["batchSize"], seed,
                lr=p["learningRate"], dropout=p["dropout"], l2=p["l2"],
            )
            aucs.append(roc_auc_score(y[val_rows], predict_scores(model, x_val)))
        return float(np.mean(aucs))

    study = optuna.load_study(
        study_name=args.study, storage=f"sqlite:///{args.storage_path}",
        sampler=optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=args.seed + args.worker_index),
    )
    study.optimize(objective, callbacks=[optuna.study.MaxTrialsCallback(args.trials, states=None)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", required=True)
    parser.add_argument("--folds", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--worker-index", type=int, default=0)
    parser.add_argument("--study")
    parser.add_argument("--storage-path")
    args = parser.parse_args()
    args.csv, args.folds = os.path.abspath(args.csv), os.path.abspath(args.folds)
    if args.worker:
        worker(args)
        return

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.makedirs(OUT_DIR, exist_ok=True)
    storage_path = os.path.abspath(os.path.join(OUT_DIR, f"optuna-tpe-{args.seed}.db"))
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(storage_path + suffix):
            os.remove(storage_path + suffix)
    study_name = f"foldwise-strategies-{args.seed}"
    start = time.perf_counter()
    created = time.time()
    study = optuna.create_study(study_name=study_name, storage=f"sqlite:///{storage_path}", direction="maximize")
    workers = [
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--worker-index", str(i), "--study", study_name,
             "--storage-path", storage_path, "--csv", args.csv, "--folds", args.folds, "--seed", str(args.seed),
             "--trials", str(args.trials), "--epochs", str(args.epochs)],
            stdout=sys.stderr, stderr=sys.stderr,
        )
        for i in range(args.workers)
    ]
    codes = [w.wait() for w in workers]
    if any(codes):
        raise SystemExit(f"search_optuna_tpe.py: a worker failed: exit codes {codes}")
    wall = time.perf_counter() - start
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    print(json.dumps({
        "script": "search_optuna_tpe.py",
        "seed": args.seed,
        "epochs": args.epochs,
        "workers": args.workers,
        "wall_s": round(wall, 2),
        "trials": [
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": t.params,
                "complete_s": None if t.datetime_complete is None else round(t.datetime_complete.timestamp() - created, 2),
            }
            for t in trials
        ],
        "runtime": runtime_info(),
    }))


if __name__ == "__main__":
    main()
