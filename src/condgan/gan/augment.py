"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees, real and fake.

Gradients flow through them to G, so D cannot memorise a small data set without G learning the
augmentations' artefacts. Images are (B, C, H, W) in [-1, 1]; ``fill`` is the background that translation
uncovers and cutout paints: -1 (black) for digits, 1 (white) for emoji.
"""

import torch
import torch.nn.functional as F


def translation(x: torch.Tensor, ratio: float = 0.125, fill: float = -1.0) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, padding with the background ``fill``."""
    _, _, h, w = x.shape
    return random_shifts(x, int(h * ratio + 0.5), int(w * ratio + 0.5), fill)


def random_shifts(
    x: torch.Tensor, max_dy: int, max_dx: int, fill: float | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each image of (B, C, H, W) moved by its own whole-pixel offset, up to ``max_dy`` rows and ``max_dx``
    columns either way. The uncovered border is ``fill``, or repeats the edge pixels when ``fill`` is None.
    Offsets come from ``generator`` (the global RNG when None)."""
    b, _, h, w = x.shape
    device = generator.device if generator is not None else x.device
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1, 1), generator=generator, device=device).to(x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1, 1), generator=generator, device=device).to(x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy).clamp(-1, h)  # -1 and h hit the padding
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx).clamp(-1, w)
    edges = {"mode": "replicate"} if fill is None else {"value": fill}
    padded = F.pad(x, (1, 1, 1, 1), **edges)  # (B, C, H+2, W+2)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows + 1, cols + 1].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5, fill: float = -1.0) -> torch.Tensor:
    """Blank one random square of ``ratio`` × the image size per image (to the background ``fill``)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + 1 - ch % 2, (b, 1, 1), device=x.device)
    cx = torch.randint(0, w + 1 - cw % 2, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    dy, dx = rows - cy + ch // 2, cols - cx + cw // 2  # position inside the square, centred on (cy, cx)
    inside = (dy >= 0) & (dy < ch) & (dx >= 0) & (dx < cw)  # (B, H, W)
    return torch.where(inside.unsqueeze(1), torch.full_like(x, fill), x)


def color(x: torch.Tensor, fill: float = -1.0) -> torch.Tensor:
    """Random brightness, saturation and contrast, as in the paper (meaningful for RGB); ``fill`` is unused."""
    b = len(x)
    x = x + (torch.rand(b, 1, 1, 1, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device) + 0.5) + mean


POLICIES = {"translation": translation, "cutout": cutout, "color": color}


class DiffAugment:
    def __init__(self, policy: str = "translation,cutout", fill: float = -1.0):
        names = [p.strip() for p in policy.split(",") if p.strip()]
        unknown = sorted(set(names) - POLICIES.keys())
        if unknown:
            raise ValueError(f"Unknown DiffAugment policy {unknown}; choose from {sorted(POLICIES)}, comma-separated.")
        self.policy = [POLICIES[n] for n in names]
        self.fill = fill

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for augment in self.policy:
            x = augment(x, fill=self.fill)
        return x
