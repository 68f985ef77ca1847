"""Several generators of one kind sampled as one: the snapshots of a run (``model.snapshots``).

A self-ensemble (Wang et al. 2016, "Ensembles of Generative Adversarial Networks"): a GAN's generator drifts
between parts of the data as it trains, so the generators of one run at several times draw more of the data
together than the last one alone.
"""

import torch
from torch import nn

PICK_SCALE = 1024.0  # frac(1024·|z|): its thousand-odd periods over any noise range make it uniform
MAX_MEMBERS = 64  # a file asking for more is not one condgan wrote (model.snapshots keeps a few)


class GeneratorMixture(nn.Module):
    """``noise (B, Z + 1), labels (B,) → images (B, C, H, W)``: the last noise value z picks the member that draws
    the image, member ⌊K·frac(1024·|z|)⌋ of the K, and the member is given the first Z values. frac(1024·|z|) is
    uniform for normal noise, truncated or not, so each member draws 1/K of the images at any truncation.
    Each member draws only its own images; while exporting, every member runs on the whole batch and the images
    are picked after (K times the work), so the graph has no shape that depends on the data. In eval mode both
    give the same images: an image depends only on its own noise and label.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not 1 <= len(members) <= MAX_MEMBERS:
            raise ValueError(f"a generator mixture holds 1 to {MAX_MEMBERS} generators, got {len(members)}")
        kinds = {(m.latent_dim, m.num_classes, tuple(m.image_shape)) for m in members}
        if len(kinds) > 1:
            raise ValueError(f"the generators of a mixture must take and make the same shapes, got {sorted(kinds)}")
        self.members = nn.ModuleList(members)
        first = members[0]
        self.latent_dim = first.latent_dim + 1  # one more value: which member draws
        self.num_classes, self.image_shape = first.num_classes, tuple(first.image_shape)

    def member_index(self, noise: torch.Tensor) -> torch.Tensor:
        """(B,) int64: the member that draws each image, from the last noise value."""
        uniform = torch.frac(noise[:, -1].abs() * PICK_SCALE)  # exact: a power of two only moves the exponent
        return (uniform * len(self.members)).long().clamp(0, len(self.members) - 1)

    def forward(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        picked, z = self.member_index(noise), noise[:, :-1]
        if torch.compiler.is_exporting() or not len(noise):
            images = None
            for k, member in enumerate(self.members):
                drawn = member(z, labels)  # (B, C, H, W)
                images = torch.where((picked == k).view(-1, 1, 1, 1), drawn, 0.0 if images is None else images)
            return images
        parts = [(picked == k).nonzero().squeeze(1) for k in range(len(self.members))]
        drawn = [member(z[rows], labels[rows]) for member, rows in zip(self.members, parts, strict=True) if len(rows)]
        order = torch.cat([rows for rows in parts if len(rows)]).argsort()  # back to the batch's order
        return torch.cat(drawn)[order]


def with_picks(noise: torch.Tensor, picks: int, seed: int) -> torch.Tensor:
    """``noise`` (B, Z) and ``picks`` more values (a mixture's choice of member: 0 or 1 of them) from a generator
    of their own, seeded: (B, Z + picks). The first Z values, and the stream they came from, are the same
    whether or not a mixture draws them."""
    extra = torch.randn(len(noise), picks, generator=torch.Generator().manual_seed(seed))
    return torch.cat([noise, extra.to(noise.device)], dim=1)
