"""Adversarial losses on raw discriminator scores.

Each loss answers two questions: how the discriminator is penalised on real and fake scores, and how
the generator is penalised on the scores of its fakes. Scores are raw (no sigmoid), shape (B,).
"""

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F


class GANLoss(ABC):
    name = "base"

    @abstractmethod
    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Scores of real and fake images (B,) → the discriminator's loss (a scalar)."""

    @abstractmethod
    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        """Scores of the generator's fakes (B,) → its loss (a scalar)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LSGANLoss(GANLoss):
    """Least squares (Mao et al. 2017): the assignment's ``nn.MSELoss`` with targets 1 (real) and 0 (fake)."""

    name = "lsgan"

    def discriminator(self, real, fake):
        return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))

    def generator(self, fake):
        return F.mse_loss(fake, torch.ones_like(fake))


class NonSaturatingLoss(GANLoss):
    """Binary cross-entropy with the non-saturating generator loss -log D(G(z)) (Goodfellow et al. 2014)."""

    name = "bce"

    def discriminator(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()  # = BCE(real, 1) + BCE(fake, 0)

    def generator(self, fake):
        return F.softplus(-fake).mean()  # = BCE(fake, 1)


class HingeLoss(GANLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018)."""

    name = "hinge"

    def discriminator(self, real, fake):
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake):
        return -fake.mean()


class WassersteinLoss(GANLoss):
    """WGAN (Arjovsky et al. 2017): D is a critic; pair with a gradient penalty (+penalty@model.penalties.gp=gp)."""

    name = "wgan"

    def discriminator(self, real, fake):
        return fake.mean() - real.mean()

    def generator(self, fake):
        return -fake.mean()
