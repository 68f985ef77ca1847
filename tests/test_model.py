"""The training tricks and penalties: each one changes what it should, on tiny networks and batches."""

import pytest
import torch

from condgan.checkpoints.io import load_generator
from condgan.gan.augment import DiffAugment, cutout, translation
from condgan.gan.losses import HingeLoss
from condgan.gan.penalties import (
    R1,
    Consistency,
    DiscriminatorBatch,
    GradientPenalty,
    LeCam,
    ModeSeeking,
    consistency_penalty,
    gradient_penalty,
    lecam_penalty,
    mode_seeking_loss,
    r1_penalty,
    same_label_partners,
)
from condgan.networks import MLPDiscriminator
from tests.helpers.tiny_gan import SHAPE, fit, tiny_gan


class AuxMLPDiscriminator(MLPDiscriminator):
    """A class head on the MLP discriminator, for testing the model's handling of (scores, logits): AC-GAN's K
    logits, or with ``fake_classes`` the 2K of an ADC-GAN or TAC-GAN head."""

    def __init__(self, fake_classes: bool = False):
        super().__init__(num_classes=10, image_shape=SHAPE, hidden=32)
        self.aux_fake_classes = fake_classes
        self.classify = torch.nn.Linear(64, 20 if fake_classes else 10)

    def forward(self, images, labels):
        return super().forward(images, labels), self.classify(images.flatten(1))


def test_n_critic_steps_g_once_every_n_batches():
    model = tiny_gan(d_steps_per_g=3)
    trainer = fit(model, batches=6)
    opt_g, opt_d = trainer.optimizers
    assert opt_d.state_dict()["state"][0]["step"] == 6 and opt_g.state_dict()["state"][0]["step"] == 2


def test_ema_generator_lags_the_trained_one_and_is_what_checkpoints_serve(tmp_path):
    model = tiny_gan(ema_decay=0.9)
    before = [p.clone() for p in model.generator_ema.module.parameters()]
    trainer = fit(model)
    ema, live = list(model.generator_ema.module.parameters()), list(model.generator.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(ema, before, strict=True))  # it moved ...
    assert all(not torch.equal(a, b) for a, b in zip(ema, live, strict=True))  # ... but is not the live generator
    assert model.sampling_generator is model.generator_ema.module

    path = tmp_path / "ema.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    ckpt["hyper_parameters"] = {
        "model": {
            "generator": {
                "_target_": "condgan.networks.MLPGenerator",
                "latent_dim": 4,
                "image_shape": list(SHAPE),
                "hidden": [16, 32],
            }
        }
    }
    torch.save(ckpt, path)
    generator, _ = load_generator(path)
    assert all(torch.equal(a, b) for a, b in zip(generator.parameters(), ema, strict=True))


@pytest.mark.parametrize(
    "tricks, logged",
    [
        ({"penalties": {"gp": GradientPenalty(10.0)}, "loss": HingeLoss()}, "train/gp"),
        ({"penalties": {"r1": R1(gamma=1.0)}}, "train/r1"),
        ({"penalties": {"cr": Consistency(10.0)}}, "train/cr"),
        ({"penalties": {"ms": ModeSeeking(1.0)}}, "train/ms"),
        ({"discriminator": AuxMLPDiscriminator()}, "train/d_aux"),
        ({"augment": DiffAugment("translation,cutout")}, "train/d_loss"),
    ],
)
def test_each_trick_trains_and_logs(tricks, logged):
    trainer = fit(tiny_gan(**tricks))
    assert logged in trainer.callback_metrics and torch.isfinite(trainer.callback_metrics[logged])
    if "discriminator" in tricks:
        assert "train/g_aux" in trainer.callback_metrics


class RecordingR1(R1):
    """R1 that notes the batches it ran on."""

    def __init__(self, model_batches, **kwargs):
        super().__init__(**kwargs)
        self.batches, self.model_batches = [], model_batches

    def __call__(self, batch):
        self.batches.append(self.model_batches())
        return super().__call__(batch)


