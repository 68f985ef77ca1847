"""A discriminator that also judges the image at a low resolution, where an emoji's silhouette is all there is."""

import torch
import torch.nn.functional as F
from torch import nn

from condgan.networks.dcgan import DCGANDiscriminator


class TwoScaleDCGANDiscriminator(nn.Module):
    """D(x, y) = D_full(x, y) + D_low(avgpool(x) to low_size, y): scores and class logits summed (pix2pixHD's
    multi-scale D, summed rather than averaged so each scale's loss reaches its own head)."""

    def __init__(self, low_size: int = 16, **kwargs):
        super().__init__()
        self.full = DCGANDiscriminator(**kwargs)
        channels, side, _ = self.full.image_shape
        if side % low_size:
            raise ValueError(f"low_size={low_size} must divide the image side {side}")
        self.factor = side // low_size
        self.low = DCGANDiscriminator(**{**kwargs, "image_shape": (channels, low_size, low_size)})
        self.num_classes, self.image_shape = self.full.num_classes, self.full.image_shape
        self.aux_fake_classes = self.full.aux_fake_classes

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        full = self.full(images, labels)
        low = self.low(F.avg_pool2d(images, self.factor), labels)  # (B, C, low, low)
        if isinstance(full, tuple):
            return full[0] + low[0], full[1] + low[1]
        return full + low
