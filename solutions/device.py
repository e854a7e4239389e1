"""Choosing where PyTorch computes: the GPU when there is one, the CPU otherwise.

This is d2l's ``try_gpu`` idea (``d2l/torch.py``): one helper picks the device, every
PyTorch model and training loop in the course asks it, so the same notebook runs on a
laptop without a GPU and on a machine with one.

    device = try_gpu()          # cuda:0 when CUDA is present, else cpu
    model.to(device); X = X.to(device)
"""
import torch

__all__ = ["try_gpu", "describe_device"]


def try_gpu(i: int = 0) -> torch.device:
    """Return ``cuda:i`` if CUDA is available and has a GPU number ``i``, else ``cpu``."""
    if torch.cuda.is_available() and torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def describe_device(device: torch.device | str | None = None) -> str:
    """One line saying which device computes, e.g. ``'cuda:0 (NVIDIA H100, 79.1 GiB)'``.

    ``device`` defaults to ``try_gpu()``. Only reads information; allocates nothing.
    """
    device = torch.device(device) if device is not None else try_gpu()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        gib = props.total_memory / 2**30
        return f"cuda:{index} ({props.name}, {gib:.1f} GiB, torch {torch.__version__})"
    return f"{device} ({torch.get_num_threads()} CPU threads, torch {torch.__version__})"
