"""Turning generator outputs into pictures: one place for grids, used by callbacks and commands."""

import torch
from torch import nn
from torchvision.utils import make_grid


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) floats in [-1, 1] → uint8 in [0, 255]."""
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


@torch.no_grad()
def class_grid(generator: nn.Module, noise: torch.Tensor, num_classes: int, padding: int = 2) -> torch.Tensor:
    """A uint8 grid (C, H', W'): row k holds class k, column j uses noise[j] in every row.

    ``noise`` is (n_cols, Z). The generator is run in eval mode and left in the mode it was in.
    """
    n_cols = len(noise)
    device = next(generator.parameters()).device
    z = noise.to(device).repeat(num_classes, 1)  # (num_classes * n_cols, Z), row-major
    labels = torch.arange(num_classes, device=device).repeat_interleave(n_cols)
    was_training = generator.training
    generator.eval()
    try:
        images = generator(z, labels)
    finally:
        generator.train(was_training)
    return make_grid(to_uint8(images).cpu(), nrow=n_cols, padding=padding)
