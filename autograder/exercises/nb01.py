"""Exercises of notebook 01: neurons, layers and parameters."""
from __future__ import annotations

import numpy as np

from autograder.exercise import Case, Exercise, Fn, Mistake, compare_array, compare_int, compare_number
from autograder.learner.checks import Equal, ExactInt, TupleOf
from solutions import neurons


def _fmt(a) -> str:
    return np.array2string(np.asarray(a), precision=3, separator=", ")


# ----------------------------------------------------------------------------- 01.neuron
def _neuron_case(x, w, b, act: str) -> Case:
    return Case(f"x={_fmt(x)}, w={_fmt(w)}, b={b:g}, activation={act}", (x, w, b, Fn(act)))


def _neuron_public(rng):
    return [
        _neuron_case(np.array([1.0, 2.0]), np.array([0.5, -0.25]), 0.0, "identity"),
        _neuron_case(np.array([1.0, 2.0, 3.0]), np.array([0.2, -0.4, 0.1]), 0.5, "sigmoid"),
        _neuron_case(np.array([2.0, -1.0]), np.array([-1.0, 1.0]), 0.5, "relu"),
        _neuron_case(np.array([0.5, 1.5, -2.0]), np.array([1.0, 0.5, 0.25]), -0.3, "tanh"),
    ]


def _neuron_hidden(rng):
    # No hidden case may be passed by an answer that ignores the inputs (a constant 0): the ReLU neuron fires.
    cases = []
    for d, act in [(1, "sigmoid"), (5, "tanh"), (8, "identity"), (3, "relu")]:
        x, w, b = rng.normal(size=d), rng.normal(size=d), float(rng.normal()) + 0.5
        if act == "relu" and np.dot(w, x) + b <= 0:
            w, b = -w, abs(b)
        label = f"{d} random input{'s' if d > 1 else ''}, activation={act}"
        cases.append(Case(label, (x, w, b, Fn(act))))
    return cases


NEURON = Exercise(
    id="01.neuron",
    title="A single neuron",
    points=2,
    reference=neurons.neuron,
    public_cases=_neuron_public,
    hidden_cases=_neuron_hidden,
    compare=compare_number(),  # rtol 1e-7: float64 arithmetic in any order passes
    hints=[
        "A neuron first computes one number z = w1*x1 + w2*x2 + ... + b, then returns activation(z).",
        "The weighted sum is a dot product: np.dot(w, x) (or w @ x). Add b after the sum, once.",
        "return activation(np.dot(w, x) + b)",
    ],
    mistakes=[
        Mistake("forgot the bias", "z must include + b before the activation.",
                lambda x, w, b, act: float(act(np.dot(w, x)))),
        Mistake("bias added after the activation", "add b to the weighted sum, then apply the activation.",
                lambda x, w, b, act: float(act(np.dot(w, x)) + b)),
        Mistake("forgot the activation", "return activation(z), not z itself.",
                lambda x, w, b, act: float(np.dot(w, x) + b)),
        Mistake("no sum over the inputs", "w * x multiplies element by element; sum it (np.dot) to get one number.",
                lambda x, w, b, act: act(w * x + b)),
    ],
)


# ----------------------------------------------------------------------------- 01.dense_forward
def _dense_case(rng, n, d_in, d_out) -> Case:
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    return Case(f"X of shape {X.shape}, W {W.shape}, b {b.shape}", (X, W, b))


def _dense_public(rng):
    return [_dense_case(rng, 4, 3, 2), _dense_case(rng, 3, 3, 3), _dense_case(rng, 1, 5, 2)]


def _dense_hidden(rng):
    return [_dense_case(rng, n, d_in, d_out) for n, d_in, d_out in [(7, 4, 4), (2, 784, 16), (16, 1, 3), (5, 6, 1)]]


DENSE_FORWARD = Exercise(
    id="01.dense_forward",
    title="A dense layer over a batch",
    points=3,
    reference=neurons.dense_forward,
    public_cases=_dense_public,
    hidden_cases=_dense_hidden,
    compare=compare_array(),  # rtol 1e-6, atol 1e-8: any order of the float64 sums passes; float32 is 1e-7 per step
    hints=[
        "Each row of X is one example; each column of W holds the weights of one neuron.",
        "Shapes: (N, d_in) @ (d_in, d_out) gives (N, d_out); then add b, which broadcasts over the rows.",
        "return X @ W + b",
    ],
    mistakes=[
        Mistake("`W @ X` instead of `X @ W`", "examples are rows of X, so the product is X @ W with shapes "
                "(N, d_in) @ (d_in, d_out).", lambda X, W, b: W @ X + b),
        Mistake("forgot the bias", "add b after the matrix product.", lambda X, W, b: X @ W),
        Mistake("transposed weights", "W already has shape (d_in, d_out): use W, not W.T.",
                lambda X, W, b: X @ W.T + b),
        Mistake("element-wise product", "`*` multiplies element by element; a layer needs the matrix product `@`.",
                lambda X, W, b: X * W + b),
    ],
)


