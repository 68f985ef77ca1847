"""The report's pictures: loss curves from the CSV log, the samples GIF and the latent interpolation strip."""

from pathlib import Path

import matplotlib
import torch
from PIL import Image, ImageDraw
from torch import nn
from torchvision.io import write_png

from condgan.sampling import class_grid

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402

LOSSES = ("g_loss", "d_loss")
STAGE_STYLES = {"train": "-", "val": "o-"}
FRAME_MS = 600
LABEL_HEIGHT = 16  # pixels above each GIF frame for its "epoch N" label


def plot_loss_curves(rows: list[dict[str, float]], path: Path) -> bool:
    """Train and val G/D losses of csv/metrics.csv against its step column; False (no file) when none was logged."""
    fig, axes = plt.subplots(1, len(LOSSES), figsize=(5 * len(LOSSES), 3.5), constrained_layout=True)
    plotted = False
    for ax, loss in zip(axes, LOSSES):
        for stage, style in STAGE_STYLES.items():
            points = [(row["step"], row[f"{stage}/{loss}"]) for row in rows if f"{stage}/{loss}" in row]
            if points:
                ax.plot(*zip(*points), style, label=stage, markersize=3, linewidth=1)
                plotted = True
        ax.set(title=loss, xlabel="step (training batches)")
        if ax.lines:
            ax.legend()
    if plotted:
        fig.savefig(path, dpi=100)
    plt.close(fig)
    return plotted


def epochs_to_show(epochs: list[int], count: int) -> list[int]:
    """``count`` epochs spread evenly from the first to the last (all of them when there are fewer)."""
    if count >= len(epochs):
        return epochs
    if count <= 1:
        return epochs[-1:]
    step = (len(epochs) - 1) / (count - 1)
    return [epochs[round(i * step)] for i in range(count)]


def labelled_frame(grid_path: Path, label: str) -> Image.Image:
    with Image.open(grid_path) as grid:
        frame = Image.new("RGB", (grid.width, grid.height + LABEL_HEIGHT))
        frame.paste(grid.convert("RGB"), (0, LABEL_HEIGHT))
    ImageDraw.Draw(frame).text((4, 2), label, fill="white")
    return frame


def write_samples_gif(grids: dict[int, Path], path: Path) -> None:
    """One frame per epoch's grid, looping. The label names the epoch, and since it differs on every frame,
    Pillow cannot merge two identical grids into one frame: the GIF has exactly one frame per epoch."""
    frames = [labelled_frame(grid, f"epoch {epoch}") for epoch, grid in grids.items()]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0)


def interpolate_latents(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """(steps, Z) points from ``start`` to ``end`` (both (Z,), both included), spherically interpolated.

    Spherical, not linear: between two Gaussian latents a straight line passes through points of smaller
    norm (about 0.7× at the midpoint) than the generator saw in training, which washes out the middle images.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got {steps}")
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    cos_angle = torch.dot(start / start.norm(), end / end.norm()).clamp(-1, 1)
    angle = torch.acos(cos_angle)
    if torch.sin(angle) < 1e-6:  # (anti)parallel ends: the spherical formula would divide by ~0
        return torch.lerp(start, end, t)
    return (torch.sin((1 - t) * angle) * start + torch.sin(t * angle) * end) / torch.sin(angle)


def write_interpolation_strip(generator: nn.Module, steps: int, seed: int, path: Path) -> None:
    """Row k: class k along the path between two seeded noises, the same path in every row."""
    ends = torch.randn(2, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    grid = class_grid(generator, interpolate_latents(ends[0], ends[1], steps), generator.num_classes)
    write_png(grid, str(path))
