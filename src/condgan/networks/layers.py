"""Building blocks shared by the convolutional families (``dcgan.py``, ``resnet.py``)."""

from abc import ABC, abstractmethod

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

START_RESOLUTIONS = (4, 7)  # 32 = 4·2³, 64 = 4·2⁴, 28 = 7·2²


def resolution_stages(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(start resolution s0, number of ×2 stages k) with H = W = s0·2^k: 28 → (7, 2), 32 → (4, 3), 64 → (4, 4).

    Generators grow an s0×s0 map k times; discriminators halve the image k times back to s0×s0.
    """
    _, height, width = image_shape
    for start in START_RESOLUTIONS:
        stages = (height // start).bit_length() - 1
        if stages >= 1 and height == width == start * 2**stages:
            return start, stages
    raise ValueError(
        f"Image size {height}x{width} is not supported: images must be square with side 4·2^k or 7·2^k, "
        "k ≥ 1 (e.g. 28, 32, 64)."
    )


def is_channels_last(x: torch.Tensor) -> bool:
    """True for a 4-D tensor stored NHWC (``model.channels_last``) that is not also NCHW-contiguous."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def flatten_features(h: torch.Tensor) -> torch.Tensor:
    """(B, C, s, s) → (B, C·s·s) in NCHW order, whatever the memory format.

    Under channels_last the flatten copies, and its gradient comes back NCHW against an NHWC input: the
    backward kernels before it then mix layouts, which bf16 kernels on CPU run ~4x slower (LeakyReLU's
    backward at (32, 64, 7, 7): 177 µs instead of 45 µs here). The hook hands the gradient back in NHWC.
    """
    if h.requires_grad and is_channels_last(h):
        h.register_hook(lambda grad: grad.contiguous(memory_format=torch.channels_last))
    return h.flatten(1)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported: choose one of {', '.join(choices)}.")


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018): the weight is divided by its largest singular value,
    estimated by one power iteration per training forward pass; this bounds D's Lipschitz constant."""
    return spectral_norm(module) if enabled else module


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (de Vries et al. 2017; Dumoulin et al. 2017).

    Starts as plain BatchNorm (gamma = 1, beta = 0 for every class); training lets each class learn its own.
    """

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)
        self.beta = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.gamma(labels)[:, :, None, None], self.beta(labels)[:, :, None, None]  # (B, C, 1, 1)
        return gamma * self.norm(x) + beta  # (B, C, H, W)


class LabelFreeBatchNorm2d(nn.BatchNorm2d):
    """Plain BatchNorm that takes (and ignores) the labels, so a block calls its norm one way either way."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x)


def generator_norm(num_features: int, num_classes: int, conditional: bool) -> nn.Module:
    return ConditionalBatchNorm2d(num_features, num_classes) if conditional else LabelFreeBatchNorm2d(num_features)


class LatentStem(nn.Module):
    """Generator input: noise (B, Z) [⊕ label embedding (B, K) under "concat"] → linear → (B, C0, s0, s0)."""

    def __init__(self, latent_dim: int, num_classes: int, channels: int, resolution: int, concat_labels: bool):
        super().__init__()
        self.label_emb = nn.Embedding(num_classes, num_classes) if concat_labels else None
        self.map_shape = (channels, resolution, resolution)
        # No bias: a BatchNorm follows and would subtract it again.
        in_features = latent_dim + (num_classes if concat_labels else 0)
        self.linear = nn.Linear(in_features, channels * resolution**2, bias=False)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.label_emb is not None:
            noise = torch.cat([self.label_emb(labels), noise], dim=1)  # (B, K + Z), the MLP's order
        # unflatten, not view(len(noise), ...): no batch size is read, so exports keep a dynamic batch axis
        return self.linear(noise).unflatten(1, self.map_shape)


