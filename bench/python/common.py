"""Shared helpers for the Python baselines: the exported data, the grid, runtime facts."""
import json
import os
import platform
import sys
import time

import numpy as np

# The benchmark grid of issue 6: depth {1,2,3} x width {32,64} x batch {64,128} x epochs {10,20}.
DEPTHS = (1, 2, 3)
WIDTHS = (32, 64)
BATCHES = (64, 128)
EPOCHS = (10, 20)
N_FOLDS = 5


def hidden_layers(depth: int, width: int) -> tuple:
    """The "halve" schedule: the first hidden layer has `width` units, each next one half of the
    previous (rounded down, at least 1): depth 3 width 64 -> (64, 32, 16); depth 2 width 32 ->
    (32, 16); depth 1 -> (width,)."""
    return tuple(max(1, width >> i) for i in range(depth))


def grid():
    """The 24 configurations, in a fixed order."""
    return [
        {"depth": d, "width": w, "batch": b, "epochs": e}
        for d in DEPTHS
        for w in WIDTHS
        for b in BATCHES
        for e in EPOCHS
    ]


def load_fraud(path: str):
    """Reads the files written by bench/export-fraud.ts: `path` (columns f0..f29, label) and
    `path` with .csv replaced by .split.json (0-based indices of foldwise's stratified test
    rows, from worker/splits.ts). Returns x_train, y_train, x_test, y_test (float32, int64)."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    x = data[:, :-1].astype(np.float32)
    y = data[:, -1].astype(np.int64)
    split_path = path[: -len(".csv")] + ".split.json" if path.endswith(".csv") else path + ".split.json"
    with open(split_path) as handle:
        split = json.load(handle)
    train = np.asarray(split["train"], dtype=np.int64)
    test = np.asarray(split["test"], dtype=np.int64)
    assert len(train) + len(test) == len(y) and len(np.intersect1d(train, test)) == 0
    return x[train], y[train], x[test], y[test]


def default_csv() -> str:
    return os.path.join(os.path.dirname(__file__), "..", "out", "fraud.csv")


def runtime_info() -> dict:
    """Interpreter, versions, and the kernel each BLAS/OpenMP library loaded uses
    (threadpoolctl.threadpool_info(), after importing numpy, scikit-learn and torch)."""
    info = {
        "python": sys.executable,
        "python_version": platform.python_version(),
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "env_OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    for name in ("sklearn", "torch", "optuna", "scipy"):
        try:
            module = __import__(name)
            info[name] = module.__version__
        except ImportError:
            info[name] = None
    try:
        import torch

        info["torch_parallel"] = torch.__config__.parallel_info().splitlines()[:6]
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "version", "architecture", "num_threads", "filepath")}
            for pool in threadpool_info()
        ]
        blas = [p for p in info["threadpools"] if p["user_api"] == "blas"]
        info["blas_kernel"] = ", ".join(f"{p['internal_api']} {p['version']} {p['architecture']}" for p in blas) or None
    except ImportError:
        info["threadpools"] = None
        info["blas_kernel"] = "unknown (threadpoolctl not installed)"
    return info


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
