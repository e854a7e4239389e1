"""A plain PyTorch training loop (d2l's ``train_ch3`` / ``train_ch6`` in a few functions).

    train_epoch   one pass over a loader: forward, loss, backward, optimizer step
    evaluate      mean loss and accuracy on a loader, without gradients
    fit           ``epochs`` x train_epoch (+ evaluate on validation data); returns a history
    predict / accuracy   logits and accuracy for arrays, in batches

The device defaults to ``try_gpu()``: the same call trains on a GPU when there is one.
Runs are reproducible: build the model after ``torch.manual_seed(s)`` and give the loader
its own seed (``make_loader``); ``fit(seed=...)`` also reseeds torch before training.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .device import try_gpu

__all__ = ["make_optimizer", "train_epoch", "evaluate", "fit", "predict", "accuracy"]

_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop,
               "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta}


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.0) -> torch.optim.Optimizer:
    """``torch.optim`` optimizer by name: sgd, adam, rmsprop, adagrad or adadelta."""
    name = name.lower()
    if name not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, got {name!r}")
    kwargs = {"lr": lr, "weight_decay": weight_decay}
    if name in ("sgd", "rmsprop"):
        kwargs["momentum"] = momentum
    return _OPTIMIZERS[name](params, **kwargs)


def train_epoch(model: nn.Module, loader, loss_fn, optimizer, device=None,
                clip_norm: float | None = None) -> tuple[float, float]:
    """One epoch of mini-batch training. Returns (mean loss, accuracy) over the epoch.

    For each batch: logits = model(xb); loss = loss_fn(logits, yb); zero_grad, backward,
    optional ``clip_grad_norm_(clip_norm)``, step. Means are weighted by batch size.
    """
    device = device if device is not None else try_gpu()
    model.train()
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        if clip_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        total_loss += loss.item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        n += len(yb)
    return total_loss / n, correct / n


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn=None, device=None) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` in eval mode over ``loader``.

    ``loss_fn`` defaults to ``nn.CrossEntropyLoss()`` (mean over the batch).
    """
    device = device if device is not None else try_gpu()
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)
        total_loss += loss_fn(logits, yb).item() * len(yb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        n += len(yb)
    return total_loss / n, correct / n


def fit(model: nn.Module, train_loader, val_loader=None, epochs: int = 10, lr: float = 1e-3,
        optimizer: str = "adam", device=None, loss_fn=None, weight_decay: float = 0.0,
        clip_norm: float | None = None, seed: int | None = None, progress: bool = False
        ) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` epochs; the model is moved to ``device`` (``try_gpu()``).

    Returns the history ``{"train_loss", "train_acc", "val_loss", "val_acc"}``, one float
    per epoch each (the val lists stay empty without ``val_loader``). ``progress=True``
    shows a tqdm bar over the epochs. ``seed`` (if given) calls ``torch.manual_seed`` first.
    """
    if seed is not None:
        torch.manual_seed(seed)
    device = device if device is not None else try_gpu()
    loss_fn = loss_fn if loss_fn is not None else nn.CrossEntropyLoss()
    model.to(device)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    epochs_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_iter = tqdm(epochs_iter, desc="epochs")
    for _ in epochs_iter:
        loss, acc = train_epoch(model, train_loader, loss_fn, opt, device, clip_norm)
        history["train_loss"].append(loss)
        history["train_acc"].append(acc)
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
        if progress:
            shown = {"loss": f"{loss:.3f}"}
            if val_loader is not None:
                shown["val_acc"] = f"{history['val_acc'][-1]:.3f}"
            epochs_iter.set_postfix(shown)
    return history


@torch.no_grad()
def predict(model: nn.Module, X, device=None, batch_size: int = 1024) -> torch.Tensor:
    """Logits of ``model`` (eval mode, moved to ``device``) for ``X: (N, ...)``, returned on the CPU.

    ``X`` may be a NumPy array or a tensor; it is cast to float32 like ``as_tensors``.
    """
    device = device if device is not None else try_gpu()
    model.eval()
    X = X if torch.is_tensor(X) else torch.from_numpy(np.ascontiguousarray(X))
    X = X.to(torch.float32)
    model.to(device)
    out = [model(X[i:i + batch_size].to(device)).cpu() for i in range(0, len(X), batch_size)]
    return torch.cat(out)


def accuracy(model: nn.Module, X, y, device=None, batch_size: int = 1024) -> float:
    """Fraction of ``X: (N, ...)`` whose arg-max logit equals ``y: (N,)``."""
    y = y.cpu() if torch.is_tensor(y) else torch.from_numpy(np.asarray(y, dtype=np.int64))
    pred = predict(model, X, device, batch_size).argmax(dim=1)
    return (pred == y).sum().item() / len(y)
