"""Training images/s of the assignment's model, three ways, side by side in one process.

1. condgan: the Lightning module, datamodule and progress bar of `python run.py experiment=train_mnist_gan`;
2. a plain PyTorch loop over the same in-memory uint8 tensors (the floor for any framework);
3. the same plain loop fed by the assignment's data path: torchvision MNIST + Resize + ToTensor + Normalize
   through a DataLoader (PIL work per image).

    python -m bench.throughput [--steps 300] [--repeats 3]   # writes its section of docs/benchmarks.md
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import hydra
import lightning as L
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from bench._report import write_section
from condgan import cli
from condgan.data.datamodule import load_split, to_unit_range
from condgan.data.sources import ensure_dataset
from condgan.gan.model import ConditionalGAN
from condgan.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


def compose_config(data_dir: str, *overrides: str) -> DictConfig:
    """The training config exactly as condgan train composes it, with data from data_dir and no run folder."""
    return cli.compose_config(f"paths.data_dir={data_dir}", "paths.output_dir=.", *overrides)


def build_model(data_dir: str) -> tuple[ConditionalGAN, DictConfig]:
    """The assignment's experiment on the CPU: its model, and the config it was built from."""
    cfg = compose_config(data_dir, "experiment=train_mnist_gan", "trainer=cpu")
    torch.manual_seed(0)
    return hydra.utils.instantiate(cfg.model), cfg


def plain_step(model: ConditionalGAN, opt_g, opt_d, real: torch.Tensor, labels: torch.Tensor) -> None:
    """What ConditionalGAN.training_step does, without Lightning: D step, then G step with D frozen."""
    G, D, loss = model.generator, model.discriminator, model.loss
    fake = G(torch.randn(len(real), G.latent_dim), labels)
    d_loss = loss.discriminator(D(real, labels), D(fake.detach(), labels))
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    D.requires_grad_(False)  # as Lightning's toggle_optimizer does: no D weight gradients in the G step
    g_loss = loss.generator(D(fake, labels))
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    D.requires_grad_(True)


def time_plain_loop(model, batches, warmup: int, steps: int) -> float:
    opt_g, opt_d = model.configure_optimizers()
    it = iter(batches)
    for _ in range(warmup):
        plain_step(model, opt_g, opt_d, *next(it))
    start = time.perf_counter()
    for _ in range(steps):
        plain_step(model, opt_g, opt_d, *next(it))  # data loading is inside the timed region, as in training
    return time.perf_counter() - start


def in_memory_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int):
    while True:
        for idx in torch.randperm(len(labels)).split(batch_size)[:-1]:
            yield to_unit_range(images[idx]), labels[idx]


def assignment_batches(data_dir: str, image_size: int, batch_size: int):
    transform = transforms.Compose(
        [transforms.Resize(image_size), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
    )
    dataset = datasets.MNIST(data_dir, train=True, transform=transform)  # reads data_dir/MNIST/raw
    while True:
        yield from DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)


class StepTimer(L.Callback):
    """Wall time of the first `warmup` batches (compilation happens there) and of the batches after them. Rank 0
    writes both to `out` when given: under ddp_spawn the callback lives in the child processes."""

    def __init__(self, warmup: int, out: Path | None = None):
        self.warmup, self.out = warmup, out
        self.fit_start = self.start = self.end = None

    def on_train_start(self, trainer, pl_module):
        self.fit_start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.end = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        if self.out is not None and trainer.is_global_zero:
            self.out.write_text(json.dumps(self.seconds()))

    def seconds(self) -> tuple[float, float]:
        return self.start - self.fit_start, self.end - self.start


def time_condgan(cfg, warmup: int, steps: int, processes: int = 1) -> tuple[float, float]:
    """(warm-up s, timed s): wall time of `warmup` training steps of cfg's model and data, then of `steps` more, on
    cfg.trainer.accelerator at cfg.trainer.precision; in `processes` DDP processes (ddp_spawn, each loading its
    share of cfg's global batch size, with an equal share of the CPU threads, as trainer=ddp_cpu runs) when more
    than one."""
    model = hydra.utils.instantiate(cfg.model)
    datamodule = hydra.utils.instantiate(cfg.datamodule)
    with tempfile.TemporaryDirectory() as tmp:
        timer = StepTimer(warmup, Path(tmp) / "seconds.json" if processes > 1 else None)
        trainer = Trainer(
            accelerator=cfg.trainer.accelerator,
            devices=processes,
            strategy="ddp_spawn" if processes > 1 else "auto",
            precision=cfg.trainer.precision,
            max_epochs=1,
            limit_train_batches=warmup + steps,
            limit_val_batches=0,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            callbacks=[timer, hydra.utils.instantiate(cfg.callbacks.rich_progress_bar)],
            log_every_n_steps=cfg.trainer.log_every_n_steps,
        )
        threads, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
        try:
            trainer.fit(model, datamodule=datamodule)
        finally:  # the DDP launcher sets one thread a process in this process too: give the next run its threads
            torch.set_num_threads(threads)
            if omp is None:
                os.environ.pop("OMP_NUM_THREADS", None)
        return tuple(json.loads(timer.out.read_text())) if processes > 1 else timer.seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    ensure_dataset("mnist", args.data_dir)
    _, cfg = build_model(args.data_dir)
    size, batch = cfg.datamodule.image_size, cfg.datamodule.batch_size
    images, labels = load_split("mnist", args.data_dir, "train", size)
    ways = {
        "condgan (Lightning + in-memory datamodule)": lambda: time_condgan(cfg, args.warmup, args.steps)[1],
        "plain PyTorch loop, same in-memory tensors": lambda: time_plain_loop(
            build_model(args.data_dir)[0], in_memory_batches(images, labels, batch), args.warmup, args.steps
        ),
        "plain loop + assignment data path (torchvision MNIST, PIL transforms)": lambda: time_plain_loop(
            build_model(args.data_dir)[0], assignment_batches(args.data_dir, size, batch), args.warmup, args.steps
        ),
    }
    results = {name: [] for name in ways}
    for _ in range(args.repeats):  # interleaved, so a slow moment of the machine hits every way alike
        for name, seconds in ways.items():
            results[name].append(args.steps * batch / seconds())

    plain = statistics.median(results["plain PyTorch loop, same in-memory tensors"])
    rows = [
        f"| {name} | {statistics.median(r):,.0f} | {min(r):,.0f}–{max(r):,.0f} | {statistics.median(r) / plain:.2f} |"
        for name, r in results.items()
    ]
    table = "\n".join(
        [
            f"## Training throughput: the assignment's model ({size} px, batch {batch}, "
            f"{args.steps} steps × {args.repeats})",
            "",
            "| way | images/s (median) | range | vs plain loop |",
            "| --- | ---: | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section("throughput", table)


if __name__ == "__main__":
    main()
