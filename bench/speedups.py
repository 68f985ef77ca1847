"""Training images/s of the default experiment on one device, with the speed switches of docs/scaling.md
(bf16 autocast, channels_last, torch.compile) off, alone and together, in one process or in DDP processes that
share the machine (trainer=ddp_cpu's layout: the same global batch, one thread a process on a 2-core CPU).

    python -m bench.speedups --accelerator gpu [--steps 300] [--batch-size 64 256]   # for a GPU machine
    python -m bench.speedups --accelerator cpu --steps 20 --variants fp32 bf16-mixed  # a quick CPU check
    python -m bench.speedups --accelerator cpu --processes 1 2 --variants 'bf16-mixed + channels_last'

`warm-up s` is the wall time of the first --warmup steps, where torch.compile compiles; the timed steps follow
them. Writes its section of docs/benchmarks.md.
"""

import argparse

import torch
from omegaconf import DictConfig

from bench._report import write_section
from bench.throughput import ROOT, compose_config, time_condgan
from condgan.data.sources import ensure_dataset

FP32, BF16 = "trainer.precision=32-true", "trainer.precision=bf16-mixed"
PLAIN, CHANNELS_LAST, COMPILE = "model.channels_last=false", "model.channels_last=true", "model.compile=true"
VARIANTS = {  # name → config overrides; each sets every switch, since the default config turns some on
    "fp32": [FP32, PLAIN],
    "channels_last": [FP32, CHANNELS_LAST],
    "bf16-mixed": [BF16, PLAIN],
    "bf16-mixed + channels_last": [BF16, CHANNELS_LAST],
    "compile": [FP32, PLAIN, COMPILE],
    "compile + bf16-mixed + channels_last": [COMPILE, BF16, CHANNELS_LAST],
}


def variant_config(data_dir: str, accelerator: str, batch: int, name: str, overrides: list[str]) -> DictConfig:
    """The config of one row. ``batch`` is the global batch: under DDP the datamodule loads a share per process."""
    return compose_config(
        data_dir, f"trainer.accelerator={accelerator}", f"datamodule.batch_size={batch}", *overrides, *VARIANTS[name]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accelerator", default="gpu" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--processes", type=int, nargs="+", default=[1], help="DDP processes sharing each batch")
    parser.add_argument("--override", action="append", default=[], help="a Hydra override for every variant")
    parser.add_argument("--section", help="the docs/benchmarks.md section to write (default speedups_<accelerator>)")
    args = parser.parse_args()

    ensure_dataset("mnist", args.data_dir)
    rows = []
    for batch in args.batch_size:
        baseline = None
        for name in args.variants:
            for processes in args.processes:
                cfg = variant_config(args.data_dir, args.accelerator, batch, name, args.override)
                torch.manual_seed(0)
                warmup_s, timed_s = time_condgan(cfg, args.warmup, args.steps, processes)
                images_per_s = args.steps * batch / timed_s
                baseline = baseline or images_per_s
                threads = f"{processes} × {max(1, torch.get_num_threads() // processes)}"
                rows.append(
                    f"| {batch} | {name} | {threads} | {images_per_s:,.0f} | {images_per_s / baseline:.2f} "
                    f"| {warmup_s:.1f} |"
                )
                print(rows[-1], flush=True)

    device = torch.cuda.get_device_name() if args.accelerator == "gpu" else "CPU"
    extra = f" with {' '.join(f'`{o}`' for o in args.override)}" if args.override else ""
    table = "\n".join(
        [
            f"## Speed switches on one {device}: the default experiment{extra}, {args.steps} timed steps",
            "",
            f"| batch | switches | processes × threads | images/s | vs first row | warm-up s ({args.warmup} steps) |",
            "| ---: | --- | --- | ---: | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section(args.section or f"speedups_{args.accelerator}", table)


if __name__ == "__main__":
    main()