def test_lazy_r1_runs_every_nth_batch_at_n_times_its_weight():
    """StyleGAN2's lazy regularisation: R1 on every ``every``-th batch only (its weight × ``every``)."""
    model = tiny_gan()
    model.penalties = [r1 := RecordingR1(lambda: model.batches_trained, gamma=0.5, every=4)]
    trainer = fit(model, batches=9)
    assert r1.batches == [0, 4, 8] and "train/r1" in trainer.callback_metrics
    assert r1.scaled(torch.tensor(1.0)).item() == 2.0  # 0.5 × 4
    with pytest.raises(ValueError, match="R1's every must be >= 1"):
        R1(gamma=1.0, every=0)
    assert not R1(gamma=0.0).due(0)  # weight 0: switched off


def test_penalties_come_from_their_config_group(tmp_path):
    import hydra

    from tests.helpers import compose_config

    cfg = compose_config(
        "model=dcgan", "+penalty@model.penalties.gp=gp", "model.penalties.gp.weight=5", output_dir=tmp_path
    )
    (gp,) = hydra.utils.instantiate(cfg.model).penalties
    assert isinstance(gp, GradientPenalty) and (gp.weight, gp.every) == (5, 1)
    (r1,) = hydra.utils.instantiate(compose_config(output_dir=tmp_path).model).penalties  # the default's
    assert isinstance(r1, R1) and r1.weight == 0.01
    cfg = compose_config("model=dcgan", "+penalty@model.penalties.lecam=lecam", output_dir=tmp_path)
    (lecam,) = hydra.utils.instantiate(cfg.model).penalties
    assert isinstance(lecam, LeCam) and (lecam.weight, lecam.decay, lecam.network) == (0.01, 0.99, "discriminator")


class RecordingMLPDiscriminator(MLPDiscriminator):
    """Keeps every batch of images it is shown."""

    def __init__(self):
        super().__init__(num_classes=10, image_shape=SHAPE, hidden=32)
        self.seen = []

    def forward(self, images, labels):
        self.seen.append(images.detach().clone())
        return super().forward(images, labels)


@pytest.mark.parametrize("augment", [None, DiffAugment("cutout")])
def test_the_discriminator_trains_on_augmented_images(augment):
    # fit's images are uniform in (-1, 1): a pixel at exactly -1 comes only from cutout's blanked square (4×4 at
    # 8 px, at least 2×2 where the border cuts it)
    discriminator = RecordingMLPDiscriminator()
    fit(tiny_gan(discriminator=discriminator, augment=augment), batches=3)
    blanked = [(images == -1).flatten(1).sum(1).ge(4).all().item() for images in discriminator.seen]
    assert len(blanked) >= 6 and all(blanked) == (augment is not None) and any(blanked) == (augment is not None)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic():
    w = torch.randn(1, *SHAPE)
    score = lambda x, y: (x * w / w.norm()).flatten(1).sum(1)  # ‖∇‖ = 1 everywhere
    real, fake = torch.randn(5, *SHAPE), torch.randn(5, *SHAPE)
    assert gradient_penalty(score, real, fake, torch.zeros(5)).item() == pytest.approx(0, abs=1e-10)
    steep = lambda x, y: 3 * score(x, y)
    assert gradient_penalty(steep, real, fake, torch.zeros(5)).item() == pytest.approx(4.0)  # (3 − 1)²


def test_r1_penalty_is_half_the_squared_gradient_norm():
    score = lambda x, y: 2 * x.flatten(1).sum(1)  # ∇ = 2 in every pixel
    assert r1_penalty(score, torch.randn(3, *SHAPE), torch.zeros(3)).item() == pytest.approx(0.5 * 4 * 64)


def test_consistency_penalty_is_zero_only_for_a_critic_blind_to_shifts():
    torch.manual_seed(0)
    images, labels = torch.rand(16, 1, 16, 16) * 2 - 1, torch.zeros(16)
    constant_critic = lambda x, y: torch.ones(len(x))
    assert consistency_penalty(constant_critic, images, labels, constant_critic(images, labels)).item() == 0
    w = torch.randn(1, 1, 16, 16)
    where_critic = lambda x, y: (x * w).flatten(1).sum(1)  # weighs each pixel position differently
    penalty = consistency_penalty(where_critic, images, labels, where_critic(images, labels))
    assert penalty.item() > 1.0


