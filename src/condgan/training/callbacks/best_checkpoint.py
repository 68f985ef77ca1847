"""The best-FID checkpoint, ranked at exactly the epochs QualityMetrics measures."""

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from condgan.training.callbacks.schedule import epoch_due


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, ranking the epochs ``epoch_due`` names: every ``every_n_epochs``-th and the last.

    QualityMetrics measures on that rule. Lightning's own ``every_n_epochs`` ranks only the multiples, so a run of
    43 epochs measured every 10th would measure its end and never keep it. Here Lightning ranks every epoch it is
    handed, and only the measured ones are handed to it. Other arguments are ModelCheckpoint's.

    A run stopped by ``max_steps`` saved last.ckpt inside its final epoch's end; resuming it, Lightning runs that
    epoch's end again before any batch. That epoch was ranked before the file was written and is not measured
    again, so nothing is ranked or saved until this fit has trained a batch.
    """

    def __init__(self, every_n_epochs: int = 1, **kwargs: Any):
        if every_n_epochs < 1:
            raise ValueError(
                f"the best checkpoint ranks every N-th epoch, N >= 1, got every_n_epochs={every_n_epochs}: set "
                "callbacks.quality_metrics.every_n_epochs to 1 or more (the best checkpoint follows it), or keep "
                "last.ckpt only: callbacks.model_checkpoint=null"
            )
        super().__init__(every_n_epochs=1, **kwargs)
        self.measured_every_n_epochs = every_n_epochs
        # ModelCheckpoint's own key for the same ranking, so checkpoints written before this class resume with it
        steps, interval = kwargs.get("every_n_train_steps"), kwargs.get("train_time_interval")
        self.resume_key = ModelCheckpoint(
            monitor=self.monitor,
            mode=self.mode,
            every_n_epochs=every_n_epochs,
            every_n_train_steps=steps,
            train_time_interval=interval,
        ).state_key
        self.step_at_start = 0

    @property
    def state_key(self) -> str:
        return self.resume_key

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self.step_at_start = trainer.global_step  # after a checkpoint is restored

    def ranks_now(self, trainer: L.Trainer) -> bool:
        """A measured epoch, and a batch trained in this fit: not the replayed end of the epoch resumed from."""
        return trainer.global_step > self.step_at_start and epoch_due(trainer, self.measured_every_n_epochs)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.ranks_now(trainer):
            super().on_train_epoch_end(trainer, pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.ranks_now(trainer):
            super().on_validation_end(trainer, pl_module)
