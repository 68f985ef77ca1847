"""A conditional GAN small enough to train a few batches of 8×8 noise in a second, in the test's own process."""

import functools

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from condgan.gan.losses import LSGANLoss
from condgan.gan.model import ConditionalGAN
from condgan.networks import MLPDiscriminator, MLPGenerator

SHAPE = (1, 8, 8)


def tiny_gan(**tricks) -> ConditionalGAN:
    """MLPs of a few thousand weights, LSGAN loss, Adam; ``tricks`` go to ConditionalGAN (``discriminator``
    and ``loss`` replace those parts)."""
    torch.manual_seed(0)
    adam = functools.partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
    d = tricks.pop("discriminator", None) or MLPDiscriminator(num_classes=10, image_shape=SHAPE, hidden=32)
    g = MLPGenerator(latent_dim=4, num_classes=10, image_shape=SHAPE, hidden=(16, 32))
    return ConditionalGAN(g, d, tricks.pop("loss", LSGANLoss()), adam, adam, **tricks)


def fit(model: ConditionalGAN, batches: int = 6, callbacks: list[L.Callback] = ()) -> L.Trainer:
    """One epoch of ``batches`` random batches of 16, every step logged, no files written unless a callback does."""
    data = [(torch.rand(16, *SHAPE) * 2 - 1, torch.randint(0, 10, (16,))) for _ in range(batches)]
    ours = any(isinstance(callback, ModelCheckpoint) for callback in callbacks)  # else Lightning would add one
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=ours,
        callbacks=list(callbacks),
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        limit_val_batches=0,
    )
    trainer.fit(model, DataLoader(data, batch_size=None))
    return trainer
