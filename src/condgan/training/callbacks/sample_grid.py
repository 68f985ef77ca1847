"""A class grid from fixed noise every N training epochs: a PNG file and an image in each logger."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from condgan.atomic import atomic_write_bytes
from condgan.gan.mixture import with_picks
from condgan.inference.images import png_bytes
from condgan.inference.sampling import class_grid
from condgan.training.callbacks.schedule import epoch_due


class SampleGrid(L.Callback):
    """Writes ``<dirpath>/epoch_NNN.png``: one row per label, ``n_per_class`` columns of fixed noise.

    The noise comes from its own seeded generator, so every grid (and a resumed run's) shows the same
    latent points and the grids can be compared frame by frame. ``every_n_epochs``: every N-th epoch and
    the last one, as QualityMetrics; the images are drawn at the training precision (bf16 where it trains in it).
    """

    def __init__(self, dirpath: str, n_per_class: int = 10, seed: int = 0, every_n_epochs: int = 1):
        if min(n_per_class, every_n_epochs) < 1:
            raise ValueError(
                f"the sample grid needs n_per_class and every_n_epochs >= 1, got {n_per_class} and {every_n_epochs}: "
                "set callbacks.sample_grid.n_per_class and callbacks.sample_grid.every_n_epochs"
            )
        self.dirpath, self.n_per_class, self.seed = Path(dirpath), n_per_class, seed
        self.every_n_epochs = every_n_epochs

    def fixed_noise(self, latent_dim: int, picks: int = 0) -> torch.Tensor:
        """(n_per_class, latent_dim + picks): the same points every epoch, and a mixture's picks (``with_picks``)."""
        noise = torch.randn(self.n_per_class, latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return with_picks(noise, picks, seed=self.seed + 1)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not epoch_due(trainer, self.every_n_epochs):
            return
        generator = pl_module.sampling_generator  # with model.snapshots: a mixture, one noise value longer
        noise = self.fixed_noise(pl_module.latent_dim, generator.latent_dim - pl_module.latent_dim)
        with trainer.precision_plugin.forward_context():  # bf16 autocast on CPU: a third of the fp32 time
            grid = class_grid(generator, noise, pl_module.num_classes)
        path = self.dirpath / f"epoch_{trainer.current_epoch:03d}.png"
        atomic_write_bytes(path, png_bytes(grid.cpu().numpy()))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=trainer.global_step, caption=[path.stem])
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, trainer.global_step)
