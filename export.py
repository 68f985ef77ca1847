"""Export a trained generator to ONNX or TorchScript.

``python export.py ckpt_path=<run folder>/checkpoints/last.ckpt format=onnx|torchscript [out=generator.onnx]``
writes one self-contained file (by default beside the checkpoint) and ``<file>.json`` with its metadata.
"""

from pathlib import Path

import hydra
from omegaconf import DictConfig

from condgan.errors import exit_on_user_error

ROOT = Path(__file__).resolve().parent


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="export.yaml")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    from condgan.export import export_generator  # imported here so `--help` and config errors come fast

    out = export_generator(cfg.ckpt_path, cfg.format, cfg.out)
    print(f"wrote {out} and {out.name}.json")


if __name__ == "__main__":
    main()
