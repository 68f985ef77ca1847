"""The report's pictures: loss curves from the CSV log, the samples GIF and the latent interpolation strip."""

from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw
from torch import nn
from torchvision.io import write_png

from condgan.sampling import class_grid, interpolate_latents, latent_noise

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


def write_interpolation_strip(generator: nn.Module, steps: int, seed: int, path: Path) -> None:
    """Row k: class k along the path between two seeded noises, the same path in every row."""
    ends = latent_noise(2, generator.latent_dim, seed)
    grid = class_grid(generator, interpolate_latents(ends[0], ends[1], steps), generator.num_classes)
    write_png(grid, str(path))
