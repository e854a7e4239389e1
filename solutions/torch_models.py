"""The PyTorch models of notebooks 08-11, small enough to train on a CPU in seconds.

    MLP                  dense layers with ReLU: (N, D) -> (N, K) logits
    SmallCNN             two conv-ReLU-maxpool blocks + a linear layer: (N, C, H, W) -> (N, K)
    SequenceClassifier   nn.RNN / nn.GRU / nn.LSTM over time, linear layer on the last
                         hidden state: (N, T, D) -> (N, K)
    fold_time / unfold_time   (B, T, C, H, W) <-> (B*T, C, H, W): run a per-frame CNN on a
                         batch of videos in one call
    FrameCNN             per-frame feature extractor: (N, C, S, S) -> (N, F)
    LRCN                 FrameCNN on every frame, nn.LSTM across frames, linear layer on the
                         last step (Donahue et al., "Long-term Recurrent Convolutional
                         Networks", 2015): (B, T, C, S, S) -> (B, K)
    PerFrameClassifier   the same FrameCNN + a linear layer on EACH frame, logits averaged
                         over time: the baseline that cannot see motion
    count_parameters     sum of ``p.numel()`` over a model's parameters

All models return logits (no softmax): ``nn.CrossEntropyLoss`` applies log-softmax itself.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "MLP",
    "SmallCNN",
    "SequenceClassifier",
    "fold_time",
    "unfold_time",
    "FrameCNN",
    "LRCN",
    "PerFrameClassifier",
    "count_parameters",
]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters: ``sum(p.numel() for p in model.parameters())``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class MLP(nn.Module):
    """Affine -> ReLU for each hidden size, then an affine output layer.

    ``x: (N, in_features)`` (or any (N, ...) that flattens to it) -> logits ``(N, num_classes)``.
    784-16-16-10 has 784*16+16 + 16*16+16 + 16*10+10 = 13,002 parameters.
    """

    def __init__(self, in_features: int, hidden=(16, 16), num_classes: int = 10):
        super().__init__()
        layers, d = [nn.Flatten()], in_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        layers.append(nn.Linear(d, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv (padding 1 keeps H, W) -> ReLU -> 2x2 max pool (halves H, W)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2))


def _conv_stack(in_channels: int, channels) -> nn.Sequential:
    blocks, c = [], in_channels
    for c_out in channels:
        blocks.append(_conv_block(c, c_out))
        c = c_out
    return nn.Sequential(*blocks)


def _side_after_blocks(image_size: int, channels) -> int:
    """Side of the feature map after ``len(channels)`` blocks, each halving it (floor)."""
    side = image_size // 2 ** len(channels)
    if side < 1:
        raise ValueError(f"image_size {image_size} is too small for {len(channels)} blocks")
    return side


class SmallCNN(nn.Module):
    """[conv3x3 -> ReLU -> maxpool2] x len(channels) -> flatten -> linear.

    ``x: (N, in_channels, image_size, image_size)`` -> logits ``(N, num_classes)``.
    Each block halves the side (floor), so after the blocks the map is
    ``channels[-1] x s x s`` with ``s = image_size // 2**len(channels)``
    (8 -> 2 and 28 -> 7 with the default two blocks).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 8,
                 channels=(16, 32)):
        super().__init__()
        side = _side_after_blocks(image_size, channels)
        self.features = _conv_stack(in_channels, channels)
        self.classifier = nn.Sequential(nn.Flatten(),
                                        nn.Linear(channels[-1] * side * side, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class SequenceClassifier(nn.Module):
    """A recurrent layer over time, then a linear layer on the LAST hidden state.

    ``x: (N, T, input_dim)`` (batch first) -> logits ``(N, num_classes)``.
    ``cell`` is ``'rnn'`` (tanh), ``'gru'`` or ``'lstm'``. Parameters of the recurrent
    layer (one layer, PyTorch's two bias vectors): gates * (H*(D+H) + 2H) with
    gates = 1 (RNN), 3 (GRU), 4 (LSTM).
    """

    def __init__(self, input_dim: int, hidden_dim: int, num_classes: int, cell: str = "lstm",
                 num_layers: int = 1):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.rnn = _CELLS[cell](input_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)             # out: (N, T, H), the top layer's hidden state h_t
        return self.head(out[:, -1])     # classify from h_T


def fold_time(x: torch.Tensor) -> torch.Tensor:
    """``(B, T, C, H, W) -> (B*T, C, H, W)``; frame ``t`` of video ``b`` lands at row ``b*T + t``."""
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def unfold_time(y: torch.Tensor, B: int, T: int) -> torch.Tensor:
    """Inverse of ``fold_time`` on any per-frame output: ``(B*T, ...) -> (B, T, ...)``."""
    if y.shape[0] != B * T:
        raise ValueError(f"first dimension {y.shape[0]} is not B*T = {B}*{T}")
    return y.reshape(B, T, *y.shape[1:])


class FrameCNN(nn.Module):
    """Per-frame features: conv blocks -> flatten -> linear -> ReLU.

    ``x: (N, in_channels, image_size, image_size)`` -> ``(N, feature_dim)``. The flatten
    keeps WHERE things are in the frame (no global pooling), which the LRCN needs to see
    motion.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 16, channels=(8, 16),
                 feature_dim: int = 64):
        super().__init__()
        side = _side_after_blocks(image_size, channels)
        self.features = _conv_stack(in_channels, channels)
        self.project = nn.Sequential(nn.Flatten(),
                                     nn.Linear(channels[-1] * side * side, feature_dim),
                                     nn.ReLU())
        self.feature_dim = feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.features(x))


class LRCN(nn.Module):
    """CNN features per frame -> LSTM across frames -> linear layer on the last step.

    ``x: (B, T, C, S, S)`` -> logits ``(B, num_classes)``:
    fold time into the batch, run ``FrameCNN`` once on all ``B*T`` frames, unfold to
    ``(B, T, F)``, run ``nn.LSTM`` (batch first) and classify ``h_T``.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 16, num_classes: int = 4,
                 channels=(8, 16), feature_dim: int = 64, hidden_dim: int = 32):
        super().__init__()
        self.cnn = FrameCNN(in_channels, image_size, channels, feature_dim)
        self.lstm = nn.LSTM(feature_dim, hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        feats = unfold_time(self.cnn(fold_time(x)), B, T)   # (B, T, F)
        out, _ = self.lstm(feats)                            # (B, T, H)
        return self.head(out[:, -1])                         # (B, K)


class PerFrameClassifier(nn.Module):
    """The same FrameCNN + a linear layer on each frame; logits averaged over time.

    ``x: (B, T, C, S, S)`` -> logits ``(B, num_classes)`` = mean_t head(cnn(x[:, t])).
    The mean does not depend on the order of the frames, so a video and the same video
    played backwards get the same logits: this model cannot tell left from right.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 16, num_classes: int = 4,
                 channels=(8, 16), feature_dim: int = 64):
        super().__init__()
        self.cnn = FrameCNN(in_channels, image_size, channels, feature_dim)
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[:2]
        logits = unfold_time(self.head(self.cnn(fold_time(x))), B, T)  # (B, T, K)
        return logits.mean(dim=1)
