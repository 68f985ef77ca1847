"""Every config composes and instantiates; mistakes get Hydra's error listing what exists."""

import re

import hydra
import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException

from condgan.compat import map_gpus_flag
from condgan.precision import resolve_precision
from condgan.train import instantiate_group
from tests.helpers import CONFIG_DIR, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
GROUP_OPTIONS = [
    (group, p.stem)
    for group in ("trainer", "model", "datamodule", "callbacks", "logger", "debug")
    for p in sorted((CONFIG_DIR / group).glob("*.yaml"))
    if not p.stem.startswith("_")  # shared bases, not options
]
REQUIRED_OVERRIDES = {  # values for an option's `???` keys; instantiating reads no files, so any path will do
    ("datamodule", "image_folder"): ("datamodule.data_dir=unused", "datamodule.num_classes=3"),
}


def build_everything(cfg):
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    model = hydra.utils.instantiate(cfg.model)
    callbacks, loggers = instantiate_group(cfg.get("callbacks")), instantiate_group(cfg.get("logger"))
    resolve_precision(cfg.trainer)
    trainer_cfg = map_gpus_flag(cfg.trainer)
    if trainer_cfg.get("accelerator") == "cpu" or trainer_cfg.get("strategy") is None:  # DDP/GPU need hardware
        hydra.utils.instantiate(trainer_cfg, callbacks=callbacks, logger=loggers or False)
    return datamodule, model


@pytest.mark.parametrize("experiment", [None, *EXPERIMENTS])
def test_experiments_compose_and_instantiate(experiment, tmp_path):
    overrides = [f"experiment={experiment}"] if experiment else []
    cfg = compose_config(*overrides, "trainer.accelerator=cpu", output_dir=tmp_path)
    datamodule, model = build_everything(cfg)
    assert tuple(model.generator.image_shape) == datamodule.image_shape
    assert model.num_classes == datamodule.num_classes


@pytest.mark.parametrize("group, option", GROUP_OPTIONS, ids=lambda x: str(x))
def test_every_group_option_composes(group, option, tmp_path):
    cfg = compose_config(f"{group}={option}", *REQUIRED_OVERRIDES.get((group, option), ()), output_dir=tmp_path)
    if group in ("model", "datamodule", "callbacks", "logger"):
        build_everything(cfg)


def test_assignment_overrides_apply(tmp_path):
    cfg = compose_config(
        "experiment=train_mnist_gan.yaml",
        "trainer.max_epochs=20",
        "datamodule.batch_size=32",
        "trainer.gpus=0",
        output_dir=tmp_path,
    )
    assert cfg.trainer.max_epochs == 20 and cfg.datamodule.batch_size == 32 and cfg.datamodule.image_size == 32
    assert map_gpus_flag(cfg.trainer).accelerator == "cpu"


def test_unknown_option_lists_what_exists(tmp_path):
    with pytest.raises(MissingConfigException) as err:
        compose_config("model=no_such_model", output_dir=tmp_path)
    assert "mnist_gan_model" in str(err.value)  # Hydra's "Available options" list
    with pytest.raises(ConfigCompositionException, match=re.escape("trainer.no_such_key")):
        compose_config("trainer.no_such_key=1", output_dir=tmp_path)


def test_run_folder_defaults_to_logs_runs_date_time(tmp_path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train.yaml", return_hydra_config=True)
    assert re.search(r"logs/runs/\d{4}-\d\d-\d\d/\d\d-\d\d-\d\d$", cfg.hydra.run.dir)