def test_lecam_penalty_is_zero_only_while_d_keeps_inside_its_anchors():
    d_real, d_fake = torch.tensor([0.5, 1.0]), torch.tensor([-0.5, 0.0])
    # reals at or below the fakes' anchor 1, fakes at or above the reals' anchor -1
    assert lecam_penalty(d_real, d_fake, torch.tensor(-1.0), torch.tensor(1.0)).item() == 0
    # reals above the fakes' anchor 0 by 0.5 and 1; fakes below the reals' anchor 1 by 1.5 and 1
    assert lecam_penalty(d_real, d_fake, torch.tensor(1.0), torch.tensor(0.0)).item() == pytest.approx(
        (0.25 + 1) / 2 + (2.25 + 1) / 2
    )
    scores = d_real.clone().requires_grad_(True)
    lecam_penalty(scores, d_fake, torch.tensor(1.0), torch.tensor(0.0)).backward()
    assert (scores.grad > 0).all()  # descending it lowers D's scores of reals towards the fakes'


def test_lecam_anchors_are_moving_averages_that_a_checkpoint_carries():
    batch = lambda real, fake: DiscriminatorBatch(None, None, None, None, torch.tensor(real), torch.tensor(fake))
    lecam = LeCam(weight=0.3, decay=0.9)
    assert lecam(batch([2.0, 4.0], [-1.0, -3.0])).item() == pytest.approx(
        lecam_penalty(torch.tensor([2.0, 4.0]), torch.tensor([-1.0, -3.0]), torch.tensor(3.0), torch.tensor(-2.0))
    )  # the first batch's means start the anchors
    lecam(batch([13.0], [8.0]))
    assert lecam.state_dict() == pytest.approx({"anchor_real": 0.9 * 3 + 0.1 * 13, "anchor_fake": 0.9 * -2 + 0.1 * 8})

    model = tiny_gan(penalties={"lecam": LeCam(weight=0.3)})
    fit(model, batches=3)
    saved: dict = {}
    model.on_save_checkpoint(saved)
    resumed = tiny_gan(penalties={"lecam": LeCam(weight=0.3)})
    resumed.on_load_checkpoint(saved)
    assert resumed.penalties[0].state_dict() == model.penalties[0].state_dict() != {}
    fresh = tiny_gan(penalties={"lecam": LeCam(weight=0.3)})
    fresh.on_load_checkpoint({})  # a checkpoint from before LeCam: the anchors start afresh
    assert fresh.penalties[0].anchors is None
    with pytest.raises(ValueError, match="LeCam's saved state must be two numbers"):
        LeCam(weight=0.3).load_state_dict({"anchor_real": "os.system", "anchor_fake": 0.0})
    with pytest.raises(ValueError, match="LeCam's decay must be >= 0 and < 1"):
        LeCam(weight=0.3, decay=1.0)


def test_same_label_partners_pair_each_image_with_another_of_its_label():
    labels = torch.tensor([3, 1, 3, 2, 1, 3, 0])
    partners = same_label_partners(labels)
    assert torch.equal(labels[partners], labels)
    alone = torch.tensor([3, 6])  # the only 2 and the only 0
    assert torch.equal(partners[alone], alone)
    others = torch.tensor([0, 1, 2, 4, 5])
    assert (partners[others] != others).all() and len(set(partners[[0, 2, 5]].tolist())) == 3  # a cycle of the 3s


def test_mode_seeking_loss_falls_as_fakes_of_a_label_differ():
    torch.manual_seed(0)
    noise, labels = torch.randn(8, 4), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    base = torch.randn(8, 1, 4, 4)
    alike = mode_seeking_loss(noise, base * 0.01, labels)
    apart = mode_seeking_loss(noise, base, labels)
    assert alike.item() > 50 * apart.item()
    fake = base.clone().requires_grad_(True)
    mode_seeking_loss(noise, fake, torch.arange(8)).backward()  # no two of a label: zero, and no error
    assert torch.equal(fake.grad, torch.zeros_like(fake))


