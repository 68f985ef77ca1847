import pytest
import torch

from condgan.networks import MLPDiscriminator, MLPGenerator


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
