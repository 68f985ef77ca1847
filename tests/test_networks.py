"""The networks: every family's shapes, ranges, conditioning and layers, on tiny widths."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from condgan.networks import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    ResNetDiscriminator,
    ResNetGenerator,
)
from condgan.networks.dcgan import upsampling_conv
from condgan.networks.layers import ConditionalBatchNorm2d, MinibatchStd, projection, resolution_stages


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)])
def test_mlp_shapes_and_range(shape):
    g, d = MLPGenerator(latent_dim=16, num_classes=10, image_shape=shape), MLPDiscriminator(10, shape)
    noise, labels = torch.randn(5, 16), torch.arange(5)
    images = g(noise, labels)
    assert images.shape == (5, *shape)
    assert images.min() >= -1 and images.max() <= 1  # tanh output, same range as the data
    assert d(images, labels).shape == (5,)


def test_generator_is_conditional():
    torch.manual_seed(0)
    g = MLPGenerator(latent_dim=8, num_classes=10).eval()
    noise = torch.randn(1, 8).repeat(2, 1)
    a, b = g(noise, torch.tensor([3, 7]))
    assert not torch.allclose(a, b)  # same noise, different label → different image


def test_discriminator_gradients_reach_generator():
    g, d = MLPGenerator(latent_dim=8), MLPDiscriminator()
    d(g(torch.randn(4, 8), torch.zeros(4, dtype=torch.long)), torch.zeros(4, dtype=torch.long)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.model.parameters())


FAMILIES = {"dcgan": (DCGANGenerator, DCGANDiscriminator), "resnet": (ResNetGenerator, ResNetDiscriminator)}
SHAPES = [(c, s, s) for c in (1, 3) for s in (28, 32, 64)]
CONDITIONINGS = [("cbn", "projection"), ("concat", "concat")]  # (generator, discriminator): each option once
TINY = dict(num_classes=10, base_channels=4)  # a few channels: shapes and wiring, not quality


def make_pair(family: str, shape=(1, 28, 28), g_cond="cbn", d_cond="projection", **d_kwargs):
    G, D = FAMILIES[family]
    g = G(latent_dim=8, image_shape=shape, conditioning=g_cond, **TINY)
    return g, D(image_shape=shape, conditioning=d_cond, **TINY, **d_kwargs)


def randomise_cbn(module: nn.Module) -> None:
    """Per-class gamma/beta as after some training (they start at 1 and 0 for every class)."""
    for m in module.modules():
        if isinstance(m, ConditionalBatchNorm2d):
            nn.init.normal_(m.gamma.weight, 1.0, 0.5)
            nn.init.normal_(m.beta.weight, 0.0, 0.5)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("conditioning", CONDITIONINGS, ids="-".join)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_shapes_and_range(family, conditioning, shape):
    g, d = make_pair(family, shape, *conditioning)
    labels = torch.tensor([0, 3, 9])
    images = g(torch.randn(3, 8), labels)
    assert images.shape == (3, *shape)
    assert images.min() >= -1 and images.max() <= 1  # tanh, the data's range
    assert d(images, labels).shape == (3,)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("d_cond", ["projection", "concat"])
def test_aux_classifier_returns_scores_and_logits(family, d_cond):
    _, d = make_pair(family, (3, 32, 32), d_cond=d_cond, aux_classifier=True)
    scores, logits = d(torch.randn(5, 3, 32, 32), torch.arange(5))
    assert scores.shape == (5,) and logits.shape == (5, 10)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("conditioning", CONDITIONINGS, ids="-".join)
def test_generator_and_discriminator_are_conditional(family, conditioning):
    torch.manual_seed(0)
    g, d = make_pair(family, (1, 28, 28), *conditioning, spectral_norm=False)
    randomise_cbn(g)
    g.eval()
    d.eval()
    a, b = g(torch.randn(1, 8).repeat(2, 1), torch.tensor([3, 7]))
    assert not torch.allclose(a, b)  # same noise, different label → different image
    scores = d(a.expand(10, -1, -1, -1), torch.arange(10))
    assert scores.unique().numel() == 10  # same image, different label → different score


def test_conditional_batchnorm_uses_each_class_parameters():
    cbn = ConditionalBatchNorm2d(4, num_classes=10)
    x, labels = torch.randn(6, 4, 5, 5), torch.tensor([3, 0, 3, 1, 2, 3])
    plain = F.batch_norm(x, None, None, training=True)  # batch statistics, shared by all classes
    assert torch.allclose(cbn(x, labels), plain, atol=1e-6)  # starts as plain BatchNorm: gamma 1, beta 0

    beta3 = torch.tensor([1.0, 2.0, 3.0, 4.0])
    with torch.no_grad():
        cbn.gamma.weight[3] = 0
        cbn.beta.weight[3] = beta3
    out = cbn(x, labels)
    assert torch.equal(out[labels == 3], beta3[:, None, None].expand(3, 4, 5, 5))  # gamma 0: only beta is left
    assert torch.allclose(out[labels != 3], plain[labels != 3], atol=1e-6)  # other classes untouched


def test_projection_term_is_label_embedding_dot_features():
    embed, h, labels = nn.Embedding(10, 6), torch.randn(4, 6), torch.tensor([1, 1, 5, 9])
    assert torch.allclose(projection(h, labels, embed), (embed.weight[labels] * h).sum(1))


@pytest.mark.parametrize("family", FAMILIES)
def test_projection_discriminator_sees_labels_only_through_projection(family):
    _, d = make_pair(family, d_cond="projection", spectral_norm=False)
    images = torch.randn(1, 1, 28, 28).expand(10, -1, -1, -1)
    assert d(images, torch.arange(10)).unique().numel() == 10
    nn.init.zeros_(d.head.embed.weight)
    scores = d(images, torch.arange(10))
    assert torch.allclose(scores, scores[0].expand(10))


@pytest.mark.parametrize("family", FAMILIES)
def test_spectral_norm_makes_largest_singular_value_one(family):
    torch.manual_seed(0)
    _, d = make_pair(family, (3, 32, 32), d_cond="concat", aux_classifier=True, spectral_norm=True)
    d.train()
    for _ in range(3):  # power iteration steps run in training-mode forwards
        d(torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    weighted = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    normalised = [m for m in weighted if hasattr(m, "parametrizations")]
    assert len(normalised) == len(weighted) - 1  # all but the label-planes embedding, which feeds the input
    with torch.no_grad():
        sigmas = torch.stack([torch.linalg.matrix_norm(m.weight.flatten(1), ord=2) for m in normalised])
    assert torch.allclose(sigmas, torch.ones_like(sigmas), atol=0.02)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("conditioning", CONDITIONINGS, ids="-".join)
def test_discriminator_gradients_reach_every_generator_parameter(family, conditioning):
    g, d = make_pair(family, (1, 28, 28), *conditioning)
    labels = torch.arange(4)
    d(g(torch.randn(4, 8), labels), labels).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_resolution_stages():
    assert [resolution_stages((1, s, s)) for s in (28, 32, 64)] == [(7, 2), (4, 3), (4, 4)]


@pytest.mark.parametrize("network", [net for pair in FAMILIES.values() for net in pair], ids=lambda n: n.__name__)
@pytest.mark.parametrize("shape", [(1, 30, 30), (1, 28, 32), (3, 7, 7)])
def test_unsupported_image_size_is_a_clear_error(network, shape):
    with pytest.raises(ValueError, match=r"not supported.*4·2\^k or 7·2\^k.*28, 32, 64"):
        network(image_shape=shape)


@pytest.mark.parametrize("network", [net for pair in FAMILIES.values() for net in pair], ids=lambda n: n.__name__)
def test_unknown_conditioning_lists_the_options(network):
    with pytest.raises(ValueError, match="conditioning='film' is not supported: choose one of"):
        network(conditioning="film")


def test_resize_upsampling_draws_a_flat_input_flat_where_transposed_convolutions_draw_a_checkerboard():
    torch.manual_seed(0)
    flat = torch.ones(1, 4, 8, 8)
    resize, transposed = (upsampling_conv(4, 2, upsample) for upsample in ("resize", "transposed"))
    with torch.no_grad():
        smooth, checked = (conv(flat)[0, :, 2:-2, 2:-2] for conv in (resize, transposed))  # away from the padding
    assert smooth.shape == checked.shape == (2, 12, 12)
    assert torch.allclose(smooth, smooth[:, :1, :1].expand_as(smooth))
    assert not torch.allclose(checked, checked[:, :1, :1].expand_as(checked))
    assert torch.allclose(checked, checked.roll((2, 2), dims=(1, 2)))  # the pattern repeats every 2 pixels
    with pytest.raises(ValueError, match="upsample='bilinear' is not supported: choose one of transposed, resize"):
        upsampling_conv(4, 2, "bilinear")


def test_minibatch_std_appends_each_groups_spread():
    h = torch.tensor([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0], [1.0, 1.0], [5.0, 5.0], [5.0, 5.0]])
    out = MinibatchStd(group_size=2)(h)  # groups of consecutive pairs
    assert out.shape == (6, 3) and torch.equal(out[:, :2], h)
    assert torch.allclose(out[:, 2], torch.tensor([1.5, 1.5, 0.0, 0.0, 0.0, 0.0]), atol=1e-3)  # std (1, 2) → 1.5
    odd = MinibatchStd(group_size=4)(torch.randn(6, 2))  # 4 does not divide 6: groups of 3
    assert odd[0, 2] == odd[2, 2] and odd[3, 2] == odd[5, 2]
    with pytest.raises(ValueError, match="minibatch_std=1 is not a group size"):
        MinibatchStd(group_size=1)


@pytest.mark.parametrize("family", FAMILIES)
def test_minibatch_std_lets_the_discriminator_tell_copies_from_a_varied_batch(family):
    torch.manual_seed(0)
    _, d = make_pair(family, (3, 32, 32), spectral_norm=False, minibatch_std=4)
    _, plain = make_pair(family, (3, 32, 32), spectral_norm=False)
    labels = torch.zeros(4, dtype=torch.long)
    varied = torch.randn(4, 3, 32, 32)
    copies = varied[:1].expand(4, -1, -1, -1)
    assert d(varied, labels).shape == (4,)
    assert not torch.allclose(d(varied, labels)[0], d(copies, labels)[0])  # image 0 alike, its batch not
    assert torch.allclose(plain(varied, labels)[0], plain(copies, labels)[0])  # without: scored alone
