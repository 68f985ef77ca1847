"""model.snapshots: generators taken evenly over a run, sampled with the last one as a GeneratorMixture, through
checkpoints, exports and the commands that draw from them."""

import lightning as L
import pytest
import torch
from safetensors.torch import load_file, save_file

from condgan.checkpoints.io import atomic_save, load_generator, read_checkpoint
from condgan.errors import CheckpointError
from condgan.gan.mixture import GeneratorMixture
from condgan.inference.export import export_generator
from condgan.inference.runtime import load_inference_model
from condgan.inference.sampling import latent_noise_tensor
from condgan.networks import MLPGenerator
from tests.helpers import decode_png, write_untrained_checkpoint
from tests.helpers.tiny_gan import SHAPE, fit, tiny_gan


def mlp(seed: int) -> MLPGenerator:
    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=4, num_classes=10, image_shape=SHAPE, hidden=(16, 32)).eval()


def test_the_last_noise_value_picks_the_member_that_draws_each_image():
    members = [mlp(seed) for seed in range(3)]
    mixture = GeneratorMixture(members)
    assert mixture.latent_dim == 5 and mixture.num_classes == 10 and mixture.image_shape == SHAPE
    z, labels = torch.randn(6, 4), torch.arange(6)
    picks = torch.tensor([0.1, 1.5, -2.9, 100.2, -7.6, 3.99]) / 1024  # frac(1024·|z|) in thirds: 0 1 2 0 1 2
    with torch.no_grad():
        images = mixture(torch.cat([z, picks[:, None]], dim=1), labels)
        for row, k in enumerate([0, 1, 2, 0, 1, 2]):
            assert torch.allclose(images[row], members[k](z, labels)[row], atol=1e-6)
    for truncation in (None, 1.0, 0.1):  # a third each, whether or not the noise is truncated
        noise = latent_noise_tensor(30_000, 5, seed=1, truncation=truncation)
        shares = torch.bincount(mixture.member_index(noise), minlength=3) / 30_000
        assert torch.allclose(shares, torch.full((3,), 1 / 3), atol=0.015), truncation


def test_members_must_take_and_make_the_same_shapes():
    other = MLPGenerator(latent_dim=8, num_classes=10, image_shape=SHAPE, hidden=(16, 32))
    with pytest.raises(ValueError, match="same shapes"):
        GeneratorMixture([mlp(0), other])


class RecordFinalGenerator(L.Callback):
    """The final (EMA) generator's weights after every training batch."""

    def __init__(self):
        self.after_batch: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.after_batch.append({k: v.clone() for k, v in pl_module.final_generator.state_dict().items()})


def test_snapshots_are_taken_evenly_over_the_budget_and_sampled_with_the_last_generator():
    model, record = tiny_gan(ema_decay=0.9, snapshots=2), RecordFinalGenerator()
    fit(model, batches=6, callbacks=[record])
    assert model.budget == 6 and int(model.snapshots_taken) == 2
    for snapshot, batch in zip(model.generator_snapshots, (2, 4), strict=True):  # 6 batches in thirds
        taken = record.after_batch[batch - 1]
        assert all(torch.equal(v, taken[k]) for k, v in snapshot.state_dict().items())
        assert not all(torch.equal(v, record.after_batch[-1][k]) for k, v in snapshot.state_dict().items())
    sampler = model.sampling_generator
    assert isinstance(sampler, GeneratorMixture) and sampler.latent_dim == 5
    assert list(sampler.members) == [*model.generator_snapshots, model.generator_ema.module]
    without = tiny_gan(ema_decay=0.9)
    assert without.sampling_generator is without.generator_ema.module  # no snapshots: the EMA generator itself
    with pytest.raises(ValueError, match=r"model\.snapshots must be a whole number"):
        tiny_gan(snapshots=-1)


def test_a_checkpoint_of_a_run_with_snapshots_loads_as_their_mixture(tmp_path):
    model = tiny_gan(ema_decay=0.9, snapshots=2)
    trainer = fit(model, batches=6)
    path = tmp_path / "snapshots.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    generator_config = {"_target_": "condgan.networks.MLPGenerator", "latent_dim": 4, "image_shape": list(SHAPE)}
    ckpt["hyper_parameters"] = {"model": {"generator": {**generator_config, "hidden": [16, 32]}}}
    atomic_save(ckpt, path)
    generator, _ = load_generator(path)
    noise, labels = torch.randn(30, 5), torch.arange(30) % 10
    with torch.no_grad():
        expected = model.sampling_generator.eval()(noise, labels)
        assert isinstance(generator, GeneratorMixture) and torch.equal(generator(noise, labels), expected)

    for changed in (torch.tensor(10**6), torch.tensor(float("nan")), torch.tensor([1, 1])):
        ckpt["state_dict"]["snapshots_taken"] = changed
        atomic_save(ckpt, path)
        with pytest.raises(CheckpointError, match="snapshots_taken is not a count"):
            load_generator(path)


def moved(weight: torch.Tensor) -> torch.Tensor:
    """Another generator's weight: each value scaled by 1 ± 20% (counters stay as they are)."""
    return weight * (1 + 0.2 * torch.randn_like(weight)) if weight.is_floating_point() else weight