def test_diffaugment_moves_and_blanks_content_differentiably():
    torch.manual_seed(0)
    x = torch.full((64, 1, 16, 16), -1.0)
    x[:, :, 6:10, 6:10] = 1.0  # a bright square on the background
    shifted = translation(x)
    assert shifted.shape == x.shape and not torch.equal(shifted, x)
    assert (shifted == 1).flatten(1).sum(1).le(16).all()  # content moves (or leaves), never multiplies
    holes = (cutout(torch.ones(32, 1, 16, 16)) == -1).flatten(1).sum(1)
    assert holes.ge(16).all() and holes.le(64).all() and (holes == 64).any()  # 8×8, cut by the border at worst to 4×4
    x.requires_grad_(True)
    DiffAugment("translation,cutout,color")(x).sum().backward()
    assert x.grad is not None
    with pytest.raises(ValueError, match="Unknown DiffAugment policy"):
        DiffAugment("rotate")


@pytest.mark.parametrize("switches", [{"channels_last": True}, pytest.param({"compile": True}, marks=pytest.mark.e2e)])
def test_speed_switches_train(switches):
    """R1 and WGAN-GP differentiate through D twice; under compile they run D eagerly (compiled graphs refuse).
    The compile case is in `make test-e2e`: on a cold inductor cache it compiles for up to half a minute."""
    from condgan.gan.penalties import R1, GradientPenalty

    model = tiny_gan(**switches, penalties={"r1": R1(gamma=1.0), "gp": GradientPenalty(weight=1.0)})
    keys = set(model.state_dict())
    trainer = fit(model, batches=3)
    assert torch.isfinite(trainer.callback_metrics["train/g_loss"])
    assert torch.isfinite(trainer.callback_metrics["train/r1"]) and torch.isfinite(trainer.callback_metrics["train/gp"])
    assert set(model.state_dict()) == keys  # checkpoints keep their layout


def test_ema_warms_up_then_decays_at_the_configured_rate():
    from condgan.gan.model import EMAWithWarmup

    update = EMAWithWarmup(0.999)
    ema, new = [torch.zeros(1)], [torch.ones(1)]
    update(ema, new, torch.tensor(0))  # first update: decay (1 + 0) / 10 = 0.1 → ema follows G closely
    assert ema[0].item() == pytest.approx(0.9)
    ema = [torch.zeros(1)]
    update(ema, new, torch.tensor(100_000))  # late: the configured 0.999
    assert ema[0].item() == pytest.approx(0.001)


def test_ema_warmup_sets_how_far_back_the_average_reaches():
    """(1 + n) / (warmup + n): at n = 1000 the decay is 1001/1010 with warmup 10 and 1001/1020 with 20, so the
    larger warmup follows G more closely; past the ramp both settle at ``decay``."""
    from condgan.gan.model import EMAWithWarmup

    new = [torch.ones(1)]
    for warmup, expected in ((10, 9 / 1010), (20, 19 / 1020)):
        ema = [torch.zeros(1)]
        EMAWithWarmup(0.999, warmup)(ema, new, torch.tensor(1000))
        assert ema[0].item() == pytest.approx(expected)
        ema = [torch.zeros(1)]
        EMAWithWarmup(0.999, warmup)(ema, new, torch.tensor(10**6))
        assert ema[0].item() == pytest.approx(0.001)
    with pytest.raises(ValueError, match="ema_warmup must be > 1"):
        EMAWithWarmup(0.999, 1)
    model = tiny_gan(ema_decay=0.999, ema_warmup=21)
    assert model.generator_ema.multi_avg_fn.warmup == 21


