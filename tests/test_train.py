"""End to end through run.py on tiny data: the assignment's commands, the run folder, resume."""

import torch

from condgan.checkpoint import load_checkpoint


def test_fast_dev_run(run_cli):
    run_dir = run_cli("debug=fast_dev_run")
    assert (run_dir / "samples" / "epoch_000.png").is_file()
    assert (run_dir / "config.yaml").is_file()


def test_assignment_command_leaves_a_complete_run_folder(run_cli):
    run_dir = run_cli("experiment=train_mnist_gan.yaml", "trainer.max_epochs=1", "trainer.gpus=0")
    for name in ("config.yaml", "checkpoints/last.ckpt", "samples/epoch_000.png", "loss_curves.png", "csv/metrics.csv"):
        assert (run_dir / name).is_file(), name
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/g_loss", "train/d_loss", "val/d_real", "val/d_fake", "test/g_loss", "test/d_loss"} <= set(header)

    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)  # plain types only
    config = ckpt["hyper_parameters"]
    assert config["model"]["generator"]["image_shape"] == [1, 32, 32]  # the experiment's 32 px
    assert config["trainer"]["gpus"] == 0
    assert any(k.startswith("generator.") for k in ckpt["state_dict"])


def test_resume_continues_counters_and_history(run_cli, tmp_path):
    first = run_cli("trainer.max_epochs=1", "test=false", run_dir=tmp_path / "first")
    ckpt1 = load_checkpoint(first / "checkpoints" / "last.ckpt")
    steps_per_epoch = ckpt1["global_step"]
    assert steps_per_epoch > 0

    second = run_cli(
        "trainer.max_epochs=2", "test=false", f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}", run_dir=tmp_path / "second"
    )
    ckpt2 = load_checkpoint(second / "checkpoints" / "last.ckpt")
    assert ckpt2["epoch"] == 1 and ckpt2["global_step"] == 2 * steps_per_epoch
    assert (second / "samples" / "epoch_001.png").is_file() and not (second / "samples" / "epoch_000.png").exists()
    history = ckpt2["callbacks"]["LossCurves"]["history"]["train/g_loss"]
    assert history[0][0] < steps_per_epoch <= history[-1][0]  # the plot covers both runs
    # The optimizer state came along: Adam's step count kept growing instead of restarting.
    adam_steps = ckpt2["optimizer_states"][0]["state"][0]["step"]
    assert adam_steps == ckpt1["optimizer_states"][0]["state"][0]["step"] * 2


def test_generator_rebuilt_from_checkpoint_alone(run_cli):
    from condgan.checkpoint import load_generator

    run_dir = run_cli("trainer.max_epochs=1", "test=false")
    generator, config = load_generator(run_dir / "checkpoints" / "last.ckpt")
    images = generator(torch.randn(3, generator.latent_dim), torch.tensor([0, 5, 9]))
    assert images.shape == (3, 1, 28, 28) and config["datamodule"]["dataset"] == "mnist"
