"""What changes over a run's fixed budget (``trainer.max_epochs`` or ``trainer.max_steps``), counted in training
batches: the learning rates (``model.lr_warmup``: a linear rise from 0; ``model.lr_decay``: a fall to 0, linear or
along a cosine; both stepped once per batch, so G and D move alike) and the class loss's weight
(``model.aux_weight_end``). All off by default."""

import math
from functools import partial

import lightning as L
import torch
from torch.optim.lr_scheduler import LambdaLR

DECAYS = ("linear", "cosine")


def decay_factor(kind: str, total_batches: int, batch: int) -> float:
    """The learning rate's multiplier after ``batch`` of ``total_batches`` training batches: 1 → 0."""
    progress = min(batch / total_batches, 1.0)
    return 1 - progress if kind == "linear" else 0.5 * (1 + math.cos(math.pi * progress))


def lr_factor(decay: str | None, warmup_batches: int, total_batches: int, batch: int) -> float:
    """The multiplier after ``batch`` batches: a linear warm-up over the first ``warmup_batches`` (1/w, 2/w, … 1),
    times the decay over the whole budget when there is one."""
    warmup = min((batch + 1) / warmup_batches, 1.0) if warmup_batches else 1.0
    return warmup * (decay_factor(decay, total_batches, batch) if decay else 1.0)


def ramp(start: float, end: float, batch: int, total_batches: int) -> float:
    """From ``start`` at batch 0 to ``end`` at the end of the budget, linearly; ``end`` after it."""
    return start + (end - start) * min(batch / total_batches, 1.0)


def budget_batches(trainer: L.Trainer, d_steps_per_g: int, needed_by: str = "model.lr_decay") -> int:
    """Training batches the fit will run: ``max_epochs`` of the train loader, or fewer when ``max_steps`` (which
    counts optimizer steps: a D step every batch, a G step every ``d_steps_per_g``-th) ends it first."""
    trainer.estimated_stepping_batches  # noqa: B018 (sets up the train loader, so num_training_batches is known)
    limits = []
    if trainer.max_epochs is not None and trainer.max_epochs > 0:
        limits.append(trainer.num_training_batches * trainer.max_epochs)
    if trainer.max_steps > 0:
        limits.append(math.ceil(trainer.max_steps * d_steps_per_g / (d_steps_per_g + 1)))
    budget = min(limits, default=math.inf)
    if not math.isfinite(budget) or budget < 1:
        raise ValueError(
            f"{needed_by} needs a fixed budget to change over: set trainer.max_epochs or trainer.max_steps, "
            f"or train without {needed_by}"
        )
    return int(budget)


def lr_schedulers(
    optimizers: list[torch.optim.Optimizer], decay: str | None, warmup_batches: int, total_batches: int
) -> list[LambdaLR]:
    """One scheduler per optimizer, each stepped once per training batch. ``partial`` rather than a lambda, so
    the model pickles (ddp_spawn) and the schedulers' state dicts hold only plain values (checkpoints)."""
    factor = partial(lr_factor, decay, warmup_batches, total_batches)
    return [LambdaLR(optimizer, factor) for optimizer in optimizers]
