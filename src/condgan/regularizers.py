"""Discriminator gradient penalties, on ``score(images, labels) -> (B,)`` as D is called in training."""

from collections.abc import Callable

import torch

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def gradient_penalty(score: ScoreFn, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇D(x̂)‖ − 1)²] on random interpolates x̂ of real and fake.

    ``real`` and ``fake`` are pairs of the same ``labels``, so each interpolate has a well-defined label.
    """
    alpha = torch.rand(len(real), *([1] * (real.ndim - 1)), device=real.device)  # (B, 1, 1, 1)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(score(mixed, labels).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(score: ScoreFn, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ½ E[‖∇D(x)‖²] on real data; the model multiplies it by γ."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(real, labels).sum(), real, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()
