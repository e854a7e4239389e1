"""Gradient descent and its adaptive variants (notebook 04).

What this module holds:

* ``sgd_update(w, dw, lr)``: the basic rule ``w <- w - lr * dL/dw``.
* ``minibatches(X, y, batch_size, shuffle, rng)``: one epoch of mini-batches.
* One shared optimizer interface, ``Optimizer.step(params, grads)``, and the classes
  ``SGD``, ``Momentum`` (optionally Nesterov), ``Adagrad``, ``RMSprop``, ``Adadelta`` and
  ``Adam``. Each one follows the update rule of the ``torch.optim`` class with the same name
  (weight decay and the other extras left out), so both agree step for step.
* 2-D test functions and a trajectory helper for plots: ``ill_conditioned_quadratic``,
  ``rosenbrock`` and ``gradient_descent``.

The interface: ``params`` and ``grads`` are dicts ``name -> ndarray`` with matching shapes.
``step`` REPLACES ``params[name]`` with a new array; the array stored there before, the grad
arrays and the optimizer state arrays handed out earlier are never modified in place. State
lives in ``optimizer.state[name]`` (a dict of arrays, created at the first step of that name),
so one optimizer object serves a whole model.
"""
import numpy as np


def sgd_update(w, dw, lr):
    """One plain gradient-descent step. w, dw: same shape; returns a new array."""
    return w - lr * dw  # w <- w - lr * dL/dw


def minibatches(X, y, batch_size, shuffle=True, rng=None):
    """Yield ``(X_batch, y_batch)`` pairs that cover each of the N samples exactly once.

    X: (N, ...), y: (N, ...). Batches hold ``batch_size`` samples, the last one may hold fewer.
    ``shuffle=False`` keeps the original order. With ``shuffle=True`` the order is a permutation
    drawn from ``rng``: a ``np.random.Generator`` (pass the same one every epoch to get a new
    order each epoch), an int seed (the same seed gives the same order), or None (fresh entropy).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    n = len(X)
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


class Optimizer:
    """Base class: holds the learning rate and one state dict per parameter name.

    Subclasses implement ``_update(w, g, state) -> new w``; they store new state arrays by
    assignment (``state["v"] = ...``), never in place.
    """

    def __init__(self, lr):
        if lr < 0:
            raise ValueError("lr must be non-negative")
        self.lr = lr
        self.state = {}  # name -> {"step": int, ...arrays}

    def step(self, params, grads):
        """Update every ``params[name]`` that has an entry in ``grads``; returns None.

        params, grads: dict name -> ndarray. Not in place: ``params[name]`` is rebound to a new
        array, so a reference to the old array still sees the old values; ``grads`` is only
        read. Names without a gradient are left alone.
        """
        for name, g in grads.items():
            if name not in params:
                raise KeyError(f"gradient given for unknown parameter {name!r}")
            w = np.asarray(params[name])
            g = np.asarray(g)
            if w.shape != g.shape:
                raise ValueError(f"{name}: param shape {w.shape} != grad shape {g.shape}")
            state = self.state.setdefault(name, {"step": 0})
            state["step"] += 1
            params[name] = self._update(w, g, state)

    def _update(self, w, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Plain (stochastic) gradient descent, as ``torch.optim.SGD(lr)``.

        w <- w - lr * g
    """

    def _update(self, w, g, state):
        return w - self.lr * g


