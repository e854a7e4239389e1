"""Shared helpers for comparing the NumPy reference library with PyTorch in float64."""
import numpy as np
import torch

RTOL = ATOL = 1e-10


def t(x, grad=False):
    """A float64 tensor from a NumPy array (or number), optionally tracking gradients."""
    return torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=grad)


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
