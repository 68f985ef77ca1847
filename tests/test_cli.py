"""The condgan command: its subcommands and their help, one-line errors, template spellings, your own configs."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from condgan import __version__, cli
from tests.helpers import compose_config


def run_condgan(monkeypatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # a Hydra command sets sys.argv
    try:
        cli.main(list(args))
    except SystemExit as exited:  # Hydra's --help and --cfg end with exit 0
        assert exited.code in (None, 0), exited.code


def test_help_lists_every_command(capsys):
    cli.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith(f"condgan {__version__}\nusage: condgan <command>")
    assert all(f"\n  {name} " in out for name in cli.COMMANDS)


def test_an_unknown_command_is_one_line():
    with pytest.raises(SystemExit, match=r"^error: unknown command 'trian': pick one of train, generate, eval"):
        cli.main(["trian"])


@pytest.mark.parametrize(
    "command, own_keys",
    [("generate", ("digit:", "ckpt_path:")), ("eval", ("n_per_class:",)), ("report", ("run_dir:",))],
)
def test_a_commands_help_shows_its_own_keys_not_the_training_groups(command, own_keys, monkeypatch, capsys):
    run_condgan(monkeypatch, command, "--help")
    out = capsys.readouterr().out
    assert out.startswith(f"condgan {command}: ") and all(key in out for key in own_keys)
    assert "experiment:" not in out and "== Config groups ==" not in out


def test_train_help_lists_the_groups(monkeypatch, capsys):
    run_condgan(monkeypatch, "train", "--help")
    out = capsys.readouterr().out
    assert out.startswith("condgan train: train a conditional GAN.")
    assert "experiment: cifar10_dcgan, cifar10_resnet, emoji_dcgan" in out and "dcgan_adc, mnist_gan_model" in out


def test_python_dash_m_condgan_is_the_command():
    done = subprocess.run([sys.executable, "-m", "condgan", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout == f"condgan {__version__}\n"


def test_your_experiment_composes_with_ours(tmp_path: Path, monkeypatch, capsys):
    mine = tmp_path / "my_configs" / "experiment" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text(
        "# @package _global_\ndefaults:\n  - override /model: mnist_gan_model\n\n"
        "tags: [mine]\ntrainer:\n  max_epochs: 3\n"
    )
    run_condgan(monkeypatch, "train", "--config-dir", str(mine.parents[1]), "experiment=mine", "--cfg", "job")
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["tags"] == ["mine"] and cfg["trainer"]["max_epochs"] == 3
    assert cfg["model"]["generator"]["_target_"] == "condgan.networks.MLPGenerator"  # our model group, your overlay


def test_the_default_is_the_best_recipe_and_experiment_mnist_dcgan_names_it(tmp_path):
    default, named = compose_config(output_dir=tmp_path), compose_config("experiment=mnist_dcgan", output_dir=tmp_path)
    for group in ("model", "datamodule", "trainer", "callbacks"):  # the loggers differ in their tags only
        assert default[group] == named[group], group
    assert default.model.optimizer_g.lr == 5e-4 and list(default.model.optimizer_g.betas) == [0.0, 0.99]
    assert default.model.penalties.r1.gamma == 0.01 and default.model.discriminator.aux_fake_classes
    assert default.datamodule.batch_size == 32 and default.trainer.max_epochs == 8
    assert default.tags == ["dev"] and named.tags == ["mnist", "dcgan"]


def test_a_swapped_model_brings_its_own_settings_not_the_defaults(tmp_path):
    """No leak: model=mnist_gan_model is the MLP with its own optimizer and no tricks, as model/_base sets them."""
    cfg = compose_config("model=mnist_gan_model", output_dir=tmp_path)
    assert cfg.model.generator._target_ == "condgan.networks.MLPGenerator"
    assert cfg.model.optimizer_g.lr == 2e-4 and list(cfg.model.optimizer_g.betas) == [0.5, 0.999]
    assert "fused" not in cfg.model.optimizer_g and not cfg.model.penalties and cfg.model.ema_decay is None
    assert not cfg.model.channels_last and cfg.tags == ["dev"]


@pytest.mark.parametrize(
    "template, ours",
    [
        (["data=fashion_mnist", "data.batch_size=8"], ["datamodule=fashion_mnist", "datamodule.batch_size=8"]),
        (["debug=fdr"], ["debug=fast_dev_run"]),
        (["logger=many_loggers"], ["logger=many"]),
        (["logger=null"], ["logger=[]"]),
    ],
    ids=["data", "fdr", "many_loggers", "logger-null"],
)
def test_template_spellings_compose_as_ours(template, ours, tmp_path):
    assert compose_config(*template, output_dir=tmp_path) == compose_config(*ours, output_dir=tmp_path)


@pytest.mark.parametrize("plus", ["+", "++"])
def test_plus_and_plus_plus_both_set_trainer_limits(plus, tmp_path):
    # limit_val_batches is set by the default's trainer, limit_train_batches is not: `+` works on both
    cfg = compose_config(
        f"{plus}trainer.limit_val_batches=2", f"{plus}trainer.limit_train_batches=3", output_dir=tmp_path
    )
    assert cfg.trainer.limit_val_batches == 2 and cfg.trainer.limit_train_batches == 3


def test_trainer_mps_is_apples_accelerator(tmp_path):
    assert compose_config("trainer=mps", output_dir=tmp_path).trainer.accelerator == "mps"


def test_extras_enforce_tags_and_print_the_config(run_cli, capsys):
    with pytest.raises(SystemExit, match=r"^error: the run has no tags: pass tags=\[name,...\]"):
        run_cli("tags=[]", "debug=fast_dev_run")
    run_cli("extras.print_config=true", "extras.enforce_tags=false", "tags=[]", "debug=fast_dev_run")
    out = capsys.readouterr().out
    assert "config" in out and "max_epochs" in out and "batch_size: 32" in out
