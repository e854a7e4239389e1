"""Gradient descent and its adaptive variants (notebook 04).

What this module holds:

* ``sgd_update(w, dw, lr)``: the basic rule ``w <- w - lr * dL/dw``.
* ``gd_quadratic(A, x0, lr, steps)``: the trajectory of gradient descent on ``0.5 x^T A x``.
* ``minibatches(X, y, batch_size, shuffle, seed)``: one epoch of mini-batches.
* One shared optimizer interface, ``Optimizer.step(params, grads)``, and the classes
  ``SGD``, ``Momentum`` (optionally Nesterov), ``Adagrad``, ``RMSprop``, ``Adadelta`` and
  ``Adam``. Each one follows the update rule of the ``torch.optim`` class with the same name
  (weight decay and the other extras left out), so both agree step for step.
* 2-D test functions and a trajectory helper for plots: ``ill_conditioned_quadratic``,
  ``rosenbrock`` and ``gradient_descent``.

The interface (the contract a learner's optimizer must meet, and the one this module keeps):
``params`` and ``grads`` are dicts ``name -> ndarray`` with matching shapes. ``step(params,
grads)`` returns None and leaves the new values in ``params``: it updates each array IN PLACE
(``params[name][...] = new``, so every other reference to that array, a model's attribute for
instance, sees the update, as with ``torch.optim``), and falls back to rebinding the entry
(``params[name] = new``) when the array cannot hold the result in place (a Python number, an
integer or read-only array). Whoever calls ``step`` reads the new values back from the dict, so
both readings work for the caller; what does NOT work is computing the new values into a local
variable (``w = w - lr * g``) and dropping them. The grad arrays are only read, and the state
arrays live in ``optimizer.state[name]`` (created at the first step of that name, never shared
with a parameter or a gradient), so one optimizer object serves a whole model.
"""
import numpy as np


def sgd_update(w, dw, lr):
    """One plain gradient-descent step. w, dw: same shape; returns a new array."""
    return w - lr * dw  # w <- w - lr * dL/dw


def gd_quadratic(A, x0, lr, steps):
    """Gradient descent on f(x) = 0.5 x^T A x (gradient A x) from x0; returns the trajectory.

    A: (D, D) symmetric, x0: (D,). Returns an array (steps + 1, D): row 0 is x0, row t the point
    after t steps of x <- x - lr * A x. x0 is not modified.
    """
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(steps):
        x = sgd_update(x, A @ x, lr)  # a new array each step, so the rows of path stay distinct
        path.append(x)
    return np.stack(path)


def minibatches(X, y, batch_size, shuffle=True, seed=0, *, rng=None):
    """Yield ``(X_batch, y_batch)`` pairs that cover each of the N samples exactly once.

    X: (N, ...), y: (N, ...). Batches hold ``batch_size`` samples, the last one may hold fewer
    (ceil(N / batch_size) batches). ``shuffle=False`` keeps the original order. With
    ``shuffle=True`` ONE permutation, applied to X and y alike, is drawn from ``seed``: an int
    (the same seed gives the same order) or a ``np.random.Generator`` (pass the same one every
    epoch to get a new order each epoch). ``rng`` is another name for ``seed`` (it wins if given).
    X and y are not modified.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    n = len(X)
    source = seed if rng is None else rng
    order = np.random.default_rng(source).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


class Optimizer:
    """Base class: holds the learning rate and one state dict per parameter name.

    Subclasses implement ``update(w, g, state) -> new w`` for one array (``state`` is that
    array's dict, with ``state["step"]`` the number of steps so far, 1 at the first); they store
    new state arrays by assignment (``state["v"] = ...``), never in place.
    """

    def __init__(self, lr):
        if lr < 0:
            raise ValueError("lr must be non-negative")
        self.lr = lr
        self.state = {}  # name -> {"step": int, ...arrays}

    def step(self, params, grads):
        """Update every ``params[name]`` that has an entry in ``grads``; returns None.

        params, grads: dict name -> ndarray. In place where possible: the array in
        ``params[name]`` receives the new values, so every reference to it sees them; a value
        that cannot hold them (a Python number, an integer or read-only array) is replaced in
        the dict instead. Either way the caller reads the new values from ``params``. ``grads``
        is only read. Names without a gradient are left alone.
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
            _store(params, name, self.update(w, g, state))

    def update(self, w, g, state):
        """The new value of one parameter array w (same shape) from its gradient g and its state."""
        raise NotImplementedError


def _store(params, name, new):
    """params[name] <- new: in place when the array there can hold it, else a new entry."""
    old = params[name]
    if (isinstance(old, np.ndarray) and old.flags.writeable and old.shape == np.shape(new)
            and np.can_cast(np.result_type(new), old.dtype, "same_kind")):
        old[...] = new
    else:
        params[name] = new


class SGD(Optimizer):
    """Plain (stochastic) gradient descent, as ``torch.optim.SGD(lr)``.

        w <- w - lr * g

    So ``step(params, grads)`` does ``params[name] -= lr * grads[name]`` for every name.
    """

    def update(self, w, g, state):
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

    def update(self, w, g, state):
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

    def update(self, w, g, state):
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

    def update(self, w, g, state):
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

    def update(self, w, g, state):
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

    def update(self, w, g, state):
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
    path = [params["x"].copy()]
    for _ in range(steps):
        _, g = grad_fn(params["x"])
        optimizer.step(params, {"x": g})
        path.append(params["x"].copy())  # a copy: step updates params["x"] in place
    return np.stack(path)
