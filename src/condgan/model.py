"""The LightningModule: training logic for any conditional GAN; networks and loss are injected."""

from collections.abc import Callable

import lightning as L
import torch
from torch import nn

from condgan.losses import GANLoss

OptimizerFactory = Callable[..., torch.optim.Optimizer]  # e.g. functools.partial(torch.optim.Adam, lr=2e-4)


class ConditionalGAN(L.LightningModule):
    """Alternating D/G updates with Lightning 2 manual optimization (as in Lightning's GAN example).

    ``generator(noise (B, Z), labels (B,)) -> images (B, C, H, W)``;
    ``discriminator(images, labels) -> scores (B,)``.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: GANLoss,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
    ):
        super().__init__()
        self.automatic_optimization = False  # two optimizers, stepped by hand
        self.generator, self.discriminator, self.loss = generator, discriminator, loss
        self.optimizer_g, self.optimizer_d = optimizer_g, optimizer_d
        self.latent_dim: int = generator.latent_dim
        self.num_classes: int = generator.num_classes

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(noise, labels)

    def sample_inputs(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise (n, Z) and uniformly drawn labels (n,) on the module's device."""
        noise = torch.randn(n, self.latent_dim, device=self.device)
        labels = torch.randint(0, self.num_classes, (n,), device=self.device)
        return noise, labels

    def on_fit_start(self) -> None:
        datamodule = self.trainer.datamodule
        expected = getattr(datamodule, "image_shape", None)
        if expected is not None and tuple(expected) != tuple(self.generator.image_shape):
            raise ValueError(
                f"The generator makes images of shape {tuple(self.generator.image_shape)} but the data are "
                f"{tuple(expected)}: set model.generator.image_shape (and the discriminator's) to match."
            )
        if getattr(datamodule, "num_classes", self.num_classes) != self.num_classes:
            raise ValueError(
                f"The model has {self.num_classes} classes but the data have {datamodule.num_classes}: "
                "set model.generator.num_classes and model.discriminator.num_classes to match."
            )

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, real_labels = batch  # (B, C, H, W) in [-1, 1], (B,)
        opt_g, opt_d = self.optimizers()
        noise, fake_labels = self.sample_inputs(len(real))
        fake = self.generator(noise, fake_labels)  # one G forward serves both steps

        # Discriminator step: fakes detached, so no gradient reaches G.
        self.toggle_optimizer(opt_d)
        d_real = self.discriminator(real, real_labels)
        d_fake = self.discriminator(fake.detach(), fake_labels)
        d_loss = self.loss.discriminator(d_real, d_fake)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        # Generator step, against the freshly updated D (D's parameters frozen by the toggle).
        self.toggle_optimizer(opt_g)
        g_loss = self.loss.generator(self.discriminator(fake, fake_labels))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.log_dict(
            {"train/g_loss": g_loss, "train/d_loss": d_loss},
            prog_bar=True,
        )
        self.log_dict({"train/d_real": d_real.mean(), "train/d_fake": d_fake.mean()})

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        """Both losses on held-out reals and on fakes of the same labels, averaged over the epoch."""
        real, labels = batch
        noise = torch.randn(len(real), self.latent_dim, device=self.device)
        fake = self.generator(noise, labels)
        d_real, d_fake = self.discriminator(real, labels), self.discriminator(fake, labels)
        metrics = {
            "g_loss": self.loss.generator(d_fake),
            "d_loss": self.loss.discriminator(d_real, d_fake),
            "d_real": d_real.mean(),
            "d_fake": d_fake.mean(),
        }
        self.log_dict({f"{stage}/{k}": v for k, v in metrics.items()}, on_epoch=True, sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self):
        # Order matters: training_step unpacks (opt_g, opt_d).
        return [self.optimizer_g(self.generator.parameters()), self.optimizer_d(self.discriminator.parameters())]
