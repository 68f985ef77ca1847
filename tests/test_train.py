"""End to end through run.py on tiny data: the assignment's commands, the run folder, resume."""

import hydra
import pytest
import torch

from condgan.checkpoints.io import read_checkpoint
from condgan.gan.model import BATCHES_TRAINED, PENALTY_STATE
from condgan.training.csv_logger import read_metrics
from tests.helpers import CONFIG_DIR, cli_args, compose_config, kill_when

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_passes_fast_dev_run(run_cli, experiment):
    """Each experiment's model, callbacks and trainer settings run a step; on the tiny MNIST stand-in for its
    data set (the datamodules have their own tests on tiny copies of their formats)."""
    run_dir = run_cli("debug=fast_dev_run", f"experiment={experiment}", "datamodule=mnist")
    assert (run_dir / "samples" / "epoch_000.png").is_file()
    assert (run_dir / "config.yaml").is_file()


def test_default_trains_under_bf16_autocast_with_channels_last(run_cli):
    """The CPU speed switches of docs/benchmarks.md: weights stay float32, samples and checkpoint are written."""
    run_dir = run_cli("trainer.max_epochs=1", "trainer.precision=bf16-mixed", "model.channels_last=true")
    ckpt = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    weights = [v for k, v in ckpt["state_dict"].items() if k.startswith("generator.") and v.is_floating_point()]
    assert weights and all(w.dtype == torch.float32 and torch.isfinite(w).all() for w in weights)
    assert ckpt["hyper_parameters"]["trainer"]["precision"] == "bf16-mixed"
    assert (run_dir / "samples" / "epoch_000.png").is_file()


def test_sample_grid_every_n_epochs_draws_every_nth_and_the_last_epoch(run_cli):
    run_dir = run_cli("trainer.max_epochs=3", "test=false", "callbacks.sample_grid.every_n_epochs=2")
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]


def test_sample_grid_every_0_epochs_is_refused(run_cli):
    with pytest.raises(SystemExit, match=r"sample grid needs n_per_class and every_n_epochs >= 1, got 10 and 0"):
        run_cli("trainer.max_epochs=1", "test=false", "callbacks.sample_grid.every_n_epochs=0")


def test_a_minibatch_std_group_of_one_is_refused(run_cli):
    with pytest.raises(SystemExit, match=r"minibatch_std=1 is not a group size: pass 2 or more, or 0"):
        run_cli("trainer.max_epochs=1", "test=false", "model.discriminator.minibatch_std=1")


def test_assignment_command_leaves_a_complete_run_folder(run_cli):
    run_dir = run_cli("experiment=train_mnist_gan.yaml", "trainer.max_epochs=1", "trainer.gpus=0")
    for name in ("config.yaml", "checkpoints/last.ckpt", "samples/epoch_000.png", "loss_curves.png", "csv/metrics.csv"):
        assert (run_dir / name).is_file(), name
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/g_loss", "train/d_loss", "val/d_real", "val/d_fake", "test/g_loss", "test/d_loss"} <= set(header)

    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)  # plain types only
    config = ckpt["hyper_parameters"]
    assert config["model"]["generator"]["_target_"] == "condgan.networks.MLPGenerator"  # the assignment's model
    assert config["trainer"]["gpus"] == 0
    assert any(k.startswith("generator.") for k in ckpt["state_dict"])


def test_resume_continues_counters_and_history(run_cli, tmp_path):
    first = run_cli("trainer.max_epochs=1", "test=false", run_dir=tmp_path / "first")
    ckpt1 = read_checkpoint(first / "checkpoints" / "last.ckpt")
    steps_per_epoch = ckpt1["global_step"]
    assert steps_per_epoch > 0

    second = run_cli(
        "trainer.max_epochs=2",
        "test=false",
        f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}",
        run_dir=tmp_path / "second",
    )
    ckpt2 = read_checkpoint(second / "checkpoints" / "last.ckpt")
    assert ckpt2["epoch"] == 1 and ckpt2["global_step"] == 2 * steps_per_epoch
    assert (second / "samples" / "epoch_001.png").is_file() and not (second / "samples" / "epoch_000.png").exists()
    history = ckpt2["callbacks"]["LossCurves"]["history"]["train/g_loss"]
    assert history[0][0] < steps_per_epoch <= history[-1][0]  # the plot covers both runs
    # The optimizer state came along: Adam's step count kept growing instead of restarting.
    adam_steps = ckpt2["optimizer_states"][0]["state"][0]["step"]
    assert adam_steps == ckpt1["optimizer_states"][0]["state"][0]["step"] * 2


def test_generator_rebuilt_from_checkpoint_alone(run_cli):
    from condgan.checkpoints.io import load_generator

    run_dir = run_cli("trainer.max_epochs=1", "test=false")
    generator, config = load_generator(run_dir / "checkpoints" / "last.ckpt")
    images = generator(torch.randn(3, generator.latent_dim), torch.tensor([0, 5, 9]))
    assert images.shape == (3, 1, 28, 28) and config["datamodule"]["dataset"] == "mnist"


