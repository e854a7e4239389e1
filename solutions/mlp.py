"""From-scratch NumPy multi-layer perceptrons and a plain mini-batch SGD training loop.

* :class:`TwoLayerNet`: affine - ReLU - affine - softmax, params ``W1, b1, W2, b2``.
* :class:`FullyConnectedNet`: ``{affine - ReLU} x (L - 1) - affine - softmax`` for any list of
  hidden sizes, params ``W1, b1, ..., WL, bL``.
* :func:`train_mlp`: shuffled mini-batch SGD, returns a history of loss and accuracies per epoch.
* :func:`predict`, :func:`accuracy`.

Both models follow CS231n's contract: ``model.loss(X)`` returns the class scores ``(N, C)`` and
``model.loss(X, y)`` returns ``(loss, grads)`` with ``grads[name]`` shaped like
``params[name]``.

Regularisation convention (L2, weights only, never biases)::

    loss = softmax_cross_entropy(scores, y) + 0.5 * reg * sum_l sum(W_l ** 2)
    dW_l += reg * W_l

The factor 0.5 makes the gradient exactly ``reg * W``. (PyTorch's ``weight_decay=reg`` in SGD
adds the same ``reg * W`` to the gradient.)
"""
import numpy as np

from solutions.initialization import he_normal, xavier_normal, zeros_bias
from solutions.layers import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from solutions.losses import softmax_cross_entropy
from solutions.optimizers import minibatches


def init_weight(fan_in, fan_out, rng, init="he", weight_scale=None):
    """One weight matrix (fan_in, fan_out).

    weight_scale: if given, W ~ N(0, weight_scale^2) (CS231n style) and ``init`` is ignored;
    otherwise init is 'he' (ReLU nets), 'xavier' or 'zeros' (only to show why it fails).
    """
    if weight_scale is not None:
        return weight_scale * rng.standard_normal((fan_in, fan_out))
    if init == "he":
        return he_normal(fan_in, fan_out, rng)
    if init == "xavier":
        return xavier_normal(fan_in, fan_out, rng)
    if init == "zeros":
        return np.zeros((fan_in, fan_out))
    raise ValueError(f"unknown init {init!r}: use 'he', 'xavier' or 'zeros'")


class TwoLayerNet:
    """affine - ReLU - affine - softmax cross-entropy.

    input_dim D, hidden_dim H, num_classes C: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=None, init="he",
                 reg=0.0, seed=0):
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.params = {
            "W1": init_weight(input_dim, hidden_dim, rng, init, weight_scale),
            "b1": zeros_bias(hidden_dim),
            "W2": init_weight(hidden_dim, num_classes, rng, init, weight_scale),
            "b2": zeros_bias(num_classes),
        }

    def loss(self, X, y=None):
        """X: (N, D), y: (N,) ints or None -> scores (N, C) if y is None, else (loss, grads)."""
        p = self.params
        h, cache1 = affine_relu_forward(X, p["W1"], p["b1"])       # h = max(0, X W1 + b1)
        scores, cache2 = affine_forward(h, p["W2"], p["b2"])       # scores = h W2 + b2
        if y is None:
            return scores

        data_loss, dscores = softmax_cross_entropy(scores, y)
        reg_loss = 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))

        grads = {}
        dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dh, cache1)
        grads["W1"] = grads["W1"] + self.reg * p["W1"]
        grads["W2"] = grads["W2"] + self.reg * p["W2"]
        return data_loss + reg_loss, grads


class FullyConnectedNet:
    """{affine - ReLU} x (L - 1) - affine - softmax cross-entropy, with L = len(hidden_dims) + 1.

    hidden_dims: list of hidden sizes [H1, ..., H_{L-1}]; layer l has W{l} (d_{l-1}, d_l), b{l} (d_l,).
    """

    def __init__(self, hidden_dims, input_dim, num_classes, reg=0.0, seed=0, init="he",
                 weight_scale=None):
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.num_layers = len(hidden_dims) + 1
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for l in range(1, self.num_layers + 1):
            self.params[f"W{l}"] = init_weight(dims[l - 1], dims[l], rng, init, weight_scale)
            self.params[f"b{l}"] = zeros_bias(dims[l])

    def loss(self, X, y=None):
        """X: (N, D), y: (N,) ints or None -> scores (N, C) if y is None, else (loss, grads)."""
        p, L = self.params, self.num_layers
        caches = []
        h = X
        for l in range(1, L):                                        # hidden layers
            h, cache = affine_relu_forward(h, p[f"W{l}"], p[f"b{l}"])
            caches.append(cache)
        scores, last_cache = affine_forward(h, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores

        data_loss, dscores = softmax_cross_entropy(scores, y)
        reg_loss = 0.5 * self.reg * sum(np.sum(p[f"W{l}"] ** 2) for l in range(1, L + 1))

        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, last_cache)
        for l in range(L - 1, 0, -1):
            dh, grads[f"W{l}"], grads[f"b{l}"] = affine_relu_backward(dh, caches[l - 1])
        for l in range(1, L + 1):
            grads[f"W{l}"] = grads[f"W{l}"] + self.reg * p[f"W{l}"]
        return data_loss + reg_loss, grads


def predict(model, X):
    """Predicted class per row.  X: (N, D) -> (N,) ints (argmax of the scores)."""
    return np.argmax(model.loss(X), axis=1)


def accuracy(model, X, y):
    """Fraction of rows of X whose predicted class equals y."""
    return float(np.mean(predict(model, X) == y))


def train_mlp(model, X_train, y_train, X_val=None, y_val=None, epochs=20, batch_size=64,
              lr=0.1, seed=0):
    """Plain mini-batch SGD: for each epoch, for each shuffled batch, W <- W - lr * dL/dW.

    model: any object with ``params`` (dict of arrays) and ``loss(X, y)``. The model's params are
    replaced by the updated arrays (the arrays passed in are not modified in place).
    Returns history = {'loss': mean batch loss per epoch, 'train_acc': [...], 'val_acc': [...]}
    ('val_acc' stays empty without validation data).
    """
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": []}
    for _ in range(epochs):
        batch_losses = []
        for xb, yb in minibatches(X_train, y_train, batch_size, shuffle=True, rng=rng):
            loss, grads = model.loss(xb, yb)
            for name, g in grads.items():
                model.params[name] = model.params[name] - lr * g     # W <- W - lr * dW
            batch_losses.append(loss)
        history["loss"].append(float(np.mean(batch_losses)))
        history["train_acc"].append(accuracy(model, X_train, y_train))
        if X_val is not None:
            history["val_acc"].append(accuracy(model, X_val, y_val))
    return history
