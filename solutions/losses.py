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

Shapes are checked, never broadcast: the element-wise losses need a target of the prediction's
exact shape ((N, 1) against (N,) would broadcast to (N, N) and give a wrong number), the
categorical loss needs one-hot rows of p's shape, and the sparse losses need (N,) integer labels
in [0, K). Anything else raises a ValueError that says what was expected.
"""
import numpy as np

from solutions.activations import sigmoid


def one_hot(y, num_classes):
    """Integer labels y: (N,) -> one-hot matrix (N, num_classes) of floats."""
    y = np.asarray(y, dtype=int)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def _same_shape(fn, a, a_name, b, b_name):
    """Raise a clear ValueError unless a and b have the same shape (NumPy would broadcast silently)."""
    if a.shape != b.shape:
        raise ValueError(
            f"{fn}: {a_name} has shape {a.shape} but {b_name} has shape {b.shape}; they must have the same "
            f"shape (NumPy would broadcast them, e.g. (N, 1) against (N,) to (N, N), and return a wrong "
            f"loss). Reshape one of them, e.g. {b_name}.reshape({a_name}.shape).")


def _check_one_hot(fn, p, y):
    """Raise a clear ValueError unless y is one-hot: 2-D, p's shape, entries 0/1, one 1 per row."""
    if p.ndim != 2:
        raise ValueError(f"{fn}: p must be a 2-D array (N, K) of probabilities, got shape {p.shape}")
    if y.shape != p.shape:
        extra = (" Integer labels go to sparse_categorical_cross_entropy (or convert them with one_hot(y, K))."
                 if y.ndim == 1 else "")
        raise ValueError(f"{fn}: y_onehot must be one-hot with the shape of p {p.shape}, got shape {y.shape}.{extra}")
    if not (np.all((y == 0) | (y == 1)) and np.all(np.sum(y, axis=1) == 1)):
        raise ValueError(f"{fn}: y_onehot must be one-hot: every entry 0 or 1 and exactly one 1 per row. "
                         "Integer labels go to sparse_categorical_cross_entropy (or convert them with one_hot(y, K)).")


def _check_labels(fn, scores, y):
    """Raise a clear ValueError unless y holds one integer label in [0, K) per row of scores (N, K)."""
    if scores.ndim != 2:
        raise ValueError(f"{fn}: the first argument must be a 2-D array (N, K), got shape {scores.shape}")
    n, k = scores.shape
    if y.shape != (n,):
        raise ValueError(f"{fn}: y must hold one integer label per example, shape ({n},), got shape {y.shape} "
                         "(for one-hot targets use categorical_cross_entropy, or y.argmax(axis=1))")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{fn}: y must hold integer class labels, got dtype {y.dtype} (use y.astype(int))")
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"{fn}: labels must lie in [0, {k}), got values from {y.min()} to {y.max()}")


def mse_loss(pred, y):
    """Mean squared error, averaged over ALL elements (as torch's F.mse_loss).

    pred, y: arrays of the SAME shape, any shape ((N,), (N, 1), (N, D), ...), ints or floats
    -> (loss, dpred of pred's shape). Mismatched shapes raise ValueError: NumPy would broadcast
    (N, 1) against (N,) to (N, N) and silently return a wrong loss.
    """
    # L = mean((pred - y)^2),  dL/dpred = 2 (pred - y) / pred.size
    pred, y = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    _same_shape("mse_loss", pred, "pred", y, "y")
    diff = pred - y
    loss = np.mean(diff ** 2)
    dpred = 2.0 * diff / diff.size
    return loss, dpred


def binary_cross_entropy(p, y, eps=1e-12):
    """Binary cross-entropy from probabilities, averaged over all elements.

    p: probabilities of class 1, y: targets in {0, 1} (ints or floats) of the SAME shape as p,
    any shape ((N,), (N, 1), ...) -> (loss, dp of p's shape). Mismatched shapes raise ValueError.
    p is clipped to [eps, 1 - eps] so log(0) cannot occur; where clipping is active the returned
    gradient is that of the loss formula evaluated at the clipped p.
    """
    # L = -mean(y log p + (1 - y) log(1 - p)),  dL/dp = (p - y) / (p (1 - p)) / p.size
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    _same_shape("binary_cross_entropy", p, "p", y, "y")
    p = np.clip(p, eps, 1.0 - eps)
    loss = -np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    dp = (p - y) / (p * (1.0 - p)) / p.size
    return loss, dp


def binary_cross_entropy_with_logits(z, y):
    """Binary cross-entropy from logits (sigmoid fused in), stable for any z.

    z: logits, y: targets in {0, 1} (or soft targets in [0, 1]) of the SAME shape as z, any shape
    -> (loss, dz of z's shape). Mismatched shapes raise ValueError.
    """
    # L = mean(max(z, 0) - z y + log(1 + e^-|z|)),  dL/dz = (sigmoid(z) - y) / z.size
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    _same_shape("binary_cross_entropy_with_logits", z, "z", y, "y")
    loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    dz = (sigmoid(z) - y) / z.size
    return loss, dz


def categorical_cross_entropy(p, y_onehot, eps=1e-12):
    """Categorical cross-entropy from probabilities and one-hot targets, mean over the batch.

    p: (N, K) rows of probabilities, y_onehot: (N, K) one-hot (entries 0 or 1, one 1 per row; ints
    or floats) -> (loss, dp: (N, K)). Anything else raises ValueError, in particular integer labels
    (N,): with N == K they would broadcast over the rows and give a wrong loss without an error.
    p is clipped to [eps, 1] so log(0) cannot occur (a 0 in a wrong class would give 0 * log 0 = nan).
    """
    # L = -(1/N) sum_n sum_k y_nk log p_nk,  dL/dp = -y / p / N
    p, y_onehot = np.asarray(p, dtype=float), np.asarray(y_onehot)
    _check_one_hot("categorical_cross_entropy", p, y_onehot)
    y_onehot = y_onehot.astype(float)
    p = np.clip(p, eps, 1.0)
    n = p.shape[0]
    loss = -np.sum(y_onehot * np.log(p)) / n
    dp = -y_onehot / p / n
    return loss, dp


def sparse_categorical_cross_entropy(p, y_int, eps=1e-12):
    """Cross-entropy from probabilities and integer targets: same number as the one-hot form.

    p: (N, K) rows of probabilities, y_int: (N,) ints in [0, K) -> (loss, dp: (N, K)).
    Other label shapes or dtypes raise ValueError.
    """
    # L = -(1/N) sum_n log p[n, y_n]
    p, y_int = np.asarray(p, dtype=float), np.asarray(y_int)
    _check_labels("sparse_categorical_cross_entropy", p, y_int)
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
    Other label shapes or dtypes raise ValueError.
    Stable through log-softmax: log p = z - max z - log sum e^(z - max z).
    """
    # L = -(1/N) sum_n log softmax(z_n)[y_n],  dL/dz = (p - onehot(y)) / N
    z, y_int = np.asarray(logits, dtype=float), np.asarray(y_int)
    _check_labels("softmax_cross_entropy", z, y_int)
    n, k = z.shape
    shifted = z - np.max(z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_p[np.arange(n), y_int]) / n
    dz = (np.exp(log_p) - one_hot(y_int, k)) / n
    return loss, dz