def test_adc_gan_head_names_fakes_as_their_own_classes():
    """ADC-GAN: 2K logits; D names a fake of class k as K + k; G's class loss is logit[K + k] − logit[k]."""
    from condgan.networks import DCGANDiscriminator

    d = DCGANDiscriminator(
        num_classes=10, image_shape=(1, 28, 28), base_channels=8, aux_classifier=True, aux_fake_classes=True
    )
    scores, logits = d(torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 9]))
    assert scores.shape == (4,) and logits.shape == (4, 20)
    model = tiny_gan()
    labels = torch.tensor([0, 1, 2, 9])
    logits = torch.randn(4, 20)
    fake_named = torch.nn.functional.cross_entropy(logits, labels + 10)
    assert torch.allclose(
        model._class_loss_d(logits, logits, labels),
        (torch.nn.functional.cross_entropy(logits, labels) + fake_named) / 2,
    )
    expected = (logits[torch.arange(4), labels + 10] - logits[torch.arange(4), labels]).mean()
    assert torch.allclose(model._class_loss_g(logits, labels), expected, atol=1e-6)
    with pytest.raises(ValueError, match="needs aux_classifier=true"):
        DCGANDiscriminator(num_classes=10, image_shape=(1, 28, 28), base_channels=8, aux_fake_classes=True)


@pytest.mark.parametrize("push", [0.0, 0.5, 1.0])
def test_aux_fake_push_weighs_adc_gans_push_from_fakes_of_k(push):
    """G's ADC-GAN class loss is CE(real k) − push · CE(fake of k): push 0 is AC-GAN's pull alone, D's loss
    does not change."""
    cross_entropy = torch.nn.functional.cross_entropy
    labels, logits = torch.tensor([0, 3, 9]), torch.randn(3, 20)
    model = tiny_gan(aux_fake_push=push)
    expected = cross_entropy(logits, labels) - push * cross_entropy(logits, labels + 10)
    assert torch.allclose(model._class_loss_g(logits, labels), expected, atol=1e-6)
    d_loss = (cross_entropy(logits, labels) + cross_entropy(logits, labels + 10)) / 2
    assert torch.allclose(model._class_loss_d(logits, logits, labels), d_loss)


@pytest.mark.parametrize("push", [-0.1, 1.5])
def test_aux_fake_push_outside_zero_to_one_is_refused(push):
    with pytest.raises(ValueError, match="aux_fake_push must be between 0"):
        tiny_gan(aux_fake_push=push)


def test_twin_classifier_reads_the_2k_logits_as_tac_gans_two_heads():
    """D: the first K logits name reals, the twin K name fakes, each a softmax of its own; G: be named k by the
    real head and not by the twin (weighted by aux_fake_push)."""
    cross_entropy = torch.nn.functional.cross_entropy
    labels, real, fake = torch.tensor([0, 3, 9]), torch.randn(3, 20), torch.randn(3, 20)
    model = tiny_gan(discriminator=AuxMLPDiscriminator(fake_classes=True), twin_classifier=True, aux_fake_push=0.5)
    d_loss = (cross_entropy(real[:, :10], labels) + cross_entropy(fake[:, 10:], labels)) / 2
    assert torch.allclose(model._class_loss_d(real, fake, labels), d_loss)
    g_loss = cross_entropy(fake[:, :10], labels) - 0.5 * cross_entropy(fake[:, 10:], labels)
    assert torch.allclose(model._class_loss_g(fake, labels), g_loss)
    assert not torch.allclose(
        tiny_gan(discriminator=AuxMLPDiscriminator(fake_classes=True))._class_loss_g(fake, labels), g_loss
    )
    trainer = fit(model, batches=3)
    assert torch.isfinite(trainer.callback_metrics["train/g_aux"])


def test_twin_classifier_without_2k_logits_is_refused():
    with pytest.raises(ValueError, match=r"model\.twin_classifier needs model\.discriminator\.aux_classifier=true"):
        tiny_gan(discriminator=AuxMLPDiscriminator(), twin_classifier=True)


def test_the_class_weight_moves_to_aux_weight_end_over_the_budget():
    model = tiny_gan(discriminator=AuxMLPDiscriminator(), aux_weight=2.0, aux_weight_end=0.5)
    fit(model, batches=6)
    assert model.budget == 6 and model.class_loss_weight() == pytest.approx(0.5)  # after the last batch
    model.batches_trained = 3
    assert model.class_loss_weight() == pytest.approx(1.25)
    assert tiny_gan(aux_weight=2.0).class_loss_weight() == 2.0  # no end: constant


