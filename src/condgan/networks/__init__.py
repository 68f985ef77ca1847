"""Generators and discriminators: plain ``nn.Module``s, one family per file.

Every generator is called as ``G(noise (B, latent_dim), labels (B,)) -> images (B, C, H, W)`` in [-1, 1];
every discriminator as ``D(images, labels) -> scores (B,)`` (raw scores, no sigmoid: the loss decides).
"""

from condgan.networks.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["MLPGenerator", "MLPDiscriminator"]
