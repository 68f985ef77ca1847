"""A class grid from fixed noise after every training epoch: a PNG file and an image in each logger."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from condgan.atomic import atomic_write_bytes
from condgan.gan.mixture import with_picks
from condgan.inference.images import png_bytes
from condgan.inference.sampling import class_grid


class SampleGrid(L.Callback):
    """Writes ``<dirpath>/epoch_NNN.png``: 10 rows = the labels, ``n_per_class`` columns of fixed noise.

    The noise comes from its own seeded generator, so every epoch (and a resumed run) shows the same
    latent points and the grids can be compared frame by frame.
    """

    def __init__(self, dirpath: str, n_per_class: int = 10, seed: int = 0):
        self.dirpath, self.n_per_class, self.seed = Path(dirpath), n_per_class, seed

    def fixed_noise(self, latent_dim: int, picks: int = 0) -> torch.Tensor:
        """(n_per_class, latent_dim + picks): the same points every epoch, and a mixture's picks (``with_picks``)."""
        noise = torch.randn(self.n_per_class, latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return with_picks(noise, picks, seed=self.seed + 1)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        generator = pl_module.sampling_generator  # with model.snapshots: a mixture, one noise value longer
        noise = self.fixed_noise(pl_module.latent_dim, generator.latent_dim - pl_module.latent_dim)
        grid = class_grid(generator, noise, pl_module.num_classes)
        path = self.dirpath / f"epoch_{trainer.current_epoch:03d}.png"
        atomic_write_bytes(path, png_bytes(grid.cpu().numpy()))
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("samples", [str(path)], step=trainer.global_step, caption=[path.stem])
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image("samples", grid, trainer.global_step)
