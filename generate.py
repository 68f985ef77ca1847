"""Sample a trained generator into a file.

``python generate.py ckpt_path=<run folder>/checkpoints/last.ckpt n_per_class=1000 out=samples.npz``
``python generate.py ckpt_path=... digit=5 n=16 out=five.png`` (``label=`` is the general name of ``digit=``)
``python generate.py ckpt_path=... interpolate=true seed=1 seed_to=2 steps=16 out=walk.gif`` (a latent walk)
"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from condgan.errors import exit_on_user_error

ROOT = Path(__file__).resolve().parent


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="generate.yaml")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    from condgan.sample_files import generate, generate_walk  # imported here so `--help` and config errors come fast

    if cfg.digit is not None and cfg.label != cfg.digit:
        raise ValueError(f"label={cfg.label} and digit={cfg.digit} disagree; digit is another name for label")
    if cfg.interpolate:
        out = generate_walk(
            cfg.ckpt_path, cfg.out, cfg.seed, cfg.seed_to, cfg.steps, cfg.label, cfg.truncation, cfg.batch_size
        )
    else:
        out = generate(
            cfg.ckpt_path, cfg.out, cfg.label, cfg.n, cfg.n_per_class, cfg.seed, cfg.batch_size, cfg.truncation
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
