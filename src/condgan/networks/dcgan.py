"""DCGAN (Radford et al. 2016): strided transposed convolutions up, strided convolutions down."""

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from condgan.networks.layers import (
    ConditionalDiscriminator,
    ConditionalGenerator,
    check_choice,
    flatten_features,
    generator_norm,
    maybe_spectral_norm,
)

UPSAMPLING = ("transposed", "resize")


def upsampling_conv(in_channels: int, out_channels: int, upsample: str) -> nn.Module:
    """(B, in, s, s) → (B, out, 2s, 2s); no bias since BatchNorm follows.

    ``transposed``: a 4×4 stride-2 transposed conv (kernel 4, padding 1 doubles the side exactly), DCGAN's.
    ``resize``: nearest-neighbour ×2, then a 3×3 conv (Odena et al. 2016, "Deconvolution and Checkerboard
    Artifacts"): every output pixel gets the same number of kernel taps, so no checkerboard to unlearn.
    """
    check_choice("upsample", upsample, UPSAMPLING)
    if upsample == "transposed":
        return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False)
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
    )


class UpBlock(nn.Module):
    """×2 upsampling conv → (conditional) BatchNorm → ReLU: (B, in, s, s) → (B, out, 2s, 2s)."""

    def __init__(
        self, in_channels: int, out_channels: int, num_classes: int, conditional: bool, upsample: str = "transposed"
    ):
        super().__init__()
        self.conv = upsampling_conv(in_channels, out_channels, upsample)
        self.norm = generator_norm(out_channels, num_classes, conditional)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), labels))


def down_block(in_channels: int, out_channels: int, sn: bool) -> nn.Sequential:
    """4×4 stride-2 conv → LeakyReLU 0.2: (B, in, s, s) → (B, out, s/2, s/2)."""
    return nn.Sequential(
        maybe_spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1), sn), nn.LeakyReLU(0.2)
    )


class DCGANGenerator(ConditionalGenerator):
    """noise [⊕ label] → (base·2^k, s0, s0) → k up blocks, halving channels → 3×3 conv → tanh.

    ``conditioning="cbn"``: conditional BatchNorm in every block; ``"concat"``: label embedding ⊕ noise.
    ``upsample``: ``"transposed"`` convolutions (DCGAN's) or ``"resize"`` then convolve (``upsampling_conv``).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        base_channels: int = 64,
        conditioning: str = "cbn",
        upsample: str = "transposed",
    ):
        super().__init__(latent_dim, num_classes, image_shape, base_channels, conditioning)
        w = self.widths
        self.stem_norm = generator_norm(w[0], num_classes, self.cbn)
        self.blocks = nn.ModuleList(
            UpBlock(c_in, c_out, num_classes, conditional=self.cbn, upsample=upsample)
            for c_in, c_out in itertools.pairwise(w)
        )
        self.to_image = nn.Sequential(nn.Conv2d(base_channels, self.image_shape[0], 3, padding=1), nn.Tanh())

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_norm(self.stem_map(noise, labels), labels))  # (B, base·2^k, s0, s0)
        for block in self.blocks:
            x = block(x, labels)
        return self.to_image(x)  # (B, C, H, W)


class DCGANDiscriminator(ConditionalDiscriminator):
    """[image ⊕ label planes] → k stride-2 4×4 convs, doubling channels, LeakyReLU 0.2 → flatten → head.

    ``conditioning="projection"``: score + <embed(y), h>; ``"concat"``: label planes as extra input channels.
    No BatchNorm: spectral norm regularises instead, as in SNGAN's CNN discriminator.
    """

    def build_body(self, spectral_norm: bool) -> int:
        w = self.widths
        self.body = nn.Sequential(*(down_block(c_in, c_out, spectral_norm) for c_in, c_out in itertools.pairwise(w)))
        return w[-1] * self.start**2

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return flatten_features(self.body(x))  # (B, 2^(k-1)·b·s0·s0): keeps where things are, like DCGAN's last conv
