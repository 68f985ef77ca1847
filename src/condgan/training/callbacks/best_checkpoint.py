"""The best-FID checkpoint, ranked at exactly the epochs QualityMetrics measures."""

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from condgan.training.callbacks.schedule import epoch_due


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint, also ranking the last epoch when it is not a multiple of ``every_n_epochs``.

    QualityMetrics measures every N-th epoch and the last (``epoch_due``); Lightning ranks only the multiples of N,
    so a run of 43 epochs measured every 10th would measure its end and never keep it. The state key stays
    ModelCheckpoint's, so checkpoints written before this class resume with their best score.
    """

    @property
    def state_key(self) -> str:
        return "ModelCheckpoint" + super().state_key.removeprefix(type(self).__qualname__)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):  # Lightning's choice when validation runs every epoch
            self._rank_the_last_epoch(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._rank_the_last_epoch(trainer)

    def _rank_the_last_epoch(self, trainer: L.Trainer) -> None:
        """Rank a measured epoch that Lightning skipped: the last, when it is not a multiple of every_n_epochs."""
        every = self._every_n_epochs
        if every < 1 or (trainer.current_epoch + 1) % every == 0 or not epoch_due(trainer, every):
            return
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_topk_checkpoint(trainer, self._monitor_candidates(trainer))
