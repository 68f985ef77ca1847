"""Drawing images from a generator: class grids for callbacks, seeded sample sets for metrics and files."""

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.io import encode_png
from torchvision.utils import make_grid

from condgan.atomic import atomic_write_bytes
from condgan.checkpoint import load_generator

SAMPLE_FORMATS = (".npz", ".png")


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) floats in [-1, 1] → uint8 in [0, 255]."""
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` in eval mode (batch norm with running statistics), then restore the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@torch.no_grad()
def class_grid(generator: nn.Module, noise: torch.Tensor, num_classes: int, padding: int = 2) -> torch.Tensor:
    """A uint8 grid (C, H', W'): row k holds class k, column j uses noise[j] in every row.

    ``noise`` is (n_cols, Z). The generator is run in eval mode and left in the mode it was in.
    """
    n_cols = len(noise)
    device = next(generator.parameters()).device
    z = noise.to(device).repeat(num_classes, 1)  # (num_classes * n_cols, Z), row-major
    labels = torch.arange(num_classes, device=device).repeat_interleave(n_cols)
    with eval_mode(generator):
        images = generator(z, labels)
    return make_grid(to_uint8(images).cpu(), nrow=n_cols, padding=padding)


@torch.no_grad()
def sample(generator: nn.Module, labels: torch.Tensor, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
    """uint8 images (N, C, H, W) on CPU, one per label in ``labels`` (N,), in eval mode.

    The noise (N, Z) is drawn at once from its own seeded CPU generator: the images depend only on the
    weights, the labels and the seed (not on device, batch size or the global RNG, which stays untouched).
    """
    if len(labels) == 0:
        raise ValueError("nothing to sample: ask for at least one image")
    num_classes = generator.num_classes
    if labels.min() < 0 or labels.max() >= num_classes:
        outside = sorted({int(y) for y in labels if not 0 <= y < num_classes})
        raise ValueError(f"label {outside[0]} is outside the model's classes: pick a label in 0..{num_classes - 1}")
    device = next(generator.parameters()).device
    noise = torch.randn(len(labels), generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    with eval_mode(generator):
        batches = [
            to_uint8(generator(z.to(device), y.to(device))).cpu()
            for z, y in zip(noise.split(batch_size), labels.split(batch_size))
        ]
    return torch.cat(batches)


def sample_per_class(
    generator: nn.Module, n_per_class: int, seed: int = 0, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_per_class`` images of every class in label order: uint8 (K·n, C, H, W) and int64 labels (K·n,)."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    labels = torch.arange(generator.num_classes).repeat_interleave(n_per_class)
    return sample(generator, labels, seed, batch_size), labels


def save_samples(path: Path, images: torch.Tensor, labels: torch.Tensor, n_cols: int) -> None:
    """Write uint8 images (N, C, H, W) atomically, the format chosen by the extension.

    ``.npz``: arrays ``images`` (uint8 N×C×H×W) and ``labels`` (int64 N). ``.png``: a grid, ``n_cols`` per row.
    """
    check_sample_format(path)
    if path.suffix == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images.numpy(), labels=labels.numpy())
        atomic_write_bytes(path, buffer.getvalue())
    else:
        atomic_write_bytes(path, encode_png(make_grid(images, nrow=n_cols)).numpy().tobytes())


def check_sample_format(path: Path) -> None:
    if path.suffix not in SAMPLE_FORMATS:
        raise ValueError(
            f"unknown output extension {path.suffix or '(none)'!r} in out={path}: "
            "use out=<name>.npz for arrays or out=<name>.png for a picture"
        )


def generate(
    ckpt_path: str | Path,
    out: str | Path,
    label: int | None = None,
    n: int = 16,
    n_per_class: int = 1000,
    seed: int = 0,
    batch_size: int = 1000,
) -> Path:
    """Sample a training checkpoint's generator into ``out`` (.npz or .png); returns the path written.

    ``label`` given: ``n`` images of that class (a near-square grid as PNG). ``label`` None:
    ``n_per_class`` images of every class in label order (one row per class as PNG).
    """
    out = Path(out)
    check_sample_format(out)  # before the sampling work, not after it
    if label is not None and not isinstance(label, int):
        raise ValueError(f"label must be a class number, got label={label!r}")
    if label is not None and n < 1:
        raise ValueError(f"n must be at least 1, got n={n}")
    generator, _ = load_generator(ckpt_path)
    if label is None:
        images, labels = sample_per_class(generator, n_per_class, seed, batch_size)
        n_cols = n_per_class
    else:
        labels = torch.full((n,), label)
        images, n_cols = sample(generator, labels, seed, batch_size), math.ceil(math.sqrt(n))
    save_samples(out, images, labels, n_cols)
    return out
