"""Regularisation and training stability (notebook 07).

What this module holds:

* Weight penalties: ``l2_penalty`` (0.5 * reg * sum W^2) and ``l1_penalty`` (reg * sum |W|),
  each returning ``(penalty, grads)``.
* Inverted dropout: ``dropout_forward`` / ``dropout_backward``.
* Batch normalisation for (N, D) inputs: ``batchnorm_forward`` / ``batchnorm_backward``, with
  running statistics for eval mode that match ``torch.nn.BatchNorm1d`` exactly.
* Gradient clipping: ``clip_by_value`` (as ``torch.nn.utils.clip_grad_value_``) and
  ``clip_by_norm`` (as ``torch.nn.utils.clip_grad_norm_``), both returning clipped copies.
* ``EarlyStopping``: patience-based stopping that remembers the best epoch (and parameters).

Layers follow the CS231n contract ``*_forward(...) -> (out, cache)``,
``*_backward(dout, cache) -> grads``. Inputs are never modified in place; the one deliberate
exception is batch norm's ``bn_param`` dict, whose ``running_mean`` / ``running_var`` entries are
REPLACED by new arrays in train mode (it is the layer's explicit state, as in CS231n).
"""
import copy

import numpy as np


# ----------------------------------------------------------------------------------------
# Helpers: apply a function to one array, a list/tuple of arrays, or a dict of arrays
# ----------------------------------------------------------------------------------------

def _map(fn, arrays):
    """Apply ``fn`` to each array; keep the container type (dict, list, tuple, or one array)."""
    if isinstance(arrays, dict):
        return {k: fn(np.asarray(v)) for k, v in arrays.items()}
    if isinstance(arrays, (list, tuple)):
        return type(arrays)(fn(np.asarray(v)) for v in arrays)
    return fn(np.asarray(arrays))


def _values(arrays):
    """The arrays held by a dict, list/tuple, or a single array, as a list."""
    if isinstance(arrays, dict):
        return [np.asarray(v) for v in arrays.values()]
    if isinstance(arrays, (list, tuple)):
        return [np.asarray(v) for v in arrays]
    return [np.asarray(arrays)]


# ----------------------------------------------------------------------------------------
# Weight penalties
# ----------------------------------------------------------------------------------------

def l2_penalty(weights, reg):
    """L2 penalty (weight decay) over one array W or a list/tuple/dict of arrays.

    Convention: penalty = 0.5 * reg * sum_W sum W^2, so that dpenalty/dW = reg * W (the 0.5
    cancels the 2; some texts drop the 0.5 and get 2 * reg * W). Biases are usually left out:
    pass only the weight matrices. Returns (penalty: float, grads in the same container).
    """
    penalty = 0.5 * reg * sum(np.sum(W * W) for W in _values(weights))  # 0.5 reg ||W||^2
    return float(penalty), _map(lambda W: reg * W, weights)


def l1_penalty(weights, reg):
    """L1 penalty over one array W or a list/tuple/dict of arrays.

    penalty = reg * sum |W|; (sub)gradient reg * sign(W), taking 0 at W == 0 (as autograd does).
    Returns (penalty: float, grads in the same container).
    """
    penalty = reg * sum(np.sum(np.abs(W)) for W in _values(weights))  # reg ||W||_1
    return float(penalty), _map(lambda W: reg * np.sign(W), weights)


# ----------------------------------------------------------------------------------------
# Inverted dropout
# ----------------------------------------------------------------------------------------

def dropout_forward(x, p_drop, mode="train", rng=None):
    """Inverted dropout. x: any shape; p_drop: probability of ZEROING a unit (as torch's p).

    train: mask = (U < 1 - p) / (1 - p) with U ~ Uniform[0, 1); out = x * mask, so E[out] = x
           and nothing has to be rescaled at test time.
    eval:  out = x (identity).
    rng: a np.random.Generator, an int seed, or None (fresh entropy). Returns (out, cache).
    """
    if not 0.0 <= p_drop <= 1.0:
        raise ValueError("p_drop must be in [0, 1]")
    if mode == "eval":
        return np.array(x, copy=True), (mode, None)
    if mode != "train":
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    x = np.asarray(x)
    keep = 1.0 - p_drop
    if keep == 0.0:  # p_drop = 1 drops everything (avoids 0 / 0)
        mask = np.zeros(x.shape)
    else:
        mask = (np.random.default_rng(rng).random(x.shape) < keep) / keep
    return x * mask, (mode, mask)


def dropout_backward(dout, cache):
    """dout: same shape as x. Returns dx = dout * mask (train, the SAME mask) or dout (eval)."""
    mode, mask = cache
    if mode == "eval":
        return np.array(dout, copy=True)
    return dout * mask


