"""Every config composes and instantiates; mistakes get Hydra's error listing what exists."""

import re

import hydra
import lightning as L
import pytest
import yaml
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from condgan.training.train import instantiate_group
from tests.helpers import CONFIG_DIR, compose_config

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
GROUP_OPTIONS = [
    (group, p.stem)
    for group in ("trainer", "model", "datamodule", "callbacks", "logger", "debug", "extras")
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
    if cfg.trainer.accelerator not in ("gpu", "mps"):  # a GPU trainer needs the hardware
        # as lightning-hydra-template users build one: nothing of condgan's train() needed
        trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
        assert isinstance(trainer, L.Trainer) and trainer.max_epochs == cfg.trainer.max_epochs
    return datamodule, model


def option_settings(group: str, option: str) -> dict:
    """The plain settings an option's YAML file sets, as dotted keys of the composed config (interpolated and
    required ``???`` values, Hydra's own settings and the defaults list left out)."""
    raw = (CONFIG_DIR / group / f"{option}.yaml").read_text()
    settings = yaml.safe_load(raw) or {}
    prefix = "" if "@package _global_" in raw else f"{group}."

    def leaves(node, key):
        if isinstance(node, dict):
            for name, child in node.items():
                yield from leaves(child, f"{key}.{name}" if key else str(name))
        elif not (isinstance(node, str) and ("${" in node or node == "???")):  # interpolated, or required
            yield key, node

    return {prefix + k: v for k, v in leaves(settings, "") if not k.startswith(("defaults", "hydra"))}


@pytest.mark.parametrize("experiment", [None, *EXPERIMENTS])
def test_experiments_compose_and_instantiate(experiment, tmp_path):
    overrides = [f"experiment={experiment}"] if experiment else []
    cfg = compose_config(*overrides, "trainer.accelerator=cpu", output_dir=tmp_path)
    datamodule, model = build_everything(cfg)
    assert tuple(model.generator.image_shape) == datamodule.image_shape
    assert model.num_classes == datamodule.num_classes


@pytest.mark.parametrize("group, option", GROUP_OPTIONS, ids=lambda x: str(x))
def test_every_group_option_composes_with_its_own_settings(group, option, tmp_path):
    required = REQUIRED_OVERRIDES.get((group, option), ())
    cfg = compose_config(f"{group}={option}", *required, output_dir=tmp_path)  # no experiment overlays it
    for key, value in option_settings(group, option).items():
        assert OmegaConf.select(cfg, key) == value, f"{group}={option} sets {key}={value}"
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
    trainer = hydra.utils.instantiate(cfg.trainer)
    assert trainer.max_epochs == 20 and isinstance(trainer.accelerator, L.pytorch.accelerators.CPUAccelerator)


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
