"""A plain PyTorch MLP and training loop, shared by engine.py and search_optuna.py.

Binary classifier: Linear+ReLU hidden layers (each optionally followed by dropout), one logit
out, BCEWithLogitsLoss, Adam (lr 1e-3, PyTorch's defaults otherwise, no weight decay), shuffled
mini-batches each epoch. An optional L2 penalty adds l2 * sum of the squared weights of every
Linear layer (kernels only, as foldwise's `l2` on an mlp) to each batch's loss.
"""
import numpy as np
import torch
from torch import nn


def build_mlp(n_features: int, hidden: tuple, dropout: float = 0.0) -> nn.Module:
    layers = []
    width_in = n_features
    for width in hidden:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width_in = width
    layers.append(nn.Linear(width_in, 1))
    return nn.Sequential(*layers)


def standardise(x_fit: np.ndarray, *others: np.ndarray):
    """Scales by the mean and standard deviation of `x_fit` (the training rows only)."""
    mean = x_fit.mean(axis=0)
    std = x_fit.std(axis=0)
    std[std == 0] = 1.0
    return [((a - mean) / std).astype(np.float32) for a in (x_fit, *others)]


def train_mlp(
    x: np.ndarray, y: np.ndarray, hidden: tuple, epochs: int, batch: int, seed: int, lr: float = 1e-3,
    dropout: float = 0.0, l2: float = 0.0,
) -> nn.Module:
    """Trains for exactly `epochs` epochs; x is float32 (already standardised), y 0/1."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build_mlp(x.shape[1], hidden, dropout)
    kernels = [m.weight for m in model if isinstance(m, nn.Linear)]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.float32)).reshape(-1, 1)
    n = xt.shape[0]
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[index]), yt[index])
            if l2 > 0:
                loss = loss + l2 * sum((w * w).sum() for w in kernels)
            loss.backward()
            optimizer.step()
    return model


@torch.no_grad()
def predict_scores(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).reshape(-1).numpy()
