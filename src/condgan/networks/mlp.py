"""The assignment's MLP conditional GAN (after PyTorch-GAN's ``cgan.py``), kept as the baseline."""

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """label embedding ⊕ noise → 128 → 256 → 512 → 1024 → C·H·W, tanh."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        hidden: tuple[int, ...] = (128, 256, 512, 1024),
        bn_eps: float = 0.8,  # the assignment's BatchNorm1d(n, 0.8): eps=0.8 (meant as momentum), kept for fidelity
    ):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, num_classes, tuple(image_shape)
        self.label_emb = nn.Embedding(num_classes, num_classes)
        layers, width = [], latent_dim + num_classes
        for i, out in enumerate(hidden):
            layers.append(nn.Linear(width, out))
            if i > 0:  # no normalisation on the first block, as in the assignment
                layers.append(nn.BatchNorm1d(out, eps=bn_eps))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width = out
        layers += [nn.Linear(width, math.prod(self.image_shape)), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.label_emb(labels), noise], dim=1)  # (B, num_classes + latent_dim)
        # unflatten, not view(len(x), ...): no batch size is read, so exports keep a dynamic batch axis
        return self.model(x).unflatten(1, self.image_shape)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    """image ⊕ label embedding → 512 → 512 → 512 (dropout 0.4) → one score."""

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        hidden: int = 512,
        dropout: float = 0.4,
    ):
        super().__init__()
        self.num_classes, self.image_shape = num_classes, tuple(image_shape)
        self.label_emb = nn.Embedding(num_classes, num_classes)
        self.model = nn.Sequential(
            nn.Linear(math.prod(self.image_shape) + num_classes, hidden),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, hidden),
            nn.Dropout(dropout),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, hidden),
            nn.Dropout(dropout),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = torch.cat([images.flatten(1), self.label_emb(labels)], dim=1)  # (B, C·H·W + num_classes)
        return self.model(x).squeeze(1)  # (B,)
