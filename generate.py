"""Sample a trained generator into a file.

``python generate.py ckpt_path=<run folder>/checkpoints/last.ckpt n_per_class=1000 out=samples.npz``
``python generate.py ckpt_path=... digit=5 n=16 out=five.png`` (``label=`` is the general name of ``digit=``)
"""

from pathlib import Path

import hydra
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

ROOT = Path(__file__).resolve().parent


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="generate.yaml")
def main(cfg: DictConfig) -> None:
    from condgan.checkpoint import CheckpointError  # imported here so `--help` and config errors come fast
    from condgan.sampling import generate

    try:
        if cfg.digit is not None and cfg.label != cfg.digit:
            raise ValueError(f"label={cfg.label} and digit={cfg.digit} disagree; digit is another name for label")
        out = generate(cfg.ckpt_path, cfg.out, cfg.label, cfg.n, cfg.n_per_class, cfg.seed, cfg.batch_size)
    except MissingMandatoryValue:
        raise SystemExit("error: no checkpoint given: pass ckpt_path=<run folder>/checkpoints/last.ckpt") from None
    except (CheckpointError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None  # a message that says what to fix, not a traceback
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
