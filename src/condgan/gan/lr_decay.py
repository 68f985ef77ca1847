"""``model.lr_decay``: both learning rates fall from their configured values to zero over the run's fixed budget
(``trainer.max_epochs`` or ``trainer.max_steps``), linearly or along a cosine, stepped once per training batch so
G and D decay alike. Off (``null``) by default."""

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


def budget_batches(trainer: L.Trainer, d_steps_per_g: int) -> int:
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
            "model.lr_decay needs a fixed budget to decay over: set trainer.max_epochs or trainer.max_steps, "
            "or train with model.lr_decay=null"
        )
    return int(budget)


def lr_decay_schedulers(optimizers: list[torch.optim.Optimizer], kind: str, total_batches: int) -> list[LambdaLR]:
    """One scheduler per optimizer, each stepped once per training batch. ``partial`` rather than a lambda, so
    the model pickles (ddp_spawn) and the schedulers' state dicts hold only plain values (checkpoints)."""
    return [LambdaLR(optimizer, partial(decay_factor, kind, total_batches)) for optimizer in optimizers]
