"""PyTorch loops of foldwise's recommendation models (worker/recsys/models.ts), for bench/recsys.ts.

Reads the training ratings bench/recsys.ts exported (embedding indices, ratings, per-index side
features: see `load`), trains `--model` for `--epochs` epochs (after one untimed warm-up epoch) on
ONE thread, `--repeats` times, and prints one JSON object: ratings/s per repeat (ratings x epochs /
wall seconds of the timed epochs) and per CPU second.

  mf:    r = mu + b_u + b_i + p_u.q_i; loss = mean (r - y)^2 + l2 * mean(|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)
  ncf:   r = MLP([p_u, q_i, x_u, x_i]) (Linear+ReLU, halving widths, dropout; output bias mu);
         loss = mean (r - y)^2 + l2 * mean(|p_u|^2 + |q_i|^2)
  neumf: ncf + p'_u.q'_i on embeddings of its own (penalised like the others)

Embeddings are nn.Embedding with Adam: with `--embeddings dense` (default) dense gradients and
torch.optim.Adam over every row at every step, as foldwise's exact embedding steps; with
`--embeddings sparse` sparse gradients and torch.optim.SparseAdam (only the rows a batch touched), as
foldwise's lazy ones, the MLP keeping torch.optim.Adam. N(0, 0.1^2) initial factors, zero biases,
shuffled mini-batches every epoch.

One thread means two limits: torch.set_num_threads(1) for PyTorch's own pool, and threadpoolctl's
limit of 1 for the BLAS library Debian's PyTorch calls for its matrix products (OpenBLAS), which
torch.set_num_threads does not reach: without it ncf's tower ran on both cores (CPU time twice the
wall time) for no gain by the wall clock (about 250,000 ratings/s either way on a quiet machine).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits
from torch import nn


def load(folder: str):
    with open(os.path.join(folder, "meta.json")) as handle:
        meta = json.load(handle)
    read = lambda name, dtype: np.fromfile(os.path.join(folder, name), dtype=dtype)  # noqa: E731
    users = torch.from_numpy(read("users.i32", np.int32).astype(np.int64))
    items = torch.from_numpy(read("items.i32", np.int32).astype(np.int64))
    ratings = torch.from_numpy(read("ratings.f32", np.float32))
    user_x = torch.from_numpy(read("user_features.f32", np.float32).reshape(meta["userRows"], meta["userWidth"]))
    item_x = torch.from_numpy(read("item_features.f32", np.float32).reshape(meta["itemRows"], meta["itemWidth"]))
    return meta, users, items, ratings, user_x, item_x


SPARSE = False


def embedding(rows: int, dim: int, random: bool) -> nn.Embedding:
    layer = nn.Embedding(rows, dim, sparse=SPARSE)
    if random:
        nn.init.normal_(layer.weight, 0.0, 0.1)
    else:
        nn.init.zeros_(layer.weight)
    return layer


class MF(nn.Module):
    def __init__(self, meta, factors: int):
        super().__init__()
        self.p = embedding(meta["userRows"], factors, True)
        self.q = embedding(meta["itemRows"], factors, True)
        self.bu = embedding(meta["userRows"], 1, False)
        self.bi = embedding(meta["itemRows"], 1, False)
        self.mu = float(meta["globalMean"])

    def forward(self, u, i):
        p, q, bu, bi = self.p(u), self.q(i), self.bu(u).squeeze(1), self.bi(i).squeeze(1)
        prediction = self.mu + bu + bi + (p * q).sum(1)
        penalty = (p * p).sum(1) + (q * q).sum(1) + bu * bu + bi * bi
        return prediction, penalty


class NCF(nn.Module):
    def __init__(self, meta, factors: int, depth: int, width: int, dropout: float, dot: bool, user_x, item_x):
        super().__init__()
        self.p = embedding(meta["userRows"], factors, True)
        self.q = embedding(meta["itemRows"], factors, True)
        self.register_buffer("user_x", user_x)
        self.register_buffer("item_x", item_x)
        layers = []
        width_in = 2 * factors + user_x.shape[1] + item_x.shape[1]
        for k in range(depth):
            units = max(1, width >> k)
            layers += [nn.Linear(width_in, units), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = units
        output = nn.Linear(width_in, 1)
        nn.init.constant_(output.bias, float(meta["globalMean"]))
        self.mlp = nn.Sequential(*layers, output)
        self.dot = dot
        if dot:
            self.p2 = embedding(meta["userRows"], factors, True)
            self.q2 = embedding(meta["itemRows"], factors, True)

    def forward(self, u, i):
        p, q = self.p(u), self.q(i)
        x = torch.cat([p, q, self.user_x[u], self.item_x[i]], 1)
        prediction = self.mlp(x).squeeze(1)
        penalty = (p * p).sum(1) + (q * q).sum(1)
        if self.dot:
            p2, q2 = self.p2(u), self.q2(i)
            prediction = prediction + (p2 * q2).sum(1)
            penalty = penalty + (p2 * p2).sum(1) + (q2 * q2).sum(1)
        return prediction, penalty


def optimizers(model, lr: float) -> list:
    """Adam over every parameter, or SparseAdam over the embeddings and Adam over the rest (--embeddings sparse)."""
    if not SPARSE:
        return [torch.optim.Adam(model.parameters(), lr=lr)]
    tables = [module.weight for module in model.modules() if isinstance(module, nn.Embedding)]
    ids = {id(table) for table in tables}
    dense = [parameter for parameter in model.parameters() if id(parameter) not in ids]
    return [torch.optim.SparseAdam(tables, lr=lr)] + ([torch.optim.Adam(dense, lr=lr)] if dense else [])


def epoch(model, steps, users, items, ratings, batch: int, l2: float, generator) -> None:
    n = ratings.shape[0]
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch):
        index = order[start : start + batch]
        for optimizer in steps:
            optimizer.zero_grad(set_to_none=True)
        prediction, penalty = model(users[index], items[index])
        loss = ((prediction - ratings[index]) ** 2).mean() + l2 * penalty.mean()
        loss.backward()
        for optimizer in steps:
            optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", choices=["mf", "ncf", "neumf"], required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--factors", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--embeddings", choices=["dense", "sparse"], default="dense")
    args = parser.parse_args()
    global SPARSE
    SPARSE = args.embeddings == "sparse"

    torch.set_num_threads(1)
    threadpool_limits(limits=1)  # for the rest of the process (see the module's note)
    meta, users, items, ratings, user_x, item_x = load(args.data)
    n = ratings.shape[0]
    per_s, per_cpu_s = [], []
    for repeat in range(args.repeats):
        torch.manual_seed(args.seed + repeat)
        generator = torch.Generator().manual_seed(args.seed + repeat)
        if args.model == "mf":
            model = MF(meta, args.factors)
        else:
            model = NCF(meta, args.factors, args.depth, args.width, args.dropout, args.model == "neumf", user_x, item_x)
        model.train()
        steps = optimizers(model, args.lr)
        epoch(model, steps, users, items, ratings, args.batch, args.l2, generator)  # warm-up, untimed
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.epochs):
            epoch(model, steps, users, items, ratings, args.batch, args.l2, generator)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        per_s.append(n * args.epochs / wall)
        per_cpu_s.append(n * args.epochs / cpu)
    print(
        json.dumps(
            {
                "model": args.model,
                "embeddings": args.embeddings,
                "ratings": n,
                "epochs": args.epochs,
                "ratings_per_s": per_s,
                "median_ratings_per_s": float(np.median(per_s)),
                "ratings_per_cpu_s": per_cpu_s,
                "median_ratings_per_cpu_s": float(np.median(per_cpu_s)),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "blas_threads": [pool["num_threads"] for pool in threadpool_info()],
                "loadavg": list(os.getloadavg()),
            }
        )
    )


if __name__ == "__main__":
    main()