class ConditionalGenerator(nn.Module):
    """What the CNN generators share: how the label enters (conditional BatchNorm or embedding ⊕ noise),
    the channel widths of the up path and the latent stem. Subclasses build their up blocks from
    ``self.widths`` (passing ``self.cbn`` to each block's norm) and a ``to_image`` head."""

    def __init__(
        self,
        latent_dim: int,
        num_classes: int,
        image_shape: tuple[int, int, int],
        base_channels: int,
        conditioning: str,
    ):
        super().__init__()
        check_choice("conditioning", conditioning, ("cbn", "concat"))
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, num_classes, tuple(image_shape)
        start, stages = resolution_stages(self.image_shape)
        self.widths = [base_channels * 2**i for i in reversed(range(stages + 1))]  # 28 px: [4b, 2b, b]
        self.cbn = conditioning == "cbn"
        self.stem = LatentStem(latent_dim, num_classes, self.widths[0], start, concat_labels=not self.cbn)

    def stem_map(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The stem's (B, C0, s0, s0) map, in the memory format of the up path's weights: a linear layer's
        output is NCHW, and under channels_last an NCHW map would make every kernel of the first block mix
        layouts (slow in bf16 on CPU, ``flatten_features``)."""
        x = self.stem(noise, labels)
        first_conv = next(p for p in self.blocks.parameters() if p.dim() == 4)
        return x.contiguous(memory_format=torch.channels_last) if is_channels_last(first_conv) else x


class LabelPlanes(nn.Module):
    """Discriminator "concat" conditioning: a learned label embedding broadcast over the image as extra
    channels, (B, C, H, W) → (B, C + K, H, W); a learned generalisation of one-hot planes."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, num_classes)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        planes = self.embed(labels)[:, :, None, None].expand(-1, -1, *images.shape[2:])  # (B, K, H, W)
        return torch.cat([images, planes], dim=1)


def projection(features: torch.Tensor, labels: torch.Tensor, embed: nn.Embedding) -> torch.Tensor:
    """The projection discriminator's label term <embed(y), h> (Miyato & Koyama 2018): (B, F), (B,) → (B,)."""
    return (embed(labels) * features).sum(dim=1)


class MinibatchStd(nn.Module):
    """How much a batch varies, as one more feature (ProGAN, Karras et al. 2018): features (B, F) → (B, F + 1).

    Consecutive groups of ``group_size`` samples (the largest divisor of B up to it) each get their features'
    standard deviation over the group, averaged over F: a batch of near-copies stands out to D, so G is pushed
    to vary. Samples are no longer scored alone, so D must see reals and fakes in separate batches.
    """

    mixes_batch = True  # ConditionalGAN then calls D on reals and on fakes apart, never on the two stacked

    def __init__(self, group_size: int):
        super().__init__()
        if group_size < 2:
            raise ValueError(f"minibatch_std={group_size} is not a group size: pass 2 or more, or 0 to switch it off.")
        self.group_size = group_size

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, f = h.shape
        g = max(d for d in range(1, min(self.group_size, b) + 1) if b % d == 0)
        groups = h.float().reshape(b // g, g, f)  # float: a variance in bf16 loses the small differences
        spread = groups - groups.mean(dim=1, keepdim=True)  # written out: var()'s backward is ~5x slower on CPU
        std = (spread.square().mean(dim=1) + 1e-8).sqrt().mean(dim=1)  # (B/g,)
        return torch.cat([h, std.repeat_interleave(g).unsqueeze(1).to(h.dtype)], dim=1)  # (B, F + 1)


class DiscriminatorHead(nn.Module):
    """Pooled features h (B, F) → score linear(h) (+ <embed(y), h> under projection) (B,), and with
    ``aux_classifier`` also class logits: (B, K) for AC-GAN (Odena et al. 2017), or (B, 2K) with
    ``aux_fake_classes``, where classes K..2K-1 are "a fake of class k" (ADC-GAN, Hou et al. 2022)."""

    def __init__(
        self,
        features: int,
        num_classes: int,
        *,
        use_projection: bool,
        sn: bool,
        aux_classifier: bool,
        aux_fake_classes: bool = False,
    ):
        super().__init__()
        self.linear = maybe_spectral_norm(nn.Linear(features, 1), sn)
        self.embed = maybe_spectral_norm(nn.Embedding(num_classes, features), sn) if use_projection else None
        outputs = num_classes * (2 if aux_fake_classes else 1)
        self.classifier = maybe_spectral_norm(nn.Linear(features, outputs), sn) if aux_classifier else None

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        scores = self.linear(features).squeeze(1)  # (B,)
        if self.embed is not None:
            scores = scores + projection(features, labels, self.embed)
        if self.classifier is None:
            return scores
        return scores, self.classifier(features)  # (B,), (B, K)


class ConditionalDiscriminator(nn.Module, ABC):
    """What the CNN discriminators share: how the label enters (label planes or projection), the channel
    widths of the down path, the optional minibatch standard deviation and the head. Subclasses say how to
    build their body from ``self.widths`` (``build_body``, returning the width F of the features) and how to
    pool its output to features (B, F) (``features``); the head on those features is built here, after the
    body."""

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        base_channels: int = 64,
        conditioning: str = "projection",
        spectral_norm: bool = True,
        aux_classifier: bool = False,
        aux_fake_classes: bool = False,
        minibatch_std: int = 0,
    ):
        super().__init__()
        check_choice("conditioning", conditioning, ("projection", "concat"))
        if aux_fake_classes and not aux_classifier:
            raise ValueError("aux_fake_classes=true (ADC-GAN) needs aux_classifier=true: it widens the class head")
        self.num_classes, self.image_shape = num_classes, tuple(image_shape)
        self.aux_fake_classes = aux_fake_classes  # 2K class logits (ADC-GAN's, or TAC-GAN's two heads)
        self.start, stages = resolution_stages(self.image_shape)
        self.label_planes = LabelPlanes(num_classes) if conditioning == "concat" else None
        in_channels = self.image_shape[0] + (num_classes if self.label_planes is not None else 0)
        self.widths = [in_channels] + [base_channels * 2**i for i in range(stages)]  # 28 px: [C(+K), b, 2b]
        features = self.build_body(spectral_norm)
        self.minibatch_std = MinibatchStd(minibatch_std) if minibatch_std else None
        self.head = DiscriminatorHead(
            features + (1 if self.minibatch_std is not None else 0),
            num_classes,
            use_projection=conditioning == "projection",
            sn=spectral_norm,
            aux_classifier=aux_classifier,
            aux_fake_classes=aux_fake_classes,
        )

    @abstractmethod
    def build_body(self, spectral_norm: bool) -> int:
        """Build the down path from ``self.widths``; return the width F of the features it gives."""

    @abstractmethod
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (with label planes under concat) (B, C(+K), H, W) → features (B, F)."""

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = images if self.label_planes is None else self.label_planes(images, labels)
        h = self.features(x)  # (B, F)
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)  # (B, F + 1)
        return self.head(h, labels)  # scores (B,) [, class logits (B, K)]
