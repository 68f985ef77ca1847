"""The report's pictures: loss curves from the CSV log, the samples GIF and the latent interpolation strip."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from torch import nn

from condgan.atomic import atomic_write_bytes
from condgan.inference.images import gif_bytes, png_bytes
from condgan.inference.sampling import class_grid, interpolate_latents_tensor, latent_noise_tensor
from condgan.plots import LOSSES, STAGE_STYLES, plot_loss_curves

FRAME_MS = 600
LABEL_HEIGHT = 16  # pixels above each GIF frame for its "epoch N" label


def plot_logged_losses(rows: list[dict[str, float]], path: Path) -> bool:
    """Train and val G/D losses of csv/metrics.csv against its step column; False (no file) when none was logged."""
    keys = [f"{stage}/{loss}" for stage in STAGE_STYLES for loss in LOSSES]
    series = {key: [(row["step"], row[key]) for row in rows if key in row] for key in keys}
    return plot_loss_curves(series, path, xlabel="step (training batches)")


def epochs_to_show(epochs: list[int], count: int) -> list[int]:
    """``count`` epochs spread evenly from the first to the last (all of them when there are fewer)."""
    if count >= len(epochs):
        return epochs
    if count <= 1:
        return epochs[-1:]
    step = (len(epochs) - 1) / (count - 1)
    return [epochs[round(i * step)] for i in range(count)]


def labelled_frame(grid_path: Path, label: str) -> np.ndarray:
    """The grid image under a black band holding ``label``: uint8 RGB (3, H + LABEL_HEIGHT, W)."""
    with Image.open(grid_path) as grid:
        frame = Image.new("RGB", (grid.width, grid.height + LABEL_HEIGHT))
        frame.paste(grid.convert("RGB"), (0, LABEL_HEIGHT))
    ImageDraw.Draw(frame).text((4, 2), label, fill="white")
    return np.asarray(frame).transpose(2, 0, 1)


def write_samples_gif(grids: dict[int, Path], path: Path) -> None:
    """One frame per epoch's grid, looping. The label names the epoch, and since it differs on every frame,
    Pillow cannot merge two identical grids into one frame: the GIF has exactly one frame per epoch."""
    frames = [labelled_frame(grid, f"epoch {epoch}") for epoch, grid in grids.items()]
    atomic_write_bytes(path, gif_bytes(frames, frame_ms=FRAME_MS))


def write_interpolation_strip(generator: nn.Module, steps: int, seed: int, path: Path) -> None:
    """Row k: class k along the path between two seeded noises, the same path in every row."""
    ends = latent_noise_tensor(2, generator.latent_dim, seed)
    grid = class_grid(generator, interpolate_latents_tensor(ends[0], ends[1], steps), generator.num_classes)
    atomic_write_bytes(path, png_bytes(grid.numpy()))
