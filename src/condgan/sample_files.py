"""Samples as files (NPZ arrays, PNG grids, GIF animations) and ``generate``/``generate_walk``, generate.py's work."""

import io
from pathlib import Path

import numpy as np
import torch

from condgan.atomic import atomic_write_bytes
from condgan.checkpoint import load_generator
from condgan.images import gif_bytes, image_grid, near_square_columns, png_bytes, row_frames
from condgan.sampling import latent_walk, sample, sample_per_class

SAMPLE_FORMATS = (".npz", ".png", ".gif")


def save_samples(path: Path, images: torch.Tensor, labels: torch.Tensor, n_cols: int) -> None:
    """Write uint8 images (N, C, H, W) atomically, the format chosen by the extension.

    ``.npz``: arrays ``images`` (uint8 N×C×H×W) and ``labels`` (int64 N). ``.png``: a grid, ``n_cols`` per row.
    ``.gif``: one frame per row of that grid.
    """
    check_sample_format(path)
    if path.suffix == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images.numpy(), labels=labels.numpy())
        atomic_write_bytes(path, buffer.getvalue())
    elif path.suffix == ".gif":
        atomic_write_bytes(path, gif_bytes(row_frames(images.numpy(), n_cols)))
    else:
        atomic_write_bytes(path, png_bytes(image_grid(images.numpy(), n_cols)))


def check_sample_format(path: Path) -> None:
    if path.suffix not in SAMPLE_FORMATS:
        raise ValueError(
            f"unknown output extension {path.suffix or '(none)'!r} in out={path}: use out=<name>.npz for arrays, "
            "out=<name>.png for a picture or out=<name>.gif for an animation (one frame per row)"
        )


def check_label(label: int | None) -> None:
    if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
        raise ValueError(f"label must be a class number, got label={label!r}")


def generate(
    ckpt_path: str | Path,
    out: str | Path,
    label: int | None = None,
    n: int = 16,
    n_per_class: int = 1000,
    seed: int = 0,
    batch_size: int = 1000,
    truncation: float | None = None,
) -> Path:
    """Sample a training checkpoint's generator into ``out`` (.npz, .png or .gif); returns the path written.

    ``label`` given: ``n`` images of that class (a near-square grid as PNG). ``label`` None:
    ``n_per_class`` images of every class in label order (one row per class as PNG).
    """
    out = Path(out)
    check_sample_format(out)  # before the sampling work, not after it
    check_label(label)
    if label is not None and n < 1:
        raise ValueError(f"n must be at least 1, got n={n}")
    generator, _ = load_generator(ckpt_path)
    if label is None:
        images, labels = sample_per_class(generator, n_per_class, seed, batch_size, truncation)
        n_cols = n_per_class
    else:
        labels = torch.full((n,), label)
        images, n_cols = sample(generator, labels, seed, batch_size, truncation), near_square_columns(n)
    save_samples(out, images, labels, n_cols)
    return out


def generate_walk(
    ckpt_path: str | Path,
    out: str | Path,
    seed: int,
    seed_to: int | None,
    steps: int = 16,
    label: int | None = None,
    truncation: float | None = None,
    batch_size: int = 1000,
) -> Path:
    """A latent walk from ``seed`` to ``seed_to`` into ``out``; returns the path written.

    Each of the ``steps`` rows shows every class (or just ``label``) at one point of the walk. ``.gif``: one
    frame per row; ``.png``: all rows in one grid; ``.npz``: the images step-major, with their labels.
    """
    out = Path(out)
    check_sample_format(out)
    check_label(label)
    if seed_to is None:
        raise ValueError(
            f"interpolate=true walks from seed to seed_to: pass seed_to=<another seed>, e.g. seed_to={seed + 1}"
        )
    generator, _ = load_generator(ckpt_path)
    row = torch.arange(generator.num_classes) if label is None else torch.tensor([label])
    images, labels = latent_walk(generator, row, seed, seed_to, steps, truncation, batch_size)
    save_samples(out, images, labels, n_cols=len(row))
    return out