# ----------------------------------------------------------------------------- 01.count_dense_params
def _count_case(sizes) -> Case:
    # An input layer alone has 0 parameters: wrong counters that forget the biases pass it too, so it counts less.
    return Case(f"layer sizes {'-'.join(str(s) for s in sizes)}", (list(sizes),), weight=0.25 if len(sizes) < 2 else 1)


def _count_public(rng):
    return [_count_case(s) for s in ([3, 4, 1], [784, 16, 16, 10], [2, 1], [4])]


def _count_hidden(rng):
    layers = [[int(s) for s in rng.integers(1, 60, size=rng.integers(2, 7))] for _ in range(6)] + [[784, 10]]
    return [Case(f"a random network of {len(sizes)} layers", (sizes,)) for sizes in layers]


def _weights_only(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


COUNT_DENSE_PARAMS = Exercise(
    id="01.count_dense_params",
    title="Counting the parameters of a dense network",
    points=3,
    reference=neurons.count_dense_params,
    public_cases=_count_public,
    hidden_cases=_count_hidden,
    compare=compare_int,  # exact: a count
    hints=[
        "Go layer by layer, from each layer to the next: zip(layer_sizes[:-1], layer_sizes[1:]).",
        "A layer with d_in inputs and d_out neurons has d_in * d_out weights and d_out biases.",
        "The input layer only holds the features: it has no weights and no biases. 3-4-1 gives 21.",
    ],
    mistakes=[
        Mistake("forgot the biases", "every neuron after the input layer has one bias: add d_out per layer.",
                _weights_only),
        Mistake("gave the input layer biases", "the input layer has no weights and no biases; "
                "count biases for layer_sizes[1:] only.", lambda s: _weights_only(s) + sum(s)),
        Mistake("counted neurons, not parameters", "count the connections (weights) and biases, not the units.",
                lambda s: sum(s)),
        Mistake("counted the input layer as having weights", "the input layer has no incoming weights; "
                "start at the first hidden layer.", lambda s: neurons.count_dense_params(s) + s[0] * s[0]),
    ],
)


# ----------------------------------------------------------------------------- 01.output_layer
def _output_public(rng):
    return [Case("task='binary'", ("binary",)), Case("task='multiclass', n_classes=10", ("multiclass", 10)),
            Case("task='regression'", ("regression",)), Case("task='binary', n_classes=2", ("binary", 2))]


def _output_hidden(rng):
    few, many = int(rng.integers(3, 10)), int(rng.integers(11, 1000))  # drawn from the course's secret
    return [Case(f"task='multiclass', n_classes={few}", ("multiclass", few)),
            Case("task='regression', n_classes=1", ("regression", 1)),
            Case(f"task='multiclass', n_classes={many}", ("multiclass", many))]


OUTPUT_LAYER = Exercise(
    id="01.output_layer",
    title="The output layer for a task",
    points=2,
    reference=neurons.output_layer,
    public_cases=_output_public,
    hidden_cases=_output_hidden,
    compare=TupleOf([ExactInt(), Equal()]),  # (units, activation)
    hints=[
        "Ask: what should the network output? One probability, K probabilities, or any real number?",
        "binary -> 1 unit, multiclass -> n_classes units, regression -> 1 unit. "
        "Activations: 'sigmoid', 'softmax' or 'linear'.",
    ],
    mistakes=[
        Mistake("sigmoid for several classes", "K classes need a softmax so the K outputs sum to 1.",
                lambda task, n=None: (n, "sigmoid") if task == "multiclass" else neurons.output_layer(task, n)),
        Mistake("two softmax units for a binary task", "this course uses one sigmoid unit for a binary task.",
                lambda task, n=None: (2, "softmax") if task == "binary" else neurons.output_layer(task, n)),
        Mistake("an activation on a regression output", "a regression output must be able to take any value: "
                "use 'linear'.",
                lambda task, n=None: (1, "relu") if task == "regression" else neurons.output_layer(task, n)),
        Mistake("n_classes units for every task", "binary and regression tasks have a single output unit.",
                lambda task, n=None: (n or 1, neurons.OUTPUT_LAYERS[task])),
    ],
)

EXERCISES = [NEURON, DENSE_FORWARD, COUNT_DENSE_PARAMS, OUTPUT_LAYER]
