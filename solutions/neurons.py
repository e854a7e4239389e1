"""Neurons, dense layers and parameter counting (notebook 01).

A neuron computes a weighted sum of its inputs plus a bias, then applies an activation.
A dense layer does this for many neurons and many examples at once with one matrix product.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def neuron(x: np.ndarray, w: np.ndarray, b: float, activation: Callable[[float], float]) -> float:
    """One neuron: ``activation(w . x + b)``.

    x: (d,) inputs, w: (d,) weights, b: scalar bias; returns a scalar.
    """
    z = np.dot(w, x) + b  # z = sum_i w_i x_i + b
    return float(activation(z))


def dense_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A dense (fully connected) layer over a batch, before its activation.

    X: (N, d_in), W: (d_in, d_out), b: (d_out,)  ->  (N, d_out).
    Row n of the result is ``X[n] @ W + b``: one neuron per column of W.
    """
    return X @ W + b  # (N, d_in) @ (d_in, d_out) + (d_out,) broadcast over the N rows


def count_dense_params(layer_sizes: Sequence[int]) -> int:
    """Weights and biases of a fully connected network with the given layer sizes.

    ``layer_sizes = [d_0, d_1, ..., d_L]`` starts with the input layer, which has no weights.
    Layer l has ``d_{l-1} * d_l`` weights and ``d_l`` biases: [3, 4, 1] -> 12 + 4 + 4 + 1 = 21.
    """
    sizes = [int(s) for s in layer_sizes]
    return sum(d_in * d_out + d_out for d_in, d_out in zip(sizes[:-1], sizes[1:]))


OUTPUT_LAYERS = {
    "binary": "sigmoid",      # one unit: P(class 1)
    "multiclass": "softmax",  # K units: a probability for each class, summing to 1
    "regression": "linear",   # one unit: any real number
}


def output_layer(task: str, n_classes: int | None = None) -> tuple[int, str]:
    """The output layer for a task: ``(number of units, activation)``.

    binary -> (1, "sigmoid"); multiclass with K classes -> (K, "softmax"); regression -> (1, "linear").
    """
    if task not in OUTPUT_LAYERS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(OUTPUT_LAYERS)}")
    units = n_classes if task == "multiclass" else 1
    return units, OUTPUT_LAYERS[task]