# ----------------------------------------------------------------------------------------
# Batch normalisation
# ----------------------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation over the batch axis. x: (N, D); gamma, beta: (D,). Returns (out, cache).

    out = gamma * (x - mean) / sqrt(var + eps) + beta
    train: mean and var are the batch's (biased var, divide by N) and N >= 2 is required.
    eval:  mean and var are bn_param's running_mean and running_var.

    bn_param keys: 'mode' ('train' | 'eval', required), 'eps' (1e-5), 'momentum' (0.9),
    'running_mean' (default zeros(D)), 'running_var' (default ones(D), torch's initial value;
    CS231n starts from zeros). In train mode the running statistics are REPLACED by
        running = momentum * running + (1 - momentum) * batch_statistic
    (CS231n's momentum; torch's BatchNorm momentum is 1 - this one, i.e. 0.1 by default).
    To match torch.nn.BatchNorm1d exactly, running_var is fed the UNBIASED batch variance
    (divide by N - 1), while the normalisation itself uses the biased one.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))

    if mode == "train":
        if N < 2:
            raise ValueError("batch norm in train mode needs at least 2 samples per batch")
        mean, var = x.mean(axis=0), x.var(axis=0)  # biased variance
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var * N / (N - 1)
    elif mode == "eval":
        mean, var = running_mean, running_var
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'eval', got {mode!r}")

    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (mode, x_hat, gamma, inv_std)


def batchnorm_backward(dout, cache):
    """dout: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,)).

    train (compact form, the batch mean and variance depend on x):
        dx = inv_std / N * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)),
        with dx_hat = dout * gamma and sums over the batch axis.
    eval (running statistics are constants): dx = dout * gamma * inv_std.
    """
    mode, x_hat, gamma, inv_std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if mode == "eval":
        return dx_hat * inv_std, dgamma, dbeta
    dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------------------
# Gradient clipping
# ----------------------------------------------------------------------------------------

def clip_by_value(grads, clip):
    """Clip every entry to [-clip, clip], as torch.nn.utils.clip_grad_value_.

    grads: dict, list/tuple of arrays, or one array. Returns clipped copies, same container.
    """
    return _map(lambda g: np.clip(g, -clip, clip), grads)


def clip_by_norm(grads, max_norm):
    """Rescale all gradients together so that their GLOBAL L2 norm is at most ``max_norm``.

    total = sqrt(sum over all arrays of sum g^2)
    g <- g * min(1, max_norm / (total + 1e-6))     (torch.nn.utils.clip_grad_norm_'s rule;
                                                    the 1e-6 guards against total = 0)
    The direction of the full gradient is kept. grads: dict, list/tuple of arrays, or one array.
    Returns (clipped copies in the same container, total norm BEFORE clipping as a float).
    """
    total = float(np.sqrt(sum(np.sum(g * g) for g in _values(grads))))
    scale = min(1.0, max_norm / (total + 1e-6))
    return _map(lambda g: g * scale, grads), total


# ----------------------------------------------------------------------------------------
# Early stopping
# ----------------------------------------------------------------------------------------

class EarlyStopping:
    """Stop training once the monitored value has not improved for ``patience`` epochs.

    mode='min' (a loss): improvement means value < best - min_delta.
    mode='max' (an accuracy): improvement means value > best + min_delta.

    Call ``update(value, params=None)`` once per epoch; it returns True when training should
    stop. Attributes: ``best`` (best value so far), ``best_epoch`` (0-based index of the update
    that set it), ``num_bad_epochs`` (updates since then), ``should_stop``. When ``params`` is
    given at an improving epoch, a deep copy is kept in ``best_params``; ``restore_best()``
    returns a fresh copy of it, so training can continue from or report the best model.
    """

    def __init__(self, patience, min_delta=0.0, mode="min"):
        if patience < 0 or min_delta < 0:
            raise ValueError("patience and min_delta must be non-negative")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = np.inf if mode == "min" else -np.inf
        self.best_epoch = None
        self.best_params = None
        self.num_bad_epochs = 0
        self.epoch = -1
        self.should_stop = False

    def _improves(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value, params=None):
        """Record this epoch's ``value`` (and optionally its ``params``); return should_stop."""
        self.epoch += 1
        if self._improves(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, self.epoch, 0
            if params is not None:
                self.best_params = copy.deepcopy(params)
            self.should_stop = False
        else:
            self.num_bad_epochs += 1
            self.should_stop = self.num_bad_epochs >= self.patience  # patience=0: first miss
        return self.should_stop

    def restore_best(self):
        """A fresh copy of the parameters saved at the best epoch."""
        if self.best_params is None:
            raise RuntimeError("no parameters were saved: pass params= to update()")
        return copy.deepcopy(self.best_params)