def test_wandb_is_offline_without_api_key(run_cli, monkeypatch, tmp_path):
    for var in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc from `wandb login`
    run_dir = run_cli("logger=wandb", "trainer.max_epochs=1", "test=false")
    (wandb_run,) = (run_dir / "wandb").glob("offline-run-*")
    assert list(wandb_run.glob("files/media/images/samples_*.png"))  # the epoch grid went to W&B too
    assert f"wandb sync {wandb_run}" in (run_dir / "train.log").read_text()


def test_killed_run_resumes_from_last_complete_checkpoint(tiny_mnist, child_env, run_cli, tmp_path):
    """kill -9 while last.ckpt is rewritten every few batches: the file on disk always loads, and resumes."""
    run_dir = tmp_path / "killed"
    last = run_dir / "checkpoints" / "last.ckpt"
    args = cli_args(
        tiny_mnist,
        run_dir,
        "trainer.max_epochs=1000",
        "callbacks.timed_checkpoint.every_n_minutes=0.0005",  # 30 ms
    )
    # let it rewrite last.ckpt many times, then kill it at an arbitrary moment
    kill_when(args, child_env, last.exists, settle_s=1.5)
    ckpt = read_checkpoint(last)  # complete: never a half-written file
    killed_epoch = ckpt["epoch"]
    resumed = run_cli(
        f"ckpt_path={last}", f"trainer.max_epochs={killed_epoch + 2}", "test=false", run_dir=tmp_path / "resumed"
    )
    assert read_checkpoint(resumed / "checkpoints" / "last.ckpt")["global_step"] > ckpt["global_step"]


def lightning_batches_processed(ckpt: dict) -> int:
    return ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["processed"]


def train_rows_steps(run_dir) -> list[int]:
    return [int(row["step"]) for row in read_metrics(run_dir / "csv" / "metrics.csv") if "train/g_loss" in row]


def test_train_losses_are_logged_on_lightnings_logging_steps_across_a_mid_epoch_resume(run_cli, tmp_path):
    """ConditionalGAN calls self.log only on the batches whose values Lightning hands to the loggers (every
    trainer.log_every_n_steps-th batch): metrics.csv has train/ rows exactly there, also after resuming mid-epoch."""
    run_dir, timed = tmp_path / "run", tmp_path / "run" / "timed"
    # 8 batches an epoch; stop in epoch 0 after 5 batches (2 optimizer steps each), with a checkpoint every batch.
    every = ("trainer.log_every_n_steps=3", "test=false", f"callbacks.timed_checkpoint.dirpath={timed}")
    every += ("+penalty@model.penalties.lecam=lecam",)  # a penalty with state: its checkpoints carry it
    run_cli(*every, "+trainer.max_steps=10", "callbacks.timed_checkpoint.every_n_minutes=1e-9", run_dir=run_dir)
    assert train_rows_steps(run_dir) == [2]
    for ckpt in (read_checkpoint(timed / "last.ckpt"), read_checkpoint(run_dir / "checkpoints" / "last.ckpt")):
        # condgan's count, and Lightning's, which resumes checkpoints written before condgan kept its own
        assert ckpt[BATCHES_TRAINED] == 5 == lightning_batches_processed(ckpt)
        assert set(ckpt[PENALTY_STATE]["lecam"]) == {"anchor_real", "anchor_fake"}
    run_cli(*every, "trainer.max_epochs=2", f"ckpt_path={timed / 'last.ckpt'}", run_dir=run_dir)
    assert train_rows_steps(run_dir) == [step for step in range(16) if (step + 1) % 3 == 0]


def test_a_checkpoint_without_condgans_batch_count_resumes_lightnings(tmp_path):
    model = hydra.utils.instantiate(compose_config("model=mnist_gan_model", output_dir=tmp_path).model)
    model.on_load_checkpoint({"loops": {"fit_loop": {"epoch_loop.batch_progress": {"total": {"processed": 7}}}}})
    assert model.batches_trained == 7
    model.on_load_checkpoint({BATCHES_TRAINED: 9, "loops": {}})
    assert model.batches_trained == 9


def test_a_second_fit_in_one_process_trains_as_the_command_alone(run_cli, tmp_path):
    """A sweep's trials run one after another in one process: the second must draw from the RNG as a fresh
    process would (the metrics' caches, filled by the first, once made it shuffle its batches differently)."""
    overrides = ("trainer.max_epochs=3", "++trainer.limit_train_batches=3", "++trainer.limit_val_batches=1")
    fits = [run_cli(*overrides, run_dir=tmp_path / name) for name in ("first", "second")]
    curves = [
        [(row["step"], row["val/fid"]) for row in read_metrics(f / "csv" / "metrics.csv") if "val/fid" in row]
        for f in fits
    ]
    assert len(curves[0]) == 3 and curves[0] == curves[1]