class Momentum(Optimizer):
    """SGD with (heavy-ball or Nesterov) momentum, as ``torch.optim.SGD(lr, momentum, nesterov)``.

        v <- mu * v + g              (v starts at 0, so the first v is g)
        w <- w - lr * v              (heavy ball)
        w <- w - lr * (g + mu * v)   (nesterov=True, with the new v)

    PyTorch's form: lr multiplies the velocity, not the gradient inside it (CS231n writes
    v <- mu*v - lr*g; w <- w + v, the same thing while lr is constant).
    """

    def __init__(self, lr, momentum=0.9, nesterov=False):
        super().__init__(lr)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov

    def _update(self, w, g, state):
        v = self.momentum * state.get("v", 0.0) + g  # v <- mu v + g
        state["v"] = v
        direction = g + self.momentum * v if self.nesterov else v
        return w - self.lr * direction


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad(lr, eps=eps)`` (initial_accumulator_value=0, no decay).

        G <- G + g^2                          (per coordinate sum of squared gradients)
        w <- w - lr * g / (sqrt(G) + eps)

    The step along a coordinate shrinks as its squared gradients pile up, and never recovers.
    """

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = eps

    def _update(self, w, g, state):
        G = state.get("sum", 0.0) + g * g  # G <- G + g^2
        state["sum"] = G
        return w - self.lr * g / (np.sqrt(G) + self.eps)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop(lr, alpha, eps)`` (no momentum, not centred).

        s <- alpha * s + (1 - alpha) * g^2    (running mean of squared gradients, s starts at 0)
        w <- w - lr * g / (sqrt(s) + eps)

    The effective learning rate lr / sqrt(s) is SMALLER along coordinates whose gradients have
    been large, and larger where they have been small.
    """

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        self.alpha, self.eps = alpha, eps

    def _update(self, w, g, state):
        s = self.alpha * state.get("square_avg", 0.0) + (1 - self.alpha) * g * g
        state["square_avg"] = s
        return w - self.lr * g / (np.sqrt(s) + self.eps)


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta(lr, rho, eps)``.

        s  <- rho * s + (1 - rho) * g^2                     (running mean of squared gradients)
        dx <- sqrt(u + eps) / sqrt(s + eps) * g             (u: running mean of squared steps)
        u  <- rho * u + (1 - rho) * dx^2
        w  <- w - lr * dx                                   (s and u start at 0; lr=1 in the paper)

    Like RMSprop, the step is divided by the RMS of past gradients: coordinates with large
    gradients get SMALLER effective learning rates.
    """

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6):
        super().__init__(lr)
        self.rho, self.eps = rho, eps

    def _update(self, w, g, state):
        s = self.rho * state.get("square_avg", 0.0) + (1 - self.rho) * g * g
        u = state.get("acc_delta", 0.0)
        dx = np.sqrt(u + self.eps) / np.sqrt(s + self.eps) * g
        state["square_avg"] = s
        state["acc_delta"] = self.rho * u + (1 - self.rho) * dx * dx
        return w - self.lr * dx


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam(lr, betas=(beta1, beta2), eps)``.

        m <- beta1 * m + (1 - beta1) * g               (first moment, starts at 0)
        v <- beta2 * v + (1 - beta2) * g^2             (second moment, starts at 0)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)   (t = 1, 2, ... step count)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, w, g, state):
        t = state["step"]
        m = self.beta1 * state.get("m", 0.0) + (1 - self.beta1) * g
        v = self.beta2 * state.get("v", 0.0) + (1 - self.beta2) * g * g
        state["m"], state["v"] = m, v
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        return w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ----------------------------------------------------------------------------------------
# 2-D functions and trajectories for plots
# ----------------------------------------------------------------------------------------

def ill_conditioned_quadratic(x, curvatures=(1.0, 25.0)):
    """f(x) = 0.5 * (a x0^2 + b x1^2) with (a, b) = curvatures; x: (2,). Returns (f, grad (2,)).

    The Hessian is diag(a, b): with the default condition number 25 plain gradient descent
    diverges for lr > 2 / b = 0.08 while the flat x0 direction needs many small steps.
    """
    x = np.asarray(x, dtype=float)
    c = np.asarray(curvatures, dtype=float)
    return 0.5 * np.sum(c * x * x), c * x  # grad = (a x0, b x1)


def rosenbrock(x, a=1.0, b=100.0):
    """f(x) = (a - x0)^2 + b (x1 - x0^2)^2, minimum 0 at (a, a^2); x: (2,). Returns (f, grad)."""
    x0, x1 = np.asarray(x, dtype=float)
    r = x1 - x0 * x0
    f = (a - x0) ** 2 + b * r * r
    grad = np.array([-2.0 * (a - x0) - 4.0 * b * x0 * r, 2.0 * b * r])
    return f, grad


def gradient_descent(grad_fn, x0, optimizer, steps):
    """Run ``optimizer`` from ``x0`` for ``steps`` steps and return the trajectory.

    grad_fn: x (D,) -> (f, grad (D,)), e.g. ``ill_conditioned_quadratic``.
    Returns an array (steps + 1, D) whose row 0 is x0 and row t the point after t steps.
    """
    params = {"x": np.array(x0, dtype=float)}
    path = [params["x"]]
    for _ in range(steps):
        _, g = grad_fn(params["x"])
        optimizer.step(params, {"x": g})
        path.append(params["x"])
    return np.stack(path)
