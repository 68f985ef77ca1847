"""Measure a trained generator: ``python eval.py ckpt_path=<run folder>/checkpoints/last.ckpt [n_per_class=1000]``.

Prints a table and writes ``metrics.json`` / ``metrics.md`` next to the checkpoint (docs/metrics.md explains them).
"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("CONDGAN_ROOT", str(ROOT))  # paths.data_dir, wherever you run from


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="eval.yaml")
def main(cfg: DictConfig) -> None:
    from condgan.checkpoint import CheckpointError  # imported here so `--help` and config errors come fast
    from condgan.metrics.evaluate import evaluate

    try:
        evaluate(cfg.ckpt_path, cfg.paths.data_dir, cfg.n_per_class, cfg.seed, cfg.batch_size)
    except MissingMandatoryValue:
        raise SystemExit("error: no checkpoint given: pass ckpt_path=<run folder>/checkpoints/last.ckpt") from None
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None  # a message that says what to fix, not a traceback


if __name__ == "__main__":
    main()
