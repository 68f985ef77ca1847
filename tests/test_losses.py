import pytest
import torch

from condgan.gan.losses import HingeLoss, LSGANLoss, NonSaturatingLoss, WassersteinLoss

LOSSES = [LSGANLoss(), NonSaturatingLoss(), HingeLoss(), WassersteinLoss()]


def test_lsgan_matches_the_assignment_mse():
    mse = torch.nn.MSELoss()
    real, fake = torch.randn(8), torch.randn(8)
    loss = LSGANLoss()
    assert torch.allclose(loss.discriminator(real, fake), (mse(real, torch.ones(8)) + mse(fake, torch.zeros(8))) / 2)
    assert torch.allclose(loss.generator(fake), mse(fake, torch.ones(8)))


def test_bce_matches_torch_bce_with_logits():
    bce = torch.nn.BCEWithLogitsLoss()
    real, fake = torch.randn(8), torch.randn(8)
    loss = NonSaturatingLoss()
    assert torch.allclose(loss.discriminator(real, fake), bce(real, torch.ones(8)) + bce(fake, torch.zeros(8)))
    assert torch.allclose(loss.generator(fake), bce(fake, torch.ones(8)))


def test_hinge_values():
    loss = HingeLoss()
    assert loss.discriminator(torch.tensor([2.0]), torch.tensor([-2.0])) == 0  # both outside the margin
    assert loss.discriminator(torch.tensor([0.0]), torch.tensor([0.0])) == 2
    assert loss.generator(torch.tensor([1.0, 3.0])) == -2


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: loss.name)
def test_losses_reward_the_right_player(loss):
    confident_real, confident_fake = torch.full((4,), 3.0), torch.full((4,), -3.0)
    # D is better off when it scores reals high and fakes low ...
    assert loss.discriminator(confident_real, confident_fake) < loss.discriminator(confident_fake, confident_real)
    # ... and G is better off when its fakes are scored as real.
    assert loss.generator(confident_real) < loss.generator(confident_fake)
