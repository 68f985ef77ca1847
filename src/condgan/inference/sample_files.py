"""Samples as files (NPZ arrays, PNG grids, GIF animations): ``condgan generate``'s work, from any generator file
that ``condgan.inference.runtime`` loads (.onnx without torch, .ckpt and .safetensors with it)."""

import io
from pathlib import Path

import numpy as np

from condgan.atomic import atomic_write_bytes
from condgan.inference.images import gif_bytes, image_grid, near_square_columns, png_bytes, row_frames
from condgan.inference.noise import check_labels
from condgan.inference.runtime import load_inference_model

SAMPLE_FORMATS = (".npz", ".png", ".gif")


def save_samples(path: Path, images: np.ndarray, labels: np.ndarray, n_cols: int) -> None:
    """Write uint8 images (N, C, H, W) atomically, the format chosen by the extension.

    ``.npz``: arrays ``images`` (uint8 N×C×H×W) and ``labels`` (int64 N). ``.png``: a grid, ``n_cols`` per row.
    ``.gif``: one frame per row of that grid.
    """
    check_sample_format(path)
    if path.suffix == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images, labels=labels.astype(np.int64))
        atomic_write_bytes(path, buffer.getvalue())
    elif path.suffix == ".gif":
        atomic_write_bytes(path, gif_bytes(row_frames(images, n_cols)))
    else:
        atomic_write_bytes(path, png_bytes(image_grid(images, n_cols)))


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
    """Sample a generator file (.ckpt, .onnx or .safetensors) into ``out`` (.npz, .png or .gif); returns the path.

    ``label`` given: ``n`` images of that class (a near-square grid as PNG). ``label`` None:
    ``n_per_class`` images of every class in label order (one row per class as PNG; with several conditions,
    one row per value of the first: emoji_styles' rows are groups, each group's styles side by side).
    """
    out = Path(out)
    check_sample_format(out)  # before the sampling work, not after it
    check_label(label)
    if label is not None and n < 1:
        raise ValueError(f"n must be at least 1, got n={n}")
    if label is None and n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    model = load_inference_model(ckpt_path)
    if label is None:
        classes = np.arange(model.num_classes)
        labels, n_cols = classes.repeat(n_per_class), model.grid_columns(classes, n_per_class)
    else:
        labels, n_cols = np.full(n, label), near_square_columns(n)
    check_labels(labels, model.num_classes)
    save_samples(out, model.images(labels, seed, truncation, batch_size), labels, n_cols)
    return out


def generate_walk(
    ckpt_path: str | Path,
    out: str | Path,
    seed: int,
    seed_to: int | None,
    steps: int = 16,
    label: int | None = None,
    truncation: float | None = None,
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
    model = load_inference_model(ckpt_path)
    row = np.arange(model.num_classes) if label is None else np.array([label])
    check_labels(row, model.num_classes)
    images = model.walk(row, seed, seed_to, steps, truncation)
    save_samples(out, images, np.tile(row, steps), n_cols=len(row))
    return out
