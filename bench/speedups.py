"""Training images/s of the default experiment on one device, with the speed switches of docs/scaling.md
(bf16 autocast, channels_last, torch.compile) off, alone and together.

    python bench/speedups.py --accelerator gpu [--steps 300] [--batch-size 64 256]   # for a GPU machine
    python bench/speedups.py --accelerator cpu --steps 20 --variants fp32 bf16-mixed  # a quick CPU check

Compilation happens in the warm-up steps, outside the timed ones. Writes its section of docs/benchmarks.md.
"""

import argparse

import torch
from hydra import compose, initialize_config_dir

from _report import write_section
from condgan.data.sources import ensure_dataset
from throughput import ROOT, time_condgan

VARIANTS = {  # name → (trainer precision, config overrides)
    "fp32": ("32-true", []),
    "bf16-mixed": ("bf16-mixed", []),
    "bf16-mixed + channels_last": ("bf16-mixed", ["model.channels_last=true"]),
    "compile": ("32-true", ["model.compile=true"]),
    "compile + bf16-mixed + channels_last": ("bf16-mixed", ["model.compile=true", "model.channels_last=true"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accelerator", default="gpu" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()

    ensure_dataset("mnist", args.data_dir)
    rows = []
    for batch in args.batch_size:
        baseline = None
        for name in args.variants:
            precision, overrides = VARIANTS[name]
            with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
                cfg = compose(
                    "train.yaml",
                    overrides=[f"paths.data_dir={args.data_dir}", "paths.output_dir=.", f"datamodule.batch_size={batch}", *overrides],
                )
            torch.manual_seed(0)
            images_per_s = args.steps * batch / time_condgan(cfg, args.warmup, args.steps, args.accelerator, precision)
            baseline = baseline or images_per_s
            rows.append(f"| {batch} | {name} | {images_per_s:,.0f} | {images_per_s / baseline:.2f} |")
            print(rows[-1], flush=True)

    device = torch.cuda.get_device_name() if args.accelerator == "gpu" else "CPU"
    table = "\n".join(
        [
            f"## Speed switches on one {device}: the default experiment, {args.steps} timed steps",
            "",
            f"| batch | switches | images/s | vs {args.variants[0]} |",
            "| ---: | --- | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section(f"speedups_{args.accelerator}", table)


if __name__ == "__main__":
    main()
