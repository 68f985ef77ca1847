"""SNGAN-style residual networks (Miyato et al. 2018; Miyato & Koyama 2018): up blocks with conditional
BatchNorm in G, down blocks with spectral norm and a projection head in D."""

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from condgan.networks.layers import (
    ConditionalDiscriminator,
    ConditionalGenerator,
    generator_norm,
    maybe_spectral_norm,
)


class GBlock(nn.Module):
    """norm → ReLU → ×2 nearest → 3×3 conv → norm → ReLU → 3×3 conv, plus a 1×1-conv ×2 shortcut:
    (B, in, s, s) → (B, out, 2s, 2s)."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int, conditional: bool):
        super().__init__()
        self.norm1 = generator_norm(in_channels, num_classes, conditional)
        self.norm2 = generator_norm(out_channels, num_classes, conditional)
        # No biases: every output of this block goes through a BatchNorm next, which would cancel them.
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, labels)), scale_factor=2)
        h = self.conv2(F.relu(self.norm2(self.conv1(h), labels)))
        # 1×1 conv and nearest upsampling commute: convolve first, on 4× fewer pixels.
        return h + F.interpolate(self.shortcut(x), scale_factor=2)


class DBlock(nn.Module):
    """[ReLU →] 3×3 conv → ReLU → 3×3 conv [→ avg-pool ÷2], plus a shortcut [avg-pool ÷2 → 1×1 conv]:
    (B, in, s, s) → (B, out, s/2, s/2), or (B, out, s, s) without downsampling. The first block skips the
    leading ReLU: its input is the image."""

    def __init__(self, in_channels: int, out_channels: int, sn: bool, downsample: bool, preactivate: bool):
        super().__init__()
        pool = nn.AvgPool2d(2) if downsample else nn.Identity()
        self.residual = nn.Sequential(
            nn.ReLU() if preactivate else nn.Identity(),  # not in place: x is still needed by the shortcut
            maybe_spectral_norm(nn.Conv2d(in_channels, out_channels, 3, padding=1), sn),
            nn.ReLU(),
            maybe_spectral_norm(nn.Conv2d(out_channels, out_channels, 3, padding=1), sn),
            pool,
        )
        learnable = downsample or in_channels != out_channels
        # Pooling and a 1×1 conv commute: pool first, convolve 4× fewer pixels.
        self.shortcut = (
            nn.Sequential(pool, maybe_spectral_norm(nn.Conv2d(in_channels, out_channels, 1), sn))
            if learnable
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class ResNetGenerator(ConditionalGenerator):
    """noise [⊕ label] → (base·2^k, s0, s0) → k residual up blocks (channels halve) → BN → ReLU → 3×3 conv
    → tanh.

    ``conditioning="cbn"``: conditional BatchNorm in every block (SNGAN); ``"concat"``: label embedding ⊕ noise.
    """

    def __init__(
        self,
        latent_dim: int = 128,
        num_classes: int = 10,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        base_channels: int = 64,
        conditioning: str = "cbn",
    ):
        super().__init__(latent_dim, num_classes, image_shape, base_channels, conditioning)
        w = self.widths
        self.blocks = nn.ModuleList(
            GBlock(c_in, c_out, num_classes, conditional=self.cbn) for c_in, c_out in itertools.pairwise(w)
        )
        self.to_image = nn.Sequential(
            nn.BatchNorm2d(base_channels),  # unconditional, as in SNGAN's last layer
            nn.ReLU(),
            nn.Conv2d(base_channels, self.image_shape[0], 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.stem_map(noise, labels)  # (B, base·2^k, s0, s0)
        for block in self.blocks:
            x = block(x, labels)
        return self.to_image(x)  # (B, C, H, W)


class ResNetDiscriminator(ConditionalDiscriminator):
    """[image ⊕ label planes] → k residual down blocks, doubling channels → one more block at s0 → ReLU →
    global sum pooling → head.

    ``conditioning="projection"``: score + <embed(y), h> (SNGAN-projection); ``"concat"``: label planes as
    extra input channels.
    """

    def build_body(self, spectral_norm: bool) -> int:
        w = self.widths
        self.blocks = nn.Sequential(
            *(
                DBlock(c_in, c_out, spectral_norm, downsample=True, preactivate=i > 0)
                for i, (c_in, c_out) in enumerate(itertools.pairwise(w))
            ),
            DBlock(w[-1], w[-1], spectral_norm, downsample=False, preactivate=True),
        )
        return w[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))  # (B, 2^(k-1)·b): sum, not mean, as in SNGAN
