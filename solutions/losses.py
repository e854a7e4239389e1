"""Loss functions with their gradients.

Every loss returns ``(loss, dinput)``: a scalar averaged over the batch and the gradient of that
scalar with respect to the loss's first argument (same shape). Which loss goes with which
output layer:

=====================================  ==========================  ===============================
task                                   output layer                loss
=====================================  ==========================  ===============================
regression                             1 (or D) linear units       :func:`mse_loss`
binary classification                  1 sigmoid unit              :func:`binary_cross_entropy`
binary classification (from logits)    1 linear unit (the logit)   :func:`binary_cross_entropy_with_logits`
K classes, one-hot targets             K softmax units             :func:`categorical_cross_entropy`
K classes, integer targets             K softmax units             :func:`sparse_categorical_cross_entropy`
K classes, integer targets (logits)    K linear units (scores)     :func:`softmax_cross_entropy`
=====================================  ==========================  ===============================

The "from logits" forms fuse the output activation into the loss: they are numerically stable
(no log(0)) and their gradient is the famous ``(p - y) / N``. PyTorch's ``nn.CrossEntropyLoss``
is :func:`softmax_cross_entropy` and ``nn.BCEWithLogitsLoss`` is
:func:`binary_cross_entropy_with_logits`.
"""
import numpy as np

from solutions.activations import sigmoid


def one_hot(y, num_classes):
    """Integer labels y: (N,) -> one-hot matrix (N, num_classes) of floats."""
    y = np.asarray(y, dtype=int)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def mse_loss(pred, y):
    """Mean squared error, averaged over ALL elements (as torch's F.mse_loss).

    pred, y: same shape (N, ...) -> (loss, dpred).
    """
    # L = mean((pred - y)^2),  dL/dpred = 2 (pred - y) / pred.size
    pred = np.asarray(pred, dtype=float)
    diff = pred - y
    loss = np.mean(diff ** 2)
    dpred = 2.0 * diff / diff.size
    return loss, dpred


def binary_cross_entropy(p, y, eps=1e-12):
    """Binary cross-entropy from probabilities, averaged over all elements.

    p: (N,) or (N, 1) probabilities of class 1, y: same shape in {0, 1} -> (loss, dp).
    p is clipped to [eps, 1 - eps] so log(0) cannot occur; where clipping is active the returned
    gradient is that of the clipped loss formula evaluated at the clipped p.
    """
    # L = -mean(y log p + (1 - y) log(1 - p)),  dL/dp = (p - y) / (p (1 - p)) / p.size
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    dp = (p - y) / (p * (1.0 - p)) / p.size
    return loss, dp


def binary_cross_entropy_with_logits(z, y):
    """Binary cross-entropy from logits (sigmoid fused in), stable for any z.

    z: (N,) or (N, 1) logits, y: same shape in {0, 1} (or soft targets in [0, 1]) -> (loss, dz).
    """
    # L = mean(max(z, 0) - z y + log(1 + e^-|z|)),  dL/dz = (sigmoid(z) - y) / z.size
    z = np.asarray(z, dtype=float)
    loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (sigmoid(z) - y) / z.size
    return loss, dz


def categorical_cross_entropy(p, y_onehot, eps=1e-12):
    """Categorical cross-entropy from probabilities and one-hot targets, mean over the batch.

    p: (N, K) rows of probabilities, y_onehot: (N, K) -> (loss, dp: (N, K)).
    """
    # L = -(1/N) sum_n sum_k y_nk log p_nk,  dL/dp = -y / p / N
    p = np.clip(np.asarray(p, dtype=float), eps, 1.0)
    n = p.shape[0]
    loss = -np.sum(y_onehot * np.log(p)) / n
    dp = -y_onehot / p / n
    return loss, dp


def sparse_categorical_cross_entropy(p, y_int, eps=1e-12):
    """Cross-entropy from probabilities and integer targets: same number as the one-hot form.

    p: (N, K) rows of probabilities, y_int: (N,) ints in [0, K) -> (loss, dp: (N, K)).
    """
    # L = -(1/N) sum_n log p[n, y_n]
    p = np.asarray(p, dtype=float)
    n = p.shape[0]
    rows = np.arange(n)
    p_true = np.clip(p[rows, y_int], eps, 1.0)
    loss = -np.sum(np.log(p_true)) / n
    dp = np.zeros_like(p)
    dp[rows, y_int] = -1.0 / p_true / n
    return loss, dp


def softmax_cross_entropy(logits, y_int):
    """Softmax + cross-entropy from logits and integer targets (torch's F.cross_entropy).

    logits: (N, K) scores, y_int: (N,) ints in [0, K) -> (loss, dlogits: (N, K)).
    Stable through log-softmax: log p = z - max z - log sum e^(z - max z).
    """
    # L = -(1/N) sum_n log softmax(z_n)[y_n],  dL/dz = (p - onehot(y)) / N
    z = np.asarray(logits, dtype=float)
    n, k = z.shape
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_p[np.arange(n), y_int]) / n
    dz = (np.exp(log_p) - one_hot(y_int, k)) / n
    return loss, dz
