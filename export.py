"""Export a trained generator to ONNX or TorchScript.

``python export.py ckpt_path=<run folder>/checkpoints/last.ckpt format=onnx|torchscript [out=generator.onnx]``
writes one self-contained file (by default beside the checkpoint) and ``<file>.json`` with its metadata.
"""

from pathlib import Path

import hydra
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

ROOT = Path(__file__).resolve().parent
MISSING_FIXES = {
    "ckpt_path": "ckpt_path=<run folder>/checkpoints/last.ckpt",
    "format": "format=onnx or format=torchscript",
}


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="export.yaml")
def main(cfg: DictConfig) -> None:
    from condgan.checkpoint import CheckpointError  # imported here so `--help` and config errors come fast
    from condgan.export import ExportError, export_generator
    from condgan.extras import MissingExtraError

    try:
        out = export_generator(cfg.ckpt_path, cfg.format, cfg.out)
    except MissingMandatoryValue as missing:
        raise SystemExit(f"error: no {missing.full_key} given: pass {MISSING_FIXES[missing.full_key]}") from None
    except (CheckpointError, ExportError, MissingExtraError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None  # a message that says what to fix, not a traceback
    print(f"wrote {out} and {out.name}.json")


if __name__ == "__main__":
    main()
