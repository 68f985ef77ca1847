"""Train a conditional GAN: ``python run.py experiment=train_mnist_gan.yaml trainer.max_epochs=20``."""

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from condgan.errors import exit_on_user_error

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("CONDGAN_ROOT", str(ROOT))  # paths.root_dir, wherever you run from


CONFIG_DIR = ROOT / "configs"


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train.yaml")
@exit_on_user_error
def train_main(cfg: DictConfig) -> float | None:
    from condgan.train import optimized_metric, train  # imported here so `--help` and config errors come fast

    return optimized_metric(train(cfg), cfg.get("optimized_metric"))


def compose_config(*overrides: str) -> DictConfig:
    """The training config that ``python run.py <overrides>`` would run, composed without running it
    (for tests, benchmarks and notebooks): the same config folder, the same spellings of overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from condgan.compat import null_group_overrides

    GlobalHydra.instance().clear()  # a run or composition before this one leaves Hydra initialised
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train.yaml", overrides=null_group_overrides(list(overrides), CONFIG_DIR))


def main() -> float | None:
    from condgan.compat import null_group_overrides

    sys.argv[1:] = null_group_overrides(sys.argv[1:], CONFIG_DIR)  # `logger=null`, as template users type it
    return train_main()


if __name__ == "__main__":
    from condgan.extras import check_run_overrides

    check_run_overrides(sys.argv[1:])  # hparams_search= without the sweep extra: one line, not Hydra's error
    main()
