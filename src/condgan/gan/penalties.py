"""Regularisers: D's gradient and consistency penalties, on ``score(images, labels) -> (B,)`` as D is called in
training, and G's mode-seeking term."""

from collections.abc import Callable

import torch

from condgan.gan.augment import random_shifts

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


def consistency_penalty(
    score: ScoreFn, images: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor
) -> torch.Tensor:
    """bCR (Zhao et al. 2021): E[(D(x) − D(T(x)))²], with ``scores`` = D(x) already computed and T a shift of
    each image by up to an eighth of its side (edges repeated, so any background works). D learns that a
    digit moved by a few pixels is as real as the digit itself, instead of memorising where strokes sit."""
    shift = images.shape[-1] // 8
    shifted = random_shifts(images.detach(), shift, shift, fill=None)
    return (score(shifted, labels) - scores).pow(2).mean()


def same_label_partners(labels: torch.Tensor) -> torch.Tensor:
    """For each i, another index j with labels[j] == labels[i] (the next one of its label, wrapping round);
    i itself when it is the only one of its label. (B,) → (B,)."""
    order = labels.argsort(stable=True)  # positions grouped by label
    grouped = labels[order]
    position = torch.arange(len(labels), device=labels.device)
    starts_group = torch.ones_like(grouped, dtype=torch.bool)
    starts_group[1:] = grouped[1:] != grouped[:-1]
    group_start = torch.where(starts_group, position, 0).cummax(dim=0).values
    following = (position + 1).clamp(max=len(labels) - 1)
    same_next = (position + 1 < len(labels)) & (grouped[following] == grouped)
    partner = order[torch.where(same_next, following, group_start)]
    result = torch.empty_like(order)
    result[order] = partner
    return result


def mode_seeking_loss(noise: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): 1 / (mean|G(z1) − G(z2)| / mean|z1 − z2| + ε) over pairs of fakes of one label.

    G lowers it by making two noises of a label draw different images, against the collapse of a class to
    one style. Pairs are formed inside the batch (``same_label_partners``); lone labels are left out.
    """
    partner = same_label_partners(labels)
    paired = partner != torch.arange(len(labels), device=labels.device)
    if not paired.any():
        return fake.sum() * 0  # keeps the graph: nothing to compare in this batch
    image_gap = (fake[paired] - fake[partner[paired]]).abs().flatten(1).mean(dim=1)  # (P,)
    noise_gap = (noise[paired] - noise[partner[paired]]).abs().mean(dim=1)  # (P,)
    return (1 / (image_gap / noise_gap + eps)).mean()
