"""Single-thread training throughput of the reference MLP (issue 6): 30 -> 64 -> 32 -> 1,
16,000 rows (the exported fraud training rows), 20 epochs, batch 128, Adam (lr 1e-3).

  (a) scikit-learn MLPClassifier(hidden_layer_sizes=(64, 32), batch_size=128, max_iter=20,
      solver='adam', tol=0, n_iter_no_change=10**6, early_stopping=False) -> all 20 epochs run;
      BLAS limited to 1 thread with threadpoolctl.
  (b) PyTorch, torch.set_num_threads(1), a plain loop (bench/python/torch_mlp.py).

samples/s = rows x epochs / seconds of the fit call alone (data already in memory and
standardised); also per CPU-second of the process (time.process_time), less sensitive to other
processes competing for the cores. Median of --runs runs each (default 3). Prints one JSON object on stdout.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/python/engine.py [--csv bench/out/fraud.csv]
"""
import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np

from common import default_csv, load_fraud, runtime_info

ROWS = 16_000
EPOCHS = 20
BATCH = 128
HIDDEN = (64, 32)


def bench_sklearn(x, y, runs, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    times, cpu, epochs = [], [], []
    for run in range(runs):
        model = MLPClassifier(
            hidden_layer_sizes=HIDDEN, solver="adam", batch_size=BATCH, max_iter=EPOCHS,
            tol=0.0, n_iter_no_change=10**6, early_stopping=False, random_state=seed + run,
        )
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(x, y)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        epochs.append(model.n_iter_)
    assert all(e == EPOCHS for e in epochs), f"scikit-learn stopped early: {epochs}"
    return times, cpu, epochs


def bench_torch(x, y, runs, seed):
    import torch

    from torch_mlp import train_mlp

    torch.set_num_threads(1)
    times, cpu = [], []
    for run in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        train_mlp(x, y, HIDDEN, EPOCHS, BATCH, seed + run)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu, [EPOCHS] * runs


def summarise(times, cpu, epochs, rows):
    """samples_per_s: by wall time, the figure quoted. samples_per_cpu_s: by the process's CPU
    time, which other processes competing for the cores inflate much less (a check on noise)."""
    rates = [rows * e / t for t, e in zip(times, epochs)]
    cpu_rates = [rows * e / t for t, e in zip(cpu, epochs)]
    return {
        "seconds": [round(t, 4) for t in times],
        "cpu_seconds": [round(t, 4) for t in cpu],
        "samples_per_s": [round(r) for r in rates],
        "median_samples_per_s": round(statistics.median(rates)),
        "samples_per_cpu_s": [round(r) for r in cpu_rates],
        "median_samples_per_cpu_s": round(statistics.median(cpu_rates)),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", default=default_csv())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    loadavg_start = [round(v, 2) for v in os.getloadavg()]
    x_train, y_train, _, _ = load_fraud(args.csv)
    x, y = x_train[:ROWS], y_train[:ROWS]
    assert x.shape == (ROWS, 30), x.shape
    x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)

    sk = summarise(*bench_sklearn(x, y, args.runs, args.seed), ROWS)
    pt = summarise(*bench_torch(x, y, args.runs, args.seed), ROWS)
    print(json.dumps({
        "script": "engine.py",
        "model": "30-64-32-1 MLP, ReLU, Adam lr 1e-3",
        "loadavg_start": loadavg_start,
        "rows": ROWS, "epochs": EPOCHS, "batch": BATCH, "runs": args.runs, "threads": 1,
        "sklearn": sk,
        "torch": pt,
        "runtime": runtime_info(),
    }))


if __name__ == "__main__":
    main()
