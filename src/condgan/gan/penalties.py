"""Penalties: D's gradient and consistency penalties, on ``score(images, labels) -> (B,)`` as D is called in
training, D's LeCam term on its scores, and G's mode-seeking term; each as a function, and as a ``Penalty`` object
that holds its weight and interval (``model.penalties``, config group ``penalty``), as StyleGAN2's loss holds
``r1_gamma``."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

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


def lecam_penalty(
    d_real: torch.Tensor, d_fake: torch.Tensor, anchor_real: torch.Tensor, anchor_fake: torch.Tensor
) -> torch.Tensor:
    """LeCam (Tseng et al. 2021): E[relu(D(x) − α_fake)²] + E[relu(α_real − D(G(z)))²], the anchors α moving
    averages of D's mean scores. D may not push a real's score above where fakes sit on average (nor a fake's
    below the reals'), so it cannot widen the gap by memorising a small training set."""
    return F.relu(d_real - anchor_fake).pow(2).mean() + F.relu(anchor_real - d_fake).pow(2).mean()


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


@dataclass(frozen=True)
class DiscriminatorBatch:
    """What D's penalties see: ``score(images, labels) -> (B,)`` as D is called in training, the batch's reals and
    fakes (B, C, H, W) of ``labels`` (B,), and D's scores of both (B,)."""

    score: ScoreFn
    real: torch.Tensor
    fake: torch.Tensor
    labels: torch.Tensor
    d_real: torch.Tensor
    d_fake: torch.Tensor


@dataclass(frozen=True)
class GeneratorBatch:
    """What G's penalties see: the noise (B, Z) and labels (B,) that drew the fakes (B, C, H, W)."""

    noise: torch.Tensor
    fake: torch.Tensor
    labels: torch.Tensor


class Penalty:
    """A term added to D's (``network = "discriminator"``) or G's loss: ``weight`` × its value, logged as
    ``train/<name>``. ``every=n`` regularises lazily (StyleGAN2): on every n-th batch only, at n times the weight."""

    name: str
    network: str

    def __init__(self, weight: float, every: int = 1):
        if weight < 0:
            raise ValueError(f"a {type(self).__name__}'s weight must be >= 0, got {weight}")
        if every < 1:
            raise ValueError(f"a {type(self).__name__}'s every must be >= 1, got {every}")
        self.weight, self.every = weight, every

    def due(self, batches_trained: int) -> bool:
        return self.weight > 0 and batches_trained % self.every == 0

    def scaled(self, value: torch.Tensor) -> torch.Tensor:
        return self.weight * self.every * value

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight}, every={self.every})"


class R1(Penalty):
    """R1 on real images, ``gamma`` × ½ E‖∇D(x)‖² (StyleGAN2's ``r1_gamma``); ``every`` for lazy R1."""

    name, network = "r1", "discriminator"

    def __init__(self, gamma: float, every: int = 1):
        super().__init__(gamma, every)

    def __call__(self, batch: DiscriminatorBatch) -> torch.Tensor:
        return r1_penalty(batch.score, batch.real, batch.labels)


class GradientPenalty(Penalty):
    """WGAN-GP: ``weight`` × E[(‖∇D(x̂)‖ − 1)²] on interpolates of reals and fakes (10 with WassersteinLoss)."""

    name, network = "gp", "discriminator"

    def __call__(self, batch: DiscriminatorBatch) -> torch.Tensor:
        return gradient_penalty(batch.score, batch.real, batch.fake, batch.labels)


class Consistency(Penalty):
    """bCR: D's scores of shifted reals and fakes should equal those of the originals (10 in Zhao et al.)."""

    name, network = "cr", "discriminator"

    def __call__(self, batch: DiscriminatorBatch) -> torch.Tensor:
        real = consistency_penalty(batch.score, batch.real, batch.labels, batch.d_real)
        return real + consistency_penalty(batch.score, batch.fake, batch.labels, batch.d_fake)


class LeCam(Penalty):
    """LeCam on D (0.3 in Tseng et al. for BigGAN on CIFAR): ``weight`` × ``lecam_penalty`` against anchors that
    move by ``decay`` per batch it is due, starting at the first batch's mean scores. The anchors are state: the
    model saves them in its checkpoints (``state_dict``), so a resumed run continues them."""

    name, network = "lecam", "discriminator"

    def __init__(self, weight: float, decay: float = 0.99, every: int = 1):
        super().__init__(weight, every)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"a LeCam's decay must be >= 0 and < 1 (e.g. 0.99), got {decay}")
        self.decay = decay
        self.anchors: torch.Tensor | None = None  # (2,): D's mean scores of reals and of fakes, averaged

    def __call__(self, batch: DiscriminatorBatch) -> torch.Tensor:
        d_real, d_fake = batch.d_real.float(), batch.d_fake.float()
        means = torch.stack([d_real.mean(), d_fake.mean()]).detach()  # on D's device: no sync with the host
        if self.anchors is None:
            self.anchors = means
        else:
            self.anchors = torch.lerp(means, self.anchors.to(means.device), self.decay)
        return lecam_penalty(d_real, d_fake, self.anchors[0], self.anchors[1])

    def state_dict(self) -> dict[str, float]:
        if self.anchors is None:
            return {}
        real, fake = self.anchors.tolist()
        return {"anchor_real": real, "anchor_fake": fake}

    def load_state_dict(self, state: dict) -> None:
        """Plain numbers only (a checkpoint is data): anything else is refused in one line."""
        if not state:
            self.anchors = None
            return
        values = [state.get("anchor_real"), state.get("anchor_fake")]
        if set(state) != {"anchor_real", "anchor_fake"} or not all(isinstance(v, float) for v in values):
            raise ValueError(f"a LeCam's saved state must be two numbers, anchor_real and anchor_fake; got {state!r}")
        self.anchors = torch.tensor(values)


class ModeSeeking(Penalty):
    """MSGAN, on G: two noises of one label should draw different images (1 in Mao et al.)."""

    name, network = "ms", "generator"

    def __call__(self, batch: GeneratorBatch) -> torch.Tensor:
        return mode_seeking_loss(batch.noise, batch.fake, batch.labels)
