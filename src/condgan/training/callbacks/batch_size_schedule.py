"""Bigger batches later: ``milestones=[[epoch, batch size], ...]``; from each milestone's epoch on, the
datamodule's (global) batch size is the milestone's, and both learning rates grow by √(new / old) (the
square-root rule for Adam). Early epochs take many small steps; late ones move more images a second (on a
2-core CPU batch 64 is 1.5× the images/s of 32, docs/benchmarks.md)."""

import math
from collections.abc import Sequence

import lightning as L

from condgan.data.datamodule import scheduled_batch_size


class BatchSizeSchedule(L.Callback):
    def __init__(self, milestones: Sequence[Sequence[int]], scale_lr: bool = True) -> None:
        # pairs, not a mapping: a checkpoint's config holds text keys only (condgan.checkpoints.allow_list)
        pairs = [tuple(pair) for pair in milestones]
        if not pairs or any(len(p) != 2 or p[0] < 1 or p[1] < 1 for p in pairs):
            raise ValueError(
                "callbacks.batch_size_schedule.milestones must be [[epoch >= 1, batch size >= 1], ...], "
                f"got {milestones}"
            )
        milestones = {int(epoch): int(size) for epoch, size in pairs}
        self.milestones, self.scale_lr = milestones, scale_lr
        self.scaled_epochs: list[int] = []  # saved with checkpoints: a resumed epoch does not scale twice

    def setup(self, trainer, pl_module, stage: str) -> None:
        datamodule = trainer.datamodule
        if not hasattr(datamodule, "batch_size_schedule"):
            raise ValueError(
                f"callbacks.batch_size_schedule needs a condgan datamodule; {type(datamodule).__name__} has no "
                "batch_size_schedule"
            )
        datamodule.batch_size_schedule = self.milestones
        trainer.reload_dataloaders_every_n_epochs = 1  # the fit loop asks for a new loader (new batch) each epoch

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        epoch, base = trainer.current_epoch, trainer.datamodule.batch_size
        if not self.scale_lr or epoch not in self.milestones or epoch in self.scaled_epochs:
            return
        factor = math.sqrt(self.milestones[epoch] / scheduled_batch_size(base, self.milestones, epoch - 1))
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= factor
        for config in trainer.lr_scheduler_configs:  # a decay multiplies its base rates: move them too
            config.scheduler.base_lrs = [lr * factor for lr in config.scheduler.base_lrs]
        self.scaled_epochs.append(epoch)

    def state_dict(self) -> dict:
        return {"scaled_epochs": list(self.scaled_epochs)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.scaled_epochs = list(state_dict.get("scaled_epochs", []))