@pytest.fixture(scope="module")
def snapshot_checkpoint(tmp_path_factory):
    """An untrained default-config checkpoint with two snapshots beside its generator."""
    path = write_untrained_checkpoint(tmp_path_factory.mktemp("snapshots"))
    ckpt = read_checkpoint(path)
    weights = {name.removeprefix("generator."): v for name, v in ckpt["state_dict"].items()}
    for k in range(2):
        torch.manual_seed(k + 1)  # weights of their own, so that each member draws other images
        ckpt["state_dict"].update({f"generator_snapshots.{k}.{name}": moved(v) for name, v in weights.items()})
    ckpt["state_dict"]["snapshots_taken"] = torch.tensor(2)
    atomic_save(ckpt, path)
    return path


@pytest.mark.parametrize("fmt", ["onnx", "safetensors"])
def test_a_mixture_exports_and_loads_back_as_the_same_images(snapshot_checkpoint, fmt, tmp_path):
    generator, _ = load_generator(snapshot_checkpoint)
    assert isinstance(generator, GeneratorMixture) and len(generator.members) == 3
    path = export_generator(snapshot_checkpoint, fmt, tmp_path / f"mixture.{fmt}")  # checked against PyTorch
    runner = load_inference_model(path)
    assert runner.latent_dim == generator.latent_dim
    noise, labels = latent_noise_tensor(9, generator.latent_dim, seed=3), torch.arange(9)
    with torch.no_grad():
        expected = generator(noise, labels).numpy()
    assert abs(runner.generator(noise.numpy(), labels.numpy()) - expected).max() <= 1e-4
    if fmt == "safetensors":
        reloaded, _ = load_generator(path)
        assert isinstance(reloaded, GeneratorMixture) and len(reloaded.members) == 3
        weights = load_file(path)
        for stray in ("extra", "members.7.stem.weight"):  # a name outside members.<k>, a member beyond the count
            save_file({**weights, stray: torch.zeros(1)}, path)
            with pytest.raises(CheckpointError, match="not those of a generator mixture"):
                load_generator(path)


def test_generate_draws_from_the_mixture(snapshot_checkpoint, run_script, tmp_path):
    plain = write_untrained_checkpoint(tmp_path / "plain")  # the same last generator, without snapshots
    for ckpt, name in ((snapshot_checkpoint, "mixture.png"), (plain, "plain.png")):
        run_script("generate", f"ckpt_path={ckpt}", "n_per_class=3", "truncation=1.5", f"out={tmp_path / name}")
    mixture, alone = decode_png(tmp_path / "mixture.png"), decode_png(tmp_path / "plain.png")
    assert mixture.shape == alone.shape and not torch.equal(mixture, alone)  # other members drew some of them


class StopAfterBatches(L.Callback):
    def __init__(self, batches: int):
        self.batches = batches

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        trainer.should_stop = pl_module.batches_trained >= self.batches


def test_a_resumed_run_keeps_its_snapshots_and_takes_the_rest_on_time(tmp_path):
    data = [(torch.rand(16, *SHAPE) * 2 - 1, torch.randint(0, 10, (16,))) for _ in range(3)]

    def trainer(*callbacks):  # 2 epochs of 3 batches: a budget of 6, snapshots after batches 2 and 4
        return L.Trainer(
            max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False, callbacks=list(callbacks),
            enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        )  # fmt: skip

    first = tiny_gan(ema_decay=0.9, snapshots=2)
    interrupted = trainer(StopAfterBatches(3))
    interrupted.fit(first, torch.utils.data.DataLoader(data, batch_size=None))
    assert first.batches_trained == 3 and int(first.snapshots_taken) == 1
    interrupted.save_checkpoint(tmp_path / "after3.ckpt")
    kept = {k: v.clone() for k, v in first.generator_snapshots[0].state_dict().items()}

    resumed, record = tiny_gan(ema_decay=0.9, snapshots=2), RecordFinalGenerator()
    trainer(record).fit(resumed, torch.utils.data.DataLoader(data, batch_size=None), ckpt_path=tmp_path / "after3.ckpt")
    assert resumed.batches_trained == 6 and int(resumed.snapshots_taken) == 2
    assert all(torch.equal(v, kept[k]) for k, v in resumed.generator_snapshots[0].state_dict().items())
    taken = record.after_batch[0]  # batch 4, the first of the resumed fit
    assert all(torch.equal(v, taken[k]) for k, v in resumed.generator_snapshots[1].state_dict().items())


def test_validating_a_mixture_leaves_training_the_noise_of_the_run_without_snapshots():
    data = [(torch.rand(16, *SHAPE) * 2 - 1, torch.randint(0, 10, (16,))) for _ in range(3)]
    trained = []
    for snapshots in (0, 1):  # 1: a snapshot after batch 3, so epoch 2 validates a mixture before training on
        model = tiny_gan(ema_decay=0.9, snapshots=snapshots)
        L.seed_everything(0)
        L.Trainer(
            max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, num_sanity_val_steps=0,
        ).fit(model, *[torch.utils.data.DataLoader(data, batch_size=None)] * 2)  # fmt: skip
        assert int(getattr(model, "snapshots_taken", 0)) == snapshots
        trained.append(model.generator.state_dict())
    assert all(torch.equal(v, trained[1][k]) for k, v in trained[0].items())
