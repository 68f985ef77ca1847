"""Measure a trained generator: ``python eval.py ckpt_path=<run folder>/checkpoints/last.ckpt [n_per_class=1000]``.

Prints a table and writes ``metrics.json`` / ``metrics.md`` next to the checkpoint (docs/metrics.md explains them).
"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from condgan.errors import exit_on_user_error

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("CONDGAN_ROOT", str(ROOT))  # paths.data_dir, wherever you run from


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="eval.yaml")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    from condgan.metrics.evaluate import evaluate  # imported here so `--help` and config errors come fast

    evaluate(cfg.ckpt_path, cfg.paths.data_dir, cfg.n_per_class, cfg.seed, cfg.batch_size)


if __name__ == "__main__":
    main()
