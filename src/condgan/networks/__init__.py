"""Generators and discriminators: plain ``nn.Module``s, one family per file.

Every generator is called as ``G(noise (B, latent_dim), labels (B,)) -> images (B, C, H, W)`` in [-1, 1];
every discriminator as ``D(images, labels) -> scores (B,)`` (raw scores, no sigmoid: the loss decides).
"""

from condgan.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from condgan.networks.mlp import MLPDiscriminator, MLPGenerator
from condgan.networks.resnet import ResNetDiscriminator, ResNetGenerator

__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
]
