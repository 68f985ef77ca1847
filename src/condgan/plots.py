"""``loss_curves.png``: G and D losses, train and val, one panel each (the training callback's and the report's)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt

from condgan.atomic import atomic_write

LOSSES = ("g_loss", "d_loss")
STAGE_STYLES = {"train": "-", "val": "o-"}  # train: every logged step; val: a point per epoch

Series = dict[str, list[tuple[float, float]]]  # "train/g_loss" → [(step, value), ...]


def plot_loss_curves(series: Series, path: Path, xlabel: str) -> bool:
    """Write the curves of ``series`` to ``path`` (atomically); False, and no file, when it holds none of them."""
    fig, axes = plt.subplots(1, len(LOSSES), figsize=(5 * len(LOSSES), 3.5), constrained_layout=True)
    for ax, loss in zip(axes, LOSSES, strict=True):
        for stage, style in STAGE_STYLES.items():
            if points := series.get(f"{stage}/{loss}"):
                ax.plot(*zip(*points, strict=True), style, label=stage, markersize=3, linewidth=1)
        ax.set(title=loss, xlabel=xlabel)
        if ax.lines:
            ax.legend()
    plotted = any(ax.lines for ax in axes)
    if plotted:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
    return plotted