def small_dcgan_d(image_shape=(1, 28, 28), **kwargs):
    from condgan.networks import DCGANDiscriminator

    torch.manual_seed(0)
    return DCGANDiscriminator(num_classes=10, image_shape=image_shape, base_channels=8, **kwargs)


def test_one_discriminator_call_on_reals_and_fakes_where_that_changes_nothing():
    """The DCGAN D scores each image alone: one call on both halves gives what two calls give. D with
    dropout (the assignment's MLP), spectral norm or DiffAugment keeps two calls (their draws would change)."""
    model = tiny_gan(discriminator=small_dcgan_d(spectral_norm=False, aux_classifier=True, aux_fake_classes=True))
    assert model.joint_real_fake_pass
    real, fake, labels = torch.randn(6, 1, 28, 28), torch.randn(6, 1, 28, 28), torch.randint(0, 10, (6,))
    joint = model.discriminate_pair(real, fake, labels)
    model.joint_real_fake_pass = False
    for (j_scores, j_logits), (s_scores, s_logits) in zip(
        joint, model.discriminate_pair(real, fake, labels), strict=True
    ):
        assert j_scores.shape == (6,) and j_logits.shape == (6, 20)
        assert torch.allclose(j_scores, s_scores, atol=1e-5) and torch.allclose(j_logits, s_logits, atol=1e-5)
    assert not tiny_gan().joint_real_fake_pass  # MLP D: dropout
    assert not tiny_gan(discriminator=small_dcgan_d(spectral_norm=True)).joint_real_fake_pass
    augmented = tiny_gan(discriminator=small_dcgan_d(spectral_norm=False), augment=DiffAugment("translation"))
    assert not augmented.joint_real_fake_pass
    assert not tiny_gan(discriminator=small_dcgan_d(spectral_norm=False, minibatch_std=2)).joint_real_fake_pass


@pytest.mark.parametrize(("joint", "calls_per_batch"), [(True, 2), (False, 3)])
def test_a_training_batch_calls_the_discriminator_once_for_both_halves_where_it_can(joint, calls_per_batch):
    """D's update on reals and fakes, then G's against the updated D: two calls a batch where one call serves
    both halves (the DCGAN D), three where it cannot (the MLP D: dropout)."""
    d = small_dcgan_d(image_shape=(1, 8, 8), spectral_norm=False) if joint else None
    model = tiny_gan(**({"discriminator": d} if joint else {}))
    assert model.joint_real_fake_pass is joint
    batch_sizes = []
    model.discriminator.register_forward_hook(lambda module, args, out: batch_sizes.append(len(args[0])))
    fit(model, batches=2)
    assert batch_sizes == ([32, 16] if joint else [16, 16, 16]) * 2


def test_channels_last_networks_hand_gradients_back_in_their_own_layout():
    """Under channels_last, G's stem map is NHWC like its up path, and the gradient of D's flattened
    features comes back NHWC: the same numbers as NCHW, without kernels that mix layouts."""
    from condgan.networks import DCGANGenerator
    from condgan.networks.layers import flatten_features

    h = torch.randn(2, 4, 3, 3).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    flat, seen = flatten_features(h), []
    h.register_hook(seen.append)  # runs after flatten_features' hook: sees the gradient the kernels get
    assert torch.equal(flat, h.detach().flatten(1))
    flat.backward(torch.arange(72.0).reshape(2, 36))
    assert seen[0].is_contiguous(memory_format=torch.channels_last) and not seen[0].is_contiguous()
    assert torch.equal(h.grad, torch.arange(72.0).reshape(2, 4, 3, 3))

    torch.manual_seed(0)
    g = DCGANGenerator(latent_dim=8, num_classes=10, image_shape=(1, 28, 28), base_channels=4, conditioning="concat")
    noise, labels = torch.randn(3, 8), torch.tensor([0, 5, 9])
    assert g.stem_map(noise, labels).is_contiguous()
    expected = g(noise, labels)
    g.to(memory_format=torch.channels_last)
    stem = g.stem_map(noise, labels)
    assert stem.is_contiguous(memory_format=torch.channels_last) and not stem.is_contiguous()
    assert torch.allclose(g(noise, labels), expected, atol=1e-5)
