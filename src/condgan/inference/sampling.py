"""Drawing images from a generator: seeded (optionally truncated) noise, sample sets, latent walks, class grids.

Files (NPZ, PNG, GIF) are written by ``condgan.inference.sample_files``. The noise comes from
``condgan.inference.noise`` (numpy), which the torch-free ONNX server draws from too: a seed gives the same images
in condgan generate, the web service and an exported model.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torchvision.utils import make_grid

from condgan.inference import noise as noise_lib
from condgan.inference.images import to_uint8 as images_to_uint8


def to_uint8_tensor(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) floats in [-1, 1] → uint8 in [0, 255] on the CPU (``condgan.inference.images.to_uint8``)."""
    return torch.from_numpy(images_to_uint8(images.float().cpu().numpy()))


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` in eval mode (batch norm with running statistics), then restore the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def latent_noise_tensor(n: int, latent_dim: int, seed: int = 0, truncation: float | None = None) -> torch.Tensor:
    """(n, latent_dim) float32 standard normal noise of ``inference.noise.latent_noise`` (the global RNG untouched).

    ``truncation=t``: every value with |z| > t is drawn again until all lie within [-t, t] (the truncation
    trick: cleaner, less varied images). The same seed and truncation always give the same noise, with or
    without torch (the ONNX server draws the same numbers).
    """
    return torch.from_numpy(noise_lib.latent_noise(n, latent_dim, seed, truncation))


@torch.no_grad()
def render(generator: nn.Module, noise: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """uint8 images (N, C, H, W) on CPU for noise (N, Z) and labels (N,), ``batch_size`` per call, in eval mode.

    The generator is left in the mode it was in. In eval mode an image depends only on its own noise and
    label, so the batch size changes nothing but speed.
    """
    device = next(generator.parameters()).device
    with eval_mode(generator):
        batches = [
            to_uint8_tensor(generator(z.to(device), y.to(device)))
            for z, y in zip(noise.split(batch_size), labels.split(batch_size), strict=True)
        ]
    return torch.cat(batches)


def class_grid(generator: nn.Module, noise: torch.Tensor, num_classes: int, padding: int = 2) -> torch.Tensor:
    """A uint8 grid (C, H', W'): row k holds class k, column j uses noise[j] in every row.

    ``noise`` is (n_cols, Z). The generator is run in eval mode and left in the mode it was in.
    """
    z, labels = (torch.from_numpy(a) for a in noise_lib.class_grid_inputs(noise.cpu().numpy(), num_classes))
    return make_grid(render(generator, z, labels, batch_size=len(z)), nrow=len(noise), padding=padding)


def sample(
    generator: nn.Module,
    labels: torch.Tensor,
    seed: int = 0,
    batch_size: int = 1000,
    truncation: float | None = None,
) -> torch.Tensor:
    """uint8 images (N, C, H, W) on CPU, one per label in ``labels`` (N,), in eval mode.

    The noise (N, Z) is ``latent_noise_tensor(N, Z, seed, truncation)``: the images depend only on the weights, the
    labels, the seed and the truncation (not on device, batch size or the global RNG).
    """
    noise_lib.check_labels(labels, generator.num_classes)
    return render(
        generator, latent_noise_tensor(len(labels), generator.latent_dim, seed, truncation), labels, batch_size
    )


def sample_per_class(
    generator: nn.Module, n_per_class: int, seed: int = 0, batch_size: int = 1000, truncation: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` images of every class in label order: uint8 (K·n, C, H, W) and int64 labels (K·n,)."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    labels = torch.arange(generator.num_classes).repeat_interleave(n_per_class)
    return sample(generator, labels, seed, batch_size, truncation), labels


def interpolate_latents_tensor(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, Z) points from ``start`` to ``end`` (both (Z,)), spherically: ``inference.noise.interpolate_latents``."""
    return torch.from_numpy(noise_lib.interpolate_latents(start.cpu().numpy(), end.cpu().numpy(), steps))
