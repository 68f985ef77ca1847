"""Where a training step of the default experiment spends its CPU time: torch.profiler over the timed steps,
operators by self time, convolutions (forward and backward) apart from the rest.

    python -m bench.profile_step [--steps 100] [--top 15] [--override model.channels_last=false]

Writes its section of docs/benchmarks.md.
"""

import argparse

import hydra
import torch
from torch.profiler import ProfilerActivity, profile

from bench._report import write_section
from bench.throughput import ROOT, StepTimer, compose_config
from condgan.data.sources import ensure_dataset
from condgan.training.trainer import Trainer

CONVOLUTION = ("conv", "mkldnn_convolution")  # aten::convolution*, aten::_convolution, *_backward, oneDNN's


class StepProfiler(StepTimer):
    """StepTimer that also records the operators of the timed steps."""

    def __init__(self, warmup: int):
        super().__init__(warmup)
        self.profiler = profile(activities=[ProfilerActivity.CPU])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        super().on_train_batch_start(trainer, pl_module, batch, batch_idx)
        if batch_idx == self.warmup:
            self.profiler.start()

    def on_train_end(self, trainer, pl_module):
        self.profiler.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--override", action="append", default=[], help="a Hydra override of the default")
    parser.add_argument("--section", default="profile_cpu", help="the docs/benchmarks.md section to write")
    args = parser.parse_args()

    ensure_dataset("mnist", args.data_dir)
    cfg = compose_config(args.data_dir, "trainer.accelerator=cpu", *args.override)
    torch.manual_seed(0)
    timer = StepProfiler(args.warmup)
    trainer = Trainer(
        accelerator="cpu",
        devices=1,
        precision=cfg.trainer.precision,
        max_epochs=1,
        limit_train_batches=args.warmup + args.steps,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        callbacks=[timer],
    )
    trainer.fit(hydra.utils.instantiate(cfg.model), datamodule=hydra.utils.instantiate(cfg.datamodule))
    wall_ms = timer.seconds()[1] * 1000 / args.steps

    ops = [e for e in timer.profiler.key_averages() if e.self_cpu_time_total > 0]
    ops.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    total_ms = sum(e.self_cpu_time_total for e in ops) / 1000 / args.steps
    conv_ms = sum(e.self_cpu_time_total for e in ops if any(c in e.key for c in CONVOLUTION)) / 1000 / args.steps
    rows = [
        f"| `{e.key}` | {e.self_cpu_time_total / 1000 / args.steps:.2f} | "
        f"{100 * e.self_cpu_time_total / 1000 / args.steps / total_ms:.1f}% | {e.count // args.steps} |"
        for e in ops[: args.top]
    ]
    extra = f" with {' '.join(f'`{o}`' for o in args.override)}" if args.override else ""
    table = "\n".join(
        [
            f"## Where a training step goes: the default experiment on the CPU{extra}",
            "",
            f"{args.steps} steps of batch {cfg.datamodule.batch_size} at {trainer.precision} after "
            f"{args.warmup} warm-up steps: {wall_ms:.1f} ms of wall time a step, {total_ms:.1f} ms of operator "
            f"self time, of which convolutions (forward and backward) {conv_ms:.1f} ms "
            f"({100 * conv_ms / total_ms:.0f}%). The {args.top} largest operators:",
            "",
            "| operator | self ms a step | share | calls a step |",
            "| --- | ---: | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section(args.section, table)


if __name__ == "__main__":
    main()
